# The smallest build (PICOREDIS_FEATURES=, make qemu-test-min): Redis, pipelines and
# transactions work; the parts left out are absent or refused with a clear error.
import picoredis

s = ScriptedServer()
r = picoredis.Redis(sock=s)
s.add(b'+PONG\r\n')
print('ping', r.ping())
print('Reader', hasattr(picoredis, 'Reader'), 'encode', hasattr(picoredis, 'encode'),
      'PubSub', hasattr(picoredis, 'PubSub'), 'Sentinel', hasattr(picoredis, 'Sentinel'),
      'MasterNotFoundError', hasattr(picoredis, 'MasterNotFoundError'),
      'RedisCluster', hasattr(picoredis, 'RedisCluster'))
print('debug', r.debug)
for kw in ({'debug': True}, {'ssl': True}):
    try:
        picoredis.Redis(sock=ScriptedServer(), **kw)
        print(kw, 'FAIL')
    except ValueError as e:
        print(list(kw)[0], 'ValueError')
try:
    r.debug = True
    print('set debug FAIL')
except ValueError:
    print('set debug ValueError')
s.add(b'+OK\r\n+QUEUED\r\n*1\r\n:1\r\n')
p = r.pipeline(transaction=True)
p.incr('n')
print('transaction', p.execute())
