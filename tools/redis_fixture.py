"""Throwaway redis-server for tests (CPython 3, stdlib only).

    with RedisServer() as srv:
        run_something(port=srv.port)

The server listens on a free 127.0.0.1 port, keeps its files in a private
temporary directory, never persists anything, and is stopped (and the
directory removed) when the `with` block exits -- also on exceptions,
Ctrl-C (KeyboardInterrupt) and SIGTERM (converted to SystemExit by
`install_sigterm_handler`).  An atexit hook is a last line of defence.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def free_port(host=HOST):
    """Ask the kernel for a currently unused TCP port.

    There is a window between closing this probe socket and redis binding the
    port; RedisServer.start() retries with a new port if redis fails to bind.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def encode_command(*args):
    """Encode a command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode("utf-8")
        elif isinstance(arg, int):
            arg = str(arg).encode("ascii")
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def command(port, *args, host=HOST, timeout=5.0):
    """Send one command on a fresh connection; return the first reply line.

    Deliberately minimal: only used for PING / FLUSHALL / SHUTDOWN style
    housekeeping whose replies are a single line.
    """
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(encode_command(*args))
        buf = b""
        while not buf.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf


def redis_version(binary):
    """Return redis-server's version as a tuple of ints, e.g. (7, 0, 15)."""
    out = subprocess.run([binary, "--version"], capture_output=True,
                         text=True, check=True).stdout
    for word in out.split():
        if word.startswith("v="):
            return tuple(int(x) for x in word[2:].split(".") if x.isdigit())
    return (0,)


class RedisServer:
    """A redis-server child process on a random loopback port."""

    def __init__(self, extra_args=(), binary=None, startup_timeout=10.0):
        self.binary = binary or os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
        if not self.binary:
            raise RuntimeError("redis-server not found (set REDIS_SERVER or install it)")
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.host = HOST
        self.port = None
        self.proc = None
        self.tmpdir = None

    # -- lifecycle -------------------------------------------------------
    def start(self, attempts=5):
        self.tmpdir = tempfile.mkdtemp(prefix="picoredis-redis-")
        atexit.register(self.stop)
        last_error = None
        for _ in range(attempts):
            self.port = free_port()
            try:
                self._spawn()
                return self
            except RuntimeError as e:  # port stolen in the race, or bad args
                last_error = e
                self._kill()
        self.stop()
        raise last_error

    def _args(self):
        args = [self.binary,
                "--port", str(self.port),
                "--bind", self.host,
                "--dir", self.tmpdir,
                "--logfile", os.path.join(self.tmpdir, "redis.log"),
                "--daemonize", "no",
                "--save", "",
                "--appendonly", "no"]
        # DEBUG is disabled by default since redis 7 and the option does not
        # exist before it (older servers allow DEBUG unconditionally).
        if redis_version(self.binary) >= (7,):
            args += ["--enable-debug-command", "yes"]
        return args + self.extra_args

    def _spawn(self):
        # Own session: a Ctrl-C in the terminal reaches us, not redis, so we
        # decide the shutdown order and always clean the temp dir.
        self.proc = subprocess.Popen(self._args(), cwd=self.tmpdir,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %s:\n%s"
                                   % (self.proc.returncode, self.log()))
            try:
                if command(self.port, "PING", timeout=1.0).startswith(b"+PONG"):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING within %.0f s:\n%s"
                           % (self.startup_timeout, self.log()))

    def log(self):
        try:
            with open(os.path.join(self.tmpdir, "redis.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def _kill(self):
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # redis shuts down cleanly on SIGTERM
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self):
        """Stop the server and remove its directory; safe to call twice."""
        try:
            self._kill()
        finally:
            if self.tmpdir:
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                self.tmpdir = None

    # -- helpers ---------------------------------------------------------
    def command(self, *args):
        return command(self.port, *args, host=self.host)

    def flushall(self):
        reply = self.command("FLUSHALL")
        if not reply.startswith(b"+OK"):
            raise RuntimeError("FLUSHALL failed: %r" % reply)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def install_sigterm_handler():
    """Turn SIGTERM into SystemExit so `with` blocks and finally clauses run."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    # Manual use: start a server and keep it until Ctrl-C.
    install_sigterm_handler()
    with RedisServer(sys.argv[1:]) as srv:
        print("redis-server listening on %s:%d (Ctrl-C to stop)" % (srv.host, srv.port))
        try:
            while srv.proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
