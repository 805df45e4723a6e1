# How each argument type is encoded, and that unsupported types raise
# TypeError before anything is sent.
from ptest import test, add, run, eq, check, raises
from testenv import client, fresh_client

r = client()
watcher = client()  # a second connection to look at r's server-side state

# (name, argument, bytes the server must store)
ENCODINGS = (
    ('str', 'text', b'text'),
    ('empty_str', '', b''),
    ('bytes', b'raw', b'raw'),
    ('empty_bytes', b'', b''),
    ('bytearray', bytearray(b'ba\x00'), b'ba\x00'),
    ('memoryview', memoryview(b'mv'), b'mv'),
    ('memoryview_slice', memoryview(b'abcdef')[2:4], b'cd'),
    ('int', 42, b'42'),
    ('zero', 0, b'0'),
    ('negative_int', -7, b'-7'),
    ('int64_max', 9223372036854775807, b'9223372036854775807'),
    ('int64_min', -9223372036854775808, b'-9223372036854775808'),
    ('big_int', 2 ** 100, b'1267650600228229401496703205376'),
    ('negative_big_int', -(2 ** 70), b'-1180591620717411303424'),
    ('float', 1.5, b'1.5'),
    ('negative_float', -2.25, b'-2.25'),
    ('non_ascii_str', 'h\xe9\u20ac', b'h\xc3\xa9\xe2\x82\xac'),
)


def check_encoding(arg, stored):
    eq(r.set('arg:k', arg), b'OK')
    eq(r.get('arg:k'), stored)
    eq(r.strlen('arg:k'), len(stored))
    eq(r.echo(arg), stored)

for name, arg, stored in ENCODINGS:
    add('encode_' + name, check_encoding, arg, stored)


@test
def int_arguments_are_numbers_to_redis():
    eq(r.set('arg:n', 10), b'OK')
    eq(r.incrby('arg:n', -15), -5)
    eq(r.expire('arg:n', 100), 1)
    eq(r.ttl('arg:n'), 100)


@test
def many_arguments_in_one_command():
    values = [str(i) for i in range(300)]
    eq(r.rpush('arg:list', *values), 300)
    eq(r.lrange('arg:list', 0, -1), [v.encode() for v in values])


def client_entry(rid):
    for line in watcher.client('LIST').split(b'\n'):
        if line.startswith(b'id=%d ' % rid):
            return line
    raise AssertionError('client %d not found' % rid)


# Unsupported argument types: TypeError, and not a single byte sent (a
# partial request would sit in the server's query buffer and swallow the
# next command).
BAD_ARGS = (
    ('None', None), ('True', True), ('False', False), ('list', [1]),
    ('tuple', (1,)), ('dict', {'a': 1}), ('set', {1}), ('object', object()),
)


def check_type_error(arg):
    eq(r.set('arg:bad', 'before'), b'OK')
    rid = r.client('ID')
    raises(TypeError, r.set, 'arg:bad', arg)           # last argument bad
    raises(TypeError, r.do_cmd, 'SET', arg, 'value')   # middle argument bad
    raises(TypeError, r.do_cmd, arg, 'arg:bad')        # command itself bad
    entry = client_entry(rid)
    check(b' qbuf=0 ' in entry, entry)                 # nothing half-sent
    check(b' cmd=client|id ' in entry or b' cmd=client ' in entry, entry)  # nothing executed (7.x / 6.x)
    eq(r.get('arg:bad'), b'before')
    eq(r.echo('next'), b'next')
    eq(r.client('ID'), rid)                            # same connection

for name, arg in BAD_ARGS:
    add('type_error_' + name, check_type_error, arg)


run(before_each=fresh_client(globals()))
