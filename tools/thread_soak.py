#!/usr/bin/env python3
"""Concurrency soak of picoredis: threads sharing a client while connections die
(CPython 3, stdlib only).

    python3 tools/thread_soak.py [--commands 20000] [--min-seconds 15] [--seed 1]
                                 [--timeout-ms 2000] [--kill-ms 200-400] [--shared-threads 4]
                                 [--micropython build/unix/micropython]

Starts a throwaway redis-server (tools/redis_fixture.py) and runs
tests/faults/thread_soak_client.py with the firmware: 8 threads (no GIL on a
stock unix firmware: really parallel; the picoredis firmware has one), 4 sharing one Redis client and 4 with a client
each, at least --commands in all and for at least --min-seconds (load long
enough for the kills to land), every reply checked against its command.  Once the
client reports READY, a killer thread sends `CLIENT KILL TYPE normal SKIPME yes`
on its own connection every --kill-ms (uniform in the range, seeded), so the
firmware's connections die under load and reconnect.  Afterwards it checks

  crashes     firmware exit status != 0, a signal, no end in time, or no final
              report: must be 0
  wrong       a reply that is not the one for the command sent (incl. a server
              error for a command that cannot fail): must be 0
  unexpected  any exception other than OSError / RedisTimeout (ParseError,
              RuntimeError "client in use", a thread that died...): must be 0
  commands    all --commands attempted, every thread finished
  kills       CLIENT KILL sent and connections killed > 0
  after       every client answers PING afterwards; open fds back to the count
              before the clients were made

prints the counts, and exits non-zero if any check fails.  Bounded: the
firmware gets --max-seconds (default 20 s + --min-seconds + 5 ms per command);
the killer stops with it.
"""

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from redis_fixture import RedisServer, encode_command, install_sigterm_handler  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commands", type=int, default=20000)
    p.add_argument("--min-seconds", type=float, default=15,
                   help="go on past --commands until then, so that kills land under load")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout-ms", type=int, default=2000, help="the clients' timeout")
    p.add_argument("--kill-ms", default="200-400",
                   help="CLIENT KILL interval range in ms, MIN-MAX (0 = no kills)")
    p.add_argument("--shared-threads", type=int, default=4, choices=range(9),
                   help="how many of the 8 threads share one client (the rest: one each)")
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--micropython", default=os.path.join(ROOT, "build/unix/micropython"))
    p.add_argument("--wrapper", default="", help="command prefix, e.g. 'valgrind -q'")
    p.add_argument("--lib", action="append", default=[],
                   help="MICROPYPATH dir searched first (the native module's package)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the client's output")
    a = p.parse_args(argv)
    lo, _, hi = a.kill_ms.partition("-")
    a.kill_range = (float(lo) / 1000, float(hi or lo) / 1000)
    if a.kill_range[0] < 0 or a.kill_range[1] < a.kill_range[0]:
        p.error("--kill-ms: MIN-MAX with 0 <= MIN <= MAX")
    return a


class Killer(threading.Thread):
    """Every few hundred ms, CLIENT KILL every normal client but itself."""

    def __init__(self, port, interval, seed, ready, stop, deadline):
        super().__init__(daemon=True)
        self.port, self.interval, self.ready, self.stop = port, interval, ready, stop
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.sent = 0          # CLIENT KILL commands answered
        self.killed = 0        # connections they closed
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported, and fails the soak
            self.error = "%s: %s" % (type(e).__name__, e)

    def _run(self):
        if not self.interval[1]:
            return
        while not self.ready.wait(0.05):
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            f = s.makefile("rb")
            while not self.stop.wait(self.rng.uniform(*self.interval)):
                if time.monotonic() > self.deadline:
                    return
                s.sendall(encode_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
                line = f.readline()
                if not line.startswith(b":"):
                    raise RuntimeError("CLIENT KILL answered %r" % line)
                self.sent += 1
                self.killed += int(line[1:])


def run_soak(a):
    limit = a.max_seconds or (20 + a.min_seconds + 0.005 * a.commands)
    client = os.path.join(ROOT, "tests", "faults", "thread_soak_client.py")
    t0 = time.monotonic()
    lines = []
    ready, stop = threading.Event(), threading.Event()
    with RedisServer() as redis:
        env = dict(os.environ,
                   MICROPYPATH=os.pathsep.join(a.lib + [".frozen", os.path.join(ROOT, "tests", "lib")]),
                   PICOREDIS_HOST=redis.host,
                   PICOREDIS_PORT=str(redis.port),
                   SOAK_COMMANDS=str(a.commands),
                   SOAK_SEED=str(a.seed),
                   SOAK_MIN_SECONDS=str(a.min_seconds),
                   SOAK_TIMEOUT_MS=str(a.timeout_ms),
                   SOAK_SHARED_THREADS=str(a.shared_threads),
                   # The client reports by itself before the driver gives up.
                   SOAK_MAX_SECONDS=str(max(5, limit - 5)))
        killer = Killer(redis.port, a.kill_range, a.seed, ready, stop, t0 + limit)
        killer.start()
        proc = subprocess.Popen(a.wrapper.split() + [a.micropython, client], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

        def read():
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                lines.append(line)
                if line.startswith("READY"):
                    ready.set()
                if a.verbose:
                    print("  | " + line, flush=True)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        crash = None
        try:
            rc = proc.wait(timeout=max(1, t0 + limit - time.monotonic()))
            if rc < 0:
                crash = "killed by signal %d" % -rc
            elif rc != 0:
                crash = "exit status %d" % rc
        except subprocess.TimeoutExpired:
            proc.kill()     # our own child, by PID
            proc.wait()
            crash = "no end within %.0f s" % limit
        stop.set()
        reader.join(5)
        killer.join(5)
    elapsed = time.monotonic() - t0
    report = None
    for line in lines:
        if line.startswith("SOAK "):
            report = json.loads(line[5:])
    if report is None and crash is None:
        crash = "no final SOAK report"
    return lines, report, killer, crash, elapsed


def judge(a, report, killer, crash):
    """List of failed checks."""
    bad = []
    if crash:
        bad.append("crash: " + crash)
    if killer.error:
        bad.append("killer: " + killer.error)
    if report is None:
        return bad
    if a.kill_range[1] and not killer.killed and not crash:
        bad.append("no connection was killed (%d CLIENT KILL sent)" % killer.sent)
    if report["wrong"]:
        bad.append("wrong replies: %d" % report["wrong"])
    if report["unexpected"]:
        bad.append("unexpected outcomes: %d" % report["unexpected"])
    if report["unfinished"]:
        bad.append("threads not finished: %d" % report["unfinished"])
    if report["commands"] < a.commands:
        bad.append("commands attempted: %d < %d" % (report["commands"], a.commands))
    if report.get("usable_after") is False:
        bad.append("a client did not answer PING after the soak")
    if "fds_end" in report and report["fds_start"] != report["fds_end"]:
        bad.append("fd leak: %d open before the clients, %d after closing them"
                   % (report["fds_start"], report["fds_end"]))
    return bad


def main(argv=None):
    a = parse_args(argv)
    if not os.access(a.micropython, os.X_OK):
        print("firmware not found: %s (run make)" % a.micropython)
        return 2
    install_sigterm_handler()
    lines, report, killer, crash, elapsed = run_soak(a)
    if not a.verbose:
        for line in [l for l in lines if not l.startswith(("progress", "SOAK "))][-60:]:
            print("  | " + line)
    r = report or {}
    if report is None:
        # Crashed before its report: count what it printed on the way.
        r = {"wrong": "%d+" % sum(l.startswith("WRONG") for l in lines),
             "unexpected": "%d+" % sum(l.startswith("UNEXPECTED") for l in lines)}
    print("thread soak: %s, seed %d, client timeout %d ms, kill every %s ms, %.1f s"
          % (os.path.relpath(a.micropython), a.seed, a.timeout_ms, a.kill_ms, elapsed))
    print("  threads           %s, %s of them sharing one client"
          % (r.get("threads"), r.get("shared_threads")))
    print("  commands          %s (at least %d and %g s: %s operations, %s ok) in %s s"
          % (r.get("commands"), a.commands, a.min_seconds, r.get("ops"), r.get("ok"),
             r.get("seconds")))
    print("  kills             %d CLIENT KILL, %d connections killed"
          % (killer.sent, killer.killed))
    print("  errors            shared %s, own %s"
          % (json.dumps(r.get("errors_shared"), sort_keys=True),
             json.dumps(r.get("errors_own"), sort_keys=True)))
    if r.get("per_thread"):
        print("  per thread        [thread, commands, ok, wrong, unexpected, errors]: %s"
              % json.dumps(r["per_thread"]))
    print("  wrong = %s, unexpected = %s, crashes = %d%s"
          % (r.get("wrong"), r.get("unexpected"), 1 if crash else 0,
             "" if report else " (no report: the counts of WRONG/UNEXPECTED lines printed)"))
    print("  after             PING ok %s; open fds %s before the clients, %s after close(); "
          "mem_free %s -> %s" % (r.get("usable_after"), r.get("fds_start"), r.get("fds_end"),
                                r.get("heap_start"), r.get("heap_end")))
    bad = judge(a, report, killer, crash)
    for b in bad:
        print("FAIL " + b)
    print("thread soak: %s" % ("FAILED" if bad else "ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted")
        sys.exit(130)
