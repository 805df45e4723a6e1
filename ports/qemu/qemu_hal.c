// HAL functions that MicroPython 1.25's ports/qemu does not provide but user C modules
// (picoredis's Rust core: socket timeouts, polling a non-blocking stream) and the modules
// asyncio needs (`time`, `select`, `_asyncio`: mpconfigport_asyncio.h) use.  qemu.mk
// compiles this file per board and links it through LIBS; it needs no MicroPython header
// (mp_uint_t is uintptr_t-sized on both 32-bit boards).  Weak, so a port that grows its
// own definition wins.
//
// mp_hal_ticks_ms / mp_hal_ticks_us: free-running millisecond / microsecond counters,
// wrapping like mp_uint_t; mp_hal_ticks_cpu: the raw timer count.
//  - MPS2_AN385 (qemu-system-arm -machine mps2-an385): CMSDK APB TIMER0 at 0x40000000,
//    32-bit down-counter at the 25 MHz peripheral clock; software-extended, so it must be
//    read at least once every ~171 s (every timeout loop does).
//  - VIRT_RV32 (qemu-system-riscv32 -machine virt): CLINT mtime at 0x0200BFF8, 10 MHz.

#include <stdint.h>

#if defined(__arm__)

typedef struct {
    volatile uint32_t CTRL;
    volatile uint32_t VALUE;
    volatile uint32_t RELOAD;
    volatile uint32_t INTSTATUS;
} cmsdk_timer_t;

#define QEMU_HAL_TIMER0 ((cmsdk_timer_t *)0x40000000u)
#define QEMU_HAL_TIMER_HZ (25000000u)
#define QEMU_HAL_CYCLES_PER_MS (QEMU_HAL_TIMER_HZ / 1000u)
#define QEMU_HAL_CYCLES_PER_US (QEMU_HAL_TIMER_HZ / 1000000u)

static uint32_t qemu_hal_last;
static uint32_t qemu_hal_ms;
static uint32_t qemu_hal_rem;
static uint32_t qemu_hal_us;
static uint32_t qemu_hal_us_rem;
static uint8_t qemu_hal_started;

// Reads the timer and advances both counters by the cycles since the last read.
static void qemu_hal_advance(void) {
    if (!qemu_hal_started) {
        QEMU_HAL_TIMER0->CTRL = 0;
        QEMU_HAL_TIMER0->RELOAD = 0xffffffffu;
        QEMU_HAL_TIMER0->VALUE = 0xffffffffu;
        QEMU_HAL_TIMER0->CTRL = 1; // enable, no interrupt
        qemu_hal_last = QEMU_HAL_TIMER0->VALUE;
        qemu_hal_started = 1;
    }
    uint32_t now = QEMU_HAL_TIMER0->VALUE;
    uint32_t elapsed = qemu_hal_last - now; // down-counter; modulo 2^32 handles the wrap
    qemu_hal_last = now;
    qemu_hal_ms += elapsed / QEMU_HAL_CYCLES_PER_MS;
    qemu_hal_rem += elapsed % QEMU_HAL_CYCLES_PER_MS;
    if (qemu_hal_rem >= QEMU_HAL_CYCLES_PER_MS) {
        qemu_hal_rem -= QEMU_HAL_CYCLES_PER_MS;
        qemu_hal_ms += 1;
    }
    qemu_hal_us += elapsed / QEMU_HAL_CYCLES_PER_US;
    qemu_hal_us_rem += elapsed % QEMU_HAL_CYCLES_PER_US;
    if (qemu_hal_us_rem >= QEMU_HAL_CYCLES_PER_US) {
        qemu_hal_us_rem -= QEMU_HAL_CYCLES_PER_US;
        qemu_hal_us += 1;
    }
}

__attribute__((weak)) uintptr_t mp_hal_ticks_ms(void) {
    qemu_hal_advance();
    return qemu_hal_ms;
}

__attribute__((weak)) uintptr_t mp_hal_ticks_us(void) {
    qemu_hal_advance();
    return qemu_hal_us;
}

__attribute__((weak)) uintptr_t mp_hal_ticks_cpu(void) {
    qemu_hal_advance();
    return ~qemu_hal_last; // counting up
}

#elif defined(__riscv)

#define QEMU_HAL_MTIME ((volatile uint32_t *)0x0200BFF8u)
#define QEMU_HAL_MTIME_HZ (10000000u)

static uint64_t qemu_hal_mtime(void) {
    uint32_t hi, lo;
    do {
        hi = QEMU_HAL_MTIME[1];
        lo = QEMU_HAL_MTIME[0];
    } while (hi != QEMU_HAL_MTIME[1]);
    return ((uint64_t)hi << 32) | lo;
}

__attribute__((weak)) uintptr_t mp_hal_ticks_ms(void) {
    return (uintptr_t)(qemu_hal_mtime() / (QEMU_HAL_MTIME_HZ / 1000u));
}

__attribute__((weak)) uintptr_t mp_hal_ticks_us(void) {
    return (uintptr_t)(qemu_hal_mtime() / (QEMU_HAL_MTIME_HZ / 1000000u));
}

__attribute__((weak)) uintptr_t mp_hal_ticks_cpu(void) {
    return QEMU_HAL_MTIME[0];
}

#else
#error "qemu_hal.c: unsupported architecture"
#endif

// mp_hal_delay_ms: a busy wait on the counter above (the Rust core sleeps a millisecond at
// a time while it polls a non-blocking stream). Real ports have their own.
__attribute__((weak)) void mp_hal_delay_ms(uintptr_t ms) {
    uintptr_t start = mp_hal_ticks_ms();
    while (mp_hal_ticks_ms() - start < ms) {
    }
}

__attribute__((weak)) void mp_hal_delay_us(uintptr_t us) {
    uintptr_t start = mp_hal_ticks_us();
    while (mp_hal_ticks_us() - start < us) {
    }
}

#if defined(__arm__) && defined(__ARM_FP)
// A hard-float Cortex-M4F firmware (the natmod tests' armv7emsp board: MPS2_AN385 built for
// -mcpu=cortex-m4 -mfloat-abi=hard, run as mps2-an386): the FPU is off at reset, and the
// qemu port's startup does not turn it on (its boards are soft-float). qemu.mk links with
// --wrap=uart_init, which the startup calls before main(): give CP10 and CP11 full access
// first, as a Cortex-M4F port's SystemInit does.
void __real_uart_init(void);
void __wrap_uart_init(void) {
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20;
    __asm volatile ("dsb\n\tisb" ::: "memory");
    __real_uart_init();
}
#endif
