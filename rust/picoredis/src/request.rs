//! Encoding a command straight from its Python arguments into RESP.
//!
//! Every argument is checked before the first byte is queued, so a bad argument raises
//! TypeError with nothing sent. Text and buffers are written from where they lie; only
//! numbers are formatted: integers without `core::fmt`, big integers by MicroPython's own
//! `str()`, floats as the shortest text that reads back as the same number (Ryū; the
//! server parses it exactly, where `str()` rounds to fewer digits).

use crate::conn::Conn;
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::sys;

/// How one argument goes on the wire.
enum Arg<'a> {
    Bytes(&'a [u8]),
    Int(isize),
    /// Big integers: as `str(arg)`.
    Text(Obj),
    Float(Float),
}

#[cfg(mp_float)]
type Float = sys::mp_float_t;
#[cfg(not(mp_float))]
type Float = f32;

const BAD_ARG: &str = "arguments must be str, bytes, a buffer, int or float";

unsafe fn classify<'a>(o: Obj) -> Result<Arg<'a>, Fail> {
    if let Some(b) = mp::buffer(o) {
        return Ok(Arg::Bytes(b));
    }
    if let Some(v) = mp::small_int_value(o) {
        return Ok(Arg::Int(v));
    }
    if mp::type_is(o, &sys::mp_type_int) {
        // Beyond the small-int range: MicroPython prints it.
        return Ok(Arg::Text(o));
    }
    if let Some(f) = mp::float_value(o) {
        return Ok(Arg::Float(f));
    }
    Err(Fail::Type(BAD_ARG))
}

/// Checks every argument (TypeError if one cannot be sent, before anything is queued)
/// and returns roughly how many bytes `encode` will queue (numbers count as their longest
/// form): one pass over the arguments serves both.
pub unsafe fn check(args: &[Obj]) -> Result<usize, Fail> {
    if args.is_empty() {
        return Err(Fail::Type("a command needs at least its name"));
    }
    let mut n = 16;
    for &a in args {
        n += 16
            + match classify(a)? {
                Arg::Bytes(b) => b.len(),
                Arg::Int(_) | Arg::Text(_) | Arg::Float(_) => 24,
            };
    }
    Ok(n)
}

/// Queues `*N\r\n` and each argument as a bulk string. Call `check` first: an argument
/// that fails here would leave a partial command queued.
pub unsafe fn encode(conn: &mut Conn, args: &[Obj]) -> Result<(), Fail> {
    let mut hdr = [0u8; 24];
    conn.write(resp::encode::array_header(args.len(), &mut hdr))?;
    for &a in args {
        match classify(a)? {
            Arg::Bytes(b) => bulk(conn, b)?,
            Arg::Int(i) => {
                let mut digits = [0u8; 20];
                bulk(conn, resp::encode::fmt_isize(i, &mut digits))?;
            }
            Arg::Float(f) => {
                let mut text = ryu::Buffer::new();
                bulk(conn, text.format(f).as_bytes())?;
            }
            Arg::Text(o) => {
                let mut v: sys::vstr_t = core::mem::zeroed();
                mp::str_of(o, &mut v);
                let r = bulk(conn, mp::vstr_slice(&mut v));
                sys::vstr_clear(&mut v);
                r?;
            }
        }
    }
    Ok(())
}

unsafe fn bulk(conn: &mut Conn, data: &[u8]) -> Result<(), Fail> {
    let mut hdr = [0u8; 24];
    conn.write(resp::encode::bulk_header(data.len(), &mut hdr))?;
    conn.write(data)?;
    conn.write(resp::encode::CRLF)
}
