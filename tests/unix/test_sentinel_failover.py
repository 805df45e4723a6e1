# Failover under load: a master_for client doing checked SET/GET in a loop while the
# sentinels replace the primary, by `SENTINEL FAILOVER` and by killing it (SIGKILL).
#
# Every reply is checked against its command: a SET must answer b'OK'; a GET of key K (not
# the key the SET before it wrote)
# must answer None or K's own value `K:<n>` with n no later than the last SET of K (a
# reply of another command, or another key's value, is a WRONG reply: there must be
# none). Errors (OSError, MasterNotFoundError, RedisTimeout, RedisError) are allowed only
# between the failover's start and the client's recovery: the first reply that came from
# the new primary (CONFIG GET port, asked after every error and every 20 commands).
# Recovery must come within RECOVERY_MS of the trigger; then 1 s more of load without an
# error. A GET that answers an older value of its key than the last acknowledged SET is a
# write the failover lost (asynchronous replication: the old primary acknowledged it, the
# new one never got it), reported in a NOTE, not a wrong reply.
import time
import picoredis
from picoredis import Sentinel, RedisError, RedisTimeout
from ptest import test, run, eq, check
from sentinelenv import (HOST, SENTINELS, SENTINEL_PORTS, NAME, ctl, master_port, plain,
                         node_port, have_setup)

# After SENTINEL FAILOVER the old primary still accepts its clients' commands until the
# sentinels turn it into a replica: Sentinel waits 8 s (4 publish periods) after the
# failover before it reconfigures an old primary that still says it is one, then kills
# its clients' connections. A client cannot tell sooner (its node answers as a primary).
# After a kill the sentinels need down-after (400 ms) plus the election and promotion.
FORCED_RECOVERY_MS = 15000
KILL_RECOVERY_MS = 10000
AFTER_MS = 1000


class Load:
    runs = 0

    def __init__(self, r):
        Load.runs += 1
        self.prefix = 'fo%d:' % Load.runs     # keys of its own: none left by another run
        self.r = r
        self.n = 0
        self.acked = {}       # key -> n of its last acknowledged SET
        self.sent = {}        # key -> n of its last SET sent
        self.wrong = []
        self.errors = []      # (ms since start, exception)
        self.lost = 0
        self.t0 = time.ticks_ms()

    def now(self):
        return time.ticks_diff(time.ticks_ms(), self.t0)

    def step(self):
        """A SET of one key and a GET of another (written 8 steps before, so a write the
        failover lost shows), both checked; False on an error."""
        self.n += 1
        n = self.n
        key = self.prefix + str(n % 16)
        try:
            self.sent[key] = n
            rep = self.r.set(key, '%s:%d' % (key, n))
            if rep != b'OK':
                self.wrong.append(('SET', key, rep))
            else:
                self.acked[key] = n
            key = self.prefix + str((n + 8) % 16)
            self.sent.setdefault(key, 0)
            rep = self.r.get(key)
            if rep is not None:
                if not isinstance(rep, bytes) or not rep.startswith(key.encode() + b':'):
                    self.wrong.append(('GET', key, rep))
                    return True
                seq = int(rep[len(key) + 1:])
                if seq > self.sent[key]:
                    self.wrong.append(('GET', key, rep))
                elif seq < self.acked.get(key, 0):
                    self.lost += 1    # acknowledged, then lost by the failover
                    self.acked[key] = seq
            elif key in self.acked:
                self.lost += 1
                del self.acked[key]
            return True
        except (OSError, RedisTimeout, RedisError) as e:
            self.errors.append((self.now(), e))
            time.sleep_ms(20)
            return False

    def node(self):
        """The port of the node the client talks to, or None (an error, recorded)."""
        try:
            rep = self.r.config('GET', 'port')
        except (OSError, RedisTimeout, RedisError) as e:
            self.errors.append((self.now(), e))
            return None
        if not (isinstance(rep, list) and len(rep) == 2 and rep[0] == b'port'):
            self.wrong.append(('CONFIG GET port', rep))
            return None
        return int(rep[1])


def failover_under_load(trigger, recovery_ms):
    old = master_port()
    s = Sentinel(SENTINELS, timeout=500)
    r = s.master_for(NAME, timeout=1000, connect_timeout=500, retries=3, backoff_base=50)
    eq(node_port(r), old)
    load = Load(r)
    while load.now() < 300:                    # steady before the failover
        load.step()
    check(not load.errors, "errors before the failover: %r" % load.errors)
    t_trigger = load.now()
    trigger()
    recovered = None
    i = 0
    while True:
        ok = load.step()
        i += 1
        if recovered is None and (not ok or i % 20 == 0):
            port = load.node()
            if port is not None and port != old and port == int(ctl("master")):
                recovered = load.now()
        if recovered is not None and load.now() - recovered >= AFTER_MS:
            break
        if load.now() - t_trigger > recovery_ms + AFTER_MS:
            break
    r.close()
    print("NOTE %d commands, %d errors between %s ms and %s ms after the trigger, "
          "recovered %s ms after it, %d acknowledged writes lost by the failover"
          % (2 * load.n, len(load.errors),
             load.errors[0][0] - t_trigger if load.errors else '-',
             load.errors[-1][0] - t_trigger if load.errors else '-',
             recovered - t_trigger if recovered is not None else 'never', load.lost))
    kinds = {}
    for _, e in load.errors:
        k = type(e).__name__ + (':' + str(e.args[0]) if isinstance(e, RedisError) else '')
        kinds[k] = kinds.get(k, 0) + 1
    if kinds:
        print("NOTE errors by kind: %r" % kinds)
    eq(load.wrong, [])
    check(recovered is not None and recovered - t_trigger <= recovery_ms,
          "recovered %r ms after the trigger (bound %d)"
          % (None if recovered is None else recovered - t_trigger, recovery_ms))
    late = [(t, e) for t, e in load.errors if t > recovered]
    eq(late, [])
    early = [(t, e) for t, e in load.errors if t < t_trigger]
    eq(early, [])
    check(load.n > 100, "the load ran (%d steps)" % load.n)
    return load


@test
def setup_present():
    check(have_setup(), "run through tests/run_unix_tests.py (it starts the Sentinel setup)")


@test
def forced_failover_under_load():
    sentinel = plain(SENTINEL_PORTS[0])

    def trigger():
        eq(sentinel.sentinel('FAILOVER', NAME), b'OK')

    failover_under_load(trigger, FORCED_RECOVERY_MS)
    sentinel.close()


@test
def primary_killed_under_load():
    def trigger():
        ctl("kill")

    try:
        failover_under_load(trigger, KILL_RECOVERY_MS)
    finally:
        ctl("revive")                          # the killed node back, as a replica


run()
