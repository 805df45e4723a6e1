# Pipelines and MULTI/EXEC transactions against the real server.
from picoredis import RedisError
from ptest import test, run, eq, check, raises
from testenv import client

r = client()


@test
def pipeline_returns_replies_in_order():
    p = r.pipeline()
    p.set('pl:a', 1)
    p('SET', 'pl:b', 'two')
    p.get('pl:a')
    p.get('pl:b')
    p.incr('pl:n')
    eq(len(p), 5)
    eq(p.execute(), [b'OK', b'OK', b'1', b'two', 1])
    eq(len(p), 0)


@test
def pipeline_errors_in_place_and_link_in_step():
    r.set('pl:s', 'x')
    p = r.pipeline()
    p.incr('pl:s')
    p.get('pl:s')
    res = p.execute()
    check(isinstance(res[0], RedisError), 'error in place: %r' % (res,))
    eq(res[1], b'x')
    eq(r.ping(), b'PONG')


@test
def chained_queueing():
    eq(r.pipeline().set('pl:c', 3).get('pl:c').execute(), [b'OK', b'3'])


@test
def large_pipeline_1000():
    r.set('pl:k', 'v')
    p = r.pipeline()
    for i in range(1000):
        p.get('pl:k')
    res = p.execute()
    eq(len(res), 1000)
    check(all(v == b'v' for v in res))


@test
def unique_values_through_pipeline():
    p = r.pipeline()
    for i in range(200):
        p.set('pl:u%d' % i, 'val%d' % i)
    p.execute()
    for i in range(200):
        p.get('pl:u%d' % i)
    eq(p.execute(), [b'val%d' % i for i in range(200)])


@test
def empty_pipeline():
    eq(r.pipeline().execute(), [])


@test
def bad_argument_sends_nothing():
    p = r.pipeline()
    p.set('pl:t', 'ok')
    p.set('pl:t2', None)
    raises(TypeError, p.execute)
    eq(r.get('pl:t'), None)
    eq(r.ping(), b'PONG')


@test
def bad_argument_late_in_a_long_pipeline_sends_nothing():
    # A long pipeline goes out in parts as it is encoded (the unix build), but only once
    # every argument is checked: a bad one at the end still sends nothing at all.
    p = r.pipeline()
    for i in range(3000):
        p.set('pl:late%d' % i, 'v' * (i % 50))
    p.set('pl:late-bad', [1])
    raises(TypeError, p.execute)
    eq(len(p), 0)
    eq(r.exists('pl:late0', 'pl:late1500', 'pl:late2999'), 0)
    eq(r.ping(), b'PONG')


@test
def long_pipeline_in_parts_keeps_order():
    # Parts of 2, 4, 8 and 16 KB and a value larger than any part: every reply in order.
    p = r.pipeline()
    big = b'B' * 40000
    for i in range(3000):
        p.set('pl:part%d' % i, b'%d:' % i + b'x' * (i % 97))
        if i == 1700:
            p.set('pl:big', big)
    p.execute()
    for i in range(3000):
        p.get('pl:part%d' % i)
    p.get('pl:big')
    res = p.execute()
    eq(len(res), 3001)
    eq(res[-1], big)
    for i in range(3000):
        if res[i] != b'%d:' % i + b'x' * (i % 97):
            eq(res[i], b'%d:' % i + b'x' * (i % 97))


@test
def pipeline_reused_across_batches_and_errors():
    # The queue is kept and emptied between batches (and after an error): batches of other
    # sizes and shapes, then one after a TypeError, give exactly their own replies.
    p = r.pipeline()
    r.set('pl:r', 'r')
    for n in (1, 300, 5, 0, 2000, 2):
        for i in range(n):
            p.get('pl:r')
        eq(len(p), n)
        eq(p.execute(), [b'r'] * n)
        eq(len(p), 0)
    p('SET', 'pl:r2', 'x')
    p.echo()  # a bound command with no argument: a server error in place
    p('PING')
    res = p.execute()
    eq(res[0], b'OK')
    check(isinstance(res[1], RedisError), 'ECHO without its argument: %r' % (res[1],))
    eq(res[2], b'PONG')
    p.get('pl:r')
    p.get(None)
    raises(TypeError, p.execute)
    eq(len(p), 0)
    p.get('pl:r').get('pl:r2')
    eq(p.execute(), [b'r', b'x'])
    t = r.pipeline(transaction=True)
    for n in (3, 1):
        for i in range(n):
            t.incr('pl:tx')
        eq(t.execute()[-1], r.get('pl:tx') and int(r.get('pl:tx')))


@test
def context_manager_resets():
    with r.pipeline() as p:
        p.ping()
        eq(p.execute(), [b'PONG'])
        p.ping()
    eq(len(p), 0)


@test
def transaction_exec_results():
    r('DEL', 'tx:c')
    t = r.pipeline(transaction=True)
    t.incr('tx:c')
    t.incr('tx:c')
    t.get('tx:c')
    eq(t.execute(), [1, 2, b'2'])


@test
def transaction_runtime_error_in_place():
    r.set('tx:s', 'x')
    t = r.pipeline(transaction=True)
    t.incr('tx:s')
    t.set('tx:s2', 'y')
    res = t.execute()
    check(isinstance(res[0], RedisError))
    eq(res[1], b'OK')


@test
def transaction_queue_error_raises_and_discards():
    r('DEL', 'tx:never')
    t = r.pipeline(transaction=True)
    t.set('tx:never', 1)
    t.set('tx:bad')  # wrong arity: refused at queue time, EXEC aborts
    e = raises(RedisError, t.execute)
    eq(e.args[0], 'ERR')
    eq(r.get('tx:never'), None)
    eq(r.ping(), b'PONG')


@test
def transaction_watch_abort_gives_none():
    r.set('tx:w', 1)
    r.watch('tx:w')
    other = client()
    other.set('tx:w', 2)
    t = r.pipeline(transaction=True)
    t.set('tx:w', 3)
    eq(t.execute(), None)
    eq(r.get('tx:w'), b'2')


run()
