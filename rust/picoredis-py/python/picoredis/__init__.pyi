# Type stubs of picoredis on CPython and PyPy: the MicroPython module's own
# (mpy_module/stubs/picoredis/__init__.pyi, shipped as _picoredis.pyi: one description
# of the API for both hosts), for the names this host has so far.
from ._picoredis import Pipeline as Pipeline
from ._picoredis import ParseError as ParseError
from ._picoredis import PubSub as PubSub
from ._picoredis import Reader as Reader
from ._picoredis import Redis as Redis
from ._picoredis import RedisError as RedisError
from ._picoredis import RedisTimeout as RedisTimeout
from ._picoredis import encode as encode
from ._picoredis import Sentinel as Sentinel
from ._picoredis import MasterNotFoundError as MasterNotFoundError
from ._picoredis import RedisCluster as RedisCluster
# (Type aliases, not runtime names: the shared asyncio stub imports them from here.)
from ._picoredis import Arg as Arg
from ._picoredis import Reply as Reply

__all__ = ["Redis", "Pipeline", "PubSub", "Reader", "encode", "RedisError", "ParseError",
           "RedisTimeout", "Sentinel", "MasterNotFoundError", "RedisCluster"]
