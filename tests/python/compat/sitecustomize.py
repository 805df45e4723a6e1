# Loaded at start-up (PYTHONPATH) when tests/unix/*.py run on CPython or PyPy
# (tests/python/test_shared.py): the few MicroPython names those scripts use that a
# CPython-family interpreter lacks, so the same files test both hosts.
import time as _time

if not hasattr(_time, "ticks_ms"):
    def ticks_ms():
        return int(_time.monotonic() * 1000) & 0x3FFFFFFF

    def ticks_us():
        return int(_time.monotonic() * 1000000) & 0x3FFFFFFF

    def ticks_diff(a, b):
        d = (a - b) & 0x3FFFFFFF
        return d - 0x40000000 if d & 0x20000000 else d

    def ticks_add(a, n):
        return (a + n) & 0x3FFFFFFF

    def sleep_ms(ms):
        _time.sleep(ms / 1000)

    def sleep_us(us):
        _time.sleep(us / 1000000)

    for _name, _fn in list(locals().items()):
        if _name.startswith(("ticks_", "sleep_")) and callable(_fn):
            setattr(_time, _name, _fn)

# MicroPython's sockets are streams: write() sends everything, read(n) returns n bytes
# (fewer only at EOF).
import socket as _socket

if not hasattr(_socket.socket, "write"):
    def _write(self, data):
        self.sendall(data)
        return len(data)

    def _read(self, n=-1):
        out = b""
        while n < 0 or len(out) < n:
            part = self.recv(65536 if n < 0 else n - len(out))
            if not part:
                break
            out += part
        return out

    _socket.socket.write = _write
    _socket.socket.read = _read

# MicroPython's asyncio has sleep_ms() and wait_for_ms() (times in ms, as this client's
# options); CPython's and PyPy's take seconds.
import asyncio as _asyncio

if not hasattr(_asyncio, "sleep_ms"):
    def _sleep_ms(ms):
        return _asyncio.sleep(ms / 1000)

    def _wait_for_ms(aw, ms):
        return _asyncio.wait_for(aw, ms / 1000)

    _asyncio.sleep_ms = _sleep_ms
    _asyncio.wait_for_ms = _wait_for_ms

# MicroPython's gc.mem_free() (the heap's free bytes), which the heap fault tests
# (test_fault_hostile.py, tests/faults/soak_client.py) read around an operation: "used =
# before - after" must show what the operation allocated, and two readings each after
# gc.collect() what stayed allocated. On CPython it is a large constant minus
# tracemalloc's count of every Python allocator (objects and PyMem: all of what
# picoredis' host makes), tracing from the first reading on; the count is the *peak*
# since the last gc.collect(), since reference counting frees at once what MicroPython's
# heap keeps until a collection: a big allocation made and dropped within the operation
# counts. PyPy has no tracemalloc, and nothing else that separates picoredis'
# allocations from its GC's arenas and cpyext's copies of arguments: the tests skip the
# heap checks there, saying so (tests/python/test_host_memory.py bounds the claims).
import gc as _gc

try:
    import tracemalloc as _tm
except ImportError:  # PyPy
    _tm = None

if _tm is not None and not hasattr(_gc, "mem_free"):
    _FREE = 1 << 40
    _collect = _gc.collect

    def _mem_free():
        if not _tm.is_tracing():
            _tm.start()
        return _FREE - _tm.get_traced_memory()[1]

    def _collect_and_reset(*args):
        n = _collect(*args)
        if _tm.is_tracing():
            _tm.reset_peak()
        return n

    _gc.mem_free = _mem_free
    _gc.collect = _collect_and_reset
