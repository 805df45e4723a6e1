# Replies handed out a few bytes at a time (as a slow link would), and the Reader fed
# byte by byte: same results as whole.
import picoredis
# ScriptedServer: tests/qemu/lib/stream_server.py, prepended by `make qemu-test`
# (boards have no filesystem to import it from).

WIRE = b'*4\r\n$5\r\nhello\r\n:12345\r\n*1\r\n$6\r\n\r\n*1\r\n\r\n-ERR in array\r\n'
for chunk in (1, 2, 3, 7):
    s = ScriptedServer(WIRE, chunk=chunk)
    r = picoredis.Redis(sock=s)
    v = r.lrange('x', 0, -1)
    print(chunk, v[:3], v[3].args)

more = object()
rd = picoredis.Reader(notEnoughData=more)
out = []
for i in range(len(WIRE)):
    rd.feed(WIRE[i:i + 1])
    v = rd.gets()
    if v is not more:
        out.append(v)
print(len(out), out[0][:3])
