# picoredis.encode() and Reader.feed(data, off, len) / has_data() on bare metal: encode
# gives exactly the bytes the client sends (32-bit small ints, the board's own float
# text), and a reply fed by window parses as the client parses it.
import picoredis
# ScriptedServer: tests/qemu/lib/stream_server.py, prepended by `make qemu-test`.

s = ScriptedServer()
r = picoredis.Redis(sock=s)

ARGS = ('text', '', 'h\u00e9', b'\x00\r\n', bytearray(b'ba'), memoryview(b'abcd')[1:3],
        0, -7, 2 ** 30 - 1, 2 ** 30, 2 ** 62, -(2 ** 70), 1.5, 0.1, 1e30, -2.25)
bad = []
for a in ARGS:
    s.add(b'+OK\r\n')
    r.set('k', a)
    if s.take_sent() != picoredis.encode('set', 'k', a):
        bad.append(a)
print('encode as client', bad)
print('encode text', picoredis.encode('GET', 'k\u00e9', 12))
for args in ((), ('SET', 'k', None), ('SET', 'k', [1])):
    try:
        picoredis.encode(*args)
        print(args, 'FAIL')
    except TypeError:
        print(len(args), 'TypeError')

MORE = object()
rd = picoredis.Reader(notEnoughData=MORE)
print('has_data new', rd.has_data())
wire = b'xx$5\r\nhello\r\n:12\r\nyy'
rd.feed(wire, 2, 6)
print('part', rd.gets() is MORE, rd.has_data())
rd.feed(wire, 8, 5)
print('reply', rd.gets(), rd.has_data())
rd.feed(memoryview(bytearray(wire)), 13, 5)
print('reply', rd.gets(), rd.has_data())
for extra in ((-1,), (len(wire) + 1,), (0, len(wire) + 1), (0, -2)):
    try:
        rd.feed(wire, *extra)
        print(extra, 'FAIL')
    except ValueError:
        print(extra, 'ValueError', rd.has_data())
