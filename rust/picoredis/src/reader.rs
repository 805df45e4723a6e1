//! `picoredis.Reader`: the reply parser without a socket, for other libraries and for
//! asyncio code (hiredis-py style): `feed(bytes)`, then `gets()` returns the next complete
//! reply or `False` (or the `notEnoughData` sentinel given).
//!
//! Two parsers, both kept in the object (not on the stack, so a MemoryError mid-build
//! skips nothing): `scan` walks the fed bytes only to find where a complete reply ends,
//! resuming where it stopped; `build` then turns exactly that span into objects, in one
//! pass. Feeding a reply byte by byte therefore costs linear time, and no partial
//! objects have to be kept between calls.

use resp::parse::{Parser, Step};

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::picoredis_head_t;
use crate::reply::{self, Input};
use crate::sys;

const _: () = assert!(!core::mem::needs_drop::<Reader>());
const _: () = assert!(!core::mem::needs_drop::<Span>());

/// Its `buf` is set up from `alloc` on, and `start <= scanned <= buf.len`.
#[repr(C)]
pub struct Reader {
    head: picoredis_head_t,
    /// Fed bytes; `start..` not yet returned. The vstr's buffer is reachable by the GC
    /// through this object.
    buf: sys::vstr_t,
    start: usize,
    /// How far `scan` has looked.
    scanned: usize,
    /// `start..scanned` is one complete reply, not yet built (a build that raised
    /// MemoryError is retried by the next `gets`).
    complete: bool,
    decode: bool,
    /// What `gets` returns while no complete reply is buffered (hiredis-py's
    /// `notEnoughData`, default False; a sentinel tells it apart from a RESP3 `#f`).
    more: Obj,
    /// The reply `gets` last returned was a RESP3 push frame (out-of-band data, not the
    /// answer to a command).
    last_push: bool,
    /// The protocol error that stopped the reader: every later `gets` returns it again.
    failed: Option<Fail>,
    scan: Parser,
    build: Parser,
}

/// The bytes of one complete reply.
struct Span<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input for Span<'_> {
    fn pending(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.data.len());
    }
    unsafe fn fill(&mut self) -> Result<(), Fail> {
        // The scan proved the span complete: needing more means the two parsers
        // disagree, which is reported rather than trusted.
        Err(Fail::Parse(resp::Error::BulkOverrun))
    }
    unsafe fn read_into(&mut self, dst: &mut [u8]) -> Result<usize, Fail> {
        let src = self.pending();
        let n = src.len().min(dst.len());
        if n == 0 {
            // SAFETY: this `fill` only returns a failure.
            return unsafe { self.fill() }.map(|_| 0);
        }
        mp::copy_prefix(dst, src);
        self.consume(n);
        Ok(n)
    }
    fn debug(&self) -> bool {
        false
    }
}

/// `data[off:off + len]`, by hiredis-py's rules for `feed`: `off` (default 0) from 0 to
/// `len(data)`; `len` (default -1) -1 for the rest, else from 0 to what is left after
/// `off`. Other values are ValueError; `off` and `len` are taken as MicroPython's
/// builtins take ints (TypeError for a non-int, OverflowError beyond a machine word).
///
/// # Safety
/// VM thread; may raise (TypeError, OverflowError). `off` and `len` must be valid objects
/// when given.
unsafe fn part(all: &[u8], off: Option<Obj>, len: Option<Obj>) -> Result<&[u8], Fail> {
    // SAFETY: the caller's contract.
    let (off, len) = unsafe {
        (
            off.map_or(0, |o| mp::int_arg(o)),
            len.map_or(-1, |o| mp::int_arg(o)),
        )
    };
    let rest = usize::try_from(off).ok().and_then(|o| all.get(o..));
    let part = match len {
        -1 => rest,
        _ => usize::try_from(len).ok().and_then(|l| rest?.get(..l)),
    };
    part.ok_or(Fail::Value("feed(): off or len out of range"))
}

impl Reader {
    /// A new Reader object of type `t`, without its lock (the glue adds it).
    ///
    /// # Safety
    /// VM thread; may raise (MemoryError). `t` must be the Reader type (whose objects
    /// are this struct); `more` a valid object.
    pub unsafe fn alloc(t: *const sys::mp_obj_type_t, decode: bool, more: Obj) -> Obj {
        // Zeroed memory is an empty reader (zero offsets, flags false): only the rest is
        // written, as in Client::alloc.
        // SAFETY: the caller's contract. `p` is fresh zeroed memory for one Reader: the
        // fields zero is not valid for are written in place (not read, not dropped)
        // before the object is used.
        unsafe {
            let p = mp::malloc0::<Reader>();
            core::ptr::addr_of_mut!((*p).head.base).write(sys::mp_obj_base_t { type_: t });
            core::ptr::addr_of_mut!((*p).failed).write(None);
            core::ptr::addr_of_mut!((*p).scan).write(Parser::new(reply::limits()));
            core::ptr::addr_of_mut!((*p).build).write(Parser::new(reply::limits()));
            (*p).decode = decode;
            (*p).more = more;
            mp::vstr_init(&mut (*p).buf, 64);
            p as Obj
        }
    }

    /// The reader behind `o`, if `o` is a Reader object.
    ///
    /// # Safety
    /// VM thread, holding `o`'s lock (no other `&mut` to it exists for `'a`). `o` must be
    /// a valid object.
    pub unsafe fn from_obj<'a>(o: Obj) -> Option<&'a mut Reader> {
        // SAFETY: the caller's contract; a Reader object is this struct (made by `alloc`).
        unsafe { mp::is_reader(o).then(|| &mut *(o as *mut Reader)) }
    }

    fn data(&mut self) -> &[u8] {
        // SAFETY: `buf` is set up (the struct's invariant); the slice borrows `self`, so
        // the buffer cannot grow while it is used.
        unsafe { mp::vstr_slice(&mut self.buf) }
    }

    /// `feed(data, off=0, len=-1)`: appends `data[off:off + len]` (`len` -1: to the
    /// end), the arguments checked before anything is fed (see `part`).
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the reader's lock; may raise (MemoryError):
    /// the frames up to the glue's `nlr_push` must hold nothing that needs dropping.
    /// `data` must be a valid object, and `off` and `len` when given.
    pub unsafe fn feed(
        &mut self,
        data: Obj,
        off: Option<Obj>,
        len: Option<Obj>,
    ) -> Result<(), Fail> {
        // SAFETY: the caller's contract; the bytes are copied below before anything
        // else runs.
        let Some(all) = (unsafe { mp::buffer(data) }) else {
            return Err(Fail::Type("feed() takes bytes, bytearray or memoryview"));
        };
        // SAFETY: the caller's contract.
        let bytes = unsafe { part(all, off, len)? };
        // Drop what was returned once it is at least half the buffer, so the buffer
        // does not grow with the stream and compaction stays amortised O(1) per byte.
        let len = self.buf.len;
        if self.start > 0 && self.start * 2 >= len {
            let keep = len - self.start;
            let base = self.buf.buf as *mut u8;
            // SAFETY: `start <= len` (the struct's invariant), so both ranges lie in the
            // buffer's `len` bytes; `ptr::copy` allows the overlap.
            unsafe { core::ptr::copy(base.add(self.start), base, keep) };
            self.buf.len = keep;
            self.scanned -= self.start;
            self.start = 0;
        }
        // SAFETY: the caller's contract; `buf` is set up. `bytes` cannot be our own
        // buffer: Python code never sees it.
        unsafe { mp::vstr_add(&mut self.buf, bytes) };
        Ok(())
    }

    /// Whether fed bytes are buffered that no reply returned by `gets` has taken: part of
    /// a reply, or whole replies not yet asked for (or, after a ParseError, the bytes it
    /// stopped at). False for a new reader and once every fed byte has been returned.
    pub fn has_data(&self) -> bool {
        self.start < self.buf.len
    }

    /// Whether the reply `gets` last returned was a RESP3 push frame (`>`): what a
    /// client uses to keep pushes (invalidations, messages) apart from command replies.
    pub fn is_push(&self) -> bool {
        self.last_push
    }

    /// The next complete reply, or `False`.
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the reader's lock; may raise (MemoryError):
    /// the frames up to the glue's `nlr_push` must hold nothing that needs dropping.
    pub unsafe fn gets(&mut self) -> Result<Obj, Fail> {
        if let Some(f) = self.failed {
            return Err(f);
        }
        while !self.complete {
            let scanned = self.scanned;
            let step = {
                // SAFETY: `buf` is set up (the struct's invariant) and unchanged while
                // the scan reads it.
                let data = unsafe { mp::vstr_slice(&mut self.buf) };
                self.scan.next(data.get(scanned..).unwrap_or(&[]))
            };
            match step {
                Step::NeedMore { consumed } => {
                    self.scanned += consumed;
                    return Ok(self.more);
                }
                Step::Event { consumed, .. } => {
                    self.scanned += consumed;
                    self.complete = self.scan.is_idle();
                }
                Step::Error(e) => {
                    self.failed = Some(Fail::Parse(e));
                    return Err(Fail::Parse(e));
                }
            }
        }
        let (start, end) = (self.start, self.scanned);
        let opts = reply::Options {
            raise_top_error: false,
            decode: self.decode,
        };
        self.build.reset();
        let data = self.data();
        // SAFETY: the fed bytes, unborrowed from `self` so that `build` can be used: the
        // build below only reads them, and the glue's lock keeps `feed` (the one thing
        // that moves them) out until this call returns.
        let span = unsafe { core::slice::from_raw_parts(data.as_ptr(), data.len()) };
        let mut input = Span {
            data: span.get(start..end).unwrap_or(&[]),
            pos: 0,
        };
        // SAFETY: the caller's contract; `input` and `opts` are plain data (asserted).
        let built = unsafe { reply::read(&mut self.build, &mut input, opts) };
        let (v, push) = match built {
            Ok(r) => r,
            // Malformed in a way only building shows (a map used as a key): as sticky as
            // any other protocol error.
            Err(f @ (Fail::Parse(_) | Fail::Protocol(_))) => {
                self.failed = Some(f);
                return Err(f);
            }
            Err(f) => return Err(f),
        };
        self.last_push = push;
        self.start = end;
        self.complete = false;
        if self.start == self.buf.len {
            self.buf.len = 0;
            self.start = 0;
            self.scanned = 0;
        }
        Ok(v)
    }
}
