#!/usr/bin/env python3
"""Regenerate the README's benchmark table from a `make bench` run.

    python3 bench/readme.py [build/bench/results.json] [README.md]

Replaces what lies between the markers `<!-- bench:table -->` and
`<!-- /bench:table -->` in the README with the table of results.json (the same
table results.md has: min / median / max per cell, the ratios of the best rounds
and, in brackets, of the medians; without a baseline build's A/B column), plus
one line saying when, where and how many rounds. The prose around the table is
the author's: it is not touched.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import table  # noqa: E402

BEGIN, END = '<!-- bench:table -->', '<!-- /bench:table -->'


def main(argv):
    src = argv[1] if len(argv) > 1 else os.path.join(HERE, '..', 'build', 'bench', 'results.json')
    readme = argv[2] if len(argv) > 2 else os.path.join(HERE, '..', 'README.md')
    with open(src) as f:
        report = json.load(f)
    with open(readme) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise SystemExit('%s: no %s ... %s markers' % (readme, BEGIN, END))
    # The README shows the product, not an A/B of one change: a baseline build's column
    # (--baseline-firmware) stays in results.md.
    report['clients'].pop('baseline', None)
    env = report['env']
    cpus = env.get('cpus')
    where = ('redis-server on CPU %s, clients on CPU %s' % (
        ','.join(map(str, cpus['redis_server'])), ','.join(map(str, cpus['clients'])))
        if cpus else 'not pinned')
    block = ['', '%d rounds of ~%d ms per workload and client%s, %s (%s; %s; redis %s). '
             'ops/s (pipelined rows: GETs/s), min / median / **max** of the rounds; '
             'ratios of the best rounds (of the medians in brackets).'
             % (report['rounds'], report['budget_ms'],
                ' (interleaved: every client in turn on one workload, then the next)'
                if report.get('scheme') else '', env['date'].split()[0], env['machine'],
                where, env['redis_server']), ''] + table(report) + ['']
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(readme, 'w') as f:
        f.write(head + BEGIN + '\n'.join(block) + END + tail)
    print('%s: table from %s' % (readme, src))


if __name__ == '__main__':
    main(sys.argv)
