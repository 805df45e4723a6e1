#!/bin/sh
# Run picoredis' firmware tests under valgrind memcheck; fail on any error.
#
#   tools/valgrind/run.sh                 # build + the representative subset
#   tools/valgrind/run.sh all             # build + every tests/unix file
#   tools/valgrind/run.sh reader timeout  # build + files whose name contains these
#
# 1. Builds a valgrind variant of the unix firmware from this tree into
#    build/valgrind/unix (same `make firmware`, plus `-include vg_gc.h`, which
#    tells memcheck that the words MicroPython's conservative GC scans are
#    defined; see vg_gc.h and README.md).  VG_FIRMWARE=path skips the build
#    and uses that firmware instead (a plain build gives false reports).
#    VG_STRICT_HEAP=1 builds build/valgrind/unix-strict, where the GC's reads
#    of heap blocks are left to memcheck (-DPICOREDIS_VG_SCAN_HEAP=0), and
#    adds --track-origins=yes: reports there are undefined bytes inside live
#    heap objects (padding, unfilled buffers), which a conservative GC reads
#    by design -- worth a look, not necessarily bugs.
# 2. Runs tests/run_unix_tests.py with tools/valgrind/micropython-vg as the
#    firmware: memcheck, --error-exitcode=99, micropython.supp, definite
#    leaks are errors; one log per process in build/valgrind/logs-unix.
# 3. Fails (exit 1) if any test failed or any log has errors, and prints the
#    first reports.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/valgrind
PYTHON=${PYTHON:-python3}
command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)" >&2; exit 2; }

variant=unix
extra_cflags=""
if [ "${VG_STRICT_HEAP:-0}" = 1 ]; then
    variant=unix-strict
    extra_cflags="-DPICOREDIS_VG_SCAN_HEAP=0"
    VG_EXTRA="${VG_EXTRA:-} --track-origins=yes"
    export VG_EXTRA
fi

if [ -n "${VG_FIRMWARE:-}" ]; then
    fw=$(cd "$(dirname "$VG_FIRMWARE")" && pwd)/$(basename "$VG_FIRMWARE")
else
    mkdir -p "$out"
    echo "building the valgrind firmware into $out/$variant (log: $out/build.log)"
    build() {
        make -C "$root" firmware UNIX_BUILD="$out/$variant" \
            CFLAGS_EXTRA="-include $here/vg_gc.h $extra_cflags" >"$out/build.log" 2>&1
    }
    # A build dir left by other firmware flags has stale generated headers:
    # on failure, retry once from scratch.
    if ! build && { echo "retrying from a clean $out/$variant"; rm -rf "$out/$variant"; ! build; }; then
        tail -30 "$out/build.log"
        echo "valgrind: firmware build failed" >&2
        exit 1
    fi
    fw=$out/$variant/micropython
fi

if [ $# -eq 0 ]; then
    set -- test_connection test_replies test_large_replies test_malformed_replies \
        test_timeout test_pipeline test_reader test_errors test_cut_off_replies \
        test_endless_replies test_fault_hostile test_fault_proxy test_fault_soak_short \
        test_fault_push_desync test_fault_write_stall test_frozen_package
elif [ "$1" = all ]; then
    set --
fi

logs=$out/logs-$variant
rm -rf "$logs"
mkdir -p "$logs"
status=0
MICROPYTHON=$fw VG_LOGDIR=$logs "$PYTHON" "$root/tests/run_unix_tests.py" \
    --micropython "$here/micropython-vg" --timeout 900 "$@" || status=1

bad=$(grep -l "ERROR SUMMARY: [1-9]" "$logs"/*.log 2>/dev/null || true)
nlogs=$(ls "$logs" | wc -l)
if [ -n "$bad" ]; then
    status=1
    for f in $bad; do
        echo "==== $f: $(sed -n 's/.*Command: //p' "$f")"
        grep -E "ERROR SUMMARY" "$f"
        # the first two reports, whole
        awk '/== (Conditional|Use of|Invalid|Syscall|Mismatched|Source and|Argument|.*definitely lost)/{n++} n>0&&n<=2' "$f" | head -80
    done
fi
echo "valgrind: $nlogs processes, $(echo "$bad" | grep -c . || true) with memcheck errors; logs in $logs"
[ $status -eq 0 ] && echo "valgrind: ok" || echo "valgrind: FAILED"
exit $status
