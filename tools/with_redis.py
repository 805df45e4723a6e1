#!/usr/bin/env python3
"""Run a command with a throwaway redis-server.

    tools/with_redis.py [--redis-arg ARG ...] -- CMD ARGS...

CMD sees PICOREDIS_HOST=127.0.0.1 and PICOREDIS_PORT=<port>.  The exit code
is CMD's (128+N if it died of signal N); the server is stopped afterwards in
every case.  Extra redis options are passed one word at a time, e.g.
`--redis-arg --maxmemory --redis-arg 1mb` (or `--redis-arg=--maxmemory`).
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_fixture import RedisServer, install_sigterm_handler  # noqa: E402

USAGE = "usage: with_redis.py [--redis-arg ARG ...] -- CMD ARGS..."


def parse(argv):
    if "--" not in argv:
        raise SystemExit(USAGE)
    split = argv.index("--")
    opts, cmd = argv[:split], argv[split + 1:]
    if not cmd:
        raise SystemExit(USAGE)
    redis_args = []
    i = 0
    while i < len(opts):
        if opts[i] == "--redis-arg" and i + 1 < len(opts):
            redis_args.append(opts[i + 1])
            i += 2
        elif opts[i].startswith("--redis-arg="):
            redis_args.append(opts[i][len("--redis-arg="):])
            i += 1
        else:
            raise SystemExit("unknown option %r\n%s" % (opts[i], USAGE))
    return redis_args, cmd


def main(argv):
    redis_args, cmd = parse(argv)
    install_sigterm_handler()
    with RedisServer(redis_args) as srv:
        env = dict(os.environ, PICOREDIS_HOST=srv.host, PICOREDIS_PORT=str(srv.port))
        child = subprocess.Popen(cmd, env=env)
        try:
            rc = child.wait()
        except (KeyboardInterrupt, SystemExit) as e:
            # Ctrl-C reaches the child too (same process group); SIGTERM was
            # sent to us only, so pass it on.  Either way give the child a
            # moment to exit on its own before the server goes away.
            if isinstance(e, SystemExit):
                child.terminate()
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            raise
    return rc if rc >= 0 else 128 - rc


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
