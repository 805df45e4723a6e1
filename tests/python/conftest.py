# pytest for picoredis on CPython and PyPy (`make test-py`): the servers the unix firmware
# tests use (tests/run_unix_tests.py's: a real redis-server, the fake server for replies
# a real one never sends, the fault-injecting proxy), started once per session.
import contextlib
import ctypes
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)

import run_unix_tests as runner  # noqa: E402  (its servers, its judges)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _glibc_in_use():
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _Mallinfo2
    m = libc.mallinfo2()
    return m.uordblks + m.hblkhd


@pytest.fixture(scope="session")
def glibc_in_use():
    """glibc's bytes in use (small and mmapped blocks), a function: where the extension's
    own mallocs go (the core's blocks, PyO3's), which tracemalloc does not see."""
    return _glibc_in_use


@pytest.fixture(scope="session")
def servers():
    fake = runner.fake_server.start()
    try:
        with runner.RedisServer() as redis, \
                runner.FaultProxy(redis.port, lifetime=3600) as proxy, \
                runner.ExtraServers() as extra:
            env = dict(os.environ, **extra.env())
            env.update(PICOREDIS_PROXY_PORT=str(proxy.port),
                       PICOREDIS_HOST=redis.host,
                       PICOREDIS_PORT=str(redis.port),
                       PICOREDIS_FAKE_PORT=str(fake.server_address[1]))
            yield redis, env
    finally:
        fake.shutdown()
        fake.server_close()


@pytest.fixture
def redis_port(servers):
    redis, _ = servers
    redis.flushall()
    return redis.port


@pytest.fixture(scope="session")
def sentinel_env():
    """For test_sentinel*.py only, started when the first of them runs (about 5 s): the
    unix runner's Sentinel setup (a primary, a replica, 3 sentinels, a fake sentinel,
    two spare servers), shared by those files in name order, as tests/run_unix_tests.py
    shares it."""
    s = runner.SentinelServers().__enter__()
    try:
        yield s.env()
    finally:
        s.__exit__(None, None, None)


@pytest.fixture(scope="session")
def cluster_env():
    """For test_cluster*.py only, started when the first of them runs (about 3 s): a local
    Redis Cluster (6 nodes), shared by those files in name order (the failover file
    last), as tests/run_unix_tests.py shares it."""
    with runner.RedisCluster() as cluster:
        yield cluster.env()
