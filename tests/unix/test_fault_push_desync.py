# RESP3 push frames the client did not ask for (CLIENT TRACKING invalidations
# here) must never be taken for the reply of the next command: every reply
# stays with its own command.  (An early build returned the invalidation as
# the next command's reply and stayed one reply behind from then on.)
from ptest import test, run, eq
from testenv import client
import time


@test
def tracking_invalidation_is_not_a_reply():
    r, other = client(), client()
    r.hello(3)
    r.client("TRACKING", "ON")
    r.set("push:tracked", "v1")
    eq(r.get("push:tracked"), b"v1")
    for i in range(3):
        other.set("push:tracked", "v%d" % (i + 2))   # invalidation push to r
        time.sleep(0.05)
        eq(r.echo("a%d" % i), b"a%d" % i)
        eq(r.get("push:tracked"), b"v%d" % (i + 2))   # tracked again
    eq(r.ping(), b"PONG")
    r.close()
    other.close()


@test
def invalidation_inside_pipeline():
    r, other = client(), client()
    r.hello(3)
    r.client("TRACKING", "ON")
    r.set("push:p", "1")
    r.get("push:p")
    other.set("push:p", "2")
    time.sleep(0.05)
    eq(r.pipeline().echo("x").echo("y").get("push:p").execute(), [b"x", b"y", b"2"])
    r.close()
    other.close()


run()
