#!/usr/bin/env bash
# Proves the firmware carries no Rust panic machinery. The link itself already fails if
# any panic path survives (see rust/picoredis/src/lib.rs); this double-checks the image.
set -euo pipefail
fw=${1:?usage: $0 FIRMWARE}
nm_tool=${NM:-nm}
if "$nm_tool" -C "$fw" | grep -E 'core::panicking|picoredis_panic_path_reachable|rust_begin_unwind'; then
    echo "check-no-panic: FAIL: panic symbols in $fw" >&2
    exit 1
fi
echo "check-no-panic: ok: no panic path in $(basename "$fw")"
