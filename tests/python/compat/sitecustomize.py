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
