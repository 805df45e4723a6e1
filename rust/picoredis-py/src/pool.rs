//! An operation's objects: what makes the core's tracing-GC assumptions hold under
//! reference counting.
//!
//! Every object a wrapper makes is pushed here and stays alive until the operation that
//! made it ends (`release`), whatever way it ends: returned, failed, or raised (a longjmp
//! skips the core's frames, not this). Containers whose slots the core writes raw are
//! noted (`raw`); when the operation ends their slots are made owned (one reference each),
//! then the pool drops its own references. The result the glue returns got a reference
//! of its own before that, and so did what a client keeps (hold.rs).
//!
//! The pool is per thread: a thread that releases the GIL (a socket wait) lets another
//! run its own operations meanwhile, each with marks into its own thread's pool.

use core::cell::UnsafeCell;

use pyo3::ffi;

use crate::mp::Obj;

struct Pool {
    objs: Vec<Obj>,
    raw: Vec<Obj>,
    /// Fault injection: the object creation that fails (MemoryError); -1 none.
    fail_after: isize,
}

thread_local! {
    static POOL: UnsafeCell<Pool> = const {
        UnsafeCell::new(Pool { objs: Vec::new(), raw: Vec::new(), fail_after: -1 })
    };
}

fn pool() -> *mut Pool {
    POOL.with(|p| p.get())
}

/// Fault injection (tests): the `n`th object made from now on fails with MemoryError.
pub fn fail_after(n: isize) {
    // SAFETY: this thread's pool; no reference to it is alive.
    unsafe { (*pool()).fail_after = n };
}

/// Takes `o` (a new reference) into the running operation's pool.
///
/// # Safety
/// Holding the GIL, inside an operation (`mark` .. `release`); `o` a new reference.
#[inline]
pub unsafe fn own(o: Obj) -> Obj {
    // SAFETY: the caller's contract: this thread's pool, no reference to it alive across
    // the raise; `o` is a new reference, released once here on the injected failure.
    unsafe {
        let p = pool();
        if (*p).fail_after >= 0 {
            if (*p).fail_after == 0 {
                (*p).fail_after = -1;
                ffi::Py_DECREF(o);
                ffi::PyErr_NoMemory();
                crate::mp::raise();
            }
            (*p).fail_after -= 1;
        }
        (*p).objs.push(o);
    }
    o
}

/// `c` (a list or tuple just made) has slots the core writes raw.
///
/// # Safety
/// As `own`; `c` is in the pool.
#[inline]
pub unsafe fn raw(c: Obj) {
    // SAFETY: this thread's pool, no other reference to it alive.
    unsafe { (*pool()).raw.push(c) };
}

/// `v` was stored through the C API (which took a reference of its own).
///
/// # Safety
/// As `own`.
#[inline]
pub unsafe fn stored(_v: Obj) {}

#[derive(Clone, Copy)]
pub struct Mark {
    objs: usize,
    raw: usize,
    blocks: crate::blocks::Mark,
}

/// Where the operation that took `m` started in blocks.rs' lists.
pub fn blocks_mark(m: Mark) -> crate::blocks::Mark {
    m.blocks
}

pub fn mark() -> Mark {
    let p = pool();
    // SAFETY: reading this thread's pool's lengths.
    unsafe {
        Mark {
            objs: (*p).objs.len(),
            raw: (*p).raw.len(),
            blocks: crate::blocks::mark(),
        }
    }
}

/// The objects pooled since `m`, sorted (for `hold`'s lookups), in `out`.
///
/// # Safety
/// Holding the GIL; `m` from this thread, before `release(m)`.
pub unsafe fn since(m: Mark, out: &mut Vec<Obj>) {
    // SAFETY: this thread's pool, read while no other reference to it is alive.
    unsafe {
        let p = pool();
        out.clear();
        let objs = &(*p).objs;
        out.extend_from_slice(objs.get(m.objs..).unwrap_or(&[]));
    }
    out.sort_unstable();
}

/// How many objects were pooled since `m`.
pub fn count_since(m: Mark) -> usize {
    // SAFETY: reading this thread's pool's length.
    unsafe { (*pool()).objs.len().saturating_sub(m.objs) }
}

/// Calls `f` with each object pooled since `m` (`f` must not pool objects).
///
/// # Safety
/// Holding the GIL; `m` from this thread, before `release(m)`.
pub unsafe fn each_since(m: Mark, mut f: impl FnMut(Obj)) {
    // SAFETY: this thread's pool; `f` must not pool objects (the caller's contract), so the
    // borrowed `objs` is not pushed to while it is read.
    unsafe {
        let objs = &(*pool()).objs;
        for &o in objs.get(m.objs..).unwrap_or(&[]) {
            f(o);
        }
    }
}

/// Ends the operation that took `m`: raw slots become owned, then every object pooled
/// since `m` loses the pool's reference. A decref may run Python code (a finaliser) that
/// runs operations of its own: they push above this point and release back to it, so the
/// pool is only touched through its pointer, by index, one object at a time.
///
/// # Safety
/// Holding the GIL; `m` from this thread, its operation's frames gone.
pub unsafe fn release(m: Mark) {
    // SAFETY: the caller's contract: `m` from this thread, its frames gone; the pool is
    // touched by index through its pointer only (a finaliser run by a decref may push and
    // pop above `m`); `c` holds valid items or NULL slots.
    unsafe {
        let p = pool();
        while (*p).raw.len() > m.raw {
            let Some(c) = (*p).raw.pop() else { break };
            for &o in crate::mp::items_mut(c).iter() {
                if !o.is_null() {
                    ffi::Py_INCREF(o);
                }
            }
        }
        while (*p).objs.len() > m.objs {
            let Some(o) = (*p).objs.pop() else { break };
            ffi::Py_DECREF(o);
        }
        // The core's blocks the operation made and nobody kept (blocks.rs).
        crate::blocks::release(m.blocks);
    }
}
