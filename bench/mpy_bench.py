# MicroPython side of `make bench` (run by build/unix/micropython, not CPython).
#
#   micropython bench/mpy_bench.py [--module picoredis|picoredis_seed]
#                                  [--port N] [--host H] [--budget-ms MS]
#                                  [--only WORKLOAD[,WORKLOAD...]]
#                                  [--serve [--warmup-ms MS]]
#
# bench/run.py starts the server, writes the keys (written here when missing;
# the port defaults to $PICOREDIS_PORT, as tools/with_redis.py sets it) and sets
# MICROPYPATH so that `--module picoredis_seed` imports the original
# pure-Python picoredis 0.1.1.  Output: one line per result,
#   RESULT <workload> <ops_per_s|n/a> <ops> <elapsed_us>
#   FLOOR <workload> <ops_per_s> <ops> <elapsed_us>   (the client alone: floor_workloads)
#   HEAP <name> <bytes_per_op> <ops>
#   INFO <what> <value>
# and nothing else on stdout that starts with those words.  Timing is
# time.ticks_us(); every workload runs for about --budget-ms after a warm-up.
# The asyncio rows (async_get_1, async_get_50) run picoredis.asyncio (frozen into
# the firmware; with MICROPYPATH set it must include .frozen); the seed has no
# asyncio client: n/a.
#
# --serve: the persistent client bench/run.py drives (it interleaves the clients per
# workload, see run.py's docstring).  The script connects, checks the keys, runs every
# selected workload once for --warmup-ms with its output dropped, prints `READY`, then
# reads commands from stdin, one per line:
#   RUN <workload> <budget_ms>   the workload's lines as above, then `DONE <workload>`
#                                (workloads: the rows, heap, async_heap, floor_*)
#   QUIT (or end of input)       close the clients and exit
import sys
import time
import gc

# Keys and values: the same for every client (bench/run.py creates them).
SMALL_KEY = 'bench:small'      # 3-byte value
BIG_KEY = 'bench:10k'          # 10 KB value
SET_KEY = 'bench:set1k'        # written with a 1 KB value
LIST_KEY = 'bench:list'        # 1000 small elements
SET_VALUE = 'x' * 1024
BIG_LEN = 10 * 1024
LIST_LEN = 1000


def parse_args(argv):
    import os
    opts = {'module': 'picoredis', 'host': '127.0.0.1',
            'port': int(os.getenv('PICOREDIS_PORT') or 6379),
            'budget': 700, 'only': None, 'serve': False, 'warmup': 200}
    i = 1
    while i < len(argv):
        a = argv[i]
        v = argv[i + 1] if i + 1 < len(argv) else None
        if a == '--module':
            opts['module'] = v
        elif a == '--host':
            opts['host'] = v
        elif a == '--port':
            opts['port'] = int(v)
        elif a == '--budget-ms':
            opts['budget'] = int(v)
        elif a == '--only':
            opts['only'] = v.split(',')
        elif a == '--serve':
            opts['serve'] = True
            i += 1
            continue
        elif a == '--warmup-ms':
            opts['warmup'] = int(v)
        else:
            raise SystemExit('unknown argument ' + a)
        i += 2
    return opts


def run_timed(op, budget_us):
    """Call op() repeatedly for about budget_us; return (ops, elapsed_us).

    The loop checks the clock once per chunk; the chunk is sized from the
    warm-up so that the clock is read about 20 times over the budget.
    """
    t0 = time.ticks_us()
    op()  # warm-up, also sizes the chunk
    one = max(1, time.ticks_diff(time.ticks_us(), t0))
    chunk = max(1, budget_us // 20 // one)
    gc.collect()
    ops = 0
    t0 = time.ticks_us()
    while True:
        n = chunk
        while n:
            op()
            n -= 1
        ops += chunk
        elapsed = time.ticks_diff(time.ticks_us(), t0)
        if elapsed >= budget_us:
            return ops, elapsed


def heap_per_op(op, n):
    """Heap bytes allocated per op() (GC off, results kept in a list)."""
    keep = [None] * n
    keep[0] = op()  # warm-up: one-time allocations (caches, first call) are not per op
    gc.collect()
    gc.disable()
    try:
        i = 0
        a = gc.mem_alloc()
        while i < n:
            keep[i] = op()
            i += 1
        b = gc.mem_alloc()
    finally:
        gc.enable()
    return (b - a) / n


def run_async_tasks(r, key, ntasks, budget_us):
    """ntasks tasks doing `await r.get(key)` in a loop on one client, for about
    budget_us; return (GETs, elapsed_us).  Each task counts its own GETs and stops
    at the first check after the budget; the elapsed time ends when the last one
    has its reply, so every counted GET is inside it."""
    import asyncio
    stop = [False]

    async def worker():
        n = 0
        while not stop[0]:
            await r.get(key)
            n += 1
        return n

    async def timed():
        gc.collect()
        t0 = time.ticks_us()
        tasks = [asyncio.create_task(worker()) for _ in range(ntasks)]
        await asyncio.sleep_ms(budget_us // 1000)
        stop[0] = True
        counts = await asyncio.gather(*tasks)
        return sum(counts), time.ticks_diff(time.ticks_us(), t0)

    return timed()


def async_heap_per_get(r, key, ntasks, skip, n):
    """Heap bytes allocated per GET in steady state: GC off, ntasks tasks doing GETs
    on one client, replies kept; gc.mem_alloc() is read when `skip` GETs have
    completed (every task is past its first GETs, the connection's buffers and
    queues have grown) and again `n` GETs later."""
    import asyncio
    keep = [None] * (skip + n + ntasks)
    state = [0, 0, 0]  # GETs done, mem_alloc at skip, mem_alloc at skip + n

    async def worker():
        while state[0] < skip + n:
            v = await r.get(key)
            i = state[0]
            keep[i] = v
            state[0] = i + 1
            if i + 1 == skip:
                state[1] = gc.mem_alloc()
            elif i + 1 == skip + n:
                state[2] = gc.mem_alloc()

    async def measure():
        tasks = [asyncio.create_task(worker()) for _ in range(ntasks)]
        await asyncio.gather(*tasks)

    gc.collect()
    gc.disable()
    try:
        asyncio.run(measure())
    finally:
        gc.enable()
    assert keep[skip + n - 1] == b'abc'
    return (state[2] - state[1]) / n


class AsyncSide:
    """The asyncio rows on one picoredis.asyncio client, opened at its first use and
    kept (a --serve process runs these rows once per round)."""

    def __init__(self, opts):
        self.opts = opts
        self.r = None

    def client(self):
        if self.r is None:
            from picoredis.asyncio import Redis
            self.r = Redis(self.opts['host'], self.opts['port'], timeout=10000)
        return self.r

    def check(self, ntasks):  # warm-up: connects, and every task gets the value
        import asyncio
        r = self.client()

        async def check():
            replies = await asyncio.gather(*[r.get(SMALL_KEY) for _ in range(ntasks)])
            assert replies == [b'abc'] * ntasks, replies
        asyncio.run(check())

    def rate(self, name, budget):
        if self.opts['module'] != 'picoredis':  # the seed has no asyncio client
            emit('RESULT', name, 'n/a', 0, 0)
            return
        import asyncio
        ntasks = 1 if name == 'async_get_1' else 50
        self.check(ntasks)
        ops, us = asyncio.run(run_async_tasks(self.client(), SMALL_KEY, ntasks, budget))
        emit('RESULT', name, '%.1f' % (ops * 1000000 / us), ops, us)

    def heap(self, budget):
        if self.opts['module'] != 'picoredis':
            return
        from picoredis.asyncio import _Call
        self.check(50)
        n = 500
        emit('HEAP', 'async_get_small_50', '%.1f' % async_heap_per_get(
            self.client(), SMALL_KEY, 50, 200, n), n)
        # The allowance beyond the reply: one small object (a _Call: an instance
        # and its attribute map; a plain command's own record is a 64-B waiter).
        emit('HEAP', 'call_obj', '%.1f' % heap_per_op(lambda: _Call(1, False), 200), 200)

    def close(self):
        if self.r is not None:
            import asyncio
            asyncio.run(self.r.close())
            self.r = None


def floor_runner(mod, name):
    """The client alone: the pipelined and LRANGE workloads against an in-memory stream
    that takes every request at once and answers with the reply already made (no server,
    no kernel, no waiting).  Their rates are the ceiling of this client on this machine:
    what it would reach if the server and the loopback cost nothing.  Lines:
        FLOOR <workload> <ops_per_s> <ops> <elapsed_us>
    Returns a runner(budget_us) for floor workload `name`."""
    import io

    class Canned(io.IOBase):
        # readinto serves `reply` over and over, never past its end in one call, so each
        # batch reads exactly one copy of it.
        def __init__(self, reply):
            self.reply = memoryview(reply)
            self.pos = 0

        def readinto(self, buf):
            n = min(len(buf), len(self.reply) - self.pos)
            buf[:n] = self.reply[self.pos:self.pos + n]
            self.pos = (self.pos + n) % len(self.reply)
            return n

        def write(self, buf):
            return len(buf)

        def ioctl(self, req, arg):
            return 0

    if name == 'floor_lrange':
        reply = b'*1000\r\n' + b''.join(b'$%d\r\nv%d\r\n' % (len(b'v%d' % i), i)
                                         for i in range(LIST_LEN))
        r = mod.Redis(sock=Canned(reply))
        op = lambda: r.lrange(LIST_KEY, 0, -1)
        per_op = 1
    else:
        per_op = 100 if name == 'floor_pipe_100' else 1000
        r = mod.Redis(sock=Canned(b'$3\r\nabc\r\n' * per_op))
        p = r.pipeline()

        def op(p=p, n=per_op):
            for _ in range(n):
                p.get(SMALL_KEY)
            return p.execute()

    def run(budget):
        got = op()
        assert (len(got) == LIST_LEN) if per_op == 1 else (got[-1] == b'abc'), got[:3]
        ops, us = run_timed(op, budget)
        emit('FLOOR', name, '%.1f' % (ops * per_op * 1000000 / us), ops * per_op, us)
    return run


FLOORS = ('floor_pipe_100', 'floor_pipe_1000', 'floor_lrange')
QUIET = [False]  # --serve's warm-up: results not printed


def emit(kind, *fields):
    if not QUIET[0]:
        print(kind, ' '.join(str(f) for f in fields))


def setup(opts):
    """Connect, check (or write) the keys; return (runners, close): runners maps
    every workload name, in the order a plain run takes them, to a function of the
    budget in µs that runs it and prints its lines."""
    mod = __import__(opts['module'])
    r = mod.Redis(opts['host'], opts['port'], timeout=10000)
    emit('INFO', 'module', opts['module'], getattr(mod, '__file__', '(built in)'))
    # Ask the class: the seed's __getattr__ turns any instance attribute into a
    # command (and MicroPython's dir() probes attributes the same way).
    has_pipeline = hasattr(mod.Redis, 'pipeline')

    if r.get(SMALL_KEY) != b'abc':  # not started by run.py: write the keys
        r('SET', SMALL_KEY, 'abc')
        r('SET', BIG_KEY, 'x' * BIG_LEN)
        r('DEL', LIST_KEY)
        r('RPUSH', LIST_KEY, *['v%d' % i for i in range(LIST_LEN)])
    # Sanity: the data is there, and the client reads it.
    assert r.get(SMALL_KEY) == b'abc', r.get(SMALL_KEY)
    assert len(r.get(BIG_KEY)) == BIG_LEN
    assert len(r.lrange(LIST_KEY, 0, -1)) == LIST_LEN

    def small_get():
        return r.get(SMALL_KEY)

    def big_get():
        return r.get(BIG_KEY)

    def set_1k():
        return r.set(SET_KEY, SET_VALUE)

    def lrange():
        return r.lrange(LIST_KEY, 0, -1)

    def pipelined(batch):
        if not has_pipeline:
            return None
        p = r.pipeline()

        def op():
            for _ in range(batch):
                p.get(SMALL_KEY)
            return p.execute()
        return op

    def timed(name, op, per_op):
        def run(budget):
            if op is None:
                emit('RESULT', name, 'n/a', 0, 0)
                return
            if per_op > 1:  # check the batch once: every reply is the value
                replies = op()
                assert len(replies) == per_op and replies[-1] == b'abc'
            ops, us = run_timed(op, budget)
            # ops/s counts GETs for the pipelined workloads (batches * batch size)
            emit('RESULT', name, '%.1f' % (ops * per_op * 1000000 / us), ops * per_op, us)
        return run

    def heap(budget):
        n = 200
        emit('HEAP', 'get_small', '%.1f' % heap_per_op(small_get, n), n)
        # r('GET', key): the same command without the attribute lookup
        emit('HEAP', 'call_get_small',
             '%.1f' % heap_per_op(lambda: r('GET', SMALL_KEY), n), n)
        # What the reply object alone costs: a fresh 3-byte bytes object.
        emit('HEAP', 'bytes3', '%.1f' % heap_per_op(lambda: bytes(3), n), n)

    side = AsyncSide(opts)
    runners = [
        ('get_small', timed('get_small', small_get, 1)),
        ('get_10k', timed('get_10k', big_get, 1)),
        ('pipe_get_100', timed('pipe_get_100', pipelined(100), 100)),
        ('pipe_get_1000', timed('pipe_get_1000', pipelined(1000), 1000)),
        ('set_1k', timed('set_1k', set_1k, 1)),
        ('lrange_1000', timed('lrange_1000', lrange, 1)),
        ('heap', heap),
        ('async_get_1', lambda budget: side.rate('async_get_1', budget)),
        ('async_get_50', lambda budget: side.rate('async_get_50', budget)),
        ('async_heap', side.heap),
    ]
    if opts['module'] == 'picoredis':  # the seed has no sock= to hand a stream to
        runners += [(name, floor_runner(mod, name)) for name in FLOORS]

    def close():
        r.close()
        side.close()
    return runners, close


def selected(runners, only):
    """The runners --only asks for (all without it; `heap` also means async_heap)."""
    if not only:
        return runners
    return [(n, f) for n, f in runners
            if n in only or (n == 'async_heap' and 'heap' in only)]


def serve(opts, runners, close):
    table = dict(runners)
    QUIET[0] = True
    for name, run in selected(runners, opts['only']):
        if opts['warmup'] > 0 and name not in ('heap', 'async_heap'):
            run(opts['warmup'] * 1000)
    QUIET[0] = False
    emit('READY', opts['module'])
    while True:
        words = sys.stdin.readline().split()
        if not words:  # end of input (an empty line is not a command either)
            break
        if words[0] == 'QUIT':
            break
        if words[0] == 'RUN' and len(words) == 3 and words[1] in table:
            table[words[1]](int(words[2]) * 1000)
            emit('DONE', words[1])
        else:
            emit('ERROR', 'bad command:', ' '.join(words))
            emit('DONE', words[1] if len(words) > 1 else '-')
    close()


def main():
    opts = parse_args(sys.argv)
    runners, close = setup(opts)
    if opts['serve']:
        return serve(opts, runners, close)
    for _, run in selected(runners, opts['only']):
        run(opts['budget'] * 1000)
    close()


main()
