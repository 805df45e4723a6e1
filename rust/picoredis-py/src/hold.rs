//! The objects a client keeps between operations, under reference counting.
//!
//! The core stores objects into its client struct with plain writes (the socket, the
//! options a session command changed: `observe`, `set_address`, `attach`), as a tracing
//! GC allows. On this host such an object would die with the operation's pool. So at the
//! end of each operation, before the pool lets go, the glue scans the client's block as
//! MicroPython's GC scans a heap block (every aligned word), but only for objects it can
//! name: those the client held before and those the operation made or was given (its
//! pool). The ones found get a reference of the client's own; the ones it held and no
//! longer stores lose theirs. A byte pattern in a buffer that happens to equal such an
//! object's address keeps that object one operation longer, never frees it early.

use pyo3::ffi;

use crate::mp::Obj;
use crate::pool;

/// Beyond this many objects made by one operation, `rescan` tests them against a bit set
/// of the block's words instead of sorting them.
const MANY: usize = 64;
/// The bit set's size: a block's few hundred words leave most bits clear.
const BITS: usize = 1 << 15;

/// The bit of word `w` (an address: its low bits are alignment).
fn bit(w: usize) -> usize {
    ((w >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (usize::BITS - 15)) % BITS
}

/// What one client holds: a reference to each object its block stores.
pub struct Held {
    objs: Vec<Obj>,
}

impl Held {
    pub fn new() -> Self {
        Held { objs: Vec::new() }
    }

    /// Takes a reference to `o` (an object the glue stores in the block itself).
    ///
    /// # Safety
    /// Holding the GIL; `o` a valid object.
    pub unsafe fn add(&mut self, o: Obj) {
        if !o.is_null() && !self.objs.contains(&o) {
            // SAFETY: holding the GIL, `o` valid (the caller's contract); the reference
            // taken here is released by `clear`/`rescan`.
            unsafe { ffi::Py_INCREF(o) };
            self.objs.push(o);
        }
    }

    /// Re-reads the block `[start, start + len)` after an operation that took `m`: holds
    /// what it stores now of what it held and of the operation's objects. The `bytes`
    /// spans (offset, length) hold no objects and are not read.
    ///
    /// # Safety
    /// Holding the GIL, before `pool::release(m)`; the block is readable.
    pub unsafe fn rescan(
        &mut self,
        start: *const u8,
        len: usize,
        bytes: &[(usize, usize)],
        m: pool::Mark,
    ) {
        let size = core::mem::size_of::<usize>();
        let base = start as *const usize;
        // The block's words in up to four runs around the byte-only spans (a word that
        // overlaps one is read).
        // (More than three spans would not fit the runs: then every word is read.)
        let mut runs = [(0usize, len / size); 4];
        let mut n = 0;
        let mut spans: Vec<(usize, usize)> = if bytes.len() < runs.len() {
            bytes.to_vec()
        } else {
            Vec::new()
        };
        spans.sort_unstable();
        let mut from = 0;
        for &(off, blen) in &spans {
            let (a, b) = (off.div_ceil(size), (off + blen) / size);
            if let Some(r) = runs.get_mut(n) {
                *r = (from, a.max(from));
                n += 1;
            }
            from = from.max(b);
        }
        if let Some(r) = runs.get_mut(n) {
            *r = (from, (len / size).max(from));
            n += 1;
        }
        let runs = runs.get(..n).unwrap_or(&[]);
        let each = || {
            runs.iter().flat_map(|&(a, b)| a..b).map(|i| {
                // SAFETY: word `i` is inside the block (the caller's contract; the runs
                // end at its last whole word); read unaligned-safe.
                unsafe { core::ptr::read_unaligned(base.add(i)) }
            })
        };
        let mut now: Vec<Obj> = Vec::new();
        if pool::count_since(m) <= MANY {
            // A few objects made (a command, a small reply): those sorted, each block
            // word looked up among them.
            let mut made = Vec::new();
            // SAFETY: the caller's contract.
            unsafe { pool::since(m, &mut made) };
            let (lo, hi) = match (made.first(), made.last()) {
                (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
                _ => (usize::MAX, 0),
            };
            for w in each().filter(|&w| w != 0) {
                let o = w as Obj;
                let known = self.objs.contains(&o)
                    || (w >= lo && w <= hi && made.binary_search(&o).is_ok());
                if known && !now.contains(&o) {
                    now.push(o);
                }
            }
        } else {
            // Many (a large reply; sorting them took 5 % of an LRANGE of 1000): the
            // block's words go into a bit set, each object is tested against it, and
            // only a hit (rare: the reply's objects are not in the block) is checked
            // word by word.
            let mut bits = [0u64; BITS / 64];
            for w in each().filter(|&w| w != 0) {
                let h = bit(w);
                if let Some(b) = bits.get_mut(h / 64) {
                    *b |= 1 << (h % 64);
                }
            }
            let check = |o: Obj, now: &mut Vec<Obj>| {
                let h = bit(o as usize);
                let maybe = bits.get(h / 64).is_some_and(|b| b & (1 << (h % 64)) != 0);
                if maybe && !now.contains(&o) && each().any(|w| w == o as usize) {
                    now.push(o);
                }
            };
            for &o in &self.objs {
                check(o, &mut now);
            }
            // SAFETY: the caller's contract.
            unsafe { pool::each_since(m, |o| check(o, &mut now)) };
        }
        // SAFETY: every object here is alive (held, or pooled until release).
        unsafe {
            crate::mp::settle_streams(&now);
            for &o in &now {
                ffi::Py_INCREF(o);
            }
            for &o in &self.objs {
                if !now.contains(&o) {
                    crate::mp::forget_stream(o);
                }
                ffi::Py_DECREF(o);
            }
        }
        self.objs = now;
    }

    /// Lets go of everything (the client's object is going away).
    ///
    /// # Safety
    /// Holding the GIL.
    pub unsafe fn clear(&mut self) {
        for o in core::mem::take(&mut self.objs) {
            // SAFETY: holding the GIL (the caller's contract); each `o` was increfed by
            // `add`, released once here.
            unsafe {
                crate::mp::forget_stream(o);
                ffi::Py_DECREF(o);
            }
        }
    }

    pub fn objects(&self) -> &[Obj] {
        &self.objs
    }
}
