# The blocking client's healing, with picoredis.asyncio's options: connect retries with
# capped exponential backoff and full jitter (retries, backoff_base, backoff_cap), the
# health-check PING after idle time (health_check_interval), and a PubSub that subscribes
# again to its channels and patterns after its connection was killed.
#
# Connections are killed from the server side (CLIENT KILL); the waits after a kill stay
# under the client's own idle poll (250 ms) where the test is about the health check, so
# only the PING can notice the dead link.
import os
import time
from picoredis import Redis, RedisError, RedisTimeout
from ptest import test, add, run, eq, check, raises
from testenv import (HOST, PORT, client, silent_listener, restart_server, ms_since,
                     full_listener)

AUTH_PORT = int(os.getenv('PICOREDIS_AUTH_PORT') or 0)
PASSWORD = os.getenv('PICOREDIS_AUTH_PASSWORD')
RESTART_PORT = int(os.getenv('PICOREDIS_RESTART_PORT') or 0)

observer = client()


def closed_port():
    """A loopback port nothing listens on: a connect there is refused at once."""
    s, port = silent_listener()
    s.close()
    return port


def pending_connections(listener):
    """How many connections wait in `listener`'s backlog (each one connect attempt)."""
    listener.setblocking(False)
    n = 0
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return n
        conn.close()
        n += 1


def stat(r, section, name):
    """An integer field of INFO `section` (e.g. commandstats' cmdstat_ping calls)."""
    for line in r.info(section).split(b'\r\n'):
        if line.startswith(name.encode() + b':'):
            fields = line.split(b':', 1)[1]
            if b'=' not in fields:
                return int(fields)
            for field in fields.split(b','):
                k, _, v = field.partition(b'=')
                if k == b'calls':
                    return int(v)
    return 0


def pings():
    return stat(observer, 'commandstats', 'cmdstat_ping')


# ---- backoff ------------------------------------------------------------------------------

def attempts_are_counted(retries):
    # A listener that never accepts: each attempt connects through the backlog, sends
    # AUTH and waits `timeout` for a reply that never comes (RedisTimeout, retried).
    # The connections left in the backlog are the attempts.
    s, port = silent_listener()
    try:
        t0 = time.ticks_ms()
        raises(RedisTimeout, Redis, '127.0.0.1', port, password='x', timeout=100,
               retries=retries, backoff_base=50, backoff_cap=2000)
        ms = ms_since(t0)
        eq(pending_connections(s), retries + 1, 'connect attempts')
        # Each attempt waits its 100 ms; the backoffs add at most 100 + 200 + 400.
        top = 100 * (retries + 1) + sum(min(2000, 50 << k) for k in range(1, retries + 1))
        check(100 * (retries + 1) - 20 <= ms < top + 250,
              'took %d ms, expected %d..%d' % (ms, 100 * (retries + 1), top))
    finally:
        s.close()


add('retries_0_is_one_attempt', attempts_are_counted, 0)
add('retries_3_is_four_attempts', attempts_are_counted, 3)


def reconnect_connect_timeout(retries):
    # A command whose automatic reconnect gets no TCP connection within connect_timeout
    # raises RedisTimeout, as every timeout inside a command does (README: When things go
    # wrong), with or without retries; connect() itself raises OSError(ETIMEDOUT).
    import errno
    srv, port, fillers = full_listener()
    try:
        r = Redis(HOST, PORT, connect_timeout=150, timeout=3000, retries=retries,
                  backoff_base=10, backoff_cap=20)
        e = raises(OSError, r.connect, HOST, port)  # the new address is kept
        eq(e.errno, errno.ETIMEDOUT, 'connect()')
        t0 = time.ticks_ms()
        raises(RedisTimeout, r.ping)
        ms = ms_since(t0)
        check(150 * (retries + 1) - 20 <= ms < 150 * (retries + 1) + 20 * retries + 1000,
              'the reconnect took %d ms' % ms)
        raises(RedisTimeout, r.do_cmd, 'PING')
        p = r.pipeline()
        p.ping()
        raises(RedisTimeout, p.execute)
        r.connect(HOST, PORT)  # back to the real server: unharmed
        eq(r.ping(), b'PONG')
        r.close()
    finally:
        for c in fillers + [srv]:
            c.close()


add('reconnect_connect_timeout_is_redis_timeout', reconnect_connect_timeout, 0)
add('retried_reconnect_connect_timeout_is_redis_timeout', reconnect_connect_timeout, 2)


@test
def default_is_three_retries():
    s, port = silent_listener()
    try:
        raises(RedisTimeout, Redis, '127.0.0.1', port, password='x', timeout=50)
        eq(pending_connections(s), 4, 'connect attempts')
    finally:
        s.close()


@test
def backoff_is_bounded_and_jittered():
    # Refused at once: the time a failed constructor takes is its backoff, three random
    # waits of at most 100, 200 and 400 ms (full jitter: anywhere from 0).
    port = closed_port()
    samples = []
    for _ in range(10):
        t0 = time.ticks_ms()
        raises(OSError, Redis, '127.0.0.1', port, retries=3, backoff_base=50,
               backoff_cap=2000)
        samples.append(ms_since(t0))
    check(max(samples) < 700 + 150, 'bounded: %r' % samples)
    check(max(samples) - min(samples) >= 40, 'jittered: %r' % samples)
    check(min(samples) < 500, 'full jitter reaches below the top: %r' % samples)


@test
def backoff_cap_bounds_every_wait():
    # base << k grows to 16 s by the 4th retry: the cap keeps each wait at 60 ms or less.
    port = closed_port()
    t0 = time.ticks_ms()
    raises(OSError, Redis, '127.0.0.1', port, retries=4, backoff_base=1000, backoff_cap=60)
    ms = ms_since(t0)
    check(ms < 4 * 60 + 150, 'took %d ms' % ms)


@test
def refused_handshake_is_not_retried():
    # A wrong password is the session's fault, not the network's: one attempt.
    if not AUTH_PORT:
        print('NOTE no AUTH server: skipped')
        return
    a = Redis(HOST, AUTH_PORT, password=PASSWORD)
    before = stat(a, 'stats', 'total_connections_received')
    raises(RedisError, Redis, HOST, AUTH_PORT, password='wrong', retries=3)
    eq(stat(a, 'stats', 'total_connections_received') - before, 1, 'connections')
    a.close()


# ---- health check -------------------------------------------------------------------------

@test
def health_check_pings_after_idle_only():
    r = client(health_check_interval=200)
    quiet = client()  # no health_check_interval: never a PING
    r.set('heal:hc', 1)
    quiet.set('heal:hc2', 1)
    observer.config('RESETSTAT')
    eq(r.get('heal:hc'), b'1')  # busy link: no PING
    eq(pings(), 0, 'PINGs before idle')
    time.sleep_ms(300)
    eq(r.get('heal:hc'), b'1')
    eq(quiet.get('heal:hc2'), b'1')
    eq(pings(), 1, 'PINGs after idle')
    r.close()
    quiet.close()


@test
def health_check_replaces_a_killed_connection_command_sent_once():
    r = client(health_check_interval=50)
    r.DEL('heal:n')
    first = r.client('ID')
    eq(observer.client('KILL', 'ID', str(first)), 1, 'CLIENT KILL')
    time.sleep_ms(100)  # past the interval, under the 250 ms idle poll
    eq(r.incr('heal:n'), 1)
    eq(observer.get('heal:n'), b'1', 'INCR ran once')
    check(r.client('ID') != first, 'a new connection')
    r.close()


@test
def without_health_check_the_same_kill_fails_the_command():
    # The control for the test above: no PING, so the INCR goes out on the dead link and
    # fails (never resent, never run).
    r = client()
    r.DEL('heal:m')
    eq(observer.client('KILL', 'ID', str(r.client('ID'))), 1, 'CLIENT KILL')
    time.sleep_ms(100)
    raises(OSError, r.incr, 'heal:m')
    eq(observer.get('heal:m'), None, 'not run')
    eq(r.incr('heal:m'), 1)  # the next command reconnects
    r.close()


@test
def health_check_not_sent_inside_multi():
    # Inside MULTI the server would queue the PING into the transaction.
    r = client(health_check_interval=20)
    eq(r.multi(), b'OK')
    time.sleep_ms(60)
    eq(r.set('heal:tx', 1), b'QUEUED')
    time.sleep_ms(60)
    eq(r('EXEC'), [b'OK'])  # the SET alone: no PING queued
    r.close()


@test
def health_check_in_pipeline():
    r = client(health_check_interval=50)
    first = r.client('ID')
    eq(observer.client('KILL', 'ID', str(first)), 1, 'CLIENT KILL')
    time.sleep_ms(100)
    p = r.pipeline()
    p.set('heal:p', 1).incr('heal:p')
    eq(p.execute(), [b'OK', 2])
    r.close()


@test
def health_check_interval_none_or_int():
    eq(client(health_check_interval=None).ping(), b'PONG')
    eq(client(health_check_interval=0).ping(), b'PONG')
    raises(TypeError, client, health_check_interval='1')


# ---- pub/sub ------------------------------------------------------------------------------

def messages(ps, n, ms=2000):
    out = []
    t0 = time.ticks_ms()
    while len(out) < n and ms_since(t0) < ms:
        m = ps.get_message(timeout=100)
        if m is not None:
            out.append(m)
    return out


def confirmations(msgs):
    return sorted((m['type'], m['channel']) for m in msgs)


def resubscribes_after_kill(protocol):
    r = client(protocol=protocol)
    ps = r.pubsub()
    ps.subscribe('heal:a', 'heal:b')
    ps.psubscribe('heal:p.*')
    ps.unsubscribe(b'heal:b')  # bytes for a str name: the same channel
    ps.subscribe('heal:a')     # twice: renewed once
    first = confirmations(messages(ps, 5))
    eq(first, [('psubscribe', b'heal:p.*'), ('subscribe', b'heal:a'),
               ('subscribe', b'heal:a'), ('subscribe', b'heal:b'),
               ('unsubscribe', b'heal:b')])
    check(r.client('KILL', 'TYPE', 'pubsub') >= 1, 'CLIENT KILL')
    # get_message notices, reconnects and subscribes again: the confirmations come first.
    eq(confirmations(messages(ps, 2)), [('psubscribe', b'heal:p.*'), ('subscribe', b'heal:a')])
    eq(r.publish('heal:a', 'x'), 1, 'subscribers of heal:a')
    eq(r.publish('heal:p.1', 'y'), 1, 'subscribers of heal:p.1')
    eq(r.publish('heal:b', 'z'), 0, 'heal:b was unsubscribed before the kill')
    got = [(m['type'], m['channel'], m['data']) for m in messages(ps, 2)]
    eq(got, [('message', b'heal:a', b'x'), ('pmessage', b'heal:p.1', b'y')])
    eq(ps.get_message(timeout=100), None)
    ps.close()
    r.close()


add('pubsub_resubscribes_after_kill_resp2', resubscribes_after_kill, 2)
add('pubsub_resubscribes_after_kill_resp3', resubscribes_after_kill, 3)


@test
def pubsub_resubscribes_after_server_restart():
    r = Redis(HOST, RESTART_PORT, retries=30, backoff_base=20, backoff_cap=200)
    ps = r.pubsub()
    ps.subscribe('heal:r')
    eq(confirmations(messages(ps, 1)), [('subscribe', b'heal:r')])
    restart_server()
    eq(confirmations(messages(ps, 1)), [('subscribe', b'heal:r')])
    eq(client(port=RESTART_PORT).publish('heal:r', 'back'), 1)
    eq([m['data'] for m in messages(ps, 1)], [b'back'])
    ps.close()


@test
def pubsub_after_close_stays_closed():
    r = client()
    ps = r.pubsub()
    ps.subscribe('heal:c')
    messages(ps, 1)
    ps.close()
    raises(OSError, ps.get_message, timeout=10)  # close() ended the subscriptions
    ps.subscribe('heal:d')                       # a new subscribe starts afresh
    eq(confirmations(messages(ps, 1)), [('subscribe', b'heal:d')])
    check(r.client('KILL', 'TYPE', 'pubsub') >= 1, 'CLIENT KILL')
    eq(confirmations(messages(ps, 1)), [('subscribe', b'heal:d')])  # not heal:c
    ps.close()


@test
def pubsub_reconnect_false_is_not_renewed():
    r = client(reconnect=False)
    ps = r.pubsub()
    ps.subscribe('heal:e')
    messages(ps, 1)
    check(r.client('KILL', 'TYPE', 'pubsub') >= 1, 'CLIENT KILL')
    raises(OSError, ps.get_message, timeout=1000)
    raises(OSError, ps.get_message, timeout=10)
    ps.close()


@test
def pubsub_without_subscriptions_is_not_reopened():
    r = client()
    ps = r.pubsub()
    ps.subscribe('heal:f')
    ps.unsubscribe()
    eq(confirmations(messages(ps, 2)), [('subscribe', b'heal:f'), ('unsubscribe', b'heal:f')])
    # Out of subscribe mode now: killed by its id (the connection whose last command
    # was the UNSUBSCRIBE).
    ids = [line.split(b' ')[0][3:] for line in r.client('LIST').split(b'\n')
           if b' cmd=unsubscribe ' in line]
    eq(len(ids), 1, 'connections after UNSUBSCRIBE')
    eq(r.client('KILL', 'ID', ids[0]), 1, 'CLIENT KILL')
    raises(OSError, ps.get_message, timeout=1000)
    raises(OSError, ps.get_message, timeout=10)  # nothing to renew: stays closed
    ps.close()


run()
