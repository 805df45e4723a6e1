"""The pipeline `Redis.pipeline()` returns on CPython and PyPy: commands are queued here,
in Python, and the whole queue is handed to the Rust core in one call at `execute()`
(`_picoredis.Pipeline._run`), which checks, encodes and sends it and reads the replies.

Why in Python: through PyPy's cpyext every call into the extension costs microseconds
(a bound command made on each `p.get`, its call, a tuple kept per command), more than
redis-py's whole pipelined GET; a list the JIT appends to costs ~0.05 us per command
(CPython: ~0.2 us, against ~0.45 us through the extension). The queue is already in the
core's flat shape (per command its length, then its arguments), so nothing is rebuilt.
"""


# Command methods made on first use and kept on the class, at most this many (names
# chosen at run time must not grow the class without bound).
_MAX_KEPT = 512


class Pipeline:
    """`r.pipeline(transaction=False)`: `p.<command>(*args)` and `p(*args)` queue (and
    return the pipeline, to chain), `execute()` sends the queue in one write and returns
    the replies (server errors in place), or EXEC's reply with `transaction=True`; the
    queue is emptied first, so the pipeline is reusable after any error."""

    __slots__ = ("_core", "_queue")
    _kept = 0

    def __init__(self, core):
        self._core = core  # the extension's Pipeline: the client, `transaction`, `_run`
        # Flat: [n, name, arg, ..., n, name, ...]. Always this one list: a command
        # queued by another thread while execute() runs lands in the commands it takes
        # or in those it leaves, never in both, never in neither (extend() and the
        # slice operations are each one step under the GIL).
        self._queue = []

    def __getattr__(self, name):
        # Any name of ASCII letters and digits is a command. Its method is kept on the
        # class, so that later `p.<name>` are plain method lookups (no failed lookup
        # first, no new object per call).
        if not (name.isascii() and name.isalnum()):
            raise AttributeError(name)

        def command(self, *args):
            self._queue.extend((len(args) + 1, name) + args)
            return self

        command.__name__ = command.__qualname__ = name
        if Pipeline._kept < _MAX_KEPT:
            Pipeline._kept += 1
            setattr(Pipeline, name, command)
        return command.__get__(self)

    def __call__(self, *args):
        if not args:
            raise TypeError("a command needs a name")
        self._queue.extend((len(args),) + args)
        return self

    def execute(self):
        queue = self._queue
        taken = queue[:]
        del queue[:len(taken)]
        return self._core._run(taken)

    def reset(self):
        del self._queue[:]

    def __len__(self):
        queue = self._queue[:]
        n = i = 0
        while i < len(queue):
            i += queue[i] + 1
            n += 1
        return n

    def __bool__(self):
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.reset()
