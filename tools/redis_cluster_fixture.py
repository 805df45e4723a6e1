"""Throwaway local Redis Cluster for tests (CPython 3, stdlib only).

    with RedisCluster() as c:          # 3 masters + 3 replicas on loopback
        run_something(port=c.ports[0])

Six `redis-server --cluster-enabled yes` on free 127.0.0.1 ports, each with its own
directory (and nodes.conf) under one private temporary directory, joined by
`redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes`; ready once every
node reports `cluster_state:ok` and agrees on the slot map (about 2 s). Stopped by PID
(SIGTERM, then SIGKILL) and the directory removed when the `with` block exits, also on
exceptions, Ctrl-C and SIGTERM (see redis_fixture.install_sigterm_handler); an atexit hook
is a last line of defence. Nothing is persisted.

    python3 tools/redis_cluster_fixture.py      # by hand: start one, keep it until Ctrl-C
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_fixture import HOST, command, free_port, install_sigterm_handler, redis_version  # noqa: E402


def _read_reply(f):
    """One RESP2 reply from a buffered socket file, as Python values (housekeeping only)."""
    line = f.readline()
    if not line:
        raise OSError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return RuntimeError(rest.decode("utf-8", "replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise OSError("bad reply line %r" % line)


def call(port, *args, host=HOST, timeout=5.0):
    """Send one command on a fresh connection; return its whole reply (an error reply is
    returned as a RuntimeError instance, not raised)."""
    import socket
    from redis_fixture import encode_command
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(encode_command(*args))
        with s.makefile("rb") as f:
            return _read_reply(f)


class RedisCluster:
    """A 6-node local cluster (3 masters, 3 replicas) on random loopback ports."""

    def __init__(self, nodes=6, replicas=1, binary=None, cli=None, startup_timeout=20.0,
                 node_timeout=2000):
        self.binary = binary or os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
        self.cli = cli or os.environ.get("REDIS_CLI") or shutil.which("redis-cli")
        if not self.binary or not self.cli:
            raise RuntimeError("redis-server and redis-cli are needed (make deps)")
        self.n = nodes
        self.replicas = replicas
        self.startup_timeout = startup_timeout
        self.node_timeout = node_timeout
        self.host = HOST
        self.ports = []
        self.procs = {}
        self.tmpdir = None

    # -- lifecycle -------------------------------------------------------
    def start(self):
        self.tmpdir = tempfile.mkdtemp(prefix="picoredis-cluster-")
        atexit.register(self.stop)
        try:
            for i in range(self.n):
                self.ports.append(self._spawn_node(i))
            self._create()
            self.wait_ok()
        except BaseException:
            self.stop()
            raise
        return self

    def _node_args(self, port, d):
        args = [self.binary, "--port", str(port), "--bind", self.host,
                "--dir", d, "--logfile", os.path.join(d, "redis.log"),
                "--daemonize", "no", "--save", "", "--appendonly", "no",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout)]
        if redis_version(self.binary) >= (7,):
            args += ["--enable-debug-command", "yes"]
        return args

    def _spawn_node(self, i, attempts=5):
        d = os.path.join(self.tmpdir, "node%d" % i)
        os.makedirs(d, exist_ok=True)
        last = None
        for _ in range(attempts):
            port = free_port()
            # Cluster nodes also listen on port + 10000 (the bus): both must be free.
            if port + 10000 > 65535:
                continue
            proc = subprocess.Popen(self._node_args(port, d), cwd=d, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            self.procs[port] = proc
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if command(port, "PING", timeout=1.0).startswith(b"+PONG"):
                        return port
                except OSError:
                    pass
                time.sleep(0.05)
            last = "node on port %d did not start:\n%s" % (port, self.log(port, d))
            self._kill(port)
        raise RuntimeError(last)

    def _create(self):
        addrs = ["%s:%d" % (self.host, p) for p in self.ports]
        r = subprocess.run([self.cli, "--cluster", "create", *addrs,
                            "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("redis-cli --cluster create failed:\n%s%s" % (r.stdout, r.stderr))

    def wait_ok(self, timeout=None):
        """Until every running node says cluster_state:ok and all agree on CLUSTER SLOTS."""
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        while True:
            try:
                if self._all_ok():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("cluster not ok within %.0f s" % (timeout or self.startup_timeout))
            time.sleep(0.1)

    def _all_ok(self):
        maps = []
        for p in self.running_ports():
            info = call(p, "CLUSTER", "INFO")
            if b"cluster_state:ok" not in info:
                return False
            maps.append(sorted((s[0], s[1], s[2][1]) for s in call(p, "CLUSTER", "SLOTS")))
        return all(m == maps[0] for m in maps) and sum(e - s + 1 for s, e, _ in maps[0]) == 16384

    def running_ports(self):
        return [p for p in self.ports if p in self.procs and self.procs[p].poll() is None]

    def log(self, port, d=None):
        d = d or os.path.join(self.tmpdir or "", "node%d" % self.ports.index(port))
        try:
            with open(os.path.join(d, "redis.log"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return "(no log)"

    def _kill(self, port, sig_term=True):
        proc = self.procs.pop(port, None)
        if proc is None or proc.poll() is not None:
            return
        if sig_term:
            proc.terminate()
            try:
                proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                pass
        proc.kill()
        proc.wait()

    def kill_node(self, port):
        """SIGKILL one node (a crash; for failover tests)."""
        self._kill(port, sig_term=False)

    def stop(self):
        """Stop every node by PID and remove the directory; safe to call twice."""
        try:
            for port in list(self.procs):
                self._kill(port)
        finally:
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = None

    # -- helpers ---------------------------------------------------------
    def masters(self):
        """[(start, end, master_port)] from CLUSTER SLOTS."""
        slots = call(self.running_ports()[0], "CLUSTER", "SLOTS")
        return sorted((s[0], s[1], s[2][1]) for s in slots)

    def flushall(self):
        for start, end, port in self.masters():
            call(port, "FLUSHALL")

    def env(self):
        return {"PICOREDIS_CLUSTER_PORTS": ",".join(str(p) for p in self.ports)}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


if __name__ == "__main__":
    install_sigterm_handler()
    t0 = time.monotonic()
    with RedisCluster() as c:
        print("cluster up in %.1f s on ports %s (Ctrl-C to stop)"
              % (time.monotonic() - t0, " ".join(map(str, c.ports))))
        for s, e, p in c.masters():
            print("  slots %5d-%5d: %d" % (s, e, p))
        if "--check" in sys.argv:
            sys.exit(0)
        try:
            while c.running_ports():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
