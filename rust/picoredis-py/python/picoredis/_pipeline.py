"""The pipeline `Redis.pipeline()` returns on CPython and PyPy: commands are queued here,
in Python, and the whole queue is handed to the Rust core in one call at `execute()`
(`_picoredis.Pipeline._run`), which checks, encodes and sends it and reads the replies.

Why in Python: through PyPy's cpyext every call into the extension costs microseconds
(a bound command made on each `p.get`, its call, a tuple kept per command), more than
redis-py's whole pipelined GET; a list the JIT appends to costs ~0.05 us per command
(CPython: ~0.2 us, against ~0.45 us through the extension). The queue is already in the
core's flat shape (per command its length, then its arguments), so nothing is rebuilt.
"""


class Pipeline:
    """`r.pipeline(transaction=False)`: `p.<command>(*args)` and `p(*args)` queue (and
    return the pipeline, to chain), `execute()` sends the queue in one write and returns
    the replies (server errors in place), or EXEC's reply with `transaction=True`; the
    queue is emptied first, so the pipeline is reusable after any error."""

    __slots__ = ("_core", "_queue")

    def __init__(self, core):
        self._core = core  # the extension's Pipeline: the client, `transaction`, `_run`
        self._queue = []   # flat: [n, name, arg, ..., n, name, ...]

    def __getattr__(self, name):
        # Any name of ASCII letters and digits is a command. Its method is made once and
        # kept on the class, so that later `p.<name>` are plain method lookups (no
        # failed lookup first, no new object per call).
        if not (name.isascii() and name.isalnum()):
            raise AttributeError(name)

        def command(self, *args):
            # extend(): one step under the GIL, and the queue attribute is only read
            # here: a command queued while another thread runs execute() lands in one
            # queue or the other, never in both.
            self._queue.extend((len(args) + 1, name) + args)
            return self

        command.__name__ = command.__qualname__ = name
        setattr(Pipeline, name, command)
        return command.__get__(self)

    def __call__(self, *args):
        if not args:
            raise TypeError("a command needs a name")
        self._queue.extend((len(args),) + args)
        return self

    def execute(self):
        queue = self._queue
        self._queue = []
        return self._core._run(queue)

    def reset(self):
        self._queue = []

    def __len__(self):
        n = i = 0
        queue = self._queue
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
