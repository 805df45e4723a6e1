"""CPython/PyPy side of `make bench`: redis-py with the hiredis parser, or (with
`--client picoredis`) picoredis' CPython/PyPy build, the same workloads on the same
interpreter.

    build/bench/venv/bin/python bench/py_bench.py --port N [--budget-ms MS] [--client C]

Runs the same workloads as bench/mpy_bench.py (same keys and values, created
by bench/run.py) and prints the same lines.  The asyncio rows (async_get_1,
async_get_50) run redis.asyncio (the same package, the same hiredis parser): one
client, 1 or 50 tasks doing `await r.get(key)`; its connection pool opens one
connection per concurrent task.  Output:
    RESULT <workload> <ops_per_s> <ops> <elapsed_us>
    INFO <what> <value>
"""

import argparse
import gc
import os
import time

import redis

SMALL_KEY = 'bench:small'
BIG_KEY = 'bench:10k'
SET_KEY = 'bench:set1k'
LIST_KEY = 'bench:list'
SET_VALUE = 'x' * 1024
BIG_LEN = 10 * 1024
LIST_LEN = 1000


def run_timed(op, budget_us):
    """Call op() for about budget_us; same chunked loop as mpy_bench.py."""
    clock = time.perf_counter_ns
    t0 = clock()
    op()
    one = max(1, (clock() - t0) // 1000)
    chunk = max(1, budget_us // 20 // one)
    gc.collect()
    ops = 0
    t0 = clock()
    while True:
        for _ in range(chunk):
            op()
        ops += chunk
        elapsed = (clock() - t0) // 1000
        if elapsed >= budget_us:
            return ops, elapsed


async def run_async(host, port, ntasks, budget_us, client='redis'):
    """(GETs, elapsed_us, parser) for ntasks tasks doing GETs on one asyncio client,
    redis.asyncio (hiredis) or picoredis.asyncio (the same Rust core as the blocking
    client; one connection, as on MicroPython): the same scheme as
    mpy_bench.run_async_tasks."""
    import asyncio
    if client == 'picoredis':
        import picoredis.asyncio
        r = picoredis.asyncio.Redis(host, port)
        parser = 'picoredis'
    else:
        import redis.asyncio
        r = redis.asyncio.Redis(host=host, port=port, protocol=2, max_connections=ntasks)
        conn = await r.connection_pool.get_connection()
        parser = type(conn._parser).__name__
        await r.connection_pool.release(conn)
        if parser != '_AsyncHiredisParser':
            raise SystemExit('redis.asyncio is not using hiredis (parser %s)' % parser)
    try:
        # warm-up: every task's connection is opened, every task gets the value
        replies = await asyncio.gather(*[r.get(SMALL_KEY) for _ in range(ntasks)])
        assert replies == [b'abc'] * ntasks, replies
        stop = [False]

        async def worker():
            n = 0
            while not stop[0]:
                await r.get(SMALL_KEY)
                n += 1
            return n

        gc.collect()
        t0 = time.perf_counter_ns()
        tasks = [asyncio.create_task(worker()) for _ in range(ntasks)]
        await asyncio.sleep(budget_us / 1e6)
        stop[0] = True
        counts = await asyncio.gather(*tasks)
        return sum(counts), (time.perf_counter_ns() - t0) // 1000, parser
    finally:
        await (r.close() if client == 'picoredis' else r.aclose())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=int(os.getenv('PICOREDIS_PORT') or 6379))
    ap.add_argument('--budget-ms', type=int, default=700)
    ap.add_argument('--only', default=None)
    ap.add_argument('--client', choices=('redis', 'picoredis'), default='redis')
    opts = ap.parse_args()
    only = opts.only.split(',') if opts.only else None
    import platform
    print('INFO interpreter', platform.python_implementation(), platform.python_version())
    if opts.client == 'picoredis':
        return bench_picoredis(opts, only)

    r = redis.Redis(host=opts.host, port=opts.port, protocol=2)
    conn = r.connection_pool.get_connection()
    parser = type(conn._parser).__name__
    r.connection_pool.release(conn)
    print('INFO redis-py', redis.__version__)
    print('INFO parser', parser)
    if parser != '_HiredisParser':
        raise SystemExit('redis-py is not using hiredis (parser %s)' % parser)

    assert r.get(SMALL_KEY) == b'abc'
    assert len(r.get(BIG_KEY)) == BIG_LEN
    assert len(r.lrange(LIST_KEY, 0, -1)) == LIST_LEN

    run_blocking(r, r.pipeline(transaction=False), opts, only)

    import asyncio
    for name, ntasks in (('async_get_1', 1), ('async_get_50', 50)):
        if only and name not in only:
            continue
        ops, us, aparser = asyncio.run(run_async(opts.host, opts.port, ntasks, opts.budget_ms * 1000))
        print('INFO asyncio_parser', aparser)
        print('RESULT', name, '%.1f' % (ops * 1e6 / us), ops, us)


def run_blocking(r, p, opts, only):
    """The blocking workloads on client `r` (redis-py's or picoredis' Redis, the same
    calls), pipelined with `p` (one pipeline object reused across batches), each
    timed for the budget; prints a RESULT line per workload and closes `r`."""
    def pipelined(batch):
        def op():
            for _ in range(batch):
                p.get(SMALL_KEY)
            return p.execute()
        return op

    workloads = [
        ('get_small', lambda: r.get(SMALL_KEY), 1),
        ('get_10k', lambda: r.get(BIG_KEY), 1),
        ('pipe_get_100', pipelined(100), 100),
        ('pipe_get_1000', pipelined(1000), 1000),
        ('set_1k', lambda: r.set(SET_KEY, SET_VALUE), 1),
        ('lrange_1000', lambda: r.lrange(LIST_KEY, 0, -1), 1),
    ]
    budget = opts.budget_ms * 1000
    for name, op, per_op in workloads:
        if only and name not in only:
            continue
        if per_op > 1:
            replies = op()
            assert len(replies) == per_op and replies[-1] == b'abc'
        ops, us = run_timed(op, budget)
        print('RESULT', name, '%.1f' % (ops * per_op * 1e6 / us), ops * per_op, us)
    r.close()


def bench_picoredis(opts, only):
    """The workloads with picoredis (rust/picoredis-py): the calls as a user writes
    them, a pipeline object reused across batches; the asyncio rows on
    picoredis.asyncio."""
    import picoredis
    r = picoredis.Redis(opts.host, opts.port)
    print('INFO picoredis', getattr(picoredis, '__file__', '?'))
    assert r.get(SMALL_KEY) == b'abc'
    assert len(r.get(BIG_KEY)) == BIG_LEN
    assert len(r.lrange(LIST_KEY, 0, -1)) == LIST_LEN

    run_blocking(r, r.pipeline(), opts, only)
    import asyncio
    for name, ntasks in (('async_get_1', 1), ('async_get_50', 50)):
        if only and name not in only:
            continue
        ops, us, _ = asyncio.run(run_async(opts.host, opts.port, ntasks, opts.budget_ms * 1000,
                                           'picoredis'))
        print('RESULT', name, '%.1f' % (ops * 1e6 / us), ops, us)


if __name__ == '__main__':
    main()
