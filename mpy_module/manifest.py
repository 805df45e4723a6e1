# The Python part of picoredis, frozen into the firmware next to the built-in (C + Rust)
# module: the package `picoredis` (mpy_module/python/picoredis/). Its __init__ re-exports
# the built-in, which it imports as `upicoredis` (the built-in is registered as an
# extensible module, so the frozen package takes its name); picoredis.asyncio needs
# MicroPython's asyncio, which this manifest leaves to the board's (see README.md,
# "Frozen Python parts").
#
#   include("/path/to/picoredis/mpy_module/manifest.py")   # in a board's manifest.py
package("picoredis", base_path="python")
