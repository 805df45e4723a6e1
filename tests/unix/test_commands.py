# The three ways to send a command: do_cmd(), __call__ and attribute names,
# plus which attribute names are commands and which are not.
from picoredis import RedisError
from ptest import test, add, run, eq, check, raises
from testenv import client, fresh_client

r = client()


@test
def do_cmd_sends_command():
    eq(r.do_cmd('SET', 'cmd:a', 'x'), b'OK')
    eq(r.do_cmd('GET', 'cmd:a'), b'x')
    eq(r.do_cmd('PING'), b'PONG')


@test
def call_is_do_cmd():
    eq(r('SET', 'cmd:b', 'y'), b'OK')
    eq(r('GET', 'cmd:b'), b'y')
    eq(r('ECHO', 'via call'), b'via call')


@test
def command_name_as_bytes():
    eq(r.do_cmd(b'ECHO', b'bytes name'), b'bytes name')


@test
def attribute_commands():
    eq(r.hset('cmd:hash', 'key1', 42), 1)
    eq(r.hkeys('cmd:hash'), [b'key1'])
    eq(r.hget('cmd:hash', 'key1'), b'42')
    eq(r.PING(), b'PONG')       # case is the server's business
    eq(r.Echo('mixed'), b'mixed')


@test
def attribute_is_callable_command_without_args():
    f = r.dbsize               # fetching the attribute sends nothing...
    eq(r.echo('first'), b'first')
    eq(type(f()), int)         # ...calling it does


@test
def attribute_name_with_digits_is_a_command():
    # No redis command has a digit, so the server must reject it: that
    # proves the name went to the server instead of raising AttributeError.
    e = raises(RedisError, r.bogus2, 'x')
    eq(e.args[0], 'ERR')
    check("'bogus2'" in e.args[1], e.args)


@test
def unknown_command_raises_redis_error():
    e = raises(RedisError, r.bogus, 'spam!')
    eq(e.args[0], 'ERR')
    check(e.args[1].startswith("unknown command 'bogus'"), e.args)
    eq(r.ping(), b'PONG')  # the connection is still in sync


# Names that are not ASCII letters/digits, or start with '_', are not
# commands: AttributeError at attribute access, nothing sent.
BAD_NAMES = ('get_x', '_get', '__x', '__foo__', 'a-b', 'a b', 'a.b', 'h\xe9llo', '')


def check_bad_name(name):
    raises(AttributeError, getattr, r, name)
    check(not hasattr(r, name), 'hasattr is true for %r' % name)
    eq(r.echo('still fine'), b'still fine')

for name in BAD_NAMES:
    add('attribute_error_%r' % name, check_bad_name, name)


@test
def debug_is_an_attribute_not_a_command():
    c = client()
    eq(c.debug, False)
    c.debug = True
    eq(c.debug, True)
    c.debug = False
    eq(c.debug, False)
    c2 = client(debug=True)
    eq(c2.debug, True)
    c2.debug = False
    eq(c2.echo('quiet'), b'quiet')


@test
def reserved_methods_are_methods():
    # connect/close/do_cmd must not be sent to the server as commands.
    c = client()
    c.close()      # a 'close' command would raise RedisError (unknown)
    c.connect()    # a 'connect' command would need a socket
    eq(c.do_cmd('ECHO', 'm'), b'm')


run(before_each=fresh_client(globals()))
