# picoredis.asyncio on CPython and PyPy: README's "asyncio" client on the interpreter's own
# asyncio. The protocol work is the Rust core's, as on MicroPython: `encode` builds every
# request, `Reader` parses every reply; this file adds only the I/O and the waiting.
#
# The rules are picoredis/_async_common.py, the firmware's own file (linked here from
# mpy_module/python/picoredis/, frozen there): refused commands, options, connecting with
# backoff, the session, the reply timeout, commands, Pipeline, PubSub. This file adds
# this host's I/O and waiters, on asyncio's public API instead of MicroPython's asyncio
# internals (its tasks' run queue and `core.cur_task`, which the firmware's native _Mux
# and waiters park tasks on): what differs is how a command waits. Here a single
# command's waiter is an asyncio future (`_Reply`), awaited directly (no coroutine per
# command on the fast path) and, like the firmware's native waiter, also accepted by
# asyncio.create_task().
#
# One connection serves any number of tasks. Each command is encoded when it is called
# and queued; what the tasks queued during one loop turn goes out in one write, and
# replies are handed back in order, so concurrent tasks are pipelined without asking.
#
# The rules of the blocking client hold: a command that may have reached the server is
# never sent twice, and no command ever gets another one's reply. A task cancelled (or
# timed out by asyncio.wait_for) after its command was queued leaves its future queued,
# cancelled: its reply is still read, then dropped. A connection that fails (error, EOF,
# no reply within `timeout`) fails every command waiting on it; the next command
# reconnects, with capped exponential backoff and jitter between failed attempts.
#
# A reconnect never changes the session: until a new connection's handshake (HELLO, AUTH,
# CLIENT SETNAME, SELECT) and the application's on_connect are done, every command of
# every other task waits (in _ensure; the bound commands' fast path is off until then),
# so nothing runs on db 0 before the SELECT, or before on_connect has restored what the
# application needs. The commands on_connect itself issues (called in the task that
# connects, wherever they are then awaited) go out at once, after the handshake.
#
# A client belongs to the event loop it connected in; used from another one (a second
# asyncio.run()), it drops that connection, unused, and connects again.
import asyncio
import collections
import collections.abc
import errno
from asyncio import _get_running_loop
from time import monotonic

from . import _async_common as common
from ._async_common import Pipeline, _oserror, _wait_closed
from ._picoredis import Reader, RedisError, RedisTimeout, encode

__all__ = ["Redis", "Pipeline", "PubSub"]

_MORE = object()  # what Reader.gets() returns until a whole reply is buffered
_READ_SIZE = 65536  # the most one read takes (the blocking client's read buffer: 16 KB)


class _Reply(asyncio.Future):
    # One command's place in the pending queue and what its task awaits. `take` gets its
    # reply (returns True: the call is complete), `fail` the connection's end. Cancelled
    # (its task was), it stays queued and its reply is dropped.
    #
    # It is also a coroutine to asyncio (send/throw/close; registered below), so that
    # asyncio.create_task(r.get(k)) works as with a coroutine, and as the firmware's
    # native waiter does.
    __slots__ = ("_it",)
    n = 1  # replies it waits for (the watchdog: a pub/sub sink waits for none)

    def take(self, reply):
        if not self.done():
            if isinstance(reply, RedisError):
                self.set_exception(reply)
            else:
                self.set_result(reply)
        return True

    def fail(self, exc):
        if not self.done():
            self.set_exception(exc)

    def _iter(self):
        try:
            return self._it
        except AttributeError:
            it = self._it = self.__await__()
            return it

    def send(self, value):
        return self._iter().send(value)

    def throw(self, *exc):
        return self._iter().throw(*exc)

    def close(self):
        pass


collections.abc.Coroutine.register(_Reply)


class _Call:
    # A queued pipeline: its n replies, then its future finished with them (a list, or
    # EXEC's reply for a transaction).
    __slots__ = ("n", "out", "transaction", "future")

    def __init__(self, n, transaction, future):
        self.n = n  # replies still to come
        self.out = []
        self.transaction = transaction
        self.future = future

    def take(self, reply):
        self.out.append(reply)
        self.n -= 1
        if self.n:
            return False
        out, fut = self.out, self.future
        if fut.done():
            return True  # its task was cancelled: the replies are dropped
        if not self.transaction:
            fut.set_result(out)
            return True
        result = out[-1]
        if isinstance(result, RedisError):
            # EXECABORT: the error that made the server refuse the queue says more.
            first = [v for v in out if isinstance(v, RedisError)]
            fut.set_exception(first[0])
        else:
            fut.set_result(result)
        return True

    def fail(self, exc):
        if not self.future.done():
            self.future.set_exception(exc)


class _Sink:
    # The pub/sub connection's one open-ended call: every reply is a message.
    __slots__ = ("take", "fail")
    n = 0

    def __init__(self, deliver, lost):
        self.take = deliver  # returns False: never complete
        # The connection failed: wake get_message(), which reconnects.
        self.fail = lambda exc: lost()


class _Link(asyncio.Protocol):
    # The default connection, on asyncio's own transport (TCP, or TLS by the ssl module):
    # what arrives goes straight to the client's parser, from the transport's callback (no
    # read task); the client writes through `transport` (no writer task: with asyncio's
    # transports a write needs no drain to go out). What arrives before the client has
    # taken the link (a server's greeting error) waits for attach().

    def __init__(self, client):
        self.client = client
        self.transport = None
        self.early = []  # data before attach(), or None once attached
        self.gone = None  # the end of the connection, when it came before attach()

    def connection_made(self, transport):
        self.transport = transport

    def attach(self):
        early, self.early = self.early, None
        for data in early:
            self.data_received(data)
        if self.gone is not None:
            self.client._fail(self, self.gone)

    def data_received(self, data):
        if self.early is not None:
            self.early.append(data)
            return
        try:
            self.client._received(self, data, len(data))
        except Exception as e:
            self.client._fail(self, e)

    def eof_received(self):
        self._lost(_oserror(errno.ECONNRESET))

    def connection_lost(self, exc):
        self._lost(exc if isinstance(exc, Exception) else _oserror(errno.ECONNRESET))

    def _lost(self, exc):
        if self.early is not None:
            self.gone = self.gone or exc
        else:
            self.client._fail(self, exc)

    def close(self):
        if self.transport is not None:
            self.transport.close()


_closing = set()  # wait_closed() tasks, referenced until done


class Redis(common.Redis):
    __doc__ = common.Redis.__doc__

    def _init_io(self):
        self._loop = None  # the event loop of the connection
        # Futures and _Calls whose replies are due, in order (one deque for the client's
        # life: _received holds it).
        self._pending = collections.deque()
        self._out = bytearray()  # requests queued, not yet taken by the writer
        self._wake = None  # the future the writer task is parked on while _out is empty
        self._flushing = False  # a flush of _out through the link is scheduled
        self._last_io = monotonic()  # the link's last progress (the reply timeout)
        # Bound commands may queue directly: the session is complete and no health check
        # may be due. Set once the session is complete; cleared when the link fails.
        self._ready = False

    _current_task = staticmethod(asyncio.current_task)

    def _new_loop(self):
        # Called in another event loop than the connection's: the connection (if any) is
        # forgotten, unused (its loop is gone or elsewhere: its objects are not this
        # loop's to touch).
        self._loop = asyncio.get_running_loop()
        self._stream = self._session = self._wake = self._sink = None
        self._connecting = self._connector = None
        self._ready = False
        self._flushing = False
        self._out.clear()
        self._pending.clear()
        self._tasks = ()

    def _idle_ms(self):
        return (monotonic() - self._last_io) * 1000

    # ---- connection ---------------------------------------------------------------

    async def _open(self):
        if self.connection_factory is not None:
            opening = self.connection_factory()
        else:
            opening = _get_running_loop().create_connection(
                lambda: _Link(self), self.host, self.port, ssl=self.ssl)
        if self.timeout is not None:
            opening = asyncio.wait_for(opening, self.timeout / 1000)
        try:
            r, s = await opening
        except asyncio.TimeoutError:
            # (An OSError on 3.11+, not on 3.9: the same everywhere, and retried.)
            raise RedisTimeout("no connection within timeout") from None
        if isinstance(s, _Link):
            r, s = None, s  # (create_connection gave (transport, protocol))
        self._stream = s
        self._session = None
        self._reader = Reader(self.protocol, "utf-8" if self.decode else None,
                              notEnoughData=_MORE)
        self._out.clear()
        self._flushing = False
        self._last_io = monotonic()
        # (Nothing can be pending here: commands queue only on a live connection. Were
        # one left, it would take the handshake's reply: fail it instead.)
        pending = list(self._pending)
        self._pending.clear()
        for call in pending:
            call.fail(_oserror(errno.ECONNRESET))
        if r is None:
            # asyncio's own transport: the link hands the parser what arrives and writes
            # what is queued; only the watchdog is a task.
            self._tasks = (asyncio.ensure_future(self._watchdog(s)),)
            s.attach()
        else:
            self._tasks = (asyncio.ensure_future(self._read_loop(r, s)),
                           asyncio.ensure_future(self._watchdog(s)),
                           asyncio.ensure_future(self._writer(s)))
        if await self._start_session(s):
            self._ready = True  # bound commands queue directly from now on

    def _fail(self, s, exc):
        # The connection `s` is done: every command waiting on it fails with `exc`.
        if self._stream is not s:
            return
        self._stream = None
        self._session = None
        self._ready = False  # bound commands take _send
        self._out.clear()  # queued requests dropped
        self._wake = None
        self._flushing = False
        me = asyncio.current_task()
        for t in self._tasks:
            if t is not me:
                t.cancel()
        self._tasks = ()
        pending = list(self._pending)
        self._pending.clear()
        for call in pending:
            call.fail(exc)
        try:
            s.close()
        except Exception:
            pass
        if hasattr(s, "wait_closed"):
            t = asyncio.ensure_future(_wait_closed(s))
            _closing.add(t)
            t.add_done_callback(_closing.discard)

    # ---- reading and writing ------------------------------------------------------

    async def _read_loop(self, r, s):
        # A connection_factory's reader: awaited for data, which goes to _received.
        readinto = hasattr(r, "readinto")
        buf = bytearray(_READ_SIZE) if readinto else None
        try:
            while True:
                if readinto:
                    n = await r.readinto(buf)
                    data = buf
                else:
                    data = await r.read(_READ_SIZE)
                    n = len(data) if data else 0
                if not n:
                    raise _oserror(errno.ECONNRESET)  # the server closed the connection
                self._received(s, data, n)
        except asyncio.CancelledError:
            pass
        except Exception as e:
            self._fail(s, e)

    def _received(self, s, data, n):
        # Bytes from the connection `s`: every whole reply goes to the call at the front.
        # Raises when the link cannot be trusted any more (the caller fails it).
        if self._stream is not s:
            return
        self._last_io = monotonic()
        reader = self._reader
        pending = self._pending
        push = self.protocol == 3
        reader.feed(data, 0, n)
        while True:
            reply = reader.gets()
            if reply is _MORE:
                return
            if push and reader.is_push() and not (pending and pending[0] is self._sink):
                # Out of band (client-side caching invalidations): not a reply.
                continue
            if not pending:
                # Bytes no command asked for: the link cannot be trusted.
                raise RedisError("ERR", "unsolicited data from the server")
            if pending[0].take(reply):
                pending.popleft()

    async def _writer(self, s):
        # Parked on a future until a command is queued (which wakes it: it runs later in
        # the same loop turn), then one write for everything queued meanwhile.
        out = self._out
        try:
            while True:
                if not out:
                    self._wake = self._loop.create_future()
                    await self._wake
                    continue
                data = bytes(out)
                out.clear()
                s.write(data)
                await s.drain()
                self._last_io = monotonic()
        except asyncio.CancelledError:
            pass
        except Exception as e:
            self._fail(s, e)

    def _queue(self, data, call):
        # Queues whole requests and the call that takes their replies (None: replies go
        # to the call already pending, a pub/sub sink). What is queued during one loop
        # turn goes out in one write: by the link's flush (a callback) or the writer task.
        s = self._stream
        if s is None:
            # The link failed before this was queued (between a connect and its
            # handshake): nothing will answer.
            if call is not None:
                call.fail(_oserror(errno.ENOTCONN))
            return
        idle = not self._pending
        if idle:
            self._last_io = monotonic()  # the reply timeout counts from here
        if call is not None:
            self._pending.append(call)
        if type(s) is _Link:
            if not self._flushing:
                if idle and call is not None:
                    # Nothing in flight: waiting for the loop's next turn would only add
                    # one (and a poll) to this command's round trip. What follows in this
                    # turn goes out together, as below.
                    s.transport.write(data)
                    return
                self._flushing = True
                self._loop.call_soon(self._flush, s)
            self._out += data
            return
        self._out += data
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)

    def _flush(self, s):
        self._flushing = False
        out = self._out
        if self._stream is s and out:
            data = bytes(out)
            out.clear()
            try:
                s.transport.write(data)
            except Exception as e:
                self._fail(s, e)
                return
            self._last_io = monotonic()

    def _call(self, args, data=None):
        # Queued now (connected or not: the caller knows); awaited by the caller.
        if data is None:
            data = encode(*args)
        fut = _Reply(loop=self._loop)
        self._queue(data, fut)
        return fut

    def _queue_pipeline(self, data, n, transaction):
        fut = self._loop.create_future()
        self._queue(data, _Call(n, transaction, fut))
        return fut

    def _open_sink(self, deliver, lost):
        sink = _Sink(deliver, lost)
        self._sink = sink
        self._queue(b"", sink)

    # ---- commands -----------------------------------------------------------------

    def _bind_command(self, name, slow):
        def cmd(*args):
            # The fast path: connected, the session complete, in the connection's loop:
            # encoded and queued now, its future returned. Else the slow path.
            if self._ready and _get_running_loop() is self._loop:
                data = encode(name, *args)
                fut = _Reply(loop=self._loop)
                self._queue(data, fut)
                return fut
            return slow(*args)
        return cmd

    def pubsub(self):
        return PubSub(self)


class PubSub(common.PubSub):
    __doc__ = common.PubSub.__doc__
    _Redis = Redis
    _Queue = collections.deque
