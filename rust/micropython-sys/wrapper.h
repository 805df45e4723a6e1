// The parts of MicroPython's C API that picoredis' Rust core calls.
// bindgen reads this with the same -I/-D flags, genhdr/ and target as the
// firmware build, so struct layouts and qstr numbers match the binary.
#include "py/runtime.h"
#include "py/stream.h"
#include "py/objstr.h"
#include "py/objlist.h"
#include "py/parsenum.h"
#include "py/formatfloat.h"
#if MICROPY_ENABLE_DYNRUNTIME
// A native .mpy module: no port headers. The module's glue (mpy_module/natmod_runtime.c)
// defines these two, over the firmware's `time` module.
mp_uint_t mp_hal_ticks_ms(void);
void mp_hal_delay_ms(mp_uint_t ms);
#else
#include "py/mphal.h"
#endif
