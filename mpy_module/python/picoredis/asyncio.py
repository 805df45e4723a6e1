# picoredis.asyncio: the Redis client for asyncio code (frozen into the firmware next to
# the native module; the protocol work stays native: `encode` builds requests, `Reader`
# parses replies, Python only awaits).
#
# One connection serves any number of tasks. Each command is encoded at once and queued;
# what the tasks queued during one loop turn goes out in one write, and replies are
# handed back in order, so concurrent tasks are pipelined without asking for it.
#
# The per-command path is native (upicoredis._Mux): `r.get` is a bound command that
# encodes its request straight into the client's write buffer and returns a waiter, the
# one object a command allocates besides its reply; the task awaits the waiter itself.
# Until the connection is up and its session complete (or when a health check may be
# due) a bound command takes the Python path instead (`_send`), which connects first.
#
# The rules of the blocking client hold: a command that may have reached the server is
# never sent twice, and no command ever gets another one's reply. A task cancelled (or
# timed out by asyncio.wait_for) after its command was queued leaves a placeholder: its
# reply is still read, then dropped. A connection that fails (error, EOF, no reply within
# `timeout`) fails every command waiting on it; the next command reconnects, with capped
# exponential backoff and jitter between failed attempts.
#
# A reconnect never changes the session: until a new connection's handshake (HELLO, AUTH,
# CLIENT SETNAME, SELECT) and the application's on_connect are done, every command of
# every other task waits (in _ensure; the bound commands' fast path is off until then),
# so nothing runs on db 0 before the SELECT, or before on_connect has restored what the
# application needs. The commands on_connect itself issues (called in the task that
# connects, wherever they are then awaited) go out at once, after the handshake.
import asyncio
from asyncio import core

try:
    from random import getrandbits
except ImportError:  # a port without the random module: no jitter
    def getrandbits(n):
        return (1 << n) - 1

from picoredis import Reader, RedisError, RedisTimeout, encode, _Mux

_MORE = object()  # what Reader.gets() returns until a whole reply is buffered

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


class _Call:
    # A queued pipeline and the task waiting for its replies (a single command's waiter is
    # native: _Mux.call, with the same take/finish/done/n/remove).

    def __init__(self, n, transaction=False, listed=False):
        self.n = n  # replies still to come
        # The replies as a list (a pipeline's, even of one command), or None: the reply.
        self.out = [] if n > 1 or listed else None
        self.transaction = transaction
        self.done = False
        self.value = None
        self.exc = None
        self.task = None

    def take(self, reply):
        if self.out is None:
            self.finish(reply, reply if isinstance(reply, RedisError) else None)
            return
        self.out.append(reply)
        self.n -= 1
        if self.n == 0:
            self.finish_pipeline()

    def finish_pipeline(self):
        out = self.out
        if not self.transaction:
            self.finish(out, None)
            return
        result = out[-1]
        if isinstance(result, RedisError):
            # EXECABORT: the error that made the server refuse the queue says more.
            first = [v for v in out if isinstance(v, RedisError)]
            self.finish(None, first[0])
        else:
            self.finish(result, None)

    def finish(self, value, exc):
        self.done = True
        self.value = value
        self.exc = exc
        task = self.task
        if task is not None:
            self.task = None
            core._task_queue.push(task)

    # Called by Task.cancel() while the task waits here: the task goes, the call stays
    # queued, and its reply is read and dropped when it comes.
    def remove(self, task):
        self.task = None

    def wait(self):
        if not self.done:
            self.task = core.cur_task
            core.cur_task.data = self
            yield
        if self.exc is not None:
            raise self.exc
        return self.value


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
        self._commands = {}  # name -> bound command (r.get, r.set, ...)
        self._stream = None  # the writer of the open connection
        self._sink = None  # [the pub/sub sink] on a PubSub's connection
        self._pending = []  # waiters and _Calls whose replies are due, in order
        # The queue of requests (written by one writer task, one write per loop turn), the
        # pending list's appends and the bound commands' fast path.
        self._mux = _Mux(self._pending, core)
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
        if self._connector is not None and self._connector is core.cur_task:
            return self._connecting
        return None

    async def _ensure(self, own=None):
        # Returns once commands may be queued (the caller queues them at once, with no
        # await in between): the session is complete, or `own` is the connect under way
        # (a command of its on_connect, which goes out after the handshake; waiting for
        # the connect it is part of would never end).
        while True:
            while self._session is None:
                if self._connecting is not None:
                    if own is self._connecting:
                        if self._stream is None:
                            raise OSError(104)  # ECONNRESET: lost during on_connect
                        return
                    await self._connecting.wait()
                    continue
                self._connecting = asyncio.Event()
                self._connector = core.cur_task
                try:
                    await self._connect_with_backoff()
                finally:
                    ev, self._connecting, self._connector = self._connecting, None, None
                    ev.set()
            if (self.health_check_interval is None or self._pending
                    or self._mux.idle_ms() <= self.health_check_interval):
                return
            # Idle long enough that the link may have died silently: a PING (safe to
            # send on a new link too) checks it before the command goes out.
            try:
                await self._call((b"PING",))
                return
            except (OSError, RedisTimeout):
                pass  # _fail() closed it: reconnect

    def backoff_ms(self, attempt):
        """The wait before reconnect attempt `attempt` (1, 2, ...): capped exponential,
        with full jitter (a random share of it), so boards do not reconnect in step."""
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
                await asyncio.sleep_ms(self.backoff_ms(attempt))

    async def _open(self):
        if self.connection_factory is not None:
            opening = self.connection_factory()
        else:
            opening = asyncio.open_connection(self.host, self.port, ssl=self.ssl)
        if self.timeout is not None:
            opening = asyncio.wait_for_ms(opening, self.timeout)
        r, s = await opening
        self._stream = s
        self._session = None
        self._reader = Reader(self.protocol, "utf-8" if self.decode else None,
                              notEnoughData=_MORE)
        mux = self._mux
        mux.reset()
        mux.touch()
        # (Nothing can be pending here: commands queue only on a live connection. Were
        # one left, it would take the handshake's reply: fail it instead.)
        for call in self._pending[:]:
            call.finish(None, OSError(104))
        self._pending.clear()
        self._tasks = (asyncio.create_task(self._read_loop(r, s)),
                       asyncio.create_task(self._watchdog(s)),
                       asyncio.create_task(self._writer(s)))
        try:
            for args in self._handshake():
                await self._call(args)
            if self.on_connect is not None:
                if self._stream is not s:
                    raise OSError(104)  # ECONNRESET: lost before on_connect could run
                await self.on_connect(self)
            if self._stream is not s:
                raise OSError(104)  # lost meanwhile: this attempt failed
        except BaseException as e:
            # (Cancelled too: a half-made connection is never left behind.)
            self._fail(s, e if isinstance(e, Exception) else OSError(104))
            raise
        # The session is complete: other tasks' commands may go out now.
        self._session = s
        if self.health_check_interval is None:
            mux.ready(True)  # bound commands queue directly from now on

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
        self._mux.reset()  # queued requests dropped; bound commands take _send
        for t in self._tasks:
            if t is not core.cur_task:
                t.cancel()
        self._tasks = ()
        pending = self._pending[:]
        self._pending.clear()  # (the list the mux appends to)
        for call in pending:
            call.finish(None, exc)
        if hasattr(s, "s"):  # asyncio's own Stream closes its socket in wait_closed()
            try:
                s.s.close()
            except OSError:
                pass
            return
        try:
            s.close()
        except Exception:
            pass
        if hasattr(s, "wait_closed"):
            asyncio.create_task(_wait_closed(s))

    async def close(self):
        """Closes the connection; commands still waiting fail with OSError."""
        if self._stream is not None:
            self._fail(self._stream, OSError(107))  # ENOTCONN

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    # ---- reading and writing ------------------------------------------------------

    async def _read_loop(self, r, s):
        buf = bytearray(1024)
        reader = self._reader
        mux = self._mux
        push = self.protocol == 3
        readinto = hasattr(r, "readinto")
        try:
            while True:
                if readinto:
                    n = await r.readinto(buf)
                    data = buf
                else:
                    data = await r.read(1024)
                    n = len(data) if data else 0
                if not n:
                    raise OSError(104)  # ECONNRESET: the server closed the connection
                mux.touch()
                reader.feed(data, 0, n)
                while True:
                    reply = reader.gets()
                    if reply is _MORE:
                        break
                    if push and reader.is_push() and self._pending[:1] != self._sink:
                        # Out of band (client-side caching invalidations): not a reply.
                        continue
                    if not self._pending:
                        # Bytes no command asked for: the link cannot be trusted.
                        raise RedisError("ERR", "unsolicited data from the server")
                    call = self._pending[0]
                    call.take(reply)
                    if call.done:
                        self._pending.pop(0)
        except core.CancelledError:
            pass
        except Exception as e:
            self._fail(s, e)

    async def _watchdog(self, s):
        # A reply that does not come within `timeout` fails the connection.
        if self.timeout is None:
            return
        tick = max(10, min(self.timeout // 4, 250))
        try:
            while self._stream is s:
                await asyncio.sleep_ms(tick)
                # (A pub/sub sink, n == 0, waits for messages, not for a reply.)
                due = self._pending and self._pending[0].n > 0
                if due and self._mux.idle_ms() > self.timeout:
                    self._fail(s, RedisTimeout("no reply from server within timeout"))
                    return
        except core.CancelledError:
            pass

    async def _writer(self, s):
        # Parked on the mux until a command is queued (which wakes it: it runs later in
        # the same loop turn), then one write for everything queued meanwhile.
        mux = self._mux
        try:
            while True:
                data = mux.take()
                if data is None:
                    await mux.wait()
                    continue
                s.write(data)
                await s.drain()
                mux.touch()
        except core.CancelledError:
            pass
        except Exception as e:
            self._fail(s, e)

    def _queue(self, data, call):
        self._mux.send(data, call)

    def _call(self, args):
        # Queued now (connected or not: the caller knows); awaited by the caller.
        return self._mux.call(*args)

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
        # The Python path: connects (or checks the link) first; waits while a connect's
        # handshake or on_connect runs, unless on_connect issued it (`own`). A bad
        # argument raises before anything is queued.
        encode(*args)
        if self._session is None or self.health_check_interval is not None:
            await self._ensure(own)
        return await self._mux.call(*args)

    def __call__(self, *args):
        return self.do_cmd(*args)

    def __getattr__(self, name):
        # r.<name>: a bound command, made once per name and kept (checked once too).
        # (No closure here: its cells would be allocated on every lookup.)
        cmd = self._commands.get(name)
        if cmd is None:
            cmd = self._commands[name] = self._bind(name)
        return cmd

    def _bind(self, name):
        if not _is_command(name):
            raise AttributeError(name)
        # (CLIENT depends on its subcommand: checked on every call.)
        if name.upper() == "CLIENT" or _refusal((name,), "") is not None:
            def cmd(*args):
                return self.do_cmd(name, *args)
            return cmd

        # Native: queues directly while connected, else calls the fallback.
        def slow(*args):
            return self._send((name,) + args, self._owner())
        return self._mux.bind(name, slow)

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
        call = _Call(len(cmds) + (2 if self.transaction else 0), self.transaction, True)
        c._queue(data, call)
        return await call.wait()


async def _wait_closed(w):
    try:
        await w.wait_closed()
    except Exception:
        pass


class _Sink(_Call):
    # The pub/sub connection's one open-ended call: every reply is a message.

    def __init__(self, deliver, lost):
        super().__init__(0)
        self.take = deliver
        self.lost = lost

    def finish(self, value, exc):
        # The connection failed: wake get_message(), which reconnects.
        self.lost()


class _Listen:
    # `async for msg in ps.listen()` (MicroPython has no async generators).

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
        self._messages = []
        self._event = asyncio.Event()
        self._user_on_connect = c.on_connect

    async def _resubscribe(self, client):
        # Runs after every (re)connect, before anything else is sent on it: from here on
        # every reply on this connection is a message.
        sink = _Sink(self._deliver, self._event.set)
        client._sink = [sink]
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
        self._event.set()

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
            if self._client._stream is None and (self.channels or self.patterns):
                await self._client._ensure()
                continue
            if timeout == 0:
                return None
            self._event.clear()
            try:
                if timeout is None:
                    await self._event.wait()
                else:
                    await asyncio.wait_for_ms(self._event.wait(), timeout)
            except asyncio.TimeoutError:
                return None
        msg = self._messages.pop(0)
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
