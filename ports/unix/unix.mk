# The unix firmware with picoredis: build/unix/micropython (a path later checks rely on).
#
# Included by the top-level Makefile; needs MICROPY_DIR, UNIX_BUILD, REPO.
#
# Flags, and why:
# - FROZEN_MANIFEST=ports/unix/manifest.py : MicroPython's asyncio and the picoredis
#   package (mpy_module/manifest.py), instead of the port's default manifest, which
#   freezes micropython-lib, absent from Debian's +ds source (its lib/ submodules are
#   empty); freezing needs mpy-cross, built once into build/mpy-cross (MPY_CROSS, below);
# - MICROPY_PY_BTREE=0 MICROPY_PY_FFI=0 : their libraries are submodules too;
# - MICROPY_SSL_MBEDTLS=1 MICROPY_PY_SSL=1 : the `tls` module against the system mbedTLS
#   (Debian's patch to extmod.mk links -lmbedtls), for Redis(ssl_context=...);
# - STRIP= : keep symbols, so `make check-no-panic` can inspect the image;
# - PICOREDIS_SPEED=1 : speed over flash (boards keep opt-level "z" and the smaller code; a
#   desktop has the room, and `make bench` measures this build): mpy_module/micropython.mk;
# - COPT='-O2 ...' : MicroPython itself at -O2 instead of the port's -Os, as distributions
#   build the unix port (Debian's micropython package appends its -O2 CFLAGS); the GC's
#   allocator and the VM run the reply objects and the Python side of every command
#   (client alone, an A/B in one make bench run: LRANGE of 1000 +4 %, pipelined GETs
#   +10-26 %; the rows against redis-server moved within the machine's noise). The port's
#   other COPT words (-DNDEBUG, the per-function sections its linker drops unused code
#   by) are kept;
# - VARIANT_DIR=ports/unix/picoredis MICROPY_PY_THREAD=0 LDFLAGS_EXTRA=-lpthread : the
#   port's standard variant with a GIL and without the asynchronous Ctrl-C
#   (ports/unix/picoredis/mpconfigvariant.h says why; it turns the threads on itself, as the
#   port's make variable would force them GIL-less). A/B in one make bench run, client
#   alone: LRANGE of 1000 +29 % (best rounds; +35 % paired medians), pipelined GETs +10 %.
# mpy-cross, the compiler that turns frozen .py into bytecode, built from MICROPY_DIR
# outside its tree. Handed to every port build as MICROPY_MPYCROSS, so the port does not
# build its own copy (in the MicroPython tree, and twice at once under make -j).
MPY_CROSS_BUILD := $(REPO)/build/mpy-cross
MPY_CROSS := $(MPY_CROSS_BUILD)/mpy-cross

PORT_FLAGS := MICROPY_MPYCROSS=$(MPY_CROSS) \
	MICROPY_PY_BTREE=0 MICROPY_PY_FFI=0 \
	MICROPY_SSL_MBEDTLS=1 MICROPY_PY_SSL=1 STRIP= PICOREDIS_SPEED=1 \
	'COPT=-O2 -DNDEBUG -fdata-sections -ffunction-sections'
UNIX_FLAGS := FROZEN_MANIFEST=$(REPO)/ports/unix/manifest.py $(PORT_FLAGS) \
	VARIANT_DIR=$(REPO)/ports/unix/picoredis MICROPY_PY_THREAD=0 LDFLAGS_EXTRA=-lpthread

.PHONY: firmware mpy-cross
mpy-cross: $(MICROPY_DIR)/py/mpconfig.h
	$(MAKE) -C $(MICROPY_DIR)/mpy-cross BUILD=$(MPY_CROSS_BUILD) USER_C_MODULES=
	@test -x $(MPY_CROSS)

firmware: $(MICROPY_DIR)/py/mpconfig.h mpy-cross
	@$(REPO)/tools/fresh-build.sh $(UNIX_BUILD) $(UNIX_FLAGS) '$(subst ','\'',$(CFLAGS_EXTRA))'
	$(MAKE) -C $(MICROPY_DIR)/ports/unix $(UNIX_FLAGS) \
		BUILD=$(UNIX_BUILD) USER_C_MODULES=$(REPO)
	@test -x $(FIRMWARE)

# The stock unix firmware: the same flags without picoredis (no USER_C_MODULES) and with the
# port's own standard variant (no GIL, Ctrl-C raised from the signal handler: what a
# distribution's unix MicroPython is), freezing MicroPython's asyncio alone; the native .mpy
# module (make natmod) is tested on it, so the glue's thread code also runs without a GIL.
UNIX_STOCK_BUILD := $(REPO)/build/unix-stock
UNIX_STOCK_FLAGS := FROZEN_MANIFEST=$(MICROPY_DIR)/extmod/asyncio/manifest.py $(PORT_FLAGS)
.PHONY: firmware-stock
firmware-stock: $(MICROPY_DIR)/py/mpconfig.h mpy-cross
	@$(REPO)/tools/fresh-build.sh $(UNIX_STOCK_BUILD) $(UNIX_STOCK_FLAGS)
	$(MAKE) -C $(MICROPY_DIR)/ports/unix $(UNIX_STOCK_FLAGS) BUILD=$(UNIX_STOCK_BUILD) USER_C_MODULES=
	@test -x $(UNIX_STOCK_BUILD)/micropython
