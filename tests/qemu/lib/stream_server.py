# An in-memory "server" for bare-metal tests: a MicroPython stream (io.IOBase subclass,
# which gives it the C stream protocol) that answers with scripted reply bytes and records
# exactly what the client sent. Boards under QEMU have no network; Redis(sock=...) takes
# any stream, so this is the same code path a socket or an ssl-wrapped socket uses.
import io


class ScriptedServer(io.IOBase):
    def __init__(self, replies=b'', chunk=0):
        self.rx = bytes(replies)
        self.pos = 0
        self.sent = bytearray()
        self.chunk = chunk  # >0: hand out at most this many bytes per read
        self.closed = False

    def add(self, data):
        # No copy when everything before was read (a 20 KB reply is 20 KB of a board's heap).
        self.rx = self.rx[self.pos:] + data if self.pos < len(self.rx) else data
        self.pos = 0

    def readinto(self, buf):
        n = min(len(buf), len(self.rx) - self.pos)
        if self.chunk:
            n = min(n, self.chunk)
        buf[:n] = self.rx[self.pos:self.pos + n]
        self.pos += n
        return n

    def write(self, buf):
        self.sent.extend(buf)
        return len(buf)

    def ioctl(self, op, arg):
        if op == 4:  # MP_STREAM_CLOSE
            self.closed = True
        return 0

    def take_sent(self):
        s = bytes(self.sent)
        self.sent = bytearray()
        return s
