"""A fake Redis server that misbehaves on request (CPython 3, stdlib only).

MicroPython's unix port can't easily be a server and a client in one thread,
so the malformed-reply tests talk to this instead.  tests/run_unix_tests.py
starts it in a thread on a free loopback port and exports PICOREDIS_FAKE_PORT.

Per connection it reads RESP commands one at a time and acts on the first
argument (case-insensitive); hex arguments are decoded with bytes.fromhex,
so spaces are allowed:

  SCRIPT <hex>              send those raw bytes, then read the next command
  CLOSE <hex>               send the bytes, then close normally (FIN)
  RESET <hex>               send the bytes, then abort the connection (RST)
  SILENT                    never answer (until the client goes away)
  ENDLESS <hex> <unit-hex>  send <hex>, then repeat <unit> forever
  DRIP <hex> <ms>           send the bytes one at a time, <ms> apart
  HELLO [3 ...]             a minimal HELLO reply (a RESP3 map with `3`), so clients with
                            protocol=3 can connect; the other arguments are ignored
  CLIENT SETNAME reply:<hex>  +OK, and the connection answers CLUSTER (any arguments)
                            with those raw bytes from then on (a RedisCluster sends its
                            client_name first on every node connection: the test's
                            canned CLUSTER SLOTS reply)
  SUBSCRIBE <channel>...    like redis: a subscribe confirmation per channel (RESP2);
                            a channel named `steps:<ms>:<hex>[:<ms>:<hex>...]` is then
                            also sent each <hex> after waiting its <ms> (e.g. a pub/sub
                            message split in two segments; the bytes are raw RESP)

Every connection is bounded to TIME_LIMIT seconds, so nothing runs forever.
Run it by hand with `python3 tests/fake_server.py [PORT]`.
"""

import socket
import socketserver
import struct
import sys
import threading
import time

TIME_LIMIT = 10.0


class Disconnected(Exception):
    pass


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.deadline = time.monotonic() + TIME_LIMIT
        self.buf = b""
        self.request.settimeout(0.2)

    # -- reading the client's command ------------------------------------
    def _fill(self):
        while True:
            if time.monotonic() > self.deadline:
                raise Disconnected("time limit")
            try:
                chunk = self.request.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                raise Disconnected("recv failed")
            if not chunk:
                raise Disconnected("eof")
            self.buf += chunk
            return

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_command(self):
        header = self._line()
        if not header.startswith(b"*"):
            return header.split()  # inline command, handy with telnet/nc
        args = []
        for _ in range(int(header[1:])):
            size = int(self._line()[1:])
            args.append(self._exactly(size + 2)[:-2])
        return args

    # -- behaviours -------------------------------------------------------
    def handle(self):
        try:
            while True:
                args = self.read_command()
                if not args:
                    continue
                name = args[0].decode("ascii", "replace").upper()
                action = getattr(self, "do_" + name, None)
                if action is None:
                    self.request.sendall(b"-ERR fake server: unknown command\r\n")
                    continue
                if action(*[a.decode("ascii", "replace") for a in args[1:]]) == "stop":
                    return
        except (Disconnected, OSError):
            return

    def do_SCRIPT(self, hexbytes=""):
        self.request.sendall(bytes.fromhex(hexbytes))

    def do_CLOSE(self, hexbytes=""):
        self.request.sendall(bytes.fromhex(hexbytes))
        try:
            self.request.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return "stop"

    def do_RESET(self, hexbytes=""):
        self.request.sendall(bytes.fromhex(hexbytes))
        time.sleep(0.05)  # let the bytes go out before the RST overtakes them
        # SO_LINGER with a zero timeout makes close() send RST, not FIN.
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return "stop"

    def do_SILENT(self):
        while True:  # swallow input until the client closes or time is up
            self._fill()
            self.buf = b""

    def do_ENDLESS(self, hexbytes="", unit_hex="41"):
        self.request.sendall(bytes.fromhex(hexbytes))
        unit = bytes.fromhex(unit_hex) * max(1, 4096 // max(1, len(unit_hex) // 2))
        self.request.settimeout(1.0)
        while time.monotonic() < self.deadline:
            try:
                self.request.sendall(unit)
            except socket.timeout:
                continue  # client not reading right now; keep trying
        return "stop"

    def do_DRIP(self, hexbytes="", interval_ms="100"):
        for b in bytes.fromhex(hexbytes):
            if time.monotonic() > self.deadline:
                return "stop"
            self.request.sendall(bytes([b]))
            time.sleep(int(interval_ms) / 1000.0)

    def do_HELLO(self, version="2", *ignored):
        if version == "3":
            self.request.sendall(b"%2\r\n+server\r\n+fake\r\n+proto\r\n:3\r\n")
        else:
            self.request.sendall(b"*4\r\n$6\r\nserver\r\n$4\r\nfake\r\n$5\r\nproto\r\n:2\r\n")

    def do_CLIENT(self, sub="", name="", *ignored):
        if sub.upper() == "SETNAME" and name.startswith("reply:"):
            self.canned = bytes.fromhex(name[len("reply:"):])
        self.request.sendall(b"+OK\r\n")

    def do_CLUSTER(self, *ignored):
        self.request.sendall(getattr(self, "canned", b"-ERR fake server: no canned reply\r\n"))

    def do_SUBSCRIBE(self, *channels):
        for i, ch in enumerate(channels, 1):
            name = ch.encode()
            self.request.sendall(b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:%d\r\n"
                                 % (len(name), name, i))
        for ch in channels:
            parts = ch.split(":")
            if parts[0] != "steps":
                continue
            for ms, hexbytes in zip(parts[1::2], parts[2::2]):
                time.sleep(int(ms) / 1000.0)
                self.request.sendall(bytes.fromhex(hexbytes))


class FakeServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def start(host="127.0.0.1", port=0):
    """Start in a daemon thread; returns the server (its port: .server_address[1])."""
    server = FakeServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    srv = start(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print("fake redis on 127.0.0.1:%d (Ctrl-C to stop)" % srv.server_address[1])
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        srv.shutdown()
