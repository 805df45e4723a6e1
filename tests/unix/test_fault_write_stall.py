# A command whose argument does not fit the 512-byte write buffer must not
# stall.  (HEAD 12f448a sent it as header / argument / trailing CRLF in three
# writes on a socket with Nagle on: the last small write waited for the
# server's delayed ACK, ~40 ms per command instead of ~0.05 ms.)
import time
from ptest import add, run, check
from testenv import client

LIMIT_MS = 15.0   # ~0.05 ms on loopback, ~40 ms with the stall; valgrind-safe


def check_no_stall(size):
    r = client()
    v = b"x" * size
    r.set("stall", v)   # warm up the connection
    t = time.ticks_us()
    for _ in range(10):
        r.set("stall", v)
    per_ms = time.ticks_diff(time.ticks_us(), t) / 10 / 1000
    check(per_ms < LIMIT_MS, "SET of %d bytes took %.1f ms" % (size, per_ms))
    check(r.strlen("stall") == size, "value stored whole")
    r.close()

for size in (400, 520, 600, 2500, 100000):
    add("set_%d_bytes_no_stall" % size, check_no_stall, size)


run()
