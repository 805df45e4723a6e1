# MicroPython-side helpers for the fault tests (tests/unix/test_fault_*.py and
# the soak client).  The runner (tests/run_unix_tests.py) or tools/soak.py
# starts tests/faults/proxy.py in front of the real redis and exports
# PICOREDIS_PROXY_PORT.
import os

_proxy = os.getenv("PICOREDIS_PROXY_PORT")
PROXY_PORT = int(_proxy) if _proxy else None
HOST = os.getenv("PICOREDIS_HOST") or "127.0.0.1"


def proxy_client(**kw):
    """A picoredis client connected to the real redis through the fault proxy."""
    import picoredis
    if PROXY_PORT is None:
        raise OSError("PICOREDIS_PROXY_PORT not set (run via tests/run_unix_tests.py)")
    kw["port"] = PROXY_PORT
    return picoredis.Redis(HOST, **kw)


def arm(r, spec, skip=0):
    """Make the proxy apply fault `spec` to the reply of the (skip+1)-th command
    this client sends next (on its current connection; reconnects if closed)."""
    got = r.do_cmd("PROXYFAULT", spec, skip)
    if got != b"OK":
        raise OSError("proxy did not arm %r: %r" % (spec, got))


def proxy_stats(r):
    import json
    return json.loads(r.do_cmd("PROXYSTATS"))


def open_fds():
    """Number of open file descriptors of this process (None if unknown)."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except Exception:
        return None
