// Host test of the native module's clock (mpy_module/natmod_ticks.h): feeds it
// time.ticks_ms() values around that clock's wraps, as a board whose mp_uint_t is
// MP_UINT (uint32_t: wraps every 2**30 ms; uint64_t: 2**62) gives them, and checks that
// the Rust core's view of the time elapsed between two readings (the u32 difference,
// wrapping: conn.rs' Deadline) is the real one. `make test-c` runs it.
#include <stdint.h>
#include <stdio.h>

typedef MP_UINT mp_uint_t;
#include "natmod_ticks.h"

// time.ticks_ms()'s period: where a small int ends (representation A: 2 bits less than
// the word).
static const mp_uint_t period = ((mp_uint_t)1 << (sizeof(mp_uint_t) * 8 - 2));

static int failures;

// A clock read from real time 0 (at least twice per period) up to `start`, then every
// `step` ms for `span` ms: each reading's distance from the one at `start` must be the
// time that passed.
static void check(const char *what, uint64_t start, uint64_t span, uint64_t step) {
    natmod_ticks_t t = { 0, 0 };
    for (uint64_t real = 0; real < start; real += period / 2) {
        natmod_ticks_unwrap(&t, (mp_uint_t)(real % period), period);
    }
    uint32_t first = (uint32_t)natmod_ticks_unwrap(&t, (mp_uint_t)(start % period), period);
    for (uint64_t d = step; d <= span; d += step) {
        uint32_t now = (uint32_t)natmod_ticks_unwrap(&t, (mp_uint_t)((start + d) % period), period);
        if ((uint32_t)(now - first) != (uint32_t)d) {
            printf("FAIL %s (%u-bit): %llu ms after %llu reads as %lu ms\n", what,
                (unsigned)(sizeof(mp_uint_t) * 8), (unsigned long long)d,
                (unsigned long long)start, (unsigned long)(uint32_t)(now - first));
            failures++;
            return;
        }
    }
    printf("PASS %s (%u-bit)\n", what, (unsigned)(sizeof(mp_uint_t) * 8));
}

int main(void) {
    check("no wrap", 1000, 5000, 7);
    check("across the first wrap", period - 100, 300, 7);
    check("across the third wrap", 3 * (uint64_t)period - 50, 300, 1);
    check("a wait of 25 days (a 32-bit board's ticks_ms wraps twice)", period - 10,
        (uint64_t)25 * 24 * 3600 * 1000, 3600 * 1000);
    check("several wraps, read three times per period", 5, 7 * (uint64_t)period, period / 3);
    return failures != 0;
}
