//! Building Python objects from the parser's events, without recursion and without
//! intermediate objects: containers are created at their header with their final size and
//! filled in place; bulk strings are read straight into their final `bytes` object.
//!
//! The containers under construction sit in `Stack`, a plain array on the C stack, which
//! MicroPython's GC scans; the stack has no destructor, so an exception (longjmp) that
//! crosses this frame skips nothing.

use resp::parse::{AggKind, BulkKind, Event, Limits, Parser, Step};

use crate::fail::{self, Fail};
use crate::mp::{self, Obj};
use crate::sys;
use crate::text;

/// Deepest nesting the builder holds; the parser's limit is clamped to it.
pub const MAX_DEPTH: usize = 32;

/// The parser limits of every reply picoredis reads (socket or Reader).
pub fn limits() -> Limits {
    Limits {
        max_depth: MAX_DEPTH,
        // A header or simple line must fit the connection's read buffer.
        max_line_len: crate::conn::RBUF,
        ..Limits::default()
    }
}

// The builder's state lives in this frame across MicroPython calls that may longjmp.
const _: () = assert!(!core::mem::needs_drop::<Stack>());
const _: () = assert!(!core::mem::needs_drop::<Parser>());

/// Where the reply bytes come from: a socket (`conn::Conn`) or the bytes fed to a
/// `Reader`.
pub trait Input {
    fn pending(&self) -> &[u8];
    fn consume(&mut self, n: usize);
    /// Makes more bytes pending, or fails (timeout, EOF, ... or "incomplete" for a Reader).
    unsafe fn fill(&mut self) -> Result<(), Fail>;
    /// Copies pending bytes, or reads from the source, straight into `dst`.
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
    /// A map key waiting for its value.
    key: Obj,
}

const EMPTY: Frame = Frame {
    obj: mp::NULL,
    kind: Kind::List,
    left: 0,
    next: 0,
    key: mp::NULL,
};

struct Stack {
    frames: [Frame; MAX_DEPTH],
    len: usize,
    /// The reply is a RESP3 push frame (out-of-band data, not a command's reply).
    push: bool,
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

/// (`input` is a trait object: one copy of the builder serves sockets and the Reader,
/// which saves flash on boards; the calls through it are per chunk, not per byte.)
///
/// Reads one complete reply and returns it as a Python object, and whether it was a
/// RESP3 push frame.
#[inline(never)] // one copy for sockets and the Reader: flash matters more here
pub unsafe fn read(
    parser: &mut Parser,
    input: &mut dyn Input,
    opts: Options,
) -> Result<(Obj, bool), Fail> {
    let mut stack = Stack {
        frames: [EMPTY; MAX_DEPTH],
        len: 0,
        push: false,
    };
    loop {
        let value = next_value(parser, input, &mut stack, opts)?;
        let Some(mut v) = value else { continue };
        // Place the finished value; finishing a container may finish its parent too.
        loop {
            let Some(top) = stack
                .len
                .checked_sub(1)
                .and_then(|i| stack.frames.get_mut(i))
            else {
                if opts.raise_top_error && is_error(v) {
                    return Err(Fail::Reply(v));
                }
                return Ok((v, stack.push));
            };
            add(top, v)?;
            if top.left > 0 {
                break;
            }
            v = top.obj;
            stack.len -= 1;
        }
    }
}

/// One parser step: `Some(value)` when a value is complete, `None` when a container was
/// opened (its children follow).
unsafe fn next_value(
    parser: &mut Parser,
    input: &mut dyn Input,
    stack: &mut Stack,
    opts: Options,
) -> Result<Option<Obj>, Fail> {
    loop {
        let pending = input.pending();
        let (event, consumed) = match parser.next(pending) {
            Step::NeedMore { consumed } => {
                input.consume(consumed);
                input.fill()?;
                continue;
            }
            Step::Error(e) => return Err(Fail::Parse(e)),
            Step::Event { event, consumed } => (event, consumed),
        };
        if input.debug() {
            trace_recv(pending.get(..consumed).unwrap_or(&[]));
        }
        let value = match event {
            Event::Simple(s) => string(s, opts),
            Event::Error(s) => fail::redis_error(s),
            Event::Integer(i) => mp::int(i),
            Event::Null => mp::none(),
            Event::Bool(b) => mp::boolean(b),
            Event::Double(t) => double(t),
            Event::BigNumber(t) => sys::mp_parse_num_integer(
                t.as_ptr() as *const _,
                t.len(),
                10,
                core::ptr::null_mut(),
            ),
            Event::BulkStart { kind, len } => {
                input.consume(consumed);
                return bulk(parser, input, kind, len, opts).map(Some);
            }
            Event::AggregateStart { kind, len } => {
                if stack.len == 0 {
                    stack.push = kind == AggKind::Push;
                }
                let (obj, k, children) = container(kind, len)?;
                input.consume(consumed);
                if children == 0 {
                    return Ok(Some(obj));
                }
                let frame = stack
                    .frames
                    .get_mut(stack.len)
                    .ok_or(Fail::Parse(resp::Error::DepthExceeded))?;
                *frame = Frame {
                    obj,
                    kind: k,
                    left: children,
                    next: 0,
                    key: mp::NULL,
                };
                stack.len += 1;
                return Ok(None);
            }
            // Chunks and ends only occur inside `bulk`.
            Event::BulkChunk(_) | Event::BulkEnd => {
                return Err(Fail::Parse(resp::Error::BulkOverrun))
            }
        };
        input.consume(consumed);
        return Ok(Some(value));
    }
}

/// A bulk string of `len` bytes: allocated once at its final size and filled from the
/// buffer, then directly from the stream.
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
    let mut v: sys::vstr_t = core::mem::zeroed();
    sys::vstr_init(&mut v, len.min(PREALLOC_BYTES) + 1);
    while v.len < len {
        let room = v.alloc.saturating_sub(v.len + 1);
        if room == 0 {
            let grow = v.len.max(PREALLOC_BYTES).min(len - v.len);
            sys::vstr_hint_size(&mut v, grow + 1);
        }
        let space = core::slice::from_raw_parts_mut(v.buf as *mut u8, v.alloc.saturating_sub(1));
        let want = len.min(space.len());
        let n = match space.get_mut(v.len..want) {
            Some(rest) if !rest.is_empty() => input.read_into(rest)?,
            _ => break,
        };
        parser.consume_bulk(n).map_err(Fail::Parse)?;
        v.len += n;
    }
    let dst = mp::vstr_slice(&mut v);
    // The payload is in place; let the parser check the CRLF that ends it.
    loop {
        match parser.next(input.pending()) {
            Step::NeedMore { consumed } => {
                input.consume(consumed);
                input.fill()?;
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
    if input.debug() {
        trace_bulk(dst);
    }
    match kind {
        BulkKind::Error => {
            let text = core::slice::from_raw_parts(dst.as_ptr(), dst.len());
            let e = fail::redis_error(text);
            sys::vstr_clear(&mut v);
            Ok(e)
        }
        BulkKind::String | BulkKind::Verbatim if !opts.decode => Ok(mp::bytes_from_vstr(&mut v)),
        BulkKind::String | BulkKind::Verbatim => {
            if text::is_utf8(dst) {
                return Ok(sys::mp_obj_new_str_from_vstr(&mut v));
            }
            let s = text::decode_lossy(dst);
            sys::vstr_clear(&mut v);
            Ok(s)
        }
    }
}

unsafe fn string(s: &[u8], opts: Options) -> Obj {
    if opts.decode {
        text::decode_lossy(s)
    } else {
        mp::bytes(s)
    }
}

/// Up-front allocation for one bulk string: a header alone (`$1000000`, sent by a broken
/// or hostile server) cannot take more than this before its data arrives.
const PREALLOC_BYTES: usize = 16 * 1024;
/// Likewise for aggregates: slots for at most this many elements up front; a longer list
/// grows (by doubling) as its elements arrive.
const PREALLOC_ITEMS: usize = 1024;

unsafe fn container(kind: AggKind, len: usize) -> Result<(Obj, Kind, usize), Fail> {
    Ok(match kind {
        AggKind::Array | AggKind::Push if len <= PREALLOC_ITEMS => (
            sys::mp_obj_new_list(len, core::ptr::null_mut()),
            Kind::List,
            len,
        ),
        AggKind::Array | AggKind::Push => (
            sys::mp_obj_new_list(0, core::ptr::null_mut()),
            Kind::Growing,
            len,
        ),
        AggKind::Map => (
            sys::mp_obj_new_dict(len.min(PREALLOC_ITEMS)),
            Kind::Dict,
            len.checked_mul(2)
                .ok_or(Fail::Parse(resp::Error::AggregateTooLong))?,
        ),
        AggKind::Set => (new_set()?, Kind::Set, len),
    })
}

#[cfg(mp_set)]
unsafe fn new_set() -> Result<Obj, Fail> {
    Ok(sys::mp_obj_new_set(0, core::ptr::null_mut()))
}

#[cfg(not(mp_set))]
unsafe fn new_set() -> Result<Obj, Fail> {
    Ok(sys::mp_obj_new_list(0, core::ptr::null_mut()))
}

unsafe fn add(f: &mut Frame, v: Obj) -> Result<(), Fail> {
    match f.kind {
        Kind::List => {
            let mut len = 0usize;
            let mut items: *mut Obj = core::ptr::null_mut();
            sys::mp_obj_list_get(f.obj, &mut len, &mut items);
            if f.next >= len || items.is_null() {
                return Err(Fail::Parse(resp::Error::BulkOverrun));
            }
            *items.add(f.next) = v;
            f.next += 1;
        }
        Kind::Growing => {
            sys::mp_obj_list_append(f.obj, v);
        }
        Kind::Dict => {
            if f.key.is_null() {
                f.key = hashable(v, MAX_DEPTH)?;
            } else {
                sys::mp_obj_dict_store(f.obj, f.key, v);
                f.key = mp::NULL;
            }
        }
        Kind::Set => set_add(f.obj, hashable(v, MAX_DEPTH)?),
    }
    f.left -= 1;
    Ok(())
}

#[cfg(mp_set)]
unsafe fn set_add(set: Obj, v: Obj) {
    sys::mp_obj_set_store(set, v);
}

#[cfg(not(mp_set))]
unsafe fn set_add(list: Obj, v: Obj) {
    sys::mp_obj_list_append(list, v);
}

/// RESP3 allows aggregate keys; a list cannot be a dict key or set member, its tuple can
/// (lists inside it become tuples too). A map or set cannot be either: that reply is a
/// protocol error (ParseError), not a TypeError from deep inside the dict.
unsafe fn hashable(v: Obj, depth: usize) -> Result<Obj, Fail> {
    const UNHASHABLE: Fail = Fail::Protocol("a map or set used as a map key or set member");
    if mp::type_is(v, &sys::mp_type_dict) || is_set(v) {
        return Err(UNHASHABLE);
    }
    if !mp::type_is(v, &sys::mp_type_list) {
        return Ok(v);
    }
    let depth = depth.checked_sub(1).ok_or(UNHASHABLE)?;
    let items = mp::items(v);
    let t = sys::mp_obj_new_tuple(items.len(), items.as_ptr());
    for slot in mp::tuple_items_mut(t) {
        *slot = hashable(*slot, depth)?;
    }
    Ok(t)
}

#[cfg(mp_set)]
unsafe fn is_set(v: Obj) -> bool {
    mp::type_is(v, &sys::mp_type_set)
}

#[cfg(not(mp_set))]
unsafe fn is_set(_: Obj) -> bool {
    false
}

pub unsafe fn is_error(v: Obj) -> bool {
    mp::is_redis_error(v)
}

#[cfg(mp_float)]
unsafe fn double(t: &[u8]) -> Obj {
    sys::mp_parse_num_decimal(
        t.as_ptr() as *const _,
        t.len(),
        false,
        false,
        core::ptr::null_mut(),
    )
}

#[cfg(not(mp_float))]
unsafe fn double(t: &[u8]) -> Obj {
    // No floats on this port: the text, as bytes.
    mp::bytes(t)
}

unsafe fn trace_recv(line: &[u8]) {
    text::print_repr(b"RECV: ", line, true);
}

/// The original read a bulk's payload and its CRLF as one line: print them so.
unsafe fn trace_bulk(payload: &[u8]) {
    let mut v: sys::vstr_t = core::mem::zeroed();
    sys::vstr_init(&mut v, payload.len() + 2);
    sys::vstr_add_strn(&mut v, payload.as_ptr() as *const _, payload.len());
    sys::vstr_add_strn(&mut v, b"\r\n".as_ptr() as *const _, 2);
    text::print_repr(b"RECV: ", mp::vstr_slice(&mut v), true);
    sys::vstr_clear(&mut v);
}
