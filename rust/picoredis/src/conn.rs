//! The byte pipe to the server: a MicroPython stream object (socket, ssl socket or any
//! object with the stream protocol), a write buffer that turns a command into one write,
//! and a read buffer filled in large chunks.
//!
//! Timeouts bound a whole reply: a `Deadline` is fixed when the reply first needs a read
//! (one already buffered needs no clock), and when the socket supports `settimeout`, each
//! further wait is capped at the time left.
//!
//! The unsafe methods here share one contract (in their `# Safety` sections: "the
//! connection contract"): VM thread, inside a glue call holding the client's lock; they
//! may raise, so the frames up to the glue's `nlr_push` must hold nothing that needs
//! dropping; and `collect`, when not null, points to a live, set-up vstr.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::sys;

/// The read and write buffers, part of every client object. Boards: 1 KB and 512 B (RAM
/// is scarce; a bigger reply is read in more calls, a bulk payload straight into its
/// object). A hosted (Linux) build, the unix port or a native module on it: 16 KB and
/// 4 KB, so a 10 KB reply (LRANGE of 1000 small elements) takes one `read` instead of
/// eleven and a 1 KB SET goes out of the buffer without a temporary one.
#[cfg(not(target_os = "linux"))]
pub const RBUF: usize = 1024;
#[cfg(not(target_os = "linux"))]
pub const WBUF: usize = 512;
#[cfg(target_os = "linux")]
pub const RBUF: usize = 16 * 1024;
#[cfg(target_os = "linux")]
pub const WBUF: usize = 4 * 1024;

/// A timeout of this many ms means none: wait without limit (`timeout=None`).
pub const FOREVER: u32 = u32::MAX;

/// A timeout option in ms as the connection takes it (`FOREVER` for no limit).
pub fn timeout(ms: sys::mp_int_t) -> u32 {
    if ms < 0 {
        FOREVER
    } else {
        u32::try_from(ms).unwrap_or(FOREVER)
    }
}

/// Appends `data` to the vstr a request is collected in (a connection's `collect`, or
/// `picoredis.encode()`'s own).
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be set up (`vstr_init`).
pub unsafe fn collect(v: &mut sys::vstr_t, data: &[u8]) {
    // SAFETY: the caller's contract.
    unsafe {
        grow(v, data.len());
        mp::vstr_add(v, data);
    }
}

/// Makes room for `n` more bytes in `v`, by doubling: MicroPython's vstr grows to just
/// what is asked, which makes a long pipeline quadratic in reallocations.
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be set up (`vstr_init`).
unsafe fn grow(v: &mut sys::vstr_t, n: usize) {
    if v.alloc - v.len < n {
        // SAFETY: the caller's contract.
        unsafe { mp::vstr_hint_size(v, n.max(v.alloc)) };
    }
}

/// The free end of `v`, at least `n` bytes, to write in place (then add what was written
/// to `v.len`), grown by doubling.
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be set up (`vstr_init`); the slice is
/// valid until `v` changes.
#[cfg(speed)]
pub unsafe fn vstr_room<'a>(v: &mut sys::vstr_t, n: usize) -> &'a mut [u8] {
    // SAFETY: the caller's contract; a set-up vstr has `alloc` bytes at `buf` (not null
    // once it has any), `len` of them used.
    unsafe {
        grow(v, n);
        if v.buf.is_null() {
            return &mut [];
        }
        core::slice::from_raw_parts_mut((v.buf as *mut u8).add(v.len), v.alloc - v.len)
    }
}

// A deadline lives in frames across MicroPython calls that may longjmp.
const _: () = assert!(!core::mem::needs_drop::<Deadline>());

#[derive(Clone, Copy)]
pub struct Deadline {
    start: u32,
    ms: u32,
}

impl Deadline {
    /// A deadline for a read that cannot wait (its bytes are buffered): no clock read.
    pub const UNUSED: Deadline = Deadline { start: 0, ms: 0 };

    pub fn after(ms: u32) -> Self {
        Deadline {
            start: mp::ticks_ms(),
            ms,
        }
    }

    /// Milliseconds left (`FOREVER` for no limit), or `None` once the deadline has passed.
    fn left(self) -> Option<u32> {
        if self.ms == FOREVER {
            return Some(FOREVER);
        }
        let spent = mp::ticks_ms().wrapping_sub(self.start);
        self.ms.checked_sub(spent).filter(|&l| l > 0)
    }
}

/// All zeroes is the initial state (closed, buffers empty): `Client::alloc` relies on it.
/// While `sock` is not null it is a stream object and `stream` its stream protocol
/// (`attach` sets both, `detach` clears both).
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
    /// How long a write may wait for the stream (the client's timeout, ms).
    pub write_ms: u32,
    pub debug: bool,
    /// When set, `write` appends here instead of sending: a pipeline (or a traced
    /// command) is collected whole, then sent with one write. The vstr lives on the
    /// caller's stack, where the GC sees its buffer.
    pub collect: *mut sys::vstr_t,
    rpos: usize,
    rlen: usize,
    wlen: usize,
    pub(crate) rbuf: [u8; RBUF],
    pub(crate) wbuf: [u8; WBUF],
}

impl Conn {
    /// Whether requests and replies are printed (`debug=True`); always false in a build
    /// without the `trace` feature, so the trace code is left out.
    pub fn tracing(&self) -> bool {
        cfg!(feature = "trace") && self.debug
    }

    pub fn is_open(&self) -> bool {
        !self.sock.is_null()
    }

    /// Takes `sock` (already connected) as the stream. Raises if it is not a stream.
    /// `raw` is the socket under it (for `settimeout`) when `sock` wraps one (TLS).
    ///
    /// # Safety
    /// The connection contract. `sock` must be a valid object, `raw` one or null.
    pub unsafe fn attach(&mut self, sock: Obj, raw: Obj) {
        let settimeout = mp::qstr(sys::MP_QSTR_settimeout);
        // SAFETY: the caller's contract. `sock` is stored only once `stream_of` has
        // checked it is a stream, with its protocol.
        unsafe {
            self.stream = mp::stream_of(sock);
            self.sock = sock;
            self.sock_timeout_ms = 0;
            self.timeout_obj = if mp::has_method(sock, settimeout) {
                sock
            } else if !raw.is_null() && mp::has_method(raw, settimeout) {
                raw
            } else {
                mp::NULL
            };
        }
        self.last_io = mp::ticks_ms();
        self.rpos = 0;
        self.rlen = 0;
        self.wlen = 0;
    }

    /// Forgets the stream and any buffered bytes, then closes the stream if asked. The
    /// state is cleared first, so the client is cleanly closed whatever the close does;
    /// an exception the stream's close raised is returned, not raised.
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the client's lock (nothing is raised).
    pub unsafe fn detach(&mut self, close: bool) -> Option<Obj> {
        let sock = self.sock;
        self.sock = mp::NULL;
        self.timeout_obj = mp::NULL;
        self.stream = core::ptr::null();
        self.collect = core::ptr::null_mut();
        self.rpos = 0;
        self.rlen = 0;
        self.wlen = 0;
        if close && !sock.is_null() {
            // SAFETY: the caller's contract; `sock` was the stream, a valid object.
            return unsafe { mp::stream_close(sock) };
        }
        None
    }

    /// Sets the socket timeout, when the stream has one and it differs.
    ///
    /// # Safety
    /// The connection contract.
    pub unsafe fn set_timeout(&mut self, ms: u32) {
        if self.timeout_obj.is_null() || self.sock_timeout_ms == ms {
            return;
        }
        // SAFETY: the caller's contract; `timeout_obj` is a valid object (set by
        // `attach` to one with `settimeout`).
        unsafe {
            let secs = if ms == FOREVER {
                mp::none()
            } else {
                seconds(ms)
            };
            mp::call_method(self.timeout_obj, mp::qstr(sys::MP_QSTR_settimeout), &[secs]);
        }
        self.sock_timeout_ms = ms;
    }

    /// Milliseconds since the last read or write.
    pub fn idle_ms(&self) -> u32 {
        mp::ticks_ms().wrapping_sub(self.last_io)
    }

    /// Whether bytes (or EOF) are waiting to be read, without blocking.
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the client's lock (nothing is raised).
    pub unsafe fn readable_now(&self) -> bool {
        // SAFETY: the caller's contract; `stream` is null or `sock`'s protocol (the
        // struct's invariant).
        !self.pending().is_empty()
            || unsafe { mp::stream_ready(self.sock, self.stream, mp::POLL_RD) } == Some(true)
    }

    /// The stream said "not now" (EAGAIN) with time left before `deadline`. A socket's
    /// own timeout ran out: it was shorter than the time left (set for an earlier, shorter
    /// wait), so it is set anew before the retry. A stream without `settimeout` is
    /// non-blocking: poll it, sleeping a millisecond at a time, until it is ready.
    ///
    /// # Safety
    /// The connection contract.
    unsafe fn wait(&mut self, flags: usize, deadline: Deadline) -> Result<(), Fail> {
        deadline.left().ok_or(Fail::Timeout)?;
        if !self.timeout_obj.is_null() {
            self.sock_timeout_ms = 0;
        } else {
            // SAFETY: the caller's contract; `stream` is null or `sock`'s protocol (the
            // struct's invariant).
            unsafe {
                if mp::stream_ready(self.sock, self.stream, flags) != Some(true) {
                    mp::delay_ms(1);
                }
            }
        }
        Ok(())
    }

    // ---- writing -------------------------------------------------------------------

    /// Room for `n` bytes after what is queued, to write in place and then `commit`: the
    /// free end of the vstr being collected into (grown when short), or of the write
    /// buffer when that much is free. None: the buffer is too full or too small for `n`
    /// (`write` then queues the piece, flushing or writing it straight from its source).
    ///
    /// # Safety
    /// The connection contract; the slice is valid until the next call on `self`.
    #[cfg(speed)]
    pub unsafe fn room<'a>(&mut self, n: usize) -> Option<&'a mut [u8]> {
        if !self.collect.is_null() {
            // SAFETY: the caller's contract: `collect` points to a live, set-up vstr.
            return Some(unsafe { vstr_room(&mut *self.collect, n) });
        }
        let free = self.wbuf.get_mut(self.wlen..).filter(|f| f.len() >= n)?;
        // SAFETY: unbound from `self` for the caller, who writes it before the next call
        // on `self` (the contract).
        Some(unsafe { core::slice::from_raw_parts_mut(free.as_mut_ptr(), free.len()) })
    }

    /// Adds `n` bytes written into the last `room` to what is queued.
    #[cfg(speed)]
    pub fn commit(&mut self, n: usize) {
        if self.collect.is_null() {
            self.wlen = (self.wlen + n).min(WBUF);
        } else {
            // SAFETY: `collect` points to a live, set-up vstr (the field's contract), whose
            // free end `room` gave out.
            let v = unsafe { &mut *self.collect };
            v.len = (v.len + n).min(v.alloc);
        }
    }

    /// How many bytes are collected so far (0 when not collecting).
    #[cfg(speed)]
    pub fn collected(&self) -> usize {
        if self.collect.is_null() {
            return 0;
        }
        // SAFETY: `collect` points to a live, set-up vstr (the field's contract).
        unsafe { (*self.collect).len }
    }

    /// Writes what has been collected so far and empties the collector: a long pipeline
    /// goes out in parts, so the server works on its first commands while the rest are
    /// encoded.
    ///
    /// # Safety
    /// The connection contract; the connection must be open.
    #[cfg(speed)]
    pub unsafe fn send_part(&mut self) -> Result<(), Fail> {
        if self.collect.is_null() {
            return Ok(());
        }
        // SAFETY: the caller's contract: `collect` points to a live, set-up vstr, which
        // `write_all` does not touch; it is emptied once its bytes are written.
        unsafe {
            let v = &mut *self.collect;
            let data = mp::vstr_slice(v);
            self.write_all(data)?;
            (*self.collect).len = 0;
        }
        Ok(())
    }

    /// Queues `data`; a piece too large for the buffer is written straight from its source.
    ///
    /// # Safety
    /// The connection contract; the connection must be open unless collecting.
    pub unsafe fn write(&mut self, data: &[u8]) -> Result<(), Fail> {
        if !self.collect.is_null() {
            // SAFETY: the caller's contract: `collect` points to a live, set-up vstr.
            unsafe { collect(&mut *self.collect, data) };
            return Ok(());
        }
        if data.len() > WBUF.saturating_sub(self.wlen) {
            // SAFETY: the caller's contract (the connection is open).
            unsafe {
                self.flush()?;
                if data.len() >= WBUF {
                    return self.write_all(data);
                }
            }
        }
        if let Some(dst) = self.wbuf.get_mut(self.wlen..) {
            self.wlen += mp::copy_prefix(dst, data);
        }
        Ok(())
    }

    /// Writes what `write` queued.
    ///
    /// # Safety
    /// The connection contract; the connection must be open (or nothing queued).
    pub unsafe fn flush(&mut self) -> Result<(), Fail> {
        let n = core::mem::replace(&mut self.wlen, 0);
        let buf = self.wbuf.get(..n).unwrap_or(&[]);
        // Copy out of self to satisfy the borrow: the buffer is not touched while writing.
        let (ptr, len) = (buf.as_ptr(), buf.len());
        // SAFETY: `ptr..ptr + len` is the queued part of `wbuf`, which `write_all` does
        // not touch (wlen is 0 now, and `collect` is null when the buffer is used); the
        // rest is the caller's contract.
        unsafe { self.write_all(core::slice::from_raw_parts(ptr, len)) }
    }

    /// Writes all of `data`, one stream call at a time (`transfer` checks each count).
    ///
    /// # Safety
    /// The connection contract; the connection must be open (or `data` empty).
    pub unsafe fn write_all(&mut self, data: &[u8]) -> Result<(), Fail> {
        let deadline = Deadline::after(self.write_ms);
        let mut rest = data;
        while !rest.is_empty() {
            let (ptr, len) = (rest.as_ptr() as *mut u8, rest.len());
            // SAFETY: the caller's contract; a write only reads the `len` bytes at `ptr`.
            let sent = unsafe { self.transfer(ptr, len, true, deadline)? };
            if let Some(n) = sent {
                rest = rest.get(n..).unwrap_or(&[]);
            }
        }
        Ok(())
    }

    /// One stream call moving at most `len` bytes at `buf` (a write reads them, a read
    /// fills them): `Some(n)` with `0 < n <= len`, or `None` after waiting for the stream
    /// to be ready (try again). The one place bytes move: the count the stream reports is
    /// checked here, before anything trusts it (a Python stream can claim any number:
    /// OSError EIO); 0 is EOF.
    ///
    /// # Safety
    /// The connection contract; the connection must be open; `buf..buf + len` valid for
    /// the transfer's direction.
    unsafe fn transfer(
        &mut self,
        buf: *mut u8,
        len: usize,
        write: bool,
        deadline: Deadline,
    ) -> Result<Option<usize>, Fail> {
        // SAFETY: the caller's contract: `sock` is a stream and `buf..buf + len` valid.
        let (n, err) = unsafe { mp::stream_once(self.sock, buf, len, write) };
        match io_fail(err) {
            None if n == 0 => Err(Fail::Closed),
            None if n > len => Err(Fail::Os(sys::MP_EIO as i32)),
            None => {
                self.last_io = mp::ticks_ms();
                Ok(Some(n))
            }
            Some(Fail::Timeout) => {
                let ready = if write { mp::POLL_WR } else { mp::POLL_RD };
                // SAFETY: the caller's contract.
                unsafe { self.wait(ready, deadline)? };
                Ok(None)
            }
            Some(f) => Err(f),
        }
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
    ///
    /// # Safety
    /// The connection contract; the connection must be open.
    pub unsafe fn fill(&mut self, deadline: Deadline) -> Result<(), Fail> {
        if self.rpos > 0 {
            // Move the unconsumed tail to the front (regions may overlap: ptr::copy).
            let tail = self.pending();
            let (src, len) = (tail.as_ptr(), tail.len());
            // SAFETY: both ranges lie in `rbuf` (the tail is `len` bytes of it, moved to
            // its start); `ptr::copy` allows the overlap.
            unsafe { core::ptr::copy(src, self.rbuf.as_mut_ptr(), len) };
            self.rlen = len;
            self.rpos = 0;
        }
        let rlen = self.rlen;
        let n = match self.rbuf.get_mut(rlen..) {
            Some(space) if !space.is_empty() => {
                let (ptr, len) = (space.as_mut_ptr(), space.len());
                // SAFETY: `ptr..ptr + len` is the free end of `rbuf`, which `read_some`
                // does not otherwise touch; the rest is the caller's contract.
                unsafe { self.read_some(core::slice::from_raw_parts_mut(ptr, len), deadline)? }
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
    ///
    /// # Safety
    /// The connection contract; the connection must be open.
    pub unsafe fn read_into(&mut self, dst: &mut [u8], deadline: Deadline) -> Result<usize, Fail> {
        let pending = self.pending();
        if !pending.is_empty() {
            let n = mp::copy_prefix(dst, pending);
            self.consume(n);
            return Ok(n);
        }
        // SAFETY: the caller's contract.
        unsafe { self.read_some(dst, deadline) }
    }

    /// Reads at least one byte into `dst`, waiting no longer than `deadline`.
    ///
    /// # Safety
    /// The connection contract; the connection must be open.
    unsafe fn read_some(&mut self, dst: &mut [u8], deadline: Deadline) -> Result<usize, Fail> {
        loop {
            let left = deadline.left().ok_or(Fail::Timeout)?;
            // SAFETY: the caller's contract; the read writes at most `dst.len()` bytes
            // into `dst`.
            unsafe {
                if left < self.sock_timeout_ms || self.sock_timeout_ms == 0 {
                    self.set_timeout(left);
                }
                if let Some(n) = self.transfer(dst.as_mut_ptr(), dst.len(), false, deadline)? {
                    return Ok(n);
                }
            }
        }
    }
}

fn io_fail(err: core::ffi::c_int) -> Option<Fail> {
    let err = err as u32;
    if err == 0 {
        None
    } else if err == sys::MP_EAGAIN || err == sys::MP_ETIMEDOUT {
        Some(Fail::Timeout)
    } else {
        Some(Fail::Os(err as i32))
    }
}

/// `ms / 1000` as the float `settimeout` takes, computed by MicroPython (true division)
/// so the Rust core carries no float code; without floats, whole seconds rounded up (a
/// short timeout must not become 0, which means non-blocking).
///
/// # Safety
/// VM thread, inside a glue call; may raise (MemoryError): the frames up to the glue's
/// `nlr_push` must hold nothing that needs dropping.
unsafe fn seconds(ms: u32) -> Obj {
    #[cfg(mp_float)]
    {
        // SAFETY: the caller's contract; two ints divide without error.
        unsafe { mp::true_divide(mp::small_int(ms as isize), mp::small_int(1000)) }
    }
    #[cfg(not(mp_float))]
    {
        // SAFETY: the caller's contract.
        unsafe { mp::small_int(ms.div_ceil(1000) as isize) }
    }
}
