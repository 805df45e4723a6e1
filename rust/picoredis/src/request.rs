//! Encoding a command straight from its Python arguments into RESP.
//!
//! Every argument is checked before the first byte is queued, so a bad argument raises
//! TypeError with nothing sent. Text and buffers are written from where they lie; only
//! numbers are formatted: integers without `core::fmt`, big integers by MicroPython's own
//! `str()`, floats as the shortest text that reads back as the same number (`float_text`;
//! `str()` rounds to fewer digits, so the server would store another number).
//!
//! One encoder serves the client and `picoredis.encode()`: it writes into a `Sink`, the
//! connection or a vstr of its own.

use crate::conn::Conn;
use crate::fail::Fail;
use crate::mp::{self, Obj};

// An argument's class, a float's text and the sink live in `encode_into`'s frame across
// MicroPython calls that may longjmp.
const _: () = assert!(!core::mem::needs_drop::<Arg<'static>>());
const _: () = assert!(!core::mem::needs_drop::<Sink<'static>>());
#[cfg(mp_float_double)]
const _: () = assert!(!core::mem::needs_drop::<ryu::Buffer>());

/// How one argument goes on the wire.
enum Arg<'a> {
    Bytes(&'a [u8]),
    Int(isize),
    /// Big integers: as `str(arg)`.
    Text(Obj),
    Float(Float),
}

#[cfg(mp_float)]
type Float = crate::sys::mp_float_t;
#[cfg(not(mp_float))]
type Float = f32;

const BAD_ARG: &str = "arguments must be str, bytes, a buffer, int or float";

/// # Safety
/// VM thread (nothing is raised). `o` must be a valid object; a buffer's bytes are
/// borrowed as `mp::buffer` says.
unsafe fn classify<'a>(o: Obj) -> Result<Arg<'a>, Fail> {
    // SAFETY: the caller's contract.
    unsafe {
        if let Some(b) = mp::buffer(o) {
            return Ok(Arg::Bytes(b));
        }
        if let Some(v) = mp::small_int_value(o) {
            return Ok(Arg::Int(v));
        }
        if mp::type_is(o, mp::int_type()) {
            // Beyond the small-int range: MicroPython prints it.
            return Ok(Arg::Text(o));
        }
        if let Some(f) = mp::float_value(o) {
            return Ok(Arg::Float(f));
        }
    }
    Err(Fail::Type(BAD_ARG))
}

/// Checks every argument (TypeError if one cannot be sent, before anything is queued)
/// and returns roughly how many bytes `encode` will queue (numbers count as their longest
/// form): one pass over the arguments serves both.
///
/// # Safety
/// VM thread (nothing is raised). `args` must be valid objects.
pub unsafe fn check(args: &[Obj]) -> Result<usize, Fail> {
    if args.is_empty() {
        return Err(Fail::Type("a command needs at least its name"));
    }
    let mut n = 16;
    for &a in args {
        // An interned str (a command name, a key written in the source) is always
        // sendable, and no longer than a qstr can be: counted so, without looking up its
        // text (a walk through the qstr pools, twice per GET of a pipeline otherwise). A
        // build for speed only.
        #[cfg(speed)]
        if mp::is_qstr(a) {
            n += 16 + mp::QSTR_MAX_LEN;
            continue;
        }
        // SAFETY: the caller's contract; the class is used at once, nothing borrowed kept.
        let class = unsafe { classify(a)? };
        n += 16
            + match class {
                Arg::Bytes(b) => b.len(),
                Arg::Int(_) | Arg::Text(_) | Arg::Float(_) => 24,
            };
    }
    Ok(n)
}

/// Where `encode_into` puts a request's bytes: a connection (its write buffer, or the
/// vstr it collects into), or a vstr of its own for `picoredis.encode()`. An enum rather
/// than a generic, so both share one encoder in flash; without the `reader` feature only
/// the connection is left, and the encoder is what it was before.
enum Sink<'a> {
    Conn(&'a mut Conn),
    #[cfg(feature = "reader")]
    Vstr(&'a mut crate::sys::vstr_t),
}

impl Sink<'_> {
    /// Appends `data`.
    ///
    /// # Safety
    /// VM thread, inside a glue call; may raise, so the frames up to the glue's
    /// `nlr_push` must hold nothing that needs dropping. A connection: the connection
    /// contract (`conn`'s `# Safety` sections), open unless collecting. A vstr: set up.
    unsafe fn put(&mut self, data: &[u8]) -> Result<(), Fail> {
        // SAFETY: the caller's contract.
        unsafe {
            match self {
                Sink::Conn(c) => c.write(data),
                #[cfg(feature = "reader")]
                Sink::Vstr(v) => {
                    crate::conn::collect(v, data);
                    Ok(())
                }
            }
        }
    }

    /// Writes `parts` one after the other in one place reserved for them all (one check
    /// of the room instead of one per part); a connection without that much room in its
    /// buffer takes them one `put` at a time. (A build for speed only: elsewhere `bulk`
    /// puts its parts one by one, in less flash.)
    ///
    /// # Safety
    /// As `put`.
    #[cfg(speed)]
    unsafe fn put_all(&mut self, parts: &[&[u8]]) -> Result<(), Fail> {
        let n = parts.iter().map(|p| p.len()).sum();
        // SAFETY: the caller's contract; the room is written before anything else is
        // done with the sink.
        let room = unsafe {
            match self {
                Sink::Conn(c) => c.room(n),
                #[cfg(feature = "reader")]
                Sink::Vstr(v) => Some(crate::conn::vstr_room(v, n)),
            }
        };
        let Some(room) = room else {
            for p in parts {
                // SAFETY: the caller's contract.
                unsafe { self.put(p)? };
            }
            return Ok(());
        };
        let mut at = 0;
        for p in parts {
            at += mp::copy_prefix(room.get_mut(at..).unwrap_or(&mut []), p);
        }
        match self {
            Sink::Conn(c) => c.commit(at),
            #[cfg(feature = "reader")]
            Sink::Vstr(v) => v.len = (v.len + at).min(v.alloc),
        }
        Ok(())
    }
}

/// Queues the command `args` on `conn` (see `encode_into`).
///
/// # Safety
/// The connection contract (`conn`'s `# Safety` sections); `conn` must be open unless
/// collecting. `args` as for `encode_into`.
pub unsafe fn encode(conn: &mut Conn, args: &[Obj]) -> Result<(), Fail> {
    // SAFETY: the caller's contract.
    unsafe { encode_into(&mut Sink::Conn(conn), args) }
}

/// Queues `*N\r\n` and each argument as a bulk string. Call `check` first: an argument
/// that fails here would leave a partial command queued.
///
/// # Safety
/// As `Sink::put` for `out`. `args` must be valid objects, and a buffer among them must
/// keep its storage until it is written.
unsafe fn encode_into(out: &mut Sink, args: &[Obj]) -> Result<(), Fail> {
    // SAFETY: the caller's contract.
    #[cfg(speed)]
    if unsafe { encode_buffers(out, args) } {
        return Ok(());
    }
    let mut hdr = [0u8; 24];
    // SAFETY: the caller's contract; every local here (byte arrays, ryu's buffer, the
    // vstr) is plain data with nothing to drop; the vstr is set up by `str_of` and
    // cleared after its text is written, also when the write fails.
    unsafe {
        out.put(resp::encode::array_header(args.len(), &mut hdr))?;
        for &a in args {
            match classify(a)? {
                Arg::Bytes(b) => bulk(out, b)?,
                Arg::Int(i) => {
                    let mut digits = [0u8; 20];
                    bulk(out, resp::encode::fmt_isize(i, &mut digits))?;
                }
                Arg::Float(f) => {
                    let mut text = [0u8; 32];
                    bulk(out, float_text(f, &mut text))?;
                }
                Arg::Text(o) => {
                    let mut v = mp::vstr_empty();
                    mp::str_of(o, &mut v);
                    let r = bulk(out, mp::vstr_slice(&mut v));
                    mp::vstr_clear(&mut v);
                    r?;
                }
            }
        }
    }
    Ok(())
}

/// The common command in one piece (a build for speed): up to `BUFFERS_MAX` arguments,
/// all str/bytes/buffers (every command name, most keys and values), measured first, then
/// written into room reserved once, with no call per piece. False (nothing written) for
/// any other command, or when the connection's buffer lacks the room: `encode_into` then
/// writes it piece by piece.
///
/// # Safety
/// As `encode_into`.
#[cfg(speed)]
unsafe fn encode_buffers(out: &mut Sink, args: &[Obj]) -> bool {
    const BUFFERS_MAX: usize = 8;
    let mut parts: [&[u8]; BUFFERS_MAX] = [&[]; BUFFERS_MAX];
    if args.len() > BUFFERS_MAX {
        return false;
    }
    // `*N\r\n`, then `$len\r\n<data>\r\n` each: a length has at most 20 digits.
    let mut total = 23;
    for (part, &a) in parts.iter_mut().zip(args) {
        // SAFETY: the caller's contract; the bytes are written below, before anything
        // else runs.
        let Some(b) = (unsafe { mp::buffer(a) }) else {
            return false;
        };
        *part = b;
        total += b.len() + 25;
    }
    // SAFETY: the caller's contract; the room is written before anything else is done
    // with the sink.
    let room = unsafe {
        match out {
            Sink::Conn(c) => c.room(total),
            #[cfg(feature = "reader")]
            Sink::Vstr(v) => Some(crate::conn::vstr_room(v, total)),
        }
    };
    let Some(room) = room else {
        return false;
    };
    let mut w = Cursor { buf: room, at: 0 };
    w.head(b'*', args.len());
    for b in parts.iter().take(args.len()) {
        w.head(b'$', b.len());
        w.at += mp::copy_prefix(w.buf.get_mut(w.at..).unwrap_or(&mut []), b);
        w.crlf();
    }
    let at = w.at;
    match out {
        Sink::Conn(c) => c.commit(at),
        #[cfg(feature = "reader")]
        Sink::Vstr(v) => v.len = (v.len + at).min(v.alloc),
    }
    true
}

/// Writes into reserved room, byte by byte where pieces are tiny (a call to `memcpy` for
/// two bytes costs more than they do). Writes past the end are dropped (never happens:
/// the room was measured).
#[cfg(speed)]
struct Cursor<'a> {
    buf: &'a mut [u8],
    at: usize,
}

#[cfg(speed)]
impl Cursor<'_> {
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.at) {
            *slot = b;
            self.at += 1;
        }
    }

    fn crlf(&mut self) {
        self.byte(b'\r');
        self.byte(b'\n');
    }

    /// `<prefix><n>\r\n`.
    fn head(&mut self, prefix: u8, n: usize) {
        self.byte(prefix);
        let mut digits = 1;
        let mut rest = n;
        while rest >= 10 {
            rest /= 10;
            digits += 1;
        }
        let mut rest = n;
        for i in (0..digits).rev() {
            if let Some(slot) = self.buf.get_mut(self.at + i) {
                *slot = b'0' + (rest % 10) as u8;
            }
            rest /= 10;
        }
        self.at += digits;
        self.crlf();
    }
}

/// The shortest text that reads back as `f`. Double-precision ports: Ryū (exact, 17
/// significant digits at most). Single-precision ports (most boards): MicroPython's own
/// formatter, which the firmware has anyway, with the fewest digits from 7 to 9 that its
/// parser reads back as `f` (9 always suffice for a 32-bit float); Ryū's tables would
/// cost 3 KB of flash there.
#[cfg(mp_float_double)]
unsafe fn float_text(f: Float, buf: &mut [u8; 32]) -> &[u8] {
    let mut text = ryu::Buffer::new();
    let s = text.format(f).as_bytes();
    let n = mp::copy_prefix(buf, s);
    buf.get(..n).unwrap_or(&[])
}

/// # Safety
/// VM thread; may raise (MemoryError).
#[cfg(all(mp_float, not(mp_float_double)))]
unsafe fn float_text(f: Float, buf: &mut [u8; 32]) -> &[u8] {
    let mut n = 0;
    for prec in 7..=9 {
        // SAFETY: the caller's contract; the parsed float object is plain garbage after.
        let same = unsafe {
            n = mp::format_float(f, buf, prec);
            mp::float_value(mp::parse_float(buf.get(..n).unwrap_or(&[]))) == Some(f)
        };
        if same {
            break;
        }
    }
    buf.get(..n).unwrap_or(&[])
}

/// (No floats on this port: never called.)
#[cfg(not(mp_float))]
unsafe fn float_text(_: Float, _: &mut [u8; 32]) -> &[u8] {
    &[]
}

/// # Safety
/// As `encode_into`; `data` must stay valid while it is written.
unsafe fn bulk(out: &mut Sink, data: &[u8]) -> Result<(), Fail> {
    let mut hdr = [0u8; 24];
    let head = resp::encode::bulk_header(data.len(), &mut hdr);
    // SAFETY: the caller's contract.
    #[cfg(speed)]
    unsafe {
        out.put_all(&[head, data, resp::encode::CRLF])
    }
    // SAFETY: the caller's contract.
    #[cfg(not(speed))]
    unsafe {
        out.put(head)?;
        out.put(data)?;
        out.put(resp::encode::CRLF)
    }
}

/// `picoredis.encode(*args)`: the request for the command `args` as a new `bytes`, with
/// the client's checks (TypeError, nothing made) and bytes. Collected in a vstr of its
/// own, sized by `check`'s estimate, whose buffer the bytes object then takes over
/// (shrunk in place to fit): the request is not copied a second time.
///
/// # Safety
/// VM thread, inside a glue call; may raise (MemoryError): the frames up to the
/// `nlr_push` that catches it must hold nothing that needs dropping. `args` must be valid
/// objects, and a buffer among them must keep its storage until the call returns.
#[cfg(feature = "reader")]
pub unsafe fn to_bytes(args: &[Obj]) -> Result<Obj, Fail> {
    // SAFETY: the caller's contract. `v` is plain data on this frame, where the GC sees
    // its buffer; it is set up before `encode_into` writes to it, then handed to the
    // bytes object. (After `check`, `encode_into` cannot fail; if it did, the buffer
    // would be left to the GC.)
    unsafe {
        let size = check(args)?;
        let mut v = mp::vstr_empty();
        mp::vstr_init(&mut v, size);
        encode_into(&mut Sink::Vstr(&mut v), args)?;
        Ok(mp::bytes_from_vstr_fit(&mut v))
    }
}

/// Appends the request for the command `args` to `v` (the asyncio layer's write buffer),
/// with the client's checks (TypeError, nothing appended) and bytes.
///
/// # Safety
/// VM thread, inside a glue call; may raise (MemoryError) with part of the request
/// appended: the caller cuts `v` back. `v` must be set up; `args` must be valid objects,
/// and a buffer among them must keep its storage until the call returns.
#[cfg(feature = "reader")]
pub unsafe fn append(v: &mut crate::sys::vstr_t, args: &[Obj]) -> Result<(), Fail> {
    // SAFETY: the caller's contract.
    unsafe {
        check(args)?;
        encode_into(&mut Sink::Vstr(v), args)
    }
}
