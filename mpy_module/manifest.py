# The Python part of picoredis, frozen into the firmware next to the built-in (C + Rust)
# module: the package `picoredis` (mpy_module/python/picoredis/). Its __init__ re-exports
# the built-in, which it imports as `upicoredis` (the built-in is registered as an
# extensible module, so the frozen package takes its name); picoredis.asyncio needs
# MicroPython's asyncio, which this manifest leaves to the board's (see README.md,
# "Frozen Python parts").
#
#   include("/path/to/picoredis/mpy_module/manifest.py")   # in a board's manifest.py
#
# opt=3, as MicroPython's own asyncio is frozen: no line-number tables (a traceback from
# this package names the function, not the line; 0.7 KB of flash on Cortex-M3) and no
# asserts (it has none).
package("picoredis", base_path="python", opt=3)
