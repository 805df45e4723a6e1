//! The byte pipe to the server: a MicroPython stream object (socket, ssl socket or any
//! object with the stream protocol), a write buffer that turns a command into one write,
//! and a read buffer filled in large chunks.
//!
//! Timeouts bound a whole reply: a `Deadline` is fixed when the reply is awaited, and
//! when the socket supports `settimeout`, each further wait is capped at the time left.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::sys;

pub const RBUF: usize = 1024;
pub const WBUF: usize = 512;

#[derive(Clone, Copy)]
pub struct Deadline {
    start: u32,
    ms: u32,
}

impl Deadline {
    pub unsafe fn after(ms: u32) -> Self {
        Deadline {
            start: mp::ticks_ms(),
            ms,
        }
    }

    /// Milliseconds left, or `None` once the deadline has passed.
    unsafe fn left(self) -> Option<u32> {
        let spent = mp::ticks_ms().wrapping_sub(self.start);
        self.ms.checked_sub(spent).filter(|&l| l > 0)
    }
}

/// All zeroes is the initial state (closed, buffers empty): `Client::alloc` relies on it.
#[repr(C)]
pub struct Conn {
    /// The stream, or NULL when closed. Reachable by the GC through the client object.
    pub sock: Obj,
    /// The object `settimeout` is called on: the stream itself, or the raw socket under
    /// a TLS stream that has no `settimeout` of its own; NULL when neither has one.
    timeout_obj: Obj,
    /// The timeout last given to `settimeout` (0: unknown), so it is only called when it
    /// has to change.
    sock_timeout_ms: u32,
    /// The stream protocol of `sock` (for the readiness poll).
    stream: *const sys::mp_stream_p_t,
    /// `ticks_ms` of the last read or write, to know how long the link sat idle.
    last_io: u32,
    pub debug: bool,
    /// When set, `write` appends here instead of sending: a pipeline (or a traced
    /// command) is collected whole, then sent with one write. The vstr lives on the
    /// caller's stack, where the GC sees its buffer.
    pub collect: *mut sys::vstr_t,
    rpos: usize,
    rlen: usize,
    wlen: usize,
    rbuf: [u8; RBUF],
    wbuf: [u8; WBUF],
}

impl Conn {
    pub fn is_open(&self) -> bool {
        !self.sock.is_null()
    }

    /// Takes `sock` (already connected) as the stream. Raises if it is not a stream.
    /// `raw` is the socket under it (for `settimeout`) when `sock` wraps one (TLS).
    pub unsafe fn attach(&mut self, sock: Obj, raw: Obj) {
        self.stream = sys::mp_get_stream_raise(
            sock,
            (sys::MP_STREAM_OP_READ | sys::MP_STREAM_OP_WRITE | sys::MP_STREAM_OP_IOCTL) as _,
        );
        self.sock = sock;
        self.sock_timeout_ms = 0;
        let settimeout = mp::qstr(sys::MP_QSTR_settimeout);
        self.timeout_obj = if mp::has_method(sock, settimeout) {
            sock
        } else if !raw.is_null() && mp::has_method(raw, settimeout) {
            raw
        } else {
            mp::NULL
        };
        self.last_io = mp::ticks_ms();
        self.rpos = 0;
        self.rlen = 0;
        self.wlen = 0;
    }

    /// Forgets the stream and any buffered bytes, then closes the stream if asked. The
    /// state is cleared first, so a close that raises leaves a cleanly closed client.
    pub unsafe fn detach(&mut self, close: bool) {
        let sock = self.sock;
        self.sock = mp::NULL;
        self.timeout_obj = mp::NULL;
        self.stream = core::ptr::null();
        self.collect = core::ptr::null_mut();
        self.rpos = 0;
        self.rlen = 0;
        self.wlen = 0;
        if close && !sock.is_null() {
            sys::mp_stream_close(sock);
        }
    }

    /// Sets the socket timeout, when the stream has one and it differs.
    pub unsafe fn set_timeout(&mut self, ms: u32) {
        if self.timeout_obj.is_null() || self.sock_timeout_ms == ms {
            return;
        }
        let secs = seconds(ms);
        mp::call_method(self.timeout_obj, mp::qstr(sys::MP_QSTR_settimeout), &[secs]);
        self.sock_timeout_ms = ms;
    }

    /// Milliseconds since the last read or write.
    pub unsafe fn idle_ms(&self) -> u32 {
        mp::ticks_ms().wrapping_sub(self.last_io)
    }

    /// Whether bytes (or EOF) are waiting to be read, without blocking.
    pub unsafe fn readable_now(&self) -> bool {
        if !self.pending().is_empty() {
            return true;
        }
        let Some(ioctl) = self.stream.as_ref().and_then(|p| p.ioctl) else {
            return false;
        };
        let mut err: core::ffi::c_int = 0;
        let flags = sys::MP_STREAM_POLL_RD as usize;
        let r = ioctl(self.sock, sys::MP_STREAM_POLL as _, flags as _, &mut err);
        // MP_STREAM_ERROR is (mp_uint_t)-1.
        (r as usize) != usize::MAX && (r as usize) & flags != 0
    }

    // ---- writing -------------------------------------------------------------------

    /// Queues `data`; a piece too large for the buffer is written straight from its source.
    pub unsafe fn write(&mut self, data: &[u8]) -> Result<(), Fail> {
        if !self.collect.is_null() {
            let v = &mut *self.collect;
            // Grow by doubling: MicroPython's vstr grows to just what is asked, which makes
            // a long pipeline quadratic in reallocations.
            if v.alloc - v.len < data.len() {
                sys::vstr_hint_size(v, data.len().max(v.alloc));
            }
            sys::vstr_add_strn(v, data.as_ptr() as *const _, data.len());
            return Ok(());
        }
        if data.len() > WBUF.saturating_sub(self.wlen) {
            self.flush()?;
            if data.len() >= WBUF {
                return self.write_all(data);
            }
        }
        if let Some(dst) = self.wbuf.get_mut(self.wlen..) {
            self.wlen += mp::copy_prefix(dst, data);
        }
        Ok(())
    }

    pub unsafe fn flush(&mut self) -> Result<(), Fail> {
        let n = core::mem::replace(&mut self.wlen, 0);
        let buf = self.wbuf.get(..n).unwrap_or(&[]);
        // Copy out of self to satisfy the borrow: the buffer is not touched while writing.
        let (ptr, len) = (buf.as_ptr(), buf.len());
        self.write_all(core::slice::from_raw_parts(ptr, len))
    }

    pub unsafe fn write_all(&mut self, data: &[u8]) -> Result<(), Fail> {
        if data.is_empty() {
            return Ok(());
        }
        let mut err: core::ffi::c_int = 0;
        let n = sys::mp_stream_rw(
            self.sock,
            data.as_ptr() as *mut _,
            data.len() as _,
            &mut err,
            sys::MP_STREAM_RW_WRITE as _,
        );
        if err != 0 {
            return Err(io_fail(err));
        }
        if (n as usize) < data.len() {
            return Err(Fail::Closed);
        }
        self.last_io = mp::ticks_ms();
        Ok(())
    }

    // ---- reading -------------------------------------------------------------------

    /// The bytes received and not yet consumed.
    pub fn pending(&self) -> &[u8] {
        self.rbuf.get(self.rpos..self.rlen).unwrap_or(&[])
    }

    pub fn consume(&mut self, n: usize) {
        self.rpos = (self.rpos + n).min(self.rlen);
    }

    /// Reads at least one more byte into the buffer (moving the unconsumed tail to the
    /// front first), waiting no longer than the deadline allows.
    pub unsafe fn fill(&mut self, deadline: Deadline) -> Result<(), Fail> {
        if self.rpos > 0 {
            // Move the unconsumed tail to the front (regions may overlap: ptr::copy).
            let tail = self.pending();
            let (src, len) = (tail.as_ptr(), tail.len());
            core::ptr::copy(src, self.rbuf.as_mut_ptr(), len);
            self.rlen = len;
            self.rpos = 0;
        }
        let rlen = self.rlen;
        let n = match self.rbuf.get_mut(rlen..) {
            Some(space) if !space.is_empty() => {
                let (ptr, len) = (space.as_mut_ptr(), space.len());
                self.read_some(core::slice::from_raw_parts_mut(ptr, len), deadline)?
            }
            // A full buffer without a complete token: the parser's line limit is the
            // buffer size, so this cannot happen; fail safe rather than spin.
            _ => return Err(Fail::Parse(resp::Error::LineTooLong)),
        };
        self.rlen += n;
        Ok(())
    }

    /// Takes up to `dst.len()` bytes: first those already buffered, then straight from
    /// the stream into `dst` (a bulk string's final object), never through the buffer.
    pub unsafe fn read_into(&mut self, dst: &mut [u8], deadline: Deadline) -> Result<usize, Fail> {
        let pending = self.pending();
        if !pending.is_empty() {
            let n = mp::copy_prefix(dst, pending);
            self.consume(n);
            return Ok(n);
        }
        self.read_some(dst, deadline)
    }

    unsafe fn read_some(&mut self, dst: &mut [u8], deadline: Deadline) -> Result<usize, Fail> {
        let left = deadline.left().ok_or(Fail::Timeout)?;
        if left < self.sock_timeout_ms || self.sock_timeout_ms == 0 {
            self.set_timeout(left);
        }
        let mut err: core::ffi::c_int = 0;
        let flags = sys::MP_STREAM_RW_READ | sys::MP_STREAM_RW_ONCE;
        let n = sys::mp_stream_rw(
            self.sock,
            dst.as_mut_ptr() as *mut _,
            dst.len() as _,
            &mut err,
            flags as _,
        );
        if err != 0 {
            return Err(io_fail(err));
        }
        if n == 0 {
            return Err(Fail::Closed);
        }
        self.last_io = mp::ticks_ms();
        Ok(n as usize)
    }
}

fn io_fail(err: core::ffi::c_int) -> Fail {
    let err = err as u32;
    if err == sys::MP_EAGAIN || err == sys::MP_ETIMEDOUT {
        Fail::Timeout
    } else {
        Fail::Os(err as i32)
    }
}

/// `ms / 1000` as the float `settimeout` takes, computed by MicroPython (true division)
/// so the Rust core carries no float code; without floats, whole seconds rounded up (a
/// short timeout must not become 0, which means non-blocking).
unsafe fn seconds(ms: u32) -> Obj {
    #[cfg(mp_float)]
    {
        sys::mp_binary_op(
            sys::MP_BINARY_OP_TRUE_DIVIDE,
            mp::small_int(ms as isize),
            mp::small_int(1000),
        )
    }
    #[cfg(not(mp_float))]
    {
        mp::small_int(ms.div_ceil(1000) as isize)
    }
}
