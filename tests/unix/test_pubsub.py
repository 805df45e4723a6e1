# Pub/sub with a second connection publishing, in RESP2 and RESP3.
from picoredis import RedisError
from ptest import test, add, run, eq, check, raises
from testenv import client

publisher = client()


def wait_message(ps, timeout=1000):
    m = ps.get_message(timeout=timeout)
    check(m is not None, 'no message within %d ms' % timeout)
    return m


def subscribe_and_receive(protocol):
    ps = client(protocol=protocol).pubsub()
    ps.subscribe('ps:ch%d' % protocol, 'ps:other')
    m = wait_message(ps)
    eq(m['type'], 'subscribe')
    eq(m['channel'], b'ps:ch%d' % protocol)
    eq(m['data'], 1)
    eq(wait_message(ps)['data'], 2)
    eq(ps.get_message(timeout=0), None)
    eq(publisher.publish('ps:ch%d' % protocol, 'hello'), 1)
    m = wait_message(ps)
    eq(m, {'type': 'message', 'pattern': None, 'channel': b'ps:ch%d' % protocol, 'data': b'hello'})
    ps.unsubscribe()
    kinds = [wait_message(ps)['type'] for _ in range(2)]
    eq(kinds, ['unsubscribe', 'unsubscribe'])
    ps.close()


def pattern_subscribe(protocol):
    ps = client(protocol=protocol).pubsub()
    ps.psubscribe('ps:news.*')
    eq(wait_message(ps)['type'], 'psubscribe')
    publisher.publish('ps:news.today', b'\x00bin\r\n')
    m = wait_message(ps)
    eq(m, {'type': 'pmessage', 'pattern': b'ps:news.*', 'channel': b'ps:news.today', 'data': b'\x00bin\r\n'})
    ps.punsubscribe('ps:news.*')
    eq(wait_message(ps)['type'], 'punsubscribe')


for proto in (2, 3):
    add('subscribe_resp%d' % proto, subscribe_and_receive, proto)
    add('psubscribe_resp%d' % proto, pattern_subscribe, proto)


@test
def get_message_timeout_waits_then_none():
    import time
    ps = client().pubsub()
    ps.subscribe('ps:quiet')
    wait_message(ps)
    t0 = time.ticks_ms()
    eq(ps.get_message(timeout=200), None)
    dt = time.ticks_diff(time.ticks_ms(), t0)
    check(150 <= dt < 1000, 'waited %d ms' % dt)


@test
def many_messages_in_order():
    ps = client().pubsub()
    ps.subscribe('ps:many')
    wait_message(ps)
    p = publisher.pipeline()
    for i in range(300):
        p.publish('ps:many', 'm%d' % i)
    p.execute()
    got = [wait_message(ps)['data'] for _ in range(300)]
    eq(got, [b'm%d' % i for i in range(300)])


@test
def pubsub_ping():
    ps = client().pubsub()
    ps.subscribe('ps:p')
    wait_message(ps)
    ps.ping()
    eq(wait_message(ps)['type'], 'pong')


@test
def ordinary_commands_refused_in_subscribe_mode():
    ps = client().pubsub()
    raises(AttributeError, getattr, ps, 'get')
    r = client()
    e = raises(RedisError, r.psubscribe, 'x*')
    check('pubsub()' in e.args[1])
    p = r.pipeline()
    p.subscribe('x')
    raises(RedisError, p.execute)
    eq(r.ping(), b'PONG')


@test
def push_frames_skipped_by_resp3_client():
    # A RESP3 client with tracking gets invalidation pushes between replies: they must not
    # be taken for replies.
    r = client(protocol=3)
    r.client('tracking', 'on')
    r.set('ps:tracked', 1)
    eq(r.get('ps:tracked'), b'1')  # now tracked
    publisher.set('ps:tracked', 2)  # invalidation push to r
    eq(r.ping(), b'PONG')
    eq(r.get('ps:tracked'), b'2')


run()
