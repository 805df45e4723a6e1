# The MicroPython side of tools/cluster_soak.py: checked commands through a RedisCluster
# while the host moves slots back and forth. Every reply is checked against its command
# (a SET's value read back by GET, INCR against a counter kept here). A command that
# raises leaves its key's value unknown until the next good SET. Prints one JSON line.
#
#   micropython cluster_soak_client.py PORT COMMANDS
import gc
import json
import sys

from picoredis import RedisCluster, RedisError, RedisTimeout

port, total = int(sys.argv[1]), int(sys.argv[2])
rc = RedisCluster('127.0.0.1', port, timeout=5000)
NKEYS = 500
expect = [None] * NKEYS      # the value each key must have, None: unknown
counter = None               # the counter's value, None: unknown
done = wrong = errors = 0
kinds = {}
heap_start = None
detail = []
first_errors = []


def key(i):
    # Half the keys in the slot the host keeps moving ({soak}), half spread out.
    return '{soak}:%d' % i if i % 2 else 'free:%d' % i


while done < total:
    i = done % NKEYS
    op = done % 3
    try:
        if op == 0:
            v = b'%d' % done
            r = rc.set(key(i), v)
            if r != b'OK':
                wrong += 1
                detail.append(('SET', r))
            else:
                expect[i] = v
        elif op == 1:
            r = rc.get(key(i))
            if expect[i] is not None and r != expect[i]:
                wrong += 1
                detail.append(('GET', key(i), r, expect[i]))
        else:
            r = rc.incr('{soak}counter')
            if counter is not None and r != counter + 1:
                wrong += 1
                detail.append(('INCR', r, counter))
            counter = r
    except (RedisError, OSError, RedisTimeout) as e:
        errors += 1
        name = type(e).__name__ + (':' + e.args[0] if isinstance(e, RedisError) else '')
        kinds[name] = kinds.get(name, 0) + 1
        if len(first_errors) < 3:
            first_errors.append((done, repr(e)))
        if op == 0:
            expect[i] = None
        elif op == 2:
            counter = None
    done += 1
    if done == total // 10:
        gc.collect()
        heap_start = gc.mem_alloc()
gc.collect()
print(json.dumps({'commands': done, 'wrong': wrong, 'errors': errors, 'kinds': kinds,
                  'heap_drift': gc.mem_alloc() - heap_start, 'detail': detail[:5],
                  'first_errors': first_errors}))
