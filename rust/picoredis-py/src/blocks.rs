//! The core's own memory blocks (`mp::malloc0`: a `Client`, a `Cluster`, a `Reader`) on a
//! host without MicroPython's GC heap.
//!
//! On MicroPython such a block is an object of the GC heap: alive while anything reaches
//! it. Here it is `PyMem` memory that the host must free. A block the glue holds (a
//! `Redis`'s client, a `RedisCluster`'s cluster) is freed with its Python object; a block
//! the core keeps inside another (a cluster's node clients, made by `Client::alloc` from
//! cluster.rs) is found by hold.rs' scan of the block that stores it, as MicroPython's GC
//! would find it, and freed once no scan finds it; a block an operation made and nobody
//! kept is freed when the operation ends (pool.rs).
//!
//! The registry also tells the core's `mp::is_client` / `mp::is_cluster` what a pointer
//! is: on this host a block has no Python type to ask, so its size says (the core's
//! structs differ in size, asserted in mp.rs).

use core::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::Mutex;

use pyo3::ffi;

/// Every live block: address → size. (A `Mutex` for soundness; every use holds the GIL.)
static LIVE: Mutex<Option<HashMap<usize, usize>>> = Mutex::new(None);

struct Ops {
    /// Blocks made by this thread's running operations, not claimed yet (0: claimed).
    made: Vec<usize>,
    /// Blocks the core looked up (`is_client`/`is_cluster`) in this thread's running
    /// operations: the ones whose contents may have changed.
    touched: Vec<usize>,
}

thread_local! {
    static OPS: UnsafeCell<Ops> = const { UnsafeCell::new(Ops { made: Vec::new(), touched: Vec::new() }) };
}

fn ops() -> *mut Ops {
    OPS.with(|o| o.get())
}

fn live<R>(f: impl FnOnce(&mut HashMap<usize, usize>) -> R) -> R {
    let mut g = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// Where an operation's blocks start in this thread's lists.
#[derive(Clone, Copy)]
pub struct Mark {
    made: usize,
    touched: usize,
}

pub fn mark() -> Mark {
    // SAFETY: this thread's lists; no reference to them is alive.
    unsafe {
        let o = ops();
        Mark {
            made: (*o).made.len(),
            touched: (*o).touched.len(),
        }
    }
}

/// Zeroed memory of `size` bytes, registered (NULL when out of memory).
///
/// # Safety
/// Holding the GIL.
pub unsafe fn alloc(size: usize) -> *mut u8 {
    // SAFETY: holding the GIL (the caller's contract), as PyMem_Calloc needs.
    let p = unsafe { ffi::PyMem_Calloc(1, size) } as *mut u8;
    if !p.is_null() {
        live(|m| m.insert(p as usize, size));
        // SAFETY: this thread's list; no reference to it is alive.
        unsafe { (*ops()).made.push(p as usize) };
    }
    p
}

/// The size of the live block at `p`, if `p` is one.
pub fn size_of(p: usize) -> Option<usize> {
    live(|m| m.get(&p).copied())
}

/// How many blocks are alive (the host's tests).
pub fn count() -> usize {
    live(|m| m.len())
}

/// The core looked `p` up (a live block): an operation may change it.
pub fn touch(p: usize) {
    // SAFETY: this thread's list; no reference to it is alive.
    unsafe {
        let t = &mut (*ops()).touched;
        if t.last() != Some(&p) {
            t.push(p);
        }
    }
}

/// Frees the block `p` (its objects were let go by its holder).
///
/// # Safety
/// Holding the GIL; `p` a live block nothing uses any more.
pub unsafe fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    live(|m| m.remove(&(p as usize)));
    // SAFETY: the caller's contract: `p` came from `alloc` and is used no more.
    unsafe { ffi::PyMem_Free(p as *mut core::ffi::c_void) };
}

/// The blocks made since `m` and not claimed yet, in `out`.
pub fn made_since(m: Mark, out: &mut Vec<usize>) {
    // SAFETY: this thread's list, read while no other reference to it is alive.
    unsafe {
        let made: &Vec<usize> = &(*ops()).made;
        out.extend(
            made.get(m.made..)
                .unwrap_or(&[])
                .iter()
                .filter(|&&p| p != 0),
        );
    }
}

/// Whether the block `p` was looked up since `m`.
pub fn touched_since(m: Mark, p: usize) -> bool {
    // SAFETY: this thread's list, read while no other reference to it is alive.
    unsafe {
        let touched: &Vec<usize> = &(*ops()).touched;
        touched.get(m.touched..).is_some_and(|t| t.contains(&p))
    }
}

/// The block `p`, made since `m`, is kept by a holder now: the end of its operation
/// leaves it alone.
pub fn claim(m: Mark, p: usize) {
    // SAFETY: this thread's list; no other reference to it is alive.
    unsafe {
        let made: &mut Vec<usize> = &mut (*ops()).made;
        for slot in made.get_mut(m.made..).unwrap_or(&mut []) {
            if *slot == p {
                *slot = 0;
            }
        }
    }
}

/// Ends the operation that took `m`: the blocks it made that nobody claimed are freed
/// (the core dropped them, as MicroPython's GC would find).
///
/// # Safety
/// Holding the GIL; `m` from this thread, its operation's frames gone, and every holder's
/// claim made (hold.rs' rescan).
pub unsafe fn release(m: Mark) {
    // SAFETY: the caller's contract; the lists are touched by index through their pointer
    // only (freeing runs no Python code, but stays in the pattern pool.rs uses).
    unsafe {
        let o = ops();
        while (*o).made.len() > m.made {
            let Some(p) = (*o).made.pop() else { break };
            free(p as *mut u8);
        }
        (*o).touched.truncate(m.touched);
    }
}
