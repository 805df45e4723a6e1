# picoredis demo: the README's tour in one script.
#
#   micropython examples/demo.py                  # redis on 127.0.0.1:6379
#   make demo   (tools/with_redis.py -- build/unix/micropython examples/demo.py)
#
# PICOREDIS_HOST / PICOREDIS_PORT override the server (tools/with_redis.py
# sets them for a throwaway server).
import os
from picoredis import Redis, RedisError

host = os.getenv('PICOREDIS_HOST') or '127.0.0.1'
port = int(os.getenv('PICOREDIS_PORT') or '6379')

redis = Redis(host, port, timeout=2000)
print('PING ->', redis.do_cmd('PING', 'Hello World!'))

# Call the instance, or use the command name as a method.
redis('SET', 'demo:greeting', 'hello')
print('GET ->', redis('GET', 'demo:greeting'))   # replies are bytes
redis.hset('demo:hash', 'key1', 42)
print('HKEYS ->', redis.hkeys('demo:hash'))

# Server errors raise RedisError(code, message).
try:
    redis.incr('demo:greeting')
except RedisError as e:
    print('error code:', e.args[0])

# Inside a transaction, a failing command is returned in place.
redis.multi()
redis.incr('demo:counter')
redis.incr('demo:greeting')
results = redis.exec()
print('EXEC ->', [r if not isinstance(r, RedisError) else 'RedisError ' + r.args[0] for r in results])

# DEL: `del` is a Python keyword, and command names are case-insensitive.
redis.DEL('demo:greeting', 'demo:hash', 'demo:counter')
redis.close()
