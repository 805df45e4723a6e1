# Where the test servers are, and small helpers shared by tests/unix/*.py.
#
# The runner (tests/run_unix_tests.py) or tools/with_redis.py sets:
#   PICOREDIS_HOST / PICOREDIS_PORT  the real throwaway redis-server
#   PICOREDIS_FAKE_PORT              tests/fake_server.py (malformed replies)
import os
import socket
import time

HOST = os.getenv("PICOREDIS_HOST") or "127.0.0.1"
PORT = int(os.getenv("PICOREDIS_PORT") or "6379")
_fake = os.getenv("PICOREDIS_FAKE_PORT")
FAKE_PORT = int(_fake) if _fake else None


def client(**kw):
    """A picoredis client connected to the real test server."""
    import picoredis
    kw.setdefault("port", PORT)
    return picoredis.Redis(HOST, **kw)


def fresh_client(module_globals):
    """A before_each hook giving the test module a new client `r` per test, so a desync in
    one test cannot spill over into the next."""
    def hook():
        old = module_globals.get('r')
        if old is not None:
            try:
                old.close()
            except Exception:
                pass
        module_globals['r'] = client()
    return hook


def ms_since(t0):
    return time.ticks_diff(time.ticks_ms(), t0)


def timed(fn, *args):
    """Call fn(*args); return (exception or None, result, elapsed ms)."""
    t0 = time.ticks_ms()
    try:
        result = fn(*args)
    except Exception as e:
        return e, None, ms_since(t0)
    return None, result, ms_since(t0)


def silent_listener():
    """A listening socket on a free loopback port that never accepts.

    The kernel completes the TCP handshake from the listen backlog, so a
    client connects fine and then waits forever for a reply.  MicroPython's
    socket has no getsockname(), so probe random high ports until bind works.
    Returns (socket, port); keep the socket referenced and close it after.
    """
    for _ in range(50):
        port = 20000 + (int.from_bytes(os.urandom(2), "little") % 40000)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
            s.listen(8)
            return s, port
        except OSError:
            s.close()
    raise OSError("no free port for silent listener")


def full_listener():
    """A listening socket whose accept queue is full, so a further connect hangs (the
    kernel drops its SYNs): the way to make connecting slow on loopback."""
    import random
    for _ in range(20):
        port = random.randrange(20000, 60000)
        srv = socket.socket()
        try:
            srv.bind(socket.getaddrinfo(HOST, port)[0][-1])
        except OSError:
            srv.close()
            continue
        srv.listen(0)
        fillers = []
        for _ in range(3):
            c = socket.socket()
            c.settimeout(0.2)
            try:
                c.connect(socket.getaddrinfo(HOST, port)[0][-1])
            except OSError:
                pass
            fillers.append(c)
        return srv, port, fillers
    raise OSError('no free port')


def port_is_open(port, host="127.0.0.1"):
    """True if something accepts TCP connections on host:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect(socket.getaddrinfo(host, port)[0][-1])
        return True
    except OSError:
        return False
    finally:
        s.close()


def hexstr(data):
    """bytes -> hex text, the argument format of tests/fake_server.py."""
    import binascii
    return binascii.hexlify(data).decode()


def fake_client(**kw):
    """A picoredis client connected to tests/fake_server.py."""
    if FAKE_PORT is None:
        raise OSError("PICOREDIS_FAKE_PORT not set (run via tests/run_unix_tests.py)")
    kw["port"] = FAKE_PORT
    return client(**kw)


# -- helpers for the misuse tests (tests/unix/test_misuse_*.py) ----------------------------

def socket_to(port, host=None, timeout_s=2):
    """A plain connected socket to host:port (the real test server by default)."""
    s = socket.socket()
    s.connect(socket.getaddrinfo(host or HOST, port)[0][-1])
    s.settimeout(timeout_s)
    return s


def _stream_base():
    import io
    import sys
    if sys.implementation.name == 'micropython':
        return io.IOBase

    class Base(io.IOBase):
        # CPython's and PyPy's IOBase has a read-only `closed` property; SocketStream
        # counts close requests in that name.
        closed = 0
    return Base


class SocketStream(_stream_base()):
    """A Python stream (io.IOBase: readinto/write/ioctl) over a real socket, to give to
    `Redis(sock=...)`.  Subclasses override `readinto`/`write`/`ioctl` to misbehave, and
    call `SocketStream.readinto(self, buf)` etc. for the real thing.  It has no
    settimeout(), so the client cannot set one: the socket's own timeout (timeout_s)
    bounds every read.  `closed` counts close requests (ioctl MP_STREAM_CLOSE or close())."""

    POLL, CLOSE = 3, 4          # MP_STREAM_POLL, MP_STREAM_CLOSE ioctl requests
    POLLIN, POLLOUT = 1, 4

    def __init__(self, port=None, host=None, timeout_s=2):
        self.sock = socket_to(port or PORT, host, timeout_s)
        self.closed = 0

    def readinto(self, buf):
        # recv, not readinto: a socket's readinto waits until the whole buffer is full.
        data = self.sock.recv(len(buf))
        buf[:len(data)] = data
        return len(data)

    def write(self, buf):
        return self.sock.write(buf)

    def ioctl(self, req, arg):
        if req == self.CLOSE:
            self.close()
        return 0

    def close(self):
        self.closed += 1
        self.sock.close()


def child_case():
    """The case this process must run alone (`--case NAME` on the command line, as
    run_isolated() starts it), or None in the normal, parent run."""
    import sys
    argv = sys.argv
    if '--case' in argv and argv.index('--case') + 1 < len(argv):
        return argv[argv.index('--case') + 1]
    return None


def run_isolated(script, case, timeout_s=60):
    """Runs `script --case CASE` in a fresh firmware process (the one running now), so a
    test that may crash the firmware fails alone instead of ending the whole file.  The
    child must register just that case with ptest and call run().  Raises (a failure
    of the calling test) unless the child printed `1 passed, 0 failed` and exited 0;
    the message carries the child's FAIL line or how it died."""
    import sys
    tmp = '%s/picoredis-case-%s.txt' % (os.getenv('TMPDIR') or '/tmp', hexstr(os.urandom(6)))
    status = os.system("timeout %d '%s' '%s' --case '%s' > '%s' 2>&1"
                       % (timeout_s, sys.executable, script, case, tmp))
    try:
        with open(tmp) as f:
            out = f.read()
    except OSError:
        out = ''
    try:
        os.remove(tmp)
    except OSError:
        pass
    lines = [l for l in out.split('\n') if l]
    if status == 0 and lines and lines[-1] == '1 passed, 0 failed':
        return
    code = status >> 8 if status & 0x7f == 0 else 128 + (status & 0x7f)
    if code == 124:
        how = 'timed out after %d s' % timeout_s
    elif code > 128:
        how = 'crashed: killed by signal %d' % (code - 128)
    else:
        how = 'exit status %d' % code
    from ptest import AssertFailed
    fail = [l for l in lines if l.startswith('FAIL ')]
    detail = fail[0][5:] if fail else ' | '.join(lines[-4:])
    raise AssertFailed('isolated run %s: %s' % (how, detail))


def restart_server():
    """Restarts the restartable test server (tests/extra_servers.py) through its control
    socket; returns once the new server listens."""
    s = socket.socket()
    s.connect(socket.getaddrinfo(HOST, int(os.getenv('PICOREDIS_CONTROL_PORT')))[0][-1])
    s.write(b'restart\n')
    answer = s.read(3)
    s.close()
    if answer != b'ok\n':
        raise OSError('restart failed: %r' % (answer,))
