"""picoredis on CPython and PyPy: the MicroPython module's Redis client, from the same Rust
core (rust/picoredis), through a CPython C-API host (rust/picoredis-py)."""
from ._picoredis import (Redis, Pipeline, PubSub, Reader, encode, RedisError, ParseError,
                         RedisTimeout, Sentinel, MasterNotFoundError, RedisCluster)
# What Redis.pipeline() returns: it queues in Python and hands the extension's Pipeline
# (above) the whole queue at execute() (docs/hosts.md).
from ._pipeline import Pipeline  # noqa: E402,F811

__all__ = ["Redis", "Pipeline", "PubSub", "Reader", "encode", "RedisError", "ParseError",
           "RedisTimeout", "Sentinel", "MasterNotFoundError", "RedisCluster"]
