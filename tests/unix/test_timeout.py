# `timeout` (ms) bounds the wait for a whole reply; after a timeout the
# client drops the connection so a late reply can never reach a later
# command, and the next command reconnects by itself.
import time
from picoredis import Redis, RedisTimeout
from ptest import test, run, eq, check
from testenv import client, fake_client, hexstr, timed, silent_listener, PORT, FAKE_PORT


def check_elapsed(ms, low, high):
    check(low <= ms < high, 'took %d ms, expected %d..%d' % (ms, low, high))


@test
def silent_server_times_out():
    s, port = silent_listener()
    try:
        r = Redis('127.0.0.1', port, timeout=300)   # handshake via backlog
        err, _, ms = timed(r.ping)
        check(isinstance(err, RedisTimeout), 'got %r' % (err,))
        check_elapsed(ms, 250, 1500)
        r.close()
    finally:
        s.close()


@test
def default_timeout_is_3000_ms():
    s, port = silent_listener()
    try:
        r = Redis('127.0.0.1', port)
        err, _, ms = timed(r.ping)
        check(isinstance(err, RedisTimeout), 'got %r' % (err,))
        check_elapsed(ms, 2900, 4500)
        r.close()
    finally:
        s.close()


@test
def switch_to_real_server_after_timeout():
    s, port = silent_listener()
    try:
        r = Redis('127.0.0.1', port, timeout=200)
        err, _, _ = timed(r.ping)
        check(isinstance(err, RedisTimeout), 'got %r' % (err,))
    finally:
        s.close()
    r.connect(port=PORT)
    eq(r.ping(), b'PONG')


@test
def no_stale_reply_after_blpop_timeout():
    r = client(timeout=200)
    old_id = r.client('ID')
    err, _, ms = timed(r.blpop, 'to:empty', 1)
    check(isinstance(err, RedisTimeout), 'got %r' % (err,))
    check_elapsed(ms, 150, 900)
    time.sleep(1.0)  # BLPOP's nil reply would now be waiting on the old socket
    eq(r.echo('mine'), b'mine')
    check(r.client('ID') != old_id, 'still on the connection that timed out')


@test
def no_stale_reply_after_debug_sleep_timeout():
    r = client(timeout=200)
    err, _, ms = timed(r.do_cmd, 'DEBUG', 'SLEEP', '0.5')
    check(isinstance(err, RedisTimeout), 'got %r' % (err,))
    check_elapsed(ms, 150, 480)
    time.sleep(0.5)  # the server is single-threaded: let the sleep finish
    eq(r.echo('after sleep'), b'after sleep')   # not DEBUG's b'OK'
    eq(r.ping(), b'PONG')


@test
def slow_reply_within_timeout_is_fine():
    r = client(timeout=2000)
    err, got, ms = timed(lambda: r.do_cmd('DEBUG', 'SLEEP', '0.3'))
    eq(err, None)
    eq(got, b'OK')
    check_elapsed(ms, 280, 1900)


@test
def timeout_bounds_the_whole_reply():
    # The fake server drips a 17-byte reply one byte per 100 ms (1.7 s):
    # every single read is quick, but the reply as a whole is too slow.
    if FAKE_PORT is None:
        return
    f = fake_client(timeout=500)
    err, got, ms = timed(f.drip, hexstr(b'$10\r\n0123456789\r\n'), 100)
    check(isinstance(err, RedisTimeout), 'got %r / %r' % (err, got))
    check_elapsed(ms, 450, 1200)


@test
def timeout_then_reconnect_to_same_server():
    # After the drip times out, the next command reconnects to the fake
    # server and gets its own answer, not the dripped remainder.
    if FAKE_PORT is None:
        return
    f = fake_client(timeout=300)
    err, _, _ = timed(f.drip, hexstr(b':1111111111\r\n'), 100)
    check(isinstance(err, RedisTimeout), 'got %r' % (err,))
    eq(f.script(hexstr(b':2\r\n')), 2)


run()
