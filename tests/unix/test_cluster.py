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


def replicas_of(port):
    """Ports of the replicas CLUSTER SLOTS names for the master at `port`, once it
    names one and it is in sync (a new cluster's replicas take a moment)."""
    import time
    t0 = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t0) < 10000:
        r = node(PORTS[0])
        slots = r.cluster('slots')
        r.close()
        for s in slots:
            if int(str(s[2][1])) == port and len(s) > 3:
                reps = sorted(int(str(x[1])) for x in s[3:])
                r = node(reps[0])
                synced = b'master_link_status:up' in r.info('replication')
                r.close()
                if synced:
                    return reps
        time.sleep_ms(100)
    raise AssertionError('no replica of %d' % port)


def client_lines(port, name):
    """The CLIENT LIST lines of the connections named `name` on the node at `port`."""
    r = node(port)
    lines = [l for l in r.client('list').decode().split('\n') if ' name=%s ' % name in l]
    r.close()
    return lines


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
    raises(TypeError, Redis, HOST, PORTS[0], read_from_replicas=True)
    # Sentinel and master_for share Redis()'s option parser, and refuse them as Redis does.
    Sentinel = getattr(picoredis, 'Sentinel', None)
    if Sentinel:
        raises(TypeError, Sentinel, [(HOST, 1)], startup_nodes=[(HOST, PORTS[0])])
        s = Sentinel([(HOST, 1)])
        raises(TypeError, s.master_for, 'mymaster', max_connections=2)
        s.close()
    rc = cluster()
    raises(TypeError, rc.get, None)
    raises(TypeError, rc.keyslot, 1.5)
    eq(rc.set(1.5, 'f'), b'OK')                # a float key: MOVED finds its node
    eq(rc.get(1.5), b'f')
    e = raises(RedisError, rc.hset, 'x')        # a server error passes through
    eq(e.args[0], 'ERR')
    check('RedisCluster' in repr(type(rc)))
    rc.close()


def canned(reply):
    """A RedisCluster on the fake server, whose CLUSTER SLOTS answer is `reply` (raw
    RESP; tests/fake_server.py: CLIENT SETNAME reply:<hex>)."""
    from testenv import hexstr, FAKE_PORT
    return RedisCluster(HOST, FAKE_PORT, client_name='reply:' + hexstr(reply), retries=0)


@test
def test_malformed_slot_map_is_not_trusted():
    # A node whose CLUSTER SLOTS answer is not ranges of ints and (host, port) pairs:
    # the entries that are not are left out of the map (as Sentinel leaves out an
    # answer it cannot read); the cluster is made, and works (a command without keys
    # goes to the node that answered). Before: TypeError from deep inside the map
    # reader ("can't convert bytes to int"), the server's fault reported as the caller's.
    from testenv import FAKE_PORT, hexstr
    if FAKE_PORT is None:
        return
    node = b'*2\r\n$9\r\n127.0.0.1\r\n:%d\r\n' % FAKE_PORT
    for reply in [
        b'*1\r\n*3\r\n$1\r\nx\r\n:16383\r\n' + node,              # start not an int
        b'*1\r\n*3\r\n:0\r\n$5\r\n16383\r\n' + node,              # end not an int
        b'*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n$2\r\nxx\r\n',  # port
        b'*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:70000\r\n',  # range
        b'*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n:1\r\n:%d\r\n' % FAKE_PORT,  # host
        b'+OK\r\n',                                                 # not a list at all
        b'*2\r\n:5\r\n*1\r\n:0\r\n',                                 # entries not lists
    ]:
        rc = canned(reply)
        eq(rc.script(hexstr(b'+OK\r\n')), b'OK')
        rc.close()


@test
def test_malformed_redirection_is_not_followed():
    # A MOVED/ASK whose slot or port is out of range (or not a number) reaches the caller
    # as the error it is, at once. Before: the port was taken mod 65536 (70000: port
    # 4464) and the slot mod 16384, and the command chased a node that is not there
    # until the retry budget was spent.
    import time
    from testenv import FAKE_PORT, hexstr
    if FAKE_PORT is None:
        return
    ok = b'*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:%d\r\n' % FAKE_PORT
    rc = canned(ok)
    for err in [b'MOVED 1 127.0.0.1:70000', b'ASK 1 127.0.0.1:-1', b'MOVED 16384 :%d' % FAKE_PORT,
                b'MOVED x 127.0.0.1:%d' % FAKE_PORT, b'ASK 1 127.0.0.1:']:
        t0 = time.ticks_ms()
        e = raises(RedisError, rc.script, hexstr(b'-' + err + b'\r\n'))
        eq(e.args[0], err.split()[0].decode())
        check(time.ticks_diff(time.ticks_ms(), t0) < 500, 'not retried')
    eq(rc.script(hexstr(b'+OK\r\n')), b'OK')     # still usable
    rc.close()



@test
def test_shares_redis_methods():
    # RedisCluster shares Redis's methods table (one type machinery in the glue):
    # connect() reloads the slot map, pubsub() is refused (no pub/sub on a cluster),
    # and a Redis computes keyslot() too.
    rc = cluster()
    k = 'reload:1'
    slot = rc.keyslot(k)
    eq(rc.set(k, 'v'), b'OK')
    src, src_id = owner(slot)
    dst, dst_id = [(p, i) for s, e, p, i in masters() if p != src][0]
    move_slot(slot, [k], src, src_id, dst, dst_id)
    moved = errors(src, 'MOVED')
    eq(rc.connect(), None)                     # the map again: the slot on dst
    eq(rc.get(k), b'v')
    eq(errors(src, 'MOVED') - moved, 0, 'MOVED after connect() reloaded the map')
    if hasattr(Redis, 'pubsub'):
        raises(TypeError, rc.pubsub)
    r = node(PORTS[0])
    eq(r.keyslot('foo'), 12182)
    r.close()
    rc.close()


@test
def test_read_from_replicas():
    # read_from_replicas=True: the reads of the table go to the master and its replica
    # in turn, on connections that sent READONLY in their handshake; writes,
    # transactions and other commands go to the master (a write on a replica's READONLY
    # connection would be answered MOVED: the replicas' MOVED counts stay put).
    k = 'rr:{rr}'
    rc = cluster()
    m = owner(rc.keyslot(k))[0]
    rc.close()
    reps = replicas_of(m)
    eq(len(reps), 1, 'replicas of %d' % m)
    rep = reps[0]
    # (Made once the replicas are in the map: it knows those CLUSTER SLOTS named.)
    rc = cluster(read_from_replicas=True, max_connections=6, client_name='pr-rr')
    moved = {p: errors(p, 'MOVED') for p in PORTS}
    eq(rc.set(k, 'v1'), b'OK')
    eq(rc.incr(k + 'n'), 1)
    p = rc.pipeline(transaction=True)
    p.set(k, 'v2').get(k)
    eq(p.execute(), [b'OK', b'v2'])
    p = rc.pipeline()
    p.set(k, 'v3').set(k + 'x', 1)
    eq(p.execute(), [b'OK', b'OK'])
    # A read on the replica after a write sees it once the replica has it: WAIT 1 0
    # first, on the connection that wrote (with one node connection, the keyless WAIT
    # goes to the connected master, the one that took the SET).
    rc1 = cluster(read_from_replicas=True, max_connections=1)
    gets = calls(rep, 'get')
    for i in range(8):
        v = b'w%d' % i
        eq(rc1.set(k, v), b'OK')
        eq(rc1.wait(1, 0), 1, 'replicas that acknowledged')
        eq(rc1.get(k), v)                     # the master or the replica, in turn
    eq(calls(rep, 'get') - gets, 4, 'GETs the replica served')
    rc1.close()
    # Reads alternate: as many on the replica as on the master.
    gets = calls(m, 'get'), calls(rep, 'get')
    for i in range(10):
        eq(rc.get(k), b'w7')
    eq(rc.mget(k, k + 'x'), [b'w7', b'1'])     # (a multi-key read too)
    eq((calls(m, 'get') - gets[0], calls(rep, 'get') - gets[1]), (5, 5))
    check(any(' flags=r ' in l for l in client_lines(rep, 'pr-rr')),
          'a READONLY connection on the replica: %r' % client_lines(rep, 'pr-rr'))
    # The session rule: a new connection to the replica sends READONLY again.
    readonly = calls(rep, 'readonly')
    r = node(rep)
    for line in client_lines(rep, 'pr-rr'):
        r.client('kill', 'id', int(line.split(' ')[0][3:]))
    r.close()
    import time
    time.sleep_ms(300)                       # (idle: the next command finds it closed)
    for i in range(4):
        eq(rc.get(k), b'w7')
    eq(calls(rep, 'readonly') - readonly, 1, 'READONLY on the new connection')
    eq({p: errors(p, 'MOVED') - moved[p] for p in PORTS}, {p: 0 for p in PORTS},
       'MOVED replies (a write or a read on the wrong node)')
    # A pipeline's reads go to one node per slot, in turn too.
    for i in range(2):
        p = rc.pipeline()
        p.get(k).get(k + 'x').set(k + 'y', i)
        eq(p.execute(), [b'w7', b'1', b'OK'])
    rc.close()


@test
def test_replica_read_follows_moved():
    # The slot moves to another master: the old replica answers MOVED (once it knows
    # the new owner), which is followed as a master's is.
    k = 'rr:{rm}'
    rc = cluster()
    slot = rc.keyslot(k)
    rc.close()
    src, src_id = owner(slot)
    rep = replicas_of(src)[0]
    rc = cluster(read_from_replicas=True, max_connections=6)
    eq(rc.set(k, 'here'), b'OK')
    eq(rc.get(k), b'here')
    eq(rc.get(k), b'here')                   # (the map now knows the replica's link)
    dst, dst_id = [(p, i) for s, e, p, i in masters() if p != src][0]
    r = node(src)
    r.wait(1, 0)
    r.close()
    move_slot(slot, [k], src, src_id, dst, dst_id)
    import time
    t0 = time.ticks_ms()
    while True:                              # the replica learns the new owner
        r = node(rep)
        r.readonly()
        try:
            r.get(k)
            known = False
        except RedisError as e:
            known = e.args[0] == 'MOVED'
        r.close()
        if known:
            break
        check(time.ticks_diff(time.ticks_ms(), t0) < 5000, 'the replica learns the move')
        time.sleep_ms(50)
    moved = errors(rep, 'MOVED') + errors(src, 'MOVED')
    for i in range(4):
        eq(rc.get(k), b'here')
    check(errors(rep, 'MOVED') + errors(src, 'MOVED') - moved >= 1, 'a MOVED followed')
    eq(rc.set(k, 'there'), b'OK')
    r = node(dst)
    eq(r.get(k), b'there')
    r.close()
    rc.close()


run()
