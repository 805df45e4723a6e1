//! Text helpers that need no `core::fmt`: lossy UTF-8 decoding and the debug trace.

use crate::mp::{self, Obj};

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// The length of the longest valid UTF-8 prefix of `b`, and how many bytes after it form
/// the invalid sequence (0 when all of `b` is valid). A few lines instead of
/// `core::str::from_utf8`, whose table-driven version costs ~0.4 KB of flash.
pub fn utf8_prefix(b: &[u8]) -> (usize, usize) {
    let mut i = 0;
    while let Some(&lead) = b.get(i) {
        let (extra, min) = match lead {
            0x00..=0x7f => {
                i += 1;
                continue;
            }
            0xc2..=0xdf => (1, 0x80),
            0xe0..=0xef => (2, 0x800),
            0xf0..=0xf4 => (3, 0x1_0000),
            _ => return (i, 1),
        };
        let mut cp = u32::from(lead) & (0x3f >> extra);
        for k in 1..=extra {
            match b.get(i + k) {
                Some(&c) if c & 0xc0 == 0x80 => cp = (cp << 6) | u32::from(c & 0x3f),
                _ => return (i, k),
            }
        }
        if cp < min || (0xd800..=0xdfff).contains(&cp) || cp > 0x10_ffff {
            return (i, 1);
        }
        i += extra + 1;
    }
    (i, 0)
}

pub fn is_utf8(b: &[u8]) -> bool {
    utf8_prefix(b).1 == 0
}

/// A `str` from bytes that should be UTF-8; invalid sequences become U+FFFD.
///
/// # Safety
/// VM thread, inside a glue call; may raise (MemoryError): the frames up to the glue's
/// `nlr_push` must hold nothing that needs dropping.
pub unsafe fn decode_lossy(bytes: &[u8]) -> Obj {
    if is_utf8(bytes) {
        // SAFETY: the caller's contract; the bytes were just checked to be UTF-8.
        return unsafe { mp::str_utf8(bytes) };
    }
    // Rare path (a broken error message): build the repaired text in a vstr.
    let mut v = mp::vstr_empty();
    // SAFETY: the caller's contract; `v` is set up here and cleared after its text is
    // copied; only valid UTF-8 goes into it (good prefixes and U+FFFD).
    unsafe {
        mp::vstr_init(&mut v, bytes.len() + 8);
        let mut rest = bytes;
        while !rest.is_empty() {
            let (good, bad) = utf8_prefix(rest);
            let (ok, tail) = rest.split_at_checked(good).unwrap_or((rest, &[]));
            mp::vstr_add(&mut v, ok);
            if bad == 0 {
                break;
            }
            mp::vstr_add(&mut v, REPLACEMENT);
            rest = tail.get(bad..).unwrap_or(&[]);
        }
        let s = mp::str_utf8(mp::vstr_slice(&mut v));
        mp::vstr_clear(&mut v);
        s
    }
}

/// Prints `label` and then `data` as Python's repr shows it: `bytes` style when asked
/// or when the data is not UTF-8, `str` style otherwise (the original printed the request
/// as a str and each reply line as bytes).
///
/// # Safety
/// VM thread, inside a glue call; may raise (see `mp::print`): the frames up to the
/// glue's `nlr_push` must hold nothing that needs dropping.
pub unsafe fn print_repr(label: &[u8], data: &[u8], as_bytes: bool) {
    let as_bytes = as_bytes || !is_utf8(data);
    // SAFETY: the caller's contract; `data` is quoted as str only when it is UTF-8.
    unsafe {
        mp::print(label);
        if as_bytes {
            mp::print(b"b");
        }
        mp::print_quoted(data, as_bytes);
        mp::print(b"\n");
    }
}
