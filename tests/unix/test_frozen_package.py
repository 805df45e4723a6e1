# The frozen Python part (mpy_module/manifest.py, frozen by ports/unix/manifest.py):
# `import picoredis` is the frozen package, which re-exports the built-in module (imported
# as `upicoredis`) object for object, so isinstance checks and `except picoredis.X` see
# the classes the C code creates and raises; MicroPython's asyncio is frozen too.
import sys
import picoredis
import upicoredis
from ptest import test, run, eq, check, raises
from testenv import client, silent_listener

# Names a module object has of its own, not re-exports.
OWN = ('__name__', '__file__', '__path__', '__dict__', '__class__')


@test
def picoredis_is_the_frozen_package():
    check(picoredis is not upicoredis, 'picoredis is the built-in itself')
    eq(picoredis.__path__, '.frozen/picoredis')
    eq(picoredis.__file__, 'picoredis/__init__.py')
    eq(picoredis.__name__, 'picoredis')
    eq(upicoredis.__name__, 'picoredis')  # the built-in underneath
    check(not hasattr(upicoredis, '__path__'), 'the built-in is not a package')


@test
def same_public_names_as_the_builtin():
    # (Private names, such as _Mux for picoredis.asyncio, stay in the built-in.)
    builtin = sorted(n for n in upicoredis.__dict__ if n not in OWN and n[0] != '_')
    frozen = sorted(n for n in picoredis.__dict__ if n not in OWN and n[0] != '_')
    eq(frozen, builtin)
    for name in ('Redis', 'Reader', 'PubSub', 'Pipeline', 'RedisError', 'ParseError',
                 'RedisTimeout'):
        check(name in builtin, name + ' missing')


@test
def same_objects_as_the_builtin():
    for name in upicoredis.__dict__:
        if name not in OWN and name[0] != '_':
            check(getattr(picoredis, name) is getattr(upicoredis, name), name)


@test
def star_import_gives_the_same_names():
    ns = {}
    exec('from picoredis import *', ns)
    eq(sorted(n for n in ns if n[0] != '_'),
       sorted(n for n in upicoredis.__dict__ if n[0] != '_'))


@test
def objects_made_by_the_c_code_are_instances():
    r = client()
    try:
        check(isinstance(r, picoredis.Redis))
        check(type(r.pipeline()) is picoredis.Pipeline)
        check(type(r.pubsub()) is picoredis.PubSub)
        reply = r.eval("return {redis.error_reply('ERR in place')}", 0)
        check(isinstance(reply[0], picoredis.RedisError), repr(reply))
    finally:
        r.close()


@test
def exceptions_raised_by_the_c_code_are_the_packages():
    r = client()
    try:
        try:
            r.bogus()
            check(False, 'no RedisError')
        except picoredis.RedisError as e:
            eq(e.args[0], 'ERR')
    finally:
        r.close()
    reader = picoredis.Reader()
    reader.feed(b'?bad\r\n')
    raises(picoredis.ParseError, reader.gets)
    s, port = silent_listener()
    try:
        r = picoredis.Redis('127.0.0.1', port, timeout=100)
        try:
            raises(picoredis.RedisTimeout, r.ping)
        finally:
            r.close()
    finally:
        s.close()


@test
def builtin_when_the_frozen_modules_are_off_the_path():
    # The extensible built-in answers `import picoredis` when no package is found (a
    # firmware without the frozen part, or a sys.path without '.frozen').
    saved = sys.path[:]
    del sys.modules['picoredis']
    try:
        sys.path[:] = [p for p in saved if p != '.frozen']
        import picoredis as plain
        check(plain is upicoredis, 'got %r' % (plain,))
    finally:
        sys.path[:] = saved
        sys.modules['picoredis'] = picoredis


@test
def asyncio_is_frozen_too():
    import asyncio

    async def add(a, b):
        await asyncio.sleep_ms(1)
        return a + b

    async def main():
        return await asyncio.gather(add(1, 2), add(3, 4))

    eq(asyncio.run(main()), [3, 7])


run()
