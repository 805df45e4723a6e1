// The CPython/PyPy host's raise: a failed C-API call (NULL and the error indicator set)
// longjmps to the innermost pr_protect of this thread, as nlr does in MicroPython. The
// frames jumped over are the core's Rust frames, which hold nothing that needs dropping
// (the core asserts it at compile time); never an interpreter frame, never with the GIL
// released.
#include <setjmp.h>
#include <stdlib.h>

typedef struct pr_jmp {
    jmp_buf buf;
    struct pr_jmp *prev;
} pr_jmp;

static __thread pr_jmp *pr_top;

// Runs f(ctx); 0 when it returned, 1 when it raised (the error indicator is set).
int pr_protect(void (*f)(void *), void *ctx) {
    pr_jmp j;
    j.prev = pr_top;
    pr_top = &j;
    if (_setjmp(j.buf) == 0) {
        f(ctx);
        pr_top = j.prev;
        return 0;
    }
    pr_top = j.prev;
    return 1;
}

void pr_raise(void) {
    pr_jmp *j = pr_top;
    if (j == NULL) {
        abort();  // a raise outside any operation: a bug in the host layer
    }
    _longjmp(j->buf, 1);
}
