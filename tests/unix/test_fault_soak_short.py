# A short soak (tools/soak.py runs the long one): 3000 mixed commands through
# tests/faults/proxy.py with 5 % of the operations faulted at random (drip,
# short and long delays, truncation, RST, garbage).  Every reply is checked
# against its command: no desync, no unexpected exception, no heap drift, no
# file descriptor leak.  The runner catches a crash (non-zero exit).
import gc
import sys
sys.path.append("../faults")
import os
from ptest import test, run, check
from faultenv import PROXY_PORT, HOST

COMMANDS = int(os.getenv("SOAK_SHORT_COMMANDS") or "3000")

# The drift check needs gc.mem_free(): MicroPython's own, or on CPython the stand-in of
# tests/python/compat (tracemalloc). PyPy has none that isolates picoredis' allocations
# from its GC's arenas and cpyext's copies: there the soak runs without the drift check.
HEAP = hasattr(gc, "mem_free")
if not HEAP:
    print("NOTE heap drift not measured on this interpreter (no gc.mem_free)")
    gc.mem_free = lambda: 0


@test
def soak_short():
    if PROXY_PORT is None:
        return
    from soak_client import Soak
    seed = int(os.getenv("SOAK_SEED") or "7")
    s = Soak(HOST, PROXY_PORT, seed=seed, rate=0.05, timeout_ms=500).run(COMMANDS)
    print("NOTE soak seed %d: %d commands (%d ops), %d faulted %r, exceptions %r, "
          "desyncs %d, unexpected %d, heap drift %d bytes, fds %d -> %d"
          % (seed, s["commands"], s["ops"], s["faulted_ops"], s["faults"], s["exceptions"],
             s["desyncs"], s["unexpected"], s["heap_drift"], s["fds_start"], s["fds_end"]))
    for line in s["examples"]:
        print("NOTE   " + line)
    check(s["desyncs"] == 0, "%d desyncs" % s["desyncs"])
    check(s["unexpected"] == 0, "%d unexpected outcomes" % s["unexpected"])
    check(s["faulted_ops"] > 0, "no faults injected")
    check(not HEAP or abs(s["heap_drift"]) < 16384, "heap drift %d bytes" % s["heap_drift"])
    check(s["fds_start"] == s["fds_end"], "fds %d -> %d" % (s["fds_start"], s["fds_end"]))
    check(s["fds_after_close"] == s["fds_end"] - 1, "close() left the socket open")


run()
