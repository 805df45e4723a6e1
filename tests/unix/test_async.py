# picoredis.asyncio against real servers: many tasks on one connection (every reply
# checked against its command), cancellation and wait_for timeouts mid-command, a
# connection killed or a server restarted under load, pub/sub re-subscribing after a
# kill, backoff bounds and jitter, health checks, on_connect, refused commands.
import os
import socket
import time
import asyncio
from picoredis import RedisError, RedisTimeout
from picoredis.asyncio import Redis
from ptest import test, run, eq, check
from testenv import HOST, PORT, restart_server

RESTART_PORT = int(os.getenv('PICOREDIS_RESTART_PORT'))


def arun(coro):
    return asyncio.run(coro)


async def kill(r, victim_id):
    await r.client('KILL', 'ID', str(victim_id))


@test
def fifty_tasks_share_one_connection():
    async def worker(r, i, bad):
        key = 'async:c%d' % i
        for j in range(200):
            v = await r.incr(key)
            if v != j + 1:
                bad.append((key, j + 1, v))
            g = await r.get(key)
            if g != str(j + 1).encode():
                bad.append((key, j + 1, g))

    async def main():
        r = Redis(HOST, PORT, client_name='async-fifty')
        await r.DEL(*['async:c%d' % i for i in range(50)])
        bad = []
        await asyncio.gather(*[worker(r, i, bad) for i in range(50)])
        eq(bad, [])
        listing = await r.client('LIST')
        conns = [l for l in listing.split(b'\n') if b'name=async-fifty' in l]
        eq(len(conns), 1, 'connections')
        await r.close()
    arun(main())


@test
def cancelled_task_reply_is_read_and_dropped():
    async def main():
        r = Redis(HOST, PORT)
        slow = asyncio.create_task(r('DEBUG', 'SLEEP', 0.2))
        await asyncio.sleep_ms(20)
        slow.cancel()
        # Queued behind the cancelled command: each must get its own reply.
        got = await asyncio.gather(*[r.echo('tok%d' % i) for i in range(10)])
        eq(got, [b'tok%d' % i for i in range(10)])
        eq(await r.ping(), b'PONG')
        await r.close()
    arun(main())


@test
def wait_for_timeout_never_desyncs():
    async def main():
        r = Redis(HOST, PORT)
        for i in range(3):
            try:
                await asyncio.wait_for_ms(r('DEBUG', 'SLEEP', 0.1), 20)
                check(False, 'no TimeoutError')
            except asyncio.TimeoutError:
                pass
            eq(await r.echo('after%d' % i), b'after%d' % i)
        await r.close()
    arun(main())


async def load(r, tag, n, stats, until=None):
    # SET then GET of unique values; a failed command is an error, never a wrong value.
    # At least n pairs, and on until until['done'] when given (so the load outlasts what
    # is done to the connection meanwhile, however fast the client runs).
    j = 0
    while j < n or (until is not None and not until['done']):
        j += 1
        key = 'async:%s' % tag
        val = '%s-%d' % (tag, j)
        try:
            await r.set(key, val)
            got = await r.get(key)
            if got != val.encode():
                stats['wrong'].append((key, val, got))
            else:
                stats['ok'] += 1
        except (OSError, RedisTimeout) as e:
            stats['errors'] += 1
            await asyncio.sleep_ms(5)


@test
def connection_killed_under_load():
    async def main():
        r = Redis(HOST, PORT, backoff_base=5, backoff_cap=20)
        other = Redis(HOST, PORT)
        stats = {'ok': 0, 'errors': 0, 'wrong': []}
        until = {'done': False}
        tasks = [asyncio.create_task(load(r, 'k%d' % i, 150, stats, until))
                 for i in range(20)]
        for _ in range(3):
            await asyncio.sleep_ms(30)
            await kill(other, await r.client('ID'))
        await asyncio.sleep_ms(30)  # (the last kill's failures reach the load)
        until['done'] = True
        await asyncio.gather(*tasks)
        eq(stats['wrong'], [])
        check(stats['errors'] > 0, 'the kills failed some commands')
        check(stats['ok'] > 2000, 'and the rest worked: %r' % stats)
        eq(await r.ping(), b'PONG')
        await r.close()
        await other.close()
    arun(main())


@test
def server_restarted_under_load():
    async def main():
        r = Redis(HOST, RESTART_PORT, retries=20, backoff_base=20, backoff_cap=200)
        stats = {'ok': 0, 'errors': 0, 'wrong': []}
        tasks = [asyncio.create_task(load(r, 'r%d' % i, 100, stats)) for i in range(10)]
        await asyncio.sleep_ms(10)
        restart_server()  # blocks the loop for the restart: the server goes away meanwhile
        await asyncio.gather(*tasks)
        eq(stats['wrong'], [])
        check(stats['ok'] > 500, 'recovered: %r' % stats)
        try:
            await r.ping()
        except OSError:
            # The load may have ended before anything noticed the old link had died:
            # then this first command fails (it may have been sent), and is not resent.
            pass
        eq(await r.ping(), b'PONG')
        await r.close()
    arun(main())


@test
def pubsub_resubscribes_after_kill():
    async def main():
        r = Redis(HOST, PORT)
        ps = r.pubsub()
        await ps.subscribe('async:ch')
        await ps.psubscribe('async:p.*')
        kinds = []
        for _ in range(2):
            kinds.append((await ps.get_message(1000))['type'])
        eq(sorted(kinds), ['psubscribe', 'subscribe'])
        await r.client('KILL', 'TYPE', 'pubsub')
        # get_message notices, reconnects and subscribes again; publish until it hears.
        got = []
        t0 = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), t0) < 3000 and len(got) < 2:
            await r.publish('async:ch', 'a')
            await r.publish('async:p.x', 'b')
            m = await ps.get_message(100)
            if m and m['type'] in ('message', 'pmessage'):
                got.append((m['type'], m['data']))
        check(('message', b'a') in got and ('pmessage', b'b') in got, 'got %r' % got)
        await ps.close()
        await r.close()
    arun(main())


@test
def pubsub_resp3_ping_and_listen():
    async def main():
        r = Redis(HOST, PORT, protocol=3)
        ps = r.pubsub()
        await ps.subscribe('async:r3')
        eq((await ps.get_message(1000))['type'], 'subscribe')
        await ps.ping()
        eq((await ps.get_message(1000))['type'], 'pong')
        await r.publish('async:r3', 'hello')
        async for m in ps.listen():
            eq((m['type'], m['data']), ('message', b'hello'))
            break
        eq(await r.hset('async:h', 'f', 'v'), 1)
        eq(await r.hgetall('async:h'), {b'f': b'v'})  # RESP3 map
        await ps.close()
        await r.close()
    arun(main())


@test
def resp3_pushes_are_not_replies():
    async def main():
        r = Redis(HOST, PORT, protocol=3)
        other = Redis(HOST, PORT)
        eq(await r.client('TRACKING', 'ON'), b'OK')
        for i in range(20):
            await r.get('async:tracked%d' % i)
        # Each SET makes the server push an invalidation to r, in among the replies to
        # r's own commands, which keep coming meanwhile: none may take a push as its
        # reply, and none may fail.
        async def writer():
            for i in range(20):
                await other.set('async:tracked%d' % i, 'x')
                await r.get('async:tracked%d' % i)  # tracked again

        async def echoes(k, bad):
            for i in range(100):
                got = await r.echo('t%d-%d' % (k, i))
                if got != b't%d-%d' % (k, i):
                    bad.append(got)
        bad = []
        await asyncio.gather(writer(), *[echoes(k, bad) for k in range(5)])
        eq(bad, [])
        eq(await r.get('async:tracked3'), b'x')
        await r.close()
        await other.close()
    arun(main())


@test
def backoff_is_capped_exponential_with_jitter():
    r = Redis(HOST, PORT, backoff_base=50, backoff_cap=400)
    for attempt in range(1, 8):
        samples = [r.backoff_ms(attempt) for _ in range(40)]
        top = min(400, 50 << attempt)
        check(all(0 <= s <= top for s in samples), 'attempt %d: %r' % (attempt, samples))
        check(len(set(samples)) > 5, 'jitter at attempt %d: %r' % (attempt, samples))

    async def main():
        # Nothing listens there: every attempt fails at once, so the time spent is the
        # backoff: at most base*2 + base*4 + cap = 100 + 200 + 200 (retries=3), plus slack.
        lst = socket.socket()
        lst.bind(socket.getaddrinfo('127.0.0.1', 0)[0][-1])
        dead = Redis('127.0.0.1', 1, retries=3, backoff_base=50, backoff_cap=200)
        t0 = time.ticks_ms()
        try:
            await dead.ping()
            check(False, 'connected to port 1?')
        except OSError:
            pass
        ms = time.ticks_diff(time.ticks_ms(), t0)
        check(ms < 500 + 300, 'backoff took %d ms' % ms)
        lst.close()
    arun(main())


@test
def health_check_replaces_a_dead_idle_connection():
    async def main():
        r = Redis(HOST, PORT, health_check_interval=50)
        other = Redis(HOST, PORT)
        first = await r.client('ID')
        await kill(other, first)
        await asyncio.sleep_ms(100)
        # The PING finds the link dead; the command goes out on a new one, unharmed.
        eq(await r.echo('alive'), b'alive')
        check(await r.client('ID') != first, 'a new connection')
        await r.close()
        await other.close()
    arun(main())


@test
def on_connect_runs_after_every_connect():
    async def main():
        seen = []

        async def on_connect(c):
            seen.append(await c.client('ID'))
        r = Redis(HOST, PORT, on_connect=on_connect)
        other = Redis(HOST, PORT)
        await r.ping()
        await kill(other, seen[0])
        try:
            await r.ping()  # may have been sent on the dead link: it fails, not resent
        except OSError:
            pass
        eq(await r.ping(), b'PONG')
        eq(len(seen), 2)
        check(seen[0] != seen[1], 'two connections: %r' % seen)
        await r.close()
        await other.close()
    arun(main())


@test
def shared_connection_refuses_what_would_change_it():
    async def main():
        r = Redis(HOST, PORT)
        for args in (('MULTI',), ('WATCH', 'x'), ('SUBSCRIBE', 'x'), ('MONITOR',),
                     ('SELECT', 2), ('HELLO', 3), ('AUTH', 'pw'), ('RESET',),
                     ('CLIENT', 'SETNAME', 'n'), ('client', 'setname', 'n')):
            try:
                await r(*args)
                check(False, '%r accepted' % (args,))
            except RedisError:
                pass
        for attr, args in (('client', ('SETNAME', 'n')), ('select', (1,)), ('multi', ())):
            try:
                await getattr(r, attr)(*args)  # the attribute form is checked too
                check(False, '%s%r accepted' % (attr, args))
            except RedisError:
                pass
        eq(await r.client('GETNAME'), None)  # other CLIENT subcommands go through
        try:
            await r.set('k', None)
            check(False, 'None accepted')
        except TypeError:
            pass
        async with r.pipeline(transaction=True) as p:
            p.set('async:t', 1).incr('async:t')
            eq(await p.execute(), [b'OK', 2])
        # A queue the server refuses (EXECABORT): the error that made it refuse, raised.
        p = r.pipeline(transaction=True)
        p.set('async:t', 1).incr('async:t', 'x', 'y')  # (INCR's arity: refused when queued)
        try:
            await p.execute()
            check(False, 'a refused transaction returned')
        except RedisError as e:
            check(e.args[0] == 'ERR' and 'incr' in e.args[1], repr(e.args))
        eq(await r.get('async:t'), b'2')  # nothing of it ran
        p = r.pipeline()
        p.get('async:t').hset('async:t', 'x')  # wrong type: an error in place
        out = await p.execute()
        eq(out[0], b'2')
        check(isinstance(out[1], RedisError), repr(out))
        # A pipeline of one command returns a list of one reply too (its error in place).
        eq(await r.pipeline().ping().execute(), [b'PONG'])
        out = await r.pipeline().hset('async:t', 'x').execute()
        check(len(out) == 1 and isinstance(out[0], RedisError), repr(out))
        eq(await r.ping(), b'PONG')
        await r.close()
    arun(main())


run()
