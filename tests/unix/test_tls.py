# TLS against a real redis-server TLS port, with a CA and certificate made at test time.
import os
import tls
from picoredis import Redis
from ptest import test, run, eq, check, raises

PORT = int(os.getenv('PICOREDIS_TLS_PORT'))
with open(os.getenv('PICOREDIS_TLS_CA'), 'rb') as f:
    CA = f.read()


def context(verify=True):
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.verify_mode = tls.CERT_REQUIRED
        ctx.load_verify_locations(CA)
    else:
        ctx.verify_mode = tls.CERT_NONE
    return ctx


@test
def tls_with_verified_certificate():
    r = Redis('127.0.0.1', PORT, ssl_context=context())
    eq(r.ping(), b'PONG')
    big = b'\x00\xff' * 50000
    eq(r.set('tls:big', big), b'OK')
    eq(r.get('tls:big'), big)
    p = r.pipeline()
    for i in range(100):
        p.incr('tls:n')
    eq(p.execute()[-1], 100)


@test
def tls_wrapped_socket_via_sock():
    import socket
    s = socket.socket()
    s.connect(socket.getaddrinfo('127.0.0.1', PORT)[0][-1])
    ss = context().wrap_socket(s, server_hostname='localhost')
    r = Redis(sock=ss)
    eq(r.ping(), b'PONG')


@test
def tls_default_context_rejects_unknown_ca():
    # ssl=True: a default client context, which verifies the certificate; ours is
    # signed by a CA it does not know.
    raises(Exception, Redis, '127.0.0.1', PORT, ssl=True, timeout=2000)


@test
def tls_timeout_and_reconnect():
    from picoredis import RedisTimeout
    r = Redis('127.0.0.1', PORT, ssl_context=context(), timeout=200)
    raises(RedisTimeout, r.blpop, 'tls:nolist', 1)
    eq(r.ping(), b'PONG')  # reconnected through TLS again


run()
