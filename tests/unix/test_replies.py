# Each RESP reply type maps to the right Python value, from the real server.
from picoredis import RedisError
from ptest import test, add, run, eq, check, raises
from testenv import client, fresh_client

r = client()

INT64_MAX = 9223372036854775807
INT64_MIN = -9223372036854775808


@test
def simple_string_is_bytes():
    eq(r.ping(), b'PONG')
    eq(r.eval("return redis.status_reply('FINE')", 0), b'FINE')


@test
def bulk_strings():
    r.set('rep:s', 'value')
    eq(r.get('rep:s'), b'value')
    r.set('rep:empty', '')
    eq(r.get('rep:empty'), b'')


@test
def null_bulk_is_none():
    eq(r.get('rep:missing'), None)


@test
def null_array_is_none():
    # BLPOP's timeout answer is the RESP2 null array *-1.
    eq(r.blpop('rep:nolist', 0.01), None)


@test
def empty_array_is_empty_list():
    eq(r.lrange('rep:nolist', 0, -1), [])


@test
def integers():
    eq(r.incr('rep:i'), 1)
    eq(r.incrby('rep:i', -11), -10)
    eq(r.exists('rep:nothing'), 0)


@test
def mixed_array():
    r.set('rep:a', 'A')
    r.set('rep:c', 'C')
    eq(r.mget('rep:a', 'rep:b', 'rep:c'), [b'A', None, b'C'])


@test
def nested_arrays_from_eval():
    # Lua: false -> null bulk, true -> 1, {} -> empty array.
    got = r.eval("return {1, {2, {3, 'x'}}, {}, 'y', false, true}", 0)
    eq(got, [1, [2, [3, b'x']], [], b'y', None, 1])


@test
def deeply_nested_array_from_eval():
    # 20 levels: far more than real replies use, little enough for any
    # sane depth limit (test_malformed.py checks that 10 000 is refused).
    got = r.eval("local t = {7} for i = 1, 20 do t = {t} end return t", 0)
    for depth in range(20):
        check(type(got) is list and len(got) == 1, 'depth %d: %r' % (depth, got))
        got = got[0]
    eq(got, [7])


# 64-bit integer edges: (setup value, command, expected reply)
INT64_CASES = (
    ('incr_to_max', INT64_MAX - 1, 'INCR', INT64_MAX),
    ('decr_to_min', INT64_MIN + 1, 'DECR', INT64_MIN),
    ('incr_from_min', INT64_MIN, 'INCR', INT64_MIN + 1),
    ('decr_from_max', INT64_MAX, 'DECR', INT64_MAX - 1),
    ('beyond_32_bits', 2 ** 40, 'INCR', 2 ** 40 + 1),
    ('negative_beyond_32_bits', -(2 ** 40), 'DECR', -(2 ** 40) - 1),
)


def check_int64(start, cmd, want):
    r.set('rep:n', start)
    eq(r.do_cmd(cmd, 'rep:n'), want)

for name, start, cmd, want in INT64_CASES:
    add('int64_' + name, check_int64, start, cmd, want)


# Overflow past the edge is the server's error, and the value is untouched.
def check_overflow(start, cmd):
    r.set('rep:n', start)
    e = raises(RedisError, r.do_cmd, cmd, 'rep:n')
    eq(e.args[0], 'ERR')
    check('overflow' in e.args[1], e.args)
    eq(r.get('rep:n'), str(start).encode())

add('int64_overflow_max', check_overflow, INT64_MAX, 'INCR')
add('int64_overflow_min', check_overflow, INT64_MIN, 'DECR')


@test
def readme_sequence_incr_twice():
    # The brief's literal sequence: ...806 -> INCR -> ...807 -> INCR -> error.
    eq(r.set('rep:n', '9223372036854775806'), b'OK')
    eq(r.incr('rep:n'), 9223372036854775807)
    raises(RedisError, r.incr, 'rep:n')
    eq(r.ping(), b'PONG')


@test
def hash_reply():
    r.hset('rep:h', 'f1', 'v1', 'f2', 2)
    got = r.hgetall('rep:h')
    eq(sorted([got[0:2], got[2:4]]), [[b'f1', b'v1'], [b'f2', b'2']])


run(before_each=fresh_client(globals()))
