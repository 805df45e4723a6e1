# picoredis.asyncio keeps the session across reconnects under load: while a new
# connection's handshake (HELLO / AUTH / CLIENT SETNAME / SELECT) or the application's
# on_connect is still running, no other task's command may go out on it, or it would run
# in the wrong session (a SET written before the SELECT lands in db 0). Many tasks do
# SET/GET on keys of their own while the connection is killed (CLIENT KILL) again and
# again; afterwards every key is in db DB and none in db 0, and every reply is its own
# command's.
import asyncio
from picoredis import RedisTimeout
from picoredis.asyncio import Redis
from ptest import test, add, run, eq, check
from testenv import HOST, PORT

DB = 5
TASKS = 20


async def worker(r, i, n, stats, state):
    # Three call styles: the native bound command, do_cmd (the Python path) and a
    # pipeline. A failed command is an error (it may have run: not resent), never a
    # wrong reply.
    for j in range(n):
        key = 'sess:%d:%d' % (i, j)
        val = 'v%d-%d' % (i, j)
        try:
            style = (i + j) % 3
            if style == 0:
                got = (await r.set(key, val), await r.get(key))
            elif style == 1:
                got = (await r('SET', key, val), await r('GET', key))
            else:
                p = r.pipeline()
                p.set(key, val).get(key)
                got = tuple(await p.execute())
            if state['in_on_connect']:
                stats['early'].append(key)  # a reply while on_connect still ran
            if got != (b'OK', val.encode()):
                stats['wrong'].append((key, val, got))
            else:
                stats['ok'].append(key)
        except (OSError, RedisTimeout):
            stats['errors'] += 1
        # Staggered: some task wakes up at any moment, a reconnect's handshake included.
        await asyncio.sleep_ms((i + j) % 3)


async def killer(r, other, kills, stats):
    for _ in range(kills):
        await asyncio.sleep_ms(25)
        try:
            victim = await r.client('ID')
        except (OSError, RedisTimeout):
            continue
        await other.client('KILL', 'ID', str(victim))
        stats['kills'] += 1
        # The server stalls a little: the reconnect's handshake waits for its replies,
        # and tasks wake up meanwhile.
        await other('DEBUG', 'SLEEP', 0.02)


def bounded(coro, ms=20000):
    # A deadlock fails the test (TimeoutError) instead of hanging the file.
    asyncio.run(asyncio.wait_for_ms(coro, ms))


def session_survives_kills_under_load(protocol, slow_on_connect):
    async def main():
        state = {'in_on_connect': False, 'connects': 0, 'own': []}

        async def on_connect(c):
            state['in_on_connect'] = True
            try:
                # on_connect's own commands go through at once (in the new session),
                # also when awaited in tasks of their own (gather, wait_for); every
                # other task's wait until it returns.
                state['own'].append(await c.echo('own'))
                await asyncio.sleep_ms(40)
                state['own'] += await asyncio.gather(
                    c.echo('g1'), asyncio.wait_for_ms(c('SET', 'sess:on_connect', 1), 2000))
                p = c.pipeline()
                p.ping()
                state['own'].append((await p.execute())[0])
            finally:
                state['in_on_connect'] = False
                state['connects'] += 1

        r = Redis(HOST, PORT, db=DB, client_name='sess', protocol=protocol,
                  backoff_base=2, backoff_cap=10, retries=10,
                  on_connect=on_connect if slow_on_connect else None)
        other = Redis(HOST, PORT)
        await other.flushall()
        stats = {'ok': [], 'errors': 0, 'wrong': [], 'early': [], 'kills': 0}
        tasks = [asyncio.create_task(worker(r, i, 60, stats, state)) for i in range(TASKS)]
        await killer(r, other, 8, stats)
        await asyncio.gather(*tasks)
        eq(stats['wrong'], [], 'wrong replies')
        eq(stats['early'], [], 'replies while on_connect ran')
        check(stats['kills'] >= 4, 'the kills hit: %r' % (
            {k: v if isinstance(v, int) else len(v) for k, v in stats.items()},))
        check(len(stats['ok']) > TASKS * 20, 'most commands worked: %d' % len(stats['ok']))
        # Nothing landed in db 0; every SET that answered OK is in db DB.
        eq(await other.keys('sess:*'), [], 'keys in db 0')
        in_db = Redis(HOST, PORT, db=DB)
        for key in stats['ok']:
            i, j = key.split(':')[1:]
            eq(await in_db.get(key), ('v%s-%s' % (i, j)).encode(), key)
        eq(await r.client('GETNAME'), b'sess')
        if slow_on_connect:
            check(state['connects'] >= 2, 'on_connect ran on every connect: %r' % state)
            check(all(v in (b'own', b'g1', b'OK', b'PONG') for v in state['own']),
                  repr(state['own']))
            eq(await in_db.get('sess:on_connect'), b'1')
        await r.close()
        await other.close()
        await in_db.close()
    bounded(main())


add('resp2_kills_under_load_keep_db', session_survives_kills_under_load, 2, False)
add('resp3_kills_under_load_keep_db', session_survives_kills_under_load, 3, False)
add('slow_on_connect_holds_other_commands', session_survives_kills_under_load, 2, True)
add('resp3_slow_on_connect_holds_other_commands', session_survives_kills_under_load, 3,
    True)


@test
def commands_wait_for_a_slow_first_on_connect():
    # The first connect too: a command issued while on_connect awaits waits for it.
    async def main():
        log = []

        # (Each side waits for the other's step, not for a time: a slow connect on a
        # loaded machine once put 'user sends' first.)
        async def on_connect(c):
            log.append('on_connect start')
            while 'user sends' not in log:
                await asyncio.sleep_ms(1)
            await asyncio.sleep_ms(20)  # the user's SET is waiting by now
            log.append('on_connect end')

        r = Redis(HOST, PORT, db=DB, on_connect=on_connect)

        async def user():
            while 'on_connect start' not in log:  # while on_connect runs
                await asyncio.sleep_ms(1)
            log.append('user sends')
            eq(await r.set('sess:first', 1), b'OK')
            log.append('user done')

        await asyncio.gather(r.connect(), user())
        eq(log, ['on_connect start', 'user sends', 'on_connect end', 'user done'])
        eq(await Redis(HOST, PORT, db=DB).get('sess:first'), b'1')
        await r.close()
    bounded(main())


@test
def on_connect_failing_fails_the_connect_not_the_session():
    # An on_connect that raises: the connect fails (retried), nobody's command runs on
    # the half-made connection.
    async def main():
        calls = []

        async def on_connect(c):
            calls.append(1)
            if len(calls) == 1:
                await asyncio.sleep_ms(20)
                raise OSError(104)

        r = Redis(HOST, PORT, db=DB, on_connect=on_connect, backoff_base=1,
                  backoff_cap=5)
        got = await asyncio.gather(*[r.echo('e%d' % i) for i in range(5)])
        eq(got, [b'e%d' % i for i in range(5)])
        eq(len(calls), 2)
        await r.close()
    bounded(main())


@test
def a_cancelled_connect_leaves_no_connection_behind():
    # The task connecting is cancelled (timed out by wait_for) while on_connect runs: the
    # half-made connection is closed, not left open with its tasks running; the next
    # command connects again, and only that connection stays.
    async def main():
        name = 'cancelled-connect'
        other = Redis(HOST, PORT)

        async def named():
            listed = (await other.client('LIST')).decode()
            return listed.count('name=%s ' % name)

        async def on_connect(c):
            await asyncio.sleep_ms(200)

        r = Redis(HOST, PORT, client_name=name, on_connect=on_connect)
        try:
            await asyncio.wait_for_ms(r.connect(), 50)
            check(False, 'no TimeoutError')
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep_ms(50)  # (the server sees the close)
        eq(await named(), 0)
        eq(await r.echo('e'), b'e')
        eq(await named(), 1)
        await r.close()
        await other.close()
    bounded(main())


run()
