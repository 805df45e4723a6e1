# The connection dies in the middle of a reply (tests/fake_server.py CLOSE
# sends FIN, RESET sends RST): the spec allows an OSError or a RedisError
# (the NOTE lines record which), raised promptly, and the next command
# reconnects cleanly -- no partial data from the dead link.
from picoredis import RedisError
from ptest import add, run, eq, check
from testenv import fake_client, hexstr, timed

# (name, fake server command, bytes sent before the connection dies)
CUT_OFF = (
    ('close_in_bulk', 'CLOSE', b'$10\r\nabc'),
    ('close_in_array', 'CLOSE', b'*3\r\n:1\r\n'),
    ('close_in_header', 'CLOSE', b':12'),
    ('close_before_reply', 'CLOSE', b''),
    ('reset_in_bulk', 'RESET', b'$10\r\nabc'),
    ('reset_in_array', 'RESET', b'*3\r\n:1\r\n'),
    ('reset_before_reply', 'RESET', b''),
)


def check_cut_off(how, raw):
    f = fake_client(timeout=3000)
    err, got, ms = timed(f.do_cmd, how, hexstr(raw))
    check(isinstance(err, (OSError, RedisError)), 'got %r / %r' % (err, got))
    check(ms < 1500, 'took %d ms' % ms)
    print('NOTE %s %r -> %s %r' % (how, raw, type(err).__name__, err.args))
    eq(f.script(hexstr(b':3\r\n')), 3)

for name, how, raw in CUT_OFF:
    add('cut_off_' + name, check_cut_off, how, raw)


run()
