# Connection options against real servers: AUTH (password and ACL user), SELECT,
# CLIENT SETNAME, RESP3 via HELLO 3, decode_responses, connect_timeout, reconnect across a
# real server restart, reconnect=False, and the debug trace never showing a password.
import os
import socket
import time
import picoredis
from picoredis import Redis, RedisError
from ptest import test, run, eq, check, raises
from testenv import HOST, PORT, client, restart_server, full_listener

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


run()
