# MicroPython side of `make bench` (run by build/unix/micropython, not CPython).
#
#   micropython bench/mpy_bench.py [--module picoredis|picoredis_seed]
#                                  [--port N] [--host H] [--budget-ms MS]
#                                  [--only WORKLOAD[,WORKLOAD...]]
#
# bench/run.py starts the server, writes the keys (written here when missing;
# the port defaults to $PICOREDIS_PORT, as tools/with_redis.py sets it) and sets
# MICROPYPATH so that `--module picoredis_seed` imports the original
# pure-Python picoredis 0.1.1.  Output: one line per result,
#   RESULT <workload> <ops_per_s|n/a> <ops> <elapsed_us>
#   HEAP <name> <bytes_per_op> <ops>
#   INFO <what> <value>
# and nothing else on stdout that starts with those words.  Timing is
# time.ticks_us(); every workload runs for about --budget-ms after a warm-up.
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
            'budget': 700, 'only': None}
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


def emit(kind, *fields):
    print(kind, ' '.join(str(f) for f in fields))


def main():
    opts = parse_args(sys.argv)
    mod = __import__(opts['module'])
    r = mod.Redis(opts['host'], opts['port'], timeout=10000)
    emit('INFO', 'module', opts['module'], getattr(mod, '__file__', '(built in)'))
    budget = opts['budget'] * 1000
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

    workloads = [
        ('get_small', small_get, 1),
        ('get_10k', big_get, 1),
        ('pipe_get_100', pipelined(100), 100),
        ('pipe_get_1000', pipelined(1000), 1000),
        ('set_1k', set_1k, 1),
        ('lrange_1000', lrange, 1),
    ]
    for name, op, per_op in workloads:
        if opts['only'] and name not in opts['only']:
            continue
        if op is None:
            emit('RESULT', name, 'n/a', 0, 0)
            continue
        if per_op > 1:  # check the batch once: every reply is the value
            replies = op()
            assert len(replies) == per_op and replies[-1] == b'abc'
        ops, us = run_timed(op, budget)
        # ops/s counts GETs for the pipelined workloads (batches * batch size)
        emit('RESULT', name, '%.1f' % (ops * per_op * 1000000 / us), ops * per_op, us)

    if not opts['only'] or 'heap' in opts['only']:
        n = 200
        emit('HEAP', 'get_small', '%.1f' % heap_per_op(small_get, n), n)
        # r('GET', key): the same command without the attribute lookup
        emit('HEAP', 'call_get_small',
             '%.1f' % heap_per_op(lambda: r('GET', SMALL_KEY), n), n)
        # What the reply object alone costs: a fresh 3-byte bytes object.
        emit('HEAP', 'bytes3', '%.1f' % heap_per_op(lambda: bytes(3), n), n)
    r.close()


main()
