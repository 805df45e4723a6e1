//! The Python face of the prototype (PyO3): what modpicoredis.c is for MicroPython, cut
//! down to what the measurements need. `parse()` is `Reader`'s path (bytes in, objects
//! out); `Client` is `Redis`' hot path (client.rs' command_once and pipeline without the
//! session, handshake and reconnect rules), over the same core modules.

use core::cell::UnsafeCell;
use core::ptr;

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use resp::parse::Parser;

use crate::conn::{self, Conn, Deadline};
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::reply::{self, Input};
use crate::{pool, request};

/// Runs one operation: its objects pooled, a raise caught, the outcome turned into a
/// Python result before the pool lets go (the result keeps a reference of its own).
///
/// # Safety
/// Holding the GIL; `f` and the core frames it calls hold nothing to drop.
unsafe fn run_op(py: Python<'_>, f: &mut dyn FnMut() -> Result<Obj, Fail>) -> PyResult<Py<PyAny>> {
    let m = pool::mark();
    let mut value = mp::NULL;
    let mut exc = mp::NULL;
    let mut body = || match f() {
        Ok(v) => value = v,
        // SAFETY: inside `protect` (making the exception may raise).
        Err(fail) => exc = unsafe { fail.exception() },
    };
    // SAFETY: the caller's contract; the closure holds only pointers.
    let raised = unsafe { mp::protect(&mut body) };
    // SAFETY: the objects are alive (pooled) until `release`; each Py gets its own ref.
    let out = unsafe {
        if raised {
            Err(PyErr::fetch(py))
        } else if !exc.is_null() {
            if pool::enabled() {
                ffi::Py_INCREF(exc);
            }
            Err(PyErr::from_value(Bound::from_owned_ptr(py, exc)))
        } else {
            if pool::enabled() {
                ffi::Py_INCREF(value);
            }
            Ok(Py::from_owned_ptr(py, value))
        }
    };
    // SAFETY: this thread's mark; the operation's frames are gone.
    unsafe { pool::release(m) };
    out
}

// ---- parse: bytes to reply objects ------------------------------------------------------

/// The bytes of complete replies (Reader's Span).
struct Span<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input for Span<'_> {
    fn pending(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }
    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.data.len());
    }
    unsafe fn fill(&mut self) -> Result<(), Fail> {
        Err(Fail::Parse(resp::Error::BulkOverrun))
    }
    unsafe fn read_into(&mut self, dst: &mut [u8]) -> Result<usize, Fail> {
        let src = self.pending();
        let n = src.len().min(dst.len());
        if n == 0 {
            return Err(Fail::Parse(resp::Error::BulkOverrun));
        }
        mp::copy_prefix(dst, src);
        self.consume(n);
        Ok(n)
    }
    fn debug(&self) -> bool {
        false
    }
}

/// `parse(data, n=1, decode=False)`: the one reply in `data`, or a list of its `n`
/// replies (n > 1), built by the core's reply builder.
#[pyfunction]
#[pyo3(signature = (data, n = 1, decode = false))]
fn parse(py: Python<'_>, data: &Bound<'_, PyBytes>, n: usize, decode: bool) -> PyResult<Py<PyAny>> {
    let bytes = data.as_bytes();
    let opts = reply::Options {
        raise_top_error: false,
        decode,
    };
    // SAFETY: the GIL is held; `data` outlives the call; the closure's frames are plain.
    unsafe {
        run_op(py, &mut || {
            let mut parser = Parser::new(reply::limits());
            let mut input = Span {
                data: bytes,
                pos: 0,
            };
            if n == 1 {
                return reply::read(&mut parser, &mut input, opts).map(|(v, _)| v);
            }
            let out = mp::new_list(n);
            for slot in mp::items_mut(out) {
                *slot = reply::read(&mut parser, &mut input, opts)?.0;
            }
            Ok(out)
        })
    }
}

#[pyfunction]
fn set_pool(on: bool) {
    pool::set_enabled(on);
}

/// Fault injection: the `n`th object made from now on fails with MemoryError.
#[pyfunction]
fn fail_after(n: isize) {
    pool::fail_after(n);
}

// ---- Client: one connection, the command and pipeline hot path --------------------------

struct Inner {
    conn: Conn,
    parser: Parser,
    timeout: u32,
    decode: bool,
    busy: bool,
}

#[pyclass]
struct Client {
    inner: UnsafeCell<Box<Inner>>,
    sock: Py<PyAny>,
}

// SAFETY: every method holds the GIL and refuses re-entry (`busy`); the prototype does not
// serialise threads (docs/hosts.md: the real glue's lock).
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

struct SocketInput<'a> {
    conn: &'a mut Conn,
    timeout: u32,
    deadline: Option<Deadline>,
}

impl SocketInput<'_> {
    fn deadline(&mut self) -> Deadline {
        let timeout = self.timeout;
        *self
            .deadline
            .get_or_insert_with(|| Deadline::after(timeout))
    }
}

impl Input for SocketInput<'_> {
    fn pending(&self) -> &[u8] {
        self.conn.pending()
    }
    fn consume(&mut self, n: usize) {
        self.conn.consume(n)
    }
    unsafe fn fill(&mut self) -> Result<(), Fail> {
        let deadline = self.deadline();
        unsafe { self.conn.fill(deadline) }
    }
    unsafe fn read_into(&mut self, dst: &mut [u8]) -> Result<usize, Fail> {
        let deadline = self.deadline();
        unsafe { self.conn.read_into(dst, deadline) }
    }
    fn debug(&self) -> bool {
        false
    }
}

impl Inner {
    unsafe fn read_reply(&mut self, raise_top_error: bool) -> Result<Obj, Fail> {
        let opts = reply::Options {
            raise_top_error,
            decode: self.decode,
        };
        let mut input = SocketInput {
            conn: &mut self.conn,
            timeout: self.timeout,
            deadline: None,
        };
        unsafe { reply::read(&mut self.parser, &mut input, opts).map(|(v, _)| v) }
    }

    unsafe fn send_collected(
        &mut self,
        size: usize,
        encode: &dyn Fn(&mut Conn) -> Result<(), Fail>,
    ) -> Result<(), Fail> {
        let mut v = mp::vstr_empty();
        unsafe {
            mp::vstr_init(&mut v, size.max(conn::WBUF));
            self.conn.collect = &mut v;
            let queued = encode(&mut self.conn);
            self.conn.collect = ptr::null_mut();
            let data = mp::vstr_slice(&mut v);
            let sent = queued.and_then(|_| self.conn.write_all(data));
            mp::vstr_clear(&mut v);
            sent
        }
    }

    unsafe fn command(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        unsafe {
            let size = request::check(args)?;
            if !self.conn.is_open() {
                return Err(Fail::NotConnected);
            }
            self.conn.set_timeout(self.timeout);
            if size > conn::WBUF && size <= 64 * 1024 {
                self.send_collected(size, &|c| request::encode(c, args))?;
            } else {
                request::encode(&mut self.conn, args)?;
                self.conn.flush()?;
            }
            self.read_reply(true)
        }
    }

    unsafe fn pipeline(&mut self, cmds: &[Obj]) -> Result<Obj, Fail> {
        unsafe {
            let mut size = 64;
            for &cmd in cmds {
                size += request::check(mp::items(cmd))?;
            }
            if !self.conn.is_open() {
                return Err(Fail::NotConnected);
            }
            self.conn.set_timeout(self.timeout);
            self.send_collected(size, &|c| {
                for &cmd in cmds {
                    request::encode(c, mp::items(cmd))?;
                }
                Ok(())
            })?;
            let out = mp::new_list(cmds.len());
            for slot in mp::items_mut(out) {
                *slot = self.read_reply(false)?;
            }
            Ok(out)
        }
    }
}

impl Client {
    /// Runs `op` on the connection: one caller at a time; a failure that leaves the link
    /// out of step closes it (and so does a raise part-way, as the MicroPython glue does).
    fn with(
        &self,
        py: Python<'_>,
        op: &mut dyn FnMut(&mut Inner) -> Result<Obj, Fail>,
    ) -> PyResult<Py<PyAny>> {
        // SAFETY: the GIL is held and `busy` keeps any other caller out, so this is the
        // only reference to `inner` while the operation runs.
        let inner: &mut Inner = unsafe { &mut *self.inner.get() };
        if inner.busy {
            return Err(PyRuntimeError::new_err("client in use"));
        }
        inner.busy = true;
        let p: *mut Inner = inner;
        // SAFETY: the closure holds a raw pointer only; the core's frames are plain.
        let r = unsafe {
            run_op(py, &mut || {
                let r = op(&mut *p);
                if let Err(f) = r {
                    if f.breaks_connection() {
                        let _ = (*p).conn.detach(true);
                        (*p).parser.reset();
                    }
                }
                r
            })
        };
        if r.is_err() && inner.conn.is_open() && !inner.parser.is_idle() {
            // Raised part-way through a reply: never reuse the link.
            // SAFETY: as above.
            unsafe {
                let m = pool::mark();
                let _ = inner.conn.detach(true);
                pool::release(m);
            }
            inner.parser.reset();
        }
        inner.busy = false;
        r
    }
}

#[pymethods]
impl Client {
    /// `Client(sock, timeout_ms=3000, decode=False)`: `sock` a connected socket.
    #[new]
    #[pyo3(signature = (sock, timeout_ms = 3000, decode = false))]
    fn new(py: Python<'_>, sock: Py<PyAny>, timeout_ms: i64, decode: bool) -> PyResult<Self> {
        // SAFETY: all zeroes is a closed connection (conn.rs) and plain fields; the
        // parser is written before use.
        let mut inner: Box<Inner> = unsafe { Box::new(core::mem::zeroed()) };
        unsafe { ptr::write(&mut inner.parser, Parser::new(reply::limits())) };
        inner.timeout = conn::timeout(timeout_ms as isize);
        inner.conn.write_ms = inner.timeout;
        inner.decode = decode;
        let client = Client {
            inner: UnsafeCell::new(inner),
            sock,
        };
        let s = client.sock.as_ptr();
        client.with(py, &mut |i| {
            // SAFETY: inside the operation; `s` is kept alive by `client.sock`.
            unsafe { i.conn.attach(s, mp::NULL) };
            Ok(unsafe { mp::none() })
        })?;
        Ok(client)
    }

    /// `command(*args)`: one command, its reply (an error reply raises RedisError).
    #[pyo3(signature = (*args))]
    fn command(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        // SAFETY: the tuple's items stay put while it lives (the call).
        let a = unsafe { mp::items(args.as_ptr()) };
        self.with(py, &mut |i| unsafe { i.command(a) })
    }

    /// `pipeline(cmds)`: tuples of arguments, sent in one write; the list of replies.
    fn pipeline(&self, py: Python<'_>, cmds: &Bound<'_, PyList>) -> PyResult<Py<PyAny>> {
        // The list is the caller's: a copy of its items is read (a tuple of them).
        let t = cmds.to_tuple();
        // SAFETY: the tuple's items stay put while it lives (the call).
        let c = unsafe { mp::items(t.as_ptr()) };
        self.with(py, &mut |i| unsafe { i.pipeline(c) })
    }

    fn close(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.with(py, &mut |i| {
            // SAFETY: inside the operation.
            unsafe {
                i.parser.reset();
                match i.conn.detach(true) {
                    Some(exc) => Err(Fail::Exception(exc)),
                    None => Ok(mp::none()),
                }
            }
        })
    }
}

#[pymodule]
fn picoredis_proto(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // SAFETY: the GIL is held; the new types are owned by the module from here on.
    unsafe {
        let mk = |name: &core::ffi::CStr| {
            let t = ffi::PyErr_NewException(name.as_ptr(), ffi::PyExc_Exception, ptr::null_mut());
            Bound::from_owned_ptr_or_err(py, t)
        };
        let redis_error = mk(c"picoredis_proto.RedisError")?;
        let parse_error = mk(c"picoredis_proto.ParseError")?;
        let timeout = mk(c"picoredis_proto.RedisTimeout")?;
        mp::init(redis_error.as_ptr(), parse_error.as_ptr(), timeout.as_ptr());
        m.add("RedisError", redis_error)?;
        m.add("ParseError", parse_error)?;
        m.add("RedisTimeout", timeout)?;
    }
    m.add_function(wrap_pyfunction!(parse, m)?)?;
    m.add_function(wrap_pyfunction!(set_pool, m)?)?;
    m.add_function(wrap_pyfunction!(fail_after, m)?)?;
    m.add_class::<Client>()?;
    Ok(())
}
