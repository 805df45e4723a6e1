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
#
# The rules (refused commands, options, connecting with backoff, the session, the reply
# timeout, commands, Pipeline, PubSub) are picoredis/_async_common.py, shared with the
# CPython/PyPy host; this file adds MicroPython's I/O and waiters: the native _Mux, a read
# loop, a writer task, and the pipeline's waiter (_Call) parking tasks on asyncio's run
# queue.
import asyncio
from asyncio import core

from picoredis import Reader, RedisError, _Mux
from picoredis import _async_common as common

Pipeline = common.Pipeline  # (public: picoredis.asyncio.Pipeline)

_MORE = object()  # what Reader.gets() returns until a whole reply is buffered


class _Call:
    # A queued pipeline and the task waiting for its n replies (a single command's waiter
    # is native: _Mux.call, with the same take/finish/done/n/remove).

    def __init__(self, n, transaction):
        self.n = n  # replies still to come
        self.out = []
        self.transaction = transaction
        self.done = False
        self.task = None
        # (value and exc: set by finish(), before done)

    def take(self, reply):
        out = self.out
        out.append(reply)
        self.n -= 1
        if self.n:
            return
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


class Redis(common.Redis):
    def _init_io(self):
        self._pending = []  # waiters and _Calls whose replies are due, in order
        # The queue of requests (written by one writer task, one write per loop turn), the
        # pending list's appends and the bound commands' fast path.
        self._mux = _Mux(self._pending, core)

    def _current_task(self):
        return core.cur_task  # (None outside a task, where asyncio.current_task() raises)

    def _idle_ms(self):
        return self._mux.idle_ms()

    # ---- connection ---------------------------------------------------------------

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
        if await self._start_session(s):
            mux.ready(True)  # bound commands queue directly from now on

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
            asyncio.create_task(common._wait_closed(s))

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

    def _call(self, args, data=None):
        # Queued now (connected or not: the caller knows); awaited by the caller. (The mux
        # encodes args itself.)
        return self._mux.call(*args)

    def _queue_pipeline(self, data, n, transaction):
        call = _Call(n, transaction)
        self._queue(data, call)
        return call.wait()

    def _open_sink(self, deliver, lost):
        sink = _Sink(deliver, lost)
        self._sink = [sink]  # (compared with the pending list's head, a slice)
        self._queue(b"", sink)

    # ---- commands -----------------------------------------------------------------

    def _bind_command(self, name, slow):
        # Native: queues directly while connected, else calls slow.
        return self._mux.bind(name, slow)

    def pubsub(self):
        return PubSub(self)


class _Sink:
    # The pub/sub connection's one open-ended call: every reply is a message.
    n = 0  # (the watchdog: it waits for messages, not for a reply)
    done = False  # never: it stays pending

    def __init__(self, deliver, lost):
        self.take = deliver
        self.lost = lost

    def finish(self, value, exc):
        # The connection failed: wake get_message(), which reconnects.
        self.lost()


class PubSub(common.PubSub):
    _Redis = Redis
