# `make bench`: picoredis against the original pure-Python picoredis 0.1.1,
# redis-py + hiredis and redis-benchmark -c 1; asyncio rows (1 and 50 tasks):
# picoredis.asyncio against redis.asyncio + hiredis and redis-benchmark -c 1 / -c 50;
# picoredis on CPython and PyPy (`make wheel`) against redis-py + hiredis on each.
# See bench/README.md.
#
# Include it from the top-level Makefile after FIRMWARE and PYTHON are defined:
#     include bench/bench.mk
# Knobs: BENCH_OUT (default build/bench), BENCH_ARGS (e.g. --rounds 7 --strict),
# BENCH_BASELINE (another unix firmware with picoredis, e.g. main's build: an A/B column).
# It needs redis-server and redis-benchmark (Debian: redis-server, redis-tools;
# `make deps` installs them), the venv module of $(PYTHON) (Debian: python3-venv)
# and the package index for pip the first time (the venv and the seed are kept
# in $(BENCH_OUT) and reused).

BENCH_OUT ?= build/bench
BENCH_ARGS ?=
BENCH_BASELINE ?=

.PHONY: bench
bench: firmware natmod-x64 firmware-stock wheel
	$(PYTHON) bench/run.py --firmware $(FIRMWARE) --out $(BENCH_OUT) \
		--wheels $(WHEEL_DIR) --pypy $(PYPY_VENV)/bin/python \
		$(if $(BENCH_BASELINE),--baseline-firmware $(BENCH_BASELINE)) $(BENCH_ARGS)
