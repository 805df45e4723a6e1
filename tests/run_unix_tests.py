#!/usr/bin/env python3
"""Run tests/unix/test_*.py with the MicroPython unix firmware.

    python3 tests/run_unix_tests.py [--micropython PATH] [-v] [FILTER ...]

Starts one throwaway redis-server (tools/redis_fixture.py) and the fake
misbehaving server (tests/fake_server.py) and the fault-injecting proxy in
front of the real server (tests/faults/proxy.py), then runs every test file
(or those whose name contains one of the FILTERs) with MICROPYPATH=.frozen:tests/lib
(.frozen: the firmware's frozen modules, asyncio and the picoredis package, which
MICROPYPATH would otherwise hide) and PICOREDIS_HOST / PICOREDIS_PORT / PICOREDIS_FAKE_PORT /
PICOREDIS_PROXY_PORT set, FLUSHALL between files.  Two kinds of files:

  * with a .exp sibling: the whole stdout must equal it (one test);
  * otherwise ptest-style: PASS/FAIL lines and a final `N passed, M failed`.

A firmware crash (non-zero exit, signal, timeout, missing summary) is a
failure and its output is shown.  The last line is `unix: N passed, M failed`
and the exit status is non-zero if anything failed.
"""

import argparse
import contextlib
import difflib
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, HERE)

import fake_server  # noqa: E402
from extra_servers import ExtraServers  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "faults"))
from proxy import FaultProxy  # noqa: E402
from redis_fixture import RedisServer, install_sigterm_handler  # noqa: E402
from redis_cluster_fixture import RedisCluster  # noqa: E402
import sentinel_fixture  # noqa: E402

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--micropython", default=os.path.join(ROOT, "build/unix/micropython"),
                   help="firmware to test (default: build/unix/micropython)")
    p.add_argument("--lib", action="append", default=[],
                   help="extra MICROPYPATH dir searched before the frozen modules "
                        "(e.g. a pure-Python picoredis for validating the suite)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per test file")
    p.add_argument("-v", "--verbose", action="store_true", help="show every file's output")
    p.add_argument("--exclude", action="append", default=[],
                   help="skip files whose name contains this (e.g. frozen_package for the "
                        "native .mpy module, which has no frozen package)")
    p.add_argument("filters", nargs="*", help="run only files whose name contains one of these")
    return p.parse_args()


class SentinelServers:
    """For test_sentinel*.py only (started when one of them runs: about 5 s): a Sentinel
    setup (tools/sentinel_fixture.py: primary, replica, 3 sentinels) with its control
    socket, a fake sentinel the tests point at will, and two spare plain servers."""

    def __enter__(self):
        self.setup = sentinel_fixture.SentinelSetup().start()
        self.fake = sentinel_fixture.FakeSentinel()
        self.fake.start()
        self.control = sentinel_fixture.ControlServer(self.setup, self.fake)
        self.control.start()
        # (A replica's first sync at once, not after the default 5 s diskless delay.)
        self.spares = [RedisServer(["--repl-diskless-sync-delay", "0"]).start()
                       for _ in range(2)]
        return self

    def env(self):
        env = self.setup.env()
        env.update(PICOREDIS_SENTINEL_CONTROL_PORT=str(self.control.port),
                   PICOREDIS_FAKE_SENTINEL_PORT=str(self.fake.port),
                   PICOREDIS_SPARE_PORTS=",".join(str(s.port) for s in self.spares))
        return env

    def __exit__(self, *exc):
        self.control.close()
        self.fake.close()
        for s in self.spares:
            s.stop()
        self.setup.stop()
        return False


def find_tests(filters, exclude=()):
    unix_dir = os.path.join(HERE, "unix")
    names = sorted(n for n in os.listdir(unix_dir)
                   if n.startswith("test_") and n.endswith(".py"))
    if filters:
        names = [n for n in names if any(f in n for f in filters)]
    names = [n for n in names if not any(x in n for x in exclude)]
    return [os.path.join(unix_dir, n) for n in names]


def run_file(args, path, env):
    """Run one file; return (stdout text, status string or None if it ran to completion)."""
    try:
        proc = subprocess.run([args.micropython, path], env=env, cwd=os.path.dirname(path),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=args.timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return out, "timed out after %.0f s" % args.timeout
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode < 0:
        return out, "killed by signal %d" % -proc.returncode
    if proc.returncode != 0:
        return out, "exit code %d" % proc.returncode
    return out, None


def judge_exp(path, out, crash):
    """An .exp file: one test, passes if stdout matches exactly."""
    with open(path[:-3] + ".exp", encoding="utf-8") as f:
        expected = f.read()
    if crash is None and out == expected:
        return 1, 0, []
    exp_name = os.path.basename(path[:-3] + ".exp")
    notes = list(difflib.unified_diff(expected.splitlines(), out.splitlines(),
                                      exp_name, "stdout", lineterm=""))
    return 0, 1, notes


def judge_ptest(out, crash):
    """A ptest file: count PASS/FAIL lines; the summary must agree."""
    lines = out.splitlines()
    passed = sum(1 for l in lines if l.startswith("PASS "))
    failed = sum(1 for l in lines if l.startswith("FAIL "))
    summary = SUMMARY.match(lines[-1]) if lines else None
    # FAIL lines with their indented tracebacks, and informational NOTE lines.
    notes, in_fail = [], False
    for l in lines:
        in_fail = l.startswith("FAIL ") or (in_fail and l.startswith("    "))
        if in_fail or l.startswith("NOTE "):
            notes.append(l)
    if summary is None or (int(summary.group(1)), int(summary.group(2))) != (passed, failed):
        crash = crash or "no final summary line"
    if crash:
        failed += 1  # the file itself counts as a failure
    return passed, failed, notes


def main():
    args = parse_args()
    if os.sep in args.micropython:   # test files run in tests/unix: keep relative paths valid
        args.micropython = os.path.abspath(args.micropython)
    if not os.access(args.micropython, os.X_OK):
        print("firmware not found or not executable: %s" % args.micropython)
        print("unix: 0 passed, 1 failed")
        return 2
    tests = find_tests(args.filters, args.exclude)
    if not tests:
        print("no test files match %r" % (args.filters,))
        print("unix: 0 passed, 1 failed")
        return 2

    install_sigterm_handler()
    total_passed = total_failed = 0
    fake = fake_server.start()
    sentinels = None
    try:
        if any("sentinel" in os.path.basename(t) for t in tests):
            sentinels = SentinelServers().__enter__()
        with RedisServer() as redis, FaultProxy(redis.port, lifetime=3600) as proxy, \
                ExtraServers() as extra, contextlib.ExitStack() as stack:
            env = dict(os.environ, **extra.env())
            if sentinels:
                env.update(sentinels.env())
            # A local Redis Cluster (6 nodes, ~3 s) only when a cluster test runs:
            # PICOREDIS_CLUSTER_PORTS, shared by the test_cluster* files in name order.
            if any("cluster" in os.path.basename(t) for t in tests):
                cluster = stack.enter_context(RedisCluster())
                env.update(cluster.env())
                print("redis cluster on ports %s" % " ".join(map(str, cluster.ports)))
            env.update(
                       PICOREDIS_PROXY_PORT=str(proxy.port),
                       MICROPYPATH=os.pathsep.join(args.lib + [".frozen", os.path.join(HERE, "lib")]),
                       PICOREDIS_HOST=redis.host,
                       PICOREDIS_PORT=str(redis.port),
                       PICOREDIS_FAKE_PORT=str(fake.server_address[1]))
            print("redis-server on %s:%d, fake server on port %d, fault proxy on port %d, "
                  "firmware %s" % (redis.host, redis.port, fake.server_address[1], proxy.port,
                                   args.micropython))
            for path in tests:
                redis.flushall()
                t0 = time.monotonic()
                out, crash = run_file(args, path, env)
                elapsed = time.monotonic() - t0
                if os.path.exists(path[:-3] + ".exp"):
                    passed, failed, notes = judge_exp(path, out, crash)
                else:
                    passed, failed, notes = judge_ptest(out, crash)
                total_passed += passed
                total_failed += failed
                verdict = "ok  " if failed == 0 else "FAIL"
                print("%s %-32s %3d passed %3d failed  %5.1fs%s"
                      % (verdict, os.path.basename(path), passed, failed, elapsed,
                         "  (" + crash + ")" if crash else ""))
                if args.verbose or crash:
                    shown = out.splitlines()
                else:
                    shown = notes
                for line in shown:
                    print("    | " + line)
    finally:
        if sentinels:
            sentinels.__exit__(None, None, None)
        fake.shutdown()
        fake.server_close()
    print("unix: %d passed, %d failed" % (total_passed, total_failed))
    return 1 if total_failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted")
        sys.exit(130)
