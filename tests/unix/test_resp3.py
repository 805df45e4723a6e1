# RESP3 replies from the real server after HELLO 3.
from picoredis import RedisError
from ptest import test, run, eq, check, raises
from testenv import client

r = client()
hello = r.hello(3)


@test
def hello_3_is_a_map():
    check(isinstance(hello, dict), repr(hello))
    eq(hello[b'proto'], 3)


@test
def hgetall_is_dict():
    r.hset('r3:h', 'a', 1, 'b', 'two')
    eq(r.hgetall('r3:h'), {b'a': b'1', b'b': b'two'})


@test
def smembers_is_set():
    r.sadd('r3:s', 'x', 'y')
    eq(r.smembers('r3:s'), {b'x', b'y'})


@test
def double_is_float():
    r.zadd('r3:z', 1.5, 'm')
    eq(r.zscore('r3:z', 'm'), 1.5)
    eq(r.incrbyfloat('r3:f', 0.25), b'0.25')  # INCRBYFLOAT stays a bulk string


@test
def null_is_none():
    eq(r.get('r3:missing'), None)


@test
def boolean_from_lua():
    eq(r.eval("redis.setresp(3); return true", 0), True)
    eq(r.eval("redis.setresp(3); return false", 0), False)


@test
def big_number_from_lua():
    eq(r.eval("redis.setresp(3); return {big_number='123456789012345678901234567890'}", 0),
       123456789012345678901234567890)


@test
def verbatim_string():
    v = r.eval("redis.setresp(3); return {verbatim_string={format='txt', string='hi there'}}", 0)
    eq(v, b'hi there')


@test
def errors_still_raise():
    r.set('r3:str', 'x')
    e = raises(RedisError, r.incr, 'r3:str')
    eq(e.args[0], 'ERR')
    eq(r.ping(), b'PONG')


run()
