//! The Python face of picoredis on CPython and PyPy (PyO3): what mpy_module/modpicoredis.c
//! is for MicroPython. `Redis` (its options parsed into the core's `Options`), the call
//! styles (`do_cmd`, `execute_command`, calling the client, `r.<name>`), `Pipeline`
//! (plain and `transaction=True`) and the exceptions. Every call into the core runs as an
//! operation: the client's lock held, its objects pooled, a raise caught, the client's
//! kept objects re-read (hold.rs), the connection abandoned when it raised part-way, as
//! the MicroPython glue's `guarded()` does.

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::client::{Client, Runs};
use crate::fail::Fail;
use crate::hold::Held;
use crate::mp::{self, Obj};
use crate::options::Options;
use crate::session::{self, Effect};
use crate::{pool, sys};

// ---- the methods the Python types share -------------------------------------------------

/// A Python type's `#[pymethods]` block, its own methods and the ones written once here
/// for every type that has them (PyO3 takes a single `#[pymethods]` block per type, short
/// of its `multiple-pymethods` feature and the crate that brings):
/// - `closing(args)`: `close()` (the block's own `close`, as one operation) and the
///   context manager that calls it; the type has `h: Handle<B>`, B a block with
///   `close()`. Sentinel.
/// - `commands(V, args)`: those, and the call styles on the type's `command(py, argv)`
///   (argv: the name first): `do_cmd`, `execute_command`, calling the client,
///   `x.<name>(...)` (a `Command` on `PyClient::V`), `pipeline()` (on `PyClient::V`),
///   `keyslot()`, and `connect(host=None, port=None)` on the type's `reconnect(py, host,
///   port)` (None as None). Redis and RedisCluster.
///
/// The caller writes `#[pymethods]` and names the `*args` of the methods written here
/// (`args`): PyO3 0.26 binds a method's `*args` or `**kwargs` under the hygiene of the
/// `#[pymethods]` tokens (its `#` first) and looks it up under that of the argument's
/// name (PyO3 issue 5793), so the attribute, the type's own methods and these names
/// must all be the caller's tokens (`$pound $m`: the `#` and the `[pymethods]` as given).
macro_rules! pymethods_with {
    (closing($args:ident); $pound:tt $m:tt impl $ty:ident { $($own:tt)* }) => {
        $pound $m
        impl $ty {
            $($own)*

            /// `close()`: closes the connections; idempotent. An error from a stream's
            /// own close is raised (closed all the same).
            fn close(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                // SAFETY: inside the operation.
                self.h.op(py, true, &mut |c| unsafe { (**c).close() })
            }

            fn __enter__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            #[pyo3(signature = (*$args))]
            fn __exit__(&self, py: Python<'_>, $args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
                let _ = $args;
                self.close(py)
            }
        }
    };
    (commands($v:ident, $args:ident); $pound:tt $m:tt impl $ty:ident { $($own:tt)* }) => {
        pymethods_with! { closing($args); $pound $m impl $ty {
            $($own)*

            /// `do_cmd(cmd, *args)`: one command, its reply.
            #[pyo3(signature = (*$args))]
            fn do_cmd(&self, py: Python<'_>, $args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
                // SAFETY: the tuple's items stay put while it lives (the call).
                self.command(py, unsafe { mp::items($args.as_ptr()) })
            }

            /// `execute_command(cmd, *args)`: redis-py's name for `do_cmd`.
            #[pyo3(signature = (*$args))]
            fn execute_command(
                &self,
                py: Python<'_>,
                $args: &Bound<'_, PyTuple>,
            ) -> PyResult<Py<PyAny>> {
                self.do_cmd(py, $args)
            }

            /// Calling the client: `do_cmd`.
            #[pyo3(signature = (*$args))]
            fn __call__(&self, py: Python<'_>, $args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
                if $args.is_empty() {
                    return Err(PyTypeError::new_err("a command needs a name"));
                }
                self.do_cmd(py, $args)
            }

            /// `x.<name>(*args)`: any name of ASCII letters and digits is a command.
            fn __getattr__(
                slf: &Bound<'_, Self>,
                name: &Bound<'_, PyString>,
            ) -> PyResult<Command> {
                Ok(Command {
                    name: command_name(name)?,
                    target: Target::Client(PyClient::$v(slf.clone().unbind())),
                })
            }

            /// `pipeline(transaction=False)`: picoredis' Python pipeline around this
            /// host's (`Pipeline::wrapped`); a cluster's groups its commands per node.
            #[pyo3(signature = (transaction = false))]
            fn pipeline(slf: &Bound<'_, Self>, transaction: bool) -> PyResult<Py<PyAny>> {
                Pipeline::new(PyClient::$v(slf.clone().unbind()), transaction).wrapped(slf.py())
            }

            /// `connect(host=None, port=None)`: a Redis (re)connects, None keeping the old
            /// value (a bad argument changes nothing); a RedisCluster loads its slot map
            /// again (the arguments are not used).
            #[pyo3(signature = (host = None, port = None))]
            fn connect(
                &self,
                py: Python<'_>,
                host: Option<Bound<'_, PyAny>>,
                port: Option<Bound<'_, PyAny>>,
            ) -> PyResult<Py<PyAny>> {
                let none = py.None();
                let obj = |o: &Option<Bound<'_, PyAny>>| {
                    o.as_ref().map_or(none.as_ptr(), Bound::as_ptr)
                };
                self.reconnect(py, obj(&host), obj(&port))
            }

            /// `keyslot(key)`: the key's Redis Cluster hash slot (str, bytes, a buffer or
            /// an int), as on MicroPython (the core's slots.rs).
            fn keyslot(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
                keyslot(py, key)
            }
        }}
    };
}

// Sentinel and RedisCluster: a child module, to share this one's operations and types.
#[cfg(all(feature = "sentinel", feature = "cluster"))]
#[path = "cluster_glue.rs"]
mod cluster_glue;

static mut REDIS_TIMEOUT: Obj = mp::NULL;

// ---- one caller at a time ---------------------------------------------------------------

/// A client's lock: calls from other threads wait their turn with the GIL released; a
/// call from the thread already inside one (a stream or a finaliser calling back) is
/// refused, as on MicroPython.
struct Lock {
    /// (busy, how many threads wait for it): a release wakes one only when one waits
    /// (a condvar's notify is a futex syscall even with no waiter: one per command).
    state: Mutex<(bool, usize)>,
    free: Condvar,
    owner: AtomicU64,
}

fn this_thread() -> u64 {
    // SAFETY: pthread_self cannot fail.
    unsafe { libc::pthread_self() as u64 }
}

impl Lock {
    fn new() -> Self {
        Lock {
            state: Mutex::new((false, 0)),
            free: Condvar::new(),
            owner: AtomicU64::new(0),
        }
    }

    fn take(&self, py: Python<'_>) -> PyResult<()> {
        {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if !state.0 {
                state.0 = true;
                self.owner.store(this_thread(), Ordering::Relaxed);
                return Ok(());
            }
        }
        if self.owner.load(Ordering::Relaxed) == this_thread() {
            return Err(PyRuntimeError::new_err(
                "client in use: re-entered from its own call",
            ));
        }
        py.detach(|| {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.1 = state.1.saturating_add(1);
            while state.0 {
                state = self.free.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.0 = true;
            state.1 = state.1.saturating_sub(1);
        });
        self.owner.store(this_thread(), Ordering::Relaxed);
        Ok(())
    }

    fn give(&self) {
        self.owner.store(0, Ordering::Relaxed);
        let waiting = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.0 = false;
            state.1
        };
        if waiting > 0 {
            self.free.notify_one();
        }
    }
}

// ---- operations -------------------------------------------------------------------------

/// `o`, a borrowed object, owned by the running operation too: the client may keep it
/// (a password from AUTH, a `sock=`), which `Held::rescan` finds among the pool's objects.
///
/// # Safety
/// Holding the GIL, inside an operation; `o` valid.
unsafe fn given(o: Obj) {
    // SAFETY: the caller's contract: holding the GIL, inside an operation, `o` valid; the
    // new reference is the pool's.
    unsafe {
        ffi::Py_INCREF(o);
        pool::own(o);
    }
}

/// A timeout raised by the stream itself (OSError ETIMEDOUT or EAGAIN) while a command
/// waited is a RedisTimeout, as when the stream reports it (modpicoredis.c's guarded()).
fn as_redis_timeout(py: Python<'_>, e: PyErr) -> PyErr {
    let timed_out = e
        .value(py)
        .getattr("errno")
        .ok()
        .and_then(|n| n.extract::<i32>().ok())
        .is_some_and(|n| n == libc::ETIMEDOUT || n == libc::EAGAIN);
    if e.is_instance_of::<pyo3::exceptions::PyOSError>(py) && timed_out {
        // SAFETY: set once at module init, owned by the module.
        let t = unsafe { Bound::from_borrowed_ptr(py, REDIS_TIMEOUT) };
        if let Ok(exc) = t.call1(("no reply from server within timeout",)) {
            return PyErr::from_value(exc);
        }
    }
    e
}

/// A block of the core's (a `Client`, a `Reader`): what the glue does with it when an
/// operation on it fails or raises.
trait Block {
    /// The operation returned `f`: a failure that leaves a link out of step with the
    /// server closes it (ffi.rs' `finish`).
    ///
    /// # Safety
    /// Inside the operation.
    unsafe fn settle(&mut self, f: &Fail);
    /// The operation raised part-way (`picoredis_abandon`); may raise (its caller
    /// protects it, and drops the error: the first one is the one to see).
    ///
    /// # Safety
    /// As `settle`.
    unsafe fn abandon(&mut self);
    /// (offset, length) of the parts of the block that hold bytes only, never an
    /// object: the end-of-operation scan (`Held::rescan`) skips them. A client's
    /// buffers and parse stack are most of its 20 KB: scanning them word by word was
    /// about 5 % of a small GET's time.
    const BYTES: &'static [(usize, usize)] = &[];
}

impl Block for Client {
    const BYTES: &'static [(usize, usize)] = &[
        (
            core::mem::offset_of!(Client, conn.rbuf),
            core::mem::size_of::<[u8; crate::conn::RBUF]>(),
        ),
        (
            core::mem::offset_of!(Client, conn.wbuf),
            core::mem::size_of::<[u8; crate::conn::WBUF]>(),
        ),
        (
            core::mem::offset_of!(Client, parser),
            core::mem::size_of::<resp::parse::Parser>(),
        ),
    ];
    unsafe fn settle(&mut self, f: &Fail) {
        if f.breaks_connection() {
            // SAFETY: the caller's contract.
            unsafe { self.abort() };
        }
    }
    unsafe fn abandon(&mut self) {
        // SAFETY: the caller's contract.
        unsafe { self.abort() };
    }
}

/// A Reader's state is consistent at every call that may raise: nothing to do.
impl Block for crate::reader::Reader {
    unsafe fn settle(&mut self, _f: &Fail) {}
    unsafe fn abandon(&mut self) {}
}

/// A core block (made by the core's `alloc`, in the host's memory) and the objects it
/// keeps.
struct Core<T> {
    obj: *mut T,
    held: Held,
}

/// A block of the core with its lock: what a `Redis`, a `PubSub` and a `Reader` each are.
struct Handle<T: Block> {
    core: UnsafeCell<Core<T>>,
    lock: Lock,
}

// SAFETY: `core` is only touched with the GIL held and the object's lock taken (`op`), or
// by the object's own drop (no other reference left).
unsafe impl<T: Block> Send for Handle<T> {}
// SAFETY: as for `Send` above: every access to `core` is serialised by the GIL and the lock.
unsafe impl<T: Block> Sync for Handle<T> {}

#[pyclass(module = "picoredis", name = "Redis", frozen, subclass)]
pub struct Redis {
    h: Handle<Client>,
}

impl<T: Block> Drop for Handle<T> {
    fn drop(&mut self) {
        let core = self.core.get_mut();
        // SAFETY: the last reference, the GIL held (PyO3 drops objects holding it): the
        // objects kept are let go (a socket still open closes when its object goes, as
        // on MicroPython nothing runs at garbage collection), then the block is freed.
        unsafe {
            core.held.clear();
            crate::blocks::free(core.obj as *mut u8);
        }
    }
}

/// The Python result of an operation: its value, or the exception it returned (`exc`),
/// or the one it raised (`raised`: the error indicator), a timeout made RedisTimeout
/// unless `connecting`.
///
/// # Safety
/// Holding the GIL, before the operation's pool is released; `value`/`exc` pooled.
unsafe fn result(
    py: Python<'_>,
    raised: bool,
    connecting: bool,
    value: Obj,
    exc: Obj,
) -> PyResult<Py<PyAny>> {
    if raised {
        let e = PyErr::fetch(py);
        return Err(if connecting {
            e
        } else {
            as_redis_timeout(py, e)
        });
    }
    // SAFETY: the objects are alive (pooled) until `release`; each gets its own
    // reference for Python.
    unsafe {
        if !exc.is_null() {
            ffi::Py_INCREF(exc);
            Err(PyErr::from_value(Bound::from_owned_ptr(py, exc)))
        } else {
            ffi::Py_INCREF(value);
            Ok(Py::from_owned_ptr(py, value))
        }
    }
}

/// An operation on no object (`encode()`): pooled and protected, nothing locked, nothing
/// to abandon.
fn free_op(py: Python<'_>, f: &mut dyn FnMut() -> Result<Obj, Fail>) -> PyResult<Py<PyAny>> {
    let m = pool::mark();
    let mut value = mp::NULL;
    let mut exc = mp::NULL;
    let mut body = || {
        // SAFETY: inside the operation; the closure holds only pointers.
        unsafe {
            match f() {
                Ok(v) => value = v,
                Err(fail) => exc = fail.exception(),
            }
        }
    };
    // SAFETY: the GIL is held; the core's frames hold nothing to drop (asserted).
    let raised = unsafe { mp::protect_raw(&mut body) };
    // SAFETY: before the release; then the operation's frames are gone.
    unsafe {
        let out = result(py, raised, true, value, exc);
        pool::release(m);
        out
    }
}

impl<T: Block> Handle<T> {
    fn new() -> Self {
        Handle {
            core: UnsafeCell::new(Core {
                obj: ptr::null_mut(),
                held: Held::new(),
            }),
            lock: Lock::new(),
        }
    }

    /// Runs `f` on the block as one operation (see the module docs). `f` gets the block
    /// (null only for the operation that makes it); its outcome becomes the Python
    /// result. `connecting`: a timeout it raises stays an OSError.
    fn op(
        &self,
        py: Python<'_>,
        connecting: bool,
        f: &mut dyn FnMut(&mut *mut T) -> Result<Obj, Fail>,
    ) -> PyResult<Py<PyAny>> {
        self.lock.take(py)?;
        // SAFETY: the lock is ours: this is the only reference to the core.
        let core = unsafe { &mut *self.core.get() };
        let m = pool::mark();
        let mut value = mp::NULL;
        let mut exc = mp::NULL;
        let slot: *mut *mut T = &mut core.obj;
        let mut body = || {
            // SAFETY: inside the operation; the closure holds only pointers.
            unsafe {
                let r = f(&mut *slot);
                let c = *slot;
                match r {
                    Ok(v) => value = v,
                    Err(fail) => {
                        if !c.is_null() {
                            (*c).settle(&fail);
                        }
                        exc = fail.exception();
                    }
                }
            }
        };
        // SAFETY: the GIL is held; the core's frames hold nothing to drop (asserted).
        let raised = unsafe { mp::protect_raw(&mut body) };
        // SAFETY: the objects are pooled until `release`, below.
        let out = unsafe { result(py, raised, connecting, value, exc) };
        // SAFETY: the operation's frames are gone; the block is this object's.
        unsafe {
            let c = core.obj;
            if raised && !c.is_null() && mp::protect_raw(&mut || (*c).abandon()) {
                ffi::PyErr_Clear();
            }
            if !c.is_null() {
                core.held.rescan(
                    c as *const u8,
                    core::mem::size_of::<T>(),
                    T::BYTES,
                    <Client as Block>::BYTES,
                    m,
                );
            }
            pool::release(m);
        }
        self.lock.give();
        out
    }
}

/// The options' objects, owned by the running operation too, so that the block made
/// from them keeps them.
///
/// # Safety
/// Holding the GIL, inside an operation; the options' objects valid.
unsafe fn given_options(opts: &Options) {
    let kept = [
        opts.host,
        opts.username,
        opts.password,
        opts.client_name,
        opts.ssl_context,
    ];
    for o in kept {
        // SAFETY: the caller's contract.
        unsafe { given(o) };
    }
}

impl Handle<Client> {
    /// Makes the core's client from `opts` (a PubSub's with `pubsub`), as one operation.
    fn alloc(&self, py: Python<'_>, opts: &Options, pubsub: bool) -> PyResult<()> {
        self.op(py, true, &mut |c| {
            // SAFETY: inside the operation; the options' objects are alive (the caller's),
            // and pooled so that the new client's block keeps them.
            unsafe {
                given_options(opts);
                *c = Client::alloc(ptr::null(), opts, pubsub) as *mut Client;
                Ok(mp::none())
            }
        })?;
        Ok(())
    }

    /// A command (name first) on the client.
    fn command(&self, py: Python<'_>, args: &[Obj]) -> PyResult<Py<PyAny>> {
        self.op(py, false, &mut |c| {
            // SAFETY: inside the operation; `args` are alive for the call (the caller's).
            unsafe {
                if session::effect(args) != Effect::None {
                    for &a in args {
                        given(a);
                    }
                }
                (**c).command(args)
            }
        })
    }

    fn connect_to(&self, py: Python<'_>, sock: Obj, host: Obj, port: Obj) -> PyResult<Py<PyAny>> {
        self.op(py, true, &mut |c| {
            // SAFETY: inside the operation; the objects are the caller's, alive.
            unsafe {
                for o in [sock, host, port] {
                    given(o);
                }
                (**c).set_address(host, port)?;
                (**c).connect(sock).map(|_| mp::none())
            }
        })
    }
}

/// A timeout argument in ms: None waits without limit (-1); 0 or less is refused; a
/// value too large for a machine word is as good as none.
fn timeout_arg(t: &Bound<'_, PyAny>) -> PyResult<isize> {
    const WHAT: &str = "timeout: int ms > 0, or None";
    if t.is_none() {
        return Ok(-1);
    }
    if t.is_instance_of::<pyo3::types::PyBool>() || !t.is_instance_of::<pyo3::types::PyInt>() {
        return Err(PyTypeError::new_err(WHAT));
    }
    let ms = match t.extract::<isize>() {
        Ok(ms) => ms,
        Err(_) => {
            if t.gt(0)? {
                isize::MAX
            } else {
                0
            }
        }
    };
    if ms <= 0 {
        return Err(PyValueError::new_err(WHAT));
    }
    Ok(ms)
}

/// A keyword argument whose default differs from an explicit None (`timeout`: left out
/// is 3000 ms, None is no limit).
enum Arg<'py> {
    Given(Bound<'py, PyAny>),
    Default,
}

impl<'py> FromPyObject<'py> for Arg<'py> {
    fn extract_bound(o: &Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Arg::Given(o.clone()))
    }
}

/// `x.<name>`'s name as a command's: ASCII letters and digits only, as in the original;
/// any other name is an AttributeError.
fn command_name(name: &Bound<'_, PyString>) -> PyResult<Py<PyString>> {
    let s = name.to_str()?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(pyo3::exceptions::PyAttributeError::new_err(
            name.clone().unbind(),
        ));
    }
    Ok(name.clone().unbind())
}

/// Redis()'s options, parsed (`redis_options`): the core's `Options`, what the first
/// connect takes (`sock`, `port`), and the objects the options point to, kept alive.
#[pyclass(module = "picoredis", name = "_Options", frozen)]
pub struct RedisOptions {
    opts: Options,
    sock: Py<PyAny>,
    port: Py<PyAny>,
    _keep: Vec<Py<PyAny>>,
}

// SAFETY: the objects `opts` points to are owned by `_keep` (Py references, which any
// thread may drop: PyPy's GC finalises objects on whichever thread collects), and are
// only read with the GIL held.
unsafe impl Send for RedisOptions {}
// SAFETY: as for `Send`: nothing here is written after it is made.
unsafe impl Sync for RedisOptions {}

/// `redis_options` as a Python function, made once: each `wrap_pyfunction!` leaks its
/// method definition (PyO3's, 32 bytes), one per client made when it was made per call.
static REDIS_OPTIONS: pyo3::sync::PyOnceLock<Py<pyo3::types::PyCFunction>> =
    pyo3::sync::PyOnceLock::new();

/// Parses the options of `Redis(...)` (their one list: `redis_options`), which
/// `Sentinel(...)`, `master_for(...)`, `slave_for(...)` and `RedisCluster(...)` take too,
/// for `caller`, the one the user called: PyO3's argument errors name the function they
/// come from, `redis_options()`, which is made `caller()` (as CPython's own say
/// "X() got an unexpected keyword argument 'y'").
fn options(
    py: Python<'_>,
    caller: &str,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<RedisOptions>> {
    let parse = REDIS_OPTIONS.get_or_try_init(py, || {
        wrap_pyfunction!(redis_options, py).map(Bound::unbind)
    })?;
    let parsed = parse.bind(py).call(args, kwargs);
    let parsed = parsed.map_err(|e| {
        if e.is_instance_of::<PyTypeError>(py) {
            let said = e.value(py).to_string();
            if let Some(rest) = said.strip_prefix("redis_options()") {
                return PyTypeError::new_err(format!("{caller}(){rest}"));
            }
        }
        e
    })?;
    Ok(parsed.downcast_into::<RedisOptions>()?.unbind())
}

/// The options of `Redis(...)` (see `options`).
#[pyfunction]
#[pyo3(signature = (host = None, port = None, timeout = Arg::Default, debug = false, *,
    server = None, sock = None, username = None, password = None, db = 0,
    client_name = None, protocol = 2, connect_timeout = None, decode_responses = false,
    reconnect = true, ssl = false, ssl_context = None, retries = 3, backoff_base = 50,
    backoff_cap = 2000, health_check_interval = None))]
#[allow(clippy::too_many_arguments)]
fn redis_options(
    py: Python<'_>,
    host: Option<Bound<'_, PyAny>>,
    port: Option<Bound<'_, PyAny>>,
    timeout: Arg<'_>,
    debug: bool,
    server: Option<Bound<'_, PyAny>>,
    sock: Option<Bound<'_, PyAny>>,
    username: Option<Bound<'_, PyAny>>,
    password: Option<Bound<'_, PyAny>>,
    db: isize,
    client_name: Option<Bound<'_, PyAny>>,
    protocol: isize,
    connect_timeout: Option<Bound<'_, PyAny>>,
    decode_responses: bool,
    reconnect: bool,
    ssl: bool,
    ssl_context: Option<Bound<'_, PyAny>>,
    retries: isize,
    backoff_base: isize,
    backoff_cap: isize,
    health_check_interval: Option<Bound<'_, PyAny>>,
) -> PyResult<RedisOptions> {
    let none = py.None().into_bound(py);
    let obj = |o: &Option<Bound<'_, PyAny>>| o.as_ref().unwrap_or(&none).as_ptr();
    let timeout_ms = match &timeout {
        Arg::Given(t) => timeout_arg(t)?,
        Arg::Default => 3000,
    };
    let connect_timeout_ms = match &connect_timeout {
        Some(t) if !t.is_none() => timeout_arg(t)?,
        _ => timeout_ms,
    };
    if protocol != 2 && protocol != 3 {
        return Err(PyValueError::new_err("protocol must be 2 or 3"));
    }
    // TLS: the context given, or for `ssl=True` the interpreter's default client
    // context (the system's CAs, the name checked), which the README promises:
    // `ssl.SSLContext(PROTOCOL_TLS_CLIENT)`, what tls.rs makes for True, knows no CA
    // here. tls.rs then wraps the socket with it.
    let context = match &ssl_context {
        Some(c) if !c.is_none() => c.clone(),
        _ if ssl => py
            .import("ssl")?
            .getattr("create_default_context")?
            .call0()?,
        _ => none.clone(),
    };
    let default_host = PyString::new(py, "127.0.0.1").into_any();
    let host = match (&host, &server) {
        (Some(h), _) if !h.is_none() => h.clone(),
        (_, Some(s)) if !s.is_none() => s.clone(),
        _ => default_host,
    };
    let health_check_ms = match &health_check_interval {
        Some(h) if !h.is_none() => h.extract::<isize>()?,
        _ => -1,
    };
    let opts = Options {
        host: host.as_ptr(),
        port: 6379,
        timeout_ms,
        connect_timeout_ms,
        db,
        protocol,
        username: obj(&username),
        password: obj(&password),
        client_name: obj(&client_name),
        ssl_context: context.as_ptr(),
        debug,
        decode_responses,
        reconnect,
        retries,
        backoff_base,
        backoff_cap,
        health_check_ms,
        readonly: false,
    };
    let keep = [&username, &password, &client_name]
        .into_iter()
        .flatten()
        .chain([&host, &context])
        .map(|o| o.clone().unbind())
        .collect();
    Ok(RedisOptions {
        opts,
        sock: sock.unwrap_or_else(|| none.clone()).unbind(),
        port: port.unwrap_or(none).unbind(),
        _keep: keep,
    })
}

impl Redis {
    /// A command (name first) on the client.
    #[inline]
    fn command(&self, py: Python<'_>, args: &[Obj]) -> PyResult<Py<PyAny>> {
        self.h.command(py, args)
    }

    /// `connect(host=None, port=None)`: (re)connects; None keeps the old value; a bad
    /// argument changes nothing.
    fn reconnect(&self, py: Python<'_>, host: Obj, port: Obj) -> PyResult<Py<PyAny>> {
        let none = py.None();
        self.h.connect_to(py, none.as_ptr(), host, port)
    }
}

pymethods_with! {
commands(Redis, args);
#[pymethods]
impl Redis {
    /// `Redis(host='127.0.0.1', port=6379, timeout=3000, debug=False, *, ...)`: the
    /// options are `redis_options`'.
    #[new]
    #[pyo3(signature = (*args, **options))]
    fn new(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let p = self::options(py, "Redis", args, options)?;
        let p = p.borrow(py);
        let none = py.None();
        let r = Redis { h: Handle::new() };
        r.h.alloc(py, &p.opts, false)?;
        r.h.connect_to(py, p.sock.as_ptr(), none.as_ptr(), p.port.as_ptr())?;
        Ok(r)
    }

    /// `pubsub()`: a PubSub with this client's options and a connection of its own
    /// (opened by the first subscribe). A client on a stream the user gave (`sock=`) has
    /// no address to open it to: ValueError.
    fn pubsub(&self, py: Python<'_>) -> PyResult<PubSub> {
        let mut opts = None;
        #[cfg(feature = "sentinel")]
        let mut follow = None;
        self.h.op(py, true, &mut |c| {
            // SAFETY: inside the operation.
            unsafe {
                if (**c).user_sock() {
                    return Err(Fail::Value("pubsub() needs host and port, not sock="));
                }
                opts = Some((**c).opts);
                #[cfg(feature = "sentinel")]
                {
                    let c = &**c;
                    follow = Some((c.sentinel, c.service, c.replica, c.turn));
                }
                Ok(mp::none())
            }
        })?;
        let ps = PubSub { h: Handle::new() };
        if let Some(opts) = opts {
            // The options' objects are this client's (held), alive while it is.
            ps.h.alloc(py, &opts, true)?;
        }
        // A master_for client's PubSub follows the primary too (a slave_for one's, the
        // replicas), as ffi.rs' picoredis_pubsub_client_new does.
        #[cfg(feature = "sentinel")]
        if let Some((sentinel, service, replica, turn)) = follow.filter(|f| !f.0.is_null()) {
            ps.h.op(py, true, &mut |p| {
                // SAFETY: inside the operation; the objects are this client's (held),
                // pooled so that the PubSub's block keeps them too.
                unsafe {
                    given(sentinel);
                    given(service);
                    let p = &mut **p;
                    p.sentinel = sentinel;
                    p.service = service;
                    p.replica = replica;
                    p.turn = turn;
                    Ok(mp::none())
                }
            })?;
        }
        Ok(ps)
    }

    /// `debug`: print each request and reply line.
    #[getter]
    fn get_debug(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // SAFETY: inside the operation.
        self.h
            .op(py, true, &mut |c| Ok(unsafe { mp::boolean((**c).debug()) }))
    }

    #[setter]
    fn set_debug(&self, py: Python<'_>, on: &Bound<'_, PyAny>) -> PyResult<()> {
        let on = on.is_truthy()?;
        self.h.op(py, true, &mut |c| {
            // SAFETY: inside the operation.
            unsafe {
                (**c).set_debug(on);
                Ok(mp::none())
            }
        })?;
        Ok(())
    }
}}

// ---- bound commands: `r.hset(...)`, `p.get(...)` ----------------------------------------

/// What a bound command runs on: a client, or a pipeline it joins.
enum Target {
    Client(PyClient),
    Pipeline(Py<Pipeline>),
}

#[pyclass(module = "picoredis", name = "command", frozen)]
pub struct Command {
    target: Target,
    name: Py<PyString>,
}

#[pymethods]
impl Command {
    #[pyo3(signature = (*args))]
    fn __call__(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        // SAFETY: the tuple's items stay put while it lives (the call).
        let rest = unsafe { mp::items(args.as_ptr()) };
        let name = self.name.as_ptr();
        match &self.target {
            Target::Client(PyClient::Redis(r)) => {
                with_name(name, rest, |argv| r.get().command(py, argv))
            }
            #[cfg(feature = "cluster")]
            Target::Client(PyClient::Cluster(k)) => {
                with_name(name, rest, |argv| k.get().command(py, argv))
            }
            Target::Pipeline(p) => {
                let mut items = Vec::with_capacity(rest.len() + 1);
                items.push(self.name.bind(py).clone().into_any());
                items.extend(args.iter());
                let t = PyTuple::new(py, items)?;
                p.get().queue(t.unbind());
                Ok(p.clone_ref(py).into_any())
            }
        }
    }
}

/// `f(argv)`, argv the command `name, rest...`: on the stack up to 8 words (most
/// commands), else on the heap.
#[inline]
fn with_name<R>(name: Obj, rest: &[Obj], f: impl FnOnce(&[Obj]) -> R) -> R {
    let mut small = [mp::NULL; 8];
    let mut big = Vec::new();
    let argv: &mut [Obj] = if rest.len() < small.len() {
        small.get_mut(..=rest.len()).unwrap_or(&mut [])
    } else {
        big.resize(rest.len() + 1, mp::NULL);
        &mut big
    };
    if let Some((first, tail)) = argv.split_first_mut() {
        *first = name;
        tail.copy_from_slice(rest);
    }
    f(argv)
}

// ---- Pipeline ---------------------------------------------------------------------------

/// A client object: what a pipeline or a bound command runs on.
enum PyClient {
    Redis(Py<Redis>),
    #[cfg(feature = "cluster")]
    Cluster(Py<cluster_glue::RedisCluster>),
}

#[pyclass(module = "picoredis", name = "Pipeline", frozen)]
pub struct Pipeline {
    client: PyClient,
    commands: Mutex<Vec<Py<PyTuple>>>,
    transaction: bool,
}

/// picoredis/_pipeline.py's `Pipeline`, imported once.
static PY_PIPELINE: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

impl Pipeline {
    fn new(client: PyClient, transaction: bool) -> Self {
        Pipeline {
            client,
            commands: Mutex::new(Vec::new()),
            transaction,
        }
    }

    /// The pipeline users get: the Python one (python/picoredis/_pipeline.py) queueing
    /// into a list, this one running the list (`_run`). A call into the extension costs
    /// ~0.5 us on CPython and 4-6 us through PyPy's cpyext; queueing in Python costs
    /// ~0.2 and ~0.05 us, and the whole queue crosses once.
    fn wrapped(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let class = PY_PIPELINE.get_or_try_init(py, || {
            py.import("picoredis._pipeline")?
                .getattr("Pipeline")
                .map(Bound::unbind)
        })?;
        class.call1(py, (self,))
    }

    fn queue(&self, cmd: Py<PyTuple>) {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cmd);
    }

    fn take(&self) -> Vec<Py<PyTuple>> {
        core::mem::take(&mut *self.commands.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Runs `flat`, a queue in `Runs::flat`'s shape, on the client as one operation: the
    /// replies, or EXEC's reply with `transaction`. One walk checks the shape (`Runs::flat`
    /// would stop early at a bad count: every command has a length of at least 1, its
    /// name, and all of its arguments) and pools what the session keeps.
    fn run_flat(&self, py: Python<'_>, flat: &[Obj]) -> PyResult<Py<PyAny>> {
        let transaction = self.transaction;
        let client = match &self.client {
            PyClient::Redis(r) => r,
            // A cluster routes argument tuples (ffi.rs' picoredis_client_pipeline): one
            // per command of the flat queue.
            #[cfg(feature = "cluster")]
            PyClient::Cluster(k) => {
                let mut tuples = Vec::new();
                let mut rest = flat;
                while let Some((&n, tail)) = rest.split_first() {
                    let (args, next) = match mp::small_int_value(n) {
                        Some(n) if n >= 1 => tail.split_at_checked(n as usize),
                        _ => None,
                    }
                    .ok_or_else(|| PyValueError::new_err("malformed pipeline queue"))?;
                    // SAFETY: each item is a valid object the caller's list holds.
                    let items = args
                        .iter()
                        .map(|&a| unsafe { Bound::from_borrowed_ptr(py, a) });
                    tuples.push(PyTuple::new(py, items)?);
                    rest = next;
                }
                let ptrs: Vec<Obj> = tuples.iter().map(|t| t.as_ptr()).collect();
                return k.get().pipeline_run(py, &ptrs, transaction);
            }
        };
        client.get().h.op(py, false, &mut |c| {
            // SAFETY: inside the operation; the queue's objects are alive (the caller's)
            // and only this call reaches them.
            unsafe {
                let mut rest = flat;
                while let Some((&n, tail)) = rest.split_first() {
                    let (args, next) = match mp::small_int_value(n) {
                        Some(n) if n >= 1 => tail.split_at_checked(n as usize),
                        _ => None,
                    }
                    .ok_or(Fail::Value("malformed pipeline queue"))?;
                    if session::effect(args) != Effect::None {
                        for &a in args {
                            given(a);
                        }
                    }
                    rest = next;
                }
                (**c).run_pipeline(Runs::flat(flat), transaction)
            }
        })
    }
}

#[pymethods]
impl Pipeline {
    #[pyo3(signature = (*args))]
    fn __call__(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<Py<Self>> {
        if args.is_empty() {
            return Err(PyTypeError::new_err("a command needs a name"));
        }
        slf.get().queue(args.clone().unbind());
        Ok(slf.clone().unbind())
    }

    fn __getattr__(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<Command> {
        Ok(Command {
            name: command_name(name)?,
            target: Target::Pipeline(slf.clone().unbind()),
        })
    }

    /// `execute()`: the list of replies (server errors in place), or EXEC's reply. The
    /// queue is emptied first: whatever happens, the pipeline is reusable.
    fn execute(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let cmds = self.take();
        if cmds.is_empty() {
            return Ok(pyo3::types::PyList::empty(py).into_any().unbind());
        }
        // The queue as the core takes it in a build for speed (`Runs::flat`, what the C
        // glue queues): per command its length as an int, then its arguments, borrowed
        // from the tuples (`cmds`) and the ints (`counts`), alive until the end.
        let client = match &self.client {
            PyClient::Redis(r) => r,
            // A cluster routes the argument tuples (ffi.rs' picoredis_client_pipeline).
            #[cfg(feature = "cluster")]
            PyClient::Cluster(k) => {
                let tuples: Vec<Obj> = cmds.iter().map(|t| t.as_ptr()).collect();
                return k.get().pipeline_run(py, &tuples, self.transaction);
            }
        };
        let mut counts = Vec::with_capacity(cmds.len());
        let mut flat: Vec<Obj> = Vec::with_capacity(cmds.len() * 3);
        for cmd in &cmds {
            let t = cmd.bind(py);
            let n = t.len().into_pyobject(py)?;
            flat.push(n.as_ptr());
            counts.push(n);
            flat.extend(t.iter_borrowed().map(|a| a.as_ptr()));
        }
        let transaction = self.transaction;
        client.get().h.op(py, false, &mut |c| {
            // SAFETY: inside the operation; the tuples and ints are alive (`cmds`,
            // `counts`) and only this call reaches them.
            unsafe {
                for args in Runs::flat(&flat) {
                    if session::effect(args) != Effect::None {
                        for &a in args {
                            given(a);
                        }
                    }
                }
                (**c).run_pipeline(Runs::flat(&flat), transaction)
            }
        })
    }

    /// `_run(queue)`: runs a queue already flat (`Runs::flat`'s shape: per command its
    /// length, then its arguments), the one picoredis' Python pipeline (python/picoredis/
    /// _pipeline.py) collects: one call for the whole queue, which PyPy's cpyext makes
    /// much cheaper than a call per command. An empty queue is `[]`, as for `execute()`.
    fn _run(&self, py: Python<'_>, queue: &Bound<'_, PyList>) -> PyResult<Py<PyAny>> {
        if queue.is_empty() {
            return Ok(PyList::empty(py).into_any().unbind());
        }
        // SAFETY: the GIL is held; `queue` is a list (typed argument), so `items`, though
        // outside an operation, cannot raise (it does only for an object neither list nor
        // tuple); it reads the item array, which stays put while no Python code runs,
        // i.e. until `own` has taken a reference to every item.
        let own: Vec<Bound<'_, PyAny>> = unsafe { mp::items(queue.as_ptr()) }
            .iter()
            // SAFETY: the list's items are valid objects; each gets a reference of its own,
            // so the queue stays alive whatever the core's callbacks do to the list.
            .map(|&o| unsafe { Bound::from_borrowed_ptr(py, o) })
            .collect();
        let flat: Vec<Obj> = own.iter().map(|o| o.as_ptr()).collect();
        self.run_flat(py, &flat)
    }

    fn reset(&self) {
        self.take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, PyTuple>) {
        self.reset();
    }

    fn __len__(&self) -> usize {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    fn __bool__(&self) -> bool {
        true
    }
}

// ---- PubSub -----------------------------------------------------------------------------

/// A client of its own (the options of the Redis it came from) whose connection is in
/// subscribe mode: only the subscribe family, `ping()` and `get_message()`.
#[pyclass(module = "picoredis", name = "PubSub", frozen)]
pub struct PubSub {
    h: Handle<Client>,
}

impl PubSub {
    /// Sends `word names...` (the word as the core's interned name: `Subscriptions::follow`
    /// tells the commands apart by it); `at_least_one`: names are required.
    fn send(
        &self,
        py: Python<'_>,
        word: u32,
        names: &Bound<'_, PyTuple>,
        at_least_one: bool,
    ) -> PyResult<Py<PyAny>> {
        if at_least_one && names.is_empty() {
            return Err(PyTypeError::new_err(
                "at least one channel or pattern needed",
            ));
        }
        // SAFETY: the tuple's items stay put while it lives (the call).
        let rest = unsafe { mp::items(names.as_ptr()) };
        let mut argv = Vec::with_capacity(rest.len() + 1);
        argv.push(mp::qstr_obj(word));
        argv.extend_from_slice(rest);
        // SAFETY: inside the operation; `argv`'s objects are alive for the call.
        self.h
            .op(py, false, &mut |c| unsafe { (**c).send_only(&argv) })
    }
}

#[pymethods]
impl PubSub {
    #[pyo3(signature = (*channels))]
    fn subscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.send(py, sys::MP_QSTR_SUBSCRIBE, channels, true)
    }

    #[pyo3(signature = (*patterns))]
    fn psubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.send(py, sys::MP_QSTR_PSUBSCRIBE, patterns, true)
    }

    #[pyo3(signature = (*channels))]
    fn unsubscribe(&self, py: Python<'_>, channels: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.send(py, sys::MP_QSTR_UNSUBSCRIBE, channels, false)
    }

    #[pyo3(signature = (*patterns))]
    fn punsubscribe(&self, py: Python<'_>, patterns: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.send(py, sys::MP_QSTR_PUNSUBSCRIBE, patterns, false)
    }

    fn ping(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.send(py, sys::MP_QSTR_PING, &PyTuple::empty(py), false)
    }

    /// `get_message(timeout=0)`: a message dict or None; `timeout` in ms to wait for one
    /// to start (0: only one already there; None: without limit).
    #[pyo3(signature = (timeout = Arg::Default))]
    fn get_message(&self, py: Python<'_>, timeout: Arg<'_>) -> PyResult<Py<PyAny>> {
        let wait = match &timeout {
            Arg::Default => 0,
            Arg::Given(t) if t.is_exact_instance_of::<pyo3::types::PyInt>() && t.eq(0)? => 0,
            Arg::Given(t) => timeout_arg(t)?,
        };
        let wait = crate::conn::timeout(wait);
        // SAFETY: inside the operation.
        self.h
            .op(py, false, &mut |c| unsafe { (**c).get_message(wait) })
    }

    /// `close()`: ends the subscriptions too (a later subscribe starts afresh).
    fn close(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.h.op(py, true, &mut |c| {
            // SAFETY: inside the operation.
            unsafe {
                (**c).forget_subscriptions();
                (**c).close()
            }
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        self.close(py)
    }
}

// ---- Reader and encode() ----------------------------------------------------------------

/// `Reader(protocol=2, encoding=None, *, notEnoughData=False)`: the reply parser without a
/// socket (hiredis-py style), the core's reader.rs.
#[pyclass(module = "picoredis", name = "Reader", frozen)]
pub struct PyReader {
    h: Handle<crate::reader::Reader>,
}

#[pymethods]
impl PyReader {
    #[new]
    #[pyo3(signature = (protocol = 2, encoding = None, *, notEnoughData = Arg::Default))]
    #[allow(non_snake_case)]
    fn new(
        py: Python<'_>,
        protocol: isize,
        encoding: Option<Bound<'_, PyAny>>,
        notEnoughData: Arg<'_>,
    ) -> PyResult<Self> {
        if protocol != 2 && protocol != 3 {
            return Err(PyValueError::new_err("protocol must be 2 or 3"));
        }
        let decode = match &encoding {
            Some(e) if !e.is_none() => {
                let name = e.downcast::<PyString>()?.to_str()?.to_owned();
                if name != "utf-8" && name != "utf8" {
                    return Err(PyValueError::new_err("only utf-8 is supported"));
                }
                true
            }
            _ => false,
        };
        let more = match &notEnoughData {
            Arg::Given(m) => m.as_ptr(),
            // SAFETY: only the address of the False singleton is read.
            Arg::Default => unsafe { mp::boolean(false) },
        };
        let r = PyReader { h: Handle::new() };
        r.h.op(py, true, &mut |c| {
            // SAFETY: inside the operation; `more` is alive (the caller's) and pooled, so
            // that the new reader's block keeps it.
            unsafe {
                given(more);
                *c = crate::reader::Reader::alloc(ptr::null(), decode, more)
                    as *mut crate::reader::Reader;
                Ok(mp::none())
            }
        })?;
        Ok(r)
    }

    /// `feed(data, off=0, len=-1, /)`: feeds `data[off:off + len]` (hiredis-py's rules;
    /// a bad `off` or `len` raises with nothing fed).
    #[pyo3(signature = (data, off = Arg::Default, len = Arg::Default, /))]
    fn feed(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        off: Arg<'_>,
        len: Arg<'_>,
    ) -> PyResult<Py<PyAny>> {
        let given = |a: &Arg<'_>| match a {
            Arg::Given(o) => Some(o.as_ptr()),
            Arg::Default => None,
        };
        let (data, off, len) = (data.as_ptr(), given(&off), given(&len));
        self.h.op(py, true, &mut |r| {
            // SAFETY: inside the operation; the objects are the caller's, alive.
            unsafe { (**r).feed(data, off, len).map(|_| mp::none()) }
        })
    }

    /// `gets()`: the next complete reply, or `notEnoughData` (False).
    fn gets(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // SAFETY: inside the operation.
        self.h.op(py, true, &mut |r| unsafe { (**r).gets() })
    }

    /// `has_data()`: fed bytes wait that `gets()` has not returned.
    fn has_data(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // SAFETY: inside the operation.
        self.h.op(py, true, &mut |r| {
            // SAFETY: inside the operation (`op` holds the GIL and the object's lock, and
            // runs this under `protect`).
            Ok(unsafe { mp::boolean((**r).has_data()) })
        })
    }

    /// `is_push()`: the reply `gets()` last returned was a RESP3 push frame.
    fn is_push(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // SAFETY: inside the operation.
        self.h.op(py, true, &mut |r| {
            // SAFETY: inside the operation (`op` holds the GIL and the object's lock, and
            // runs this under `protect`).
            Ok(unsafe { mp::boolean((**r).is_push()) })
        })
    }
}

/// A key's Redis Cluster hash slot (`keyslot()`).
fn keyslot(py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let key = key.as_ptr();
    // SAFETY: inside the operation; `key` is alive (the caller's).
    free_op(py, &mut || unsafe {
        match crate::slots::slot_of(key) {
            Some(s) => Ok(mp::small_int(s as isize)),
            None => Err(Fail::Type("keys: str, bytes or int")),
        }
    })
}

/// `encode(*args)`: the request `Redis` would send for the command `args`, as bytes, with
/// its argument rules.
#[pyfunction]
#[pyo3(signature = (*args))]
fn encode(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
    // SAFETY: the tuple's items stay put while it lives (the call).
    let args = unsafe { mp::items(args.as_ptr()) };
    // SAFETY: inside the operation; `args` are alive.
    free_op(py, &mut || unsafe { crate::request::to_bytes(args) })
}

// ---- module -----------------------------------------------------------------------------

/// Fault injection for the tests: the `n`th object made from now on fails with
/// MemoryError (-1: none).
#[pyfunction]
fn _fail_after(n: isize) {
    pool::fail_after(n);
}

#[pymodule]
fn _picoredis(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // SAFETY: the GIL is held; the new types are owned by the module from here on.
    unsafe {
        let mk = |name: &core::ffi::CStr| {
            let t = ffi::PyErr_NewException(name.as_ptr(), ffi::PyExc_Exception, ptr::null_mut());
            Bound::from_owned_ptr_or_err(py, t)
        };
        let redis_error = mk(c"picoredis.RedisError")?;
        let parse_error = mk(c"picoredis.ParseError")?;
        let timeout = mk(c"picoredis.RedisTimeout")?;
        mp::init(redis_error.as_ptr(), parse_error.as_ptr(), timeout.as_ptr());
        REDIS_TIMEOUT = timeout.as_ptr();
        m.add("RedisError", redis_error)?;
        m.add("ParseError", parse_error)?;
        m.add("RedisTimeout", timeout)?;
    }
    m.add_class::<Redis>()?;
    m.add_class::<Pipeline>()?;
    m.add_class::<PubSub>()?;
    m.add_class::<PyReader>()?;
    m.add_function(wrap_pyfunction!(encode, m)?)?;
    m.add_function(wrap_pyfunction!(_fail_after, m)?)?;
    #[cfg(all(feature = "sentinel", feature = "cluster"))]
    cluster_glue::register(m)?;
    let _ = sys::QSTRS;
    Ok(())
}
