// The unix firmware's MicroPython configuration: the port's standard variant, with a GIL.
//
// The unix port builds its threads without a GIL (the Makefile forces
// MICROPY_PY_THREAD_GIL=0 when MICROPY_PY_THREAD=1, so unix.mk turns that make variable off
// and the threads are turned on here). With a GIL, as on the ESP32 port:
// - the GC needs no lock of its own: without a GIL every allocation takes and gives back a
//   pthread mutex, two per `bytes` a reply makes (LRANGE of 1000: 2000 of them);
// - Python objects shared by threads are safe to mutate (MicroPython's tests/thread/mutate_*,
//   which its test runner skips on the GIL-less unix port, pass on this build);
// - Ctrl-C cannot longjmp out of the middle of C or Rust code. MICROPY_ASYNC_KBD_INTR (on in
//   the port's variants, and incompatible with a GIL) raises KeyboardInterrupt from the
//   SIGINT handler at whatever instruction the signal lands on: inside the allocator it left
//   the heap locked for good ("MemoryError: ... heap is locked"), inside picoredis a state
//   no MicroPython call would leave. Without it, as on every board, Ctrl-C is a pending
//   exception raised where the VM or an interrupted system call checks for one.
//   tests/unix/test_interrupt.py sends SIGINT while a client works.
// Threads still run: one at a time, each letting the others in while it blocks in a system
// call (a socket's read, sleep) and every few VM jumps.
//
// The port is not built with a GIL upstream, and one blocking call of it keeps the GIL:
// mp_hal_delay_us() (its usleep(), in mphalport.h) under time.sleep_ms()/sleep_us() and
// every idle wait, so a thread that sleeps would stop the others (a thread waiting for a
// client another thread uses never got in). usleep() is taken here for a version that lets
// the GIL go (gil_usleep.c); the port calls usleep() nowhere else (its Bluetooth ports,
// not built, aside), always with the GIL held. mpconfigport.h includes <unistd.h> before
// this file, so the macro changes the calls only.

#include "variants/standard/mpconfigvariant.h"

#undef MICROPY_ASYNC_KBD_INTR
#define MICROPY_ASYNC_KBD_INTR (0)

#define MICROPY_PY_THREAD (1)
#define MICROPY_PY_THREAD_GIL (1)
// The port's thread code (mpthreadport.c: its atomic sections) uses a recursive mutex, which
// MicroPython only provides by default when there is no GIL.
#define MICROPY_PY_THREAD_RECURSIVE_MUTEX (1)

#ifndef __ASSEMBLER__
int picoredis_usleep_without_gil(unsigned int us);
#define usleep(us) picoredis_usleep_without_gil(us)
#endif
