# picoredis.asyncio on bare metal, over an in-memory transport: boards under QEMU have no
# network, so the client gets its connections from connection_factory=, and a tiny RESP
# responder written here (parsing requests with picoredis.Reader) plays the server. It
# checks concurrent tasks, pipelines, error replies, cancellation and wait_for timeouts,
# pub/sub delivery, and a dropped connection healed by a new one from the factory.
import asyncio
from picoredis import Reader, RedisError
from picoredis.asyncio import Redis


class Pipe:
    # One direction of a connection: bytes, and an Event for the one task reading them.
    def __init__(self):
        self.buf = b''
        self.ev = asyncio.Event()
        self.closed = False

    def put(self, data):
        if not self.closed:
            self.buf += data
            self.ev.set()

    def close(self):
        self.closed = True
        self.ev.set()

    async def get(self, n):
        while not self.buf and not self.closed:
            self.ev.clear()
            await self.ev.wait()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


class ClientReader:
    # asyncio-stream-like: readinto(buf) -> count, 0 at EOF.
    def __init__(self, pipe):
        self.pipe = pipe

    async def readinto(self, buf):
        data = await self.pipe.get(len(buf))
        buf[:len(data)] = data
        return len(data)


class ClientReadOnly:
    # The other shape the client accepts: read(n) -> bytes, b'' at EOF.
    def __init__(self, pipe):
        self.pipe = pipe

    async def read(self, n):
        return await self.pipe.get(n)


class ClientWriter:
    def __init__(self, pipe, server):
        self.pipe = pipe
        self.server = server

    def write(self, data):
        self.server.writes += 1
        self.pipe.put(bytes(data))

    async def drain(self):
        pass

    def close(self):
        self.pipe.close()

    async def wait_closed(self):
        self.server.wait_closed += 1


class Raw(bytes):
    # Reply bytes already encoded (several replies at once).
    pass


def enc(v):
    if isinstance(v, Raw):
        return bytes(v)
    if v is None:
        return b'$-1\r\n'
    if isinstance(v, int):
        return b':%d\r\n' % v
    if isinstance(v, (bytes, bytearray)):
        return b'$%d\r\n' % len(v) + v + b'\r\n'
    if isinstance(v, RedisError):
        return b'-' + v.args[0].encode() + b'\r\n'
    if isinstance(v, str):  # a simple string
        return b'+' + v.encode() + b'\r\n'
    return b'*%d\r\n' % len(v) + b''.join(enc(x) for x in v)


class Conn:
    def __init__(self):
        self.c2s = Pipe()
        self.s2c = Pipe()
        self.channels = set()
        self.multi = None


class Server:
    def __init__(self):
        self.data = {}
        self.conns = []
        self.opened = 0
        self.refuse = 0  # refuse this many connection attempts (OSError)
        self.writes = 0  # client writes
        self.wait_closed = 0
        self.log = []  # command names, in arrival order

    async def connect(self, read_only=False):  # the connection_factory
        self.opened += 1
        if self.refuse:
            self.refuse -= 1
            raise OSError(111)  # ECONNREFUSED
        c = Conn()
        self.conns.append(c)
        asyncio.create_task(self.serve(c))
        reader = ClientReadOnly(c.s2c) if read_only else ClientReader(c.s2c)
        return reader, ClientWriter(c.c2s, self)

    async def connect_read_only(self):
        return await self.connect(True)

    def kill(self):
        # The server drops every connection (the client sees EOF).
        for c in self.conns:
            c.s2c.close()
            c.c2s.close()
        self.conns = []

    async def serve(self, c):
        rd = Reader()
        while True:
            data = await c.c2s.get(256)
            if not data:
                return
            rd.feed(data)
            while True:
                req = rd.gets()
                if req is False:
                    break
                name = req[0].upper()
                self.log.append(name.decode())
                if name == b'SLEEPMS':  # replies after a while (later replies wait)
                    await asyncio.sleep_ms(int(req[1]))
                if c.multi is not None and name not in (b'EXEC', b'MULTI'):
                    c.multi.append(req)
                    c.s2c.put(enc('QUEUED'))
                    continue
                c.s2c.put(enc(self.reply(c, name, req[1:])))

    def reply(self, c, name, args):
        d = self.data
        if name == b'MULTI':
            c.multi = []
            return 'OK'
        if name == b'EXEC':
            queued, c.multi = c.multi, None
            return [self.reply(c, q[0].upper(), q[1:]) for q in queued]
        if name == b'PING':
            return [b'pong', b''] if c.channels else 'PONG'
        if name in (b'SLEEPMS', b'SET'):
            if name == b'SET':
                d[args[0]] = args[1]
            return 'OK'
        if name == b'GET':
            return d.get(args[0])
        if name == b'ECHO':
            return args[0]
        if name == b'INCR':
            d[args[0]] = b'%d' % (int(d.get(args[0], b'0')) + 1)
            return int(d[args[0]])
        if name == b'SUBSCRIBE':
            out = []
            for ch in args:
                c.channels.add(ch)
                out.append(enc([b'subscribe', ch, len(c.channels)]))
            return Raw(b''.join(out))
        if name == b'PUBLISH':
            n = 0
            for o in self.conns:
                if args[0] in o.channels:
                    o.s2c.put(enc([b'message', args[0], args[1]]))
                    n += 1
            return n
        return RedisError("ERR unknown command '%s'" % name.decode())


server = Server()


async def concurrent():
    r = Redis(connection_factory=server.connect)

    async def worker(i):
        for _ in range(10):
            await r.incr('n%d' % i)
        return await r.get('n%d' % i)

    got = await asyncio.gather(*[worker(i) for i in range(20)])
    print('20 tasks x 10 INCR, each its own count:', got == [b'10'] * 20)
    w0 = server.writes
    got = await asyncio.gather(*[r.get('n%d' % i) for i in range(20)])
    print('20 concurrent GETs in order:', got == [b'10'] * 20)
    print('coalesced into few writes:', server.writes - w0 <= 2)
    print('one connection:', server.opened)
    try:
        await r.bogus('x')
    except RedisError as e:
        print('error reply:', e.args)
    print('still in step:', await r.echo('after error'))
    return r


async def pipelines(r):
    async with r.pipeline() as p:
        p.set('a', 1).incr('a')
        p.get('a')
        print('pipeline:', await p.execute())
    async with r.pipeline(transaction=True) as p:
        p.incr('a').incr('a')
        print('transaction:', await p.execute())


async def cancellation(r):
    t = asyncio.create_task(r.sleepms(60))
    await asyncio.sleep_ms(10)
    t.cancel()
    try:
        await t
    except asyncio.CancelledError:
        print('cancelled task: CancelledError')
    # The cancelled command's reply (+OK) is read and dropped: the next task gets its own.
    print('after cancel:', await r.echo('mine'))
    try:
        await asyncio.wait_for_ms(r.sleepms(100), 20)
    except asyncio.TimeoutError:
        print('wait_for: TimeoutError')
    print('after timeout:', await r.get('a'))
    print('sleeps sent once each:', server.log.count('SLEEPMS'))


async def pubsub(r):
    ps = r.pubsub()
    await ps.subscribe('ch')
    m = await ps.get_message(timeout=1000)
    print('confirmation:', m['type'], m['channel'], m['data'])
    print('receivers:', await r.publish('ch', 'hello'))
    m = await ps.get_message(timeout=1000)
    print('message:', m['type'], m['channel'], m['data'], m['pattern'])
    print('nothing more:', await ps.get_message(timeout=50))
    return ps


async def reconnect(r, ps):
    opened = server.opened
    t = asyncio.create_task(r.sleepms(50))
    await asyncio.sleep_ms(10)
    server.kill()
    try:
        await t
    except OSError:
        print('in flight at the drop: OSError (not resent)')
    print('next command reconnects:', await r.get('a'), server.opened - opened)
    print('in-flight command sent once:', server.log.count('SLEEPMS'))
    # The PubSub reconnects (through the factory) and subscribes again.
    m = await ps.get_message(timeout=1000)
    print('resubscribed:', m['type'], m['channel'])
    print('receivers:', await r.publish('ch', 'again'))
    m = await ps.get_message(timeout=1000)
    print('message after reconnect:', m['channel'], m['data'])
    print('closed transports waited:', server.wait_closed > 0)


async def backoff():
    server.refuse = 2
    opened = server.opened
    r = Redis(connection_factory=server.connect_read_only, backoff_base=1, backoff_cap=5)
    print('connects after 2 refusals:', await r.echo('read(n) transport'),
          server.opened - opened)
    server.refuse = 9
    server.kill()
    await asyncio.sleep_ms(20)
    try:
        await r.echo('x')
    except OSError as e:
        print('gives up after retries:', e.args[0], server.opened - opened)
    server.refuse = 0
    await r.close()


async def main():
    r = await concurrent()
    await pipelines(r)
    await cancellation(r)
    ps = await pubsub(r)
    await reconnect(r, ps)
    await ps.close()
    await r.close()
    await backoff()


asyncio.run(main())
