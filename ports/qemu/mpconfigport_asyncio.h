// The qemu port's configuration (ports/qemu/mpconfigport.h) plus what MicroPython's
// asyncio needs, which that port leaves out: the `time` module (ticks), `select` (asyncio's
// poller) and `_asyncio` (its task queue in C). qemu.mk builds every QEMU firmware with
// it (-DMP_CONFIGFILE=<mpconfigport_asyncio.h>), the plain ones too, so `make size` does
// not count them as picoredis'. The clocks and delays they need are in qemu_hal.c.

#include <mpconfigport.h>

#undef MICROPY_PY_TIME
#define MICROPY_PY_TIME             (1)
#undef MICROPY_PY_SELECT
#define MICROPY_PY_SELECT           (1)
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO          (1)
