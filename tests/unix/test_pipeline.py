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
