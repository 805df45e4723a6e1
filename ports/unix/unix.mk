# The unix firmware with picoredis: build/unix/micropython (a path later checks rely on).
#
# Included by the top-level Makefile; needs MICROPY_DIR, UNIX_BUILD, REPO.
#
# Flags, and why:
# - FROZEN_MANIFEST= : the default manifest freezes micropython-lib, absent from Debian's
#   +ds source (its lib/ submodules are empty), and needs mpy-cross;
# - MICROPY_PY_BTREE=0 MICROPY_PY_FFI=0 : their libraries are submodules too;
# - MICROPY_SSL_MBEDTLS=1 MICROPY_PY_SSL=1 : the `tls` module against the system mbedTLS
#   (Debian's patch to extmod.mk links -lmbedtls), for Redis(ssl_context=...);
# - STRIP= : keep symbols, so `make check-no-panic` can inspect the image.
UNIX_FLAGS := FROZEN_MANIFEST= MICROPY_PY_BTREE=0 MICROPY_PY_FFI=0 \
	MICROPY_SSL_MBEDTLS=1 MICROPY_PY_SSL=1 STRIP=

.PHONY: firmware
firmware: $(MICROPY_DIR)/py/mpconfig.h
	$(MAKE) -C $(MICROPY_DIR)/ports/unix $(UNIX_FLAGS) \
		BUILD=$(UNIX_BUILD) USER_C_MODULES=$(REPO)
	@test -x $(FIRMWARE)
