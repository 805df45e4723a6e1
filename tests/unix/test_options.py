# Connection options against real servers: AUTH (password and ACL user), SELECT,
# CLIENT SETNAME, RESP3 via HELLO 3, decode_responses, connect_timeout, reconnect across a
# real server restart, reconnect=False, and the debug trace never showing a password.
import array
import os
import socket
import sys
import time
import picoredis
from picoredis import Redis, RedisError
from ptest import test, run, eq, check, raises
from testenv import HOST, PORT, client, restart_server, full_listener, silent_listener

AUTH_PORT = int(os.getenv('PICOREDIS_AUTH_PORT'))
PASSWORD = os.getenv('PICOREDIS_AUTH_PASSWORD')
ACL_USER = os.getenv('PICOREDIS_ACL_USER')
ACL_PASSWORD = os.getenv('PICOREDIS_ACL_PASSWORD')
RESTART_PORT = int(os.getenv('PICOREDIS_RESTART_PORT'))


@test
def password_auth():
    r = Redis(HOST, AUTH_PORT, password=PASSWORD)
    eq(r.set('opt:k', 'v'), b'OK')
    eq(r.acl('whoami'), b'default')


@test
def acl_user_auth():
    r = Redis(HOST, AUTH_PORT, username=ACL_USER, password=ACL_PASSWORD)
    eq(r.acl('whoami'), ACL_USER.encode())


@test
def wrong_password_raises_and_closes():
    e = raises(RedisError, Redis, HOST, AUTH_PORT, password='nope')
    check(e.args[0] in ('WRONGPASS', 'ERR'), repr(e.args))


@test
def no_password_gets_noauth():
    r = Redis(HOST, AUTH_PORT)
    e = raises(RedisError, r.get, 'x')
    eq(e.args[0], 'NOAUTH')


@test
def resp3_hello_with_auth_and_name():
    r = Redis(HOST, AUTH_PORT, username=ACL_USER, password=ACL_PASSWORD, protocol=3,
              client_name='pico3')
    eq(r.client('getname'), b'pico3')
    r.hset('opt:h', 'f', 1)
    eq(r.hgetall('opt:h'), {b'f': b'1'})
    check(r.client('info').find(b'resp=3') >= 0)


@test
def select_db():
    r0 = client()
    r5 = client(db=5)
    r5.set('opt:db', 'five')
    eq(r0.get('opt:db'), None)
    eq(r5.get('opt:db'), b'five')
    r5.close()
    eq(r5.get('opt:db'), b'five')  # the reconnect selects db 5 again


@test
def client_name_resp2():
    eq(client(client_name='piconame').client('getname'), b'piconame')


@test
def decode_responses_gives_str():
    r = client(decode_responses=True)
    r.set('opt:s', '\u00e9t\u00e9')
    eq(r.get('opt:s'), '\u00e9t\u00e9')
    eq(r.ping(), 'PONG')
    r.rpush('opt:l', 'a', b'\xff')
    eq(r.lrange('opt:l', 0, -1), ['a', '\ufffd'])
    eq(r.incr('opt:n'), 1)


@test
def connect_timeout_bounds_connect():
    raises(ValueError, Redis, HOST, PORT, connect_timeout=0)
    srv, port, fillers = full_listener()
    t0 = time.ticks_ms()
    raises(OSError, Redis, HOST, port, connect_timeout=300, timeout=5000, retries=0)
    dt = time.ticks_diff(time.ticks_ms(), t0)
    check(250 <= dt < 1500, 'connect took %d ms' % dt)
    # A retried connect: each attempt has its own connect_timeout, plus the backoff
    # (at most 100 ms before the one retry here).
    t0 = time.ticks_ms()
    raises(OSError, Redis, HOST, port, connect_timeout=300, timeout=5000, retries=1)
    dt = time.ticks_diff(time.ticks_ms(), t0)
    check(550 <= dt < 1800, 'connect with a retry took %d ms' % dt)
    for c in fillers + [srv]:
        c.close()
    eq(client(connect_timeout=500, timeout=2000).ping(), b'PONG')


@test
def reconnect_after_server_restart():
    r = Redis(HOST, RESTART_PORT)
    r.set('opt:before', 1)
    restart_server()
    # The old connection is dead; the idle check notices and the command goes out on a
    # new connection (never resent: the restart dropped it before it was sent).
    time.sleep_ms(300)
    eq(r.ping(), b'PONG')
    eq(r.get('opt:before'), None)  # a fresh server


@test
def reconnect_after_restart_without_idle_gap():
    r = Redis(HOST, RESTART_PORT)
    eq(r.ping(), b'PONG')
    restart_server()
    # Right after the restart the idle check may not run: the first command may fail with
    # OSError (it may have been lost), the next one reconnects.
    try:
        eq(r.ping(), b'PONG')
    except OSError:
        eq(r.ping(), b'PONG')


@test
def reconnect_false_stays_closed():
    r = Redis(HOST, RESTART_PORT, reconnect=False)
    eq(r.ping(), b'PONG')
    r.close()
    raises(OSError, r.ping)
    r.connect()
    eq(r.ping(), b'PONG')


@test
def close_is_idempotent_and_context_manager_closes():
    r = client()
    r.close()
    r.close()
    with client() as r2:
        eq(r2.ping(), b'PONG')


@test
def subscribe_on_plain_client_refused():
    r = client()
    e = raises(RedisError, r.subscribe, 'ch')
    check('pubsub()' in e.args[1], repr(e.args))
    eq(r.ping(), b'PONG')



# -- ints that are int objects: every int-valued option takes them ------------------------

# MicroPython has small ints (immediate values) beside int objects; CPython and PyPy have
# int objects only (CPython caches a few of them: `is` says nothing there), so on them
# every int below is already an int object and only the MicroPython checks are skipped.
SMALL_INTS = sys.implementation.name == 'micropython'


def boxed(v):
    """An int object holding `v` (not a small int, though `v` would fit one): array('q')
    items are such objects, as integer replies used to be. picoredis must take one
    wherever it takes an int."""
    b = array.array('q', [v])[0]
    if SMALL_INTS:
        check(b is not b + 0, 'array item %r is a small int here' % v)  # (b + 0 is small)
    return b


@test
def int_objects_as_int_options():
    r = Redis(HOST, boxed(PORT), timeout=boxed(2000), connect_timeout=boxed(1000),
              db=boxed(3), protocol=boxed(2), retries=boxed(1), backoff_base=boxed(10),
              backoff_cap=boxed(100), health_check_interval=boxed(60000))
    check(b' db=3 ' in r.client('info'), 'db option not applied')
    r.connect(HOST, boxed(PORT))
    eq(r.ping(), b'PONG')
    if hasattr(picoredis, 'Sentinel'):
        picoredis.Sentinel([(HOST, boxed(PORT))])  # (connects only when asked)


@test
def port_from_an_integer_reply():
    # The reported case: a port that came back as an integer reply.
    r = client()
    r('DEL', 'opt:port')
    port = r.incrby('opt:port', PORT)
    eq(Redis(HOST, port).ping(), b'PONG')
    # Integer replies are small ints when they fit, as MicroPython's own ints are.
    if SMALL_INTS:
        check(port is port + 0, 'an integer reply is a boxed int')


@test
def int_options_out_of_range_still_refused():
    raises(ValueError, Redis, HOST, boxed(65536))
    raises(ValueError, Redis, HOST, boxed(-1))
    raises(ValueError, Redis, HOST, 2 ** 70)
    raises(ValueError, Redis, HOST, PORT, timeout=boxed(0))
    raises(ValueError, Redis, HOST, PORT, timeout=-(2 ** 70))
    raises(ValueError, Redis, HOST, PORT, connect_timeout=boxed(-5))
    raises(ValueError, Redis, HOST, PORT, protocol=boxed(4))
    raises(OverflowError, Redis, HOST, PORT, db=2 ** 70)
    raises(OverflowError, Redis, HOST, PORT, health_check_interval=2 ** 70)
    r = client()
    raises(ValueError, r.connect, HOST, boxed(70000))
    eq(r.ping(), b'PONG')  # (a bad argument changes nothing)
    if hasattr(picoredis, 'Sentinel'):
        raises(ValueError, picoredis.Sentinel, [(HOST, boxed(70000))])
        raises(ValueError, picoredis.Sentinel, [(HOST, 2 ** 70)])


@test
def int_object_timeout_bounds_the_wait():
    srv, port = silent_listener()
    try:
        r = Redis(HOST, port, timeout=boxed(300), retries=0)
        t0 = time.ticks_ms()
        raises(picoredis.RedisTimeout, r.ping)
        dt = time.ticks_diff(time.ticks_ms(), t0)
        check(250 <= dt < 1500, 'a 300 ms timeout took %d ms' % dt)
    finally:
        srv.close()


@test
def select_with_an_int_object_survives_a_reconnect():
    r = client()
    r.select(boxed(4))
    r.set('opt:sel', 'four')
    r.close()
    eq(r.get('opt:sel'), b'four')  # the reconnect selects db 4 again


run()
