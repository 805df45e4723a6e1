"""The prototype's claims, on CPython and PyPy (pytest; a real redis-server on loopback).

- The core's unchanged reply builder gives the MicroPython module's objects.
- The operation pool frees what an operation made, also when it raises part-way (fault
  injection: the nth object creation fails with MemoryError) and when the reply is
  malformed: no object is leaked (CPython: sys.getrefcount / gc counts).
- The fd-level I/O: commands, pipelines, a timeout, a server that closes the link, and
  another thread running while one waits on the network (the GIL released).
"""

import gc
import os
import platform
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "tools"))
from redis_fixture import RedisServer  # noqa: E402

import picoredis_proto as p  # noqa: E402

PYPY = platform.python_implementation() == "PyPy"


def test_scalars_and_aggregates():
    assert p.parse(b"+OK\r\n") == b"OK"
    assert p.parse(b":-7\r\n") == -7
    assert p.parse(b"$-1\r\n") is None
    assert p.parse(b"*3\r\n$3\r\nabc\r\n:42\r\n+OK\r\n") == [b"abc", 42, b"OK"]
    assert p.parse(b"*2\r\n$3\r\nabc\r\n$2\r\nde\r\n", decode=True) == ["abc", "de"]
    assert p.parse(b"(123456789012345678901234567890\r\n") == 123456789012345678901234567890
    assert p.parse(b",1.5\r\n") == 1.5
    assert p.parse(b"#t\r\n") is True
    assert p.parse(b"~2\r\n+a\r\n+b\r\n") == {b"a", b"b"}
    # A list as a map key becomes a tuple (the core's `hashable`: raw tuple slots).
    assert p.parse(b"%2\r\n+a\r\n*2\r\n:1\r\n*1\r\n:2\r\n*1\r\n:3\r\n,1.5\r\n", decode=True) == {
        "a": [1, [2]],
        (3,): 1.5,
    }
    assert p.parse(b"$3\r\nabc\r\n$2\r\nde\r\n", 2) == [b"abc", b"de"]


def test_error_reply_is_a_value_split_like_the_original():
    e = p.parse(b"-ERR unknown command\r\n")
    assert isinstance(e, p.RedisError)
    assert e.args == ("ERR", "unknown command")


def test_protocol_errors_raise_parse_error():
    with pytest.raises(p.ParseError):
        p.parse(b"?x\r\n")
    with pytest.raises(p.ParseError):
        p.parse(b"%1\r\n%0\r\n:1\r\n")  # a map as a map key


def test_lists_over_1024_grow():
    n = 3000
    data = b"*%d\r\n" % n + b"".join(b"$%d\r\n%s\r\n" % (len(b"v%d" % i), b"v%d" % i) for i in range(n))
    assert p.parse(data) == [b"v%d" % i for i in range(n)]


def live_objects():
    gc.collect()
    return len(gc.get_objects())


@pytest.mark.skipif(PYPY, reason="refcounts are CPython's")
def test_no_leak_on_success_and_refcount_of_results():
    data = b"*3\r\n$3\r\nabc\r\n*1\r\n$2\r\nxy\r\n%1\r\n*1\r\n:1\r\n+v\r\n"
    r = p.parse(data, decode=True)
    first, key = r[0], next(iter(r[2]))
    counts = sys.getrefcount(r), sys.getrefcount(first), sys.getrefcount(key)
    # r: the name, the argument; first: the list, the name, the argument; key: the dict,
    # the name, the argument.
    assert counts == (2, 3, 3)
    assert key == (1,)
    del r, first, key
    start = live_objects()
    for _ in range(1000):
        p.parse(data, decode=True)
    assert live_objects() - start <= 2


@pytest.mark.skipif(PYPY, reason="object counts are CPython's")
@pytest.mark.parametrize("fail_at", range(0, 14))
def test_memory_error_part_way_leaks_nothing(fail_at):
    # A reply of 13 objects; the fail_at'th creation raises MemoryError (a longjmp out of
    # the core's reply builder), and everything it had made is freed.
    data = b"*3\r\n$3\r\nabc\r\n*2\r\n$2\r\nxy\r\n~1\r\n:5\r\n%2\r\n*1\r\n:1\r\n+v\r\n+k\r\n:2\r\n"
    p.parse(data)  # warm-up (interned, cached objects)
    start = live_objects()
    for _ in range(50):
        p.fail_after(fail_at)
        try:
            p.parse(data)
        except MemoryError:
            pass
        finally:
            p.fail_after(-1)
    assert live_objects() - start <= 2


@pytest.mark.parametrize("fail_at", range(0, 13))  # the reply makes 13 objects
def test_memory_error_part_way_raises_and_the_next_parse_works(fail_at):
    # Both interpreters: the longjmp out of the core lands in the guard, MemoryError
    # reaches Python, and nothing is left half-done for the next operation.
    data = b"*3\r\n$3\r\nabc\r\n*2\r\n$2\r\nxy\r\n~1\r\n:5\r\n%2\r\n*1\r\n:1\r\n+v\r\n+k\r\n:2\r\n"
    p.fail_after(fail_at)
    try:
        with pytest.raises(MemoryError):
            p.parse(data)
    finally:
        p.fail_after(-1)
    assert p.parse(data)[0] == b"abc"


@pytest.fixture(scope="module")
def server():
    with RedisServer() as srv:
        yield srv


def connect(srv, **kw):
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s, p.Client(s, **kw)


def test_commands_and_pipeline(server):
    s, c = connect(server)
    assert c.command("SET", "k", b"v" * 20000) == b"OK"
    assert c.command("GET", "k") == b"v" * 20000
    assert c.command("DEL", "l") in (0, 1)
    assert c.command("RPUSH", "l", *[str(i) for i in range(1500)]) == 1500
    assert c.command("LRANGE", "l", 0, -1) == [str(i).encode() for i in range(1500)]
    assert c.pipeline([("SET", "a", 1), ("GET", "a"), ("INCR", "k")] * 3)[1] == b"1"
    with pytest.raises(p.RedisError):
        c.command("NOSUCHCOMMAND")
    assert c.command("PING") == b"PONG"  # an error reply leaves the link usable
    c.close()


def test_timeout_closes_the_link(server):
    s, c = connect(server, timeout_ms=200)
    t0 = time.monotonic()
    with pytest.raises(p.RedisTimeout):
        c.command("BLPOP", "nothing-here", 5)
    assert 0.15 < time.monotonic() - t0 < 2
    with pytest.raises(OSError):
        c.command("PING")  # closed, never reused


def test_server_closing_the_link(server):
    s, c = connect(server)
    c.command("CLIENT", "SETNAME", "victim")
    server.command("CLIENT", "KILL", "TYPE", "normal")
    with pytest.raises(OSError):
        c.command("PING")


def test_other_threads_run_while_one_waits(server):
    s, c = connect(server, timeout_ms=5000)
    ticks = []
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = len(ticks)
        assert c.command("BLPOP", "nothing-here", 1) is None  # 1 s in poll(), GIL released
        assert len(ticks) - before > 100
    finally:
        stop.set()
        t.join()
