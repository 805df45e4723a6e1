#!/usr/bin/env bash
# Fetches and unpacks the MicroPython source the firmware is built from: Debian's source
# package `micropython` (pinned version, checksum verified), with Debian's patches applied
# (among them: build with the system mbedtls). Idempotent.
#
#   tools/get-micropython.sh DEST_DIR
#
# The apt source entry is derived from this machine's own Debian entry (no host name is
# written here): its first stanza, with Types: deb-src and Suites: trixie.
set -euo pipefail

VERSION=1.25.0+ds-1
ORIG=micropython_1.25.0+ds.orig.tar.xz
ORIG_SHA256=7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea
DEST=${1:?usage: $0 DEST_DIR}
TREE=$DEST/micropython

if [ -f "$TREE/.picoredis-source-ok" ]; then
    exit 0
fi
mkdir -p "$DEST"

add_deb_src() {
    local list=/etc/apt/sources.list.d/picoredis-micropython-src.sources
    [ -f "$list" ] && return 0
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        awk 'BEGIN { RS = ""; ORS = "\n" } NR == 1' /etc/apt/sources.list.d/debian.sources |
            sed -e 's/^Types:.*/Types: deb-src/' -e 's/^Suites:.*/Suites: trixie/' >"$list"
    elif [ -f /etc/apt/sources.list ]; then
        local uri
        uri=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit } $1 == "deb" && $2 ~ /^\[/ { print $3; exit }' /etc/apt/sources.list)
        [ -n "$uri" ] || { echo "no Debian entry in /etc/apt/sources.list" >&2; exit 1; }
        printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" >"$list"
    else
        echo "no Debian apt source on this machine to derive a deb-src entry from" >&2
        exit 1
    fi
    apt-get update -qq
}

command -v dpkg-source >/dev/null || apt-get install -y -qq dpkg-dev >/dev/null
if ! apt-cache showsrc "micropython=$VERSION" 2>/dev/null | grep -q "^Version: $VERSION"; then
    add_deb_src
    apt-cache showsrc "micropython=$VERSION" | grep -q "^Version: $VERSION" ||
        apt-get update -qq
fi

cd "$DEST"
rm -rf micropython
apt-get source -qq --download-only "micropython=$VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
echo "$ORIG_SHA256  $ORIG" | sha256sum -c --quiet -
dpkg-source -q -x "micropython_$VERSION.dsc" micropython >/dev/null
touch micropython/.picoredis-source-ok
echo "MicroPython $VERSION unpacked in $DEST/micropython"
