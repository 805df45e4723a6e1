# picoredis as a native .mpy module (a "natmod"): MicroPython's py/dynruntime.mk builds
# the glue (mpy_module/modpicoredis.c + natmod_runtime.c) and tools/mpy_ld.py links it
# with the Rust core, built by cargo from the same crates as the firmware module, with the
# `natmod` feature and a position-independent relocation model.
#
# Run by `make natmod` (top-level Makefile) in build/natmod/<arch>/, through the Makefile
# it writes there (dynruntime.mk's rules name a file called Makefile). Needs REPO, MPY_DIR,
# ARCH and PICOREDIS_FEATURES.

MOD = picoredis
BUILD = obj
SRC = $(REPO)/mpy_module/modpicoredis.c $(REPO)/mpy_module/natmod_runtime.c

# MicroPython's own errno numbers (what its socket and tls modules raise on bare metal,
# and Linux's on the unix port), not the C library's.
CFLAGS_EXTRA += -I$(REPO)/mpy_module -DMICROPY_USE_INTERNAL_ERRNO=1
CFLAGS_EXTRA += $(foreach f,$(PICOREDIS_FEATURES),-DPICOREDIS_$(shell echo $(f) | tr a-z A-Z))

# Floats in and out (float arguments, RESP3 doubles) on every arch: the firmware does
# the arithmetic, through mp_fun_table; dynruntime.mk's default for these is none.
ifneq ($(filter armv6m armv7m rv32imc,$(ARCH)),)
MICROPY_FLOAT_IMPL = float
endif

RUST_TARGET_x64 = x86_64-unknown-linux-gnu
RUST_TARGET_armv6m = thumbv6m-none-eabi
RUST_TARGET_armv7m = thumbv7m-none-eabi
RUST_TARGET_armv7emsp = thumbv7em-none-eabihf
RUST_TARGET_rv32imc = riscv32imc-unknown-none-elf
RUST_TARGET = $(RUST_TARGET_$(ARCH))
# Position-independent code (the Rust core has no writable statics, so no GOT for data).
# mp.rs keeps LLVM from reaching C functions through the GOT on ARM (R_ARM_GOT_PREL,
# which mpy_ld does not link): see natmod_qstr there.
RUST_RELOC = pic

# x64 (the unix port's stock firmware, on a desktop or server): the build for speed over
# size, as the unix firmware's own module (mpy_module/micropython.mk, PICOREDIS_SPEED): the
# Rust core at opt-level 3 with its fast paths (cfg(speed)), the glue with the matching
# ones. Boards keep the smaller code.
ifeq ($(ARCH),x64)
CFLAGS_EXTRA += -DPICOREDIS_SPEED=1
NATMOD_SPEED_ENV = PICOREDIS_SPEED=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=3
endif

# One cargo target dir for every arch: the host-side build dependencies (bindgen) are
# built once.
RUST_DIR = $(abspath ..)/rust
RUST_LIB = $(RUST_DIR)/$(RUST_TARGET)/release/libpicoredis.a
# What is linked: the staticlib's own object only, as in the firmware
# (mpy_module/micropython.mk). Its other members are compiler_builtins, bigger copies of
# what libgcc and the firmware (mem*, through mp_fun_table: natmod_runtime.c) provide;
# and mpy_ld would take them from the archive even where this module defines a symbol
# itself, then fail on the duplicate. (Not LINK_RUNTIME: its C library has the same
# problem, and nothing here needs it.)
RUST_CORE = $(abspath obj)/libpicoredis-core.a

include $(MPY_DIR)/py/dynruntime.mk

ifeq ($(RUST_TARGET),)
$(error picoredis natmod: no Rust target for ARCH=$(ARCH))
endif

MPY_LD_FLAGS += -l $(RUST_CORE) -l $(realpath $(shell $(CROSS)gcc $(CFLAGS) --print-libgcc-file-name))

# bindgen sees what the C compiler sees: these flags, the config header mpy_ld wrote
# (whose qstr list also gives the Rust core its qstr constants) and the C library's
# headers of the arch's compiler.
NATMOD_SYSINC = $(shell $(CROSS)gcc $(CFLAGS_ARCH) -xc -E -Wp,-v - </dev/null 2>&1 | sed -n 's,^ ,,p')

$(RUST_LIB): $(CONFIG_H) natmod-cargo-always
	$(ECHO) "CARGO picoredis ($(RUST_TARGET))"
	$(file >cflags.txt,$(CFLAGS))
	$(Q)cd $(REPO) && \
	  MICROPY_DIR=$(MPY_DIR) \
	  MICROPY_PORT_DIR=$(CURDIR) \
	  MICROPY_CFLAGS_FILE=$(CURDIR)/cflags.txt \
	  MICROPY_SYSINC="$(NATMOD_SYSINC)" \
	  MICROPY_NATMOD_QSTRS=$(CURDIR)/$(CONFIG_H) \
	  RUSTFLAGS="-C relocation-model=$(RUST_RELOC)" \
	  $(NATMOD_SPEED_ENV) \
	  cargo build --release --locked -q -p picoredis \
	    --no-default-features --features "natmod $(PICOREDIS_FEATURES)" \
	    --target $(RUST_TARGET) --target-dir $(RUST_DIR)

$(RUST_CORE): $(RUST_LIB)
	$(Q)rm -rf obj/core-objs $@ && mkdir -p obj/core-objs
	$(Q)cd obj/core-objs && $(CROSS)ar x $(RUST_LIB) $$($(CROSS)ar t $(RUST_LIB) | grep '^picoredis-') \
	  && $(CROSS)ar rcs $@ picoredis-*.o

# (Through the objects: dynruntime.mk links every prerequisite of the .mpy as an object.)
$(SRC_O): $(RUST_CORE)

.PHONY: natmod-cargo-always
natmod-cargo-always:
