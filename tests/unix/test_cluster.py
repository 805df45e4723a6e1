# picoredis.RedisCluster against a real local cluster (tools/redis_cluster_fixture.py:
# 3 masters + 3 replicas, ports in PICOREDIS_CLUSTER_PORTS, set by the runner).
# Slots are moved by hand (CLUSTER SETSLOT + MIGRATE) to see MOVED and ASK followed.
import os

import picoredis
import picoredis
from ptest import test, run, eq, check, raises

if not hasattr(picoredis, 'RedisCluster'):
    # A build without the cluster part (PICOREDIS_FEATURES, NATMOD_FEATURES).
    print('NOTE picoredis has no RedisCluster here: nothing to test')
    run()
    raise SystemExit

from picoredis import Redis, RedisCluster, RedisError

PORTS = [int(p) for p in (os.getenv('PICOREDIS_CLUSTER_PORTS') or '').split(',') if p]
HOST = '127.0.0.1'


def node(port):
    return Redis(HOST, port)


def masters():
    """[(start, end, port, node id)] of the live map, from the first node that answers."""
    for p in PORTS:
        try:
            r = node(p)
        except OSError:
            continue
        slots = r.cluster('slots')
        r.close()
        # (Reply ints are int objects that Redis(port=...) refuses: made small here.)
        return sorted((int(str(s[0])), int(str(s[1])), int(str(s[2][1])), s[2][2].decode())
                      for s in slots)
    raise OSError('no cluster node answers')


def master_ports():
    return sorted(set(p for s, e, p, i in masters()))


def owner(slot):
    for s, e, p, i in masters():
        if s <= slot <= e:
            return p, i
    raise AssertionError('slot %d has no owner' % slot)


def calls(port, cmd):
    """How many times `cmd` ran on the node at `port` (INFO commandstats)."""
    r = node(port)
    info = r.info('commandstats').decode()
    r.close()
    for line in info.split('\r\n'):
        if line.startswith('cmdstat_%s:calls=' % cmd):
            return int(line.split('calls=')[1].split(',')[0])
    return 0


def errors(port, code):
    """How many `code` error replies (MOVED, ASK, ...) the node at `port` gave."""
    r = node(port)
    info = r.info('errorstats').decode()
    r.close()
    for line in info.split('\r\n'):
        if line.startswith('errorstat_%s:count=' % code):
            return int(line.split('count=')[1])
    return 0


def cluster(**kw):
    return RedisCluster(HOST, PORTS[0], **kw)


def move_slot(slot, keys, src, src_id, dst, dst_id, finish=True):
    """Moves `keys` of `slot` from node src to dst (IMPORTING/MIGRATING, MIGRATE); with
    `finish`, the slot is then given to dst on every master (the MOVED case), else left
    in migration (the ASK case)."""
    a, b = node(src), node(dst)
    b.cluster('setslot', slot, 'importing', src_id)
    a.cluster('setslot', slot, 'migrating', dst_id)
    if keys:
        a.migrate(HOST, dst, '', 0, 5000, 'KEYS', *keys)
    if finish:
        for p in master_ports():
            n = node(p)
            n.cluster('setslot', slot, 'node', dst_id)
            n.close()
        b.cluster('setslot', slot, 'node', dst_id)
    a.close()
    b.close()


@test
def test_fixture_is_a_cluster():
    check(len(PORTS) == 6, 'PICOREDIS_CLUSTER_PORTS: %r' % PORTS)
    m = masters()
    eq(len(m), 3)
    eq(sum(e - s + 1 for s, e, p, i in m), 16384)


@test
def test_keyslot_matches_server():
    # CRC16/XMODEM and the hash-tag rules, checked against the server's own answer.
    rc = cluster()
    r = node(PORTS[0])
    keys = ['foo', 'bar', '', '{', '}', '{}', '{}x', 'x{}', '{a}', 'a{b}c', 'a{b}{c}',
            '{{a}}', '{a', 'a}', 'a{}{b}', '{user1000}.following', '{user1000}.followers',
            b'\x00\xff{\xfe}', 'ключ', 12345, -7, 0]
    keys += ['key:%d' % i for i in range(200)]
    for k in keys:
        eq(rc.keyslot(k), r.cluster('keyslot', k), 'keyslot(%r)' % (k,))
    eq(rc.keyslot('foo'), 12182)   # the spec's example values
    eq(rc.keyslot('{user1000}.following'), rc.keyslot('user1000'))
    r.close()
    rc.close()


@test
def test_call_styles_and_keys_on_all_masters():
    rc = cluster()
    eq(rc.set('style:a', 1), b'OK')
    eq(rc('GET', 'style:a'), b'1')
    eq(rc.do_cmd('INCR', 'style:a'), 2)
    eq(rc.ping(), b'PONG')
    # 300 keys: each is on the master that owns its slot, and every master has some.
    for i in range(300):
        rc.set('spread:%d' % i, 'v%d' % i)
    m = masters()
    seen = set()
    direct = {p: node(p) for s, e, p, i in m}
    for i in range(300):
        k = 'spread:%d' % i
        slot = rc.keyslot(k)
        p = [p for s, e, p, _ in m if s <= slot <= e][0]
        eq(direct[p].get(k), b'v%d' % i, k)   # (a wrong master would answer MOVED)
        eq(rc.get(k), b'v%d' % i)
        seen.add(p)
    eq(len(seen), 3)
    for r in direct.values():
        r.close()
    rc.close()


@test
def test_hash_tags_keep_keys_together():
    rc = cluster()
    eq(rc.mset('{tag}a', 1, '{tag}b', 2, '{tag}c', 3), b'OK')
    eq(rc.mget('{tag}a', '{tag}b', '{tag}c'), [b'1', b'2', b'3'])
    eq(rc.DEL('{tag}a', '{tag}b'), 2)
    eq(rc.eval("return redis.call('get', KEYS[1])", 1, '{tag}c'), b'3')
    rc.xadd('{s}1', '*', 'f', 'v')
    rc.xadd('{s}2', '*', 'f', 'w')
    got = rc.xread('COUNT', 1, 'STREAMS', '{s}1', '{s}2', '0', '0')
    eq(len(got), 2)
    rc.close()


@test
def test_crossslot_refused_before_sending():
    rc = cluster()
    m = masters()
    # (A command the server refuses is not in its commandstats' calls: its errors are.)
    def seen():
        return sum(calls(p, 'mget') + calls(p, 'mset') + calls(p, 'eval') + calls(p, 'multi')
                   + errors(p, 'CROSSSLOT') + errors(p, 'MOVED') for p in master_ports())
    before = seen()
    check(rc.keyslot('a') != rc.keyslot('b'))
    del m
    for fn, args in ((rc.mget, ('a', 'b')), (rc.mset, ('a', 1, 'b', 2)),
                     (rc.eval, ('return 1', 2, 'a', 'b')), (rc.rename, ('a', 'b')),
                     (rc.blpop, ('a', 'b', 1)), (rc.xread, ('STREAMS', 'a', 'b', '0', '0'))):
        e = raises(RedisError, fn, *args)
        eq(e.args[0], 'CROSSSLOT')
    p = rc.pipeline(transaction=True)
    p.set('a', 1).set('b', 2)
    eq(raises(RedisError, p.execute).args[0], 'CROSSSLOT')
    eq(seen() - before, 0, 'commands that reached a server')
    # Transactions and session commands one by one are refused too.
    eq(raises(RedisError, rc.multi).args[0], 'ERR')
    eq(raises(RedisError, rc.select, 1).args[0], 'ERR')
    rc.close()


@test
def test_moved_after_a_slot_moved():
    rc = cluster()
    k = 'moving:1'
    slot = rc.keyslot(k)
    eq(rc.set(k, 'before'), b'OK')            # rc's map: the slot on its old owner
    src, src_id = owner(slot)
    dst, dst_id = [(p, i) for s, e, p, i in masters() if p != src][0]
    move_slot(slot, [k], src, src_id, dst, dst_id)
    eq(owner(slot)[0], dst)
    moved, gets_dst = errors(src, 'MOVED'), calls(dst, 'get')
    eq(rc.get(k), b'before')                  # MOVED from src, followed to dst
    eq(errors(src, 'MOVED') - moved, 1, 'MOVED replies from the old owner')
    eq(calls(dst, 'get') - gets_dst, 1, 'GETs on the new owner')
    eq(rc.get(k), b'before')                  # the map was patched: straight to dst
    eq(errors(src, 'MOVED') - moved, 1, 'MOVED replies after the patch')
    eq(calls(dst, 'get') - gets_dst, 2, 'GETs on the new owner after the patch')
    eq(rc.set(k, 'after'), b'OK')
    r = node(dst)
    eq(r.get(k), b'after')
    r.close()
    rc.close()


@test
def test_ask_during_a_migration():
    rc = cluster()
    moved, stays = '{mig}moved', '{mig}stays'
    slot = rc.keyslot(moved)
    rc.set(moved, 'm')
    rc.set(stays, 's')
    src, src_id = owner(slot)
    dst, dst_id = [(p, i) for s, e, p, i in masters() if p != src][0]
    move_slot(slot, [moved], src, src_id, dst, dst_id, finish=False)
    asking, asks = calls(dst, 'asking'), errors(src, 'ASK')
    eq(rc.get(moved), b'm')                   # ASK from src: ASKING + GET on dst
    eq(errors(src, 'ASK') - asks, 1, 'ASK replies from the migrating node')
    eq(calls(dst, 'asking') - asking, 1, 'ASKING on the importing node')
    gets_src = calls(src, 'get')
    eq(rc.get(stays), b's')                   # map unchanged: still asks src first
    eq(calls(src, 'get') - gets_src, 1)
    eq(rc.get(moved), b'm')                   # and ASK again for the moved key
    eq(calls(dst, 'asking') - asking, 2)
    # Finish the migration; the next command gets MOVED and follows it.
    a = node(src)
    a.migrate(HOST, dst, '', 0, 5000, 'KEYS', stays)
    a.close()
    for p in master_ports():
        n = node(p)
        n.cluster('setslot', slot, 'node', dst_id)
        n.close()
    eq(rc.get(stays), b's')
    eq(rc.get(moved), b'm')
    rc.close()


@test
def test_tryagain_retried_within_the_budget():
    # A multi-key command whose keys are split by a migration: TRYAGAIN, retried with a
    # backoff until the budget is spent, then a clear error; once the slot has moved,
    # the same command works.
    import time
    rc = cluster()
    a, b = '{split}a', '{split}b'
    rc.set(a, 1)
    rc.set(b, 2)
    slot = rc.keyslot(a)
    src, src_id = owner(slot)
    dst, dst_id = [(p, i) for s, e, p, i in masters() if p != src][0]
    tries = errors(src, 'TRYAGAIN')
    move_slot(slot, [b], src, src_id, dst, dst_id, finish=False)
    t0 = time.ticks_ms()
    e = raises(RedisError, rc.mget, a, b)
    ms = time.ticks_diff(time.ticks_ms(), t0)
    eq(e.args, ('CLUSTERDOWN', 'retry budget spent'))
    eq(errors(src, 'TRYAGAIN') - tries, 16, 'attempts (TRYAGAIN replies)')
    check(1500 < ms < 5000, 'time spent retrying: %d ms' % ms)
    n = node(src)
    n.migrate(HOST, dst, '', 0, 5000, 'KEYS', a)
    n.close()
    for p in master_ports():
        n = node(p)
        n.cluster('setslot', slot, 'node', dst_id)
        n.close()
    eq(rc.mget(a, b), [b'1', b'2'])
    rc.close()


@test
def test_pipeline_across_nodes():
    rc = cluster()
    p = rc.pipeline()
    n = 300
    for i in range(n):
        p.set('pipe:%d' % i, i)
        p.get('pipe:%d' % i)
        p.incr('pipe:%d' % i)
    p.hset('pipe:%d' % 0, 'f', 1)            # a WRONGTYPE error, in place
    out = p.execute()
    eq(len(out), 3 * n + 1)
    for i in range(n):
        eq(out[3 * i], b'OK')
        eq(out[3 * i + 1], b'%d' % i)
        eq(out[3 * i + 2], i + 1)
    check(isinstance(out[-1], RedisError) and out[-1].args[0] == 'WRONGTYPE', repr(out[-1]))
    # One write per node: each master saw its commands, all of them.
    eq(len(p), 0)
    eq(rc.pipeline().execute(), [])
    rc.close()


@test
def test_pipeline_follows_moved():
    rc = cluster()
    keys = ['pm:%d' % i for i in range(60)]
    for k in keys:
        rc.set(k, k)
    k = keys[7]
    slot = rc.keyslot(k)
    src, src_id = owner(slot)
    dst, dst_id = [(p, i) for s, e, p, i in masters() if p != src][0]
    move_slot(slot, [x for x in keys if rc.keyslot(x) == slot], src, src_id, dst, dst_id)
    p = rc.pipeline()
    for x in keys:
        p.get(x)
    eq(p.execute(), [x.encode() for x in keys])
    rc.close()


@test
def test_transaction_in_one_slot():
    rc = cluster()
    p = rc.pipeline(transaction=True)
    p.set('{tx}a', 1).incr('{tx}a').get('{tx}a').ping()
    eq(p.execute(), [b'OK', 2, b'2', b'PONG'])
    rc.close()


@test
def test_connection_cap():
    # max_connections=1: one node connection at a time, the idlest closed first.
    rc = cluster(max_connections=1, client_name='pr-cap')
    for i in range(60):
        rc.set('cap:%d' % i, i)
        eq(rc.get('cap:%d' % i), b'%d' % i)
    named = []
    for p in master_ports():
        r = node(p)
        named.append(r.client('list').count(b'name=pr-cap '))
        r.close()
    eq(sum(named), 1, repr(named))
    rc.close()
    rc = cluster(client_name='pr-cap2')       # default 4: one per master here
    for i in range(60):
        rc.set('cap:%d' % i, i)
    named = 0
    for p in master_ports():
        r = node(p)
        named += r.client('list').count(b'name=pr-cap2 ')
        r.close()
    eq(named, 3)
    rc.close()


@test
def test_startup_nodes_and_errors():
    # Any live node finds the map, even after dead ones.
    rc = RedisCluster(startup_nodes=[(HOST, 1), (HOST, PORTS[3])], retries=0)
    eq(rc.set('sn', 1), b'OK')
    rc.close()
    raises(OSError, RedisCluster, HOST, 1, retries=0)
    raises(TypeError, RedisCluster, startup_nodes=[HOST])
    raises(ValueError, RedisCluster, HOST, PORTS[0], max_connections=0)
    raises(TypeError, Redis, HOST, PORTS[0], startup_nodes=[(HOST, PORTS[0])])  # the cluster's own
    raises(TypeError, Redis, HOST, PORTS[0], max_connections=2)
    # Sentinel and master_for share Redis()'s option parser, and refuse them as Redis does.
    Sentinel = getattr(picoredis, 'Sentinel', None)
    if Sentinel:
        raises(TypeError, Sentinel, [(HOST, 1)], startup_nodes=[(HOST, PORTS[0])])
        s = Sentinel([(HOST, 1)])
        raises(TypeError, s.master_for, 'mymaster', max_connections=2)
        s.close()
    rc = cluster()
    raises(TypeError, rc.get, None)
    e = raises(RedisError, rc.hset, 'x')        # a server error passes through
    eq(e.args[0], 'ERR')
    check('RedisCluster' in repr(type(rc)))
    rc.close()


run()
