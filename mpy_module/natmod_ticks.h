// The native module's millisecond clock (natmod_runtime.c: mp_hal_ticks_ms), apart from
// the MicroPython calls so a host test can feed it wrapping values (tests/c/).
//
// time.ticks_ms() wraps where a small int ends (`period`: 2**30 ms on a 32-bit board, 12
// days), the firmware's own mp_hal_ticks_ms at the machine word: the Rust core's deadline
// arithmetic (u32, wrapping) wants the latter, so the wraps are counted here (one is seen
// as long as the clock is read at least once per period, which every wait does).
//
// Needs mp_uint_t (the includer's).
#ifndef PICOREDIS_NATMOD_TICKS_H
#define PICOREDIS_NATMOD_TICKS_H

typedef struct {
    mp_uint_t last; // the last time.ticks_ms() value seen
    mp_uint_t high; // the periods counted so far, times the period
} natmod_ticks_t;

// `now` (a time.ticks_ms() value, in [0, period)) on the machine word's clock.
static inline mp_uint_t natmod_ticks_unwrap(natmod_ticks_t *t, mp_uint_t now, mp_uint_t period) {
    if (now < t->last) {
        t->high += period;
    }
    t->last = now;
    return t->high + now;
}

#endif
