# The native helpers for code that does its own I/O (the asyncio layer):
# picoredis.encode(*args), Reader.feed(data, off, len) and Reader.has_data().
#
# encode() must produce exactly what the blocking client sends for the same command: each
# case is checked against hand-written RESP and against the bytes a Redis(sock=...) client
# writes to a recording stream; bad arguments raise the client's TypeError. Then feed()'s
# off/len boundaries, has_data() through replies fed byte by byte, and encode + Reader
# against the real server over a plain socket.
import array
import io

from picoredis import Reader, Redis, RedisError, ParseError, encode
from ptest import test, add, run, eq, check, raises
from testenv import PORT, socket_to


class Recorder(io.IOBase):
    """A stream for Redis(sock=...) that answers +OK to everything and keeps what the
    client wrote."""

    def __init__(self):
        self.sent = bytearray()
        self.rx = b''

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def write(self, buf):
        self.sent.extend(buf)
        self.rx += b'+OK\r\n'  # one reply per write is enough: one command per write
        return len(buf)

    def ioctl(self, req, arg):
        return 0


def client_sends(*args):
    """The bytes the blocking client writes for the command `args`."""
    rec = Recorder()
    r = Redis(sock=rec)
    eq(r.do_cmd(*args), b'OK')
    return bytes(rec.sent)


def resp(*words):
    """Hand-written RESP: an array of bulk strings."""
    out = b'*%d\r\n' % len(words)
    for w in words:
        out += b'$%d\r\n%s\r\n' % (len(w), w)
    return out


# (name, argument, bytes it is sent as)
ARGS = (
    ('str', 'text', b'text'),
    ('interned_str', 'GET', b'GET'),
    ('empty_str', '', b''),
    ('non_ascii_str', 'h\xe9\u20ac\U0001f600', b'h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80'),
    ('crlf_str', 'a\r\nb', b'a\r\nb'),
    ('bytes', b'raw', b'raw'),
    ('empty_bytes', b'', b''),
    ('binary_bytes', b'\x00\xff\r\n$*', b'\x00\xff\r\n$*'),
    ('bytearray', bytearray(b'ba\x00'), b'ba\x00'),
    ('memoryview', memoryview(b'mv'), b'mv'),
    ('memoryview_slice', memoryview(b'abcdef')[2:4], b'cd'),
    ('array', array.array('B', [65, 66]), b'AB'),
    ('int', 42, b'42'),
    ('zero', 0, b'0'),
    ('negative_int', -7, b'-7'),
    ('small_int_max', 2 ** 62 - 1, b'4611686018427387903'),
    ('first_big_int', 2 ** 62, b'4611686018427387904'),
    ('int64_max', 9223372036854775807, b'9223372036854775807'),
    ('int64_min', -9223372036854775808, b'-9223372036854775808'),
    ('big_int', 2 ** 100, b'1267650600228229401496703205376'),
    ('negative_big_int', -(2 ** 70), b'-1180591620717411303424'),
    ('float', 1.5, b'1.5'),
    ('negative_float', -2.25, b'-2.25'),
    ('float_shortest', 0.1 + 0.2, b'0.30000000000000004'),
    ('float_exponent', 1e100, b'1e100'),
    ('float_inf', float('inf'), b'inf'),
    ('float_minus_inf', float('-inf'), b'-inf'),
)


def encodes_as_client(args, want):
    got = encode(*args)
    eq(got, want, 'encode')
    eq(client_sends(*args), got, 'client')


for name, arg, wire in ARGS:
    add('encode_' + name, encodes_as_client, ('SET', 'k', arg), resp(b'SET', b'k', wire))

add('encode_name_only', encodes_as_client, ('PING',), resp(b'PING'))
add('encode_every_type_at_once', encodes_as_client,
    tuple(a for _, a, _ in ARGS), resp(*[w for _, _, w in ARGS]))
add('encode_300_args', encodes_as_client,
    tuple(['RPUSH'] + [str(i) for i in range(300)]),
    resp(*[b'RPUSH'] + [str(i).encode() for i in range(300)]))
# Past the client's 512-byte write buffer, and past the 64 KB it collects whole: the
# client writes these in other ways, the bytes must not differ.
add('encode_1k_value', encodes_as_client, ('SET', 'k', b'v' * 1000), resp(b'SET', b'k', b'v' * 1000))
# Lengths at every digit count's edges, with 1 to 9 arguments (a command of up to 8 buffer
# arguments is written in one piece by the unix build, a longer one piece by piece).
add('encode_length_digits', lambda: [encodes_as_client(
    tuple([b'x' * n] * k), resp(*[b'x' * n] * k))
    for n in (0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000) for k in (1, 2, 8, 9)])
add('encode_str_and_memoryview', encodes_as_client,
    ('SET', 'cl\u00e9', memoryview(b'abc')[1:]), resp(b'SET', 'cl\u00e9'.encode(), b'bc'))
add('encode_100k_value', encodes_as_client,
    ('SET', 'k', bytearray(b'x' * 100000)), resp(b'SET', b'k', b'x' * 100000))


@test
def encode_returns_new_bytes():
    data = bytearray(b'abc')
    got = encode('SET', 'k', data)
    data[0] = ord('X')  # the request is a copy, not a view of the argument
    eq(got, resp(b'SET', b'k', b'abc'))
    check(encode('PING') is not encode('PING'))


# (name, arguments): TypeError, nothing produced, and the client says the same.
BAD = (
    ('none', ('SET', 'k', None)),
    ('true', ('SET', 'k', True)),
    ('false', ('SET', 'k', False)),
    ('list', ('SET', 'k', [1])),
    ('tuple', ('SET', 'k', (1,))),
    ('dict', ('SET', 'k', {})),
    ('object', ('SET', 'k', object())),
    ('bad_name', (None, 'k')),
    ('bad_last_of_many', ('MSET', 'a', 1, 'b', 2, 'c', None)),
)


def refused_as_client(args):
    e = raises(TypeError, encode, *args)
    rec = Recorder()
    r = Redis(sock=rec)
    ce = raises(TypeError, r.do_cmd, *args)
    eq(e.args, ce.args)
    eq(bytes(rec.sent), b'', 'client sent')


for name, args in BAD:
    add('encode_refuses_' + name, refused_as_client, args)


@test
def encode_needs_a_command_name():
    e = raises(TypeError, encode)
    check('name' in str(e), str(e))
    raises(TypeError, Redis(sock=Recorder()))  # the client refuses r() too


@test
def encode_takes_no_keywords():
    raises(TypeError, encode, 'GET', key='k')


# ---- Reader.feed(data, off=0, len=-1) -------------------------------------------------

MORE = object()
WIRE = b'xx+OK\r\n:1\r\n+p'   # replies at 2..7 and 7..11, then part of one


def drain(rd):
    out = []
    while True:
        v = rd.gets()
        if v is MORE:
            return out
        out.append(v)


# (name, extra feed arguments, replies, whether bytes are left buffered)
FEEDS = (
    ('whole_default', (), [], True),                 # 'xx' is not RESP: see feed_part
    ('off_only', (2,), [b'OK', 1], True),            # '+p' is left: an incomplete reply
    ('off_and_len', (2, 5), [b'OK'], False),
    ('off_and_len_two', (2, 9), [b'OK', 1], False),
    ('len_minus_one', (2, -1), [b'OK', 1], True),
    ('len_to_the_end', (7, len(WIRE) - 7), [1], True),
    ('zero_len', (2, 0), [], False),
    ('off_at_end', (len(WIRE),), [], False),
    ('off_at_end_zero_len', (len(WIRE), 0), [], False),
    ('off_at_end_len_minus_one', (len(WIRE), -1), [], False),
    ('partial', (2, 4), [], True),
)


def feed_part(kind, extra, want, left):
    data = kind(WIRE)
    rd = Reader(notEnoughData=MORE)
    if not extra:
        rd.feed(data)
        raises(ParseError, rd.gets)  # 'xx' is not RESP: all of the data was fed
        check(rd.has_data())
        return
    check(rd.feed(data, *extra) is None)
    eq(drain(rd), want)
    eq(rd.has_data(), left)


KINDS = (('bytes', bytes), ('bytearray', bytearray), ('memoryview', memoryview))
for name, extra, want, left in FEEDS:
    for kname, kind in KINDS:
        add('feed_%s_%s' % (name, kname), feed_part, kind, extra, want, left)


# (name, extra feed arguments, exception): nothing is fed.
FEED_ERRORS = (
    ('off_negative', (-1,), ValueError),
    ('off_past_end', (len(WIRE) + 1,), ValueError),
    ('len_past_end', (0, len(WIRE) + 1), ValueError),
    ('off_plus_len_past_end', (2, len(WIRE) - 1), ValueError),
    ('off_plus_len_one_past_end', (7, len(WIRE) - 6), ValueError),
    ('len_minus_two', (0, -2), ValueError),
    ('off_past_end_len_minus_one', (len(WIRE) + 1, -1), ValueError),
    ('off_huge', (2 ** 40,), ValueError),
    ('off_big_int', (2 ** 100,), OverflowError),
    ('off_str', ('1',), TypeError),
    ('off_float', (1.0,), TypeError),
    ('len_none', (0, None), TypeError),
    ('too_many', (0, 1, 2), TypeError),
)


def feed_refused(extra, exc):
    rd = Reader(notEnoughData=MORE)
    raises(exc, rd.feed, WIRE, *extra)
    eq(rd.has_data(), False)
    rd.feed(b'+fine\r\n')  # nothing of the refused call was fed
    eq(drain(rd), [b'fine'])


for name, extra, exc in FEED_ERRORS:
    add('feed_refuses_' + name, feed_refused, extra, exc)


@test
def feed_refuses_non_buffers_and_keywords():
    rd = Reader(notEnoughData=MORE)
    raises(TypeError, rd.feed, 42)
    raises(TypeError, rd.feed, None, 0, 0)
    raises(TypeError, rd.feed, WIRE, off=2)  # positional only, as in hiredis-py
    raises(TypeError, rd.feed)
    eq(rd.has_data(), False)


@test
def feed_window_of_a_receive_buffer():
    # The asyncio pattern: one buffer received into again and again, fed by window.
    wire = b''.join(b'$3\r\n%03d\r\n' % i for i in range(200))
    buf = bytearray(16)
    rd = Reader(notEnoughData=MORE)
    got = []
    for i in range(0, len(wire), 11):
        chunk = wire[i:i + 11]
        buf[3:3 + len(chunk)] = chunk
        rd.feed(buf, 3, len(chunk))
        got.extend(drain(rd))
    eq(len(got), 200)
    eq(got[123], b'123')
    eq(rd.has_data(), False)


@test
def feed_bool_offsets_are_ints():
    rd = Reader(notEnoughData=MORE)
    rd.feed(b'x+a\r\n', True)  # MicroPython's int arguments take a bool
    eq(drain(rd), [b'a'])


# ---- Reader.has_data() -----------------------------------------------------------------

# Wires of one or more replies: fed byte by byte, has_data() must be True exactly while
# some fed byte has not been returned as part of a reply.
HAS_DATA = (
    ('simple', b'+OK\r\n'),
    ('bulk', b'$5\r\nhello\r\n'),
    ('null_bulk', b'$-1\r\n'),
    ('empty_array', b'*0\r\n'),
    ('nested', b'*2\r\n*1\r\n:1\r\n$1\r\nx\r\n'),
    ('error', b'-ERR bad\r\n'),
    ('several', b'+a\r\n:1\r\n$1\r\nb\r\n*1\r\n+c\r\n'),
    ('resp3_map', b'%1\r\n+a\r\n:1\r\n'),
    ('resp3_attribute', b'|1\r\n+key\r\n+val\r\n:7\r\n'),
    ('resp3_push', b'>2\r\n+message\r\n+hi\r\n'),
)


def has_data_bytewise(wire):
    rd = Reader(protocol=3, notEnoughData=MORE)
    eq(rd.has_data(), False, 'new reader')
    ends = []  # where each reply ended
    for i in range(len(wire)):
        rd.feed(wire, i, 1)
        eq(rd.has_data(), True, 'after byte %d' % i)
        while True:
            v = rd.gets()
            if v is MORE:
                break
            ends.append(i + 1)
        # True while the bytes fed so far are not all returned
        eq(rd.has_data(), not ends or ends[-1] != i + 1, 'after gets at byte %d' % i)
    eq(ends[-1], len(wire))
    rd.feed(b'')
    eq(rd.has_data(), False, 'after an empty feed')


for name, wire in HAS_DATA:
    add('has_data_' + name, has_data_bytewise, wire)


@test
def has_data_with_replies_not_yet_taken():
    rd = Reader(notEnoughData=MORE)
    rd.feed(b'+a\r\n+b\r\n+c')
    eq(rd.has_data(), True)
    eq(rd.gets(), b'a')
    eq(rd.has_data(), True)   # '+b' is complete, not taken yet
    eq(rd.gets(), b'b')
    eq(rd.has_data(), True)   # '+c' is partial
    eq(rd.gets(), MORE)
    eq(rd.has_data(), True)
    rd.feed(b'\r\n')
    eq(rd.gets(), b'c')
    eq(rd.has_data(), False)


@test
def has_data_after_a_protocol_error():
    rd = Reader(notEnoughData=MORE)
    rd.feed(b'?bad\r\n')
    raises(ParseError, rd.gets)
    eq(rd.has_data(), True)   # the bytes it stopped at are still there


@test
def has_data_takes_no_arguments():
    raises(TypeError, Reader().has_data, 1)


# ---- encode + Reader against the real server -----------------------------------------

def exchange(requests, n_replies, protocol=2, chunk=4096):
    """Sends `requests` (bytes) in one write over a plain socket and parses `n_replies`
    replies with a Reader fed from a fixed receive buffer."""
    s = socket_to(PORT)
    try:
        s.write(requests)
        rd = Reader(protocol=protocol, notEnoughData=MORE)
        buf = bytearray(chunk)
        out = []
        while len(out) < n_replies:
            data = s.recv(chunk)
            check(data, 'server closed the connection')
            buf[:len(data)] = data
            rd.feed(buf, 0, len(data))
            out.extend(drain(rd))
        eq(rd.has_data(), False)
        return out
    finally:
        s.close()


def stored_as(arg, wire):
    got = exchange(encode('SET', 'rio:k', arg) + encode('GET', 'rio:k') +
                   encode('STRLEN', 'rio:k'), 3)
    eq(got, [b'OK', wire, len(wire)])


for name, arg, wire in ARGS:
    add('server_stores_' + name, stored_as, arg, wire)


@test
def server_round_trip_of_reply_types():
    got = exchange(b''.join([
        encode('DEL', 'rio:n', 'rio:l', 'rio:h'),
        encode('INCRBY', 'rio:n', 41),
        encode('INCR', 'rio:n'),
        encode('RPUSH', 'rio:l', 'a', b'b', 3),
        encode('LRANGE', 'rio:l', 0, -1),
        encode('HSET', 'rio:h', 'f', 1.5),
        encode('HGETALL', 'rio:h'),
        encode('GET', 'rio:missing'),
        encode('NOSUCHCOMMAND', 'x'),
        encode('PING', 'last'),
    ]), 10)
    eq(got[:8], [0, 41, 42, 3, [b'a', b'b', b'3'], 1, [b'f', b'1.5'], None])
    check(isinstance(got[8], RedisError), repr(got[8]))
    eq(got[8].args[0], 'ERR')
    eq(got[9], b'last')


@test
def server_pipelines_many_encoded_commands():
    reqs = encode('DEL', 'rio:c') + b''.join(encode('INCR', 'rio:c') for _ in range(500))
    got = exchange(reqs, 501, chunk=64)
    eq(got[1:], list(range(1, 501)))


@test
def server_large_value_in_small_chunks():
    value = bytes(range(256)) * 400  # 100 KB, every byte value
    got = exchange(encode('SET', 'rio:big', value) + encode('GET', 'rio:big'), 2, chunk=1000)
    eq(got, [b'OK', value])


@test
def server_resp3():
    got = exchange(encode('HELLO', 3) + encode('HSET', 'rio:h3', 'a', 1) +
                   encode('HGETALL', 'rio:h3') + encode('SISMEMBER', 'rio:none', 'x'), 4,
                   protocol=3)
    check(isinstance(got[0], dict), repr(got[0]))
    eq(got[2], {b'a': b'1'})
    eq(got[3], 0)



@test
def is_push_tells_pushes_from_replies():
    rd = Reader(protocol=3)
    eq(rd.is_push(), False)
    rd.feed(b'>2\r\n+invalidate\r\n*1\r\n+k\r\n*1\r\n:1\r\n+OK\r\n')
    eq(rd.gets(), [b'invalidate', [b'k']])
    eq(rd.is_push(), True)
    eq(rd.gets(), [1])      # the same shape, but an array: a command's reply
    eq(rd.is_push(), False)
    eq(rd.gets(), b'OK')
    eq(rd.is_push(), False)


run()
