"""Throwaway Redis Sentinel setup for tests (CPython 3, stdlib only).

    with SentinelSetup() as s:
        s.master_port, s.sentinel_ports      # 127.0.0.1 ports
        s.kill_master()                      # SIGKILL the primary (automatic failover)
        s.wait_stable()                      # sentinels agree on a primary with a replica

Starts, on free loopback ports, in one private temporary directory: a primary, a replica
(`--replicaof` the primary) and 3 sentinels (`redis-server sN.conf --sentinel`, each
monitoring `mymaster` with quorum 2, `down-after-milliseconds` 400 and `failover-timeout`
2000, so a failover takes about 1-3 s). `start()` returns once every sentinel knows the
primary, the replica (up, synced) and the two other sentinels, which a failover needs.
Everything is stopped by PID (never by name) and the directory removed when the `with`
block exits, also on exceptions and SIGTERM (`install_sigterm_handler` in redis_fixture).

A control socket (`ControlServer`) lets tests running in the firmware drive it: they send
one line and read one line back (`ok ...` or `error ...`):

    kill        SIGKILL the current primary               -> ok <its port>
    point P     the fake sentinel (FakeSentinel) names 127.0.0.1:P from now on
                (P `none`: it knows no primary; `bad`: it answers port 99999)
    asked       how many times the fake sentinel was asked -> ok <n>
    replicas S  the fake sentinel's replicas (SENTINEL REPLICAS / SLAVES) from now on:
                S `none`, or `P[/FLAGS],...` (FLAGS `+`-separated, default `slave`);
                a leading `old:` makes it a sentinel before Redis 5 (REPLICAS unknown)
    revive      restart every killed node as a replica of the current primary, wait stable
    wait        wait until stable (one primary known to all sentinels, replica up)
                                                          -> ok <primary port>
    master      the primary's port as the sentinels report it (no wait)
    nodes       the live data nodes' ports                -> ok <port>,<port>

`python3 tools/sentinel_fixture.py` starts one and prints its ports until Ctrl-C.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_fixture import HOST, encode_command, free_port  # noqa: E402

NAME = "mymaster"
DOWN_AFTER_MS = 400
FAILOVER_TIMEOUT_MS = 2000


# ---- a tiny RESP2 client (the sentinels' replies are arrays) ------------------------------

class _Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise OSError("bad reply %r" % line)


def call(port, *args, timeout=2.0):
    """One command on a fresh connection to 127.0.0.1:port; its reply (errors as values)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(encode_command(*args))
        return _Reader(s).reply()


def encode_array(value):
    """RESP2 for a list of (lists of) str."""
    if isinstance(value, list):
        return b"*%d\r\n" % len(value) + b"".join(encode_array(v) for v in value)
    data = value.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


def as_dict(flat):
    return dict(zip(flat[0::2], flat[1::2])) if isinstance(flat, list) else {}


# ---- the setup -----------------------------------------------------------------------------

class SentinelSetup:
    def __init__(self, binary=None, startup_timeout=20.0):
        self.binary = binary or os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
        if not self.binary:
            raise RuntimeError("redis-server not found (set REDIS_SERVER or install it)")
        self.startup_timeout = startup_timeout
        self.tmpdir = None
        self.nodes = {}        # data node port -> Popen (None once killed)
        self.sentinels = {}    # sentinel port -> Popen
        self.lock = threading.Lock()

    @property
    def node_ports(self):
        return sorted(self.nodes)

    @property
    def sentinel_ports(self):
        return sorted(self.sentinels)

    # -- processes -------------------------------------------------------
    def _spawn(self, args, log):
        return subprocess.Popen([self.binary] + args, cwd=self.tmpdir,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def _node(self, port, replica_of=None):
        args = ["--port", str(port), "--bind", HOST, "--dir", self.tmpdir,
                "--dbfilename", "dump-%d.rdb" % port,
                "--logfile", os.path.join(self.tmpdir, "node-%d.log" % port),
                "--daemonize", "no", "--save", "", "--appendonly", "no",
                # A replica that lost its primary still answers reads (the default).
                "--replica-serve-stale-data", "yes",
                # A demoted primary resyncs at once (not after the default 5 s).
                "--repl-diskless-sync-delay", "0"]
        if replica_of:
            args += ["--replicaof", HOST, str(replica_of)]
        self.nodes[port] = self._spawn(args, "node-%d.log" % port)
        self._wait_ping(port, self.nodes[port])

    def _sentinel(self, port, master_port):
        conf = os.path.join(self.tmpdir, "sentinel-%d.conf" % port)
        with open(conf, "w") as f:   # sentinel rewrites its config: a file of its own
            f.write("port %d\nbind %s\ndaemonize no\ndir %s\nlogfile %s\n"
                    "sentinel monitor %s %s %d 2\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s %d\n"
                    "sentinel parallel-syncs %s 1\n"
                    % (port, HOST, self.tmpdir,
                       os.path.join(self.tmpdir, "sentinel-%d.log" % port),
                       NAME, HOST, master_port, NAME, DOWN_AFTER_MS,
                       NAME, FAILOVER_TIMEOUT_MS, NAME))
        self.sentinels[port] = self._spawn([conf, "--sentinel"], "sentinel-%d.log" % port)
        self._wait_ping(port, self.sentinels[port])

    def _wait_ping(self, port, proc):
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("redis-server on port %d exited (%s):\n%s"
                                   % (port, proc.returncode, self.logs()))
            try:
                if call(port, "PING", timeout=1.0) == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("port %d did not answer PING:\n%s" % (port, self.logs()))

    def start(self):
        self.tmpdir = tempfile.mkdtemp(prefix="picoredis-sentinel-")
        atexit.register(self.stop)
        try:
            ports = set()
            while len(ports) < 5:
                ports.add(free_port())
            ports = sorted(ports)
            primary, replica = ports[0], ports[1]
            self._node(primary)
            self._node(replica, replica_of=primary)
            for p in ports[2:]:
                self._sentinel(p, primary)
            self.wait_stable()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop every process (by PID) and remove the directory; safe to call twice."""
        procs = list(self.sentinels.values()) + list(self.nodes.values())
        for p in procs:
            if p is not None and p.poll() is None:
                p.terminate()
        for p in procs:
            if p is None:
                continue
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.sentinels, self.nodes = {}, {}
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.tmpdir or ".")) if self.tmpdir else []:
            if name.endswith(".log"):
                with open(os.path.join(self.tmpdir, name), errors="replace") as f:
                    out.append("== %s\n%s" % (name, f.read()[-1500:]))
        return "\n".join(out)

    # -- what the sentinels say -------------------------------------------
    def master_port(self):
        """The primary's port according to the first sentinel that answers."""
        for p in self.sentinel_ports:
            try:
                addr = call(p, "SENTINEL", "get-master-addr-by-name", NAME)
            except OSError:
                continue
            if isinstance(addr, list):
                return int(addr[1])
        return None

    def _stable_at(self, sentinel):
        """The primary's port if this sentinel sees a settled setup, else None."""
        m = as_dict(call(sentinel, "SENTINEL", "master", NAME))
        flags = m.get("flags", "").split(",")
        if flags != ["master"] or int(m.get("num-other-sentinels", 0)) < 2:
            return None
        port = int(m["port"])
        live = [p for p, proc in self.nodes.items() if proc is not None]
        if port not in live:
            return None
        replicas = [as_dict(r) for r in call(sentinel, "SENTINEL", "replicas", NAME) or []]
        ok = [r for r in replicas if r.get("flags") == "slave"
              and r.get("master-link-status") == "ok" and int(r["port"]) in live]
        if len(ok) < len(live) - 1:
            return None
        # The primary itself says so, and its replicas are online.
        role = call(port, "ROLE")
        if not (isinstance(role, list) and role[0] == "master"
                and len(role[2] or []) >= len(live) - 1):
            return None
        return port

    def wait_stable(self, timeout=None):
        """Waits until every sentinel reports the same primary, which is a live master,
        with every other live node an online replica and both other sentinels known;
        returns the primary's port."""
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        while time.monotonic() < deadline:
            try:
                seen = {self._stable_at(p) for p in self.sentinel_ports}
            except (OSError, ValueError, KeyError, TypeError, IndexError):
                seen = {None}
            if len(seen) == 1 and None not in seen:
                return seen.pop()
            time.sleep(0.1)
        raise RuntimeError("sentinel setup not stable within %.0f s:\n%s"
                           % (timeout or self.startup_timeout, self.logs()))

    # -- faults ------------------------------------------------------------
    def kill_master(self):
        """SIGKILL the current primary (no clean shutdown); returns its port."""
        port = self.master_port()
        proc = self.nodes.get(port)
        if proc is None:
            raise RuntimeError("primary %r is not a live node" % port)
        proc.kill()
        proc.wait()
        self.nodes[port] = None
        return port

    def revive(self):
        """Restarts every killed node as a replica of the current primary; waits stable."""
        master = self.wait_stable()
        for port, proc in list(self.nodes.items()):
            if proc is None:
                self._node(port, replica_of=master)
        return self.wait_stable()

    def env(self):
        return dict(PICOREDIS_SENTINEL_PORTS=",".join(str(p) for p in self.sentinel_ports),
                    PICOREDIS_SENTINEL_NAME=NAME)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class FakeSentinel(threading.Thread):
    """A sentinel that names whatever node the tests tell it to (`point`), for cases a
    real one cannot be made to show on demand: a primary that became a replica under a
    client's connection (READONLY), a sentinel that names a replica, malformed answers.
    It answers PING and `SENTINEL get-master-addr-by-name <any name>`: `[host, port]`,
    nil (`point none`) or a port out of range (`point bad`); `SENTINEL REPLICAS` and
    `SLAVES <any name>`: the replicas it was given (`replicas`), as Redis' flat lists of
    fields (REPLICAS an error when it plays a sentinel before Redis 5); anything else is
    an error."""

    def __init__(self):
        super().__init__(daemon=True)
        self.target = None
        self.asked = 0
        self.replicas = []     # (port, flags)
        self.old = False       # no SENTINEL REPLICAS (before Redis 5): SLAVES only
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def answer(self, args):
        words = [a.decode(errors="replace").lower() for a in args]
        if words[:1] == ["ping"]:
            return b"+PONG\r\n"
        if words[:2] == ["sentinel", "get-master-addr-by-name"] and len(words) == 3:
            self.asked += 1
            if self.target is None:
                return b"*-1\r\n"
            if self.target == "bad":
                return b"*2\r\n$9\r\n127.0.0.1\r\n$5\r\n99999\r\n"
            port = str(self.target).encode()
            return b"*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n" % (len(port), port)
        if (words[:2] in (["sentinel", "replicas"], ["sentinel", "slaves"]) and len(words) == 3
                and not (self.old and words[1] == "replicas")):
            return encode_array([["name", "%s:%d" % (HOST, port), "ip", HOST, "port", str(port),
                                  "runid", "", "flags", flags]
                                 for port, flags in self.replicas])
        return b"-ERR fake sentinel: unknown command\r\n"

    def set_replicas(self, spec):
        """`replicas` of the control socket (see the module docstring)."""
        self.old = spec.startswith("old:")
        spec = spec[4:] if self.old else spec
        self.replicas = [] if spec == "none" else [
            (int(p), (f or "slave").replace("+", ","))
            for p, _, f in (e.partition("/") for e in spec.split(","))]

    def serve(self, conn):
        r = _Reader(conn)
        with conn:
            try:
                while True:
                    line = r.line()
                    if not line.startswith(b"*"):
                        return
                    args = []
                    for _ in range(int(line[1:])):
                        n = int(r.line()[1:])
                        args.append(r.exact(n))
                    conn.sendall(self.answer(args))
            except (OSError, ValueError):
                return

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def close(self):
        self.sock.close()


class ControlServer(threading.Thread):
    """One-line commands from the tests (see the module docstring)."""

    def __init__(self, setup, fake=None):
        super().__init__(daemon=True)
        self.setup = setup
        self.fake = fake
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]

    def handle(self, cmd):
        s = self.setup
        with s.lock:
            if cmd == "kill":
                return "ok %d" % s.kill_master()
            if cmd == "revive":
                return "ok %d" % s.revive()
            if cmd == "wait":
                return "ok %d" % s.wait_stable()
            if cmd == "master":
                return "ok %s" % s.master_port()
            if cmd == "nodes":
                return "ok " + ",".join(str(p) for p, proc in sorted(s.nodes.items())
                                        if proc is not None)
            if cmd.startswith("point ") and self.fake is not None:
                target = cmd.split()[1]
                self.fake.target = None if target == "none" else target
                return "ok"
            if cmd == "asked" and self.fake is not None:
                return "ok %d" % self.fake.asked
            if cmd.startswith("replicas ") and self.fake is not None:
                self.fake.set_replicas(cmd.split()[1])
                return "ok"
        return "error unknown command %r" % cmd

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(60)
                try:
                    cmd = conn.recv(256).decode().strip()
                    try:
                        answer = self.handle(cmd)
                    except Exception as e:   # reported to the test, which fails
                        answer = "error %s" % str(e).replace("\n", " | ")[:3000]
                    conn.sendall(answer.encode() + b"\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()


if __name__ == "__main__":
    from redis_fixture import install_sigterm_handler
    install_sigterm_handler()
    with SentinelSetup() as s:
        ctl = ControlServer(s)
        ctl.start()
        print("primary %d, nodes %s, sentinels %s, control %d (Ctrl-C to stop)"
              % (s.master_port(), s.node_ports, s.sentinel_ports, ctl.port))
        for k, v in s.env().items():
            print("%s=%s" % (k, v))
        print("PICOREDIS_SENTINEL_CONTROL_PORT=%d" % ctl.port)
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
