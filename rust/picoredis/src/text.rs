//! Text helpers that need no `core::fmt`: lossy UTF-8 decoding and the debug trace.

use crate::mp::{self, Obj};
use crate::sys;

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
pub unsafe fn decode_lossy(bytes: &[u8]) -> Obj {
    if is_utf8(bytes) {
        return mp::str_utf8(bytes);
    }
    // Rare path (a broken error message): build the repaired text in a vstr.
    let mut v: sys::vstr_t = core::mem::zeroed();
    sys::vstr_init(&mut v, bytes.len() + 8);
    let mut rest = bytes;
    while !rest.is_empty() {
        let (good, bad) = utf8_prefix(rest);
        let (ok, tail) = rest.split_at_checked(good).unwrap_or((rest, &[]));
        sys::vstr_add_strn(&mut v, ok.as_ptr() as *const _, ok.len());
        if bad == 0 {
            break;
        }
        sys::vstr_add_strn(&mut v, REPLACEMENT.as_ptr() as *const _, REPLACEMENT.len());
        rest = tail.get(bad..).unwrap_or(&[]);
    }
    let s = mp::str_utf8(mp::vstr_slice(&mut v));
    sys::vstr_clear(&mut v);
    s
}

/// Prints `label` and then `data` as Python's repr shows it: `bytes` style when asked
/// or when the data is not UTF-8, `str` style otherwise (the original printed the request
/// as a str and each reply line as bytes).
pub unsafe fn print_repr(label: &[u8], data: &[u8], as_bytes: bool) {
    let as_bytes = as_bytes || !is_utf8(data);
    mp::print(label);
    if as_bytes {
        mp::print(b"b");
    }
    sys::mp_str_print_quoted(&sys::mp_plat_print, data.as_ptr(), data.len(), as_bytes);
    mp::print(b"\n");
}
