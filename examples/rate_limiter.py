# A fixed-window rate limiter: allow LIMIT calls per WINDOW seconds per key.
# SET NX EX starts the window on the first hit only; MULTI/EXEC makes the
# SET + INCR pair atomic.
#
#   tools/with_redis.py -- micropython examples/rate_limiter.py
import os
from picoredis import Redis

LIMIT = 3
WINDOW = 10


def allowed(redis, who):
    key = 'ratelimit:' + who
    redis.multi()
    redis.set(key, 0, 'EX', WINDOW, 'NX')
    redis.incr(key)
    _, count = redis.exec()
    return count <= LIMIT


redis = Redis(os.getenv('PICOREDIS_HOST') or '127.0.0.1',
              int(os.getenv('PICOREDIS_PORT') or '6379'))
redis.DEL('ratelimit:alice', 'ratelimit:bob')
for who in ('alice', 'alice', 'bob', 'alice', 'alice', 'bob'):
    print(who, 'allowed' if allowed(redis, who) else 'rejected')
redis.close()
