# Non-ASCII str (sent as UTF-8 with its *byte* length) and binary data with
# CR, LF and NUL inside, as keys and as values.
from ptest import test, add, run, eq, check
from testenv import client, fresh_client

r = client()

# (name, key, value): str keys/values are stored as their UTF-8 bytes.
ROUND_TRIPS = (
    ('cyrillic_key_and_value', '\u043a\u043b\u044e\u0447', '\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435'),
    ('latin1_range', 'caf\xe9', '\xe0\xe9\xee\xf5\xfc'),
    ('euro_and_emoji', 'k\u20ac', '\u20ac \U0001f600 end'),
    ('crlf_in_value', b'bin:crlf', b'a\r\nb\r\n'),
    ('resp_lookalike_value', b'bin:resp', b'$3\r\nfoo\r\n*2\r\n:1\r\n'),
    ('nul_in_value', b'bin:nul', b'\x00a\x00\x00b\x00'),
    ('all_byte_values', b'bin:all', bytes(range(256))),
    ('binary_key', b'\x00key\r\n\xff', b'v'),
    ('invalid_utf8_value', b'bin:bad', b'\xff\xfe\xc3'),
)


def as_bytes(v):
    return v.encode('utf-8') if isinstance(v, str) else v


def check_round_trip(key, value):
    kb, vb = as_bytes(key), as_bytes(value)
    eq(r.set(key, value), b'OK')
    eq(r.get(key), vb)
    eq(r.get(kb), vb)                       # same key whether str or bytes
    eq(r.strlen(key), len(vb))              # byte length, not char count
    eq(r.exists(kb), 1)
    check(kb in r.keys('*'), 'key %r not in KEYS *' % kb)
    eq(r.echo(value), vb)
    eq(r.ping(), b'PONG')                   # framing stayed in sync

for name, key, value in ROUND_TRIPS:
    add('round_trip_' + name, check_round_trip, key, value)


@test
def non_ascii_byte_length_differs_from_char_length():
    s = '\u00e9' * 10                       # 10 chars, 20 bytes
    eq(len(s), 10)
    r.set('bin:len', s)
    eq(r.strlen('bin:len'), 20)
    eq(r.getrange('bin:len', 0, 1), '\u00e9'.encode('utf-8'))


@test
def non_ascii_command_arguments_in_a_list():
    items = ['\u00e4', '\u00f6\u00f6', '\U0001f600']
    eq(r.rpush('bin:list', *items), 3)
    eq(r.lrange('bin:list', 0, -1), [s.encode('utf-8') for s in items])


@test
def hash_with_binary_fields():
    r.hset('bin:h', b'f\r\n', b'\x00', '\u00fc', '\u00fc')
    eq(r.hget('bin:h', b'f\r\n'), b'\x00')
    eq(r.hget('bin:h', '\u00fc'), '\u00fc'.encode('utf-8'))


run(before_each=fresh_client(globals()))
