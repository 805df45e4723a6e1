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
