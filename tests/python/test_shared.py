# The unix firmware's test files (tests/unix/*.py, plain scripts on tests/lib/ptest.py),
# run unchanged on this interpreter (CPython or PyPy) with the installed picoredis: one
# pytest case per file, judged as tests/run_unix_tests.py judges them. compat/ gives the
# scripts the few MicroPython names they use (time.ticks_ms, a socket's write/read, the
# tls module over ssl).
#
# SHARED lists the files that pass on CPython and PyPy today; NOT_YET the others, with
# why (issue 15's remaining work: the parts of the client this host does not build yet,
# and tests that measure MicroPython itself).
import os
import subprocess
import sys
import time

import pytest

import run_unix_tests as runner

HERE = os.path.dirname(os.path.abspath(__file__))
UNIX = os.path.join(os.path.dirname(HERE), "unix")
LIB = os.path.join(os.path.dirname(HERE), "lib")

SHARED = [
    "test_arguments.py",
    "test_async.py",
    "test_async_session.py",
    "test_binary_and_unicode.py",
    "test_cluster.py",
    "test_cluster_failover.py",
    "test_commands.py",
    "test_connection.py",
    "test_cut_off_replies.py",
    "test_debug_output.py",
    "test_debug_password.py",
    "test_endless_replies.py",
    "test_errors.py",
    "test_examples.py",
    "test_fault_hostile.py",
    "test_fault_proxy.py",
    "test_fault_push_desync.py",
    "test_fault_soak_short.py",
    "test_fault_write_stall.py",
    "test_healing.py",
    "test_interrupt.py",
    "test_large_replies.py",
    "test_malformed_replies.py",
    "test_misuse_pubsub.py",
    "test_misuse_session.py",
    "test_misuse_streams.py",
    "test_misuse_threads.py",
    "test_misuse_values.py",
    "test_options.py",
    "test_pipeline.py",
    "test_pubsub.py",
    "test_reader.py",
    "test_reader_io.py",
    "test_readme_examples.py",
    "test_replies.py",
    "test_resp3.py",
    "test_sentinel.py",
    "test_sentinel_failover.py",
    "test_timeout.py",
    "test_tls.py",
]

NOT_YET = {
    "test_frozen_package.py": "MicroPython's frozen package",
}


def test_every_file_is_listed():
    files = sorted(n for n in os.listdir(UNIX) if n.startswith("test_") and n.endswith(".py"))
    assert sorted(SHARED + list(NOT_YET)) == files


@pytest.mark.parametrize("name", SHARED)
def test_unix_file(servers, request, name):
    redis, env = servers
    redis.flushall()
    # The Sentinel setup and the cluster: started by the first file that needs them.
    if "sentinel" in name:
        env = dict(env, **request.getfixturevalue("sentinel_env"))
    if "cluster" in name:
        env = dict(env, **request.getfixturevalue("cluster_env"))
    env = dict(env, PYTHONPATH=os.pathsep.join([os.path.join(HERE, "compat"), LIB]))
    path = os.path.join(UNIX, name)
    try:
        proc = subprocess.run([sys.executable, path], env=env, cwd=UNIX,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120)
        out = proc.stdout.decode("utf-8", "replace")
        crash = None if proc.returncode == 0 else "exit code %d" % proc.returncode
    except subprocess.TimeoutExpired as e:
        out, crash = (e.stdout or b"").decode("utf-8", "replace"), "timed out"
    if os.path.exists(path[:-3] + ".exp"):
        passed, failed, notes = runner.judge_exp(path, out, crash)
    else:
        passed, failed, notes = runner.judge_ptest(out, crash)
    print(out)  # (shown by pytest -rP)
    assert failed == 0 and passed > 0, "\n".join(notes or out.splitlines()[-40:])
