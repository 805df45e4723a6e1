"""Draw build/bench/bench.png from results.json (run by bench/run.py in the venv).

    build/bench/venv/bin/python bench/chart.py build/bench/results.json build/bench/bench.png
"""

import json
import sys

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {'picoredis': '#d1495b', 'baseline': '#8f2d56', 'natmod': '#f08a4b',
          'seed': '#edae49', 'redis_py': '#00798c', 'redis_benchmark': '#30638e'}
SHORT = {
    'get_small': 'GET\n3 B',
    'get_10k': 'GET\n10 KB',
    'pipe_get_100': 'pipelined GET\nbatch 100',
    'pipe_get_1000': 'pipelined GET\nbatch 1000',
    'set_1k': 'SET\n1 KB',
    'lrange_1000': 'LRANGE\n1000 elements',
    'async_get_1': 'asyncio GET\n1 task',
    'async_get_50': 'asyncio GET\n50 tasks',
}


def fmt(v):
    if v >= 1e6:
        return '%.1fM' % (v / 1e6)
    if v >= 1e3:
        return '%.0fk' % (v / 1e3) if v >= 1e4 else '%.1fk' % (v / 1e3)
    return '%.0f' % v if v >= 10 else '%.1f' % v


def main(src, dst):
    with open(src) as f:
        rep = json.load(f)
    workloads = list(rep['workloads'])
    clients = list(rep['clients'])
    best = rep['best']

    fig, (ax, axh) = plt.subplots(1, 2, figsize=(15, 6.2),
                                  gridspec_kw={'width_ratios': [4.2, 1]})
    width = 0.8 / len(clients)
    for i, cid in enumerate(clients):
        xs, ys = [], []
        for j, wid in enumerate(workloads):
            v = best[cid].get(wid)
            x = j + (i - (len(clients) - 1) / 2) * width
            if v is None:
                ax.text(x, 1.3, 'n/a', ha='center', va='bottom', fontsize=7, rotation=90,
                        color='#666')
                continue
            xs.append(x)
            ys.append(v)
            ax.text(x, v * 1.08, fmt(v), ha='center', va='bottom', fontsize=7, rotation=90)
        ax.bar(xs, ys, width, label=rep['clients'][cid], color=COLORS.get(cid, '#7a7a7a'))
    ax.set_yscale('log')
    ax.set_ylim(1, max(v for c in clients for v in best[c].values() if v) * 8)
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([SHORT.get(w, w) for w in workloads], fontsize=9)
    ax.set_ylabel('ops/s (pipelined: GETs/s), log scale')
    ax.set_title('picoredis benchmark: best of %d rounds, one connection, loopback'
                 % rep['rounds'])
    ax.grid(axis='y', which='major', alpha=0.3)
    ax.legend(fontsize=8, loc='upper left')

    heap = rep.get('heap', {})
    bars = [('picoredis\nr.get(k)', heap.get('picoredis', {}).get('get_small'), COLORS['picoredis']),
            ('seed\nr.get(k)', heap.get('seed', {}).get('get_small'), COLORS['seed']),
            ('picoredis\nasyncio', heap.get('picoredis', {}).get('async_get_small_50'),
             COLORS['picoredis']),
            ('bytes(3)\nalone', heap.get('picoredis', {}).get('bytes3'), '#888888')]
    bars = [b for b in bars if b[1] is not None]
    axh.bar(range(len(bars)), [b[1] for b in bars], color=[b[2] for b in bars])
    for k, b in enumerate(bars):
        axh.text(k, b[1] * 1.08, '%.0f B' % b[1], ha='center', va='bottom', fontsize=8)
    axh.set_xticks(range(len(bars)))
    axh.set_xticklabels([b[0] for b in bars], fontsize=8)
    axh.set_yscale('log')
    axh.set_ylim(10, max([b[1] for b in bars] + [100]) * 5)
    axh.set_title('heap bytes per small GET\n(MicroPython, log scale)', fontsize=10)
    axh.grid(axis='y', alpha=0.3)

    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
