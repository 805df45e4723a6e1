"""picoredis on CPython and PyPy: the MicroPython module's Redis client, from the same Rust
core (rust/picoredis), through a CPython C-API host (rust/picoredis-py)."""
from ._picoredis import (Redis, Pipeline, PubSub, Reader, encode, RedisError, ParseError,
                         RedisTimeout, Sentinel, MasterNotFoundError, RedisCluster)

__all__ = ["Redis", "Pipeline", "PubSub", "Reader", "encode", "RedisError", "ParseError",
           "RedisTimeout", "Sentinel", "MasterNotFoundError", "RedisCluster"]
