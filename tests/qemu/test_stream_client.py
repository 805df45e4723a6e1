# picoredis over an in-memory stream on bare metal: replies of every kind, and the exact
# bytes sent for each request.
import picoredis
# ScriptedServer: tests/qemu/lib/stream_server.py, prepended by `make qemu-test`
# (boards have no filesystem to import it from).


def check(name, got, want):
    print(name, 'ok' if got == want else 'FAIL %r != %r' % (got, want))


s = ScriptedServer()
r = picoredis.Redis(sock=s)

s.add(b'+PONG\r\n')
check('ping', r.ping(), b'PONG')
check('ping sent', s.take_sent(), b'*1\r\n$4\r\nping\r\n')

s.add(b'+OK\r\n')
check('set', r.set('k\u00e9', b'a\r\nb\x00'), b'OK')
check('set sent', s.take_sent(), b'*3\r\n$3\r\nset\r\n$3\r\nk\xc3\xa9\r\n$5\r\na\r\nb\x00\r\n')

s.add(b':-42\r\n')
check('int args', r('INCRBY', 'n', -42), -42)
check('int sent', s.take_sent(), b'*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$3\r\n-42\r\n')

big = bytes(range(256)) * 80  # 20 KB, every byte value
s.add(b'$%d\r\n' % len(big) + big + b'\r\n')
check('large bulk', r.get('big') == big, True)

s.add(b'*3\r\n*2\r\n:1\r\n$1\r\nx\r\n$-1\r\n*0\r\n')
check('nested', r.lrange('l', 0, -1), [[1, b'x'], None, []])

s.add(b'*2\r\n-ERR inner\r\n:7\r\n')
res = r.eval('x', 0)
check('error in array', (type(res[0]).__name__, res[0].args, res[1]), ('RedisError', ('ERR', 'inner'), 7))

s.add(b'-WRONGTYPE Operation against a key\r\n')
try:
    r.incr('s')
    print('top error FAIL: no exception')
except picoredis.RedisError as e:
    check('top error', e.args, ('WRONGTYPE', 'Operation against a key'))

s.add(b'%2\r\n+a\r\n:1\r\n+b\r\n#t\r\n')
check('resp3 map', r.hgetall('h'), {b'a': 1, b'b': True})
s.add(b'~1\r\n$1\r\nm\r\n')
check('resp3 set', r.smembers('s'), {b'm'})
s.add(b',3.5\r\n')
check('resp3 double', r.zscore('z', 'm'), 3.5)
s.add(b'_\r\n')
check('resp3 null', r.get('none'), None)

s.take_sent()
try:
    r.set('k', None)
    print('type error FAIL')
except TypeError:
    check('type error sends nothing', s.take_sent(), b'')

p = r.pipeline()
p.set('a', 1).get('a')
s.take_sent()
s.add(b'+OK\r\n$1\r\n1\r\n')
check('pipeline', p.execute(), [b'OK', b'1'])
check('pipeline one write', s.take_sent(), b'*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nget\r\n$1\r\na\r\n')

# Floats on a single-precision board: the fewest digits that read back as the same
# float (0.1 is 0.1, not 0.100000001; the float after 1.0 needs 8 digits).
for f, text in ((0.1, b'0.1'), (21.5, b'21.5'), (1.0000001, b'1.0000001'), (-2.5e-8, b'-2.5e-08')):
    s.add(b'+OK\r\n')
    r.set('f', f)
    sent = s.take_sent()
    check('float %s' % text.decode(), sent.split(b'\r\n')[-2], text)

# Malformed reply: ParseError, and the stream is closed (never reused).
s.add(b'?bad\r\n')
try:
    r.ping()
    print('parse error FAIL')
except picoredis.ParseError:
    check('parse error closes', s.closed, True)
# A user's stream cannot be reopened by picoredis.
try:
    r.ping()
    print('closed FAIL')
except OSError:
    print('closed stream ok')
