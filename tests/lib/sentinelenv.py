# The Sentinel setup of tests/unix/test_sentinel*.py, from the environment the runner
# (tests/run_unix_tests.py: SentinelServers, tools/sentinel_fixture.py) sets:
#   PICOREDIS_SENTINEL_PORTS          3 real sentinels (comma-separated ports)
#   PICOREDIS_SENTINEL_NAME           the primary they monitor (mymaster)
#   PICOREDIS_SENTINEL_CONTROL_PORT   the fixture's control socket (kill, revive, wait, point)
#   PICOREDIS_FAKE_SENTINEL_PORT      a fake sentinel that names the node it is told to
#   PICOREDIS_SPARE_PORTS             two plain servers (not watched by any sentinel)
import os
import socket
import time

import picoredis

HOST = "127.0.0.1"


def _ports(name):
    v = os.getenv(name)
    return [int(p) for p in v.split(",")] if v else []


SENTINEL_PORTS = _ports("PICOREDIS_SENTINEL_PORTS")
SENTINELS = [(HOST, p) for p in SENTINEL_PORTS]
NAME = os.getenv("PICOREDIS_SENTINEL_NAME") or "mymaster"
_ctl = os.getenv("PICOREDIS_SENTINEL_CONTROL_PORT")
CONTROL_PORT = int(_ctl) if _ctl else None
_fake = os.getenv("PICOREDIS_FAKE_SENTINEL_PORT")
FAKE_PORT = int(_fake) if _fake else None
SPARE_PORTS = _ports("PICOREDIS_SPARE_PORTS")


def have_setup():
    return len(SENTINEL_PORTS) == 3 and CONTROL_PORT and FAKE_PORT and len(SPARE_PORTS) == 2


def ctl(cmd):
    """One command to the fixture's control socket; the text after `ok`."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect(socket.getaddrinfo(HOST, CONTROL_PORT)[0][-1])
        s.send((cmd + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    text = buf.decode().strip()
    if not text.startswith("ok"):
        raise OSError("fixture control %r: %s" % (cmd, text))
    return text[3:]


def master_port():
    """The primary's port, once the setup is stable (waits for it)."""
    return int(ctl("wait"))


def plain(port, **kw):
    """A plain client (no Sentinel) to one node."""
    kw.setdefault("timeout", 2000)
    return picoredis.Redis(HOST, port, **kw)


def node_port(r):
    """The port of the node client `r` is connected to (asks it: CONFIG GET port)."""
    reply = r.config("GET", "port")
    return int(reply[b"port"] if isinstance(reply, dict) else reply[1])


def cmdstat(port, cmd):
    """(calls, rejected_calls) of `cmd` on a node since its last CONFIG RESETSTAT."""
    with plain(port) as p:
        info = p.info("commandstats")
    if isinstance(info, str):
        info = info.encode()
    key = b"cmdstat_" + cmd.encode() + b":"
    for line in info.split(b"\r\n"):
        if line.startswith(key):
            fields = dict(f.split(b"=") for f in line[len(key):].split(b","))
            return int(fields[b"calls"]), int(fields.get(b"rejected_calls", b"0"))
    return 0, 0


def wait_for(cond, ms, what):
    t0 = time.ticks_ms()
    while not cond():
        if time.ticks_diff(time.ticks_ms(), t0) > ms:
            raise OSError("timed out waiting for " + what)
        time.sleep_ms(20)
