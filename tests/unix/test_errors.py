# Server errors: top-level ones raise RedisError(code, message); ones inside
# an array come back in place as RedisError instances and leave the link in
# sync; undecodable error text is replaced, never a crash.
from picoredis import RedisError
from ptest import test, add, run, eq, check, raises
from testenv import client, fake_client, hexstr, FAKE_PORT, fresh_client

r = client()


@test
def error_code_and_message_split():
    e = raises(RedisError, r.eval, "return redis.error_reply('CODE two words')", 0)
    eq(e.args, ('CODE', 'two words'))


@test
def wrongtype_error():
    r.set('err:str', 'x')
    e = raises(RedisError, r.lpush, 'err:str', 'y')
    eq(e.args[0], 'WRONGTYPE')
    check(e.args[1].startswith('Operation against a key'), e.args)
    eq(len(e.args), 2)


@test
def connection_usable_after_error():
    raises(RedisError, r.bogus)
    eq(r.echo('after error'), b'after error')


@test
def error_inside_array():
    got = r.eval("return {1, redis.error_reply('boom'), 3}", 0)
    eq(type(got), list)
    eq(len(got), 3)
    eq(got[0], 1)
    check(isinstance(got[1], RedisError), 'element 1 is %r' % (got[1],))
    eq(got[1].args, ('ERR', 'boom'))  # redis 7 prefixes bare messages with ERR
    eq(got[2], 3)
    eq(r.ping(), b'PONG')             # the rest of the array was consumed


@test
def several_errors_inside_nested_array():
    got = r.eval("return {redis.error_reply('E1 one'), {redis.error_reply('E2 two'), 'ok'}}", 0)
    eq([type(x).__name__ for x in got], ['RedisError', 'list'])
    eq(got[0].args, ('E1', 'one'))
    eq(got[1][0].args, ('E2', 'two'))
    eq(got[1][1], b'ok')
    eq(r.echo('sync'), b'sync')


@test
def multi_exec_with_failing_command():
    r.set('err:txt', 'abc')
    eq(r.multi(), b'OK')
    eq(r.set('err:a', 1), b'QUEUED')
    eq(r.incr('err:txt'), b'QUEUED')  # fails only at EXEC time
    eq(r.get('err:a'), b'QUEUED')
    got = r.exec()
    eq(len(got), 3)
    eq(got[0], b'OK')
    check(isinstance(got[1], RedisError), 'element 1 is %r' % (got[1],))
    eq(got[1].args[0], 'ERR')
    eq(got[2], b'1')
    eq(r.get('err:a'), b'1')


@test
def multi_exec_abort():
    eq(r.multi(), b'OK')
    raises(RedisError, r.bogus)       # rejected while queueing
    e = raises(RedisError, r.exec)
    eq(e.args[0], 'EXECABORT')
    eq(r.ping(), b'PONG')


@test
def non_utf8_error_text_is_replaced():
    # The script is bytes so \xff\xfe reach the server unchanged.
    e = raises(RedisError, r.eval, b"return redis.error_reply('BAD \xff\xfe here')", 0)
    eq(e.args[0], 'BAD')
    msg = e.args[1]
    eq(type(msg), str)
    check('\ufffd' in msg and msg.endswith(' here'), repr(msg))
    # Python's errors='replace' gives one U+FFFD per invalid byte.
    check(msg in ('\ufffd\ufffd here', '\ufffd here'), repr(msg))
    eq(r.ping(), b'PONG')


@test
def non_utf8_error_inside_array():
    got = r.eval(b"return {redis.error_reply('E1 \xff'), 'ok'}", 0)
    check(isinstance(got[0], RedisError), repr(got))
    eq(got[0].args, ('E1', '\ufffd'))
    eq(got[1], b'ok')


# Exact splitting of raw error lines; needs the fake server to send them.
# (name, raw reply line, expected args)
RAW_ERRORS = (
    ('no_space', b'-NOSPACE\r\n', ('NOSPACE',)),
    ('one_space', b'-ERR msg\r\n', ('ERR', 'msg')),
    ('split_at_first_space_only', b'-ERR a b  c\r\n', ('ERR', 'a b  c')),
    ('non_utf8_code', b'-\xffX oops\r\n', ('\ufffdX', 'oops')),
)


def check_raw_error(raw, args):
    f = fake_client()
    e = raises(RedisError, f.script, hexstr(raw))
    eq(e.args, args)
    eq(f.script(hexstr(b':5\r\n')), 5)  # same link, still in sync

if FAKE_PORT is not None:
    for name, raw, args in RAW_ERRORS:
        add('raw_error_' + name, check_raw_error, raw, args)


run(before_each=fresh_client(globals()))
