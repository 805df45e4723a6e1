# Replies that never end (tests/fake_server.py ENDLESS streams for up to
# 10 s): either a ParseError (a line/size/depth limit) or a RedisTimeout at
# the timeout -- never a hang, a crash or a MemoryError.  NOTE lines record
# which one the client chose.
from picoredis import ParseError, RedisTimeout
from ptest import add, run, eq, check
from testenv import fake_client, hexstr, timed, PORT

# (name, prefix sent once, unit repeated forever)
ENDLESS = (
    ('simple_string_without_crlf', b'+', b'a'),
    ('error_line_without_crlf', b'-ERR ', b'e'),
    ('bulk_length_digits', b'$', b'9'),
    ('nesting', b'', b'*1\r\n'),
    ('bulk_200kb_then_no_crlf', b'$200000\r\n', b'a'),
)


def check_endless(prefix, unit):
    f = fake_client(timeout=1000)
    err, got, ms = timed(f.endless, hexstr(prefix), hexstr(unit))
    check(isinstance(err, (ParseError, RedisTimeout)), 'got %r / %r' % (err, got))
    check(ms < 2500, 'took %d ms' % ms)
    print('NOTE endless %r -> %s after %d ms' % (prefix + unit, type(err).__name__, ms))
    f.connect(port=PORT)
    eq(f.ping(), b'PONG')

for name, prefix, unit in ENDLESS:
    add('endless_' + name, check_endless, prefix, unit)


run()
