//! The cffi-shaped alternative for PyPy (docs/hosts.md): no Python object crosses the
//! boundary. The same `resp` parser turns reply bytes into flat tokens, three i64 each
//! (kind, a, b), and Python code (compiled by PyPy's JIT) builds the objects from them
//! (bench/tokens.py). Called through cffi's ABI mode from this same library.

use resp::parse::{AggKind, BulkKind, Event, Parser, Step};

pub const SIMPLE: i64 = 0; // (off, len)
pub const ERROR: i64 = 1; // (off, len)
pub const INT: i64 = 2; // (value, 0)
pub const NULL: i64 = 3;
pub const BOOL: i64 = 4; // (0/1, 0)
pub const DOUBLE: i64 = 5; // (off, len)
pub const BIGNUM: i64 = 6; // (off, len)
pub const BULK: i64 = 7; // (off, len)
pub const BULK_ERROR: i64 = 8; // (off, len)
pub const ARRAY: i64 = 9; // (n, 0)
pub const MAP: i64 = 10; // (pairs, 0)
pub const SET: i64 = 11; // (n, 0)
pub const PUSH: i64 = 12; // (n, 0)

/// Tokens for at most `max_replies` complete replies at the start of `data[..len]`, into
/// `toks` (room for `cap` tokens). Returns the token count (only whole replies) and sets
/// `*used` to the bytes they took and `*replies` to how many; -1 - error code on a
/// protocol error.
///
/// # Safety
/// `data` valid for `len` bytes, `toks` for `3 * cap` i64, the out-pointers writable.
#[no_mangle]
pub unsafe extern "C" fn pr_scan(
    data: *const u8,
    len: usize,
    toks: *mut i64,
    cap: usize,
    max_replies: usize,
    used: *mut usize,
    replies: *mut usize,
) -> isize {
    let data = unsafe { core::slice::from_raw_parts(data, len) };
    let out = unsafe { core::slice::from_raw_parts_mut(toks, cap * 3) };
    let base = data.as_ptr() as usize;
    let off = |s: &[u8]| (s.as_ptr() as usize - base) as i64;
    let mut parser = Parser::default();
    let (mut pos, mut n) = (0usize, 0usize);
    let (mut done_pos, mut done_n, mut done_r) = (0usize, 0usize, 0usize);
    while done_r < max_replies {
        if n >= cap {
            break;
        }
        let (tok, consumed) = match parser.next(&data[pos..]) {
            Step::NeedMore { .. } => break,
            Step::Error(e) => return -1 - e as isize,
            Step::Event { event, consumed } => {
                let t = match event {
                    Event::Simple(s) => (SIMPLE, off(s), s.len() as i64),
                    Event::Error(s) => (ERROR, off(s), s.len() as i64),
                    Event::Integer(i) => (INT, i, 0),
                    Event::Null => (NULL, 0, 0),
                    Event::Bool(b) => (BOOL, b as i64, 0),
                    Event::Double(s) => (DOUBLE, off(s), s.len() as i64),
                    Event::BigNumber(s) => (BIGNUM, off(s), s.len() as i64),
                    Event::BulkStart { kind, len: blen } => {
                        let start = pos + consumed;
                        if start + blen > data.len() || parser.consume_bulk(blen).is_err() {
                            break;
                        }
                        let k = if kind == BulkKind::Error {
                            BULK_ERROR
                        } else {
                            BULK
                        };
                        let skip = if kind == BulkKind::Verbatim { 4 } else { 0 };
                        pos = start + blen;
                        match parser.next(&data[pos..]) {
                            Step::Event {
                                event: Event::BulkEnd,
                                consumed,
                            } => pos += consumed,
                            Step::NeedMore { .. } => break,
                            _ => return -1 - resp::Error::BulkOverrun as isize,
                        }
                        out[3 * n] = k;
                        out[3 * n + 1] = (start + skip) as i64;
                        out[3 * n + 2] = blen as i64;
                        n += 1;
                        if parser.is_idle() {
                            (done_pos, done_n, done_r) = (pos, n, done_r + 1);
                        }
                        continue;
                    }
                    Event::AggregateStart { kind, len: alen } => (
                        match kind {
                            AggKind::Array => ARRAY,
                            AggKind::Map => MAP,
                            AggKind::Set => SET,
                            AggKind::Push => PUSH,
                        },
                        alen as i64,
                        0,
                    ),
                    Event::BulkChunk(_) | Event::BulkEnd => {
                        return -1 - resp::Error::BulkOverrun as isize
                    }
                };
                (t, consumed)
            }
        };
        out[3 * n] = tok.0;
        out[3 * n + 1] = tok.1;
        out[3 * n + 2] = tok.2;
        n += 1;
        pos += consumed;
        if parser.is_idle() {
            (done_pos, done_n, done_r) = (pos, n, done_r + 1);
        }
    }
    unsafe {
        *used = done_pos;
        *replies = done_r;
    }
    done_n as isize
}
