# The frozen Python part on bare metal (ports/qemu/manifest.py): `import picoredis` is the
# frozen package, re-exporting the built-in (upicoredis) object for object; MicroPython's
# asyncio runs, on the time/select/_asyncio modules qemu.mk turns on.
import picoredis
import upicoredis

print('package', picoredis.__path__, picoredis.__file__, picoredis is not upicoredis)
own = ('__name__', '__file__', '__path__', '__dict__', '__class__')
# (private names, such as _Mux for picoredis.asyncio, stay in the built-in)
names = sorted(n for n in upicoredis.__dict__ if n not in own and n[0] != '_')
print('same names', sorted(n for n in picoredis.__dict__
                          if n not in own and n[0] != '_') == names)
print('same objects', all(getattr(picoredis, n) is getattr(upicoredis, n) for n in names))

s = ScriptedServer()
r = picoredis.Redis(sock=s)
print('Redis instance', isinstance(r, picoredis.Redis))
s.add(b'-ERR boom\r\n')
try:
    r.get('k')
except picoredis.RedisError as e:
    print('RedisError', e.args)

import asyncio
import time


async def tick(n, ms):
    await asyncio.sleep_ms(ms)
    return n


async def main():
    return await asyncio.gather(tick(1, 20), tick(2, 5))


t0 = time.ticks_ms()
print('asyncio', asyncio.run(main()))
print('slept', time.ticks_diff(time.ticks_ms(), t0) >= 20)
t0 = time.ticks_us()
time.sleep_us(300)
print('ticks_us', time.ticks_diff(time.ticks_us(), t0) >= 300)
