"""CPython/PyPy side of `make bench`: redis-py with the hiredis parser, or (with
`--client picoredis`) picoredis' CPython/PyPy build, the same workloads on the same
interpreter.

    build/bench/venv/bin/python bench/py_bench.py --port N [--budget-ms MS] [--client C]
                                                  [--only W,...] [--serve [--warmup-ms MS]]

Runs the same workloads as bench/mpy_bench.py (same keys and values, created
by bench/run.py) and prints the same lines.  The asyncio rows (async_get_1,
async_get_50) run redis.asyncio (the same package, the same hiredis parser): one
client, 1 or 50 tasks doing `await r.get(key)`; its connection pool opens one
connection per concurrent task.  Output:
    RESULT <workload> <ops_per_s> <ops> <elapsed_us>
    INFO <what> <value>

--serve: the persistent client bench/run.py drives, as mpy_bench.py's --serve: it
connects, checks the keys, runs every selected workload once for --warmup-ms with
its output dropped (PyPy's JIT compiles the loops then, not in the first measured
round), prints `READY`, then reads `RUN <workload> <budget_ms>` lines from stdin and
answers each with the workload's lines and `DONE <workload>`; `QUIT` or end of
input closes the client and exits.
"""

import argparse
import gc
import os
import sys
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


QUIET = [False]  # --serve's warm-up: results not printed


def emit(*words):
    if not QUIET[0]:
        print(*words, flush=True)


def setup(opts):
    """Connect with redis-py (+hiredis) or picoredis, check the keys; return
    (runners, close): runners maps every workload, in the order of a plain run, to a
    function of the budget in µs that runs it and prints its RESULT line."""
    import platform
    emit('INFO interpreter', platform.python_implementation(), platform.python_version())
    if opts.client == 'picoredis':
        # picoredis (rust/picoredis-py): the calls as a user writes them, a pipeline
        # object reused across batches; the asyncio rows on picoredis.asyncio.
        import picoredis
        r = picoredis.Redis(opts.host, opts.port)
        emit('INFO picoredis', getattr(picoredis, '__file__', '?'))
        p = r.pipeline()
    else:
        r = redis.Redis(host=opts.host, port=opts.port, protocol=2)
        conn = r.connection_pool.get_connection()
        parser = type(conn._parser).__name__
        r.connection_pool.release(conn)
        emit('INFO redis-py', redis.__version__)
        emit('INFO parser', parser)
        if parser != '_HiredisParser':
            raise SystemExit('redis-py is not using hiredis (parser %s)' % parser)
        p = r.pipeline(transaction=False)

    assert r.get(SMALL_KEY) == b'abc'
    assert len(r.get(BIG_KEY)) == BIG_LEN
    assert len(r.lrange(LIST_KEY, 0, -1)) == LIST_LEN

    def pipelined(batch):
        def op():
            for _ in range(batch):
                p.get(SMALL_KEY)
            return p.execute()
        return op

    def timed(name, op, per_op):
        def run(budget):
            if per_op > 1:
                replies = op()
                assert len(replies) == per_op and replies[-1] == b'abc'
            ops, us = run_timed(op, budget)
            emit('RESULT', name, '%.1f' % (ops * per_op * 1e6 / us), ops * per_op, us)
        return run

    def run_async_row(name, ntasks):
        def run(budget):
            import asyncio
            ops, us, aparser = asyncio.run(run_async(opts.host, opts.port, ntasks, budget,
                                                     opts.client))
            if opts.client != 'picoredis':
                emit('INFO asyncio_parser', aparser)
            emit('RESULT', name, '%.1f' % (ops * 1e6 / us), ops, us)
        return run

    runners = [
        ('get_small', timed('get_small', lambda: r.get(SMALL_KEY), 1)),
        ('get_10k', timed('get_10k', lambda: r.get(BIG_KEY), 1)),
        ('pipe_get_100', timed('pipe_get_100', pipelined(100), 100)),
        ('pipe_get_1000', timed('pipe_get_1000', pipelined(1000), 1000)),
        ('set_1k', timed('set_1k', lambda: r.set(SET_KEY, SET_VALUE), 1)),
        ('lrange_1000', timed('lrange_1000', lambda: r.lrange(LIST_KEY, 0, -1), 1)),
        ('async_get_1', run_async_row('async_get_1', 1)),
        ('async_get_50', run_async_row('async_get_50', 50)),
    ]
    if opts.client == 'redis':  # the bound, measured beside redis-py
        runners.append(('bytes_lrange', timed('bytes_lrange', bytes_only(opts), 1)))
    return runners, r.close


def bytes_only(opts):
    """LRANGE 0 -1 of the list by a client that does nothing but move the bytes: the
    request encoded once, sent, and the reply's bytes (their count known in advance)
    received into one buffer, nothing parsed, no objects made. No client can be faster
    on this interpreter and machine: the bound of the LRANGE row's ratios."""
    import socket
    s = socket.create_connection((opts.host, opts.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    args = [b'LRANGE', LIST_KEY.encode(), b'0', b'-1']
    req = b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args)
    items = [b'v%d' % i for i in range(LIST_LEN)]  # the list run.py made
    want = len(b'*%d\r\n' % LIST_LEN) + sum(len(b'$%d\r\n\r\n' % len(v)) + len(v)
                                             for v in items)
    buf = bytearray(want)
    view = memoryview(buf)

    def op():
        s.sendall(req)
        got = 0
        while got < want:
            n = s.recv_into(view[got:])
            if not n:
                raise SystemExit('bytes_lrange: connection closed')
            got += n

    op()
    assert bytes(buf[:7]) == b'*%d\r\n' % LIST_LEN and buf.endswith(b'\r\n'), bytes(buf[:16])
    return op


def serve(opts, runners, close):
    table = dict(runners)
    QUIET[0] = True
    for _, run in runners:
        if opts.warmup_ms > 0:
            run(opts.warmup_ms * 1000)
    QUIET[0] = False
    emit('READY', opts.client)
    while True:
        words = sys.stdin.readline().split()
        if not words or words[0] == 'QUIT':  # end of input too
            break
        if words[0] == 'RUN' and len(words) == 3 and words[1] in table:
            table[words[1]](int(words[2]) * 1000)
        else:
            emit('ERROR', 'bad command:', ' '.join(words))
        emit('DONE', words[1] if len(words) > 1 else '-')
    close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=int(os.getenv('PICOREDIS_PORT') or 6379))
    ap.add_argument('--budget-ms', type=int, default=700)
    ap.add_argument('--only', default=None)
    ap.add_argument('--client', choices=('redis', 'picoredis'), default='redis')
    ap.add_argument('--serve', action='store_true',
                    help='persistent: run the workloads bench/run.py asks for on stdin')
    ap.add_argument('--warmup-ms', type=int, default=300,
                    help='--serve: each workload runs this long before READY')
    opts = ap.parse_args()
    only = opts.only.split(',') if opts.only else None
    runners, close = setup(opts)
    if only:
        runners = [(n, f) for n, f in runners if n in only]
    if opts.serve:
        return serve(opts, runners, close)
    for _, run in runners:
        run(opts.budget_ms * 1000)
    close()


if __name__ == '__main__':
    main()
