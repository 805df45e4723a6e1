//! Request side: RESP arrays of bulk strings, the only form Redis accepts
//! from clients besides inline commands.
//!
//! Numbers are rendered by hand into caller-provided stack buffers so that no
//! `core::fmt` machinery is linked in.

/// Line terminator of every RESP header and bulk payload.
pub const CRLF: &[u8] = b"\r\n";

/// An unsigned integer the digit writer works on. Lengths and small integers go
/// through `usize`, so a 32-bit target never links a 64-bit division routine
/// (about 0.9 KB of `compiler_builtins` on Cortex-M3) unless it formats a `u64`.
trait Digits: Copy {
    /// `(self / 10, self % 10)`
    fn div10(self) -> (Self, u8);
    fn is_zero(self) -> bool;
}

impl Digits for u64 {
    fn div10(self) -> (Self, u8) {
        (self / 10, (self % 10) as u8)
    }
    fn is_zero(self) -> bool {
        self == 0
    }
}

impl Digits for usize {
    fn div10(self) -> (Self, u8) {
        (self / 10, (self % 10) as u8)
    }
    fn is_zero(self) -> bool {
        self == 0
    }
}

/// Writes the decimal digits of `v` at the end of `buf` and returns the index
/// of the first digit. `buf` must hold 20 bytes (`u64::MAX` has 20 digits);
/// with less it keeps the low digits instead of panicking.
fn digits_at_end<T: Digits>(mut v: T, buf: &mut [u8]) -> usize {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        let (q, digit) = v.div10();
        // `digit` < 10, so the sum stays an ASCII digit.
        *slot = b'0' + digit;
        v = q;
        start = start.saturating_sub(1);
        if v.is_zero() {
            break;
        }
    }
    start
}

/// Decimal text of `v`.
pub fn fmt_u64(v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let start = digits_at_end(v, buf);
    buf.get(start..).unwrap_or(&[])
}

/// Decimal text of `v`, with a leading `-` when negative. `i64::MIN` works
/// because the magnitude is taken as `u64` (19 digits, leaving room for `-`).
pub fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let start = digits_at_end(v.unsigned_abs(), buf);
    with_sign(v < 0, start, buf)
}

/// Decimal text of a machine-word integer (`isize::MIN` works too).
pub fn fmt_isize(v: isize, buf: &mut [u8; 20]) -> &[u8] {
    let start = digits_at_end(v.unsigned_abs(), buf);
    with_sign(v < 0, start, buf)
}

fn with_sign(negative: bool, mut start: usize, buf: &mut [u8; 20]) -> &[u8] {
    if negative {
        if let Some(s) = start.checked_sub(1) {
            if let Some(slot) = buf.get_mut(s) {
                *slot = b'-';
                start = s;
            }
        }
    }
    buf.get(start..).unwrap_or(&[])
}

/// `<prefix><n>\r\n`, built backwards from the end of `buf`.
fn header(prefix: u8, n: usize, buf: &mut [u8; 24]) -> &[u8] {
    let Some((head, crlf)) = buf.split_last_chunk_mut::<2>() else {
        return &[];
    };
    *crlf = *b"\r\n";
    let start = digits_at_end(n, head).saturating_sub(1);
    if let Some(slot) = head.get_mut(start) {
        *slot = prefix;
    }
    buf.get(start..).unwrap_or(&[])
}

/// `*<n>\r\n`: the header of a command with `n` arguments.
pub fn array_header(n: usize, buf: &mut [u8; 24]) -> &[u8] {
    header(b'*', n, buf)
}

/// `$<len>\r\n`: the header of one argument of `len` bytes. The payload and
/// a trailing [`CRLF`] follow.
pub fn bulk_header(len: usize, buf: &mut [u8; 24]) -> &[u8] {
    header(b'$', len, buf)
}

/// Byte destination of the encoder (a socket, a buffer, ...).
pub trait Sink {
    type Error;
    fn write(&mut self, data: &[u8]) -> Result<(), Self::Error>;
}

/// Encodes one command as an array of bulk strings. Arguments are binary
/// safe: lengths are byte counts and payloads are not inspected.
pub fn encode_command<S: Sink>(sink: &mut S, args: &[&[u8]]) -> Result<(), S::Error> {
    let mut buf = [0u8; 24];
    sink.write(array_header(args.len(), &mut buf))?;
    for arg in args {
        sink.write(bulk_header(arg.len(), &mut buf))?;
        sink.write(arg)?;
        sink.write(CRLF)?;
    }
    Ok(())
}

/// The [`SliceSink`] buffer is full.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Overflow;

/// A [`Sink`] that fills a fixed slice. On overflow nothing of the failing
/// write is stored.
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceSink<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceSink { buf, len: 0 }
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl Sink for SliceSink<'_> {
    type Error = Overflow;
    fn write(&mut self, data: &[u8]) -> Result<(), Overflow> {
        let end = self.len.checked_add(data.len()).ok_or(Overflow)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(Overflow)?;
        dst.copy_from_slice(data);
        self.len = end;
        Ok(())
    }
}

impl<const N: usize> Sink for heapless::Vec<u8, N> {
    type Error = Overflow;
    fn write(&mut self, data: &[u8]) -> Result<(), Overflow> {
        self.extend_from_slice(data).map_err(|_| Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn numbers() {
        let cases_u = [0u64, 1, 9, 10, 99, 100, 12345, u64::MAX];
        for v in cases_u {
            assert_eq!(fmt_u64(v, &mut [0; 20]), v.to_string().as_bytes());
        }
        let cases_i = [0i64, 1, -1, 10, -10, i64::MAX, i64::MIN, i64::MIN + 1];
        for v in cases_i {
            assert_eq!(fmt_i64(v, &mut [0; 20]), v.to_string().as_bytes());
        }
        let cases_isize = [0isize, 7, -7, 1000, isize::MAX, isize::MIN, isize::MIN + 1];
        for v in cases_isize {
            assert_eq!(fmt_isize(v, &mut [0; 20]), v.to_string().as_bytes());
        }
    }

    #[test]
    fn headers() {
        assert_eq!(array_header(0, &mut [0; 24]), b"*0\r\n");
        assert_eq!(array_header(3, &mut [0; 24]), b"*3\r\n");
        assert_eq!(bulk_header(1234, &mut [0; 24]), b"$1234\r\n");
        let max = std::format!("${}\r\n", usize::MAX);
        assert_eq!(bulk_header(usize::MAX, &mut [0; 24]), max.as_bytes());
    }

    #[test]
    fn command() {
        let mut out = [0u8; 64];
        let mut sink = SliceSink::new(&mut out);
        encode_command(&mut sink, &[b"SET", b"k", b"a\r\nb", b""]).unwrap();
        assert_eq!(
            sink.written(),
            b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n$0\r\n\r\n"
        );
        let mut small = [0u8; 10];
        let mut sink = SliceSink::new(&mut small);
        assert_eq!(encode_command(&mut sink, &[b"GET", b"key"]), Err(Overflow));
        assert_eq!(sink.written(), b"*2\r\n$3\r\n");

        let mut v: heapless::Vec<u8, 32> = heapless::Vec::new();
        encode_command(&mut v, &[b"PING"]).unwrap();
        assert_eq!(&v[..], b"*1\r\n$4\r\nPING\r\n");
    }
}
