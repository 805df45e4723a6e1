# What only the CPython/PyPy picoredis.asyncio has to get right (the shared files
# tests/unix/test_async*.py test the client's rules on both hosts): a command's future is
# awaitable and also a coroutine to asyncio.create_task, as the firmware's native waiter
# is; commands are queued when called (their order is the calls' order); a client used
# from a second event loop reconnects; asyncio's own streams (no readinto) through
# connection_factory; TLS through the ssl module; nothing left for asyncio to complain
# about (unretrieved exceptions, pending tasks); the stubs.
import asyncio
import gc
import os
import platform
import ssl

import pytest

import picoredis
import picoredis.asyncio as pa
from picoredis import RedisError, RedisTimeout

CPYTHON = platform.python_implementation() == "CPython"


def run(coro):
    # asyncio.run, failing on anything the loop's exception handler is given (a future's
    # exception never retrieved, a task destroyed while pending, a callback raising).
    complaints = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, ctx: complaints.append(ctx.get("message")))
        try:
            return await coro
        finally:
            gc.collect()
    out = asyncio.run(main())
    gc.collect()
    assert complaints == []
    return out


def test_a_command_is_a_future_and_a_coroutine(redis_port):
    async def main():
        r = pa.Redis(port=redis_port)
        await r.set("k", "v")  # connects: the fast path from here on
        fut = r.get("k")
        assert isinstance(fut, asyncio.Future)
        assert await fut == b"v"
        task = asyncio.create_task(r.get("k"))  # as with a coroutine
        assert await task == b"v"
        assert await asyncio.ensure_future(r.echo("e")) == b"e"
        assert await asyncio.gather(r.get("k"), r("GET", "k"), r.do_cmd("GET", "k")) == \
            [b"v"] * 3
        assert await asyncio.wait_for(r.get("k"), 1) == b"v"
        with pytest.raises(RedisError):
            await r.lpush("k", "x")  # WRONGTYPE: the server's error, raised
        with pytest.raises(RedisError):
            await asyncio.create_task(r.lpush("k", "x"))
        await r.close()
    run(main())


def test_commands_go_out_in_the_order_they_are_called(redis_port):
    # Queued when called, not when first awaited: awaited in reverse, the SET still ran
    # before the GET.
    async def main():
        r = pa.Redis(port=redis_port)
        await r.ping()
        a = r.set("order", "1")
        b = r.get("order")
        c = r.incr("order")
        assert await c == 2
        assert await b == b"1"
        assert await a == b"OK"
        await r.close()
    run(main())


def test_a_task_cancelled_before_its_reply_never_desyncs(redis_port):
    async def main():
        r = pa.Redis(port=redis_port)
        await r.ping()
        slow = asyncio.create_task(r("DEBUG", "SLEEP", 0.05))
        fut = r.echo("dropped")
        await asyncio.sleep(0.01)
        slow.cancel()
        fut.cancel()
        assert await asyncio.gather(*[r.echo(str(i)) for i in range(20)]) == \
            [str(i).encode() for i in range(20)]
        await r.close()
    run(main())


def test_a_second_event_loop_reconnects(redis_port):
    r = pa.Redis(port=redis_port, client_name="two-loops")

    async def client_id():
        return await r.client("ID")
    first = run(client_id())
    second = run(client_id())  # the first loop is gone: a new connection
    assert first != second
    assert run(r.ping()) == b"PONG"  # a bound command made outside the loop
    run(r.close())


def test_reply_timeout_fails_the_link_and_the_next_command_reconnects(redis_port):
    async def main():
        r = pa.Redis(port=redis_port, timeout=100)
        first = await r.client("ID")
        with pytest.raises(RedisTimeout):
            await r("DEBUG", "SLEEP", 0.3)
        await asyncio.sleep(0.3)  # (the server sleeps: every client waits)
        assert await r.client("ID") != first
        await r.close()
    run(main())


def test_close_fails_what_waits_with_an_oserror(redis_port):
    async def main():
        r = pa.Redis(port=redis_port)
        await r.ping()
        slow = r("DEBUG", "SLEEP", 0.2)
        task = asyncio.ensure_future(slow)
        await asyncio.sleep(0.02)
        await r.close()
        with pytest.raises(OSError) as e:
            await task
        assert isinstance(e.value, OSError) and e.value.errno is not None
        assert await r.ping() == b"PONG"  # reconnects
        await r.close()
    run(main())


def test_connection_factory_with_asyncio_streams(redis_port):
    # asyncio's StreamReader has read(n), no readinto: the read path the factory's
    # contract allows. A kill makes the client call the factory again.
    async def main():
        opened = []

        async def factory():
            opened.append(1)
            return await asyncio.open_connection("127.0.0.1", redis_port)
        r = pa.Redis("unused.invalid", 1, connection_factory=factory)
        other = pa.Redis(port=redis_port)
        big = os.urandom(200000)
        assert await r.set("big", big) == b"OK"
        assert await r.get("big") == big
        await other.client("KILL", "ID", str(await r.client("ID")))
        try:
            await r.ping()
        except OSError:
            pass  # it may have been sent on the dead link: not resent
        assert await r.ping() == b"PONG"
        assert len(opened) == 2
        await r.close()
        await other.close()
    run(main())


def test_tls_through_the_ssl_module(servers):
    _, env = servers
    port = int(env["PICOREDIS_TLS_PORT"])
    ctx = ssl.create_default_context(cafile=env["PICOREDIS_TLS_CA"])

    async def main():
        r = pa.Redis("127.0.0.1", port, ssl_context=ctx)
        big = b"\x00\xff" * 50000
        assert await r.set("tls:big", big) == b"OK"
        assert await asyncio.gather(*[r.get("tls:big") for _ in range(5)]) == [big] * 5
        ps = r.pubsub()  # the client's context too
        await ps.subscribe("tls:ch")
        assert (await ps.get_message(1000))["type"] == "subscribe"
        await ps.close()
        await r.close()
    run(main())


def test_pipeline_cancelled_then_more_commands(redis_port):
    async def main():
        r = pa.Redis(port=redis_port)
        p = r.pipeline(transaction=True)
        p("DEBUG", "SLEEP", 0.05).incr("pc")
        task = asyncio.ensure_future(p.execute())
        await asyncio.sleep(0.01)
        task.cancel()
        assert await r.pipeline().incr("pc").get("pc").execute() == [2, b"2"]
        await r.close()
    run(main())


@pytest.mark.skipif(not CPYTHON, reason="object counts are CPython's")
def test_no_objects_left_behind(redis_port):
    # Many commands, cancellations and a failed link: the objects in the heap afterwards
    # do not grow with the rounds.
    async def rounds(r, n):
        for _ in range(n):
            await asyncio.gather(*[r.incr("n") for _ in range(50)])
            t = asyncio.ensure_future(r("DEBUG", "SLEEP", 0.001))
            await asyncio.sleep(0)
            t.cancel()
            await r.pipeline().get("n").execute()

    async def main():
        r = pa.Redis(port=redis_port)
        await rounds(r, 20)
        gc.collect()
        n0 = len(gc.get_objects())
        await rounds(r, 200)
        gc.collect()
        grown = len(gc.get_objects()) - n0
        await r.close()
        return grown
    assert run(main()) < 100


def test_stubs_describe_the_module():
    # The stub is the firmware's (mpy_module/stubs/picoredis/asyncio.pyi, linked), and it
    # names what the module has.
    import ast
    here = os.path.dirname(picoredis.__file__)
    with open(os.path.join(here, "asyncio.pyi")) as f:
        stub = ast.parse(f.read())
    described = {n.name for n in stub.body if isinstance(n, ast.ClassDef)}
    assert {"Redis", "Pipeline", "PubSub"} <= described
    for name in ("Redis", "Pipeline", "PubSub"):
        methods = {n.name for c in stub.body if isinstance(c, ast.ClassDef) and c.name == name
                   for n in c.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        missing = {m for m in methods if not hasattr(getattr(pa, name), m)}
        assert not missing, (name, missing)


def test_a_server_that_answers_and_hangs_up_at_once():
    # As redis-server does past maxclients: an error, then the connection closed, maybe
    # before the client has taken it. The command fails (no reply timeout here: it must
    # not wait for one) and the client is not left waiting on a dead link.
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]

    def serve():
        for _ in range(8):
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.sendall(b"-ERR max number of clients reached\r\n")
            c.close()
    threading.Thread(target=serve, daemon=True).start()

    async def main(late):
        if late:
            # The client takes the link only once the error and the close have come
            # (they are then handed over together): the other order.
            loop = asyncio.get_running_loop()
            connect = loop.create_connection

            async def slow(*args, **kw):
                made = await connect(*args, **kw)
                await asyncio.sleep(0.2)
                return made
            loop.create_connection = slow
        r = pa.Redis("127.0.0.1", port, timeout=None, retries=0, db=1)  # (a handshake)
        for _ in range(2):
            try:
                await asyncio.wait_for(r.ping(), 2)
            except asyncio.TimeoutError:  # (an OSError on 3.11+: caught first)
                pytest.fail("waited on a dead link")
            except (OSError, RedisError):
                pass
    try:
        run(main(False))
        run(main(True))
    finally:
        srv.close()
