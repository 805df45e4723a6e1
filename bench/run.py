#!/usr/bin/env python3
"""`make bench`: picoredis against its seed, redis-py+hiredis and redis-benchmark.

    python3 bench/run.py [--firmware build/unix/micropython] [--rounds 3]
                         [--budget-ms 700] [--rb-seconds 2] [--out build/bench]
                         [--strict]

One throwaway redis-server (tools/redis_fixture.py) serves every client.  Each
round runs, in turn:
  picoredis  bench/mpy_bench.py on the firmware (this module, in Rust)
  seed       the same script on the same firmware with --module picoredis_seed:
             the original pure-Python picoredis 0.1.1, fetched with pip at
             bench time into build/bench/seed/
  redis-py   bench/py_bench.py on CPython: redis-py with the hiredis parser,
             installed into the venv build/bench/venv
  redis-benchmark -c 1   the C client: the round-trip limit of one connection
The best of the rounds counts (ops/s is noisy on a shared machine; every
sample is kept in results.json).  Writes results.md, results.json and bench.png
to --out and prints the markdown table.  Exit status: 0 (1 with --strict when
a target is missed, 2 when a client failed).
"""

import argparse
import csv
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tools'))
from redis_fixture import RedisServer, install_sigterm_handler  # noqa: E402

SEED_VERSION = '0.1.1'
VENV_PACKAGES = ['redis', 'hiredis', 'matplotlib']

# Keys and values: mirrored in mpy_bench.py and py_bench.py.
SMALL_KEY, SMALL_VALUE = 'bench:small', 'abc'
BIG_KEY, BIG_VALUE = 'bench:10k', 'x' * (10 * 1024)
SET_KEY, SET_VALUE = 'bench:set1k', 'x' * 1024
LIST_KEY, LIST_VALUES = 'bench:list', ['v%d' % i for i in range(1000)]

WORKLOADS = [  # (id, label)
    ('get_small', 'GET, 3-byte value'),
    ('get_10k', 'GET, 10 KB value'),
    ('pipe_get_100', 'pipelined GET, batches of 100 (GETs/s)'),
    ('pipe_get_1000', 'pipelined GET, batches of 1000 (GETs/s)'),
    ('set_1k', 'SET, 1 KB value'),
    ('lrange_1000', 'LRANGE 0 -1, 1000 small elements'),
]
CLIENTS = [  # (id, label)
    ('picoredis', 'picoredis (Rust, MicroPython)'),
    ('seed', 'picoredis 0.1.1 (pure Python, MicroPython)'),
    ('redis_py', 'redis-py + hiredis (CPython)'),
    ('redis_benchmark', 'redis-benchmark -c 1 (C)'),
]
# redis-benchmark: the command for each workload, and its pipeline depth.
RB_COMMANDS = {
    'get_small': (['GET', SMALL_KEY], 1),
    'get_10k': (['GET', BIG_KEY], 1),
    'pipe_get_100': (['GET', SMALL_KEY], 100),
    'pipe_get_1000': (['GET', SMALL_KEY], 1000),
    'set_1k': (['SET', SET_KEY, SET_VALUE], 1),
    'lrange_1000': (['LRANGE', LIST_KEY, '0', '-1'], 1),
}

# The fix applied to the seed before it runs (see bench/README.md): 0.1.1 keeps
# only the fileno() of sock.makefile('rb'); on MicroPython's unix port that file
# object closes the fd when the GC finalises it, and the seed then fails with
# "OSError: Error reading from socket." (poll() reports POLLNVAL) after a few
# hundred commands.  Keeping a reference changes nothing else.
SEED_PATCH_OLD = "            self._sock_fd = self._sock.makefile('rb')\n"
SEED_PATCH_NEW = ("            self._sock_file = self._sock.makefile('rb')  # bench: keep it alive\n"
                  "            self._sock_fd = self._sock_file\n")


def log(*a):
    print('[bench]', *a, file=sys.stderr, flush=True)


# ---- setup -------------------------------------------------------------------------


def venv_python(out):
    return os.path.join(out, 'venv', 'bin', 'python')


def ensure_venv(out):
    """build/bench/venv with redis, hiredis and matplotlib (created once)."""
    py = venv_python(out)
    check = 'import redis, hiredis, matplotlib'
    if os.path.exists(py) and subprocess.run([py, '-c', check],
                                             capture_output=True).returncode == 0:
        return py
    log('creating the venv', os.path.join(out, 'venv'), 'with', ' '.join(VENV_PACKAGES))
    made = subprocess.run([sys.executable, '-m', 'venv', '--clear', os.path.join(out, 'venv')])
    if made.returncode != 0:
        raise SystemExit('could not create a venv with %s (on Debian: apt-get install '
                         'python3-venv)' % sys.executable)
    subprocess.run([py, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check']
                   + VENV_PACKAGES, check=True)
    return py


def ensure_seed(out, pip_python, refresh=False):
    """build/bench/seed/picoredis_seed.py: picoredis 0.1.1 from the package index."""
    seed_dir = os.path.join(out, 'seed')
    target = os.path.join(seed_dir, 'picoredis_seed.py')
    if os.path.exists(target) and not refresh:
        return seed_dir
    shutil.rmtree(seed_dir, ignore_errors=True)
    os.makedirs(seed_dir)
    log('downloading picoredis==%s with pip' % SEED_VERSION)
    subprocess.run([pip_python, '-m', 'pip', 'download', '--quiet', '--no-deps',
                    '--disable-pip-version-check', 'picoredis==' + SEED_VERSION,
                    '-d', seed_dir], check=True)
    source = None
    for name in sorted(os.listdir(seed_dir)):
        path = os.path.join(seed_dir, name)
        if name.endswith('.whl'):
            with zipfile.ZipFile(path) as z:
                source = z.read('picoredis.py')
        elif name.endswith(('.tar.gz', '.zip')):
            if name.endswith('.zip'):
                with zipfile.ZipFile(path) as z:
                    member = next(n for n in z.namelist() if n.endswith('/picoredis.py'))
                    source = z.read(member)
            else:
                with tarfile.open(path) as t:
                    member = next(m for m in t.getmembers() if m.name.endswith('/picoredis.py'))
                    source = t.extractfile(member).read()
        if source:
            break
    if not source:
        raise SystemExit('no picoredis.py in %s' % os.listdir(seed_dir))
    with open(os.path.join(seed_dir, 'picoredis_orig.py'), 'wb') as f:
        f.write(source)
    text = source.decode('utf-8')
    if SEED_PATCH_OLD not in text:
        raise SystemExit('picoredis %s: the makefile() line to patch was not found' % SEED_VERSION)
    with open(target, 'w') as f:
        f.write(text.replace(SEED_PATCH_OLD, SEED_PATCH_NEW))
    return seed_dir


def populate(srv):
    srv.flushall()
    for args in (('SET', SMALL_KEY, SMALL_VALUE), ('SET', BIG_KEY, BIG_VALUE),
                 ('RPUSH', LIST_KEY) + tuple(LIST_VALUES)):
        reply = srv.command(*args)
        if reply[:1] not in (b'+', b':'):
            raise SystemExit('could not write %s: %r' % (args[1], reply))


# ---- the clients -------------------------------------------------------------------


def parse_lines(text):
    results, heap, info = {}, {}, {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0] == 'RESULT':
            results[words[1]] = None if words[2] == 'n/a' else float(words[2])
        elif len(words) >= 3 and words[0] == 'HEAP':
            heap[words[1]] = float(words[2])
        elif len(words) >= 2 and words[0] == 'INFO':
            info[words[1]] = ' '.join(words[2:])
    return results, heap, info


def run_client(cmd, env=None, timeout=120):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError('%s exited %d:\n%s%s' % (' '.join(cmd[:3]), p.returncode,
                                                     p.stdout[-2000:], p.stderr[-2000:]))
    log('  %s: %.1f s' % (os.path.basename(cmd[1]), time.monotonic() - t0))
    return parse_lines(p.stdout)


def run_mpy(firmware, module, port, budget_ms, seed_dir):
    env = dict(os.environ, MICROPYPATH=seed_dir)
    return run_client([firmware, os.path.join(HERE, 'mpy_bench.py'), '--module', module,
                       '--port', str(port), '--budget-ms', str(budget_ms)], env=env)


def run_py(py, port, budget_ms):
    return run_client([py, os.path.join(HERE, 'py_bench.py'), '--port', str(port),
                       '--budget-ms', str(budget_ms)])


def redis_benchmark(port, args, pipeline, n):
    cmd = ['redis-benchmark', '-h', '127.0.0.1', '-p', str(port), '-c', '1', '-n', str(n),
           '-P', str(pipeline), '--csv'] + args
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    rows = list(csv.reader(io.StringIO(out)))
    header = rows[0]
    return float(rows[1][header.index('rps')])


def run_redis_benchmark(port, seconds, sizes):
    """ops/s per workload; sizes (-n per workload) are calibrated on the first call."""
    results = {}
    t0 = time.monotonic()
    for wid, (args, depth) in RB_COMMANDS.items():
        if wid not in sizes:
            probe = max(2000, depth * 20)
            rate = redis_benchmark(port, args, depth, probe)
            sizes[wid] = max(probe, int(rate * seconds) // depth * depth)
        results[wid] = redis_benchmark(port, args, depth, sizes[wid])
    log('  redis-benchmark: %.1f s' % (time.monotonic() - t0))
    return results


# ---- report ------------------------------------------------------------------------


def fmt_rate(v):
    if v is None:
        return 'n/a'
    if v >= 100:
        return '{:,.0f}'.format(v)
    return '%.1f' % v


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def fmt_ratio(r):
    if r is None:
        return 'n/a'
    if r < 0.1:
        return '%.4f×' % r
    return '%.2f×' % r if r < 100 else '%.0f×' % r


def evaluate(best, heap):
    pico, rb, rp = best['picoredis'], best['redis_benchmark'], best['redis_py']
    targets = []

    def target(name, value, limit, text):
        met = value is not None and value >= limit
        targets.append({'target': name, 'value': value, 'limit': limit, 'met': met,
                        'text': text})

    target('small GET ≥ 0.9 × redis-benchmark -c 1',
           ratio(pico['get_small'], rb['get_small']), 0.9,
           'picoredis / redis-benchmark')
    target('10 KB GET ≥ redis-py + hiredis',
           ratio(pico['get_10k'], rp['get_10k']), 1.0, 'picoredis / redis-py')
    for wid, batch in (('pipe_get_100', 100), ('pipe_get_1000', 1000)):
        target('pipelined GET (batch %d) ≥ 3 × redis-py + hiredis' % batch,
               ratio(pico[wid], rp[wid]), 3.0, 'picoredis / redis-py')
    ph, ref = heap.get('picoredis', {}).get('get_small'), heap.get('picoredis', {}).get('bytes3')
    targets.append({'target': 'heap per small GET ≤ the reply bytes object itself',
                    'value': ph, 'limit': ref,
                    'met': ph is not None and ref is not None and ph <= ref,
                    'text': 'bytes per GET vs bytes(3)'})
    return targets


def markdown(report):
    best, heap = report['best'], report['heap']
    lines = ['# picoredis benchmark', '',
             'Best of %d rounds, ~%d ms per workload per client (redis-benchmark: ~%g s); '
             'one throwaway redis-server %s on loopback; %s.'
             % (report['rounds'], report['budget_ms'], report['rb_seconds'],
                report['env']['redis_server'], report['env']['machine']),
             '', 'ops/s (pipelined rows: GETs/s):', '']
    head = ['workload'] + [label for _, label in CLIENTS] + [
        'picoredis / seed', 'picoredis / redis-py', 'picoredis / redis-benchmark']
    lines.append('| ' + ' | '.join(head) + ' |')
    lines.append('|' + '---|' * len(head))
    for wid, label in WORKLOADS:
        row = [label] + [fmt_rate(best[c].get(wid)) for c, _ in CLIENTS]
        p = best['picoredis'].get(wid)
        row += [fmt_ratio(ratio(p, best['seed'].get(wid))),
                fmt_ratio(ratio(p, best['redis_py'].get(wid))),
                fmt_ratio(ratio(p, best['redis_benchmark'].get(wid)))]
        lines.append('| ' + ' | '.join(row) + ' |')
    lines += ['', 'Median of the rounds (how noisy the machine was):', '']
    lines.append('| workload | ' + ' | '.join(label for _, label in CLIENTS) + ' |')
    lines.append('|' + '---|' * (len(CLIENTS) + 1))
    for wid, label in WORKLOADS:
        lines.append('| ' + ' | '.join([label] + [fmt_rate(report['median'][c].get(wid))
                                                   for c, _ in CLIENTS]) + ' |')
    lines.append('')
    ph, sh = heap.get('picoredis', {}), heap.get('seed', {})
    lines.append('Heap per small GET on MicroPython (gc off, bytes allocated / GETs): '
                 'picoredis %s B (`r(\'GET\', k)`: %s B), seed %s B; '
                 'a fresh 3-byte `bytes(3)` object alone: %s B.'
                 % tuple(('%.1f' % v if v is not None else 'n/a') for v in (
                     ph.get('get_small'), ph.get('call_get_small'), sh.get('get_small'),
                     ph.get('bytes3'))))
    lines += ['', '## Targets', '']
    for t in report['targets']:
        if t['target'].startswith('heap'):
            val = ('%.1f B vs %.1f B' % (t['value'], t['limit'])
                   if t['value'] is not None and t['limit'] is not None else 'n/a')
        else:
            val = '%s: %s (needs ≥ %g)' % (t['text'], fmt_ratio(t['value']), t['limit'])
        lines.append('- **%s** — %s: %s' % ('met' if t['met'] else 'NOT MET', t['target'], val))
    if report.get('errors'):
        lines += ['', '## Errors', '']
        lines += ['- %s: %s' % (k, v.splitlines()[0] if v else v)
                  for k, v in report['errors'].items()]
    lines += ['', 'Seed: picoredis %s from the package index, run as `picoredis_seed` with one '
              'fix (it keeps the `makefile()` object alive; see bench/README.md). It has no '
              'pipeline: n/a.' % SEED_VERSION, '']
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--firmware', default=os.path.join(REPO, 'build', 'unix', 'micropython'))
    ap.add_argument('--out', default=os.path.join(REPO, 'build', 'bench'))
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--budget-ms', type=int, default=700,
                    help='time per workload per client and round')
    ap.add_argument('--rb-seconds', type=float, default=2.0,
                    help='redis-benchmark -n is sized for this long per workload')
    ap.add_argument('--refresh-seed', action='store_true', help='download the seed again')
    ap.add_argument('--strict', action='store_true', help='exit 1 when a target is missed')
    opts = ap.parse_args()
    install_sigterm_handler()

    firmware = os.path.abspath(opts.firmware)
    if not os.access(firmware, os.X_OK):
        raise SystemExit('no firmware at %s: run make first' % firmware)
    if not shutil.which('redis-benchmark'):
        raise SystemExit('redis-benchmark not found (Debian: redis-tools)')
    out = os.path.abspath(opts.out)
    os.makedirs(out, exist_ok=True)
    vpy = ensure_venv(out)
    seed_dir = ensure_seed(out, vpy, opts.refresh_seed)

    samples = {c: {w: [] for w, _ in WORKLOADS} for c, _ in CLIENTS}
    heap, info, errors, rb_sizes = {}, {}, {}, {}
    t_start = time.monotonic()
    with RedisServer() as srv:
        populate(srv)
        version = subprocess.run(['redis-server', '--version'], capture_output=True,
                                 text=True).stdout.split()[2]
        for rnd in range(opts.rounds):
            log('round %d/%d' % (rnd + 1, opts.rounds))
            runs = [
                ('picoredis', lambda: run_mpy(firmware, 'picoredis', srv.port,
                                              opts.budget_ms, seed_dir)),
                ('seed', lambda: run_mpy(firmware, 'picoredis_seed', srv.port,
                                         opts.budget_ms, seed_dir)),
                ('redis_py', lambda: run_py(vpy, srv.port, opts.budget_ms)),
                ('redis_benchmark', lambda: (run_redis_benchmark(
                    srv.port, opts.rb_seconds, rb_sizes), {}, {})),
            ]
            for cid, fn in runs:
                if cid in errors:
                    continue
                try:
                    res, h, inf = fn()
                except Exception as e:  # report and go on with the other clients
                    errors[cid] = str(e)
                    log('  %s FAILED: %s' % (cid, e))
                    continue
                for w, v in res.items():
                    samples[cid][w].append(v)
                if h:
                    heap[cid] = h
                info.update({'%s.%s' % (cid, k): v for k, v in inf.items()})

    def best_of(values):
        vals = [v for v in values if v is not None]
        return max(vals) if vals else None

    best = {c: {w: best_of(v) for w, v in ws.items()} for c, ws in samples.items()}
    median = {c: {w: (statistics.median([x for x in v if x is not None])
                      if any(x is not None for x in v) else None)
                  for w, v in ws.items()} for c, ws in samples.items()}
    report = {
        'rounds': opts.rounds, 'budget_ms': opts.budget_ms, 'rb_seconds': opts.rb_seconds,
        'rb_requests': rb_sizes,
        'workloads': dict(WORKLOADS), 'clients': dict(CLIENTS),
        'best': best, 'median': median, 'samples': samples, 'heap': heap,
        'info': info, 'errors': errors,
        'env': {'redis_server': version, 'machine': '%s, %d CPUs' % (
            platform.machine(), os.cpu_count() or 0), 'firmware': firmware,
            'python': platform.python_version(),
            'date': time.strftime('%Y-%m-%d %H:%M:%S')},
        'seconds': round(time.monotonic() - t_start, 1),
    }
    report['targets'] = evaluate(best, heap)
    md = markdown(report)
    with open(os.path.join(out, 'results.md'), 'w') as f:
        f.write(md)
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write('\n')
    png = os.path.join(out, 'bench.png')
    chart = subprocess.run([vpy, os.path.join(HERE, 'chart.py'),
                            os.path.join(out, 'results.json'), png])
    print(md)
    print('wrote %s, %s%s (%.0f s)' % (
        os.path.join(out, 'results.md'), os.path.join(out, 'results.json'),
        ', ' + png if chart.returncode == 0 else ' (no chart)', report['seconds']))
    if errors:
        return 2
    if opts.strict and not all(t['met'] for t in report['targets']):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
