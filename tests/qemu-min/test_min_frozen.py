# The smallest build freezes asyncio but not picoredis' Python part (it needs the Reader
# this build leaves out): `import picoredis` is the built-in itself.
import picoredis
import upicoredis

print('built-in', picoredis is upicoredis, hasattr(picoredis, '__path__'))

import asyncio


async def main():
    await asyncio.sleep_ms(1)
    return 'ok'


print('asyncio', asyncio.run(main()))
