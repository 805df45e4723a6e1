# Every example of the seed README, printing what the README shows.
# Output is compared verbatim with test_readme_examples.exp.
#
# The server runs on a random port, so `Redis()` becomes `Redis(port=P)`;
# test_connection.py checks the default host and port separately.  Each
# step is wrapped so one failure shows up as one differing line.
from testenv import PORT
from picoredis import Redis, RedisError


def show(fn):
    try:
        print(repr(fn()))
    except RedisError as e:
        # redis >= 7 appends ", with args beginning with: ..." to the
        # README's message, so only its start is compared.
        print('RedisError', repr(e.args[0]), e.args[1].startswith("unknown command 'bogus'"))
    except Exception as e:
        print('unexpected', repr(e))


redis = Redis(port=PORT)  # README: Redis()
show(lambda: redis.do_cmd('PING', 'Hello World!'))

# Instances can be called directly.
show(lambda: redis('SET', 'foo', 'bar'))
show(lambda: redis('GET', 'foo'))

# Arbitrary method names are sent as commands.
show(lambda: redis.hset('myhash', 'key1', 42))
show(lambda: redis.hkeys('myhash'))

# Unknown commands raise RedisError.
show(lambda: redis.bogus('spam!'))

# Connection parameters (README: 192.168.1.100 and port 6380).
show(lambda: Redis(host='127.0.0.1', port=PORT).ping())
show(lambda: Redis(port=PORT).ping())
show(lambda: Redis('127.0.0.1', PORT).ping())
show(lambda: Redis(server='127.0.0.1', port=PORT).ping())
show(lambda: Redis(timeout=10000, port=PORT).ping())

# Debug output, via the constructor and via the attribute.
redis = Redis(port=PORT, debug=True)
show(lambda: redis.hkeys('myhash'))
redis = Redis(port=PORT)
redis.debug = True
show(lambda: redis.hkeys('myhash'))
