# The hostile server's length claims (tests/unix/test_fault_hostile.py's CLAIMS: a header
# announcing megabytes or millions of elements, then nothing) must not make picoredis
# allocate what was claimed, on either host. The shared file checks that with
# gc.mem_free() where there is one (MicroPython; CPython through compat's tracemalloc);
# PyPy has none, so this bounds the same claims here with a meter each interpreter has:
# CPython's tracemalloc peak, PyPy's large-object GC memory plus glibc's bytes in use
# (where cpyext puts what picoredis makes). Coarse (a few MB), but every claim below
# would cost 64 MB or more if it were allocated; the meter is first shown to see an
# 8 MB reply.
import binascii
import gc
import platform

import pytest

from picoredis import ParseError, Redis, RedisTimeout

CPYTHON = platform.python_implementation() == "CPython"
LIMIT = 4 << 20

CLAIMS = (
    ("bulk_claims_64mb", b"$67108864\r\nab"),
    ("bulk_claims_512mib", b"$536870912\r\nab"),
    ("array_claims_2p24", b"*16777216\r\n:1\r\n"),
    ("set_claims_2p24_minus_1", b"~16777215\r\n+a\r\n"),
    ("map_claims_2p23", b"%8388608\r\n+a\r\n"),
    ("verbatim_claims_100mb", b"=100000000\r\ntxt:vvvv"),
)


class Meter:
    """Bytes allocated since start(): the peak on CPython, the current count on PyPy
    (whose GC frees late, so what was allocated is still counted)."""

    def start(self):
        gc.collect()
        if CPYTHON:
            import tracemalloc
            if not tracemalloc.is_tracing():
                tracemalloc.start()
            tracemalloc.reset_peak()
            self.base = tracemalloc.get_traced_memory()[0]
        else:
            self.base = self._pypy()

    def used(self):
        if CPYTHON:
            import tracemalloc
            return tracemalloc.get_traced_memory()[1] - self.base
        return self._pypy() - self.base

    def __init__(self, glibc_in_use):
        self.glibc_in_use = glibc_in_use

    def _pypy(self):
        return self.glibc_in_use() + gc.get_stats()._s.total_rawmalloced_memory


@pytest.fixture(scope="module")
def meter(glibc_in_use):
    m = Meter(glibc_in_use)
    yield m
    if CPYTHON:
        import tracemalloc
        tracemalloc.stop()


def test_the_meter_sees_a_large_reply(redis_port, meter):
    r = Redis(port=redis_port)
    r.set("big", b"x" * (8 << 20))
    meter.start()
    big = r.get("big")
    assert len(big) == 8 << 20
    assert meter.used() >= 8 << 20


@pytest.mark.parametrize("name,raw", CLAIMS, ids=[c[0] for c in CLAIMS])
def test_a_claim_allocates_nothing_like_it(servers, meter, name, raw):
    _, env = servers
    f = Redis(port=int(env["PICOREDIS_FAKE_PORT"]), timeout=300)
    arg = binascii.hexlify(raw).decode()
    assert f.script(binascii.hexlify(b":1\r\n").decode()) == 1  # connected
    meter.start()
    with pytest.raises((ParseError, RedisTimeout)):
        f.script(arg)
    used = meter.used()
    print(name, used)
    assert used < LIMIT, "%s: %d bytes" % (name, used)
    assert f.script(binascii.hexlify(b":2\r\n").decode()) == 2  # usable again
    f.close()
