#!/usr/bin/env python3
"""Soak picoredis.RedisCluster while slots move back and forth (CPython 3, stdlib only).

    python3 tools/cluster_soak.py [--commands 100000] [--micropython build/unix/micropython]

Starts a local cluster (tools/redis_cluster_fixture.py) and runs
tests/faults/cluster_soak_client.py with the firmware: SET/GET/INCR, every reply checked.
Meanwhile this process moves the slot of `{soak}` (half the client's keys and its
counter) between two masters, again and again: IMPORTING/MIGRATING, its keys MIGRATEd in
batches (the client sees ASK), then the slot given to the new owner on every master (the
client sees MOVED). Checks: the firmware exits cleanly with its report, 0 wrong replies,
heap drift (after warm-up to the end) under --max-drift bytes, at least one move done.
Exits non-zero if any check fails.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from redis_cluster_fixture import RedisCluster, call  # noqa: E402
from redis_fixture import HOST, install_sigterm_handler  # noqa: E402


def mover(cluster, slot, stop, stats):
    """Moves `slot` between its owner and another master until `stop` is set."""
    while not stop.is_set():
        masters = cluster.masters()
        ids = {p: call(p, "CLUSTER", "MYID").decode() for p in set(m[2] for m in masters)}
        src = [p for s, e, p in masters if s <= slot <= e][0]
        dst = sorted(p for p in ids if p != src)[stats["moves"] % (len(ids) - 1)]
        call(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[src])
        call(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", ids[dst])
        while True:
            keys = call(src, "CLUSTER", "GETKEYSINSLOT", slot, 50)
            if not keys:
                break
            r = call(src, "MIGRATE", HOST, dst, "", 0, 5000, "KEYS", *keys)
            if isinstance(r, Exception):
                stats["errors"].append(str(r))
                break
            time.sleep(0.02)
        # The new owner first, then the old one, then the rest (as redis-cli does).
        for p in [dst, src] + [q for q in ids if q not in (dst, src)]:
            call(p, "CLUSTER", "SETSLOT", slot, "NODE", ids[dst])
        stats["moves"] += 1
        stop.wait(0.2)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commands", type=int, default=100000)
    p.add_argument("--micropython", default=os.path.join(ROOT, "build/unix/micropython"))
    p.add_argument("--max-drift", type=int, default=4096)
    p.add_argument("--max-seconds", type=float, default=None)
    args = p.parse_args()
    install_sigterm_handler()
    client = os.path.join(ROOT, "tests", "faults", "cluster_soak_client.py")
    failures = []
    with RedisCluster() as cluster:
        slot = call(cluster.ports[0], "CLUSTER", "KEYSLOT", "{soak}")
        stop, stats = threading.Event(), {"moves": 0, "errors": []}
        t = threading.Thread(target=mover, args=(cluster, slot, stop, stats), daemon=True)
        t.start()
        env = dict(os.environ, MICROPYPATH=".frozen")
        t0 = time.monotonic()
        try:
            proc = subprocess.run([os.path.abspath(args.micropython), client,
                                   str(cluster.ports[0]), str(args.commands)],
                                  env=env, capture_output=True, text=True,
                                  timeout=args.max_seconds or 60 + args.commands / 100)
            out, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            out, code = str(e.stdout or ""), "timeout"
        stop.set()
        t.join(timeout=30)
        elapsed = time.monotonic() - t0
        redirects = {"MOVED": 0, "ASK": 0, "TRYAGAIN": 0}
        for port in cluster.running_ports():
            for line in call(port, "INFO", "errorstats").decode().split("\r\n"):
                for err in redirects:
                    if line.startswith("errorstat_%s:count=" % err):
                        redirects[err] += int(line.split("count=")[1])
    lines = [l for l in out.splitlines() if l.startswith("{")]
    if code != 0 or not lines:
        failures.append("firmware: exit %s\n%s" % (code, out[-2000:]))
        report = {}
    else:
        report = json.loads(lines[-1])
    print("cluster soak: %s commands in %.1f s, %d slot moves, redirections %r, wrong %s, "
          "errors %s %s, heap drift %s bytes"
          % (report.get("commands"), elapsed, stats["moves"], redirects, report.get("wrong"),
             report.get("errors"), report.get("kinds"), report.get("heap_drift")))
    if report:
        if report["wrong"]:
            failures.append("wrong replies: %r" % report["detail"])
        if report["errors"]:
            print("errors (the first ones): %r" % report["first_errors"])
        if report["heap_drift"] > args.max_drift:
            failures.append("heap drift %d > %d" % (report["heap_drift"], args.max_drift))
    if stats["moves"] < 1 or redirects["MOVED"] + redirects["ASK"] < 1:
        failures.append("no slot move or no redirection happened")
    if stats["errors"]:
        failures.append("mover errors: %r" % stats["errors"][:3])
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
