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
//!
//! The same scan finds the core's blocks (blocks.rs) that a block stores: a cluster's node
//! clients, each a `Client` block of its own, with the objects it stores (its socket).
//! Such a block is re-read only after an operation that made it or looked it up (the
//! core reaches a node client only through `Client::from_obj`, i.e. `mp::is_client`,
//! which notes it), so an operation on one node does not re-read every node's buffers.

use pyo3::ffi;

use crate::blocks;
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

/// What one client holds: a reference to each object its block stores, and the blocks
/// of the core's that it stores (a cluster's node clients: blocks.rs), each with the
/// objects that one stores.
pub struct Held {
    objs: Vec<Obj>,
    kids: Vec<Kid>,
}

/// A block kept by the held one, and the objects it stores.
struct Kid {
    addr: usize,
    len: usize,
    objs: Vec<Obj>,
}

/// The word runs `[a, b)` of a block of `len` bytes around its byte-only spans `bytes`
/// (offset, length): up to four (more than three spans: the whole block, one run). A word
/// that overlaps a span is in a run.
fn runs(len: usize, bytes: &[(usize, usize)]) -> ([(usize, usize); 4], usize) {
    let size = core::mem::size_of::<usize>();
    let mut runs = [(0usize, len / size); 4];
    let mut spans: Vec<(usize, usize)> = if bytes.len() < runs.len() {
        bytes.to_vec()
    } else {
        Vec::new()
    };
    spans.sort_unstable();
    let (mut n, mut from) = (0, 0);
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
    (runs, n)
}

/// The objects among `known` and those pooled since `m` that the block `[start, start +
/// len)` stores now; its `bytes` spans (offset, length) hold no objects and are not read
/// (a client's buffers and parse stack are most of its 20 KB: reading them word by word
/// after every command was about 5 % of a small GET).
///
/// # Safety
/// Holding the GIL, before `pool::release(m)`; the block is readable.
unsafe fn found(
    start: *const u8,
    len: usize,
    bytes: &[(usize, usize)],
    known: &[Obj],
    m: pool::Mark,
) -> Vec<Obj> {
    let base = start as *const usize;
    let (runs, n) = runs(len, bytes);
    let runs = runs.get(..n).unwrap_or(&[]);
    let each = || {
        runs.iter().flat_map(|&(a, b)| a..b).map(|i| {
            // SAFETY: word `i` is inside the block (the caller's contract; the runs end
            // at its last whole word); read unaligned-safe.
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
            let is_known =
                known.contains(&o) || (w >= lo && w <= hi && made.binary_search(&o).is_ok());
            if is_known && !now.contains(&o) {
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
        for &o in known {
            check(o, &mut now);
        }
        // SAFETY: the caller's contract.
        unsafe { pool::each_since(m, |o| check(o, &mut now)) };
    }
    now
}

/// `now` replaces `*held`: the new ones get a reference, the old ones lose theirs (a
/// stream no longer kept is forgotten).
///
/// # Safety
/// Holding the GIL; every object alive (held, or pooled until release).
unsafe fn replace(held: &mut Vec<Obj>, now: Vec<Obj>) {
    // SAFETY: the caller's contract.
    unsafe {
        for &o in &now {
            ffi::Py_INCREF(o);
        }
        for &o in held.iter() {
            if !now.contains(&o) {
                crate::mp::forget_stream(o);
            }
            ffi::Py_DECREF(o);
        }
    }
    *held = now;
}

impl Held {
    pub fn new() -> Self {
        Held {
            objs: Vec::new(),
            kids: Vec::new(),
        }
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
    /// what it stores now of what it held and of the operation's objects, and the core's
    /// blocks it stores (found among those it kept and those the operation made; a kept
    /// one that the operation did not look up is unchanged: its objects are not re-read).
    /// The block itself is claimed (the glue holds it); a kept block no longer stored is
    /// freed.
    ///
    /// `bytes`: the byte-only spans of the block (`found`), `kid_bytes` those of a kept
    /// block (a node client).
    ///
    /// # Safety
    /// Holding the GIL, before `pool::release(m)`; the block is readable, and so are the
    /// blocks it keeps.
    pub unsafe fn rescan(
        &mut self,
        start: *const u8,
        len: usize,
        bytes: &[(usize, usize)],
        kid_bytes: &[(usize, usize)],
        m: pool::Mark,
    ) {
        let bm = pool::blocks_mark(m);
        blocks::claim(bm, start as usize);
        let mut made = Vec::new();
        blocks::made_since(bm, &mut made);
        // SAFETY: the caller's contract.
        let now = unsafe { found(start, len, bytes, &self.objs, m) };
        // The blocks kept now, each with whether to re-read it (made by the operation, or
        // looked up by the core during it).
        let mut kids: Vec<(Kid, bool)> = Vec::new();
        if !made.is_empty() || !self.kids.is_empty() {
            let words = len / core::mem::size_of::<usize>();
            let base = start as *const usize;
            for i in 0..words {
                // SAFETY: inside the block (the caller's contract); read unaligned-safe.
                let w = unsafe { core::ptr::read_unaligned(base.add(i)) };
                if w == 0 || w == start as usize || kids.iter().any(|(k, _)| k.addr == w) {
                    continue;
                }
                if let Some(k) = self.kids.iter().position(|k| k.addr == w) {
                    let k = self.kids.swap_remove(k);
                    let touched = blocks::touched_since(bm, k.addr);
                    kids.push((k, touched));
                } else if made.contains(&w) {
                    blocks::claim(bm, w);
                    let len = blocks::size_of(w).unwrap_or(0);
                    let k = Kid {
                        addr: w,
                        len,
                        objs: Vec::new(),
                    };
                    kids.push((k, true));
                }
            }
        }
        // SAFETY: every object here is alive (held, or pooled until release); the kept
        // blocks are readable (the caller's contract) and those let go are used no more.
        unsafe {
            let mut keep = now.clone();
            for (k, reread) in kids.iter_mut() {
                if *reread {
                    let mut known = k.objs.clone();
                    known.extend_from_slice(&self.objs);
                    let kid_now = found(k.addr as *const u8, k.len, kid_bytes, &known, m);
                    replace(&mut k.objs, kid_now);
                }
                keep.extend_from_slice(&k.objs);
            }
            crate::mp::settle_streams(&keep);
            replace(&mut self.objs, now);
            let kids = kids.into_iter().map(|(k, _)| k).collect();
            for mut k in core::mem::replace(&mut self.kids, kids) {
                replace(&mut k.objs, Vec::new());
                blocks::free(k.addr as *mut u8);
            }
        }
    }

    /// Lets go of everything (the client's object is going away): the objects, and the
    /// blocks kept.
    ///
    /// # Safety
    /// Holding the GIL.
    pub unsafe fn clear(&mut self) {
        // SAFETY: holding the GIL (the caller's contract); each object was increfed once
        // by its holder, released once here; the kept blocks are used no more.
        unsafe {
            replace(&mut self.objs, Vec::new());
            for mut k in core::mem::take(&mut self.kids) {
                replace(&mut k.objs, Vec::new());
                blocks::free(k.addr as *mut u8);
            }
        }
    }

    pub fn objects(&self) -> &[Obj] {
        &self.objs
    }
}
