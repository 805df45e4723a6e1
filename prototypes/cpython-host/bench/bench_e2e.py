"""End to end against a real redis-server, per interpreter: the workloads of `make bench`
(bench/py_bench.py: same keys, values and timing loop).

    python bench_e2e.py [--budget-ms 700] [--rounds 3] [--redis-benchmark]

Clients:
- proto: the prototype's Client (the core's request, conn and reply modules over the
  C API; fd-level I/O, GIL released while waiting);
- proto-cffi (PyPy's candidate): Python does the socket I/O and builds the objects from
  the Rust parser's tokens (bench/tokens.py), requests encoded in Python;
- redis-py + hiredis, and redis-py with its pure-Python parser (_RESP2Parser).
--redis-benchmark adds `redis-benchmark -c 1` (the round-trip bound of one connection).
Starts its own redis-server (tools/redis_fixture.py) on CPU 0 and runs on CPU 1 when the
machine has two. Prints `RESULT impl | workload | client | ops/s` (best of rounds).
"""

import argparse
import gc
import os
import platform
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools"))
from redis_fixture import RedisServer  # noqa: E402

import picoredis_proto as p  # noqa: E402
import redis  # noqa: E402

try:
    import tokens
except Exception:
    tokens = None

SMALL, BIG, SETK, LIST = "bench:small", "bench:10k", "bench:set1k", "bench:list"
SET_VALUE = "x" * 1024


def timed(op, budget_us):
    clock = time.perf_counter_ns
    t0 = clock()
    op()
    one = max(1, (clock() - t0) // 1000)
    chunk = max(1, budget_us // 20 // one)
    gc.collect()
    ops = 0
    t0 = clock()
    while True:
        for _ in range(chunk):
            op()
        ops += chunk
        el = (clock() - t0) // 1000
        if el >= budget_us:
            return ops * 1e6 / el


def workloads(get, pipe_get, set_, lrange):
    return {
        "GET 3 B": (get(SMALL), 1, lambda r: r == b"abc"),
        "GET 10 KB": (get(BIG), 1, lambda r: len(r) == 10240),
        "pipelined GET x100": (pipe_get(100), 100, lambda r: r == [b"abc"] * 100),
        "pipelined GET x1000": (pipe_get(1000), 1000, lambda r: r == [b"abc"] * 1000),
        "SET 1 KB": (set_(), 1, lambda r: r in (True, b"OK")),
        "LRANGE 1000": (lrange(), 1, lambda r: len(r) == 1000 and r[999] == b"v999"),
    }


def proto_client(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = p.Client(s)
    cmd = c.command
    return workloads(
        lambda k: lambda: cmd("GET", k),
        lambda n: (lambda cmds: lambda: c.pipeline(cmds))([("GET", SMALL)] * n),
        lambda: lambda: cmd("SET", SETK, SET_VALUE),
        lambda: lambda: cmd("LRANGE", LIST, 0, -1),
    )


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class CffiClient:
    """Socket I/O in Python; the Rust scanner finds whole replies and their tokens."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.scan = tokens.Scanner()
        self.buf = b""

    def replies(self, request, n):
        self.s.sendall(request)
        out = []
        buf = self.buf
        while True:
            got = self.scan.replies_of(buf, n - len(out)) if buf else []
            if got:
                out.extend(got)
                buf = buf[self.scan.used[0]:]
                if len(out) == n:
                    self.buf = buf
                    return out
            chunk = self.s.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            buf = buf + chunk if buf else chunk

    def command(self, *args):
        return self.replies(encode(*args), 1)[0]


def cffi_client(port):
    c = CffiClient(port)
    return workloads(
        lambda k: lambda: c.command("GET", k),
        lambda n: (lambda req: lambda: c.replies(req, n))(encode("GET", SMALL) * n),
        lambda: lambda: c.command("SET", SETK, SET_VALUE),
        lambda: lambda: c.command("LRANGE", LIST, 0, -1),
    )


def redis_py(port, parser=None):
    kw = {"parser_class": parser} if parser else {}
    pool = redis.ConnectionPool(host="127.0.0.1", port=port, protocol=2, **kw)
    r = redis.Redis(connection_pool=pool)

    def pipe(n):
        pl = r.pipeline(transaction=False)

        def run():
            for _ in range(n):
                pl.get(SMALL)
            return pl.execute()

        return run

    return workloads(
        lambda k: lambda: r.get(k),
        pipe,
        lambda: lambda: r.set(SETK, SET_VALUE),
        lambda: lambda: r.lrange(LIST, 0, -1),
    )


def redis_benchmark(port, seconds=2.0):
    rows = {
        "GET 3 B": (["GET", SMALL], 1),
        "GET 10 KB": (["GET", BIG], 1),
        "pipelined GET x100": (["-P", "100", "GET", SMALL], 100),
        "pipelined GET x1000": (["-P", "1000", "GET", SMALL], 1000),
        "SET 1 KB": (["SET", SETK, SET_VALUE], 1),
        "LRANGE 1000": (["LRANGE", LIST, "0", "-1"], 1),
    }
    out = {}
    for name, (args, _) in rows.items():
        n = 20000 if "pipelined" not in name else 400000
        if name == "LRANGE 1000":
            n = 5000
        pipe = ["-P", args[1]] if args[0] == "-P" else []
        cmd = ["redis-benchmark", "-p", str(port), "-c", "1", "-n", str(n), "--csv"] + pipe + [
            x for x in (args[2:] if pipe else args)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        line = [ln for ln in res.splitlines() if ln and not ln.startswith('"test"')][-1]
        out[name] = float(line.split(",")[1].strip('"'))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-ms", type=int, default=700)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--redis-benchmark", action="store_true")
    args = ap.parse_args()
    impl = "%s %s" % (platform.python_implementation(), platform.python_version())
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(
        range(os.cpu_count()))
    with RedisServer() as srv:
        if len(cpus) >= 2:
            subprocess.run(["taskset", "-a", "-p", "-c", str(cpus[0]), str(srv.proc.pid)],
                           capture_output=True, check=True)
            subprocess.run(["taskset", "-a", "-p", "-c", ",".join(map(str, cpus[1:])),
                            str(os.getpid())], capture_output=True, check=True)
        srv.command("SET", SMALL, "abc")
        srv.command("SET", BIG, "x" * 10240)
        r = redis.Redis(port=srv.port)
        r.delete(LIST)
        r.rpush(LIST, *["v%d" % i for i in range(1000)])
        r.close()
        clients = {"proto (core over C API)": proto_client}
        if tokens:
            clients["proto-cffi (tokens, Python I/O)"] = cffi_client
        from redis.utils import HIREDIS_AVAILABLE
        if HIREDIS_AVAILABLE:
            clients["redis-py + hiredis"] = redis_py
        from redis._parsers import _RESP2Parser
        clients["redis-py (pure Python parser)"] = lambda port: redis_py(port, _RESP2Parser)
        best = {}
        for _ in range(args.rounds):
            for cname, make in clients.items():
                for wname, (op, per, check) in make(srv.port).items():
                    assert check(op()), (cname, wname)
                    rate = timed(op, args.budget_ms * 1000) * per
                    best[(wname, cname)] = max(best.get((wname, cname), 0), rate)
        if args.redis_benchmark:
            for _ in range(2):
                for wname, rate in redis_benchmark(srv.port).items():
                    key = (wname, "redis-benchmark -c 1")
                    best[key] = max(best.get(key, 0), rate)
        for (wname, cname), rate in best.items():
            print("RESULT %s | %s | %s | %.0f" % (impl, wname, cname, rate))


if __name__ == "__main__":
    main()
