# Faults injected by tests/faults/proxy.py between the firmware and the real
# redis-server, one reply at a time, for every kind of reply:
#   drip / short delay    -> the exact reply (same connection)
#   delay past timeout    -> RedisTimeout at the timeout, connection closed
#   truncate (FIN) / cut (RST) mid-reply -> OSError(ECONNRESET)
#   garbage in the reply  -> ParseError, quickly
# and after each failure the next command reconnects (new CLIENT ID) and gets
# its own reply: never a stale or partial one.  NOTE lines record what the
# client raised for each fault.
import sys
sys.path.append("../faults")
import time
from picoredis import ParseError, RedisError, RedisTimeout
from ptest import add, test, run, eq, check
from testenv import timed
from faultenv import PROXY_PORT, proxy_client, arm, proxy_stats, open_fds

TIMEOUT = 500
BIG = b"B" * 5000 + b"end"  # more than the 1 KiB read buffer

# Reply kinds: (name, setup(r), call(r) -> value, expected value, replies in call)
def setup_plain(r):
    r.set("fp:str", "value-1")
    r.set("fp:big", BIG)
    r.DEL("fp:list", "fp:hash", "fp:ctr")
    r.rpush("fp:list", "a", "bb", "ccc")
    r.hset("fp:hash", "f1", "v1", "f2", "v2")

KINDS = (
    ("simple", lambda r: r.set("fp:s", "x"), b"OK", 1),
    ("integer", lambda r: r.incrby("fp:ctr", 1234567890123), 1234567890123, 1),
    ("bulk", lambda r: r.get("fp:str"), b"value-1", 1),
    ("big_bulk", lambda r: r.get("fp:big"), BIG, 1),
    ("null", lambda r: r.get("fp:missing"), None, 1),
    ("array", lambda r: r.lrange("fp:list", 0, -1), [b"a", b"bb", b"ccc"], 1),
    ("hash_array", lambda r: r.hgetall("fp:hash"), [b"f1", b"v1", b"f2", b"v2"], 1),
    ("pipeline", lambda r: r.pipeline().echo("p1").echo("p2").echo("p3").execute(),
     [b"p1", b"p2", b"p3"], 3),
    ("transaction", lambda r: r.pipeline(transaction=True).echo("t1").echo("t2").execute(),
     [b"t1", b"t2"], 4),
)

# Modes: (spec, expected exception class or None for the exact reply)
MODES = (
    ("drip", None),
    ("delay:100", None),
    ("delay:1200", RedisTimeout),
    ("truncate", OSError),
    ("truncate:0", OSError),
    ("cut", OSError),
    ("cut:1", OSError),
    ("garbage", ParseError),
    ("garbage:3f6a756e6b0d0a", ParseError),   # '?junk\r\n'
)

seen = {}


def check_fault(kind, spec, exc_type):
    name, call, want, nreplies = kind
    r = proxy_client(timeout=TIMEOUT)
    setup_plain(r)
    old_id = r.client("ID")
    # Fault the last reply of the call (for pipelines: the last one, so every
    # earlier reply was complete), and separately the first one below.
    for skip in sorted(set((0, nreplies - 1))):
        # 5 KB at 50 us a byte would outlast the timeout: drip it without pauses.
        arm(r, "drip:0" if (spec, name) == ("drip", "big_bulk") else spec, skip)
        err, got, ms = timed(call, r)
        if exc_type is None:
            check(err is None, "%s/%s: raised %r" % (name, spec, err))
            eq(got, want, "%s/%s" % (name, spec))
        else:
            check(isinstance(err, exc_type), "%s/%s skip %d: got %r / %r"
                  % (name, spec, skip, err, got))
            if exc_type is RedisTimeout:
                check(TIMEOUT - 50 <= ms < TIMEOUT + 1000, "timeout after %d ms" % ms)
            else:
                check(ms < 1000, "%s after %d ms" % (type(err).__name__, ms))
            if isinstance(err, OSError):
                eq(err.args[0], 104, "errno")   # ECONNRESET
            key = (spec.split(":")[0], type(err).__name__)
            seen[key] = seen.get(key, 0) + 1
        # The next command gets its own reply, on a new connection after a failure.
        eq(r.echo("after-" + name), b"after-" + name.encode())
        new_id = r.client("ID")
        if exc_type is None:
            eq(new_id, old_id, "connection id after %s" % spec)
        else:
            check(new_id != old_id, "still on the faulted connection")
        old_id = new_id
        if name != "integer":
            eq(call(r), want, "clean repeat")
    r.close()

if PROXY_PORT is not None:
    for kind in KINDS:
        for spec, exc_type in MODES:
            add("fault_%s_%s" % (kind[0], spec.replace(":", "_")), check_fault, kind, spec, exc_type)


@test
def error_reply_under_faults():
    if PROXY_PORT is None:
        return
    r = proxy_client(timeout=TIMEOUT)
    for spec, want in (("drip", RedisError), ("garbage", ParseError), ("cut", OSError)):
        arm(r, spec)
        err, _, _ = timed(r.hset, "fp:bad")   # wrong number of arguments
        check(isinstance(err, want), "%s: got %r" % (spec, err))
        eq(r.ping(), b"PONG")


@test
def deep_reply_dripped_byte_by_byte():
    # A 200-deep nested array from EVAL, every byte in its own segment.
    if PROXY_PORT is None:
        return
    r = proxy_client(timeout=3000)
    script = "local t = {1} for i = 1, 30 do t = {t} end return t"
    arm(r, "drip:0")
    got = r.eval(script, 0)
    depth = 0
    while isinstance(got, list):
        got = got[0]
        depth += 1
    eq(depth, 31)
    eq(got, 1)


@test
def no_fd_leak_across_faults():
    if PROXY_PORT is None:
        return
    r = proxy_client(timeout=TIMEOUT)
    r.ping()
    before = open_fds()
    for i in range(30):
        arm(r, ("truncate", "cut", "garbage")[i % 3])
        timed(r.echo, "x%d" % i)
    eq(r.ping(), b"PONG")
    after = open_fds()
    eq(after, before, "open fds")
    r.close()
    check(open_fds() == before - 1, "close() did not release the socket")


@test
def pipeline_deadline_per_reply_or_whole():
    # Three replies, each 60 % of the timeout late: the README's "timeout
    # bounds the wait for a whole reply" -- per reply, or for the pipeline?
    if PROXY_PORT is None:
        return
    r = proxy_client(timeout=TIMEOUT)
    for skip in range(3):
        arm(r, "delay:%d:0" % (TIMEOUT * 6 // 10), skip)
    err, got, ms = timed(lambda: r.pipeline().echo("d1").echo("d2").echo("d3").execute())
    check(err is None or isinstance(err, RedisTimeout), "got %r" % (err,))
    if err is None:
        eq(got, [b"d1", b"d2", b"d3"])
    print("NOTE pipeline of 3 replies each %d ms late (timeout %d ms) -> %s after %d ms"
          % (TIMEOUT * 6 // 10, TIMEOUT, type(err).__name__ if err else "ok", ms))
    eq(r.echo("after"), b"after")


@test
def proxy_counts_faults():
    if PROXY_PORT is None:
        return
    r = proxy_client()
    st = proxy_stats(r)
    check(st.get("faults", 0) > 0, "no faults counted: %r" % (st,))
    for (mode, exc), n in sorted(seen.items()):
        print("NOTE %-8s -> %s x%d" % (mode, exc, n))


run()
