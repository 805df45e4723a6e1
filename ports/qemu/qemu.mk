# Bare-metal MicroPython firmware under QEMU, with the picoredis user C module.
#
# Include from the top-level Makefile:   include ports/qemu/qemu.mk
# Targets:
#   qemu-firmware-arm    MicroPython ports/qemu BOARD=MPS2_AN385 (Cortex-M3, newlib/nostdlib)
#   qemu-firmware-rv32   MicroPython ports/qemu BOARD=VIRT_RV32  (rv32imac, picolibc)
#   qemu-firmware        both
#   qemu-test            run $(QEMU_TEST_DIR)/*.py on both boards with run-tests.py
#   qemu-test-arm / qemu-test-rv32   one board only
#   qemu-repl-arm / qemu-repl-rv32   interactive REPL (exit: Ctrl-A X)
#   qemu-clean
# Variables (all overridable):
#   MICROPY_DIR     MicroPython source tree (1.25; e.g. Debian's `apt-get source micropython`)
#   BUILD_DIR       where the firmware builds go ($(BUILD_DIR)/qemu-arm, $(BUILD_DIR)/qemu-rv32)
#   USER_C_MODULES  the user C module dir (mpy_module) or its parent; empty = plain firmware
#   QEMU_TEST_DIR   directory of bare-metal tests (*.py with *.py.exp expected output)
#   QEMU_MANIFEST   what a firmware with the module freezes (default: ports/qemu/manifest.py,
#                   MicroPython's asyncio and the picoredis package); a plain firmware
#                   freezes asyncio alone (QEMU_ASYNCIO_MANIFEST)
#   MPY_CROSS       an mpy-cross to freeze with (the top-level Makefile's `mpy-cross`
#                   target builds one); unset, the port builds its own in MICROPY_DIR
# Host packages: tools/qemu/deps.sh.  Details and pitfalls: ports/qemu/README.md.

# Keep the includer's default goal (this file's first rule must not become `make`'s default).
QEMU_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

QEMU_MK_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
TOP_OF_REPO ?= $(abspath $(QEMU_MK_DIR)/../..)

MICROPY_DIR ?= /tmp/mpsrc/mp
BUILD_DIR ?= $(TOP_OF_REPO)/build
USER_C_MODULES ?= $(TOP_OF_REPO)/mpy_module
QEMU_TEST_DIR ?= $(TOP_OF_REPO)/tests/qemu
PYTHON ?= python3

# MicroPython's py/py.mk includes $(USER_C_MODULES)/*/micropython.mk, i.e. it wants the
# PARENT of the module dir.  Accept either form: if USER_C_MODULES itself holds a
# micropython.mk, hand its parent to MicroPython.
QEMU_USERMODS = $(if $(strip $(USER_C_MODULES)),$(if $(wildcard $(USER_C_MODULES)/micropython.mk),$(abspath $(USER_C_MODULES)/..),$(abspath $(USER_C_MODULES))))

QEMU_BUILD_ARM ?= $(abspath $(BUILD_DIR))/qemu-arm
QEMU_BUILD_RV32 ?= $(abspath $(BUILD_DIR))/qemu-rv32
QEMU_RUST_TARGET_ARM ?= thumbv7m-none-eabi
QEMU_RUST_TARGET_RV32 ?= riscv32imac-unknown-none-elf

# The Rust staticlib(s) to link after all objects.  Default: where mpy_module/micropython.mk
# has cargo put libpicoredis.a ($(BUILD)/rust/<target>/release).  Expanded inside the
# MicroPython make at link time (hence $$(wildcard)), so a missing lib (plain firmware, or
# a module without Rust) just drops out.
QEMU_RUST_LIB_ARM ?= $(QEMU_BUILD_ARM)/rust/libpicoredis-core.a
QEMU_RUST_LIB_RV32 ?= $(QEMU_BUILD_RV32)/rust/libpicoredis-core.a

# Why LIBS: the port links with   $(CC) $(LDFLAGS) -o $@ $(OBJ) $(LIBS)
#  - LDFLAGS_USERMOD ends up in LDFLAGS, i.e. BEFORE the objects: a plain .a there is
#    scanned before anything references it -> "undefined reference" to the Rust symbols
#    (unless wrapped in -Wl,--whole-archive ... -Wl,--no-whole-archive).
#  - LIBS comes after the objects, but for ARM the port assigns LIBS = <libgcc> AFTER the
#    user modules are included, so `LIBS +=` in a micropython.mk is lost.  A command-line
#    LIBS wins over that, so for ARM it must re-add libgcc (same expression as the port).
#  - ARM: Rust objects carry .ARM.exidx* sections that mps2.ld does not place (overlap
#    with .data's LMA) -> discard-exidx.ld.
#  - RV32: the prebuilt Rust core/compiler_builtins objects carry DWARF5 debug sections
#    with R_RISCV_SET_ULEB128/SUB_ULEB128 relocations (type 60/61) that Debian
#    bookworm's binutils 2.40 cannot handle: ld SEGFAULTs.  -Wl,--strip-debug drops them.
#  - qemu_hal.o: mp_hal_ticks_ms, which ports/qemu lacks (MICROPY_PY_TIME=0) and the Rust
#    core references; weak, and dropped by --gc-sections when unused.
QEMU_HAL_OBJ_ARM = $(QEMU_BUILD_ARM)/qemu_hal.o
QEMU_HAL_OBJ_RV32 = $(QEMU_BUILD_RV32)/qemu_hal.o
# The CPU flags of qemu_hal.o, and link flags, for a board built for another Cortex-M (the
# natmod tests' Cortex-M4F firmware: top-level Makefile, qemu-firmware-stock).
QEMU_HAL_CPU_ARM ?= -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
QEMU_LIBS_EXTRA_ARM ?=
QEMU_LIBS_ARM = $(QEMU_LIBS_EXTRA_ARM) $(QEMU_HAL_OBJ_ARM) $$(wildcard $(QEMU_RUST_LIB_ARM)) -Wl,-T,$(QEMU_MK_DIR)/discard-exidx.ld $$(shell $$(CC) $$(CFLAGS) -print-libgcc-file-name)
QEMU_LIBS_RV32 = $(QEMU_HAL_OBJ_RV32) $$(wildcard $(QEMU_RUST_LIB_RV32)) -Wl,--strip-debug $(QEMU_RV32_MULTILIB)

# FROZEN_MANIFEST: the port's default manifest freezes micropython-lib's unittest (and
# MicroPython's test modules), absent from the +ds source. We freeze MicroPython's asyncio
# on every board (extmod/asyncio/manifest.py, which exists in +ds) and, with the module,
# the picoredis package (mpy_module/manifest.py): ports/qemu/manifest.py.
# asyncio needs `time`, `select` and `_asyncio`, which ports/qemu's mpconfigport.h turns
# off: every QEMU firmware, plain ones included, is built with mpconfigport_asyncio.h
# (that file plus those three; MP_CONFIGFILE is MicroPython's hook for it) and
# qemu_hal.c's clocks. A plain firmware thus differs from one with picoredis only by the
# module and its frozen package, which is what `make size` counts.
QEMU_MANIFEST ?= $(QEMU_MK_DIR)/manifest.py
QEMU_ASYNCIO_MANIFEST = $(MICROPY_DIR)/extmod/asyncio/manifest.py
QEMU_FROZEN_MANIFEST = $(if $(QEMU_USERMODS),$(QEMU_MANIFEST),$(QEMU_ASYNCIO_MANIFEST))
QEMU_CFLAGS_EXTRA ?= -I$(QEMU_MK_DIR) -DMP_CONFIGFILE="<mpconfigport_asyncio.h>"
# RV32 multilib: GCC 12 (bookworm) matches no multilib for the port's default
# -march=rv32imac_zicsr and links the default rv64 libgcc/picolibc ("ELFCLASS64
# incompatible with ELFCLASS32").  The port passes -march=$(RV32_ARCH) to the linker too,
# so either  RV32_ARCH="rv32imac -misa-spec=2.2"  (zicsr is part of "i" in ISA spec 2.2;
# but the space then lands in -DMICROPY_HW_MCU_NAME='"rv32imac -misa-spec=2.2"', which
# breaks naive whitespace splitting of CFLAGS, e.g. a bindgen step), or -- what we do --
# keep the default RV32_ARCH for compiling and append a final -march=rv32imac to the link
# line (the last -march picks the multilib): QEMU_RV32_MULTILIB, via LIBS.
QEMU_RV32_MULTILIB ?= -march=rv32imac -mabi=ilp32
QEMU_MAKE_ARGS_COMMON = FROZEN_MANIFEST=$(QEMU_FROZEN_MANIFEST) CFLAGS_EXTRA='$(QEMU_CFLAGS_EXTRA)' \
	$(if $(MPY_CROSS),MICROPY_MPYCROSS=$(MPY_CROSS)) $(if $(QEMU_USERMODS),USER_C_MODULES=$(QEMU_USERMODS))
# MicroPython's make does not notice changed flags: a build dir made with others is
# emptied first (tools/fresh-build.sh; cargo's rust/ and qemu_hal.o are kept).
QEMU_FRESH = $(TOP_OF_REPO)/tools/fresh-build.sh $(1) --keep qemu_hal.o \
	manifest=$(QEMU_FROZEN_MANIFEST) '$(QEMU_CFLAGS_EXTRA)'
QEMU_MAKE_ARGS_ARM = BOARD=MPS2_AN385 BUILD=$(QEMU_BUILD_ARM) CROSS_COMPILE=arm-none-eabi- \
	PICOREDIS_RUST_TARGET=$(QEMU_RUST_TARGET_ARM) LIBS='$(QEMU_LIBS_ARM)' $(QEMU_MAKE_ARGS_COMMON)
QEMU_MAKE_ARGS_RV32 = BOARD=VIRT_RV32 BUILD=$(QEMU_BUILD_RV32) CROSS_COMPILE=riscv64-unknown-elf- \
	PICOREDIS_RUST_TARGET=$(QEMU_RUST_TARGET_RV32) LIBS='$(QEMU_LIBS_RV32)' $(QEMU_MAKE_ARGS_COMMON)

# QEMU command lines: as MicroPython's ports/qemu `make test` builds them.
QEMU_CMD_ARM ?= qemu-system-arm -machine mps2-an385 -nographic -monitor null -semihosting
QEMU_CMD_RV32 ?= qemu-system-riscv32 -bios none -machine virt -nographic -monitor null -semihosting

QEMU_RUN_TESTS = $(PYTHON) $(MICROPY_DIR)/tests/run-tests.py
QEMU_RUN_TESTS_ARGS ?=

.PHONY: qemu-firmware qemu-firmware-arm qemu-firmware-rv32 qemu-test qemu-test-arm \
	qemu-test-rv32 qemu-repl-arm qemu-repl-rv32 qemu-clean qemu-check-micropy

qemu-check-micropy:
	@test -f $(MICROPY_DIR)/ports/qemu/Makefile || { \
	  echo "qemu.mk: MICROPY_DIR=$(MICROPY_DIR) is not a MicroPython source tree"; exit 1; }

qemu-firmware: qemu-firmware-arm qemu-firmware-rv32

$(QEMU_HAL_OBJ_ARM): $(QEMU_MK_DIR)/qemu_hal.c
	@mkdir -p $(@D)
	arm-none-eabi-gcc $(QEMU_HAL_CPU_ARM) -Os -ffreestanding \
	  -ffunction-sections -fdata-sections -Wall -Werror -c -o $@ $<

$(QEMU_HAL_OBJ_RV32): $(QEMU_MK_DIR)/qemu_hal.c
	@mkdir -p $(@D)
	riscv64-unknown-elf-gcc -march=rv32imac_zicsr -mabi=ilp32 -Os -ffreestanding \
	  -ffunction-sections -fdata-sections -Wall -Werror -c -o $@ $<

qemu-firmware-arm: qemu-check-micropy $(QEMU_HAL_OBJ_ARM) $(if $(MPY_CROSS),mpy-cross)
	@$(call QEMU_FRESH,$(QEMU_BUILD_ARM))
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu $(QEMU_MAKE_ARGS_ARM)

qemu-firmware-rv32: qemu-check-micropy $(QEMU_HAL_OBJ_RV32) $(if $(MPY_CROSS),mpy-cross)
	@$(call QEMU_FRESH,$(QEMU_BUILD_RV32))
	$(MAKE) -C $(MICROPY_DIR)/ports/qemu $(QEMU_MAKE_ARGS_RV32)

qemu-test: qemu-test-arm qemu-test-rv32

# run-tests.py writes results (and, for failures, <name>.exp/.out) to -r; by default it
# would use $(MICROPY_DIR)/tests/results.  Tests without a .py.exp file are compared to
# CPython's output, so module tests must ship <test>.py.exp.
qemu-test-arm: qemu-firmware-arm
	$(QEMU_RUN_TESTS) -r $(QEMU_BUILD_ARM)/test-results \
	  -t execpty:"$(QEMU_CMD_ARM) -serial pty -kernel $(QEMU_BUILD_ARM)/firmware.elf" \
	  $(QEMU_RUN_TESTS_ARGS) -d $(abspath $(QEMU_TEST_DIR))

qemu-test-rv32: qemu-firmware-rv32
	$(QEMU_RUN_TESTS) -r $(QEMU_BUILD_RV32)/test-results \
	  -t execpty:"$(QEMU_CMD_RV32) -serial pty -kernel $(QEMU_BUILD_RV32)/firmware.elf" \
	  $(QEMU_RUN_TESTS_ARGS) -d $(abspath $(QEMU_TEST_DIR))

qemu-repl-arm: qemu-firmware-arm
	$(QEMU_CMD_ARM) -serial mon:stdio -kernel $(QEMU_BUILD_ARM)/firmware.elf

qemu-repl-rv32: qemu-firmware-rv32
	$(QEMU_CMD_RV32) -serial mon:stdio -kernel $(QEMU_BUILD_RV32)/firmware.elf

qemu-clean:
	rm -rf $(QEMU_BUILD_ARM) $(QEMU_BUILD_RV32)

.DEFAULT_GOAL := $(QEMU_SAVED_DEFAULT_GOAL)
