# Streams that misbehave: `sock=` streams that report impossible byte counts (item 3),
# non-blocking streams (item 11), streams whose close() fails after an error (item 16), and
# bytes nobody asked for left on a connection (item 7).
#
# The `sock=` streams are Python io.IOBase classes over a real socket to the test server
# (testenv.SocketStream): MicroPython calls their readinto/write/ioctl.
import select
import time
from picoredis import Redis, ParseError, RedisTimeout
from ptest import test, add, run, eq, check, raises, AssertFailed, _describe
from testenv import client, fake_client, hexstr, timed, SocketStream

# Several reads: the header and start first, the rest after (larger than the biggest read
# buffer, the unix build's 16 KB).
BIG = b'x' * 40000


class Liar(SocketStream):
    """Once armed, the n-th readinto (or write) does the real I/O but reports `count`
    (a function of the buffer's length) instead of what it did. A stream that already
    reported an impossible count must not be read or written again."""

    def __init__(self):
        SocketStream.__init__(self, timeout_s=1)
        self.read_count = self.write_count = None
        self.calls = 0
        self.lied = False

    def arm(self, read=None, write=None, on_call=1):
        self.read_count, self.write_count, self.on_call, self.calls = read, write, on_call, 0

    def _io(self, real, count, buf):
        if self.lied:
            raise RuntimeError('stream used again after it reported %r bytes' % (self.lied,))
        n = real(self, buf)
        if count is not None:
            self.calls += 1
            if self.calls == self.on_call:
                self.lied = count(len(buf))
                return self.lied
        return n

    def readinto(self, buf):
        return self._io(SocketStream.readinto, self.read_count, buf)

    def write(self, buf):
        return self._io(SocketStream.write, self.write_count, buf)


def lying_stream(command, on_call=1, **counts):
    # item 3: an impossible count is an OSError; no crash, and the client is closed after it
    # (a sock= client cannot reconnect, so the next command raises OSError too).
    st = Liar()
    r = Redis(sock=st)
    r.set('str:big', BIG)
    st.arm(on_call=on_call, **counts)
    err, got, _ = timed(command, r)
    check(isinstance(err, OSError), 'expected OSError, got %r / %r' % (err, repr(got)[:60]))
    check(st.closed >= 1, 'the stream was not closed')
    raises(OSError, r.ping)


def lying_counts(command, kind, counts, on_call=1):
    for label, count in counts:
        try:
            lying_stream(command, on_call, **{kind: count})
        except Exception as e:
            raise AssertFailed('%s returning %s: %s' % (kind, label, _describe(e)))


PING = lambda r: r.ping()
GET_BIG = lambda r: r.get('str:big')
PLUS_100 = ('len(buf) + 100', lambda n: n + 100)
MILLION = ('10**6', lambda n: 10 ** 6)
MINUS_5 = ('-5', lambda n: -5)

add('item3_readinto_returns_more_than_buffer', lying_counts, PING, 'read', [PLUS_100, MINUS_5])
add('item3_readinto_returns_10e6', lying_counts, PING, 'read', [MILLION])
add('item3_readinto_overcount_inside_bulk', lying_counts, GET_BIG, 'read', [PLUS_100, MILLION], 2)
add('item3_write_returns_more_than_given', lying_counts, PING, 'write', [PLUS_100, MINUS_5])
add('item3_write_returns_10e6', lying_counts, PING, 'write', [MILLION])


# -- item 11: a non-blocking stream ----------------------------------------------------------
class NonBlocking(SocketStream):
    """A non-blocking stream: readinto returns None while no data can be read, and nothing
    is readable until `delay_ms` after the last write (None: never). ioctl(MP_STREAM_POLL)
    reports readable only when readinto would give data."""

    def __init__(self, delay_ms):
        SocketStream.__init__(self, timeout_s=1)
        self.sock.settimeout(0)
        self.poller = select.poll()
        self.poller.register(self.sock, select.POLLIN)
        self.delay_ms = delay_ms
        self.gate = None      # ticks_ms from which data may be read
        self.nones = 0

    def write(self, buf):
        n = SocketStream.write(self, buf)
        if self.delay_ms is not None:
            self.gate = time.ticks_add(time.ticks_ms(), self.delay_ms)
        return n

    def readable(self):
        return (self.gate is not None and time.ticks_diff(time.ticks_ms(), self.gate) >= 0
                and bool(self.poller.poll(0)))

    def readinto(self, buf):
        if not self.readable():
            self.nones += 1
            return None
        return SocketStream.readinto(self, buf)

    def ioctl(self, req, arg):
        if req == self.POLL:
            return (arg & self.POLLOUT) | (arg & self.POLLIN if self.readable() else 0)
        return SocketStream.ioctl(self, req, arg)


@test
def item11_nonblocking_stream_waits_for_data():
    st = NonBlocking(200)
    r = Redis(sock=st, timeout=2000)
    err, got, ms = timed(r.ping)
    check(err is None, 'ping raised %r after %d ms' % (err, ms))
    eq(got, b'PONG')
    check(ms >= 150, 'PONG after %d ms, before the stream had data' % ms)
    eq(r.set('nb:big', BIG), b'OK')
    eq(r.get('nb:big'), BIG)
    check(st.nones > 0, 'readinto never returned None')


@test
def item11_nonblocking_stream_times_out_after_timeout():
    st = NonBlocking(None)  # the reply never becomes readable
    r = Redis(sock=st, timeout=100)
    err, _, ms = timed(r.ping)
    check(isinstance(err, RedisTimeout), 'got %r' % (err,))
    check(80 <= ms < 1000, 'RedisTimeout after %d ms (timeout=100)' % ms)


# -- item 16: the stream's close fails after an error ----------------------------------------
class BadClose(SocketStream):
    """Reads fail in the given way once armed; close() (also through ioctl) raises."""

    def __init__(self):
        SocketStream.__init__(self, timeout_s=1)
        self.fail = None

    def readinto(self, buf):
        if self.fail is None:
            return SocketStream.readinto(self, buf)
        return self.fail()

    def close(self):
        SocketStream.close(self)
        raise RuntimeError('close failed')


def raise_oserror(errno):
    def fail():
        raise OSError(errno)
    return fail


def failing_stream_then_bad_close(variants):
    # item 16: the user sees the stream's error (or the timeout), not the error of the
    # close that followed it; the client ends closed either way.
    for name, fail, want in variants:
        st = BadClose()
        r = Redis(sock=st, timeout=100)
        st.fail = fail
        err, _, _ = timed(r.ping)
        check(isinstance(err, want) and not isinstance(err, RuntimeError),
              '%s: expected %r, got %r' % (name, want, err))
        check(st.closed >= 1, '%s: the stream was not closed' % name)
        e = raises(OSError, r.ping)  # closed: a sock= client does not reconnect
        check(not isinstance(e, RuntimeError), name)


@test
def item16_timeout_then_close_raises():
    failing_stream_then_bad_close((
        ('readinto returns None (no data) forever', lambda: None, RedisTimeout),
        ('readinto raises OSError(ETIMEDOUT)', raise_oserror(110), (RedisTimeout, OSError)),
    ))


@test
def item16_oserror_then_close_raises():
    failing_stream_then_bad_close((
        ('readinto returns -ECONNRESET', lambda: -104, OSError),
        ('readinto raises OSError(ECONNRESET)', raise_oserror(104), OSError),
    ))
    # An explicit close() whose stream close raises: that error is the one raised, and the
    # client is closed all the same.
    st = BadClose()
    r = Redis(sock=st)
    eq(r.ping(), b'PONG')
    e = raises(RuntimeError, r.close)
    eq(str(e), 'close failed')
    raises(OSError, r.ping)


# -- item 7: bytes nobody asked for ----------------------------------------------------------
@test
def item7_unsolicited_bytes_after_a_reply():
    f = fake_client()
    # One packet: the reply, then a second reply nobody asked for.
    eq(f.script(hexstr(b'+OK\r\n+EXTRA\r\n')), b'OK')
    err, got, _ = timed(f.script, hexstr(b':7\r\n'))
    check(isinstance(err, ParseError), 'next command: expected ParseError, got %r / %r'
          % (err, got))
    eq(f.script(hexstr(b':8\r\n')), 8)  # the one after works on a fresh connection
    eq(f.script(hexstr(b':9\r\n')), 9)
    # RESP3 push frames are not unsolicited: they are skipped (here left over after a
    # reply, the way a client-side-caching invalidation arrives).
    f3 = fake_client(protocol=3)
    push = b'>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n'
    eq(f3.script(hexstr(b'+OK\r\n' + push)), b'OK')
    eq(f3.script(hexstr(b':7\r\n')), 7)
    eq(f3.script(hexstr(push + b':8\r\n' + push)), 8)
    eq(f3.script(hexstr(b':9\r\n')), 9)
    # The same on the real server: a RESP3 client with tracking that modifies a key it
    # tracks gets the invalidation push right after the reply; the next command works.
    r = client(protocol=3)
    eq(r.client('TRACKING', 'on'), b'OK')
    r.set('str:tracked', 1)
    for i in range(20):
        eq(r.get('str:tracked'), b'%d' % (i + 1))  # tracked again
        eq(r.set('str:tracked', i + 2), b'OK')    # invalidates its own key
    eq(r.ping(), b'PONG')


run()
