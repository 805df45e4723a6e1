# picoredis — a Redis client for MicroPython with a Rust core.
#
#   make deps    install what a fresh Debian machine lacks (idempotent)
#   make         build the unix firmware with picoredis: build/unix/micropython
#   make demo    run examples/demo.py against a throwaway local redis-server
#   make test    run every test suite
#
# MICROPY_DIR=/path/to/micropython builds against your own checkout instead of the pinned
# Debian source package that `make deps` unpacks.

.DEFAULT_GOAL := all
REPO := $(abspath .)
DEPS_DIR := $(REPO)/build/deps
ifeq ($(origin MICROPY_DIR),undefined)
MICROPY_DIR := $(DEPS_DIR)/micropython
FETCH_MICROPY := 1
endif
override MICROPY_DIR := $(abspath $(MICROPY_DIR))
UNIX_BUILD := $(REPO)/build/unix
FIRMWARE := $(UNIX_BUILD)/micropython
PYTHON ?= python3

# The unix firmware (flags and why: ports/unix/unix.mk).
include ports/unix/unix.mk

# Bare metal under QEMU (Cortex-M3 MPS2_AN385 and RV32 VIRT_RV32): ports/qemu/qemu.mk.
BUILD_DIR := $(REPO)/build
USER_C_MODULES := $(REPO)
# Boards have no filesystem to import helpers from: each test is prepended with
# tests/qemu/lib/*.py into build/qemu-tests/, which run-tests.py then runs.
QEMU_TEST_DIR := $(REPO)/build/qemu-tests
include ports/qemu/qemu.mk

qemu-tests-gen:
	@rm -rf $(QEMU_TEST_DIR) && mkdir -p $(QEMU_TEST_DIR)
	@for t in tests/qemu/test_*.py; do \
		cat tests/qemu/lib/*.py $$t > $(QEMU_TEST_DIR)/$$(basename $$t); \
		cp $$t.exp $(QEMU_TEST_DIR)/; done
qemu-test-arm qemu-test-rv32: qemu-tests-gen

# Speed and memory against the original picoredis, redis-py + hiredis and redis-benchmark.
include bench/bench.mk

# Flash and RAM picoredis adds to each QEMU firmware (with vs without the module), with
# every optional part and with none (PICOREDIS_FEATURES=: no Reader, pub/sub, TLS, trace, heal,
# sentinel or cluster).
size: qemu-firmware qemu-firmware-plain qemu-firmware-min qemu-test-min esp32-parts \
	natmod firmware-stock qemu-firmware-stock qemu-firmware-nocluster qemu-firmware-noreplicas
	$(REPO)/tools/size.sh
# Every part but the cluster ones: what RedisCluster costs on Cortex-M3; and every part
# but cluster_replicas: what its read_from_replicas adds.
qemu-firmware-nocluster:
	$(MAKE) qemu-firmware-arm PICOREDIS_FEATURES="reader pubsub tls trace heal sentinel" \
		QEMU_BUILD_ARM=$(BUILD_DIR)/qemu-arm-nocluster
qemu-firmware-noreplicas:
	$(MAKE) qemu-firmware-arm PICOREDIS_FEATURES="reader pubsub tls trace heal sentinel cluster" \
		QEMU_BUILD_ARM=$(BUILD_DIR)/qemu-arm-noreplicas
# The smallest build freezes asyncio only, as the plain firmwares do: picoredis' Python
# part needs the Reader it leaves out, so `import picoredis` there is the built-in.
qemu-firmware-min:
	$(MAKE) qemu-firmware-arm PICOREDIS_FEATURES= QEMU_BUILD_ARM=$(BUILD_DIR)/qemu-arm-min \
		QEMU_MANIFEST=$(QEMU_ASYNCIO_MANIFEST)
# The smallest build runs the stream client suite and tests/qemu-min (what it leaves out).
QEMU_MIN_TEST_DIR := $(QEMU_TEST_DIR)-min
qemu-test-min: qemu-firmware-min
	@rm -rf $(QEMU_MIN_TEST_DIR) && mkdir -p $(QEMU_MIN_TEST_DIR)
	@for t in tests/qemu/test_stream_client.py tests/qemu-min/test_*.py; do \
		cat tests/qemu/lib/*.py $$t > $(QEMU_MIN_TEST_DIR)/$$(basename $$t); \
		cp $$t.exp $(QEMU_MIN_TEST_DIR)/; done
	$(QEMU_RUN_TESTS) -r $(BUILD_DIR)/qemu-arm-min/test-results \
	  -t execpty:"$(QEMU_CMD_ARM) -serial pty -kernel $(BUILD_DIR)/qemu-arm-min/firmware.elf" \
	  $(QEMU_RUN_TESTS_ARGS) -d $(QEMU_MIN_TEST_DIR)
qemu-firmware-plain:
	$(MAKE) qemu-firmware-arm qemu-firmware-rv32 USER_C_MODULES= \
		QEMU_BUILD_ARM=$(BUILD_DIR)/qemu-arm-plain QEMU_BUILD_RV32=$(BUILD_DIR)/qemu-rv32-plain

# picoredis as a native .mpy module, for stock firmware (no rebuild): build/natmod/
# picoredis-<arch>.mpy, and a mip package per arch (build/natmod/mip/<arch>/): the module as
# picoredis/__init__.mpy beside picoredis/asyncio.mpy and _async_common.mpy. ports/natmod/natmod.mk
# has the how.
NATMOD_ARCHS ?= x64 armv6m armv7m armv7emsp rv32imc
NATMOD_BUILD := $(BUILD_DIR)/natmod
# (Not the cluster part: a board loads a native module's code into its heap, and
# RedisCluster would add about 5.5 KB there for every user; NATMOD_FEATURES="... cluster"
# builds it in.)
NATMOD_FEATURES ?= reader pubsub tls trace heal sentinel
# Where build/natmod/mip/ will be published (mip wants full URLs in package.json), e.g.
# NATMOD_URL_BASE=github:<owner>/<repo>/natmod (README: Stock firmware).
NATMOD_URL_BASE ?=
natmod-x64:
	$(MAKE) natmod NATMOD_ARCHS=x64
natmod: mpy-cross
	@for a in $(NATMOD_ARCHS); do \
	  mkdir -p $(NATMOD_BUILD)/$$a && \
	  printf 'include $(REPO)/ports/natmod/natmod.mk\n' > $(NATMOD_BUILD)/$$a/Makefile && \
	  $(MAKE) -C $(NATMOD_BUILD)/$$a REPO=$(REPO) MPY_DIR=$(MICROPY_DIR) ARCH=$$a \
	    PICOREDIS_FEATURES="$(NATMOD_FEATURES)" MPY_CROSS=$(MPY_CROSS) && \
	  cp $(NATMOD_BUILD)/$$a/picoredis.mpy $(NATMOD_BUILD)/picoredis-$$a.mpy && \
	  $(PYTHON) ports/natmod/package.py --arch $$a --mpy-cross $(MPY_CROSS) \
	    $(if $(NATMOD_URL_BASE),--url-base $(NATMOD_URL_BASE)) \
	    --module $(NATMOD_BUILD)/picoredis-$$a.mpy --out $(NATMOD_BUILD)/mip/$$a || exit 1; \
	done
	@ls -l $(NATMOD_BUILD)/*.mpy

# The native module on stock firmware (built without picoredis): the unix suite on x64
# (but the frozen package's own test), and the bare-metal suite (tests/natmod/run_qemu.py)
# with armv7m and armv6m on MPS2_AN385 (Cortex-M3), armv7emsp on the same board built for
# a Cortex-M4F and run as mps2-an386, rv32imc on VIRT_RV32. The bare-metal firmwares have
# a 192 KB heap (a Pico W's is about that; the port's default is 140 KB): a natmod's code
# lives in the heap (35 KB), and the suite's 20 KB replies need room beside it.
NATMOD_QEMU_HEAP ?= 196608
NATMOD_M4F := -mthumb -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard
NATMOD_QEMU_RUN := $(PYTHON) tests/natmod/run_qemu.py --micropython $(MICROPY_DIR)
qemu-firmware-stock:
	$(MAKE) qemu-firmware-arm qemu-firmware-rv32 USER_C_MODULES= MICROPY_HEAP_SIZE=$(NATMOD_QEMU_HEAP) \
		QEMU_BUILD_ARM=$(BUILD_DIR)/qemu-arm-stock QEMU_BUILD_RV32=$(BUILD_DIR)/qemu-rv32-stock
	$(MAKE) qemu-firmware-arm USER_C_MODULES= MICROPY_HEAP_SIZE=$(NATMOD_QEMU_HEAP) \
		QEMU_BUILD_ARM=$(BUILD_DIR)/qemu-m4f-stock QEMU_HAL_CPU_ARM="$(NATMOD_M4F)" \
		QEMU_LIBS_EXTRA_ARM=-Wl,--wrap=uart_init \
		QEMU_CFLAGS_EXTRA='-I$(REPO)/ports/qemu -DMP_CONFIGFILE="<mpconfigport_asyncio.h>" $(NATMOD_M4F)'
natmod-test: natmod firmware-stock qemu-firmware-stock
	$(PYTHON) tests/natmod/check_package.py $(NATMOD_BUILD)/mip
	$(PYTHON) tests/run_unix_tests.py --micropython $(UNIX_STOCK_BUILD)/micropython \
		--lib $(NATMOD_BUILD)/mip/x64 --exclude frozen_package
	$(PYTHON) tools/thread_soak.py --micropython $(UNIX_STOCK_BUILD)/micropython \
		--lib $(NATMOD_BUILD)/mip/x64 --commands 2000 --min-seconds 4
	$(NATMOD_QEMU_RUN) --package $(NATMOD_BUILD)/mip/armv7m --stage-addr 0x200000 \
		--qemu "$(QEMU_CMD_ARM) -serial pty -kernel $(BUILD_DIR)/qemu-arm-stock/firmware.elf"
	$(NATMOD_QEMU_RUN) --package $(NATMOD_BUILD)/mip/armv6m --stage-addr 0x200000 \
		--qemu "$(QEMU_CMD_ARM) -serial pty -kernel $(BUILD_DIR)/qemu-arm-stock/firmware.elf"
	$(NATMOD_QEMU_RUN) --package $(NATMOD_BUILD)/mip/armv7emsp --stage-addr 0x200000 \
		--qemu "$(subst mps2-an385,mps2-an386,$(QEMU_CMD_ARM)) -serial pty -kernel $(BUILD_DIR)/qemu-m4f-stock/firmware.elf"
	$(NATMOD_QEMU_RUN) --package $(NATMOD_BUILD)/mip/rv32imc --stage-addr 0x80800000 \
		--qemu "$(QEMU_CMD_RV32) -serial pty -kernel $(BUILD_DIR)/qemu-rv32-stock/firmware.elf"

# ESP32 without ESP-IDF (not obtainable here): the Rust core for the ESP32-C3 (riscv32imc)
# and ESP32-C6 (riscv32imac) targets, compiled against the RV32 QEMU board's MicroPython
# configuration (same core headers, 32-bit layout). The glue is compiled for RV32 by
# qemu-firmware-rv32. ports/esp32/README.md has the steps on a machine with ESP-IDF.
esp32-parts: qemu-firmware-rv32
	for t in riscv32imc-unknown-none-elf riscv32imac-unknown-none-elf; do \
		MICROPY_DIR=$(MICROPY_DIR) MICROPY_PORT_DIR=$(MICROPY_DIR)/ports/qemu \
		MICROPY_CFLAGS_FILE=$(BUILD_DIR)/qemu-rv32/rust/cflags.txt \
		MICROPY_SYSINC="$$(riscv64-unknown-elf-gcc --specs=picolibc.specs -xc -E -Wp,-v - </dev/null 2>&1 | sed -n 's,^ ,,p')" \
		cargo build --release --locked -q -p picoredis --target $$t \
			--target-dir $(BUILD_DIR)/esp32-parts/rust || exit 1; done
	@ls -l $(BUILD_DIR)/esp32-parts/rust/*/release/libpicoredis.a

# mpy_module/micropython.cmake (what the esp32 port includes), exercised with a stand-in
# MicroPython target: generate-time flags, cargo after genhdr, the staticlib linked.
esp32-cmake-check: firmware
	rm -rf $(BUILD_DIR)/esp32-cmake-check
	cmake -S ports/esp32/cmake-check -B $(BUILD_DIR)/esp32-cmake-check -DPICOREDIS_MICROPY_DIR=$(MICROPY_DIR) \
		-DPICOREDIS_UNIX_BUILD=$(UNIX_BUILD) -DPICOREDIS_HOST_TARGET=$$(rustc -vV | sed -n 's/^host: //p') >/dev/null
	cmake --build $(BUILD_DIR)/esp32-cmake-check

.PHONY: all deps firmware demo test test-rust test-c test-unix test-py wheel check-header header check-no-panic \
	lint fuzz fuzz-smoke soak soak-cluster soak-threads soak-threads-short test-valgrind qemu-tests-gen size qemu-firmware-plain qemu-firmware-noreplicas \
	natmod natmod-x64 natmod-test qemu-firmware-stock firmware-stock qemu-firmware-min qemu-test-min esp32-parts esp32-cmake-check clean

all: firmware

deps:
	$(REPO)/tools/deps.sh
ifdef FETCH_MICROPY
	$(REPO)/tools/get-micropython.sh $(DEPS_DIR)
endif

$(MICROPY_DIR)/py/mpconfig.h:
	@echo "No MicroPython source at $(MICROPY_DIR): run 'make deps' (or pass MICROPY_DIR=)." >&2
	@exit 1

demo: deps firmware
	$(PYTHON) tools/with_redis.py -- $(FIRMWARE) examples/demo.py

test: deps firmware test-rust test-c lint check-header check-no-panic test-unix test-py soak-threads-short \
	test-valgrind qemu-test qemu-test-min natmod-test \
	esp32-parts esp32-cmake-check fuzz-smoke

# Reliability: the long soak through the fault-injecting proxy (make test runs a short
# one), then the concurrency soak (8 threads, 4 of them sharing one client, CLIENT KILL
# every 200-400 ms; make test runs a short one, soak-threads-short), the cluster soak
# (RedisCluster while a slot moves back and forth: tools/cluster_soak.py), and the
# firmware tests under valgrind's memcheck (tools/valgrind/README.md).
SOAK_COMMANDS ?= 100000
THREAD_SOAK_COMMANDS ?= 20000
THREAD_SOAK_SECONDS ?= 15
THREAD_SOAK := $(PYTHON) tools/thread_soak.py --micropython $(FIRMWARE)
# The same soak with truly parallel threads: the native module on the stock firmware (the
# port's own variant, no GIL), where the picoredis firmware's threads take turns (a GIL).
THREAD_SOAK_PARALLEL := $(PYTHON) tools/thread_soak.py \
	--micropython $(UNIX_STOCK_BUILD)/micropython --lib $(NATMOD_BUILD)/mip/x64
soak: firmware natmod-x64 firmware-stock
	$(PYTHON) tools/soak.py --commands $(SOAK_COMMANDS) --micropython $(FIRMWARE)
	$(THREAD_SOAK) --commands $(THREAD_SOAK_COMMANDS) --min-seconds $(THREAD_SOAK_SECONDS)
	$(THREAD_SOAK_PARALLEL) --commands $(THREAD_SOAK_COMMANDS) --min-seconds $(THREAD_SOAK_SECONDS)
	$(PYTHON) tools/cluster_soak.py --commands $(SOAK_COMMANDS) --micropython $(FIRMWARE)
soak-cluster: firmware
	$(PYTHON) tools/cluster_soak.py --commands $(SOAK_COMMANDS) --micropython $(FIRMWARE)
soak-threads: firmware natmod-x64 firmware-stock
	$(THREAD_SOAK) --commands $(THREAD_SOAK_COMMANDS) --min-seconds $(THREAD_SOAK_SECONDS)
	$(THREAD_SOAK_PARALLEL) --commands $(THREAD_SOAK_COMMANDS) --min-seconds $(THREAD_SOAK_SECONDS)
soak-threads-short: firmware
	$(THREAD_SOAK) --commands 2000 --min-seconds 4
test-valgrind: firmware
	tools/valgrind/run.sh

test-rust:
	cargo test -p resp --quiet

# The native module's clock counting time.ticks_ms() wraps (mpy_module/natmod_ticks.h), on
# the host, as a board with a 32-bit and with a 64-bit machine word counts them.
HOSTCC ?= cc
test-c:
	@mkdir -p $(BUILD_DIR)/test-c
	for w in 32 64; do \
	  $(HOSTCC) -std=c99 -Wall -Wextra -Werror -DMP_UINT=uint$${w}_t -Impy_module \
	    tests/c/test_natmod_ticks.c -o $(BUILD_DIR)/test-c/natmod_ticks$$w && \
	  $(BUILD_DIR)/test-c/natmod_ticks$$w || exit 1; done

test-unix:
	$(PYTHON) tests/run_unix_tests.py --micropython $(FIRMWARE)

# picoredis on CPython and PyPy (rust/picoredis-py, docs/hosts.md): one wheel per
# interpreter (venvs from `make deps`: tools/python_venvs.sh), installed into its venv,
# then tests/python with pytest on each (the shared tests/unix files and the host's own).
PY_VENV := $(BUILD_DIR)/venv-cpython
PYPY_VENV := $(BUILD_DIR)/venv-pypy
WHEEL_DIR := $(BUILD_DIR)/wheels
wheel:
	rm -rf $(WHEEL_DIR)
	$(PY_VENV)/bin/maturin build --release --locked -q -i $(PY_VENV)/bin/python \
		-i $(PYPY_VENV)/bin/python -o $(WHEEL_DIR)
	$(PYTHON) tools/check_pypy_symbols.py $(WHEEL_DIR)/*pypy*.whl
test-py: wheel
	for v in $(PY_VENV) $(PYPY_VENV); do \
		$$v/bin/pip install -q --no-index --no-deps --force-reinstall --find-links $(WHEEL_DIR) picoredis \
		&& $$v/bin/python -m pytest -q -p no:cacheprovider tests/python || exit 1; done

# Clippy with the no-panic lints on both crates and the CPython/PyPy host crate (its own
# workspace; pyo3 needs the venv's interpreter; CPython and PyPy builds differ by cfg); picoredis needs the unix build's bindings
# environment (the same variables micropython.mk passes), with every optional part and
# with none, as boards build it and for speed (PICOREDIS_SPEED=1: the unix port's fast
# paths, cfg(speed)).
lint: firmware natmod-x64
	cargo clippy -p resp --quiet -- -D warnings
	for py in $(PY_VENV) $(PYPY_VENV); do \
	PYO3_PYTHON=$$py/bin/python cargo clippy --manifest-path rust/picoredis-py/Cargo.toml \
		--locked --target-dir $(BUILD_DIR)/clippy-$${py##*/} --quiet -- -D warnings -A clippy::unnecessary_cast \
		|| exit 1; done  # (unnecessary_cast: the core's mp_int_t casts, isize on this host)
	for speed in '' 1; do for features in --features=reader,pubsub,tls,trace '--no-default-features --features=cluster' --no-default-features; do \
	PICOREDIS_SPEED=$$speed \
	MICROPY_DIR=$(MICROPY_DIR) MICROPY_PORT_DIR=$(MICROPY_DIR)/ports/unix \
	MICROPY_CFLAGS_FILE=$(UNIX_BUILD)/rust/cflags.txt \
	MICROPY_QSTR_HEADER=$(UNIX_BUILD)/genhdr/qstrdefs.generated.h \
	cargo clippy -p picoredis $$features --target-dir $(UNIX_BUILD)/rust --quiet -- -D warnings \
		|| exit 1; done; done
	for speed in '' 1; do \
	PICOREDIS_SPEED=$$speed \
	MICROPY_DIR=$(MICROPY_DIR) MICROPY_PORT_DIR=$(NATMOD_BUILD)/x64 \
	MICROPY_CFLAGS_FILE=$(NATMOD_BUILD)/x64/cflags.txt \
	MICROPY_NATMOD_QSTRS=$(NATMOD_BUILD)/x64/obj/picoredis.config.h \
	cargo clippy -p picoredis --all-features --target-dir $(NATMOD_BUILD)/rust --quiet -- -D warnings \
		-A clippy::unnecessary_cast \
		|| exit 1; done  # (unnecessary_cast: the firmware's long is the natmod's intptr_t; speed: x64's natmod, the boards')

# Fuzz the parser and the encoder round trip (cargo-fuzz, libFuzzer). `make fuzz
# FUZZ_SECONDS=600` for a real run; `make test` runs a short smoke run of each target.
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
# cargo-fuzz needs nightly features: the nightly toolchain if installed, else stable
# with RUSTC_BOOTSTRAP.
FUZZ_CARGO := $(shell rustup run nightly cargo --version >/dev/null 2>&1 && echo "cargo +nightly" || echo "RUSTC_BOOTSTRAP=1 cargo")
fuzz:
	cd rust/resp && for t in parse roundtrip; do \
		$(FUZZ_CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done
fuzz-smoke:
	@command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
	@mkdir -p build
	cd rust/resp && for t in parse roundtrip; do \
		$(FUZZ_CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SMOKE_SECONDS) >$(REPO)/build/fuzz-$$t.log 2>&1 \
			|| { tail -40 $(REPO)/build/fuzz-$$t.log; exit 1; }; \
		echo "fuzz $$t: $$(tail -1 $(REPO)/build/fuzz-$$t.log)"; done

# The C header of the Rust exports is generated by cbindgen and checked in, because the
# glue is compiled (and QSTR-scanned) before cargo runs. `make header` regenerates it;
# the test fails if it is stale.
header:
	cbindgen -q --config rust/picoredis/cbindgen.toml --crate picoredis \
		--output mpy_module/picoredis_rs.h rust/picoredis
check-header:
	@command -v cbindgen >/dev/null || cargo install --locked cbindgen
	cbindgen -q --config rust/picoredis/cbindgen.toml --crate picoredis \
		--output build/picoredis_rs.h rust/picoredis
	diff -u mpy_module/picoredis_rs.h build/picoredis_rs.h

# The staticlib's panic handler calls a function defined nowhere, so a firmware that
# links has no reachable panic path; this also checks the symbol is truly absent.
check-no-panic: firmware
	$(REPO)/tools/check-no-panic.sh $(FIRMWARE)

clean:
	rm -rf $(UNIX_BUILD) $(MPY_CROSS_BUILD) target
