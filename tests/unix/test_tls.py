# TLS against a real redis-server TLS port, with a CA and certificate made at test time.
import os
import time
import tls
from picoredis import Redis, RedisTimeout
from ptest import test, run, eq, check, raises
from testenv import silent_listener

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



def closed_by_client(srv):
    """The next connection waiting on the silent listener `srv`: it got a TLS hello (a
    handshake record, 0x16), then the client closed it (EOF) rather than leaving it open."""
    conn, _ = srv.accept()
    conn.settimeout(2)
    got = b''
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            got += data
    except OSError as e:
        check(False, 'the client left its socket open (%r)' % e)
    finally:
        conn.close()
    check(got[:1] == b'\x16', 'no TLS hello: %r' % got[:8])


@test
def tls_handshake_without_answer_is_a_timeout():
    # A server that accepts TCP (from the listen backlog) and never answers the TLS hello:
    # the handshake's wait is bounded by connect_timeout and ends in RedisTimeout, as a
    # Redis handshake without answer does, with the socket closed.
    srv, port = silent_listener()
    try:
        t0 = time.ticks_ms()
        raises(RedisTimeout, Redis, '127.0.0.1', port, ssl_context=context(),
               connect_timeout=300, retries=0)
        dt = time.ticks_diff(time.ticks_ms(), t0)
        check(250 <= dt < 2000, 'a 300 ms connect_timeout took %d ms' % dt)
        closed_by_client(srv)
        # Retried (the heal part): each attempt times out, the last one's RedisTimeout.
        raises(RedisTimeout, Redis, '127.0.0.1', port, ssl_context=context(),
               connect_timeout=200, retries=1, backoff_base=1)
        closed_by_client(srv)
        closed_by_client(srv)
    finally:
        srv.close()


@test
def tls_reconnect_handshake_without_answer_is_a_timeout():
    srv, port = silent_listener()
    try:
        r = Redis('127.0.0.1', PORT, ssl_context=context(), connect_timeout=300, retries=0)
        eq(r.ping(), b'PONG')
        # connect() to the silent server, then a command's reconnect to it.
        raises(RedisTimeout, r.connect, '127.0.0.1', port)
        closed_by_client(srv)
        raises(RedisTimeout, r.ping)
        closed_by_client(srv)
        r.connect('127.0.0.1', PORT)
        eq(r.ping(), b'PONG')
    finally:
        srv.close()


run()
