#!/usr/bin/env bash
# Install everything the bare-metal QEMU path (ports/qemu) needs on a fresh
# Debian bookworm machine.  Idempotent: safe to run again; does nothing that
# is already done.  Must run as root (or with sudo available).
#
#   - apt source for bookworm-backports, derived from the machine's own
#     /etc/apt/sources.list.d/debian.sources (first stanza, Suites replaced)
#   - arm-none-eabi GCC + newlib          (MicroPython ports/qemu BOARD=MPS2_AN385)
#   - riscv64-unknown-elf GCC + picolibc  (MicroPython ports/qemu BOARD=VIRT_RV32)
#   - qemu-system-arm / qemu-system-misc from bookworm-backports
#   - pyserial (MicroPython's tests/run-tests.py -t execpty:... needs it)
#   - pyelftools and ar (MicroPython's tools/mpy_ld.py: the native .mpy module)
#   - Rust targets thumbv7m/thumbv6m-none-eabi, thumbv7em-none-eabihf,
#     riscv32imac/imc-unknown-none-elf
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_GET="$SUDO apt-get -o DPkg::Lock::Timeout=600"
export DEBIAN_FRONTEND=noninteractive

BPO_FILE=/etc/apt/sources.list.d/picoredis-backports.sources
DEB_SOURCES=/etc/apt/sources.list.d/debian.sources
need_update=0

# ---------------------------------------------------------------- backports
if [ ! -s "$BPO_FILE" ]; then
    if [ -s "$DEB_SOURCES" ]; then
        # First stanza (up to the first blank line), with Suites replaced.
        tmp=$(mktemp)
        awk 'NF==0 {exit} /^Suites:/ {print "Suites: bookworm-backports"; next} {print}' \
            "$DEB_SOURCES" > "$tmp"
        grep -q '^Suites: bookworm-backports$' "$tmp" || {
            echo "deps.sh: could not derive backports stanza from $DEB_SOURCES" >&2; exit 1; }
        $SUDO install -m 0644 "$tmp" "$BPO_FILE"
        rm -f "$tmp"
    elif [ -s /etc/apt/sources.list ]; then
        # Old one-line format: reuse the first "deb URI bookworm ..." line's URI.
        uri=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
        [ -n "$uri" ] || { echo "deps.sh: no bookworm deb line in sources.list" >&2; exit 1; }
        printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            "$uri" | $SUDO tee "$BPO_FILE" >/dev/null
    else
        echo "deps.sh: no apt source to derive bookworm-backports from" >&2; exit 1
    fi
    echo "deps.sh: wrote $BPO_FILE"
    need_update=1
fi

# ------------------------------------------------------------- apt packages
APT_PKGS="gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi \
gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf binutils-riscv64-unknown-elf \
make python3"
BPO_PKGS="qemu-system-arm qemu-system-misc"

missing() {
    local p out=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out="$out $p"
    done
    echo "$out"
}

miss=$(missing $APT_PKGS)
miss_bpo=$(missing $BPO_PKGS)
# qemu must be the backports build (bookworm's 7.2 is too old for the
# MicroPython 1.25 VIRT_RV32 board / matches the installed qemu-utils).
for p in $BPO_PKGS; do
    v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
    case "$v" in *bpo12*) ;; "") ;; *) miss_bpo="$miss_bpo $p" ;; esac
done

if [ -n "$miss$miss_bpo" ]; then
    # apt-cache lookups need fresh lists; also after adding the new source.
    if [ "$need_update" = 1 ] || [ -z "$(ls /var/lib/apt/lists/*bookworm-backports*Packages* 2>/dev/null)" ] \
       || [ -n "$miss" ]; then
        $APT_GET update
    fi
    [ -z "$miss" ] || $APT_GET install -y --no-install-recommends $miss
    [ -z "$miss_bpo" ] || $APT_GET install -y --no-install-recommends -t bookworm-backports $miss_bpo
fi

# ------------------------------------------------------------------ pyserial
PY=${PYTHON:-python3}
if ! "$PY" -c 'import serial' 2>/dev/null; then
    "$PY" -m pip install --quiet pyserial 2>/dev/null \
        || "$PY" -m pip install --quiet --break-system-packages pyserial 2>/dev/null \
        || $APT_GET install -y python3-serial
fi
"$PY" -c 'import serial; print("deps.sh: pyserial", serial.VERSION)'

# ------------------------------------------------------ pyelftools, ar (natmods)
# MicroPython's tools/mpy_ld.py links the native .mpy module (make natmod) with them.
if ! "$PY" -c 'import elftools, ar' 2>/dev/null; then
    "$PY" -m pip install --quiet pyelftools ar 2>/dev/null \
        || "$PY" -m pip install --quiet --break-system-packages pyelftools ar
fi
"$PY" -c 'import elftools, ar; print("deps.sh: pyelftools", elftools.__version__, "+ ar")'

# -------------------------------------------------------------- rust targets
if command -v rustup >/dev/null 2>&1; then
    # thumbv6m / thumbv7em-eabihf: the native .mpy module's armv6m and armv7emsp builds.
    want="thumbv7m-none-eabi thumbv6m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf riscv32imc-unknown-none-elf"
    have=$(rustup target list --installed)
    add=""
    for t in $want; do echo "$have" | grep -qx "$t" || add="$add $t"; done
    [ -z "$add" ] || rustup target add $add
else
    echo "deps.sh: WARNING: rustup not found; Rust bare-metal targets not installed" >&2
fi

# ------------------------------------------------------------------- report
arm-none-eabi-gcc --version | head -1
riscv64-unknown-elf-gcc --version | head -1
qemu-system-arm --version | head -1
qemu-system-riscv32 --version | head -1
echo "deps.sh: done"
