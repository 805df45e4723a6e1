# What `make` freezes into the unix firmware (FROZEN_MANIFEST, see unix.mk): MicroPython's
# asyncio and the picoredis package. The port's own variants/manifest.py is not included:
# it pulls micropython-lib (unix-ffi, mip, ssl), which Debian's +ds source leaves out.
include("$(MPY_DIR)/extmod/asyncio")
include("../../mpy_module/manifest.py")
