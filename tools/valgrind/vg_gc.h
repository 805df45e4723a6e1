// Force-included (-include) into every C file of the valgrind build of the
// unix firmware (tools/valgrind/run.sh builds it into build/valgrind/unix).
//
// MicroPython's GC scans the C stack conservatively: it reads every word
// between the stack pointer and the stack top, including never-written
// slots, and derives mark bits from them.  Memcheck then reports those reads
// in gc.c and -- worse -- the undefinedness flows into the allocation table
// and from there into every later gc_alloc and into objects built on fresh
// allocations (any frame, picoredis' too).  Suppressions cannot cleanly cut
// that cascade, so this build tells memcheck, right before each root range is
// scanned, that the range is defined.
//
// The same holds for the heap: gc_mark_subtree() reads every word of every
// reachable block, whatever the object (byte buffers never filled, struct
// padding copied in by a Rust move...).  With PICOREDIS_VG_SCAN_HEAP (the
// default) each word is marked defined right before the GC reads it; build
// with -DPICOREDIS_VG_SCAN_HEAP=0 to see those reports (and, with
// --track-origins=yes, which allocation left the bytes undefined).
//
// The hook is MicroPython's own MICROPY_GC_HOOK_LOOP(i), called once per word:
//   gc_collect_root(ptrs, len): i = 0..len-1  -> at i == 0 mark ptrs[0..len)
//   gc_mark_subtree: a local `ptrs` (the word about to be read), i counting
//     down to 1, no `len` in scope (the dummy 0 below) -> mark *ptrs
//   gc_alloc, gc_sweep, gc_info: no `ptrs` in scope (the dummy NULL) -> nothing
#ifndef PICOREDIS_VG_GC_H
#define PICOREDIS_VG_GC_H
#if defined(__GNUC__) && !defined(__clang__)   /* not for bindgen's parse */
#include <stddef.h>
#include <valgrind/memcheck.h>
static void **const ptrs __attribute__((unused)) = NULL;
static const size_t len __attribute__((unused)) = 0;
#ifndef PICOREDIS_VG_SCAN_HEAP
#define PICOREDIS_VG_SCAN_HEAP 1
#endif
#define MICROPY_GC_HOOK_LOOP(i) \
    do { \
        if (ptrs != NULL) { \
            if ((i) == 0) { \
                (void)VALGRIND_MAKE_MEM_DEFINED(ptrs, (len) * sizeof(void *)); \
            } else if (PICOREDIS_VG_SCAN_HEAP && (len) == 0) { \
                (void)VALGRIND_MAKE_MEM_DEFINED(ptrs, sizeof(void *)); \
            } \
        } \
    } while (0)
#endif
#endif
