//! Text helpers that need no `core::fmt`: lossy UTF-8 decoding and the escaping used by
//! the debug trace.

use crate::mp::{self, Obj};
use crate::sys;

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// A `str` from bytes that should be UTF-8; invalid sequences become U+FFFD.
pub unsafe fn decode_lossy(bytes: &[u8]) -> Obj {
    if core::str::from_utf8(bytes).is_ok() {
        return mp::str_utf8(bytes);
    }
    // Rare path (a broken error message): build the repaired text in a vstr.
    let mut v: sys::vstr_t = core::mem::zeroed();
    sys::vstr_init(&mut v, bytes.len() + 8);
    let mut rest = bytes;
    while !rest.is_empty() {
        match core::str::from_utf8(rest) {
            Ok(s) => {
                sys::vstr_add_strn(&mut v, s.as_ptr() as *const _, s.len());
                break;
            }
            Err(e) => {
                let Some((good, bad)) = rest.split_at_checked(e.valid_up_to()) else {
                    break;
                };
                sys::vstr_add_strn(&mut v, good.as_ptr() as *const _, good.len());
                sys::vstr_add_strn(&mut v, REPLACEMENT.as_ptr() as *const _, REPLACEMENT.len());
                let skip = e.error_len().unwrap_or(bad.len()).max(1);
                rest = bad.get(skip..).unwrap_or(&[]);
            }
        }
    }
    let s = mp::str_utf8(mp::vstr_slice(&mut v));
    sys::vstr_clear(&mut v);
    s
}

/// Prints `data` escaped the way Python's repr shows the inside of a string literal.
pub unsafe fn print_escaped(data: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run_start = 0;
    for (i, &b) in data.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'\r' => Some(b"\\r"),
            b'\n' => Some(b"\\n"),
            b'\t' => Some(b"\\t"),
            b'\\' => Some(b"\\\\"),
            b'\'' => Some(b"\\'"),
            0x20..=0x7e => None,
            _ => Some(b""),
        };
        if let Some(e) = esc {
            mp::print(data.get(run_start..i).unwrap_or(&[]));
            if e.is_empty() {
                let hex = [
                    b'\\',
                    b'x',
                    HEX[(b >> 4) as usize & 15],
                    HEX[(b & 15) as usize],
                ];
                mp::print(&hex);
            } else {
                mp::print(e);
            }
            run_start = i + 1;
        }
    }
    mp::print(data.get(run_start..).unwrap_or(&[]));
}
