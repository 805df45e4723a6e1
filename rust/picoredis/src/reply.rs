//! Building Python objects from the parser's events, without recursion and without
//! intermediate objects: containers are created at their header with their final size and
//! filled in place; bulk strings are read straight into their final `bytes` object.
//!
//! The containers under construction sit in `Stack`, a plain array on the C stack, which
//! MicroPython's GC scans; the stack has no destructor, so an exception (longjmp) that
//! crosses this frame skips nothing.
//!
//! The unsafe fns here share one contract (in their `# Safety` sections: "the reply
//! contract"): VM thread, inside a glue call holding the lock of the object being read
//! (a client or a Reader); they may raise, so the frames up to the glue's `nlr_push` must
//! hold nothing that needs dropping.

use resp::parse::{AggKind, BulkKind, Event, Limits, Parser, Step};

use core::mem::MaybeUninit;

use crate::fail::{self, Fail};
use crate::mp::{self, Obj};
use crate::text;

/// Deepest nesting the builder holds; the parser's limit is clamped to it.
pub const MAX_DEPTH: usize = 32;

/// The longest header or simple line (error message, status) picoredis reads.
pub const MAX_LINE: usize = 1024;
const _: () = assert!(MAX_LINE <= crate::conn::RBUF);

/// The parser limits of every reply picoredis reads (socket or Reader).
pub fn limits() -> Limits {
    Limits {
        max_depth: MAX_DEPTH,
        // A header or simple line must fit the smallest read buffer (a board's), so a
        // reply is refused or read alike on every build.
        max_line_len: MAX_LINE,
        ..Limits::default()
    }
}

// The builder's state lives in this frame across MicroPython calls that may longjmp.
const _: () = assert!(!core::mem::needs_drop::<Stack>());
const _: () = assert!(!core::mem::needs_drop::<Parser>());
const _: () = assert!(!core::mem::needs_drop::<Options>());

/// Where the reply bytes come from: a socket (`conn::Conn`) or the bytes fed to a
/// `Reader`.
pub trait Input {
    fn pending(&self) -> &[u8];
    fn consume(&mut self, n: usize);
    /// Makes more bytes pending, or fails (timeout, EOF, ... or "incomplete" for a Reader).
    ///
    /// # Safety
    /// The reply contract.
    unsafe fn fill(&mut self) -> Result<(), Fail>;
    /// Copies pending bytes, or reads from the source, straight into `dst`.
    ///
    /// # Safety
    /// The reply contract.
    unsafe fn read_into(&mut self, dst: &mut [u8]) -> Result<usize, Fail>;
    fn debug(&self) -> bool;
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A list created at its final length, filled in place.
    List,
    /// A long list, appended to as elements arrive.
    Growing,
    Dict,
    Set,
}

#[derive(Clone, Copy)]
struct Frame {
    obj: Obj,
    kind: Kind,
    /// Children still to come.
    left: usize,
    /// Next list slot to fill.
    next: usize,
    /// A `List`'s item array (it never moves: the list is made at its final length and
    /// only this frame reaches it), so filling a slot calls nothing (a build for speed;
    /// elsewhere `add` asks the list, in less flash).
    #[cfg(speed)]
    items: *mut Obj,
    /// A map key waiting for its value.
    key: Obj,
}

/// The containers under construction. The frames are not initialised: only `frames[..len]`
/// hold frames (each written when its container opens), so starting a reply costs
/// nothing but `len = 0` (a reply is read per command, a pipeline's many times over).
/// Stale words in the other slots are at most a conservative GC's false positives.
struct Stack {
    frames: [MaybeUninit<Frame>; MAX_DEPTH],
    len: usize,
    /// The reply is a RESP3 push frame (out-of-band data, not a command's reply).
    push: bool,
}

impl Stack {
    /// The innermost open container.
    fn top(&mut self) -> Option<&mut Frame> {
        let i = self.len.checked_sub(1)?;
        let f = self.frames.get_mut(i)?;
        // SAFETY: `frames[..len]` are initialised (written by `open` before `len` grew).
        Some(unsafe { f.assume_init_mut() })
    }

    fn open(&mut self, f: Frame) -> Result<(), Fail> {
        let slot = self
            .frames
            .get_mut(self.len)
            .ok_or(Fail::Parse(resp::Error::DepthExceeded))?;
        slot.write(f);
        self.len += 1;
        Ok(())
    }
}

/// Options of the conversion.
#[derive(Clone, Copy)]
pub struct Options {
    /// Error replies at the top level become `Fail::Reply` (raised by `Redis`); a
    /// `Reader` returns them as values instead.
    pub raise_top_error: bool,
    /// Strings (simple, bulk, verbatim) become `str` instead of `bytes`; bytes that are
    /// not UTF-8 become U+FFFD.
    pub decode: bool,
}

/// The input's pending bytes as a slice the builder parses on its own: the calls through
/// the trait object are per buffer refill, not per value (`input` is a trait object: one
/// copy of the builder serves sockets and the Reader, which saves flash on boards).
///
/// # Safety
/// The slice is valid until the next `consume`, `fill` or `read_into` of `input` (nothing
/// else changes its pending bytes while the reply is read: the object's lock keeps every
/// other caller out); it must not be used after one of them.
unsafe fn window<'w>(input: &dyn Input) -> &'w [u8] {
    let p = input.pending();
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(p.as_ptr(), p.len()) }
}

/// Reads one complete reply and returns it as a Python object, and whether it was a
/// RESP3 push frame.
///
/// The parser runs over the input's buffered bytes (a window) and builds each value where
/// it stands. In a build for speed (`cfg(speed)`), a bulk string that arrived whole
/// (every element of a typical LRANGE, most replies of a pipeline) is taken in one step
/// (`Parser::whole_bulk`) and becomes its object straight from the window; otherwise, and
/// for a payload that goes beyond the buffer, `bulk` reads it straight into its object.
///
/// # Safety
/// The reply contract.
#[inline(never)] // one copy for sockets and the Reader: flash matters more here
pub unsafe fn read(
    parser: &mut Parser,
    input: &mut dyn Input,
    opts: Options,
) -> Result<(Obj, bool), Fail> {
    let mut stack = Stack {
        // (`const { .. }`: the plain repeat expression makes opt-level 3 zero the array.)
        frames: [const { MaybeUninit::uninit() }; MAX_DEPTH],
        len: 0,
        push: false,
    };
    let debug = input.debug();
    let mut win: &[u8] = &[];
    let mut pos = 0usize;
    // The window is taken (anew) at the top of the loop whenever the input changed under
    // it (`consume`, `fill`, `bulk`, which reads): its slices never outlive those. (A
    // board build takes it anew for every value, what it used is consumed first: in less
    // flash.)
    let mut stale = true;
    loop {
        if stale || cfg!(not(speed)) {
            input.consume(pos);
            // SAFETY: see above.
            win = unsafe { window(input) };
            pos = 0;
            stale = false;
        }
        let rest = win.get(pos..).unwrap_or(&[]);
        #[cfg(speed)]
        let whole = parser.whole_bulk(rest);
        #[cfg(not(speed))]
        let whole: Option<(BulkKind, &[u8], usize)> = None;
        // SAFETY: the caller's contract. The slices the events carry borrow the window,
        // which nothing changes until `consume`; a big number's text is parser-checked
        // digits; `stack` is plain data (checked above), on the C stack where the GC sees
        // the containers it holds.
        let value = unsafe {
            if let Some((kind, payload, used)) = whole {
                if debug {
                    let head = used - payload.len() - 2;
                    trace_recv(rest.get(..head).unwrap_or(&[]));
                    trace_recv(rest.get(head..used).unwrap_or(&[]));
                }
                pos += used;
                match kind {
                    BulkKind::Error => fail::redis_error(payload),
                    BulkKind::String | BulkKind::Verbatim => string(payload, opts),
                }
            } else {
                let (event, used) = match parser.next(rest) {
                    Step::NeedMore { consumed } => {
                        input.consume(pos + consumed);
                        input.fill()?;
                        stale = true;
                        pos = 0;
                        continue;
                    }
                    Step::Error(e) => return Err(Fail::Parse(e)),
                    Step::Event { event, consumed } => (event, consumed),
                };
                if debug {
                    trace_recv(rest.get(..used).unwrap_or(&[]));
                }
                pos += used;
                match event {
                    Event::Simple(s) => string(s, opts),
                    Event::Error(s) => fail::redis_error(s),
                    Event::Integer(i) => mp::int(i),
                    Event::Null => mp::none(),
                    Event::Bool(b) => mp::boolean(b),
                    Event::Double(t) => double(t),
                    Event::BigNumber(t) => mp::parse_int(t),
                    Event::BulkStart { kind, len } => {
                        input.consume(pos);
                        let v = bulk(parser, input, kind, len, opts)?;
                        stale = true;
                        pos = 0;
                        v
                    }
                    Event::AggregateStart { kind, len } => {
                        if stack.len == 0 {
                            stack.push = kind == AggKind::Push;
                        }
                        let (obj, k, children) = container(kind, len)?;
                        if children > 0 {
                            stack.open(Frame {
                                obj,
                                kind: k,
                                left: children,
                                next: 0,
                                #[cfg(speed)]
                                items: if k == Kind::List {
                                    mp::list_get(obj).1
                                } else {
                                    core::ptr::null_mut()
                                },
                                key: mp::NULL,
                            })?;
                            continue;
                        }
                        obj
                    }
                    // Chunks and ends only occur inside `bulk`.
                    Event::BulkChunk(_) | Event::BulkEnd => {
                        return Err(Fail::Parse(resp::Error::BulkOverrun))
                    }
                }
            }
        };
        // Place the finished value; finishing a container may finish its parent too.
        let mut v = value;
        loop {
            let Some(top) = stack.top() else {
                input.consume(pos);
                // SAFETY: the caller's contract; `v` is the reply just built.
                if opts.raise_top_error && unsafe { is_error(v) } {
                    return Err(Fail::Reply(v));
                }
                return Ok((v, stack.push));
            };
            // SAFETY: the caller's contract; `top` is an open container of the kind its
            // frame says, built by `container`, with a child still to come.
            unsafe { add(top, v)? };
            if top.left > 0 {
                break;
            }
            v = top.obj;
            stack.len -= 1;
        }
    }
}

/// A bulk string of `len` bytes: allocated once at its final size and filled from the
/// buffer, then directly from the stream.
///
/// # Safety
/// The reply contract.
unsafe fn bulk(
    parser: &mut Parser,
    input: &mut dyn Input,
    kind: BulkKind,
    len: usize,
    opts: Options,
) -> Result<Obj, Fail> {
    // The buffer becomes the bytes object's own storage. A header alone (`$1000000`)
    // must not claim the heap before any data has arrived, so at most PREALLOC_BYTES are
    // taken up front; beyond that the buffer doubles as the payload arrives.
    let mut v = mp::vstr_empty();
    // SAFETY: the caller's contract. `v` is set up here (a heap buffer of `alloc`
    // bytes); `space` is that buffer less the byte kept for the NUL, taken anew after
    // every growth, and the read fills only its `v.len..want` part.
    unsafe {
        mp::vstr_init(&mut v, len.min(PREALLOC_BYTES) + 1);
        while v.len < len {
            let room = v.alloc.saturating_sub(v.len + 1);
            if room == 0 {
                let grow = v.len.max(PREALLOC_BYTES).min(len - v.len);
                mp::vstr_hint_size(&mut v, grow + 1);
            }
            let space =
                core::slice::from_raw_parts_mut(v.buf as *mut u8, v.alloc.saturating_sub(1));
            let want = len.min(space.len());
            let n = match space.get_mut(v.len..want) {
                Some(rest) if !rest.is_empty() => input.read_into(rest)?,
                _ => break,
            };
            parser.consume_bulk(n).map_err(Fail::Parse)?;
            v.len += n;
        }
    }
    // SAFETY: `v` is set up, and its buffer no longer grows.
    let dst = unsafe { mp::vstr_slice(&mut v) };
    // The payload is in place; let the parser check the CRLF that ends it.
    loop {
        match parser.next(input.pending()) {
            Step::NeedMore { consumed } => {
                input.consume(consumed);
                // SAFETY: the caller's contract.
                unsafe { input.fill()? };
            }
            Step::Event {
                event: Event::BulkEnd,
                consumed,
            } => {
                input.consume(consumed);
                break;
            }
            Step::Event { .. } => return Err(Fail::Parse(resp::Error::BulkOverrun)),
            Step::Error(e) => return Err(Fail::Parse(e)),
        }
    }
    // SAFETY: the caller's contract. `v` is set up and holds the payload (`dst`): each
    // arm either hands its buffer to the new object (a str only when it is UTF-8) or
    // clears it once the object is made from a copy, `dst` unused after.
    unsafe {
        if input.debug() {
            trace_bulk(dst);
        }
        match kind {
            BulkKind::Error => {
                let text = core::slice::from_raw_parts(dst.as_ptr(), dst.len());
                let e = fail::redis_error(text);
                mp::vstr_clear(&mut v);
                Ok(e)
            }
            BulkKind::String | BulkKind::Verbatim if !opts.decode => {
                Ok(mp::bytes_from_vstr(&mut v))
            }
            BulkKind::String | BulkKind::Verbatim => {
                if text::is_utf8(dst) {
                    return Ok(mp::str_from_vstr(&mut v));
                }
                let s = text::decode_lossy(dst);
                mp::vstr_clear(&mut v);
                Ok(s)
            }
        }
    }
}

/// # Safety
/// The reply contract.
unsafe fn string(s: &[u8], opts: Options) -> Obj {
    // SAFETY: the caller's contract.
    unsafe {
        if opts.decode {
            text::decode_lossy(s)
        } else if cfg!(speed) {
            mp::bytes_unhashed(s)
        } else {
            mp::bytes(s)
        }
    }
}

/// Up-front allocation for one bulk string: a header alone (`$1000000`, sent by a broken
/// or hostile server) cannot take more than this before its data arrives.
const PREALLOC_BYTES: usize = 16 * 1024;
/// Likewise for aggregates: slots for at most this many elements up front; a longer list
/// grows (by doubling) as its elements arrive.
const PREALLOC_ITEMS: usize = 1024;

/// A new container for an aggregate of `len` elements: the object, how it is filled and
/// how many children it takes.
///
/// # Safety
/// The reply contract.
unsafe fn container(kind: AggKind, len: usize) -> Result<(Obj, Kind, usize), Fail> {
    // SAFETY: the caller's contract. A list made at its final length is filled (`add`)
    // before the reply can reach Python code; a reply that fails part-way is dropped.
    unsafe {
        Ok(match kind {
            AggKind::Array | AggKind::Push if len <= PREALLOC_ITEMS => {
                (mp::new_list(len), Kind::List, len)
            }
            AggKind::Array | AggKind::Push => (mp::new_list(0), Kind::Growing, len),
            AggKind::Map => (
                mp::new_dict(len.min(PREALLOC_ITEMS)),
                Kind::Dict,
                len.checked_mul(2)
                    .ok_or(Fail::Parse(resp::Error::AggregateTooLong))?,
            ),
            AggKind::Set => (new_set()?, Kind::Set, len),
        })
    }
}

/// # Safety
/// The reply contract.
#[cfg(mp_set)]
unsafe fn new_set() -> Result<Obj, Fail> {
    // SAFETY: the caller's contract.
    Ok(unsafe { mp::new_set() })
}

/// # Safety
/// The reply contract.
#[cfg(not(mp_set))]
unsafe fn new_set() -> Result<Obj, Fail> {
    // SAFETY: the caller's contract; an empty list needs no filling.
    Ok(unsafe { mp::new_list(0) })
}

/// Places `v` in the open container `f`.
///
/// # Safety
/// The reply contract. `f.obj` must be a container of the kind `f.kind` says (as
/// `container` made it), not yet reachable by Python code, with a child still to come.
unsafe fn add(f: &mut Frame, v: Obj) -> Result<(), Fail> {
    // SAFETY: the caller's contract: `f.obj` is the kind of container `f.kind` says, and
    // only this frame reaches it, so a list slot may be written (`items` is its item
    // array, and with a child still to come `f.next < next + left`, its length).
    unsafe {
        match f.kind {
            Kind::List => {
                #[cfg(speed)]
                let items = f.items;
                #[cfg(not(speed))]
                let items = mp::list_get(f.obj).1;
                // A list made at its final length `next + left`, so `next` is a slot.
                if f.left == 0 || items.is_null() {
                    return Err(Fail::Parse(resp::Error::BulkOverrun));
                }
                *items.add(f.next) = v;
                f.next += 1;
            }
            Kind::Growing => mp::list_append(f.obj, v),
            Kind::Dict => {
                if f.key.is_null() {
                    f.key = hashable(v, MAX_DEPTH)?;
                } else {
                    mp::dict_store(f.obj, f.key, v);
                    f.key = mp::NULL;
                }
            }
            Kind::Set => set_add(f.obj, hashable(v, MAX_DEPTH)?),
        }
    }
    f.left -= 1;
    Ok(())
}

/// # Safety
/// The reply contract; `set` must be a set (made by `new_set`).
#[cfg(mp_set)]
unsafe fn set_add(set: Obj, v: Obj) {
    // SAFETY: the caller's contract.
    unsafe { mp::set_store(set, v) };
}

/// # Safety
/// The reply contract; `list` must be a list (made by `new_set`).
#[cfg(not(mp_set))]
unsafe fn set_add(list: Obj, v: Obj) {
    // SAFETY: the caller's contract.
    unsafe { mp::list_append(list, v) };
}

/// RESP3 allows aggregate keys; a list cannot be a dict key or set member, its tuple can
/// (lists inside it become tuples too). A map or set cannot be either: that reply is a
/// protocol error (ParseError), not a TypeError from deep inside the dict.
///
/// # Safety
/// The reply contract; `v` must be a valid object (one this reply built).
unsafe fn hashable(v: Obj, depth: usize) -> Result<Obj, Fail> {
    const UNHASHABLE: Fail = Fail::Protocol("map or set as a map key or set member");
    // SAFETY: the caller's contract. The list's items are copied into a new tuple at
    // once; the tuple's slots are rewritten before anything else can reach it.
    unsafe {
        if mp::type_is(v, mp::dict_type()) || is_set(v) {
            return Err(UNHASHABLE);
        }
        if !mp::type_is(v, mp::list_type()) {
            return Ok(v);
        }
        let depth = depth.checked_sub(1).ok_or(UNHASHABLE)?;
        let items = mp::items(v);
        let t = mp::new_tuple(items);
        for slot in mp::tuple_items_mut(t) {
            *slot = hashable(*slot, depth)?;
        }
        Ok(t)
    }
}

/// # Safety
/// VM thread; `v` must be a valid object.
#[cfg(mp_set)]
unsafe fn is_set(v: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { mp::type_is(v, mp::set_type()) }
}

/// # Safety
/// As in the set build: VM thread; `v` must be a valid object.
#[cfg(not(mp_set))]
unsafe fn is_set(_: Obj) -> bool {
    false
}

/// Whether `v` is an error reply (a `RedisError`).
///
/// # Safety
/// VM thread; `v` must be a valid object.
pub unsafe fn is_error(v: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { mp::is_redis_error(v) }
}

/// # Safety
/// The reply contract; `t` must be a double's text as the parser checked it.
#[cfg(mp_float)]
unsafe fn double(t: &[u8]) -> Obj {
    // SAFETY: the caller's contract.
    unsafe { mp::parse_float(t) }
}

/// # Safety
/// The reply contract.
#[cfg(not(mp_float))]
unsafe fn double(t: &[u8]) -> Obj {
    // No floats on this port: the text, as bytes.
    // SAFETY: the caller's contract.
    unsafe { mp::bytes(t) }
}

/// # Safety
/// The reply contract.
unsafe fn trace_recv(line: &[u8]) {
    // SAFETY: the caller's contract.
    unsafe { text::print_repr(b"RECV: ", line, true) };
}

/// The original read a bulk's payload and its CRLF as one line: print them so.
///
/// # Safety
/// The reply contract.
unsafe fn trace_bulk(payload: &[u8]) {
    let mut v = mp::vstr_empty();
    // SAFETY: the caller's contract; `v` is set up here and cleared after the print.
    unsafe {
        mp::vstr_init(&mut v, payload.len() + 2);
        mp::vstr_add(&mut v, payload);
        mp::vstr_add(&mut v, b"\r\n");
        text::print_repr(b"RECV: ", mp::vstr_slice(&mut v), true);
        mp::vstr_clear(&mut v);
    }
}
