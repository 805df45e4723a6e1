# picoredis as a MicroPython user C module (make-based ports: unix, qemu, ...).
#
#   make -C ports/unix USER_C_MODULES=<picoredis repo>
#
# Builds the Rust core (rust/picoredis) with cargo for the port's target after the QSTR
# pass, because micropython-sys' bindgen step reads genhdr/qstrdefs.generated.h and the
# port's exact C flags; then links the staticlib into the firmware.

PICOREDIS_MOD_DIR := $(USERMOD_DIR)
PICOREDIS_REPO := $(abspath $(PICOREDIS_MOD_DIR)/..)

SRC_USERMOD_C += $(PICOREDIS_MOD_DIR)/modpicoredis.c
CFLAGS_USERMOD += -I$(PICOREDIS_MOD_DIR)

# Optional parts: cargo features of rust/picoredis and the matching C defines, from one
# list (PICOREDIS_FEATURES= builds the smallest client: Redis, pipelines, transactions, no
# Reader, pub/sub, TLS, debug trace, connect backoff and health check, Sentinel, or
# RedisCluster).
PICOREDIS_FEATURES ?= reader pubsub tls trace heal sentinel cluster cluster_replicas
CFLAGS_USERMOD += $(foreach f,$(PICOREDIS_FEATURES),-DPICOREDIS_$(shell echo $(f) | tr a-z A-Z))

# The Rust target: the host for the unix port; ports set PICOREDIS_RUST_TARGET
# (thumbv7m-none-eabi, riscv32imac-unknown-none-elf, ...).
PICOREDIS_RUST_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
PICOREDIS_CARGO ?= cargo
# PICOREDIS_SPEED=1: a build for speed over flash (the unix port): the Rust core at
# opt-level 3 instead of the workspace's "z", with its fast paths (cfg(speed)), and the glue
# with the matching ones (PICOREDIS_SPEED: the pipeline's flat queue, which the core must
# read the same way). Boards leave it unset: the smaller code.
PICOREDIS_SPEED ?=
ifeq ($(PICOREDIS_SPEED),1)
CFLAGS_USERMOD += -DPICOREDIS_SPEED=1
endif
PICOREDIS_CARGO_DIR := $(abspath $(BUILD))/rust
PICOREDIS_LIB := $(PICOREDIS_CARGO_DIR)/$(PICOREDIS_RUST_TARGET)/release/libpicoredis.a
# What is linked: the staticlib's own object only. Its other members are Rust's
# compiler_builtins, weak copies of what the port's libgcc/libc already provide; linked
# ahead of libgcc they would displace the port's own memcpy, soft-float and 64-bit
# division routines with bigger ones (about 3 KB on Cortex-M3 and RV32).
PICOREDIS_CORE := $(PICOREDIS_CARGO_DIR)/libpicoredis-core.a
# Some ports (qemu) put LDFLAGS before the objects on the link line; naming one symbol
# as undefined makes the linker take the object wherever the archive appears.
LDFLAGS_USERMOD += -Wl,--undefined=picoredis_client_new $(PICOREDIS_CORE)

# The port compiler's own system include dirs (glibc, newlib or picolibc), for bindgen;
# --specs (picolibc.specs on RV32) changes them.
PICOREDIS_SYSINC = $(shell $(CC) $(filter --specs=%,$(CFLAGS)) -xc -E -Wp,-v - </dev/null 2>&1 | sed -n 's,^ ,,p')

# The C flags reach bindgen through a file ($(file) writes it when the recipe expands).
$(shell mkdir -p $(PICOREDIS_CARGO_DIR))

# bindgen reads every generated header py/ includes: order after all of them, the same
# set mkrules.mk gives the C objects (OBJ_EXTRA_ORDER_DEPS is not yet defined here).
PICOREDIS_GENHDR := $(HEADER_BUILD)/qstrdefs.generated.h $(HEADER_BUILD)/mpversion.h \
	$(HEADER_BUILD)/moduledefs.h $(HEADER_BUILD)/root_pointers.h \
	$(if $(filter 1,$(MICROPY_ROM_TEXT_COMPRESSION)),$(HEADER_BUILD)/compressed.data.h)

$(PICOREDIS_LIB): picoredis-cargo-always | $(PICOREDIS_GENHDR)
	$(ECHO) "CARGO picoredis ($(PICOREDIS_RUST_TARGET))"
	$(file >$(PICOREDIS_CARGO_DIR)/cflags.txt,$(CFLAGS))
	$(Q)cd $(PICOREDIS_REPO) && \
	  MICROPY_DIR=$(abspath $(TOP)) \
	  MICROPY_PORT_DIR=$(CURDIR) \
	  MICROPY_CFLAGS_FILE=$(PICOREDIS_CARGO_DIR)/cflags.txt \
	  MICROPY_SYSINC="$(PICOREDIS_SYSINC)" \
	  MICROPY_QSTR_HEADER=$(abspath $(HEADER_BUILD)/qstrdefs.generated.h) \
	  $(if $(filter 1,$(PICOREDIS_SPEED)),PICOREDIS_SPEED=1 CARGO_PROFILE_RELEASE_OPT_LEVEL=3) \
	  $(PICOREDIS_CARGO) build --release --locked -p picoredis \
	    --no-default-features --features "$(PICOREDIS_FEATURES)" \
	    --target $(PICOREDIS_RUST_TARGET) --target-dir $(PICOREDIS_CARGO_DIR) $(if $(Q),-q,)

# (The recipe is on this target, not on the staticlib's: make does not re-read the mtime
# of a target without a recipe, and the glue object would miss the new archive.)
$(PICOREDIS_CORE): $(PICOREDIS_LIB)
	$(Q)rm -rf $(PICOREDIS_CARGO_DIR)/core-objs $(PICOREDIS_CORE) && mkdir -p $(PICOREDIS_CARGO_DIR)/core-objs
	$(Q)cd $(PICOREDIS_CARGO_DIR)/core-objs && $(AR) x $(PICOREDIS_LIB) $$($(AR) t $(PICOREDIS_LIB) | grep '^picoredis-') \
	  && $(AR) rcs $(PICOREDIS_CORE) picoredis-*.o

# The glue object is linked into the firmware, so depending on the staticlib here makes
# every port's link step wait for cargo.
$(BUILD)/$(patsubst $(USER_C_MODULES)/%,%,$(PICOREDIS_MOD_DIR))/modpicoredis.o: $(PICOREDIS_CORE)

# cargo decides what is stale; make always asks it.
.PHONY: picoredis-cargo-always
picoredis-cargo-always:
