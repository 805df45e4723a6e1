# Session state across a server-side kill (item 4), transactions cut by a kill and commands
# a transaction must not contain (item 5), MONITOR on a plain client (item 6), and address
# arguments that are out of range or of the wrong type (items 14, 15).
#
# A connection is killed from the server side with CLIENT KILL ID from a second client;
# the test then waits past the client's idle check (250 ms), so the next command finds
# the dead link and reconnects instead of failing with OSError.
import os
import time
from picoredis import Redis, RedisError
from ptest import test, run, eq, check, raises
from testenv import HOST, PORT, client

AUTH_PORT = int(os.getenv('PICOREDIS_AUTH_PORT') or 0)
PASSWORD = os.getenv('PICOREDIS_AUTH_PASSWORD')
ACL_USER = os.getenv('PICOREDIS_ACL_USER') or ''
ACL_PASSWORD = os.getenv('PICOREDIS_ACL_PASSWORD')

killer = client()
peek = client()


def kill(r, cid=None, via=None):
    """Kills r's connection from the server side; returns the id it had."""
    if cid is None:
        cid = r.client('ID')
    eq((via or killer)('CLIENT', 'KILL', 'ID', str(cid)), 1, 'CLIENT KILL')
    time.sleep_ms(300)
    return cid


def info(r):
    """CLIENT INFO as a dict of str -> bytes (db, name, resp, user, multi, ...)."""
    out = {}
    for field in r('CLIENT', 'INFO').strip().split(b' '):
        k, _, v = field.partition(b'=')
        out[k.decode()] = v
    return out


def check_session(r, db, name, resp, what):
    i = info(r)
    eq((i['db'], i['name'], i['resp']), (b'%d' % db, name, b'%d' % resp), what + ' (db, name, resp)')


def fresh(*keys, db=0):
    """Deletes keys left by an earlier run (by hand the server is not flushed between runs)."""
    c = client(db=db)
    c('DEL', *keys)
    c.close()


def reconnected(r, old_id):
    check(r.client('ID') != old_id, 'still the killed connection?')


# -- item 4: session state survives a kill ------------------------------------------------
@test
def item4_select_survives_kill():
    fresh('sess:k', 'sess:k2')
    fresh('sess:k', 'sess:k2', db=3)
    r = client()
    eq(r.select(3), b'OK')
    eq(r.set('sess:k', 'v3'), b'OK')
    old = kill(r)
    eq(r.set('sess:k2', 'x'), b'OK')
    reconnected(r, old)
    check_session(r, 3, b'', 2, 'after the kill')
    db3 = client(db=3)
    eq(db3.get('sess:k2'), b'x', 'SET after the kill landed in db 3')
    eq(peek.get('sess:k2'), None, 'SET after the kill landed in db 0')


@test
def item4_hello3_survives_kill():
    r = client()
    eq(r.hello(3)[b'proto'], 3)
    r.hset('sess:h', 'f', '1')
    eq(r.hgetall('sess:h'), {b'f': b'1'}, 'RESP3 before the kill')
    old = kill(r)
    eq(r.hgetall('sess:h'), {b'f': b'1'}, 'RESP3 after the kill')
    reconnected(r, old)
    eq(r('HELLO')[b'proto'], 3)


@test
def item4_setname_survives_kill():
    r = client()
    eq(r.client('SETNAME', 'board7'), b'OK')
    old = kill(r)
    eq(r.client('GETNAME'), b'board7')
    reconnected(r, old)


@test
def item4_auth_command_survives_kill():
    # Connected as the default user (password option), then AUTH switches to the ACL user:
    # the reconnect must authenticate as that user, not as the option's default user.
    r = Redis(HOST, AUTH_PORT, password=PASSWORD)
    eq(r.acl('WHOAMI'), b'default')
    eq(r.auth(ACL_USER, ACL_PASSWORD), b'OK')
    eq(r.acl('WHOAMI'), ACL_USER.encode())
    admin = Redis(HOST, AUTH_PORT, password=PASSWORD)
    old = kill(r, via=admin)
    eq(r('ACL', 'WHOAMI'), ACL_USER.encode())
    reconnected(r, old)


@test
def item4_reset_resets_what_is_reapplied():
    # RESET puts the connection back to db 0, RESP2, no name; a reconnect after it must not
    # bring back the earlier SELECT/SETNAME/HELLO, nor the db/client_name options.
    r = client(db=2, client_name='opt')
    r.select(3)
    r.client('SETNAME', 'board7')
    r.hello(3)
    check_session(r, 3, b'board7', 3, 'before RESET')
    eq(r.reset(), b'RESET')
    check_session(r, 0, b'', 2, 'after RESET')
    old = kill(r)
    check_session(r, 0, b'', 2, 'after RESET and a kill')
    reconnected(r, old)


@test
def item4_select_wins_over_db_option():
    r = client(db=2)
    check_session(r, 2, b'', 2, 'with db=2')
    r.select(5)
    old = kill(r)
    check_session(r, 5, b'', 2, 'after select(5) and a kill')
    reconnected(r, old)


# -- item 5: transactions ------------------------------------------------------------------
def transaction_error(e):
    check('transaction' in str(e), 'error does not mention the transaction: %r' % (e,))


@test
def item5_exec_after_kill_in_multi_raises():
    fresh('sess:a')
    r = client()
    cid = r.client('ID')
    eq(r.multi(), b'OK')
    eq(r.set('sess:a', '1'), b'QUEUED')
    kill(r, cid)
    transaction_error(raises(RedisError, r.exec))
    eq(r.ping(), b'PONG')  # the next command reconnects and works
    eq(r.get('sess:a'), None)
    eq(peek.get('sess:a'), None)


@test
def item5_command_after_kill_in_multi_is_not_run():
    fresh('sess:a', 'sess:b', 'sess:c')
    r = client()
    cid = r.client('ID')
    r.multi()
    r.set('sess:a', '1')
    kill(r, cid)
    # It must not run on a fresh connection outside the transaction the user started.
    transaction_error(raises(RedisError, r.set, 'sess:b', '2'))
    eq(peek.get('sess:b'), None, 'the command ran on a fresh connection')
    eq(r.set('sess:c', '3'), b'OK')  # the one after works normally
    eq(peek.get('sess:c'), b'3')
    eq(info(r)['multi'], b'-1')


@test
def item5_multi_after_kill_of_watch_raises():
    fresh('sess:w')
    r = client()
    eq(r.watch('sess:w'), b'OK')
    kill(r)
    transaction_error(raises(RedisError, r.multi))
    eq(r.ping(), b'PONG')  # not b'QUEUED': no transaction was opened
    eq(r.set('sess:w', 'x'), b'OK')
    eq(peek.get('sess:w'), b'x')


@test
def item5_unwatch_ends_watch_before_a_kill():
    # UNWATCH (any case, as every session name) ends the WATCH: a kill after it loses no
    # transaction, and the next command simply runs on a new connection.
    for name in ('UNWATCH', 'unwatch', 'UnWatch'):
        fresh('sess:uw')
        r = client()
        eq(r.watch('sess:uw'), b'OK')
        eq(r(name), b'OK')
        kill(r)
        eq(r.set('sess:uw', name), b'OK')
        eq(peek.get('sess:uw'), name.encode())


@test
def every_session_name_is_recognised():
    # The names the client follows (a packed table): each one, in any case, is told apart
    # from commands that only share its length or first letter.
    r = client()
    for name in ('SUBSCRIBE', 'psubscribe', 'SSubscribe'):
        e = raises(RedisError, r, name, 'sess:chan')
        check('connection of its own' in str(e), '%s: %r' % (name, e))
    raises(RedisError, r, 'Monitor')
    eq(r.ping(), b'PONG')
    eq(r('Select', 1), b'OK')
    eq(r('CLIENT', 'SetName', 'sess-n'), b'OK')
    check_session(r, 1, b'sess-n', 2, 'after Select and CLIENT SetName')
    kill(r)
    check_session(r, 1, b'sess-n', 2, 'after a kill: both re-applied')
    eq(r('Reset'), b'RESET')
    check_session(r, 0, b'', 2, 'after Reset')
    eq(r('Multi'), b'OK')
    raises(RedisError, r.select, 2)  # refused inside MULTI: MULTI was followed
    eq(r('Discard'), b'OK')
    eq(r('Multi'), b'OK')
    eq(r('Exec'), [])
    eq(r.select(2), b'OK')  # EXEC ended it
    eq(r('Hello', 3)[b'proto'], 3)
    kill(r)
    check_session(r, 2, b'', 3, 'after Hello 3 and a kill')
    # Names that only look like session commands run as plain commands.
    for name, args in (('ECHO', ('x',)), ('EXISTS', ('sess:none',)), ('SETNX', ('sess:nx', 'v')),
                       ('SUNION', ('sess:s1',)), ('MGET', ('sess:m',))):
        r(name, *args)
    eq(r.ping(), b'PONG')


def select_refused_in_multi(r):
    e = raises(RedisError, r.select, 2)
    msg = str(e)
    check('pipeline' in msg and 'transaction' in msg,
          'message does not point to pipeline(transaction=True): %r' % (e,))


@test
def item5_select_in_multi_refused_then_discard():
    fresh('sess:d')
    r = client()
    eq(r.multi(), b'OK')
    select_refused_in_multi(r)
    eq(r.discard(), b'OK')
    eq(r.set('sess:d', 'v'), b'OK')
    check_session(r, 0, b'', 2, 'after DISCARD')
    eq(peek.get('sess:d'), b'v')


@test
def item5_select_in_multi_is_not_sent():
    r = client()
    r.multi()
    select_refused_in_multi(r)
    eq(r.set('sess:e', 'v'), b'QUEUED')
    eq(r.exec(), [b'OK'], 'EXEC: the SELECT was queued too')
    check_session(r, 0, b'', 2, 'after EXEC')


# -- item 6: MONITOR needs a connection of its own -----------------------------------------
def monitor_refused(start):
    fresh('sess:mon')
    r = client()
    raises(RedisError, start, r)
    eq(r.ping(), b'PONG')
    killer.set('sess:mon', 'v')  # a monitoring r would get a line for this
    eq(r.get('sess:mon'), b'v')
    eq(r.echo('after'), b'after')
    eq(info(r)['flags'], b'N', 'CLIENT INFO flags')


@test
def item6_monitor_method_refused():
    monitor_refused(lambda r: r.monitor())


@test
def item6_monitor_call_refused():
    monitor_refused(lambda r: r('MONITOR'))


@test
def item6_monitor_do_cmd_refused():
    monitor_refused(lambda r: r.do_cmd('monitor'))


# -- item 14: ports out of range -------------------------------------------------------------
@test
def item14_port_out_of_range_in_constructor():
    raises(ValueError, Redis, HOST, 72937)  # 72937 & 0xffff is 7401
    raises(ValueError, Redis, HOST, -1)
    raises(ValueError, Redis, port=65536)


@test
def item14_connect_port_out_of_range_keeps_address():
    r = client()
    raises(ValueError, r.connect, port=70000)
    raises(ValueError, r.connect, HOST, -1)
    r.connect()
    eq(r.ping(), b'PONG')
    eq(int(info(r)['laddr'].split(b':')[1]), PORT)


# -- item 15: a bad port type leaves the host unchanged ---------------------------------------
@test
def item15_connect_type_error_keeps_host():
    r = Redis('127.0.0.1', PORT)
    raises(TypeError, r.connect, 'localhost-nonexistent.invalid', 'x')
    r.connect()  # to 127.0.0.1 still: the bad host was not kept
    eq(r.ping(), b'PONG')
    raises(TypeError, r.connect, 'localhost-nonexistent.invalid', port=b'6379')
    r.connect()
    eq(r.ping(), b'PONG')


run()
