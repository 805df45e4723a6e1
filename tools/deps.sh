#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test picoredis. Idempotent and
# quiet when everything is there. Package names only: apt, pip and cargo use this
# machine's own configuration.
set -euo pipefail

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in redis-server dpkg-dev libclang-dev libmbedtls-dev python3-venv openssl cmake valgrind make gcc xz-utils \
        pypy3 pypy3-dev pypy3-venv libpython3-dev; do
    have_pkg "$pkg" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "deps: apt-get install ${need_apt[*]}"
    apt-get update -qq
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need_apt[@]}" >/dev/null
fi

# CPython and PyPy hosts (make test-py, make wheel): a venv per interpreter under build/,
# Debian's python3 and pypy3, with the build backend and the test and bench clients.
"$(dirname "$0")/python_venvs.sh" "$(dirname "$0")/../build"

# Bare metal: cross compilers, QEMU, pyserial, Rust targets.
"$(dirname "$0")/qemu/deps.sh"

if ! command -v cbindgen >/dev/null; then
    echo "deps: cargo install cbindgen"
    cargo install --locked --quiet cbindgen
fi
