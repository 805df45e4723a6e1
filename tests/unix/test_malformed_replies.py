# Malformed replies from tests/fake_server.py: ParseError, quickly (no
# waiting for the timeout, no giant allocation, no recursion crash), the
# firmware survives, nothing stale leaks into the next command, and the
# client works again after connect() to the real server.
import picoredis
from picoredis import ParseError, RedisError, RedisTimeout
from ptest import test, add, run, eq, check
from testenv import fake_client, hexstr, timed, PORT

QUICK_MS = 1500  # well below the 3000 ms timeout used here

# (name, raw reply).  Each is followed by ':1\r\n' in the same packet: if
# the client kept buffered bytes after the error, the next command would
# read that 1 instead of its own reply.
MALFORMED = (
    ('bad_type_byte', b'?oops\r\n'),
    ('nul_type_byte', b'\x00\r\n'),
    ('bulk_len_2147483647', b'$2147483647\r\n'),
    ('array_len_4611686018427387904', b'*4611686018427387904\r\n'),
    ('nesting_10000_deep', b'*1\r\n' * 10000 + b':1\r\n'),
    ('bulk_wrong_trailer', b'$3\r\nfooXY'),
    ('bulk_missing_lf', b'$3\r\nfoo\rX'),
    ('int_not_a_number', b':abc\r\n'),
    ('int_empty', b':\r\n'),
    ('int_trailing_junk', b':12x\r\n'),
    ('array_len_minus_2', b'*-2\r\n'),
    ('bulk_len_minus_2', b'$-2\r\n'),
    ('bulk_len_not_a_number', b'$abc\r\n'),
    ('nested_bad_element', b'*2\r\n:1\r\n!x\r\n'),
)


def check_malformed(raw):
    f = fake_client(timeout=3000)
    err, got, ms = timed(f.script, hexstr(raw + b':1\r\n'))
    check(isinstance(err, ParseError), 'got %r / %r' % (err, got))
    check(ms < QUICK_MS, 'ParseError after %d ms' % ms)
    # Next command reconnects to the fake server automatically.
    eq(f.script(hexstr(b':2\r\n')), 2)
    # And the same client is usable with the real server.
    f.connect(port=PORT)
    eq(f.ping(), b'PONG')
    eq(f.echo('clean'), b'clean')

for name, raw in MALFORMED:
    add('malformed_' + name, check_malformed, raw)


@test
def valid_reply_then_malformed_on_same_link():
    f = fake_client()
    eq(f.script(hexstr(b'*2\r\n$1\r\na\r\n:-5\r\n')), [b'a', -5])
    err, _, _ = timed(f.script, hexstr(b'*1\r\n:x\r\n'))
    check(isinstance(err, ParseError), 'got %r' % (err,))
    eq(f.script(hexstr(b'$0\r\n\r\n')), b'')


@test
def silent_fake_server_times_out():
    f = fake_client(timeout=300)
    err, _, ms = timed(f.silent)
    check(isinstance(err, RedisTimeout), 'got %r' % (err,))
    check(250 <= ms < 1500, 'took %d ms' % ms)
    eq(f.script(hexstr(b'+back\r\n')), b'back')


@test
def error_classes_are_distinct():
    check(not issubclass(ParseError, RedisError), 'ParseError is a RedisError')
    check(not issubclass(RedisTimeout, RedisError), 'RedisTimeout is a RedisError')
    check(not issubclass(RedisTimeout, OSError), 'RedisTimeout is an OSError')
    check(picoredis.ParseError is ParseError, 'module attribute mismatch')


run()
