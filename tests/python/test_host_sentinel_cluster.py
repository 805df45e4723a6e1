# Sentinel and RedisCluster on CPython and PyPy: what only this host has to get right (the
# behaviour itself is tests/unix/test_sentinel*.py and test_cluster*.py, run on both
# interpreters by test_shared.py): objects and core blocks kept exactly as long as the
# client stores them.
import gc
import os
import sys

import pytest

import picoredis
from picoredis import MasterNotFoundError, Redis, RedisCluster, Sentinel
from picoredis._picoredis import _blocks, _kept

CPYTHON = sys.implementation.name == "cpython"


def sentinels(env):
    return [("127.0.0.1", int(p)) for p in env["PICOREDIS_SENTINEL_PORTS"].split(",")]


def cluster_nodes(env):
    return [("127.0.0.1", int(p)) for p in env["PICOREDIS_CLUSTER_PORTS"].split(",")]


def test_master_for_keeps_the_address_the_sentinels_gave(sentinel_env):
    # The (host, port) comes from another operation (the Sentinel's discover_master,
    # called by the client's connect): its host str, which the client stores, must be
    # kept by the client (once freed under it: valgrind's invalid reads in pubsub()).
    name = sentinel_env["PICOREDIS_SENTINEL_NAME"]
    s = Sentinel(sentinels(sentinel_env), timeout=1000)
    r = s.master_for(name)
    host, _ = s.discover_master(name)
    gc.collect()
    kept = _kept(r)
    assert any(type(o) is str and o == host for o in kept), kept
    assert any(o is s for o in kept)        # its Sentinel, asked on every reconnect
    ps = r.pubsub()                          # copies the address and the Sentinel
    ps.subscribe("hostcl")
    assert ps.get_message(timeout=1000)["type"] in ("subscribe", b"subscribe")
    ps.close()
    r.close()


def test_sentinel_errors_are_micropythons(sentinel_env):
    s = Sentinel(sentinels(sentinel_env), timeout=1000)
    e = pytest.raises(MasterNotFoundError, s.discover_master, "no-such-primary").value
    assert isinstance(e, OSError) and e.args[1] == "no-such-primary"
    with pytest.raises(ValueError):
        s.master_for("mymaster", sock=object())
    with pytest.raises(TypeError):
        s.master_for("mymaster", no_such_option=1)


def test_option_errors_name_what_was_called():
    # Redis()'s options have one parser for every call that takes them (glue.rs'
    # redis_options); its argument errors named it, "redis_options() got an unexpected
    # keyword argument", not what the user called. (MicroPython's say "extra keyword
    # arguments given", naming nothing.) No server needed: they raise before connecting.
    s = Sentinel([("127.0.0.1", 1)])
    calls = {
        "Redis": lambda: Redis(no_such_option=1),
        "Sentinel": lambda: Sentinel([("127.0.0.1", 1)], no_such_option=1),
        "Sentinel.master_for": lambda: s.master_for("mymaster", no_such_option=1),
        "Sentinel.slave_for": lambda: s.slave_for("mymaster", no_such_option=1),
        "RedisCluster": lambda: RedisCluster(no_such_option=1),
    }
    for name, call in calls.items():
        e = pytest.raises(TypeError, call).value
        assert str(e) == name + "() got an unexpected keyword argument 'no_such_option'"
    for cls in (Redis, RedisCluster):
        e = pytest.raises(TypeError, cls, "127.0.0.1", 7000, 1000, False, 5).value
        assert str(e) == (cls.__name__ + "() takes from 0 to 4 positional arguments"
                          " but 5 were given")
    e = pytest.raises(TypeError, Redis, "127.0.0.1", host="127.0.0.1").value
    assert str(e) == "Redis() got multiple values for argument 'host'"


@pytest.mark.skipif(not CPYTHON, reason="PyPy's GC frees cpyext objects late: its "
                    "malloc count grows by megabytes either way")
def test_parsing_options_leaks_nothing(glibc_in_use):
    # The option parser was wrapped as a Python function on every call, and PyO3 leaks
    # the method definition it makes for that (32 bytes): one per Sentinel(),
    # master_for(), slave_for() and RedisCluster() (and Redis(), which parses through it
    # too now). glibc's bytes in use across 20000 Sentinel()s (which connect to nothing):
    # 960 KB before.
    for _ in range(1000):
        Sentinel([("127.0.0.1", 1)], timeout=1000)
    gc.collect()
    before = glibc_in_use()
    for _ in range(20000):
        Sentinel([("127.0.0.1", 1)], timeout=1000)
    gc.collect()
    assert glibc_in_use() - before < 100_000


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def settle():
    # PyPy frees an object of an extension module a collection or two after it became
    # garbage (cpyext): collect until nothing more goes.
    for _ in range(5):
        gc.collect()


def test_cluster_node_clients_are_freed(cluster_env):
    # max_connections=1: every key on another master closes and drops a node client (a
    # core block with its socket); they must go, and all of them with the cluster.
    settle()
    b0, f0 = _blocks(), open_fds()
    rc = RedisCluster(startup_nodes=cluster_nodes(cluster_env), max_connections=1)
    for i in range(60):
        rc.set("hostcl:%d" % i, i)
        assert rc.get("hostcl:%d" % i) == str(i).encode()
    assert _blocks() - b0 <= 2              # the cluster and one node client
    assert open_fds() - f0 <= 1             # one node connection
    p = rc.pipeline()
    for i in range(60):
        p.get("hostcl:%d" % i)
    assert p.execute() == [str(i).encode() for i in range(60)]
    del rc, p
    settle()
    assert _blocks() == b0
    assert open_fds() == f0


@pytest.mark.skipif(not CPYTHON, reason="object counts are CPython's")
def test_cluster_no_reference_leaks(cluster_env):
    rc = RedisCluster(startup_nodes=cluster_nodes(cluster_env), max_connections=2)

    def round_():
        for i in range(10):
            rc.set("leak:%d" % i, i)
        rc.pipeline().get("leak:1").get("leak:2").get("leak:3").execute()
        rc.mget("{t}a", "{t}b")

    for _ in range(5):
        round_()
    gc.collect()
    n0 = len(gc.get_objects())
    for _ in range(50):
        round_()
    gc.collect()
    assert len(gc.get_objects()) - n0 < 20


def test_cluster_api_as_on_micropython(cluster_env):
    rc = RedisCluster(startup_nodes=cluster_nodes(cluster_env))
    assert isinstance(rc.pipeline(), picoredis.Pipeline)
    assert rc.keyslot("foo") == 12182
    with pytest.raises(TypeError):
        rc.pubsub()
    with pytest.raises(ValueError):
        RedisCluster(startup_nodes=cluster_nodes(cluster_env), sock=object())
    with pytest.raises(ValueError):
        RedisCluster(startup_nodes=cluster_nodes(cluster_env), max_connections=0)
    with pytest.raises(TypeError):
        Redis(startup_nodes=cluster_nodes(cluster_env))
    with rc:
        assert rc.ping() == b"PONG"
