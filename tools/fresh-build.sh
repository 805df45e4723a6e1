#!/bin/sh
# Empties a firmware build dir made with other flags, but for cargo's target dir (rust/)
# and what is named with --keep (made outside the port's make, by other rules).
# MicroPython's make does not track flags: objects compiled under other defines (frozen
# code on or off, MP_CONFIGFILE, ...) would otherwise be linked as they are.
#
#   tools/fresh-build.sh BUILD_DIR [--keep NAME]... FLAGS...   (unix.mk, qemu.mk)
set -eu
dir=$1
shift
keep="! -name rust"
while [ "${1:-}" = --keep ]; do
    keep="$keep ! -name $2"
    shift 2
done
want=$*
stamp=$dir/.picoredis-flags
if [ -d "$dir" ] && [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "fresh-build: $dir was built with other flags; rebuilding it (keeping rust/)"
    # shellcheck disable=SC2086
    find "$dir" -mindepth 1 -maxdepth 1 $keep -exec rm -rf {} +
fi
mkdir -p "$dir"
printf '%s\n' "$want" >"$stamp"
