# The asyncio client's parts that MicroPython's and CPython's/PyPy's asyncio hosts share:
# one file, frozen into the firmware, shipped in the natmod package and, through a link,
# in the wheel (rust/picoredis-py/python/picoredis/_async_common.py).
#
# Here: the rules. Which commands a shared connection refuses; the options; connecting
# with backoff and the session (handshake, on_connect: nobody else's command goes out
# before both are done); the reply timeout watchdog; commands (do_cmd, bound commands'
# checks, the slow path); Pipeline; PubSub. Each host's picoredis/asyncio.py subclasses
# Redis (and PubSub) with its I/O and its waiters (MicroPython: the native _Mux, tasks
# parked on its run queue, a read loop and a writer task; CPython/PyPy: asyncio futures, a
# Protocol feeding the parser). What differs only by the interpreter's asyncio (sleeping
# and timeouts in ms, the running loop) is chosen once, below, at import; what a host's
# Redis adds, called from here (few: each is a method in the frozen firmware):
#
#   _init_io()                  its state, at the end of __init__, with _pending: the
#                               calls whose replies are due, in order (each with n, the
#                               replies it still waits for; 0: a pub/sub sink)
#   _current_task()             the running task (MicroPython: None outside one, where
#                               asyncio.current_task() raises)
#   _idle_ms()                  ms since the link last made progress
#   _open()                     connects, starts its I/O, then awaits _start_session(s);
#                               true: bound commands may queue directly from now on
#   _fail(s, exc)               the connection s is done: its commands fail with exc
#   _call(args, data=None)      queues a command now (`data`: args encoded, if they
#                               are), returns what the caller awaits
#   _queue(data, call)          queues encoded requests; `call` takes their replies
#   _queue_pipeline(data, n, transaction)  queues a pipeline, returns its awaitable
#   _open_sink(deliver, lost)   a PubSub's connection: every reply to `deliver`
#   _bind_command(name, slow)   r.<name> for a command a shared connection allows;
#                               slow(*args): the slow path (_send), for when the fast
#                               one (queued now) may not be taken
#   pubsub()                    the host's PubSub
# and, for a host whose client may meet more than one event loop (CPython), _new_loop(),
# called when _running_loop() is not the connection's _loop (on MicroPython both stay
# None: one loop).
import asyncio

from picoredis import RedisError, RedisTimeout, encode

try:
    from random import getrandbits
except ImportError:  # a port without the random module: no jitter
    def getrandbits(n):
        return (1 << n) - 1

try:  # CPython, PyPy
    from os import strerror
    from errno import ECONNRESET, ENOTCONN
    # A client follows the event loop it is used in (the connection's is _loop).
    from asyncio import _get_running_loop as _running_loop

    def _oserror(code):
        # As the host's blocking client raises them: (errno, strerror), which CPython
        # makes the errno's subclass (ConnectionResetError, ...).
        return OSError(code, strerror(code))

    # Times are in ms, as the options; this asyncio's take seconds.
    def sleep_ms(ms):
        return asyncio.sleep(ms / 1000)

    def wait_for_ms(aw, ms):
        return asyncio.wait_for(aw, ms / 1000)
except ImportError:  # MicroPython: OSError(errno), as its sockets raise them
    ECONNRESET, ENOTCONN = 104, 107
    _oserror = OSError
    from asyncio import sleep_ms, wait_for_ms

    def _running_loop():
        return None  # one event loop (_loop stays None)


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

    # The bound commands (r.get, ...) by name; None until __init__ has set them (so that
    # __getattr__ on an object __init__ has not set up raises, never recurses).
    _commands = None
    _loop = None  # the event loop of the connection (one loop: None)

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
        self._stream = None  # the writer of the open connection
        self._sink = None  # the pub/sub sink on a PubSub's connection
        self._tasks = ()
        self._connecting = None  # an Event while a (re)connect is under way
        self._connector = None  # the task running it (on_connect runs in it)
        # The stream whose session is complete (handshake and on_connect done): until
        # then, commands wait in _ensure.
        self._session = None
        self._init_io()

    # ---- connection ---------------------------------------------------------------

    def connect(self):
        """Connects now (commands also connect on demand)."""
        return self._ensure(self._owner())

    def _owner(self):
        # The connect under way (its Event) when the command being issued now comes from
        # its on_connect, i.e. is called in the connecting task; else None. Taken when
        # the command is called, not when it runs: on_connect may await it in a task of
        # its own (asyncio.gather, wait_for).
        if self._connector is not None and self._connector is self._current_task():
            return self._connecting
        return None

    async def _ensure(self, own=None):
        # Returns once commands may be queued (the caller queues them at once, with no
        # await in between): the session is complete, or `own` is the connect under way
        # (a command of its on_connect, which goes out after the handshake; waiting for
        # the connect it is part of would never end).
        if self._loop is not _running_loop():
            self._new_loop()
        while True:
            while self._session is None:
                if self._connecting is not None:
                    if own is self._connecting:
                        if self._stream is None:
                            raise _oserror(ECONNRESET)  # lost during on_connect
                        return
                    await self._connecting.wait()
                    continue
                self._connecting = asyncio.Event()
                self._connector = self._current_task()
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

    def backoff_ms(self, attempt):
        """The wait before reconnect attempt `attempt` (1, 2, ...): capped exponential,
        with full jitter (a random share of it), so clients (boards) do not reconnect in
        step."""
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
                await sleep_ms(self.backoff_ms(attempt))

    async def _start_session(self, s):
        # On the new connection `s`, its I/O running: the handshake, then on_connect.
        try:
            for args in self._handshake():
                await self._call(args)
            if self.on_connect is not None:
                if self._stream is not s:
                    raise _oserror(ECONNRESET)  # lost before on_connect could run
                await self.on_connect(self)
            if self._stream is not s:
                raise _oserror(ECONNRESET)  # lost meanwhile: this attempt failed
        except BaseException as e:
            # (Cancelled too: a half-made connection is never left behind.)
            self._fail(s, e if isinstance(e, Exception) else _oserror(ECONNRESET))
            raise
        # The session is complete: other tasks' commands may go out now; bound commands
        # may queue directly unless a health check may be due (the caller sets that up).
        self._session = s
        return self.health_check_interval is None

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

    async def close(self):
        """Closes the connection; commands still waiting fail with OSError."""
        s = self._stream
        if s is not None and self._loop is _running_loop():
            self._fail(s, _oserror(ENOTCONN))

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def _watchdog(self, s):
        # A reply that does not come within `timeout` fails the connection.
        if self.timeout is None:
            return
        tick = max(10, min(self.timeout // 4, 250))
        pending = self._pending
        try:
            while self._stream is s:
                await sleep_ms(tick)
                # (A pub/sub sink, n == 0, waits for messages, not for a reply.)
                due = pending and pending[0].n > 0
                if due and self._idle_ms() > self.timeout:
                    self._fail(s, RedisTimeout("no reply from server within timeout"))
                    return
        except asyncio.CancelledError:
            pass

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
                or self._loop is not _running_loop()):
            await self._ensure(own)
        return await self._call(args, data)

    def __call__(self, *args):
        return self.do_cmd(*args)

    def __getattr__(self, name):
        # r.<name>: a bound command, made once per name and kept (checked once too).
        # (No closure here: on MicroPython its cells would be allocated on every lookup.)
        commands = self._commands
        if commands is None:
            raise AttributeError(name)
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

        def slow(*args):
            return self._send((name,) + args, self._owner())
        return self._bind_command(name, slow)

    def pipeline(self, transaction=False):
        return Pipeline(self, transaction)


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
        return await c._queue_pipeline(data, len(cmds) + (2 if self.transaction else 0),
                                       self.transaction)


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

    # A host's subclass names its Redis; its message queue type (appended to, taken from
    # the front with `del q[0]`) may be a deque.
    _Redis = None
    _Queue = list

    def __init__(self, client):
        c = client
        self._client = self._Redis(c.host, c.port, c.timeout, username=c.username,
                                   password=c.password, client_name=c.client_name,
                                   protocol=c.protocol, decode_responses=c.decode,
                                   ssl_context=c.ssl if c.ssl is not True else None,
                                   ssl=c.ssl is True, retries=c.retries,
                                   backoff_base=c.backoff_base, backoff_cap=c.backoff_cap,
                                   on_connect=self._resubscribe,
                                   connection_factory=c.connection_factory)
        self.channels = set()
        self.patterns = set()
        self._messages = self._Queue()
        # (Made in the loop that uses it: on Python 3.9 an Event is bound to the loop
        # current when it is made.)
        self._event = None
        self._event_loop = None
        self._user_on_connect = c.on_connect

    def _wakeup(self):
        # The Event get_message() waits on, this loop's (a new one in a new loop).
        loop = _running_loop()
        if self._event is None or self._event_loop is not loop:
            self._event = asyncio.Event()
            self._event_loop = loop
        return self._event

    async def _resubscribe(self, client):
        # Runs after every (re)connect, before anything else is sent on it: from here on
        # every reply on this connection is a message.
        client._open_sink(self._deliver, self._wakeup().set)
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
        messages = self._messages
        while not messages:
            c = self._client
            if (c._stream is None or c._loop is not _running_loop()) and (
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
                    await wait_for_ms(ev.wait(), timeout)
            except asyncio.TimeoutError:
                return None
        msg = messages[0]
        del messages[0]
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
