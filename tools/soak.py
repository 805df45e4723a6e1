#!/usr/bin/env python3
"""Soak picoredis through a fault-injecting proxy (CPython 3, stdlib only).

    python3 tools/soak.py [--commands 100000] [--rate 0.03] [--seed 1]
                          [--timeout-ms 500] [--micropython build/unix/micropython]

Starts a throwaway redis-server (tools/redis_fixture.py) and the fault proxy
(tests/faults/proxy.py) in front of it, then runs tests/faults/soak_client.py
with the firmware: mixed commands with unique values, every reply checked,
random faults armed in-band at --rate per operation.  Afterwards it checks

  crashes     firmware exit status != 0, a signal, or no final report: must be 0
  desyncs     a reply that is not the one for the command sent: must be 0
  unexpected  an exception from an unfaulted operation, or the wrong kind for
              the fault (e.g. a value where a timeout was due): must be 0
  heap drift  gc.mem_free() after warm-up minus at the end: < --max-drift bytes
  fds         open file descriptors at the end == after warm-up
  proxy       faults injected > 0, no proxy errors, no connection left open

prints the counts, and exits non-zero if any check fails.  Bounded: the
firmware gets --max-seconds (default: 60 s + 10 ms per command).
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "faults"))

from redis_fixture import RedisServer, install_sigterm_handler  # noqa: E402
from proxy import FaultProxy  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commands", type=int, default=100000)
    p.add_argument("--rate", type=float, default=0.03, help="fraction of operations faulted")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout-ms", type=int, default=500, help="the client's timeout")
    p.add_argument("--max-drift", type=int, default=16384, help="allowed heap drift, bytes")
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--micropython", default=os.path.join(ROOT, "build/unix/micropython"))
    p.add_argument("--wrapper", default="", help="command prefix, e.g. 'valgrind -q'")
    p.add_argument("-v", "--verbose", action="store_true", help="show the client's output")
    return p.parse_args(argv)


def run_soak(a):
    limit = a.max_seconds or (60 + 0.01 * a.commands)
    client = os.path.join(ROOT, "tests", "faults", "soak_client.py")
    t0 = time.monotonic()
    with RedisServer() as redis, FaultProxy(redis.port, lifetime=limit + 30, seed=a.seed) as proxy:
        env = dict(os.environ,
                   MICROPYPATH=os.pathsep.join([".frozen", os.path.join(ROOT, "tests", "lib")]),
                   PICOREDIS_HOST=redis.host,
                   PICOREDIS_PORT=str(redis.port),
                   PICOREDIS_PROXY_PORT=str(proxy.port),
                   SOAK_COMMANDS=str(a.commands),
                   SOAK_SEED=str(a.seed),
                   SOAK_RATE=str(a.rate),
                   SOAK_TIMEOUT_MS=str(a.timeout_ms))
        cmd = a.wrapper.split() + [a.micropython, client]
        crash = None
        try:
            proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=limit)
            out = proc.stdout.decode("utf-8", "replace")
            if proc.returncode < 0:
                crash = "killed by signal %d" % -proc.returncode
            elif proc.returncode != 0:
                crash = "exit status %d" % proc.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace")
            crash = "no end within %.0f s" % limit
        # Let the proxy notice the client's last close before counting.
        end = time.monotonic() + 2.0
        while proxy.stats().get("open_connections", 0) and time.monotonic() < end:
            time.sleep(0.05)
        pstats = proxy.stats()
    elapsed = time.monotonic() - t0
    report = None
    for line in out.splitlines():
        if line.startswith("SOAK "):
            report = json.loads(line[5:])
    if report is None and crash is None:
        crash = "no final SOAK report"
    return out, report, pstats, crash, elapsed


def judge(a, report, pstats, crash):
    """List of failed checks."""
    bad = []
    if crash:
        bad.append("crash: " + crash)
    if report is None:
        return bad
    if report["desyncs"]:
        bad.append("desyncs: %d" % report["desyncs"])
    if report["unexpected"]:
        bad.append("unexpected outcomes: %d" % report["unexpected"])
    if abs(report["heap_drift"]) > a.max_drift:
        bad.append("heap drift %d bytes > %d" % (report["heap_drift"], a.max_drift))
    if report["fds_start"] != report["fds_end"]:
        bad.append("fd leak: %d open after warm-up, %d at the end"
                   % (report["fds_start"], report["fds_end"]))
    if a.rate > 0 and report["commands"] >= 1000 and not pstats.get("faults"):
        bad.append("the proxy injected no faults")
    if pstats.get("proxy_errors"):
        bad.append("proxy errors: %d" % pstats["proxy_errors"])
    if pstats.get("open_connections"):
        bad.append("connections still open at the proxy: %d" % pstats["open_connections"])
    return bad


def main(argv=None):
    a = parse_args(argv)
    if not os.access(a.micropython, os.X_OK):
        print("firmware not found: %s (run make)" % a.micropython)
        return 2
    install_sigterm_handler()
    out, report, pstats, crash, elapsed = run_soak(a)
    shown = out.splitlines()
    if not a.verbose:
        shown = [l for l in shown if not l.startswith(("progress", "SOAK "))]
    for line in shown[-60:]:
        print("  | " + line)
    r = report or {}
    injected = {k[6:]: v for k, v in sorted(pstats.items())
                if k.startswith("fault_") and k != "fault_pass"}
    print("soak: seed %d, rate %.3f, client timeout %d ms, %.1f s"
          % (a.seed, a.rate, a.timeout_ms, elapsed))
    print("  commands          %s (%s operations)" % (r.get("commands"), r.get("ops")))
    print("  faults injected   %d by the proxy %s; %s operations faulted %s"
          % (pstats.get("faults", 0), json.dumps(injected), r.get("faulted_ops"),
             json.dumps(r.get("faults", {}), sort_keys=True)))
    print("  exceptions        %s" % json.dumps(r.get("exceptions", {}), sort_keys=True))
    print("  outcomes          %s" % json.dumps(r.get("outcomes", {}), sort_keys=True))
    print("  proxy connections %s" % pstats.get("connections", 0))
    print("  desyncs = %s, unexpected = %s, crashes = %d"
          % (r.get("desyncs"), r.get("unexpected"), 1 if crash else 0))
    print("  heap drift        %s bytes (mem_free %s after warm-up, %s at the end)"
          % (r.get("heap_drift"), r.get("heap_start"), r.get("heap_end")))
    print("  open fds          %s after warm-up, %s at the end, %s after close()"
          % (r.get("fds_start"), r.get("fds_end"), r.get("fds_after_close")))
    bad = judge(a, report, pstats, crash)
    for b in bad:
        print("FAIL " + b)
    print("soak: %s" % ("FAILED" if bad else "ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted")
        sys.exit(130)
