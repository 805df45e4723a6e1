# Constructor forms, default host/port, connect(), close() and reconnecting.
import time
import picoredis
from picoredis import Redis
from ptest import test, add, run, eq, check, raises
from testenv import hexstr, HOST, PORT, FAKE_PORT, client, silent_listener, port_is_open


def client_id(r):
    return r.client('ID')


def client_ids(watcher):
    """Ids of all connections the server has, from CLIENT LIST."""
    return [int(line.split(b' ', 1)[0][3:])
            for line in watcher.client('LIST').split(b'\n') if line.startswith(b'id=')]


# -- constructor forms (the README's, on the test server's port) ------------
def check_form(make):
    r = make()
    eq(r.ping(), b'PONG')
    r.close()

CONSTRUCTORS = (
    ('positional_host_port', lambda: Redis(HOST, PORT)),
    ('host_keyword', lambda: Redis(host=HOST, port=PORT)),
    ('server_keyword', lambda: Redis(server=HOST, port=PORT)),
    ('port_only_default_host', lambda: Redis(port=PORT)),
    ('all_keywords', lambda: Redis(host=HOST, port=PORT, timeout=1000, debug=False)),
    ('positional_all', lambda: Redis(HOST, PORT, 1000, False)),
)
for name, make in CONSTRUCTORS:
    add('constructor_' + name, check_form, make)


@test
def default_host_is_loopback():
    # The server binds 127.0.0.1 only, so a connection without a host proves
    # the default reaches it; CLIENT INFO shows the peer address it used.
    r = Redis(port=PORT)
    info = r.client('INFO')
    check(b' laddr=127.0.0.1:%d ' % PORT in info, info)


@test
def default_port_is_6379():
    # Whatever is (not) on 6379 here, Redis(host) must behave like a plain
    # socket to 127.0.0.1:6379: refused -> OSError, open -> it connects.
    if port_is_open(6379):
        Redis('127.0.0.1').close()
    else:
        raises(OSError, Redis, '127.0.0.1')


@test
def connection_refused_raises_oserror():
    s, port = silent_listener()
    s.close()  # nothing listens there any more
    raises(OSError, Redis, '127.0.0.1', port)


@test
def constructor_connects_immediately():
    # The connection exists before the first command: the server sees it.
    # (Compare ids, not counts: earlier tests' connections may be closing.)
    watcher = client()
    before = client_ids(watcher)
    r = client()
    # redis accepts in its event loop, maybe after serving the watcher: poll.
    for _ in range(50):
        new = [i for i in client_ids(watcher) if i not in before]
        if new:
            break
        time.sleep(0.02)
    eq(len(new), 1, 'new connections')
    r.close()


@test
def instances_have_separate_connections():
    a, b = client(), client()
    check(client_id(a) != client_id(b), 'two instances share a connection')


@test
def connect_while_connected_reconnects():
    r = client()
    old = client_id(r)
    r.connect()
    check(client_id(r) != old, 'connect() kept the old connection')


@test
def close_is_idempotent():
    r = client()
    r.close()
    r.close()


@test
def close_then_connect_again():
    r = client()
    r.set('conn:k', 'v')
    old = client_id(r)
    r.close()
    r.connect()  # None/None: same host and port as before
    eq(r.get('conn:k'), b'v')
    check(client_id(r) != old, 'expected a new connection')


@test
def close_really_closes():
    watcher = client()
    r = client()
    rid = client_id(r)
    r.close()
    # The server notices the FIN asynchronously; poll briefly.
    for _ in range(50):
        if b'id=%d ' % rid not in watcher.client('LIST'):
            return
        time.sleep(0.02)
    raise AssertionError('connection %d still listed after close()' % rid)


@test
def connect_keeps_previous_values():
    r = client()
    r.close()
    r.connect(None, None)
    eq(r.echo('x'), b'x')
    r.close()
    r.connect(port=PORT)
    eq(r.echo('y'), b'y')
    r.close()
    r.connect(host=HOST)
    eq(r.echo('z'), b'z')


@test
def connect_to_another_server_and_back():
    if FAKE_PORT is None:
        return  # needs the runner's fake server
    r = client()
    r.connect(port=FAKE_PORT)
    eq(r.script(hexstr(b':7\r\n')), 7)  # the fake server answers ':7\r\n'
    r.connect(port=PORT)
    eq(r.ping(), b'PONG')


@test
def exception_classes_derive_from_exception():
    for cls in (picoredis.RedisError, picoredis.ParseError, picoredis.RedisTimeout):
        eq(cls.__bases__, (Exception,), cls.__name__)


run()
