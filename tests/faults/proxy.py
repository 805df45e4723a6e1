#!/usr/bin/env python3
"""A fault-injecting TCP proxy for RESP, on loopback (CPython 3, stdlib only).

    client (picoredis firmware) <-> FaultProxy <-> real redis-server

Every client connection gets its own upstream connection and its own thread.
The proxy parses the client's commands and the server's replies into whole
RESP frames, so a fault hits exactly one reply (the N-th reply of a pipeline,
say), never "some bytes".

Faults (a *spec* is `mode[:arg[:arg]]`; an omitted arg is chosen at random):

  pass                  forward the reply unchanged
  drip[:us]             send the reply one byte per write, `us` microseconds
                        apart (default 50), TCP_NODELAY: the client reads it
                        byte by byte
  delay:ms[:split]      send the first `split` bytes, wait `ms`, send the rest
                        (ms past the client's timeout -> RedisTimeout)
  truncate[:n]          send the first n bytes (n < reply length), then close
                        normally (FIN): "the server closed mid-reply"
  cut[:n]               send the first n bytes, then abort (RST)
  garbage[:hex]         insert junk (default 00 'garbage') at a random line
                        start of the reply, then keep forwarding

How a fault is chosen, for each reply in order:
  1. in-band, per connection: the client sends `PROXYFAULT <spec> [skip]`
     (`r.proxyfault('cut', 2)` in picoredis); the proxy answers `+OK` itself
     (never forwarded) and applies <spec> to the reply of the (skip+1)-th
     forwarded command that follows on this connection;
  2. a global one-shot armed with `arm(spec)` / control `NEXT <spec>`;
  3. with probability `rate`, a random mode from `random_modes`;
  4. else the default mode (`pass` unless set).
`PROXYSTATS` (in-band) answers a bulk string with the JSON counters.

Control channel (optional, `control_port`): one line per command, one line
of reply: `MODE <spec>`, `RATE <p>`, `NEXT <spec>`, `STATS`, `RESET`, `QUIT`.

Everything is bounded: the proxy stops accepting after `lifetime` seconds
and every connection thread ends by then too; delays are capped.

    python3 tests/faults/proxy.py --upstream 6379 [--port P] [--mode drip]
                                  [--rate 0.1 --seed 1] [--lifetime 600]
"""

import argparse
import collections
import json
import random
import selectors
import socket
import struct
import sys
import threading
import time

MODES = ("pass", "drip", "delay", "truncate", "cut", "garbage")
MAX_DELAY_MS = 30000
DEFAULT_JUNK = b"\x00garbage"


class Malformed(Exception):
    pass


# ---- RESP framing -------------------------------------------------------------------

def reply_end(buf, start=0):
    """End index of the complete RESP2/RESP3 reply starting at buf[start], or None
    if more bytes are needed. Iterative (a 10 000-deep reply is fine). Raises
    Malformed if the bytes are not RESP (the proxy then forwards verbatim)."""
    pos, need = start, 1
    while need:
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None
        t = buf[pos]
        line = bytes(buf[pos + 1:nl])
        pos = nl + 2
        need -= 1
        try:
            if t in b"$=!":          # bulk, verbatim, blob error
                n = int(line)
                if n >= 0:
                    if len(buf) < pos + n + 2:
                        return None
                    pos += n + 2
            elif t in b"*~>":        # array, set, push
                n = int(line)
                if n > 0:
                    need += n
            elif t == ord("%"):       # map
                n = int(line)
                if n > 0:
                    need += 2 * n
            elif t == ord("|"):       # attribute: key/value pairs, then the reply
                need += 2 * int(line) + 1
            elif t not in b"+-:_,#(":
                raise Malformed("type byte %r" % chr(t))
        except ValueError:
            raise Malformed("bad length %r" % line)
    return pos


def command_end(buf):
    """(end, args) of the first complete client command in buf, or None."""
    if not buf:
        return None
    if buf[0] != ord("*"):  # inline command (telnet-style)
        nl = buf.find(b"\r\n")
        return None if nl < 0 else (nl + 2, bytes(buf[:nl]).split())
    nl = buf.find(b"\r\n")
    if nl < 0:
        return None
    try:
        count = int(buf[1:nl])
    except ValueError:
        raise Malformed("bad command header")
    pos, args = nl + 2, []
    for _ in range(max(count, 0)):
        nl = buf.find(b"\r\n", pos)
        if nl < 0:
            return None
        if buf[pos] != ord("$"):
            raise Malformed("command argument is not a bulk string")
        size = int(buf[pos + 1:nl])
        pos = nl + 2
        if len(buf) < pos + size + 2:
            return None
        args.append(bytes(buf[pos:pos + size]))
        pos += size + 2
    return pos, args


def parse_spec(spec):
    """'delay:1200:0' -> ('delay', ['1200', '0']); validates the mode."""
    if isinstance(spec, bytes):
        spec = spec.decode("ascii", "replace")
    parts = spec.strip().split(":")
    mode = parts[0].lower()
    if mode not in MODES:
        raise ValueError("unknown fault mode %r (one of %s)" % (mode, ", ".join(MODES)))
    return mode, parts[1:]


def bulk(data):
    return b"$%d\r\n%s\r\n" % (len(data), data)


# ---- the proxy ----------------------------------------------------------------------

class FaultProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1", host="127.0.0.1", port=0,
                 mode="pass", rate=0.0, random_modes=None, seed=None, lifetime=600.0,
                 control_port=None, drip_us=50, long_delay_ms=1500):
        self.upstream = (upstream_host, upstream_port)
        self.default = parse_spec(mode)
        self.rate = rate
        self.random_modes = list(random_modes or ("drip", "delay", "truncate", "cut", "garbage"))
        self.rng = random.Random(seed)
        self.lifetime = lifetime
        self.drip_us = drip_us
        self.long_delay_ms = long_delay_ms
        self.lock = threading.Lock()
        self.global_armed = collections.deque()
        self.stop_event = threading.Event()
        self.deadline = time.monotonic() + lifetime
        self.counts = collections.Counter()
        self.open_connections = 0
        self.listener = socket.create_server((host, port))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.control = None
        if control_port is not None:
            self.control = socket.create_server((host, control_port))
            self.control.settimeout(0.2)
            self.control_port = self.control.getsockname()[1]
        self.threads = []

    # -- lifecycle ----------------------------------------------------------------
    def start(self):
        t = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)
        t.start()
        self.threads.append(t)
        if self.control is not None:
            t = threading.Thread(target=self._control_loop, name="proxy-control", daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self, wait=2.0):
        self.stop_event.set()
        end = time.monotonic() + wait
        for t in list(self.threads):
            t.join(max(0.0, end - time.monotonic()))
        for s in (self.listener, self.control):
            if s is not None:
                s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def running(self):
        return not self.stop_event.is_set() and time.monotonic() < self.deadline

    # -- control ------------------------------------------------------------------
    def set_mode(self, spec):
        self.default = parse_spec(spec)

    def arm(self, spec):
        """One-shot fault for the next forwarded command's reply, on any connection."""
        with self.lock:
            self.global_armed.append(parse_spec(spec))

    def stats(self):
        with self.lock:
            d = dict(self.counts)
            d["open_connections"] = self.open_connections
        return d

    def reset_stats(self):
        with self.lock:
            self.counts.clear()

    def count(self, key, n=1):
        with self.lock:
            self.counts[key] += n

    def _control_loop(self):
        while self.running():
            try:
                conn, _ = self.control.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    f = conn.makefile("rwb")
                    for raw in f:
                        words = raw.decode("ascii", "replace").split()
                        reply = self._control(words)
                        f.write(reply.encode() + b"\n")
                        f.flush()
                        if words and words[0].upper() == "QUIT":
                            break
                except (OSError, ValueError):
                    pass

    def _control(self, words):
        if not words:
            return "ERR empty"
        cmd = words[0].upper()
        try:
            if cmd == "MODE":
                self.set_mode(words[1])
            elif cmd == "RATE":
                self.rate = float(words[1])
            elif cmd == "NEXT":
                self.arm(words[1])
            elif cmd == "STATS":
                return json.dumps(self.stats(), sort_keys=True)
            elif cmd == "RESET":
                self.reset_stats()
            elif cmd == "QUIT":
                return "OK bye"
            else:
                return "ERR unknown"
        except (IndexError, ValueError) as e:
            return "ERR %s" % e
        return "OK"

    # -- connections --------------------------------------------------------------
    def _accept_loop(self):
        while self.running():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.count("connections")
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()
            self.threads = [x for x in self.threads if x.is_alive()] + [t]

    def _serve(self, client):
        with self.lock:
            self.open_connections += 1
        try:
            Link(self, client).run()
        except Exception as e:  # never let a proxy bug pass silently
            self.count("proxy_errors")
            sys.stderr.write("proxy: connection failed: %r\n" % (e,))
        finally:
            with self.lock:
                self.open_connections -= 1

    def pick_fault(self):
        """The fault for a forwarded command without an in-band one."""
        with self.lock:
            if self.global_armed:
                return self.global_armed.popleft()
            if self.rate and self.rng.random() < self.rate:
                return (self.rng.choice(self.random_modes), [])
        return self.default


class Closed(Exception):
    """This link is finished (fault closed it, peer went away, lifetime over)."""


class Link:
    """One client connection and its upstream connection."""

    def __init__(self, proxy, client):
        self.proxy = proxy
        self.client = client
        self.server = None
        self.cbuf = bytearray()   # client -> proxy, not yet parsed
        self.sbuf = bytearray()   # server -> proxy, not yet framed
        self.queue = collections.deque()   # ('fwd', spec) or ('local', bytes), in order
        self.armed = []           # [skip, spec] from PROXYFAULT
        self.raw = False          # unparseable traffic: forward verbatim from now on
        self.rng = random.Random(proxy.rng.random())

    def run(self):
        p = self.proxy
        try:
            self.server = socket.create_connection(p.upstream, timeout=5)
        except OSError:
            p.count("upstream_connect_failed")
            self.client.close()
            return
        for s in (self.client, self.server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(True)
            s.settimeout(5)
        sel = selectors.DefaultSelector()
        sel.register(self.client, selectors.EVENT_READ, "client")
        sel.register(self.server, selectors.EVENT_READ, "server")
        try:
            while p.running():
                for key, _ in sel.select(timeout=0.2):
                    try:
                        data = key.fileobj.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        raise Closed()
                    try:
                        if key.data == "client":
                            self.from_client(data)
                        else:
                            self.from_server(data)
                    except OSError:   # a peer went away mid-send: the link is over
                        raise Closed()
        except Closed:
            pass
        finally:
            sel.close()
            for s in (self.client, self.server):
                try:
                    s.close()
                except OSError:
                    pass

    # -- client -> server ---------------------------------------------------------
    def from_client(self, data):
        if self.raw:
            self.server.sendall(data)
            return
        self.cbuf += data
        out = bytearray()
        while True:
            try:
                got = command_end(self.cbuf)
            except (Malformed, ValueError):
                self.raw = True
                out += self.cbuf
                self.cbuf.clear()
                break
            if got is None:
                break
            end, args = got
            name = args[0].upper() if args else b""
            if name == b"PROXYFAULT":
                self.queue.append(("local", self.in_band_fault(args[1:])))
            elif name == b"PROXYSTATS":
                self.queue.append(("local", bulk(json.dumps(self.proxy.stats(), sort_keys=True).encode())))
            else:
                out += self.cbuf[:end]
                self.queue.append(("fwd", self.fault_for_command()))
                self.proxy.count("commands")
            del self.cbuf[:end]
        if out:
            self.server.sendall(out)
        self.flush_local()

    def in_band_fault(self, args):
        try:
            spec = parse_spec(args[0])
            skip = int(args[1]) if len(args) > 1 else 0
        except (IndexError, ValueError) as e:
            return b"-ERR proxyfault: %s\r\n" % str(e).encode()
        self.armed.append([skip, spec])
        return b"+OK\r\n"

    def fault_for_command(self):
        chosen = None
        for entry in self.armed:
            if entry[0] <= 0 and chosen is None:
                chosen = entry
            elif entry[0] > 0:
                entry[0] -= 1
        if chosen is not None:
            self.armed.remove(chosen)
            return chosen[1]
        return self.proxy.pick_fault()

    def flush_local(self):
        while self.queue and self.queue[0][0] == "local":
            self.client.sendall(self.queue.popleft()[1])

    # -- server -> client ---------------------------------------------------------
    def from_server(self, data):
        if self.raw:
            self.client.sendall(data)
            return
        self.sbuf += data
        while self.sbuf:
            try:
                end = reply_end(self.sbuf)
            except Malformed:
                self.raw = True
                self.client.sendall(bytes(self.sbuf))
                self.sbuf.clear()
                return
            if end is None:
                return
            frame = bytes(self.sbuf[:end])
            del self.sbuf[:end]
            self.flush_local()
            spec = self.queue.popleft()[1] if self.queue else ("pass", [])
            self.deliver(frame, spec)
            self.flush_local()

    def deliver(self, frame, spec):
        mode, args = spec
        p, rng = self.proxy, self.rng
        if mode != "pass":
            p.count("faults")
        p.count("fault_" + mode)
        if mode == "pass":
            self.client.sendall(frame)
        elif mode == "drip":
            us = int(args[0]) if args else p.drip_us
            for i in range(len(frame)):
                if not p.running():
                    raise Closed()
                self.client.sendall(frame[i:i + 1])
                if us:
                    time.sleep(us / 1e6)
        elif mode == "delay":
            ms = min(int(args[0]) if args else p.long_delay_ms, MAX_DELAY_MS)
            split = int(args[1]) if len(args) > 1 else rng.randrange(len(frame))
            split = max(0, min(split, len(frame)))
            self.client.sendall(frame[:split])
            self.sleep(ms / 1000.0)
            try:
                self.client.sendall(frame[split:])
            except OSError:   # the client gave up (timeout) and closed: expected
                raise Closed()
        elif mode in ("truncate", "cut"):
            n = int(args[0]) if args else rng.randrange(len(frame))
            n = max(0, min(n, len(frame) - 1))
            try:
                self.client.sendall(frame[:n])
                if mode == "truncate":
                    self.client.shutdown(socket.SHUT_RDWR)
                else:
                    time.sleep(0.01)   # let the bytes leave before the RST overtakes them
                    self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            except OSError:
                pass
            raise Closed()
        elif mode == "garbage":
            junk = bytes.fromhex(args[0]) if args else DEFAULT_JUNK
            starts = [0] + [i + 2 for i in range(len(frame) - 2) if frame[i:i + 2] == b"\r\n"]
            at = rng.choice(starts)
            self.client.sendall(frame[:at] + junk + frame[at:])

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.proxy.running():
                raise Closed()
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))


def main():
    ap = argparse.ArgumentParser(description="fault-injecting RESP proxy (loopback)")
    ap.add_argument("--upstream", type=int, required=True, help="redis port on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--mode", default="pass", help="default fault spec for every reply")
    ap.add_argument("--rate", type=float, default=0.0, help="probability of a random fault")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--lifetime", type=float, default=600.0, help="seconds, then exit")
    a = ap.parse_args()
    proxy = FaultProxy(a.upstream, port=a.port, mode=a.mode, rate=a.rate, seed=a.seed,
                       lifetime=a.lifetime, control_port=a.control_port).start()
    print("fault proxy on 127.0.0.1:%d -> %d, control port %d, for %.0f s"
          % (proxy.port, a.upstream, proxy.control_port, a.lifetime), flush=True)
    try:
        while proxy.running():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    proxy.stop()
    print(json.dumps(proxy.stats(), sort_keys=True))


if __name__ == "__main__":
    main()
