//! Text helpers that need no `core::fmt`: lossy UTF-8 decoding and the debug trace.

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

/// Prints `label` and then `data` as Python's repr shows it: `bytes` style when asked
/// or when the data is not UTF-8, `str` style otherwise (the original printed the request
/// as a str and each reply line as bytes).
pub unsafe fn print_repr(label: &[u8], data: &[u8], as_bytes: bool) {
    let as_bytes = as_bytes || core::str::from_utf8(data).is_err();
    mp::print(label);
    if as_bytes {
        mp::print(b"b");
    }
    sys::mp_str_print_quoted(&sys::mp_plat_print, data.as_ptr(), data.len(), as_bytes);
    mp::print(b"\n");
}
