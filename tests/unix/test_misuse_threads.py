# Misuse that used to crash the firmware or mix up replies: one client shared by threads
# (item 1), re-entering a client from inside its own stream (item 2), and unbound methods
# called with an object of the wrong type (item 2).
#
# Each case runs in a process of its own (testenv.run_isolated), so a segfault fails that
# case only and the other results are still reported.
import _thread
import time
from picoredis import Redis, Reader, PubSub
from ptest import add, run, eq, check, raises
from testenv import client, child_case, run_isolated, timed, SocketStream

CASES = []


def case(name, fn, *args):
    CASES.append((name, fn, args))


# -- item 1: one Redis shared by threads (really parallel on a stock unix firmware, which
# has no GIL: the native module's run; interleaved at blocking calls under a GIL) ---------
WAIT_MS = 20000


def run_threads(n, work):
    """Runs work(i) in n threads; returns the exceptions they raised. Fails if they do not
    all finish within WAIT_MS."""
    lock = _thread.allocate_lock()
    state = {'done': 0, 'errors': []}

    def body(i):
        try:
            work(i)
        except Exception as e:
            with lock:
                state['errors'].append('thread %d: %r' % (i, e))
        with lock:
            state['done'] += 1

    t0 = time.ticks_ms()
    for i in range(n):
        _thread.start_new_thread(body, (i,))
    while state['done'] < n and time.ticks_diff(time.ticks_ms(), t0) < WAIT_MS:
        time.sleep_ms(5)
    check(state['done'] == n, 'only %d of %d threads finished within %d ms'
          % (state['done'], n, WAIT_MS))
    return state['errors']


def shared_client_gets(n_threads, iterations):
    # item 1: every thread GETs its own key 2000 times; each reply must be its own value.
    r = client()
    for i in range(n_threads):
        r.set('thr:key%d' % i, 'value-of-thread-%d' % i)
    wrong = []

    def work(i):
        key, want = 'thr:key%d' % i, b'value-of-thread-%d' % i
        for n in range(iterations):
            got = r.get(key)
            if got != want:
                wrong.append('thread %d call %d got %r' % (i, n, got))
                return

    errors = run_threads(n_threads, work)
    eq(errors, [], 'exceptions in threads')
    eq(wrong, [], 'replies of another thread')
    eq(r.ping(), b'PONG')


def shared_client_pipelines(n_threads, rounds):
    # item 1: pipelines and plain commands from several threads on one client.
    r = client()
    for i in range(n_threads):
        r.set('thr:p%d' % i, 'p-%d' % i)
    wrong = []

    def work(i):
        key, want = 'thr:p%d' % i, b'p-%d' % i
        for n in range(rounds):
            p = r.pipeline()
            for _ in range(5):
                p.get(key)
            got = p.execute()
            if got != [want] * 5:
                wrong.append('thread %d round %d pipeline got %r' % (i, n, got))
                return
            got = r('GET', key)
            if got != want:
                wrong.append('thread %d round %d got %r' % (i, n, got))
                return

    errors = run_threads(n_threads, work)
    eq(errors, [], 'exceptions in threads')
    eq(wrong, [], 'replies of another thread')


case('item1_two_threads_share_one_client', shared_client_gets, 2, 2000)
case('item1_four_threads_share_one_client', shared_client_gets, 4, 1000)
case('item1_threads_share_pipelines', shared_client_pipelines, 3, 200)


# -- item 2: re-entry from inside the client's own stream ----------------------------------
class HookStream(SocketStream):
    """Calls `hook` (once) from inside readinto: while the client waits for a reply."""
    hook = None

    def readinto(self, buf):
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return SocketStream.readinto(self, buf)


def inner_pipeline(r):
    p = r.pipeline()
    p.ping()
    return p.execute()


INNER = (
    ('ping', lambda r: r.ping()),
    ('get', lambda r: r.get('reent:x')),
    ('call', lambda r: r('GET', 'reent:x')),
    ('do_cmd', lambda r: r.do_cmd('PING')),
    ('pipeline_execute', inner_pipeline),
    ('close', lambda r: r.close()),
    ('connect', lambda r: r.connect()),
)

LIST = [b'%d' % i for i in range(100)]


def reentry(inner):
    # item 2: while r waits for LRANGE's reply, its stream calls r again. That inner call
    # raises RuntimeError('... in use ...') and the outer call gets its own full reply.
    other = client()
    st = HookStream(timeout_s=0.5)
    r = Redis(sock=st)
    r('DEL', 'reent:list')
    r.rpush('reent:list', *range(100))
    seen = []

    def hook():
        # A call on another client from inside the stream is not a re-entry: it works.
        seen.append(other.ping())
        try:
            seen.append('returned %s' % repr(inner(r))[:60])
        except Exception as e:
            seen.append(e)

    st.hook = hook
    err, got, _ = timed(r.lrange, 'reent:list', 0, -1)
    eq(len(seen), 2, 'hook runs')
    eq(seen[0], b'PONG', 'other client from inside the stream')
    e = seen[1]
    check(isinstance(e, RuntimeError) and 'in use' in str(e),
          'inner call: expected RuntimeError(... in use ...), got %r' % (e,))
    check(err is None, 'outer LRANGE raised %r' % (err,))
    eq(got, LIST, 'outer LRANGE')
    eq(st.closed, 0, 'stream closes')
    eq(r.ping(), b'PONG')  # the outer connection is still there (sock=: no reconnect)
    eq(r.llen('reent:list'), 100)
    r.close()
    eq(st.closed, 1, 'stream closes after close()')


for name, inner in INNER:
    case('item2_reentry_inner_' + name, reentry, inner)

# Reader and PubSub re-entry is not tested: a Reader has no stream to call back from (it
# would take a finaliser running during one of its allocations), and a PubSub cannot have
# a sock= stream (item 12); a PubSub used by two threads is item 1's serialisation.


# -- item 2: unbound methods with an object of the wrong type --------------------------------
# `Redis.close(5)` is refused by MicroPython's own self-type check, but the functions in the
# type's dict carry no such check: the core itself must refuse a non-Redis object.
def wrong_self(cls, method, call):
    raises(TypeError, call, cls.__dict__[method])
    # and through the type attribute (MicroPython's checked wrapper), likewise
    raises(TypeError, call, getattr(cls, method))


def call_pipeline(f):
    p = f(5)
    p.ping()
    return p.execute()


WRONG_SELF = (
    ('redis_close_int', Redis, 'close', lambda f: f(5)),
    ('redis_close_reader', Redis, 'close', lambda f: f(Reader())),
    ('redis_close_object', Redis, 'close', lambda f: f(object())),
    ('redis_do_cmd_list', Redis, 'do_cmd', lambda f: f([1, 2, 3], 'PING')),
    ('redis_connect_str', Redis, 'connect', lambda f: f('not a client')),
    ('redis_pipeline_int', Redis, 'pipeline', call_pipeline),
    ('redis_pubsub_int', Redis, 'pubsub', lambda f: f(5)),
    ('redis_exit_bytearray', Redis, '__exit__', lambda f: f(bytearray(64), None, None, None)),
    ('reader_gets_bytearray', Reader, 'gets', lambda f: f(bytearray(100))),
    ('reader_feed_object', Reader, 'feed', lambda f: f(object(), b'+OK\r\n')),
    ('pubsub_get_message_reader', PubSub, 'get_message', lambda f: f(Reader())),
    ('pubsub_subscribe_int', PubSub, 'subscribe', lambda f: f(5, 'ch')),
    ('pubsub_close_list', PubSub, 'close', lambda f: f([1])),
)

for name, cls, method, call in WRONG_SELF:
    case('item2_wrong_self_' + name, wrong_self, cls, method, call)


only = child_case()
for name, fn, args in CASES:
    if only is None:
        add(name, run_isolated, __file__, name)
    elif name == only:
        add(name, fn, *args)

run()
