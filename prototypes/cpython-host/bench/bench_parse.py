"""Parse-only: reply bytes to Python objects, per interpreter.

    python bench_parse.py [--budget-ms 500] [--rounds 3]

Rows: an LRANGE reply of 1000 elements (v0..v999), and 1000 GET replies ($3 abc) as a
pipeline reads them. Clients: the prototype's `parse` (the core's reply builder through
the C API: cpyext on PyPy), the same with the operation pool off ("steal": what exact
hand-written ownership would cost), hiredis.Reader (feed, gets per reply, as redis-py
uses it), and the cffi token path (Rust scans, Python builds; bench/tokens.py).
Prints microseconds per row (best of rounds) and `RESULT` lines.
"""

import argparse
import platform
import time

import picoredis_proto as p

try:
    import hiredis
except ImportError:
    hiredis = None
try:
    import tokens
except Exception as e:  # no cffi
    print("INFO tokens unavailable:", e)
    tokens = None

LRANGE = b"*1000\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(b"v%d" % i), b"v%d" % i) for i in range(1000))
GETS = b"$3\r\nabc\r\n" * 1000
EXPECT_LRANGE = [b"v%d" % i for i in range(1000)]
EXPECT_GETS = [b"abc"] * 1000


def hiredis_one(data):
    r = hiredis.Reader()
    r.feed(data)
    return r.gets()


def hiredis_many(data, n=1000):
    r = hiredis.Reader()
    r.feed(data)
    g = r.gets
    return [g() for _ in range(n)]


def timed(fn, budget_us):
    fn()
    clock = time.perf_counter_ns
    t0 = clock()
    fn()
    one = max(1, (clock() - t0) // 1000)
    chunk = max(1, budget_us // 20 // max(one, 1))
    n = 0
    t0 = clock()
    while True:
        for _ in range(chunk):
            fn()
        n += chunk
        el = (clock() - t0) // 1000
        if el >= budget_us:
            return el / n  # us per call


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-ms", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    impl = "%s %s" % (platform.python_implementation(), platform.python_version())
    scanner = tokens.Scanner() if tokens else None
    cases = {
        "lrange1000": (LRANGE, EXPECT_LRANGE, {
            "picoredis core (C API)": lambda: p.parse(LRANGE),
            "picoredis core, pool off": lambda: p.parse(LRANGE),
            "hiredis.Reader": (lambda: hiredis_one(LRANGE)) if hiredis else None,
            "cffi tokens + Python build": (lambda: scanner.replies_of(LRANGE, 1)[0]) if scanner else None,
        }),
        "get1000": (GETS, EXPECT_GETS, {
            "picoredis core (C API)": lambda: p.parse(GETS, 1000),
            "picoredis core, pool off": lambda: p.parse(GETS, 1000),
            "hiredis.Reader": (lambda: hiredis_many(GETS)) if hiredis else None,
            "cffi tokens + Python build": (lambda: scanner.replies_of(GETS, 1000)) if scanner else None,
        }),
    }
    for case, (_, expect, clients) in cases.items():
        for name, fn in clients.items():
            if fn is None:
                continue
            p.set_pool("pool off" not in name)
            assert fn() == expect, (case, name)
            best = min(timed(fn, args.budget_ms * 1000) for _ in range(args.rounds))
            p.set_pool(True)
            print("RESULT %s | %s | %s | %.1f us" % (impl, case, name, best))


if __name__ == "__main__":
    main()
