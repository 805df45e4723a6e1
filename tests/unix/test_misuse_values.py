# Values: floats are sent as the shortest text that reads back as the same double
# (item 13); hostile RESP3 (a map or set as a map key or set member) is a ParseError, not
# a TypeError (item 17).
import struct
import binascii
from picoredis import Reader, ParseError
from ptest import test, add, run, eq, check, raises
from testenv import client, fake_client, hexstr

r = client()


def double(bits_hex):
    """The double with these IEEE 754 bits (not parsed from text: exact by construction)."""
    return struct.unpack('>d', binascii.unhexlify(bits_hex))[0]


def bits(x):
    return binascii.hexlify(struct.pack('>d', x)).decode()


def reads_back(text, bits_hex, spellings):
    """Whether `text` is the double with these bits: parsed by MicroPython (exact for the
    texts used here on the unix port), or else one of the expected shortest spellings
    (CPython's repr, ryu's), in case the float parser of a port is not exact for it."""
    try:
        if bits(float(text)) == bits_hex:
            return True
    except ValueError:
        pass
    return text in spellings


# -- item 13 ---------------------------------------------------------------------------------
@test
def item13_point_one_plus_point_two():
    v = 0.1 + 0.2
    eq(bits(v), '3fd3333333333334')
    eq(r.set('val:f', v), b'OK')
    eq(r.get('val:f'), b'0.30000000000000004')


@test
def item13_largest_double():
    v = double('7fefffffffffffff')  # 1.7976931348623157e308
    eq(r.set('val:max', v), b'OK')
    got = r.get('val:max')
    check(reads_back(got, '7fefffffffffffff', (b'1.7976931348623157e308',
                                                b'1.7976931348623157e+308')),
          'GET gave %r' % got)
    # The server parses it as that double too (a text that rounds up would be inf/refused).
    r('DEL', 'val:z')
    eq(r.zadd('val:z', v, 'm'), 1)
    eq(bits(float(r.zscore('val:z', 'm'))), bits(v))


# (double bits, texts that are the shortest round-trip spelling: CPython repr / ryu)
TABLE = (
    ('3fb999999999999a', (b'0.1',)),
    ('3fd5555555555555', (b'0.3333333333333333',)),
    ('01a56e1fc2f8f359', (b'1e-300',)),
    ('0000000000000001', (b'5e-324',)),
    ('c004000000000000', (b'-2.5',)),
    ('4341c37937e08000', (b'1e+16', b'1e16')),
    ('40fe240c9fbe76c9', (b'123456.789',)),
)


@test
def item13_floats_read_back_equal():
    # float(r.get(k)) == v, compared bit for bit (see reads_back).
    wrong = []
    for bits_hex, texts in TABLE:
        v = double(bits_hex)
        r.set('val:t', v)
        got = r.get('val:t')
        if not reads_back(got, bits_hex, texts):
            wrong.append('%s sent as %r (want %r)' % (bits_hex, got, texts[0]))
    eq(wrong, [], 'floats that do not read back')


# -- item 17 ---------------------------------------------------------------------------------
HOSTILE = (
    ('map_key_is_map', b'%1\r\n%1\r\n+a\r\n+b\r\n+v\r\n'),
    ('set_member_is_map', b'~1\r\n%1\r\n+a\r\n+b\r\n'),
    ('set_member_is_set', b'~1\r\n~1\r\n:1\r\n'),
    ('map_key_is_set', b'%1\r\n~1\r\n:1\r\n+v\r\n'),
    ('map_key_is_array_holding_map', b'%1\r\n*1\r\n%1\r\n+a\r\n+b\r\n+v\r\n'),
    ('set_member_is_array_holding_set', b'~1\r\n*2\r\n:1\r\n~1\r\n:2\r\n'),
)


def reader_refuses(wire):
    rd = Reader(protocol=3)
    rd.feed(wire)
    raises(ParseError, rd.gets)
    raises(ParseError, rd.gets)  # sticky, like any other malformed input
    rd.feed(b'+OK\r\n')
    raises(ParseError, rd.gets)
    # byte by byte: the same
    rd = Reader(protocol=3)
    for i in range(len(wire)):
        rd.feed(wire[i:i + 1])
        if i < len(wire) - 1:
            try:
                eq(rd.gets(), False, 'incomplete input')
            except ParseError:
                break  # refused as soon as it is clear: fine
    else:
        raises(ParseError, rd.gets)
    raises(ParseError, rd.gets)


for name, wire in HOSTILE:
    add('item17_reader_' + name, reader_refuses, wire)


def client_refuses(protocol):
    f = fake_client(protocol=protocol)
    for name, wire in HOSTILE:
        # ':1' follows in the same packet: if the connection were kept, the next command
        # would read it instead of its own reply.
        e = raises((ParseError, TypeError), f.script, hexstr(wire + b':1\r\n'))
        check(isinstance(e, ParseError), '%s: %r' % (name, e))
        eq(f.script(hexstr(b':2\r\n')), 2, name + ': next command')
    # An array as a map key is fine: it becomes a tuple (nested arrays, nested tuples).
    eq(f.script(hexstr(b'%1\r\n*2\r\n:1\r\n*1\r\n:2\r\n+v\r\n')), {(1, (2,)): b'v'})
    eq(f.script(hexstr(b'~2\r\n*1\r\n:1\r\n:1\r\n')), {(1,), 1})


add('item17_client_resp2', client_refuses, 2)
add('item17_client_resp3', client_refuses, 3)


run()
