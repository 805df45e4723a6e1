# Replies too big for any fixed buffer: a 100 KB value, 1000-element arrays.
from ptest import test, run, eq, check
from testenv import client, fresh_client

r = client()


@test
def value_100kb_bytes():
    value = bytes(range(256)) * 400          # 102400 bytes, incl. \r \n \0
    eq(r.set('big:b', value), b'OK')
    eq(r.strlen('big:b'), 102400)
    got = r.get('big:b')
    eq(len(got), 102400)
    check(got == value, 'content differs')
    eq(r.ping(), b'PONG')


@test
def value_100kb_ascii_str():
    value = 'abcdefghij' * 10240
    eq(r.set('big:a', value), b'OK')
    eq(r.strlen('big:a'), 102400)
    check(r.get('big:a') == value.encode(), 'content differs')


@test
def value_100kb_non_ascii_str():
    value = '\u20ac' * 34134                  # 3 bytes each: 102402 bytes
    eq(r.set('big:s', value), b'OK')
    eq(r.strlen('big:s'), 102402)
    check(r.get('big:s') == value.encode('utf-8'), 'content differs')


@test
def lrange_1000_elements():
    values = ['item-%d' % i for i in range(1000)]
    eq(r.rpush('big:list', *values), 1000)
    got = r.lrange('big:list', 0, -1)
    eq(len(got), 1000)
    check(got == [v.encode() for v in values], 'elements differ')


@test
def lrange_1000_large_elements():
    # 1000 x 1 KB elements: a reply of about 1 MB.
    chunk = 'x' * 1000
    for _ in range(10):
        r.rpush('big:fat', *([chunk] * 100))
    got = r.lrange('big:fat', 0, -1)
    eq(len(got), 1000)
    check(all(g == chunk.encode() for g in got), 'elements differ')


@test
def array_of_1000_integers_from_eval():
    got = r.eval('local t = {} for i = 1, 1000 do t[i] = i * 1000003 end return t', 0)
    check(got == [i * 1000003 for i in range(1, 1001)], 'integers differ')


run(before_each=fresh_client(globals()))
