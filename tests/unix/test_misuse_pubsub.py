# Pub/sub edge cases: a short get_message() wait must not cut a message that arrives in
# pieces, nor leave its short timeout behind (item 8); PING on a RESP3 subscription
# (item 9); very long and unlimited waits (item 10); pubsub() of a sock= client (item 12).
import _thread
import time
from picoredis import Redis
from ptest import test, run, eq, check, raises
from testenv import HOST, PORT, client, fake_client, hexstr, timed, socket_to, SocketStream

publisher = client()


def wait_message(ps, timeout=1000):
    m = ps.get_message(timeout=timeout)
    check(m is not None, 'no message within %d ms' % timeout)
    return m


def subscribed(channel, **kw):
    ps = client(**kw).pubsub()
    ps.subscribe(channel)
    eq(wait_message(ps)['type'], 'subscribe')
    return ps


def message(channel, data):
    return {'type': 'message', 'pattern': None, 'channel': channel, 'data': data}


def publish_later(channel, data, delay_ms=300, watchdog_ms=5000):
    """Publishes from another thread after delay_ms. If the test has not called done()
    within watchdog_ms, kills every pub/sub connection, so a get_message() that would
    wait forever fails instead. Returns done()."""
    state = {'done': False, 'exited': False}
    pub, admin = client(), client()

    def body():
        try:
            time.sleep_ms(delay_ms)
            pub.publish(channel, data)
            t0 = time.ticks_ms()
            while not state['done'] and time.ticks_diff(time.ticks_ms(), t0) < watchdog_ms:
                time.sleep_ms(10)
            if not state['done']:
                admin('CLIENT', 'KILL', 'TYPE', 'pubsub')
        finally:
            state['exited'] = True

    _thread.start_new_thread(body, ())

    def done():
        state['done'] = True
        t0 = time.ticks_ms()
        while not state['exited'] and time.ticks_diff(time.ticks_ms(), t0) < 2000:
            time.sleep_ms(5)
    return done


# -- item 8 ----------------------------------------------------------------------------------
MSG = b'*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n'
AGAIN = b'*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nagain\r\n'


@test
def item8_message_in_two_segments_with_short_wait():
    # The fake server confirms the subscription, sends the message up to 'hel' 100 ms
    # later, and the rest 300 ms after that (with one more message). get_message(timeout=10)
    # is called when the first part is already there: the message has started, so it is
    # read whole (bounded by the client's timeout), not cut off after 10 ms.
    cut = MSG.index(b'hel') + 3
    steps = 'steps:100:%s:300:%s' % (hexstr(MSG[:cut]), hexstr(MSG[cut:] + AGAIN))
    ps = fake_client().pubsub()
    ps.subscribe(steps)
    eq(wait_message(ps)['type'], 'subscribe')
    time.sleep_ms(200)
    err, m, ms = timed(lambda: ps.get_message(timeout=10))
    check(err is None, 'get_message(timeout=10) raised %r after %d ms' % (err, ms))
    eq(m, message(b'ch', b'hello'))
    eq(wait_message(ps), message(b'ch', b'again'))  # the subscription survived
    ps.close()


@test
def item8_short_wait_does_not_shorten_the_next_one():
    ps = subscribed('ps8:late')
    eq(ps.get_message(timeout=10), None)
    done = publish_later('ps8:late', 'late', 300)
    err, m, ms = timed(lambda: ps.get_message(timeout=2000))
    done()
    check(err is None, 'get_message(timeout=2000) raised %r' % (err,))
    check(m is not None, 'get_message(timeout=2000) gave None after %d ms' % ms)
    eq(m, message(b'ps8:late', b'late'))
    publisher.publish('ps8:late', 'again')
    eq(wait_message(ps), message(b'ps8:late', b'again'))


# -- item 9 ----------------------------------------------------------------------------------
@test
def item9_ping_on_resp3_subscription():
    ps = subscribed('ps9:ch', protocol=3)
    ps.ping()
    m = wait_message(ps)
    check(isinstance(m, dict), repr(m))
    eq(m['type'], 'pong')
    eq((m['pattern'], m['channel']), (None, None), 'pattern, channel')
    check('data' in m, repr(m))
    eq(publisher.publish('ps9:ch', 'after'), 1)
    eq(wait_message(ps), message(b'ps9:ch', b'after'))


# -- item 10 ---------------------------------------------------------------------------------
def long_wait(timeout):
    ps = subscribed('ps10:ch')
    done = publish_later('ps10:ch', 'waited', 300)
    err, m, ms = timed(lambda: ps.get_message(timeout=timeout))
    done()
    check(err is None, 'get_message(timeout=%r) raised %r after %d ms' % (timeout, err, ms))
    check(m is not None, 'get_message(timeout=%r) gave None after %d ms' % (timeout, ms))
    eq(m, message(b'ps10:ch', b'waited'))
    check(ms >= 200, 'returned after %d ms, before the publish' % ms)


@test
def item10_get_message_timeout_2_to_32_waits():
    long_wait(2 ** 32)


@test
def item10_get_message_timeout_none_waits():
    long_wait(None)


@test
def item10_client_timeout_none():
    r = Redis(HOST, port=PORT, timeout=None)
    eq(r.ping(), b'PONG')
    r.close()
    eq(r.echo('again'), b'again')  # and after a reconnect
    raises(ValueError, Redis, HOST, port=PORT, timeout=-1)


# -- item 12 ---------------------------------------------------------------------------------
@test
def item12_pubsub_of_sock_client_refused():
    # A PubSub needs a connection of its own, which a sock= client cannot make: it must not
    # dial the default 127.0.0.1:6379 instead.
    for make in (lambda: socket_to(PORT), lambda: SocketStream()):
        r = Redis(sock=make())
        raises(ValueError, r.pubsub)
        eq(r.ping(), b'PONG')
        r.close()


run()
