# `import picoredis`: the built-in module (C + Rust, imported under its extensible alias
# `upicoredis`), re-exported as it is, the same objects; submodules such as
# picoredis.asyncio live next to this file. Frozen by mpy_module/manifest.py.
from upicoredis import *
try:
    from upicoredis import _Mux  # for picoredis.asyncio (`import *` leaves out _names)
except ImportError:  # a build without the Reader, which the asyncio layer needs anyway
    pass
