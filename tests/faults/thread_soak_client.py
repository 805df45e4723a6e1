# The MicroPython half of the concurrency soak (tools/thread_soak.py drives it and
# kills the connections from outside with CLIENT KILL every few hundred ms).
#
# 8 threads (on a stock unix firmware, no GIL: they really run in parallel; on the one
# built here, with a GIL, they take turns at every blocking call and VM jump):
# threads 0-3 share ONE picoredis.Redis client, threads 4-7 have one each.  They
# take their commands from one shared counter (under a lock) until SOAK_COMMANDS
# have been claimed and SOAK_MIN_SECONDS have passed: 8 threads run some 30 000
# commands a second, so a budget alone would see only one or two kills.  Every
# reply is checked against the command it answers; keys and values carry the
# thread number, so a reply meant for another thread (or command) cannot pass:
#   GET    of read-only keys set up before the threads start (some > the 1 KiB
#          read buffer): t3:k17 -> v:t3:17
#   ECHO   of a token unique to the thread and the operation
#   SET    of a unique value, then the same thread's GET of it; and GETs of
#          those keys alone: a SET that raised may or may not have run, so the
#          old value or the new one, anything else is wrong
#   INCR   of the thread's counter (starts at t * 10**9; a failed INCR widens
#          the range the next reply may fall in by one)
#   LRANGE of the thread's read-only list
#   HSET   with one argument: must raise RedisError ERR
#   a pipeline: GET, ECHO, LRANGE and sometimes that HSET (its error in place),
#          checked element by element
# Outcomes: a wrong reply (incl. a RedisError for a command that cannot fail)
# is WRONG; OSError and RedisTimeout are expected (a killed connection: the
# next command reconnects) and counted by kind; any other exception --
# ParseError, RuntimeError "client in use", TypeError... -- is UNEXPECTED.
#
# Env: PICOREDIS_HOST, PICOREDIS_PORT, SOAK_COMMANDS (2000), SOAK_SEED (1),
# SOAK_MIN_SECONDS (0), SOAK_MAX_SECONDS (60: threads stop taking commands then,
# and the count falls short), SOAK_TIMEOUT_MS (2000), SOAK_SHARED_THREADS (4; 0
# gives every thread its own client), SOAK_THREAD_STACK (bytes; 0 = the port's
# default).  Prints READY once the keys are set up and the threads are about to
# start (the driver starts killing then), progress lines, the first wrong and
# unexpected outcomes as they happen, and a final `SOAK {json}` line.  Exit
# status 0 if every thread finished (the driver judges the counts), 3 if not.
import _thread
import gc
import json
import os
import sys
import time

import picoredis
from picoredis import RedisError, RedisTimeout

SHARED_THREADS = int(os.getenv("SOAK_SHARED_THREADS") or "4")  # threads 0..3: one client
OWN_THREADS = 8 - SHARED_THREADS                                 # threads 4..7: one each
RO_KEYS = 40            # read-only keys per thread
BIG_EVERY = 8           # every 8th read-only value is 1.5-5 KB
W_KEYS = 4              # keys each thread SETs and GETs
LIST_LEN = 5
MAX_EXAMPLES = 20

# Operation: (name, commands it sends, weight).
OPS = (("get", 1, 4), ("echo", 1, 3), ("set_get", 2, 3), ("get_w", 1, 1), ("incr", 1, 2),
       ("lrange", 1, 1), ("error", 1, 1), ("pipeline", 3, 2))  # + 1 with an HSET
OP_TABLE = []
for _name, _n, _w in OPS:
    OP_TABLE += [(_name, _n)] * _w


def ro_key(t, j):
    return "t%d:k%d" % (t, j)


def ro_value(t, j):
    v = "v:t%d:%d" % (t, j)
    if j % BIG_EVERY == 0:
        v = v + ":" + "x" * (1500 + 97 * j) + ":" + v
    return v.encode()


def list_key(t):
    return "t%d:l" % t


def list_items(t):
    return [("l:t%d:%d" % (t, i)).encode() for i in range(LIST_LEN)]


def counter_key(t):
    return "t%d:n" % t


def counter_base(t):
    return t * 1000000000


class Wrong(Exception):
    pass


ERR = object()      # in a pipeline's expected replies: a RedisError ERR in place


def same(got, want):
    return type(got) is type(want) and got == want


def show(x):
    r = repr(x)
    return r if len(r) <= 100 else r[:60] + "..." + r[-30:]


# -- shared between the threads: everything below only under `lock` ------------------
lock = _thread.allocate_lock()
shared_state = {"claimed": 0, "limit": 0, "t0": 0, "min_ms": 0, "max_ms": 0,
                "finished": 0, "wrong": 0, "unexpected": 0, "examples": []}


def claim(n):
    """Take n commands; False once the budget is used up and the minimum time has
    passed (so that enough kills land during the load), or the maximum time has."""
    lock.acquire()
    try:
        ms = time.ticks_diff(time.ticks_ms(), shared_state["t0"])
        if ms >= shared_state["max_ms"] or (shared_state["claimed"] >= shared_state["limit"]
                                            and ms >= shared_state["min_ms"]):
            return False
        shared_state["claimed"] += n
        return True
    finally:
        lock.release()


def note(kind, text):
    """Count a wrong reply or an unexpected outcome; print the first few at once (a
    crash right after must not lose them)."""
    lock.acquire()
    try:
        shared_state[kind] += 1
        ex = shared_state["examples"]
        if len(ex) < MAX_EXAMPLES:
            ex.append(text)
            print(text)
    finally:
        lock.release()


class Worker:
    def __init__(self, t, r, shared, seed):
        self.t = t
        self.r = r
        self.shared = shared
        self.x = ((seed * 7919 + t * 104729) & 0xffffffff) or 1
        self.seq = 0
        self.w = [{None} for _ in range(W_KEYS)]   # possible values of each SET key
        self.n_lo = self.n_hi = counter_base(t)      # possible values of the counter
        self.s = {"ops": 0, "commands": 0, "ok": 0, "wrong": 0, "unexpected": 0,
                  "errors": {}}
        self.died = None
        self.pipe_error = 0

    # xorshift32: MicroPython's random is one global state, not for 8 threads at once.
    def rand(self, n):
        x = self.x
        x ^= (x << 13) & 0xffffffff
        x ^= x >> 17
        x ^= (x << 5) & 0xffffffff
        self.x = x
        return x % n

    def token(self, tag):
        self.seq += 1
        return "%s:t%d:%d.%d" % (tag, self.t, self.seq, self.rand(1 << 20))

    def expect(self, got, want, what):
        if not same(got, want):
            raise Wrong("%s: got %s, expected %s" % (what, show(got), show(want)))

    # -- operations ------------------------------------------------------------------
    def op_get(self):
        j = self.rand(RO_KEYS)
        self.expect(self.r.get(ro_key(self.t, j)), ro_value(self.t, j),
                    "GET " + ro_key(self.t, j))

    def op_echo(self):
        v = self.token("e")
        self.expect(self.r.echo(v), v.encode(), "ECHO " + v)

    def op_set_get(self):
        i = self.rand(W_KEYS)
        k = "t%d:w%d" % (self.t, i)
        v = self.token("w").encode()
        # Until the SET's reply is read, the key holds the old value or the new one.
        self.w[i].add(v)
        self.expect(self.r.set(k, v), b"OK", "SET " + k)
        self.w[i] = {v}
        self.expect(self.r.get(k), v, "GET %s after SET" % k)

    def op_get_w(self):
        # After a SET that raised: the old value or the new one, nothing else.
        i = self.rand(W_KEYS)
        k = "t%d:w%d" % (self.t, i)
        got = self.r.get(k)
        if not (got is None or type(got) is bytes) or got not in self.w[i]:
            raise Wrong("GET %s: got %s, expected one of %s"
                        % (k, show(got), show(sorted(self.w[i], key=repr))))
        self.w[i] = {got}

    def op_incr(self):
        k = counter_key(self.t)
        self.n_hi += 1          # until its reply is read, the INCR may or may not have run
        got = self.r.incr(k)
        if type(got) is not int or not (self.n_lo + 1 <= got <= self.n_hi):
            raise Wrong("INCR %s: got %s, expected %d..%d"
                        % (k, show(got), self.n_lo + 1, self.n_hi))
        self.n_lo = self.n_hi = got

    def op_lrange(self):
        self.expect(self.r.lrange(list_key(self.t), 0, -1), list_items(self.t),
                    "LRANGE " + list_key(self.t))

    def op_error(self):
        k = self.token("h")
        try:
            got = self.r.hset(k)        # wrong number of arguments
        except RedisError as e:
            if e.args[0] != "ERR" or "hset" not in str(e.args[1:]).lower():
                raise Wrong("HSET %s (1 arg): got RedisError%s" % (k, show(e.args)))
            return
        raise Wrong("HSET %s (1 arg): got %s, expected RedisError ERR" % (k, show(got)))

    def op_pipeline(self):
        j = self.rand(RO_KEYS)
        v = self.token("pe")
        with_error = self.pipe_error
        p = self.r.pipeline()
        p.get(ro_key(self.t, j))
        p.echo(v)
        p.lrange(list_key(self.t), 0, -1)
        want = [ro_value(self.t, j), v.encode(), list_items(self.t)]
        if with_error:
            p.hset(v)
            want.append(ERR)
        got = p.execute()
        what = "pipeline GET %s, ECHO %s, LRANGE%s" % (ro_key(self.t, j), v,
                                                      ", HSET" if with_error else "")
        if type(got) is not list or len(got) != len(want):
            raise Wrong("%s: got %s" % (what, show(got)))
        for n, (g, w) in enumerate(zip(got, want)):
            if w is ERR:
                ok = isinstance(g, RedisError) and g.args[0] == "ERR"
            else:
                ok = same(g, w)
            if not ok:
                raise Wrong("%s: reply %d is %s, expected %s" % (what, n, show(g), show(w)))

    # -- the loop --------------------------------------------------------------------
    def bump(self, key):
        e = self.s["errors"]
        e[key] = e.get(key, 0) + 1

    def one(self):
        name, commands = OP_TABLE[self.rand(len(OP_TABLE))]
        if name == "pipeline":
            self.pipe_error = self.rand(2)
            commands = 3 + self.pipe_error
        if not claim(commands):
            return False
        s = self.s
        s["ops"] += 1
        s["commands"] += commands
        who = "t%d(%s)" % (self.t, "shared" if self.shared else "own")
        try:
            getattr(self, "op_" + name)()
            s["ok"] += 1
        except Wrong as e:
            s["wrong"] += 1
            note("wrong", "WRONG %s %s" % (who, e))
        except RedisTimeout:
            self.bump("RedisTimeout")
        except RedisError as e:
            # Only op_error expects one, and catches it itself: this error reply
            # belongs to another command.
            s["wrong"] += 1
            note("wrong", "WRONG %s %s: got RedisError%s" % (who, name, show(e.args)))
        except OSError as e:
            self.bump("OSError:%s" % (e.args[0] if e.args else "?"))
        except Exception as e:
            s["unexpected"] += 1
            self.bump(type(e).__name__)
            note("unexpected", "UNEXPECTED %s %s: %s %s" % (who, name, type(e).__name__, e))
        return True

    def run(self):
        try:
            while self.one():
                pass
        except BaseException as e:   # a bug in this script, MemoryError outside an op...
            self.died = "%s: %s" % (type(e).__name__, e)
            note("unexpected", "THREAD t%d DIED %s" % (self.t, self.died))
        lock.acquire()
        shared_state["finished"] += 1
        lock.release()


def open_fds():
    try:
        return len(os.listdir("/proc/self/fd"))
    except Exception:
        return -1


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_free()


def setup(host, port, timeout_ms, threads):
    r = picoredis.Redis(host, port=port, timeout=timeout_ms)
    r.flushall()
    for t in range(threads):
        pairs = []
        for j in range(RO_KEYS):
            pairs += [ro_key(t, j), ro_value(t, j)]
        r.mset(*pairs)
        r.rpush(list_key(t), *list_items(t))
        r.set(counter_key(t), counter_base(t))
    r.close()


def usable(r):
    """The client still works after the storm (retrying: a kill may land on the PING)."""
    for _ in range(10):
        try:
            if r.ping() == b"PONG":
                return True
        except (OSError, RedisTimeout):
            time.sleep_ms(20)
        except Exception:
            return False
    return False


def main():
    host = os.getenv("PICOREDIS_HOST") or "127.0.0.1"
    port = int(os.getenv("PICOREDIS_PORT") or "6379")
    commands = int(os.getenv("SOAK_COMMANDS") or "2000")
    seed = int(os.getenv("SOAK_SEED") or "1")
    timeout_ms = int(os.getenv("SOAK_TIMEOUT_MS") or "2000")
    min_ms = int(float(os.getenv("SOAK_MIN_SECONDS") or "0") * 1000)
    max_ms = int(float(os.getenv("SOAK_MAX_SECONDS") or "60") * 1000)
    stack = int(os.getenv("SOAK_THREAD_STACK") or "0")
    n_threads = SHARED_THREADS + OWN_THREADS

    setup(host, port, timeout_ms, n_threads)
    fds_start = open_fds()
    heap_start = heap()
    shared = picoredis.Redis(host, port=port, timeout=timeout_ms)
    own = [picoredis.Redis(host, port=port, timeout=timeout_ms) for _ in range(OWN_THREADS)]
    workers = [Worker(t, shared if t < SHARED_THREADS else own[t - SHARED_THREADS],
                      t < SHARED_THREADS, seed) for t in range(n_threads)]
    shared_state["limit"] = commands
    shared_state["min_ms"] = min_ms
    shared_state["max_ms"] = max_ms
    if stack:
        _thread.stack_size(stack)
    print("READY %d threads (%d on one shared client), %d commands, at least %d ms, seed %d"
          % (n_threads, SHARED_THREADS, commands, min_ms, seed))
    t0 = shared_state["t0"] = time.ticks_ms()
    for w in workers:
        _thread.start_new_thread(w.run, ())
    step = max(1000, commands // 10)
    next_progress = step
    # Threads stop taking commands at max_ms; then give a command in flight its timeout.
    wait_ms = max_ms + timeout_ms + 1000
    while shared_state["finished"] < n_threads and time.ticks_diff(time.ticks_ms(), t0) < wait_ms:
        time.sleep_ms(20)
        if shared_state["claimed"] >= next_progress:
            next_progress += step
            print("progress %d commands, %d wrong, %d unexpected, %d ms"
                  % (shared_state["claimed"], shared_state["wrong"],
                     shared_state["unexpected"], time.ticks_diff(time.ticks_ms(), t0)))
    elapsed = time.ticks_diff(time.ticks_ms(), t0) / 1000
    unfinished = n_threads - shared_state["finished"]

    rep = {"threads": n_threads, "shared_threads": SHARED_THREADS, "seed": seed,
           "limit": commands, "min_seconds": min_ms / 1000, "commands": shared_state["claimed"], "ops": 0, "ok": 0,
           "wrong": shared_state["wrong"], "unexpected": shared_state["unexpected"],
           "errors": {}, "errors_shared": {}, "errors_own": {}, "per_thread": [],
           "unfinished": unfinished, "died": [w.died for w in workers if w.died],
           "seconds": elapsed, "examples": shared_state["examples"]}
    for w in workers:
        s = w.s
        rep["ops"] += s["ops"]
        rep["ok"] += s["ok"]
        for k, v in s["errors"].items():
            for d in (rep["errors"], rep["errors_shared" if w.shared else "errors_own"]):
                d[k] = d.get(k, 0) + v
        rep["per_thread"].append([w.t, s["commands"], s["ok"], s["wrong"], s["unexpected"],
                                  sum(s["errors"].values())])
    if unfinished == 0:
        rep["usable_after"] = all(usable(r) for r in [shared] + own)
        for r in [shared] + own:
            r.close()
        rep["heap_start"] = heap_start
        rep["heap_end"] = heap()
        rep["fds_start"] = fds_start
        rep["fds_end"] = open_fds()
    print("SOAK " + json.dumps(rep))
    if unfinished:
        print("%d threads still running after %d ms" % (unfinished, wait_ms))
        sys.exit(3)


if __name__ == "__main__" and os.getenv("PICOREDIS_PORT"):
    main()
