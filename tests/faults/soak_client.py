# The MicroPython half of the soak (tools/soak.py drives it; the short run in
# tests/unix/test_fault_soak_short.py imports it).
#
# Runs mixed operations -- SET/GET, INCRBY/INCR, LPUSH/LRANGE, HSET/HGETALL,
# ECHO, big values (> the 1 KiB read buffer), server errors, pipelines and
# MULTI/EXEC -- through tests/faults/proxy.py.  Every key and value is unique
# to its operation, so every reply is checked against the command that was
# sent: a reply that belongs to another command is a desync.
#
# With probability `rate` an operation is faulted: the client arms one fault
# in-band (PROXYFAULT) on one of the operation's replies, chosen at random.
# Expected outcomes:
#   drip, delay < timeout         -> the exact replies
#   delay > timeout               -> RedisTimeout
#   truncate / cut                -> OSError
#   garbage                       -> ParseError
# Anything else is "unexpected" (as is any exception from an unfaulted
# operation); any wrong value is a desync.  After an exception the client just
# carries on: the next command reconnects by itself.
#
# As a script: env SOAK_COMMANDS, SOAK_SEED, SOAK_RATE, SOAK_TIMEOUT_MS,
# PICOREDIS_HOST, PICOREDIS_PROXY_PORT; prints progress and a final
# `SOAK {json}` line.
import gc
import json
import os
import random
import sys
import time

import picoredis
from picoredis import ParseError, RedisError, RedisTimeout

FAULTS = ("drip", "delay_short", "delay_long", "truncate", "cut", "garbage")
EXPECT = {
    "drip": None, "delay_short": None,
    "delay_long": RedisTimeout, "truncate": OSError, "cut": OSError, "garbage": ParseError,
}


class Desync(Exception):
    pass


def expect(got, want, what):
    if type(got) is not type(want) or got != want:
        raise Desync("%s: got %.120r, expected %.120r" % (what, got, want))


class Soak:
    def __init__(self, host, port, seed=1, rate=0.05, timeout_ms=500, log=None):
        self.host, self.port = host, port
        random.seed(seed)
        self.rate = rate
        self.timeout_ms = timeout_ms
        self.log = log or (lambda s: None)
        self.r = picoredis.Redis(host, port, timeout=timeout_ms)
        self.seq = 0
        self.s = {
            "ops": 0, "commands": 0, "faulted_ops": 0, "desyncs": 0, "unexpected": 0,
            "faults": {}, "exceptions": {}, "outcomes": {}, "examples": [],
        }

    # -- randomness (MicroPython's random has no Random class) ---------------------
    def rand(self, n):
        return random.getrandbits(30) % n

    def uniq(self, tag):
        self.seq += 1
        return "%s%d.%d" % (tag, self.seq, random.getrandbits(24))

    # -- operations: each returns (replies it reads, commands it sends, fn(r)) ------
    def op_set_get(self):
        k, v = self.uniq("k:"), self.uniq("v")
        def fn(r):
            expect(r.set(k, v), b"OK", "SET")
            expect(r.get(k), v.encode(), "GET")
        return 2, 2, fn

    def op_incr(self):
        k, n = self.uniq("i:"), (random.getrandbits(30) << 10) | random.getrandbits(10)
        def fn(r):
            expect(r.incrby(k, n), n, "INCRBY")
            expect(r.incr(k), n + 1, "INCR")
        return 2, 2, fn

    def op_list(self):
        k = self.uniq("l:")
        items = [self.uniq("e") for _ in range(1 + self.rand(6))]
        def fn(r):
            expect(r.lpush(k, *items), len(items), "LPUSH")
            expect(r.lrange(k, 0, -1), [x.encode() for x in reversed(items)], "LRANGE")
        return 2, 2, fn

    def op_hash(self):
        k = self.uniq("h:")
        flat = []
        for i in range(1 + self.rand(5)):
            flat += ["f%d" % i, self.uniq("hv")]
        def fn(r):
            expect(r.hset(k, *flat), len(flat) // 2, "HSET")
            expect(r.hgetall(k), [x.encode() for x in flat], "HGETALL")
        return 2, 2, fn

    def op_echo(self):
        v = self.uniq("echo")
        def fn(r):
            expect(r.echo(v), v.encode(), "ECHO")
        return 1, 1, fn

    def op_big(self):
        k = self.uniq("b:")
        v = self.uniq("big")
        v = (v + "x" * (1025 + self.rand(1500)) + v).encode()
        def fn(r):
            expect(r.set(k, v), b"OK", "SET big")
            expect(r.get(k), v, "GET big")
        return 2, 2, fn

    def op_error(self):
        v = self.uniq("err")
        def fn(r):
            try:
                r.hset(v)   # wrong number of arguments
            except RedisError as e:
                expect(e.args[0], "ERR", "error code")
            else:
                raise Desync("HSET with one argument did not raise")
            expect(r.echo(v), v.encode(), "ECHO after error")
        return 2, 2, fn

    def _pipe_items(self, n):
        items = []
        for _ in range(n):
            kind = self.rand(4)
            if kind == 0:
                v = self.uniq("pe")
                items.append((("ECHO", v), v.encode()))
            elif kind == 1:
                k, n2 = self.uniq("pi:"), random.getrandbits(30)
                items.append((("INCRBY", k, n2), n2))
            elif kind == 2:
                k = self.uniq("ps:")
                items.append((("SET", k, "x"), b"OK"))
            else:
                k = self.uniq("pl:")
                items.append((("RPUSH", k, "a", "b"), 2))
        return items

    def op_pipeline(self):
        items = self._pipe_items(2 + self.rand(7))
        def fn(r):
            p = r.pipeline()
            for cmd, _ in items:
                p(*cmd)
            expect(p.execute(), [w for _, w in items], "pipeline")
        return len(items), len(items), fn

    def op_transaction(self):
        items = self._pipe_items(1 + self.rand(5))
        def fn(r):
            p = r.pipeline(transaction=True)
            for cmd, _ in items:
                p(*cmd)
            expect(p.execute(), [w for _, w in items], "MULTI/EXEC")
        return len(items) + 2, len(items) + 2, fn

    OPS = ("op_set_get", "op_set_get", "op_incr", "op_list", "op_hash", "op_echo",
           "op_big", "op_error", "op_pipeline", "op_transaction")

    # -- faults --------------------------------------------------------------------
    def fault_spec(self, fault):
        t = self.timeout_ms
        if fault == "drip":
            return "drip:20"
        if fault == "delay_short":
            return "delay:%d" % (t // 10)
        if fault == "delay_long":
            return "delay:%d" % (t + 150)
        return fault

    def bump(self, d, key, n=1):
        d[key] = d.get(key, 0) + n

    def one_op(self):
        s = self.s
        name = self.OPS[self.rand(len(self.OPS))]
        replies, commands, fn = getattr(self, name)()
        fault = None
        if self.rate and self.rand(1000000) < int(self.rate * 1000000):
            fault = FAULTS[self.rand(len(FAULTS))]
        try:
            if fault is not None:
                picked = self.fault_spec(fault)
                if fault == "drip" and name == "op_big":
                    picked = "drip:0"   # 2.5 KB at 20 us a byte could outlast the timeout
                got = self.r.do_cmd("PROXYFAULT", picked, self.rand(replies))
                expect(got, b"OK", "PROXYFAULT")
                self.bump(s["faults"], fault)
                s["faulted_ops"] += 1
            fn(self.r)
            err = None
        except Desync as e:
            s["desyncs"] += 1
            self.example("DESYNC %s %s: %s" % (name, fault, e))
            err = None
        except Exception as e:
            err = e
        s["ops"] += 1
        s["commands"] += commands
        outcome = type(err).__name__ if err is not None else "ok"
        if err is not None:
            self.bump(s["exceptions"], outcome)
        self.bump(s["outcomes"], "%s->%s" % (fault or "none", outcome))
        want = EXPECT.get(fault) if fault else None
        if err is None and want is not None:
            # A breaking fault that did not break: only the unexpected kind if it
            # hit nothing (should not happen: every op reads every reply).
            s["unexpected"] += 1
            self.example("NO ERROR %s %s" % (name, fault))
        elif err is not None and (want is None or not isinstance(err, want)):
            s["unexpected"] += 1
            self.example("UNEXPECTED %s %s: %r" % (name, fault, err))

    def example(self, text):
        ex = self.s["examples"]
        if len(ex) < 20:
            ex.append(text)
        self.log(text)

    # -- the run -------------------------------------------------------------------
    def heap(self):
        gc.collect()
        gc.collect()
        return gc.mem_free()

    def run(self, commands, warmup=300, progress_every=0):
        s = self.s
        t0 = time.ticks_ms()
        while s["ops"] < warmup and s["commands"] < commands:
            self.one_op()
        self.r.ping()   # connected at both measurements (a fault may have closed it)
        s["heap_start"] = self.heap()
        s["fds_start"] = open_fds()
        last = 0
        while s["commands"] < commands:
            self.one_op()
            if progress_every and s["commands"] - last >= progress_every:
                last = s["commands"]
                self.log("progress %d commands, %d faults, %d desyncs, heap %d"
                         % (s["commands"], s["faulted_ops"], s["desyncs"], gc.mem_free()))
        # The client must be idle and connected for a fair fd count.
        self.r.ping()
        s["heap_end"] = self.heap()
        s["fds_end"] = open_fds()
        s["heap_drift"] = s["heap_start"] - s["heap_end"]
        self.r.close()
        s["fds_after_close"] = open_fds()
        s["seconds"] = time.ticks_diff(time.ticks_ms(), t0) / 1000
        return s


def open_fds():
    try:
        return len(os.listdir("/proc/self/fd"))
    except Exception:
        return -1


def main():
    host = os.getenv("PICOREDIS_HOST") or "127.0.0.1"
    port = int(os.getenv("PICOREDIS_PROXY_PORT"))
    soak = Soak(host, port,
                seed=int(os.getenv("SOAK_SEED") or "1"),
                rate=float(os.getenv("SOAK_RATE") or "0.05"),
                timeout_ms=int(os.getenv("SOAK_TIMEOUT_MS") or "500"),
                log=lambda t: print(t))
    n = int(os.getenv("SOAK_COMMANDS") or "3000")
    s = soak.run(n, warmup=min(300, n // 10), progress_every=max(1000, n // 20))
    print("SOAK " + json.dumps(s))


if __name__ == "__main__" and os.getenv("PICOREDIS_PROXY_PORT"):
    main()
