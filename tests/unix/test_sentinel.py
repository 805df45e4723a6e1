# picoredis.Sentinel against a real Sentinel setup (tools/sentinel_fixture.py: a primary,
# a replica, 3 sentinels), a fake sentinel the tests point at will, and two spare plain
# servers that the tests turn into primary and replica under a client's connection (what
# a failover does to a client that stays connected to the old primary), to see the
# READONLY rule: a write refused by a replica is sent again once, on the new primary,
# unless it is a script or inside a transaction; a pipeline is never sent again. Then
# slave_for: clients of the replicas, with the fake sentinel naming the replicas the tests
# choose (flagged down, unreachable, a primary among them, a sentinel before Redis 5).
import time
import picoredis
from picoredis import Sentinel, MasterNotFoundError, RedisError
from ptest import test, run, eq, check, raises
from sentinelenv import (HOST, SENTINELS, NAME, FAKE_PORT, SPARE_PORTS, ctl, master_port,
                         plain, node_port, cmdstat, wait_for, have_setup)
from testenv import silent_listener


def closed_port():
    s, port = silent_listener()
    s.close()
    return port


@test
def setup_present():
    # Without the runner's Sentinel setup every other test here fails too: say why.
    check(have_setup(), "run through tests/run_unix_tests.py (it starts the Sentinel setup)")


# ---- discover_master -------------------------------------------------------------------------

@test
def discover_master_names_the_primary():
    m = master_port()
    s = Sentinel(SENTINELS, timeout=1000)
    eq(s.discover_master(NAME), (HOST, m))
    eq(s.discover_master(NAME), (HOST, m))    # again, over the open connection
    s.close()
    with plain(m) as p:
        eq(p.role()[0], b'master')


@test
def discover_skips_unreachable_and_unknowing_sentinels():
    m = master_port()
    ctl("point none")                        # the fake one knows no primary
    asked = int(ctl("asked"))
    s = Sentinel([(HOST, closed_port()), (HOST, FAKE_PORT)] + SENTINELS[1:], timeout=1000)
    eq(s.discover_master(NAME), (HOST, m))
    eq(int(ctl("asked")), asked + 1)
    # The sentinel that answered moved to the front: the next question goes to it alone.
    eq(s.discover_master(NAME), (HOST, m))
    eq(int(ctl("asked")), asked + 1)


@test
def discover_unknown_name_raises_master_not_found():
    s = Sentinel(SENTINELS, timeout=1000)
    e = raises(MasterNotFoundError, s.discover_master, 'no-such-primary')
    check(isinstance(e, OSError), "MasterNotFoundError is an OSError")
    eq(e.args[1], 'no-such-primary')
    check('no sentinel knows' in e.args[0], repr(e.args))


@test
def discover_with_no_sentinel_reachable():
    s = Sentinel([(HOST, closed_port()), (HOST, closed_port())], timeout=500)
    t0 = time.ticks_ms()
    raises(MasterNotFoundError, s.discover_master, NAME)
    check(time.ticks_diff(time.ticks_ms(), t0) < 2000, "refused sentinels are skipped at once")


@test
def malformed_sentinel_answers_are_not_trusted():
    s = Sentinel([(HOST, FAKE_PORT)], timeout=1000)
    ctl("point bad")                          # port 99999
    raises(MasterNotFoundError, s.discover_master, NAME)
    ctl("point none")
    raises(MasterNotFoundError, s.discover_master, NAME)
    ctl("point %d" % SPARE_PORTS[0])
    eq(s.discover_master(NAME), (HOST, SPARE_PORTS[0]))


@test
def sentinel_arguments_checked():
    raises(ValueError, Sentinel, [])
    raises(TypeError, Sentinel, [(HOST,)])
    raises(TypeError, Sentinel, [(1, 26379)])
    raises(TypeError, Sentinel, [(HOST, '26379')])
    raises(ValueError, Sentinel, [(HOST, 70000)])
    raises(TypeError, Sentinel, 5)
    raises(TypeError, Sentinel, SENTINELS, bogus=1)
    s = Sentinel(SENTINELS)
    raises(TypeError, s.discover_master, None)
    raises(ValueError, s.master_for, NAME, sock=object())
    raises(TypeError, s.master_for, NAME, 'extra positional')
    raises(TypeError, s.discover_slaves, None)
    raises(ValueError, s.slave_for, NAME, sock=object())
    raises(TypeError, s.slave_for, NAME, 'extra positional')
    raises(TypeError, s.slave_for)


# ---- master_for ----------------------------------------------------------------------------

@test
def master_for_reads_and_writes_on_the_primary():
    m = master_port()
    s = Sentinel(SENTINELS, timeout=1000)
    r = s.master_for(NAME, db=2, client_name='s7', decode_responses=True, timeout=2000)
    eq(node_port(r), m)
    eq(r.set('sk', 'v1'), 'OK')
    eq(r.get('sk'), 'v1')
    eq(r.client('GETNAME'), 's7')
    p = r.pipeline()
    p.incr('sn').incr('sn').get('sk')
    eq(p.execute(), [1, 2, 'v1'])
    with plain(m, db=2) as direct:
        eq(direct.get('sk'), b'v1')
    r.close()


@test
def master_for_keeps_the_session_across_a_reconnect():
    m = master_port()
    s = Sentinel(SENTINELS, timeout=1000)
    r = s.master_for(NAME, db=3, client_name='keep-me', protocol=3)
    r.set('kk', 'x')
    r.select(4)                               # the session the user set last
    r.set('kk4', 'y')
    with plain(m) as admin:
        eq(admin.client('KILL', 'SKIPME', 'yes', 'TYPE', 'normal') >= 1, True)
    time.sleep_ms(300)                        # past the idle poll: replaced before sending
    eq(r.get('kk4'), b'y')                    # db 4, on a new connection
    eq(r.client('GETNAME'), b'keep-me')
    eq(r.hello(3)[b'proto'], 3)
    eq(node_port(r), m)


@test
def master_for_refuses_a_replica():
    # A sentinel that names a replica (its view is stale): ROLE says slave, the connect
    # fails with MasterNotFoundError after its retries, each asking the sentinel again.
    m = master_port()
    replica = [p for p in (int(x) for x in ctl("nodes").split(",")) if p != m][0]
    ctl("point %d" % replica)
    s = Sentinel([(HOST, FAKE_PORT)], timeout=1000)
    asked = int(ctl("asked"))
    e = raises(MasterNotFoundError, s.master_for, NAME, retries=2, backoff_base=1)
    check('not a primary' in e.args[0], repr(e.args))
    eq(int(ctl("asked")), asked + 3)
    ctl("point %d" % m)
    r = s.master_for(NAME)
    eq(node_port(r), m)


@test
def master_for_pubsub_follows_the_primary():
    m = master_port()
    s = Sentinel(SENTINELS, timeout=1000)
    r = s.master_for(NAME)
    ps = r.pubsub()
    ps.subscribe('sch')
    eq(ps.get_message(timeout=1000)['type'], 'subscribe')
    with plain(m) as p:
        eq(p.publish('sch', 'hi'), 1)
    msg = ps.get_message(timeout=1000)
    eq(msg['data'], b'hi')
    ps.close()


# ---- READONLY: a primary demoted under the client's connection -------------------------------
# Two spare servers, A and B; the fake sentinel names the primary. flip(A, B): B becomes a
# replica of A (its clients stay connected, as a demoted primary's may), and the sentinel
# names A. Counters are reset, so each test sees what reached which node.

A, B = (SPARE_PORTS + [0, 0])[:2]


def flip(primary, replica):
    with plain(primary) as p, plain(replica) as q:
        p.replicaof('NO', 'ONE')
        q.replicaof(HOST, primary)
        wait_for(lambda: b'master_link_status:up' in q.info('replication'), 10000,
                 'replica link up')
        p.config('RESETSTAT')
        q.config('RESETSTAT')
    ctl("point %d" % primary)


def spare_client():
    return Sentinel([(HOST, FAKE_PORT)], timeout=1000).master_for(
        'spare', retries=0, timeout=2000)


@test
def readonly_write_is_sent_once_more_to_the_new_primary():
    flip(A, B)
    r = spare_client()
    eq(node_port(r), A)
    eq(r.set('rk', 'v0'), b'OK')
    flip(B, A)                                # A demoted under r's connection
    eq(r.set('rk', 'v1'), b'OK')              # refused by A, then done on B
    eq(cmdstat(A, 'set')[1], 1)               # refused once (its calls: B's replicated)
    eq(cmdstat(B, 'set'), (1, 0))             # run once
    eq(node_port(r), B)
    with plain(B) as b:
        eq(b.get('rk'), b'v1')


@test
def readonly_retry_is_made_once_only():
    flip(A, B)
    r = spare_client()
    eq(node_port(r), A)
    flip(B, A)
    ctl("point %d" % A)                       # the sentinel still names A, now a replica
    e = raises(MasterNotFoundError, r.set, 'rk', 'v2')
    check('not a primary' in e.args[0], repr(e.args))
    eq(cmdstat(A, 'set'), (0, 1))             # sent once; the retry never reached a node
    eq(cmdstat(B, 'set'), (0, 0))
    ctl("point %d" % B)
    eq(r.set('rk', 'v3'), b'OK')
    eq(cmdstat(B, 'set'), (1, 0))


@test
def readonly_script_is_not_sent_again():
    flip(A, B)
    r = spare_client()
    eq(node_port(r), A)
    flip(B, A)
    e = raises(RedisError, r.eval, "return redis.call('SET', KEYS[1], ARGV[1])", 1, 'rk4', 'v4')
    check('READONLY' in repr(e.args), repr(e.args))
    calls, rejected = cmdstat(A, 'eval')
    eq(calls + rejected, 1)
    eq(cmdstat(B, 'eval'), (0, 0))            # not sent again
    eq(r.get('rk4'), None)                    # the next command is on the new primary
    eq(node_port(r), B)


@test
def readonly_inside_multi_loses_the_transaction():
    flip(A, B)
    r = spare_client()
    eq(node_port(r), A)
    flip(B, A)
    eq(r.multi(), b'OK')
    e = raises(RedisError, r.set, 'rk5', 'v5')
    eq(e.args[0], 'READONLY')
    e = raises(RedisError, r.get, 'rk5')     # the transaction is gone with the link
    check('MULTI' in e.args[1], repr(e.args))
    eq(r.get('rk5'), None)                    # then the new primary
    eq(node_port(r), B)
    eq(cmdstat(B, 'set'), (0, 0))


@test
def readonly_in_a_pipeline_is_not_sent_again():
    flip(A, B)
    r = spare_client()
    r.set('pk', 'old')
    wait_for(lambda: plain(B).get('pk') == b'old', 2000, 'replication')
    flip(B, A)
    p = r.pipeline()
    p.set('pk', 'v6').get('pk')
    out = p.execute()
    check(isinstance(out[0], RedisError) and out[0].args[0] == 'READONLY', repr(out))
    eq(out[1], b'old')                        # the read ran on the replica, in step
    eq(node_port(r), B)                       # the next command reconnected
    eq(r.get('pk'), b'old')
    eq(cmdstat(B, 'set'), (0, 0))             # the refused SET was not sent again
    eq(cmdstat(A, 'set')[1], 1)



# ---- slave_for: a client of the replicas ---------------------------------------------------

def replica_port():
    m = master_port()
    return [p for p in (int(x) for x in ctl("nodes").split(",")) if p != m][0]


def role(r):
    return r.role()[0]


@test
def discover_slaves_names_the_replica():
    rp = replica_port()
    s = Sentinel(SENTINELS, timeout=1000)
    eq(s.discover_slaves(NAME), [(HOST, rp)])
    # RESP3 answers (maps) read the same.
    eq(Sentinel(SENTINELS, timeout=1000, protocol=3).discover_slaves(NAME), [(HOST, rp)])
    eq(s.discover_slaves('no-such-primary'), [])  # (redis-py: an empty list)


@test
def slave_for_reads_on_a_replica():
    m, rp = master_port(), replica_port()
    s = Sentinel(SENTINELS, timeout=1000)
    r = s.slave_for(NAME, db=2, client_name='ro7', timeout=2000)
    eq(node_port(r), rp)
    eq(role(r), b'slave')
    with plain(m, db=2) as w:
        w.set('slk', 'from-primary')
    wait_for(lambda: r.get('slk') == b'from-primary', 5000, 'replication')
    eq(r.client('GETNAME'), b'ro7')
    p = r.pipeline()
    p.get('slk').exists('slk')
    eq(p.execute(), [b'from-primary', 1])
    r.close()


@test
def slave_for_write_is_a_readonly_error_on_the_same_connection():
    rp = replica_port()
    r = Sentinel(SENTINELS, timeout=1000).slave_for(NAME, timeout=2000)
    cid = r.client('ID')
    with plain(rp) as p:
        p.config('RESETSTAT')
    e = raises(RedisError, r.set, 'slk2', 'v')
    eq(e.args[0], 'READONLY')
    eq(cmdstat(rp, 'set'), (0, 1))           # refused once, never sent again
    eq(r.client('ID'), cid)                   # no reconnect: the replica is where it belongs
    p = r.pipeline()
    p.set('slk2', 'v').get('slk2')
    out = p.execute()
    check(isinstance(out[0], RedisError) and out[0].args[0] == 'READONLY', repr(out))
    eq(out[1], None)
    eq(r.client('ID'), cid)
    eq(cmdstat(rp, 'set'), (0, 2))


@test
def slave_for_reconnects_to_a_replica():
    rp = replica_port()
    r = Sentinel(SENTINELS, timeout=1000).slave_for(NAME, db=3, timeout=2000)
    cid = r.client('ID')
    with plain(rp) as admin:
        eq(admin.client('KILL', 'ID', cid), 1)
    time.sleep_ms(300)                        # past the idle poll: replaced before sending
    check(r.client('ID') != cid, 'a new connection')
    eq(node_port(r), rp)
    eq(role(r), b'slave')
    check(b' db=3 ' in r.client('INFO'), 'the session kept')


@test
def slave_for_pubsub_follows_the_replica():
    m, rp = master_port(), replica_port()
    ps = Sentinel(SENTINELS, timeout=1000).slave_for(NAME).pubsub()
    ps.subscribe('slch')
    eq(ps.get_message(timeout=1000)['type'], 'subscribe')
    with plain(rp) as p:
        eq(p('PUBSUB', 'NUMSUB', 'slch'), [b'slch', 1])  # subscribed on the replica
    with plain(m) as p:
        p.publish('slch', 'hi')               # (a primary's PUBLISH reaches its replicas)
    eq(ps.get_message(timeout=2000)['data'], b'hi')
    ps.close()


@test
def discover_slaves_skips_replicas_flagged_down():
    rp = replica_port()
    s = Sentinel([(HOST, FAKE_PORT)], timeout=1000)
    ctl("replicas %d/slave+s_down,%d/slave+o_down,%d/slave+disconnected,%d/slave,%d/slave+s_down"
        % (A, B, A, rp, B))
    eq(s.discover_slaves(NAME), [(HOST, rp)])
    ctl("replicas %d/slave+s_down" % A)
    eq(s.discover_slaves(NAME), [])


@test
def discover_slaves_asks_slaves_before_redis_5():
    rp = replica_port()
    ctl("replicas old:%d" % rp)               # REPLICAS is an error there
    eq(Sentinel([(HOST, FAKE_PORT)], timeout=1000).discover_slaves(NAME), [(HOST, rp)])


def spare_slave_client(**kw):
    return Sentinel([(HOST, FAKE_PORT)], timeout=1000).slave_for('spare', timeout=2000, **kw)


def reconnected(r):
    """The node `r` is on after a reconnect (close(): the next command opens anew)."""
    r.close()
    return node_port(r)


@test
def slave_for_rotates_among_replicas():
    rp = replica_port()
    flip(A, B)                                # B: a replica (of A), as rp is
    ctl("replicas %d,%d" % (rp, B))
    r = spare_slave_client()
    first = node_port(r)
    second = reconnected(r)
    eq(sorted([first, second]), sorted([rp, B]))
    eq(reconnected(r), first)
    eq(reconnected(r), second)
    eq(role(r), b'slave')


@test
def slave_for_skips_unreachable_replicas_and_primaries():
    rp = replica_port()
    flip(A, B)                                # A: a primary; ROLE tells it from a replica
    ctl("replicas %d,%d,%d" % (closed_port(), A, rp))
    r = spare_slave_client(retries=0)
    for _ in range(3):
        eq(node_port(r), rp)
        eq(role(r), b'slave')
        r.close()


@test
def slave_for_falls_back_to_the_primary():
    flip(A, B)
    ctl("point %d" % A)
    ctl("replicas none")                      # no replica at all
    r = spare_slave_client(retries=0)
    eq(node_port(r), A)
    eq(role(r), b'master')
    eq(r.set('slk3', 'v'), b'OK')             # (it is the primary)
    ctl("replicas %d" % closed_port())        # none reachable
    eq(reconnected(r), A)
    ctl("replicas %d" % B)                    # one again: the next connect goes there
    eq(reconnected(r), B)
    eq(role(r), b'slave')
    ctl("replicas none")
    ctl("point none")                         # neither replica nor primary
    r.close()
    raises(MasterNotFoundError, r.get, 'slk3')


run()
