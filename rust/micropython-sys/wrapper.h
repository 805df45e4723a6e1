// The parts of MicroPython's C API that picoredis' Rust core calls.
// bindgen reads this with the same -I/-D flags, genhdr/ and target as the
// firmware build, so struct layouts and qstr numbers match the binary.
#include "py/runtime.h"
#include "py/stream.h"
#include "py/objstr.h"
#include "py/objlist.h"
#include "py/mphal.h"
#include "py/parsenum.h"
#include "py/formatfloat.h"
