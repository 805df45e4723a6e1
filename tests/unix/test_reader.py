# picoredis.Reader: incremental parsing of fed bytes (hiredis-py style), table-driven.
# Every case is fed whole, then byte by byte: both must give the same replies.
from picoredis import Reader, RedisError, ParseError
from ptest import test, add, run, eq, check, raises

INF = float('inf')

# (name, wire bytes, expected replies in order)
GOOD = [
    ('simple', b'+OK\r\n', [b'OK']),
    ('error_split', b'-ERR bad thing\r\n', [RedisError('ERR', 'bad thing')]),
    ('error_no_space', b'-OOPS\r\n', [RedisError('OOPS')]),
    ('integer', b':42\r\n', [42]),
    ('int64_max', b':9223372036854775807\r\n', [9223372036854775807]),
    ('int64_min', b':-9223372036854775808\r\n', [-9223372036854775808]),
    ('bulk', b'$5\r\nhello\r\n', [b'hello']),
    ('bulk_with_crlf', b'$6\r\n\r\n*1\r\n\r\n', [b'\r\n*1\r\n']),
    ('empty_bulk', b'$0\r\n\r\n', [b'']),
    ('null_bulk', b'$-1\r\n', [None]),
    ('null_array', b'*-1\r\n', [None]),
    ('empty_array', b'*0\r\n', [[]]),
    ('nested', b'*2\r\n*1\r\n:1\r\n$1\r\nx\r\n', [[[1], b'x']]),
    ('error_in_array', b'*2\r\n-E1 in\r\n:2\r\n', [[RedisError('E1', 'in'), 2]]),
    ('several', b'+a\r\n:1\r\n$1\r\nb\r\n', [b'a', 1, b'b']),
    ('resp3_null', b'_\r\n', [None]),
    ('resp3_bool', b'#t\r\n#f\r\n', [True, False]),
    ('resp3_double', b',1.5\r\n,-2\r\n,inf\r\n', [1.5, -2.0, INF]),
    ('resp3_bignum', b'(12345678901234567890123\r\n', [12345678901234567890123]),
    ('resp3_map', b'%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n', [{b'a': 1, b'b': 2}]),
    ('resp3_set', b'~2\r\n:1\r\n:2\r\n', [{1, 2}]),
    ('resp3_verbatim', b'=9\r\ntxt:hello\r\n', [b'hello']),
    ('resp3_blob_error', b'!9\r\nERR wrong\r\n', [RedisError('ERR', 'wrong')]),
    ('resp3_push', b'>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', [[b'message', b'ch', b'hi']]),
    ('resp3_attribute_skipped', b'|1\r\n+key\r\n+val\r\n:7\r\n', [7]),
    ('resp3_map_with_array_key', b'%1\r\n*1\r\n:1\r\n+v\r\n', [{(1,): b'v'}]),
]

BAD = [
    ('bad_type_byte', b'?x\r\n'),
    ('bad_integer', b':abc\r\n'),
    ('array_len_minus_2', b'*-2\r\n'),
    ('bulk_len_minus_2', b'$-2\r\n'),
    ('bulk_bad_trailer', b'$3\r\nabcXY'),
    ('bool_foobar', b'#foobar\r\n'),
    ('null_nil', b'_nil\r\n'),
    ('double_garbage', b',1.2.3\r\n'),
    ('huge_bulk', b'$2147483647\r\n'),
    ('huge_array', b'*4611686018427387904\r\n'),
    ('too_deep', b'*1\r\n' * 33 + b':1\r\n'),
]


def same(got, want):
    if isinstance(want, RedisError):
        return isinstance(got, RedisError) and got.args == want.args
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    return type(got) is type(want) and got == want


MORE = object()


def reader(**kw):
    # A sentinel for "need more bytes", since False is also a RESP3 reply.
    return Reader(notEnoughData=MORE, **kw)


def drain(rd):
    out = []
    while True:
        v = rd.gets()
        if v is MORE:
            return out
        out.append(v)


def feed_whole(wire, want):
    rd = reader()
    rd.feed(wire)
    got = drain(rd)
    check(same(got, want), 'whole: %r != %r' % (got, want))


def feed_bytewise(wire, want):
    rd = reader()
    got = []
    for i in range(len(wire)):
        rd.feed(wire[i:i + 1])
        got.extend(drain(rd))
    check(same(got, want), 'bytewise: %r != %r' % (got, want))


def bad_raises_and_sticks(wire):
    rd = reader()
    rd.feed(wire)
    raises(ParseError, drain, rd)
    # The reader stays in error: more (valid) input does not resynchronise it.
    rd.feed(b'+OK\r\n')
    raises(ParseError, rd.gets)


for name, wire, want in GOOD:
    add(name + '_whole', feed_whole, wire, want)
    add(name + '_bytewise', feed_bytewise, wire, want)
for name, wire in BAD:
    add(name, bad_raises_and_sticks, wire)


@test
def depth_32_is_allowed():
    feed_whole(b'*1\r\n' * 32 + b':1\r\n', [eval('[' * 32 + '1' + ']' * 32)])


@test
def incomplete_gives_false_until_complete():
    rd = Reader()
    eq(rd.gets(), False)
    rd.feed(b'$5\r\nhel')
    eq(rd.gets(), False)
    rd.feed(b'lo\r')
    eq(rd.gets(), False)
    rd.feed(b'\n')
    eq(rd.gets(), b'hello')
    eq(rd.gets(), False)


@test
def encoding_utf8_gives_str():
    rd = Reader(encoding='utf-8')
    rd.feed(b'$5\r\n\xc3\xa9t\xc3\xa9\r\n+ok\r\n*1\r\n$2\r\n\xff\xfe\r\n')
    eq(rd.gets(), '\u00e9t\u00e9')
    eq(rd.gets(), 'ok')
    eq(rd.gets(), ['\ufffd\ufffd'])


UTF8_CASES = [
    (b'\xf0\x9f\x98\x80', '\U0001f600'),      # valid 4-byte sequence
    (b'a\xc0\xafb', 'a\ufffd\ufffdb'),          # overlong encoding of '/'
    (b'\xed\xa0\x80', '\ufffd\ufffd\ufffd'),     # UTF-16 surrogate
    (b'\xf4\x90\x80\x80', '\ufffd\ufffd\ufffd\ufffd'),  # beyond U+10FFFF
    (b'x\xe2\x82', 'x\ufffd'),                  # truncated at the end
    (b'\xe2\x82y', '\ufffdy'),                  # truncated before an ASCII byte
]


@test
def encoding_replaces_each_invalid_sequence():
    for raw, want in UTF8_CASES:
        rd = Reader(encoding='utf-8')
        rd.feed(b'$%d\r\n' % len(raw) + raw + b'\r\n')
        got = rd.gets()
        check(got == want, '%r -> %r, expected %r' % (raw, got, want))


@test
def feed_accepts_buffers():
    rd = reader()
    rd.feed(bytearray(b'+a\r\n'))
    rd.feed(memoryview(b'+b\r\n'))
    eq(drain(rd), [b'a', b'b'])
    raises(TypeError, rd.feed, 42)


@test
def default_not_enough_data_is_false():
    rd = Reader()
    eq(rd.gets(), False)
    rd.feed(b'#f\r\n')
    eq(rd.gets(), False)  # ambiguous by design of the default, as in hiredis-py


@test
def protocol_argument():
    Reader(protocol=3)
    raises(ValueError, Reader, protocol=4)


@test
def large_stream_in_chunks():
    # 2000 replies fed in 7-byte chunks: linear work, every reply intact.
    wire = b''.join(b'$4\r\n%04d\r\n' % i for i in range(2000))
    rd = reader()
    got = []
    for i in range(0, len(wire), 7):
        rd.feed(wire[i:i + 7])
        got.extend(drain(rd))
    eq(len(got), 2000)
    eq(got[1234], b'1234')


run()
