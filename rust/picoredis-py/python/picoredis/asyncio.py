# picoredis.asyncio on CPython and PyPy: README's "asyncio" client on the interpreter's own
# asyncio. The protocol work is the Rust core's, as on MicroPython: `encode` builds every
# request, `Reader` parses every reply; this file adds only the I/O and the waiting.
#
# It is the MicroPython module's mpy_module/python/picoredis/asyncio.py (frozen there)
# with the same structure, names and rules, on asyncio's public API instead of
# MicroPython's asyncio internals (its tasks' run queue and `core.cur_task`, which the
# firmware's native _Mux and waiters park tasks on): what differs is how a command waits.
# Here a single command's waiter is an asyncio future (`_Reply`), awaited directly (no
# coroutine per command on the fast path) and, like the firmware's native waiter, also
# accepted by asyncio.create_task(). Keep the two files' rules in step.
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
import os
from asyncio import _get_running_loop
from random import getrandbits
from time import monotonic

from ._picoredis import Reader, RedisError, RedisTimeout, encode

__all__ = ["Redis", "Pipeline", "PubSub"]

_MORE = object()  # what Reader.gets() returns until a whole reply is buffered
_READ_SIZE = 65536  # the most one read takes (the blocking client's read buffer: 16 KB)

# Commands that would turn the shared connection into something else for every task.
_REFUSED = {
    b"SUBSCRIBE": "use pubsub()",
    b"PSUBSCRIBE": "use pubsub()",
    b"SSUBSCRIBE": "use pubsub()",
    b"MONITOR": "it needs a connection of its own",
    b"MULTI": "the connection is shared: use pipeline(transaction=True)",
    b"EXEC": "the connection is shared: use pipeline(transaction=True)",
    b"DISCARD": "the connection is shared: use pipeline(transaction=True)",
    b"WATCH": "the connection is shared: use pipeline(transaction=True)",
    b"UNWATCH": "the connection is shared: use pipeline(transaction=True)",
    # The session is the constructor's, restored on every reconnect: changed here it
    # would change under every task, and be lost with the connection.
    b"SELECT": "give db= to the constructor",
    b"HELLO": "give protocol= to the constructor",
    b"AUTH": "give username=/password= to the constructor",
    b"RESET": "the connection is shared",
}


def _refusal(args, where):
    name = _name(args)
    why = _REFUSED.get(name)
    if why is None and name == b"CLIENT" and len(args) > 1 and _name(args[1:]) == b"SETNAME":
        why = "give client_name= to the constructor"
    if why is not None:
        return RedisError("ERR", "%s %s: %s" % (name.decode(), where, why))
    return None


def _name(args):
    a = args[0]
    return (a.encode() if isinstance(a, str) else bytes(a)).upper()


def _is_command(name):
    # Attribute names that become commands: ASCII letters and digits, as on Redis.
    for ch in name:
        if not ("a" <= ch <= "z" or "A" <= ch <= "Z" or "0" <= ch <= "9"):
            return False
    return bool(name)


def _oserror(code):
    # (errno, strerror), as the blocking client raises them here: CPython makes it the
    # errno's subclass (ConnectionResetError, ...).
    return OSError(code, os.strerror(code))


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
        self.take = deliver  # returns None: never complete
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


async def _wait_closed(w):
    try:
        await w.wait_closed()
    except Exception:
        pass


class Redis:
    """Redis(host='127.0.0.1', port=6379, timeout=3000, *, username=None, password=None,
    db=0, client_name=None, protocol=2, decode_responses=False, ssl=False,
    ssl_context=None, retries=3, backoff_base=50, backoff_cap=2000,
    health_check_interval=None, on_connect=None, connection_factory=None). Times in ms.

    connection_factory: an async callable returning (reader, writer), used instead of
    asyncio.open_connection(host, port) for every (re)connect: reader.readinto(buf) (or
    reader.read(n)) awaited for data, b''/0 at EOF; writer.write(data), await
    writer.drain(), writer.close() (and writer.wait_closed() if it has one)."""

    def __init__(self, host="127.0.0.1", port=6379, timeout=3000, *, username=None,
                 password=None, db=0, client_name=None, protocol=2,
                 decode_responses=False, ssl=False, ssl_context=None, retries=3,
                 backoff_base=50, backoff_cap=2000, health_check_interval=None,
                 on_connect=None, server=None, connection_factory=None):
        if protocol not in (2, 3):
            raise ValueError("protocol must be 2 or 3")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout: int ms > 0, or None")
        if not 0 <= port <= 65535:
            raise ValueError("port must be 0-65535")
        self._commands = {}  # name -> bound command (r.get, r.set, ...)
        self.host = server or host
        self.port = port
        self.timeout = timeout
        self.username = username
        self.password = password
        self.db = db
        self.client_name = client_name
        self.protocol = protocol
        self.decode = decode_responses
        self.ssl = ssl_context or (True if ssl else None)
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.health_check_interval = health_check_interval
        self.on_connect = on_connect
        self.connection_factory = connection_factory
        self._loop = None  # the event loop of the connection
        self._stream = None  # the writer of the open connection
        self._sink = None  # the pub/sub sink on a PubSub's connection
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
        self._tasks = ()
        self._connecting = None  # an Event while a (re)connect is under way
        self._connector = None  # the task running it (on_connect runs in it)
        # The stream whose session is complete (handshake and on_connect done): until
        # then, commands wait in _ensure.
        self._session = None

    # ---- connection ---------------------------------------------------------------

    def connect(self):
        """Connects now (commands also connect on demand)."""
        return self._ensure(self._owner())

    def _owner(self):
        # The connect under way (its Event) when the command being issued now comes from
        # its on_connect, i.e. is called in the connecting task; else None. Taken when
        # the command is called, not when it runs: on_connect may await it in a task of
        # its own (asyncio.gather, wait_for).
        if self._connector is not None and self._connector is asyncio.current_task():
            return self._connecting
        return None

    def _same_loop(self):
        # The connection (if any) is this event loop's: else it is forgotten, unused
        # (its loop is gone or elsewhere: its objects are not this loop's to touch).
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._loop = loop
        self._stream = self._session = self._wake = self._sink = None
        self._connecting = self._connector = None
        self._ready = False
        self._flushing = False
        self._out.clear()
        self._pending.clear()
        self._tasks = ()

    async def _ensure(self, own=None):
        # Returns once commands may be queued (the caller queues them at once, with no
        # await in between): the session is complete, or `own` is the connect under way
        # (a command of its on_connect, which goes out after the handshake; waiting for
        # the connect it is part of would never end).
        self._same_loop()
        while True:
            while self._session is None:
                if self._connecting is not None:
                    if own is self._connecting:
                        if self._stream is None:
                            raise _oserror(errno.ECONNRESET)  # lost during on_connect
                        return
                    await self._connecting.wait()
                    continue
                self._connecting = asyncio.Event()
                self._connector = asyncio.current_task()
                try:
                    await self._connect_with_backoff()
                finally:
                    ev, self._connecting, self._connector = self._connecting, None, None
                    ev.set()
            if (self.health_check_interval is None or self._pending
                    or self._idle_ms() <= self.health_check_interval):
                return
            # Idle long enough that the link may have died silently: a PING (safe to
            # send on a new link too) checks it before the command goes out.
            try:
                await self._call((b"PING",))
                return
            except (OSError, RedisTimeout):
                pass  # _fail() closed it: reconnect

    def _idle_ms(self):
        return (monotonic() - self._last_io) * 1000

    def backoff_ms(self, attempt):
        """The wait before reconnect attempt `attempt` (1, 2, ...): capped exponential,
        with full jitter (a random share of it), so clients do not reconnect in step."""
        top = min(self.backoff_cap, self.backoff_base << min(attempt, 16))
        return getrandbits(16) % (top + 1)

    async def _connect_with_backoff(self):
        attempt = 0
        while True:
            try:
                await self._open()
                return
            except (OSError, RedisTimeout) as e:
                attempt += 1
                if attempt > self.retries:
                    raise e
                await asyncio.sleep(self.backoff_ms(attempt) / 1000)

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
        try:
            for args in self._handshake():
                await self._call(args)
            if self.on_connect is not None:
                if self._stream is not s:
                    raise _oserror(errno.ECONNRESET)  # lost before on_connect could run
                await self.on_connect(self)
            if self._stream is not s:
                raise _oserror(errno.ECONNRESET)  # lost meanwhile: this attempt failed
        except BaseException as e:
            # (Cancelled too: a half-made connection is never left behind.)
            self._fail(s, e if isinstance(e, Exception) else _oserror(errno.ECONNRESET))
            raise
        # The session is complete: other tasks' commands may go out now.
        self._session = s
        if self.health_check_interval is None:
            self._ready = True  # bound commands queue directly from now on

    def _handshake(self):
        if self.protocol == 3:
            hello = [b"HELLO", 3]
            if self.password is not None:
                hello += [b"AUTH", self.username or b"default", self.password]
            if self.client_name is not None:
                hello += [b"SETNAME", self.client_name]
            yield hello
        else:
            if self.password is not None:
                yield ([b"AUTH", self.username, self.password] if self.username
                       else [b"AUTH", self.password])
            if self.client_name is not None:
                yield [b"CLIENT", b"SETNAME", self.client_name]
        if self.db:
            yield [b"SELECT", self.db]

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

    async def close(self):
        """Closes the connection; commands still waiting fail with OSError."""
        s = self._stream
        if s is not None and self._loop is _get_running_loop():
            self._fail(s, _oserror(errno.ENOTCONN))

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

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

    async def _watchdog(self, s):
        # A reply that does not come within `timeout` fails the connection.
        if self.timeout is None:
            return
        tick = max(10, min(self.timeout // 4, 250)) / 1000
        pending = self._pending
        try:
            while self._stream is s:
                await asyncio.sleep(tick)
                # (A pub/sub sink, n == 0, waits for messages, not for a reply.)
                due = pending and pending[0].n > 0
                if due and self._idle_ms() > self.timeout:
                    self._fail(s, RedisTimeout("no reply from server within timeout"))
                    return
        except asyncio.CancelledError:
            pass

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

    def _call(self, args):
        # Queued now (connected or not: the caller knows); awaited by the caller.
        data = encode(*args)
        fut = _Reply(loop=self._loop)
        self._queue(data, fut)
        return fut

    # ---- commands -----------------------------------------------------------------

    def do_cmd(self, *args):
        """Sends one command and returns its reply (a server error raises RedisError)."""
        return self._do_cmd(args, self._owner())

    async def _do_cmd(self, args, own):
        if not args:
            raise TypeError("a command needs at least its name")
        refused = _refusal(args, "on a shared connection")
        if refused is not None:
            raise refused
        return await self._send(args, own)

    async def _send(self, args, own=None):
        # The slow path: connects (or checks the link) first; waits while a connect's
        # handshake or on_connect runs, unless on_connect issued it (`own`). A bad
        # argument raises before anything is queued.
        data = encode(*args)
        if (self._session is None or self.health_check_interval is not None
                or self._loop is not _get_running_loop()):
            await self._ensure(own)
        fut = _Reply(loop=self._loop)
        self._queue(data, fut)
        return await fut

    def __call__(self, *args):
        return self.do_cmd(*args)

    def __getattr__(self, name):
        # r.<name>: a bound command, made once per name and kept (checked once too).
        try:
            commands = self.__dict__["_commands"]
        except KeyError:
            raise AttributeError(name) from None
        cmd = commands.get(name)
        if cmd is None:
            cmd = commands[name] = self._bind(name)
        return cmd

    def _bind(self, name):
        if not _is_command(name):
            raise AttributeError(name)
        # (CLIENT depends on its subcommand: checked on every call.)
        if name.upper() == "CLIENT" or _refusal((name,), "") is not None:
            def refusing(*args):
                return self.do_cmd(name, *args)
            return refusing

        def cmd(*args):
            # The fast path: connected, the session complete, in the connection's loop:
            # encoded and queued now, its future returned. Else the slow path.
            if self._ready and _get_running_loop() is self._loop:
                data = encode(name, *args)
                fut = _Reply(loop=self._loop)
                self._queue(data, fut)
                return fut
            return self._send((name,) + args, self._owner())
        return cmd

    def pipeline(self, transaction=False):
        return Pipeline(self, transaction)

    def pubsub(self):
        return PubSub(self)


class Pipeline:
    """Commands queued in Python and sent together: `await execute()` returns their
    replies (server errors in place), or EXEC's reply with transaction=True."""

    def __init__(self, client, transaction):
        self.client = client
        self.transaction = transaction
        self.commands = []

    def __call__(self, *args):
        encode(*args)  # the same argument rules as a command, checked now
        self.commands.append(args)
        return self

    def __getattr__(self, name):
        if not _is_command(name):
            raise AttributeError(name)

        def command(*args):
            return self(name, *args)

        return command

    def __len__(self):
        return len(self.commands)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.commands = []

    def execute(self):
        return self._execute(self.client._owner())

    async def _execute(self, own):
        cmds, self.commands = self.commands, []
        if not cmds:
            return []
        c = self.client
        data = bytearray()
        if self.transaction:
            data += encode(b"MULTI")
        for args in cmds:
            refused = _refusal(args, "in a pipeline")
            if refused is not None:
                raise refused
            data += encode(*args)
        if self.transaction:
            data += encode(b"EXEC")
        await c._ensure(own)
        fut = c._loop.create_future()
        c._queue(data, _Call(len(cmds) + (2 if self.transaction else 0), self.transaction,
                             fut))
        return await fut


class _Listen:
    # `async for msg in ps.listen()`.

    def __init__(self, ps):
        self.ps = ps

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await self.ps.get_message(None)


class PubSub:
    """Pub/sub on a connection of its own: subscribe, then `await get_message(timeout)`
    or `async for msg in ps.listen()`. After a reconnect it subscribes again to every
    channel and pattern it had, before the application's on_connect runs."""

    def __init__(self, client):
        c = client
        self._client = Redis(c.host, c.port, c.timeout, username=c.username,
                             password=c.password, client_name=c.client_name,
                             protocol=c.protocol, decode_responses=c.decode,
                             ssl_context=c.ssl if c.ssl is not True else None,
                             ssl=c.ssl is True, retries=c.retries,
                             backoff_base=c.backoff_base, backoff_cap=c.backoff_cap,
                             on_connect=self._resubscribe,
                             connection_factory=c.connection_factory)
        self.channels = set()
        self.patterns = set()
        self._messages = collections.deque()
        # (Made in the loop that uses it: on Python 3.9 an Event is bound to the loop
        # current when it is made.)
        self._event = None
        self._event_loop = None
        self._user_on_connect = c.on_connect

    def _wakeup(self):
        # The Event get_message() waits on, this loop's (a new one in a new loop).
        loop = _get_running_loop()
        if self._event is None or self._event_loop is not loop:
            self._event = asyncio.Event()
            self._event_loop = loop
        return self._event

    async def _resubscribe(self, client):
        # Runs after every (re)connect, before anything else is sent on it: from here on
        # every reply on this connection is a message.
        ev = self._wakeup()
        sink = _Sink(self._deliver, ev.set)
        client._sink = sink
        client._queue(b"", sink)
        if self.channels:
            client._queue(encode(b"SUBSCRIBE", *self.channels), None)
        if self.patterns:
            client._queue(encode(b"PSUBSCRIBE", *self.patterns), None)
        if self._user_on_connect is not None:
            await self._user_on_connect(client)

    async def _send(self, cmd, names, add, args):
        # Connected first: a (re)connect subscribes again to what the sets hold, so
        # they change only once that is done.
        data = encode(cmd, *args)
        await self._client._ensure()
        if names is not None:
            for a in args or list(names):
                (names.add if add else names.discard)(a)
        self._client._queue(data, None)

    def _deliver(self, reply):
        if isinstance(reply, RedisError):
            self._messages.append(reply)
        else:
            if isinstance(reply, (bytes, str)):
                # RESP3 answers PING with +PONG in subscribe mode: as RESP2's.
                reply = [b"pong", reply[:0]]
            if len(reply) == 4:
                kind, pattern, channel, data = reply
            elif len(reply) == 3:
                kind, channel, data = reply
                pattern = None
            else:
                kind, data = reply
                pattern = channel = None
            kind = kind.decode() if isinstance(kind, bytes) else kind
            self._messages.append({"type": kind, "pattern": pattern, "channel": channel,
                                   "data": data})
        if self._event is not None:
            self._event.set()
        return False  # the sink stays pending

    async def subscribe(self, *channels):
        await self._send(b"SUBSCRIBE", self.channels, True, channels)

    async def psubscribe(self, *patterns):
        await self._send(b"PSUBSCRIBE", self.patterns, True, patterns)

    async def unsubscribe(self, *channels):
        await self._send(b"UNSUBSCRIBE", self.channels, False, channels)

    async def punsubscribe(self, *patterns):
        await self._send(b"PUNSUBSCRIBE", self.patterns, False, patterns)

    async def ping(self):
        await self._send(b"PING", None, False, ())

    async def get_message(self, timeout=0):
        """The next message dict, or None after `timeout` ms (None: wait without limit).
        A lost connection is reopened here (with backoff) and the subscriptions renewed;
        messages published meanwhile are lost, as with any Redis pub/sub."""
        while not self._messages:
            c = self._client
            if (c._stream is None or c._loop is not _get_running_loop()) and (
                    self.channels or self.patterns):
                await c._ensure()
                continue
            if timeout == 0:
                return None
            ev = self._wakeup()
            ev.clear()
            try:
                if timeout is None:
                    await ev.wait()
                else:
                    await asyncio.wait_for(ev.wait(), timeout / 1000)
            except asyncio.TimeoutError:
                return None
        msg = self._messages.popleft()
        if isinstance(msg, RedisError):
            raise msg
        return msg

    def listen(self):
        return _Listen(self)

    async def close(self):
        await self._client.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
