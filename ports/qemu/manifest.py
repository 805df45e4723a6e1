# What qemu.mk freezes into a QEMU firmware with picoredis (the boards have no filesystem):
# MicroPython's asyncio and the picoredis package. The port's own default manifest is
# not included: it freezes micropython-lib's unittest, absent from Debian's +ds source.
include("$(MPY_DIR)/extmod/asyncio")
include("../../mpy_module/manifest.py")
