# What only the CPython/PyPy host has to get right (the shared files test the client):
# references under the operation pool, the objects a client keeps between calls
# (hold.rs), the GIL released while a command waits, threads taking turns, errors
# classified as MicroPython classifies them (an errno's OSError subclass is an OSError;
# a socket timeout is ETIMEDOUT), an object creation failing part-way (MemoryError),
# redis-py's execute_command name.
import errno
import gc
import platform
import socket
import sys
import threading
import time

import pytest

import picoredis
from picoredis import Redis, RedisError

CPYTHON = platform.python_implementation() == "CPython"


def test_call_styles_and_errors(redis_port):
    r = Redis(port=redis_port)
    assert r.execute_command("SET", "k", "v") == b"OK"
    assert r("GET", "k") == r.do_cmd("GET", "k") == r.get("k") == b"v"
    with pytest.raises(RedisError) as e:
        r.bogus()
    assert e.value.args[0] == "ERR"
    with pytest.raises(AttributeError):
        r.not_a_command
    with pytest.raises(TypeError):
        r.set("k", None)
    assert r.ping() == b"PONG"


def test_transaction(redis_port):
    r = Redis(port=redis_port)
    with r.pipeline(transaction=True) as p:
        assert p.set("t", 1).incr("t").get("t") is p
        assert p.execute() == [b"OK", 2, b"2"]
    p = r.pipeline(transaction=True)
    p.set("t", 1).lpush("t", "x")
    assert isinstance(p.execute()[1], RedisError)


@pytest.mark.skipif(not CPYTHON, reason="reference counts are CPython's")
def test_no_reference_leaks(redis_port):
    r = Redis(port=redis_port)
    r.rpush("l", *range(100))
    key = "password-like"

    def round_():
        r.lrange("l", 0, -1)
        r.pipeline().get("l").lrange("l", 0, 9).execute()
        r.client("SETNAME", key)
        try:
            r.bogus()
        except RedisError:
            pass

    for _ in range(20):
        round_()
    gc.collect()
    before = sys.gettotalrefcount() if hasattr(sys, "gettotalrefcount") else None
    n0 = len(gc.get_objects())
    c0 = sys.getrefcount(key)
    for _ in range(200):
        round_()
    gc.collect()
    assert len(gc.get_objects()) - n0 < 20
    assert sys.getrefcount(key) - c0 <= 1  # the client keeps its name: one reference
    del before


def test_client_keeps_what_it_stores(redis_port):
    # The name CLIENT SETNAME set is re-applied on reconnect: the client must keep the
    # object alive although the caller dropped it (hold.rs).
    r = Redis(port=redis_port)
    r.client("SETNAME", "".join(["kept-", "name"]))
    gc.collect()
    r.close()
    assert r.client("GETNAME") == b"kept-name"


def test_gil_released_while_waiting(redis_port):
    r = Redis(port=redis_port)
    counted = []
    stop = threading.Event()

    def count():
        n = 0
        while not stop.is_set():
            n += 1
            time.sleep(0.001)
        counted.append(n)

    t = threading.Thread(target=count)
    t.start()
    assert r.blpop("nothing", 1) is None
    stop.set()
    t.join()
    assert counted[0] > 100


def test_threads_share_a_client(redis_port):
    r = Redis(port=redis_port)
    errors = []

    def work(i):
        try:
            for j in range(200):
                key = "t%d:%d" % (i, j)
                r.set(key, key)
                assert r.get(key) == key.encode()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []


def test_memory_error_part_way_closes_cleanly(redis_port):
    r = Redis(port=redis_port)
    r.rpush("m", *range(13))
    for n in range(14):
        picoredis._picoredis._fail_after(n)
        try:
            v = r.lrange("m", 0, -1)
        except MemoryError:
            v = None
        finally:
            picoredis._picoredis._fail_after(-1)
        # The link is never reused after an aborted reply: the next command is answered
        # on a fresh connection, with its own reply.
        assert r.lrange("m", 0, -1) == [str(i).encode() for i in range(13)]
        assert v is None or len(v) == 13


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_errno_subclasses_are_retried():
    # CPython raises ConnectionRefusedError, not OSError itself: still an OSError, so the
    # connect is retried with its backoff (three waits of 0..200 ms: 30 ms or more but for
    # a chance of about 1 in 2000), not given up at once.
    t0 = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        Redis(port=closed_port(), retries=3, backoff_base=200, backoff_cap=200)
    assert time.monotonic() - t0 >= 0.03


def test_socket_timeout_is_etimedout():
    # A connect that times out is OSError(ETIMEDOUT) on every interpreter (PyPy 3.9's
    # socket.timeout has no errno of its own).
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fillers = []
    try:
        for _ in range(3):
            c = socket.socket()
            c.settimeout(0.2)
            try:
                c.connect(srv.getsockname())
            except OSError:
                pass
            fillers.append(c)
        with pytest.raises(OSError) as e:
            Redis(port=srv.getsockname()[1], connect_timeout=100, retries=0)
        assert e.value.errno == errno.ETIMEDOUT
    finally:
        for c in fillers + [srv]:
            c.close()


def test_pubsub_keeps_its_subscriptions_without_leaks(redis_port):
    # The subscription lists live in the PubSub's block (hold.rs keeps them, and the
    # names, after the caller dropped its own); replaced lists are let go.
    r = Redis(port=redis_port)
    ps = r.pubsub()
    ps.subscribe("".join(["ch-", "kept"]))
    assert ps.get_message(timeout=1000)["channel"] == b"ch-kept"
    gc.collect()

    def round_():
        ps.subscribe("a", "b")
        ps.unsubscribe("a", "b")
        for _ in range(4):  # the four confirmations
            assert ps.get_message(timeout=1000)["channel"] in (b"a", b"b")

    for _ in range(20):
        round_()
    gc.collect()
    n0 = len(gc.get_objects())
    for _ in range(200):
        round_()
    gc.collect()
    if CPYTHON:  # (PyPy's gc.get_objects lists what its GC tracks: not comparable)
        assert len(gc.get_objects()) - n0 < 20
    r.client("KILL", "TYPE", "pubsub")
    m = ps.get_message(timeout=1000)  # reconnects, renews the subscription
    assert (m["type"], m["channel"]) == ("subscribe", b"ch-kept")
    r.publish("ch-kept", "after")
    assert ps.get_message(timeout=1000)["data"] == b"after"
    ps.close()


def test_reader_keeps_its_buffer_between_calls():
    # The Reader's buffer is a bytes object of the host's, which its block stores (kept
    # by hold.rs across calls); fed a byte at a time it grows by doubling, not by a copy
    # per byte.
    reader = picoredis.Reader()
    reply = b"$100000\r\n" + b"x" * 100000 + b"\r\n"
    t0 = time.monotonic()
    for i in range(len(reply)):
        reader.feed(reply, i, 1)
    gc.collect()
    assert reader.gets() == b"x" * 100000
    assert reader.gets() is False
    assert time.monotonic() - t0 < 10
    if CPYTHON:
        n0 = len(gc.get_objects())
        for _ in range(200):
            reader.feed(b"*2\r\n$1\r\na\r\n:1\r\n")
            assert reader.gets() == [b"a", 1]
        gc.collect()
        assert len(gc.get_objects()) - n0 < 20


def test_wheel_ships_type_stubs():
    # py.typed and the stubs are installed with the package, and the stubs name exactly
    # what the package exports (each one described in the shared stub file).
    import ast
    import os
    here = os.path.dirname(picoredis.__file__)
    assert os.path.exists(os.path.join(here, "py.typed"))
    with open(os.path.join(here, "__init__.pyi")) as f:
        stub = ast.parse(f.read())
    exported = [n.asname for node in stub.body if isinstance(node, ast.ImportFrom)
                for n in node.names]
    aliases = {"Arg", "Reply"}  # type aliases (the shared asyncio stub's), no runtime names
    assert sorted(set(exported) - aliases) == sorted(picoredis.__all__)
    with open(os.path.join(here, "_picoredis.pyi")) as f:
        shared = ast.parse(f.read())
    described = {node.name for node in shared.body
                 if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    assert set(picoredis.__all__) <= described


def test_client_keeps_what_a_large_operation_stored(redis_port):
    # An operation that makes many objects (hold.rs' bit-set path: a reply of 200) and
    # stores one of them in the client (the name SETNAME set, re-applied on reconnect).
    r = Redis(port=redis_port)
    r.rpush("big", *range(200))
    p = r.pipeline()
    p.lrange("big", 0, -1).client("SETNAME", "".join(["many-", "kept"]))
    assert p.execute()[1] == b"OK"
    gc.collect()
    r.close()
    assert r.client("GETNAME") == b"many-kept"


def test_keyslot_on_redis(redis_port):
    # The stubs give Redis the cluster part's keyslot(): the core's slots.rs here too.
    r = Redis(port=redis_port)
    assert r.keyslot("foo") == r.keyslot(b"foo") == 12182
    assert r.keyslot("{user1000}.following") == r.keyslot("{user1000}.followers")
    with pytest.raises(TypeError):
        r.keyslot(None)


# ---- the Python-side pipeline (python/picoredis/_pipeline.py) ----------------------------
# Redis.pipeline() queues in Python (a call into the extension per command costs
# microseconds through PyPy's cpyext) and hands the flat queue to the extension's
# Pipeline._run once; these check that it keeps the Pipeline contract.


def test_pipeline_queue_in_python(redis_port):
    r = Redis(port=redis_port)
    p = r.pipeline()
    assert isinstance(p, picoredis.Pipeline)
    assert p and len(p) == 0 and p.execute() == []
    assert p.set("a", 1).incr("a") is p
    assert p("GET", "a") is p and p.get("a") is p
    assert len(p) == 4
    g = p.get  # a bound command kept by the caller queues into its own pipeline
    other = r.pipeline()
    other.get("a")
    assert g("nothing") is p and len(p) == 5 and len(other) == 1
    assert p.execute() == [b"OK", 2, b"2", b"2", None]
    assert len(p) == 0 and other.execute() == [b"2"]
    p.set("a", 5).reset()
    assert len(p) == 0 and p.execute() == [] and r.get("a") == b"2"
    with r.pipeline() as p2:
        p2.incr("a")
    assert len(p2) == 0 and r.get("a") == b"2"  # exiting empties the queue, sends nothing
    with pytest.raises(TypeError):
        p()
    for name in ("_queue_x", "not_a_command", "g\u00e9t", "__deepcopy__"):
        with pytest.raises(AttributeError):
            getattr(p, name)
    assert len(p) == 0


def test_pipeline_argument_error_sends_nothing_and_stays_usable(redis_port):
    r = Redis(port=redis_port)
    for transaction in (False, True):
        p = r.pipeline(transaction=transaction)
        p.set("x", 1).set("y", None)
        with pytest.raises(TypeError):
            p.execute()
        assert len(p) == 0 and r.get("x") is None  # nothing sent
        p.set("x", 1).lpush("x", "v").get("x")
        replies = p.execute()
        assert replies[0] == b"OK" and replies[2] == b"1"
        assert isinstance(replies[1], RedisError)  # a server error in place
        r("DEL", "x")
    p = r.pipeline(transaction=True)
    assert p.set("t", 1).incr("t").execute() == [b"OK", 2]


def test_pipeline_run_refuses_a_malformed_queue(redis_port):
    # _run is the extension's entry for the Python pipeline: a queue not in the core's
    # flat shape (a count that is not a positive int, or more than what follows) raises
    # with nothing sent.
    r = Redis(port=redis_port)
    core = r.pipeline()._core
    for queue in ([3, "set", "m"], [0], ["set", "m", 1], [2, "set", "m", 1],
                  [3, "set", "m", 1, -1], [True, "ping"], [1.0, "ping"]):
        with pytest.raises((ValueError, TypeError)):
            core._run(queue)
    assert core._run([3, "set", "m", 1, 2, "get", "m"]) == [b"OK", b"1"]
    assert core._run([]) == []


def test_pipeline_threads_queue_while_another_executes(redis_port):
    # Commands queued from threads while another thread runs execute(): each is sent
    # exactly once (in that execute() or a later one), none twice, none lost.
    r = Redis(port=redis_port)
    p = r.pipeline()
    per_thread, nthreads = 3000, 3
    done = threading.Event()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def queue():
        for _ in range(per_thread):
            p.incr("n")

    def execute():
        while not done.is_set():
            p.execute()

    try:
        runner = threading.Thread(target=execute)
        runner.start()
        threads = [threading.Thread(target=queue) for _ in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        runner.join()
    finally:
        sys.setswitchinterval(old)
    p.execute()
    assert r.get("n") == str(per_thread * nthreads).encode()
