//! The `mp` wrapper surface of rust/picoredis/src/mp.rs, implemented a second time for a
//! Python host: CPython's C API (PyPy: cpyext), through pyo3-ffi. The part that the core
//! modules compiled here call, with their names and signatures, so that they compile
//! unchanged (a core change that calls something new fails this build, naming it).
//!
//! The three host differences, and how this file bridges them (docs/hosts.md has the why):
//!
//! - Raising: a failed C-API call returns NULL (or -1) with the error indicator set; the
//!   wrapper then longjmps (`raise`) to the operation's `pr_protect` (src/guard.c), as
//!   MicroPython's nlr does. Only the core's plain-old Rust frames are jumped over.
//! - Ownership: every object a wrapper makes belongs to the running operation's pool
//!   (src/pool.rs) and stays valid until the operation ends, as objects on MicroPython's
//!   GC heap stay valid while the C stack reaches them. Stores through the C API
//!   (`list_append`, `dict_store`, `set_store`) take references of their own; slots the
//!   core writes raw (`new_list(n)`'s via `list_get`, `new_tuple`'s via `tuple_items_mut`)
//!   are borrowed until the pool makes them owned when the operation ends.
//! - I/O: a socket is used at the fd level: recv/send without blocking, then `poll` with
//!   the GIL released for as long as the socket's own timeout says.
//!
//! Unsafe contracts (the `# Safety` sections' terms): *in an operation* means holding the
//! GIL, inside `protect` (an operation's `pr_protect` frame is live, so a failed call may
//! raise: longjmp), with no frame up to it holding anything to drop, and the running
//! operation's pool open (`pool::mark` .. `pool::release`); an object argument is *valid*
//! when it points to a live Python object (the pool or a caller keeps it alive). The raw
//! pyo3-ffi calls of the core's surface live here; glue.rs, pool.rs and hold.rs make the
//! few reference-count and type-object calls of their own layer.

use core::ffi::{c_char, c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicI32, Ordering};

use pyo3::ffi;

use crate::pool;
use crate::sys;

pub type Obj = *mut ffi::PyObject;
pub type Qstr = u32;

pub const NULL: Obj = ptr::null_mut();

extern "C" {
    fn pr_protect(f: unsafe extern "C" fn(*mut c_void), ctx: *mut c_void) -> c_int;
    fn pr_raise() -> !;
}

#[cfg(PyPy)]
extern "C" {
    #[link_name = "PyPySequence_Fast_ITEMS"]
    fn PySequence_Fast_ITEMS(o: *mut ffi::PyObject) -> *mut *mut ffi::PyObject;
}

/// A C-API call failed (the error indicator is set): leave the operation.
///
/// # Safety
/// Inside `protect`, holding the GIL; every frame up to it holds nothing to drop.
#[cold]
#[inline(never)]
pub unsafe fn raise() -> ! {
    // SAFETY: the caller's contract: inside `protect` (a `pr_protect` frame is live),
    // nothing to drop on the way.
    unsafe { pr_raise() }
}

/// Runs `f`; true when it raised (the error indicator is then set).
///
/// # Safety
/// Holding the GIL; `f` and the frames it calls hold nothing to drop.
pub unsafe fn protect_raw(f: &mut dyn FnMut()) -> bool {
    /// # Safety
    /// `ctx` points to a live `&mut dyn FnMut()` (what `protect_raw` passes).
    unsafe extern "C" fn trampoline(ctx: *mut c_void) {
        // SAFETY: `ctx` is the `&mut &mut dyn FnMut()` that `protect_raw` passed to
        // `pr_protect`, alive on its stack for this call.
        let f = unsafe { &mut **(ctx as *mut &mut dyn FnMut()) };
        f();
    }
    let mut f = f;
    // SAFETY: `trampoline` gets `ctx` unchanged, which points to `f` on this frame for the
    // whole call; the caller's contract (GIL, nothing to drop) covers `f`'s raise.
    unsafe { pr_protect(trampoline, &mut f as *mut &mut dyn FnMut() as *mut c_void) != 0 }
}

/// Runs `f` and returns the exception it raised instead of letting it propagate (the
/// core's `mp::protect`), owned by the operation's pool.
///
/// # Safety
/// As `protect_raw`; inside an operation.
pub unsafe fn protect(f: &mut dyn FnMut()) -> Option<Obj> {
    // SAFETY: the caller's contract is `protect_raw`'s; `fetch_exception` runs only after a
    // raise, with the indicator set.
    unsafe {
        if !protect_raw(f) {
            return None;
        }
        Some(fetch_exception())
    }
}

/// The exception the error indicator holds (cleared), normalised, owned by the pool.
///
/// # Safety
/// Holding the GIL, inside an operation, the error indicator set.
pub unsafe fn fetch_exception() -> Obj {
    // SAFETY: the caller's contract (error indicator set); fetched references are released
    // once or pooled.
    unsafe {
        let (mut t, mut v, mut tb) = (NULL, NULL, NULL);
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
        if !v.is_null() && !tb.is_null() {
            ffi::PyException_SetTraceback(v, tb);
        }
        ffi::Py_XDECREF(t);
        ffi::Py_XDECREF(tb);
        if v.is_null() {
            ffi::PyErr_SetString(ffi::PyExc_SystemError, c"no exception set".as_ptr());
            raise()
        }
        pool::own(v)
    }
}

/// A new object from a C-API call (NULL: raise), owned by the operation's pool.
#[inline(always)]
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn new(o: Obj) -> Obj {
    if o.is_null() {
        // SAFETY: the caller's contract: in an operation; `o` non-null here is a new
        // reference for the pool.
        unsafe { raise() }
    }
    // SAFETY: the caller's contract: in an operation; `o` non-null here is a new reference
    // for the pool.
    unsafe { pool::own(o) }
}

// ---- constants and interned names ------------------------------------------------------

/// `qstr(n)`'s interned str objects (sys::QSTRS), made at module init.
static mut QSTR_OBJS: [Obj; sys::QSTRS.len()] = [NULL; sys::QSTRS.len()];

static mut REDIS_ERROR: Obj = NULL;
static mut PARSE_ERROR: Obj = NULL;
static mut REDIS_TIMEOUT: Obj = NULL;
/// `socket.timeout`: `TimeoutError` from Python 3.10 on, an `OSError` subclass of its
/// own before (PyPy 3.9).
static mut SOCKET_TIMEOUT: Obj = NULL;
/// `socket.socket`: the streams moved at the fd level are exactly these.
static mut SOCKET_TYPE: Obj = NULL;

/// Module init: the interned names and the exception types (owned by the module).
///
/// # Safety
/// Holding the GIL, once, before any operation.
pub unsafe fn init(redis_error: Obj, parse_error: Obj, timeout: Obj) {
    // SAFETY: holding the GIL, once, before any operation (the caller's contract): no
    // operation reads these statics while they are written; the socket lookups are
    // null-checked. NOT checked: an interning failure (out of memory at import) leaves a
    // NULL name, and a later `PyObject_GetAttr(o, NULL)` would crash rather than raise.
    unsafe {
        let objs = &mut *ptr::addr_of_mut!(QSTR_OBJS);
        for (slot, q) in objs.iter_mut().zip(sys::QSTRS) {
            *slot = ffi::PyUnicode_InternFromString(q.as_ptr() as *const c_char);
        }
        REDIS_ERROR = redis_error;
        PARSE_ERROR = parse_error;
        REDIS_TIMEOUT = timeout;
        let socket = ffi::PyImport_ImportModule(c"socket".as_ptr());
        if !socket.is_null() {
            SOCKET_TIMEOUT = ffi::PyObject_GetAttrString(socket, c"timeout".as_ptr());
            SOCKET_TYPE = ffi::PyObject_GetAttrString(socket, c"socket".as_ptr());
            ffi::Py_DECREF(socket);
        }
        if SOCKET_TYPE.is_null() {
            ffi::PyErr_Clear();
        }
        if SOCKET_TIMEOUT.is_null() {
            ffi::PyErr_Clear();
            ffi::Py_INCREF(ffi::PyExc_TimeoutError);
            SOCKET_TIMEOUT = ffi::PyExc_TimeoutError;
        }
    }
}

pub fn none() -> Obj {
    // SAFETY: `Py_None` only takes the address of the interpreter's None singleton (a static).
    unsafe { ffi::Py_None() }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn boolean(v: bool) -> Obj {
    // SAFETY: `Py_True`/`Py_False` only take the addresses of the interpreter's static bools.
    unsafe {
        if v {
            ffi::Py_True()
        } else {
            ffi::Py_False()
        }
    }
}

pub fn is_none(o: Obj) -> bool {
    // SAFETY: only the address of the None singleton is read.
    o == unsafe { ffi::Py_None() }
}

/// Whether `o` is an interned str whose length the core may bound without reading it
/// (MicroPython's qstr objects). This host has none: every str is read.
pub fn is_qstr(_: Obj) -> bool {
    false
}

/// The longest a qstr can be: unused here (`is_qstr` is never true).
pub const QSTR_MAX_LEN: usize = 0;

/// An exact int that fits a machine word (MicroPython's "small int"; a bool is not one).
/// Not `unsafe`, as the core's is not (there it reads the word's tag bits alone, and the
/// core calls it outside `unsafe`: `Runs::next`); here it reads the object, which any
/// `Obj` the core holds is: a valid object, alive for the operation (pool.rs).
pub fn small_int_value(o: Obj) -> Option<isize> {
    // SAFETY: `o` is a valid object (above); the calls do not raise (an overflow is
    // reported in `overflow`, not as an error).
    unsafe {
        if ffi::PyLong_CheckExact(o) == 0 {
            return None;
        }
        let mut overflow: c_int = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(o, &mut overflow);
        if overflow != 0 {
            return None;
        }
        Some(v as isize)
    }
}

#[inline(always)]
pub fn qstr(q: u32) -> Qstr {
    q
}

pub fn qstr_obj(q: Qstr) -> Obj {
    // SAFETY: filled by `init` before any operation, never changed after.
    unsafe {
        (*ptr::addr_of!(QSTR_OBJS))
            .get(q as usize)
            .copied()
            .unwrap_or(NULL)
    }
}

// ---- new objects -----------------------------------------------------------------------

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn bytes(data: &[u8]) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        new(ffi::PyBytes_FromStringAndSize(
            data.as_ptr() as *const c_char,
            data.len() as ffi::Py_ssize_t,
        ))
    }
}

/// The core's bytes without its hash set (MicroPython computes a bytes' hash when it is
/// made, unless told not to): CPython and PyPy compute it when it is first needed anyway,
/// so a plain bytes.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn bytes_unhashed(data: &[u8]) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { bytes(data) }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn str_utf8(text: &[u8]) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        new(ffi::PyUnicode_FromStringAndSize(
            text.as_ptr() as *const c_char,
            text.len() as ffi::Py_ssize_t,
        ))
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn int(v: i64) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { new(ffi::PyLong_FromLongLong(v)) }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn small_int(v: isize) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { new(ffi::PyLong_FromSsize_t(v)) }
}

/// A new list of `n` empty slots, for the core to fill raw (`list_get`).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn new_list(n: usize) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let l = new(ffi::PyList_New(n as ffi::Py_ssize_t));
        if n > 0 {
            pool::raw(l);
        }
        l
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn list_append(list: Obj, v: Obj) {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        if ffi::PyList_Append(list, v) != 0 {
            raise()
        }
        pool::stored(v);
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn new_dict(_n: usize) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { new(ffi::PyDict_New()) }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn dict_store(dict: Obj, key: Obj, v: Obj) {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        if ffi::PyDict_SetItem(dict, key, v) != 0 {
            raise()
        }
        pool::stored(key);
        pool::stored(v);
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn new_set() -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { new(ffi::PySet_New(NULL)) }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn set_store(set: Obj, v: Obj) {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        if ffi::PySet_Add(set, v) != 0 {
            raise()
        }
        pool::stored(v);
    }
}

/// A new tuple of `items`, its slots borrowed (the core may rewrite them raw) until the
/// operation ends.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn new_tuple(items: &[Obj]) -> Obj {
    // SAFETY: the caller's contract; `t` is a fresh tuple of `items.len()` slots (`new`
    // raised otherwise), and `take(n)` keeps every write inside them.
    unsafe {
        let t = new(ffi::PyTuple_New(items.len() as ffi::Py_ssize_t));
        let (n, slots) = slots(t);
        for (i, &o) in items.iter().enumerate().take(n) {
            *slots.add(i) = o;
        }
        if !items.is_empty() {
            pool::raw(t);
        }
        t
    }
}

/// A tuple that owns its items at once (exception arguments: not rewritten).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn owned_tuple(items: &[Obj]) -> Obj {
    // SAFETY: the caller's contract (items valid); `t` is fresh with `items.len()` slots;
    // `PyTuple_SetItem` steals the reference taken just before it.
    unsafe {
        let t = new(ffi::PyTuple_New(items.len() as ffi::Py_ssize_t));
        for (i, &o) in items.iter().enumerate() {
            ffi::Py_INCREF(o);
            ffi::PyTuple_SetItem(t, i as ffi::Py_ssize_t, o);
        }
        t
    }
}

/// `text` with a NUL after it, in `buf` (the parser bounds a line to 1024 bytes).
fn c_text<'a>(text: &[u8], buf: &'a mut [u8; 1100]) -> &'a [u8] {
    let n = copy_prefix(buf.get_mut(..1099).unwrap_or(&mut []), text);
    if let Some(nul) = buf.get_mut(n) {
        *nul = 0;
    }
    buf.get(..=n).unwrap_or(&[])
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn parse_int(text: &[u8]) -> Obj {
    let mut buf = [0u8; 1100];
    let t = c_text(text, &mut buf);
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        new(ffi::PyLong_FromString(
            t.as_ptr() as *const c_char,
            ptr::null_mut(),
            10,
        ))
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn parse_float(text: &[u8]) -> Obj {
    let mut buf = [0u8; 1100];
    let t = c_text(text, &mut buf);
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let v = ffi::PyOS_string_to_double(t.as_ptr() as *const c_char, ptr::null_mut(), NULL);
        if v == -1.0 && !ffi::PyErr_Occurred().is_null() {
            raise()
        }
        new(ffi::PyFloat_FromDouble(v))
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn true_divide(a: Obj, b: Obj) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { new(ffi::PyNumber_TrueDivide(a, b)) }
}

// ---- types -----------------------------------------------------------------------------

/// Whether `o`'s type is `t`; for an exception type, whether `o` is one (an instance of
/// `t` or of a subclass). MicroPython raises `OSError` itself for every errno, and the
/// core asks "is it an OSError" (a connect attempt worth retrying, a node to fail over
/// from) with `type_is`; CPython and PyPy raise the errno's subclass instead
/// (`ConnectionRefusedError`, `TimeoutError`, `ssl.SSLError`), which an exact match would
/// take for a different error: no retry, and the error returned as it is.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn type_is(o: Obj, t: *const sys::mp_obj_type_t) -> bool {
    // SAFETY: the caller's contract: `o` valid, `t` a type object (the host's
    // `mp_obj_type_t` is `PyTypeObject`); these checks do not raise.
    unsafe {
        let ot = ffi::Py_TYPE(o);
        if ptr::eq(ot, t) {
            return true;
        }
        let t = t as *mut ffi::PyTypeObject;
        ffi::PyType_HasFeature(t, ffi::Py_TPFLAGS_BASE_EXC_SUBCLASS) != 0
            && ffi::PyType_IsSubtype(ot, t) != 0
    }
}

macro_rules! static_types {
    ($($name:ident = $sym:ident;)*) => {$(
        pub fn $name() -> *const sys::mp_obj_type_t {
            // Only the address of the interpreter's static type is taken.
            ptr::addr_of_mut!(ffi::$sym)
        }
    )*};
}
static_types! {
    list_type = PyList_Type;
    dict_type = PyDict_Type;
    set_type = PySet_Type;
    int_type = PyLong_Type;
    float_type = PyFloat_Type;
    bytes_type = PyBytes_Type;
    str_type = PyUnicode_Type;
}

macro_rules! exc_types {
    ($($name:ident = $e:expr;)*) => {$(
        pub fn $name() -> *const sys::mp_obj_type_t {
            // SAFETY: set once (module init or the interpreter), read only.
            unsafe { $e as *const sys::mp_obj_type_t }
        }
    )*};
}
exc_types! {
    redis_error_type = REDIS_ERROR;
    parse_error_type = PARSE_ERROR;
    timeout_type = REDIS_TIMEOUT;
    type_error_type = ffi::PyExc_TypeError;
    value_error_type = ffi::PyExc_ValueError;
    os_error_type = ffi::PyExc_OSError;
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn is_redis_error(o: Obj) -> bool {
    // SAFETY: the caller's contract (holding the GIL, objects valid) is what these calls
    // need; they do not raise (no result is an error here).
    unsafe { type_is(o, redis_error_type()) }
}

// ---- reading objects -------------------------------------------------------------------

/// The bytes behind str (UTF-8), bytes and other buffers, without raising.
///
/// # Safety
/// `o` valid, neither freed nor resized while the slice is used (`'a`): a generic buffer's
/// view is released before return, as MicroPython's borrow is.
pub unsafe fn buffer<'a>(o: Obj) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract: `o` valid. bytes/str data live as long as `o`; for
    // other buffers the slice outlives `PyBuffer_Release` and is sound only while `o` is
    // neither freed nor resized (the core's contract, as in MicroPython; not checked here).
    unsafe {
        let (p, n) = if ffi::PyBytes_CheckExact(o) != 0 {
            (ffi::PyBytes_AsString(o) as *const u8, ffi::PyBytes_Size(o))
        } else if ffi::PyUnicode_CheckExact(o) != 0 {
            let mut n: ffi::Py_ssize_t = 0;
            let p = ffi::PyUnicode_AsUTF8AndSize(o, &mut n);
            if p.is_null() {
                ffi::PyErr_Clear();
                return None;
            }
            (p as *const u8, n)
        } else if ffi::PyLong_Check(o) != 0 || ffi::PyFloat_Check(o) != 0 || is_none(o) {
            return None;
        } else {
            let mut view: ffi::Py_buffer = core::mem::zeroed();
            if ffi::PyObject_GetBuffer(o, &mut view, ffi::PyBUF_SIMPLE) != 0 {
                ffi::PyErr_Clear();
                return None;
            }
            // Borrowed while `o` lives unresized, as in MicroPython (the core's contract).
            let r = (view.buf as *const u8, view.len);
            ffi::PyBuffer_Release(&mut view);
            r
        };
        if n <= 0 || p.is_null() {
            return Some(&[]);
        }
        Some(core::slice::from_raw_parts(p, n as usize))
    }
}

/// The length and item array of a list or tuple (null when it is neither).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn slots(o: Obj) -> (usize, *mut Obj) {
    // SAFETY: the caller's contract: `o` valid; the struct reads happen only after the type
    // check says `o` is a list/tuple, whose layout pyo3-ffi mirrors (PyPy: cpyext's item
    // array).
    unsafe {
        #[cfg(not(PyPy))]
        {
            if ffi::PyList_Check(o) != 0 {
                let l = o as *mut ffi::PyListObject;
                return (ffi::Py_SIZE(o) as usize, (*l).ob_item);
            }
            if ffi::PyTuple_Check(o) != 0 {
                let t = o as *mut ffi::PyTupleObject;
                return (
                    ffi::Py_SIZE(o) as usize,
                    ptr::addr_of_mut!((*t).ob_item) as *mut Obj,
                );
            }
            (0, ptr::null_mut())
        }
        #[cfg(PyPy)]
        {
            let n = if ffi::PyList_Check(o) != 0 {
                ffi::PyList_Size(o)
            } else if ffi::PyTuple_Check(o) != 0 {
                ffi::PyTuple_Size(o)
            } else {
                return (0, ptr::null_mut());
            };
            (n as usize, PySequence_Fast_ITEMS(o))
        }
    }
}

/// # Safety
/// In an operation (module docs); the object valid, alive and not resized while the slice
/// is used (`'a`); a `_mut` slice not aliased.
pub unsafe fn items<'a>(o: Obj) -> &'a [Obj] {
    // SAFETY: the caller's contract: `o` valid and alive (pool) for `'a`; `p`/`n` from
    // `slots` describe its item array. Sound only while the list is not resized during
    // `'a`.
    unsafe {
        let (n, p) = slots(o);
        if p.is_null() {
            if ffi::PyList_Check(o) == 0 && ffi::PyTuple_Check(o) == 0 {
                ffi::PyErr_SetString(ffi::PyExc_TypeError, c"expected a list or tuple".as_ptr());
                raise()
            }
            return &[];
        }
        if n == 0 {
            return &[];
        }
        core::slice::from_raw_parts(p, n)
    }
}

/// # Safety
/// In an operation (module docs); the object valid, alive and not resized while the slice
/// is used (`'a`); a `_mut` slice not aliased.
pub unsafe fn items_mut<'a>(list: Obj) -> &'a mut [Obj] {
    // SAFETY: the caller's contract: `list` valid, its items not aliased during `'a`;
    // `p`/`n` from `slots`.
    unsafe {
        let (n, p) = slots(list);
        if p.is_null() || n == 0 {
            return &mut [];
        }
        core::slice::from_raw_parts_mut(p, n)
    }
}

/// # Safety
/// In an operation (module docs); the object valid, alive and not resized while the slice
/// is used (`'a`); a `_mut` slice not aliased.
pub unsafe fn list_get(list: Obj) -> (usize, *mut Obj) {
    // SAFETY: the caller's contract: `list` valid.
    unsafe { slots(list) }
}

/// # Safety
/// In an operation (module docs); the object valid, alive and not resized while the slice
/// is used (`'a`); a `_mut` slice not aliased.
pub unsafe fn tuple_items_mut<'a>(tuple: Obj) -> &'a mut [Obj] {
    // SAFETY: the caller's contract is `items_mut`'s.
    unsafe { items_mut(tuple) }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn float_value(o: Obj) -> Option<f64> {
    // SAFETY: the caller's contract: `o` valid; `PyFloat_AsDouble` of an exact float cannot
    // fail.
    unsafe { (ffi::PyFloat_CheckExact(o) != 0).then(|| ffi::PyFloat_AsDouble(o)) }
}

// ---- exceptions ------------------------------------------------------------------------

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn exception(t: *const sys::mp_obj_type_t, args: &[Obj]) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let a = owned_tuple(args);
        new(ffi::PyObject_Call(t as *mut ffi::PyObject, a, NULL))
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn exception_msg(t: *const sys::mp_obj_type_t, msg: &str) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { exception(t, &[str_utf8(msg.as_bytes())]) }
}

/// `OSError(errno, strerror)`: CPython makes it the errno's subclass
/// (ConnectionResetError, ...).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn os_error(errno: c_int) -> Obj {
    // SAFETY: `strerror` returns a NUL-terminated string (read before any other call could
    // change it); the rest is the caller's contract.
    unsafe {
        let text = core::ffi::CStr::from_ptr(libc::strerror(errno));
        exception(
            os_error_type(),
            &[small_int(errno as isize), str_utf8(text.to_bytes())],
        )
    }
}

// ---- output and time -------------------------------------------------------------------

/// Writes `text` (UTF-8; other bytes as U+FFFD) to `sys.stdout`, where Python's own
/// output goes (the debug trace).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn print(text: &[u8]) {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let s = new(ffi::PyUnicode_DecodeUTF8(
            text.as_ptr() as *const c_char,
            text.len() as ffi::Py_ssize_t,
            c"replace".as_ptr(),
        ));
        write_stdout(s);
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn write_stdout(s: Obj) {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let out = ffi::PySys_GetObject(c"stdout".as_ptr());
        if out.is_null() || is_none(out) {
            return;
        }
        let w = new(ffi::PyObject_GetAttrString(out, c"write".as_ptr()));
        new(ffi::PyObject_Call(w, owned_tuple(&[s]), NULL));
    }
}

/// Writes `data` to `sys.stdout` as Python's repr of a str (or, `as_bytes`, of a bytes)
/// shows it, without the `b` prefix.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn print_quoted(data: &[u8], as_bytes: bool) {
    // SAFETY: the caller's contract; `p`/`n` come from a successful
    // `PyUnicode_AsUTF8AndSize` on `r`, which the pool keeps alive.
    unsafe {
        let o = if as_bytes {
            bytes(data)
        } else {
            str_utf8(data)
        };
        let r = new(ffi::PyObject_Repr(o));
        if !as_bytes {
            return write_stdout(r);
        }
        // Without the b prefix (PyPy's cpyext has no PyUnicode_Substring).
        let mut n: ffi::Py_ssize_t = 0;
        let p = ffi::PyUnicode_AsUTF8AndSize(r, &mut n);
        if p.is_null() {
            raise()
        }
        let text = core::slice::from_raw_parts(p as *const u8, n as usize);
        write_stdout(str_utf8(text.get(1..).unwrap_or(&[])));
    }
}

pub fn ticks_ms() -> u32 {
    // SAFETY: all zeroes is a valid `timespec` (plain integers).
    let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
    // SAFETY: a valid out-pointer; the monotonic clock cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000) as u32
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn delay_ms(ms: u32) {
    // SAFETY: the caller's contract (holding the GIL): released around the sleep, restored
    // before any C-API call.
    unsafe {
        let save = ffi::PyEval_SaveThread();
        libc::usleep(ms.saturating_mul(1000));
        ffi::PyEval_RestoreThread(save);
        if ffi::PyErr_CheckSignals() != 0 {
            raise()
        }
    }
}

// ---- calling Python --------------------------------------------------------------------

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn call_method(obj: Obj, name: Qstr, args: &[Obj]) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let m = new(ffi::PyObject_GetAttr(obj, qstr_obj(name)));
        let a = owned_tuple(args);
        let r = ffi::PyObject_Call(m, a, NULL);
        if r.is_null() && socket_timed_out() {
            errno_timeout();
        }
        let r = new(r);
        pool_items(r, 2);
        r
    }
}

/// The items of a list or tuple `o` (and theirs, `depth` levels down) pooled too: what a
/// Python call returns may hold objects made by another operation (a Sentinel's
/// `discover_master`: a `(host, port)` whose host the client then keeps), which are in no
/// pool of this one, so hold.rs would not find them where the core stores them. As on
/// MicroPython's GC heap, an object the core reaches through another stays alive.
///
/// # Safety
/// In an operation (module docs); `o` valid.
unsafe fn pool_items(o: Obj, depth: u8) {
    // SAFETY: the caller's contract; each item gets a reference of the pool's own.
    unsafe {
        if depth == 0 || (ffi::PyList_Check(o) == 0 && ffi::PyTuple_Check(o) == 0) {
            return;
        }
        for &i in items(o) {
            ffi::Py_INCREF(i);
            pool::own(i);
            pool_items(i, depth - 1);
        }
    }
}

/// The error indicator holds a socket's own timeout (`TimeoutError`, or PyPy 3.9's
/// `socket.timeout`).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn socket_timed_out() -> bool {
    // SAFETY: holding the GIL (the caller's contract); `SOCKET_TIMEOUT` is set by `init`,
    // never NULL after it; matching does not raise.
    unsafe {
        ffi::PyErr_ExceptionMatches(ffi::PyExc_TimeoutError) != 0
            || ffi::PyErr_ExceptionMatches(SOCKET_TIMEOUT) != 0
    }
}

/// Python's socket reports its own timeout as `TimeoutError('timed out')`, without an
/// errno; MicroPython's (and the README's error table) as OSError(ETIMEDOUT). The same
/// type, with the errno the table names.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn errno_timeout() {
    // SAFETY: holding the GIL (callers' contract); every C-API result is null-checked,
    // except `PyTuple_SetItem`'s items: a failed item (out of memory) would leave a NULL
    // slot in `args` (not sound under OOM; see the hygiene report).
    unsafe {
        let (mut t, mut v, mut tb) = (NULL, NULL, NULL);
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        ffi::Py_XDECREF(t);
        ffi::Py_XDECREF(v);
        ffi::Py_XDECREF(tb);
        let text = core::ffi::CStr::from_ptr(libc::strerror(libc::ETIMEDOUT)).to_bytes();
        let args = ffi::PyTuple_New(2);
        if args.is_null() {
            return;
        }
        ffi::PyTuple_SetItem(args, 0, ffi::PyLong_FromLong(libc::ETIMEDOUT as _));
        ffi::PyTuple_SetItem(
            args,
            1,
            ffi::PyUnicode_FromStringAndSize(text.as_ptr() as *const c_char, text.len() as _),
        );
        let e = ffi::PyObject_Call(ffi::PyExc_TimeoutError, args, NULL);
        ffi::Py_DECREF(args);
        if !e.is_null() {
            ffi::PyErr_SetObject(ffi::PyExc_TimeoutError, e);
            ffi::Py_DECREF(e);
        }
    }
}

/// Calls `obj.name(arg, key=value)`.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn call_method_1_kw(obj: Obj, name: Qstr, arg: Obj, key: Qstr, value: Obj) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let m = new(ffi::PyObject_GetAttr(obj, qstr_obj(name)));
        let kw = new(ffi::PyDict_New());
        if ffi::PyDict_SetItem(kw, qstr_obj(key), value) != 0 {
            raise()
        }
        let r = ffi::PyObject_Call(m, owned_tuple(&[arg]), kw);
        if r.is_null() && socket_timed_out() {
            errno_timeout();
        }
        new(r)
    }
}

/// Whether `exc` is a timeout: a socket's own (`TimeoutError`, PyPy 3.9's
/// `socket.timeout`, as a TLS handshake that got no answer raises it) or an OSError with
/// ETIMEDOUT or EAGAIN, as MicroPython's streams report one.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn is_timeout(exc: Obj) -> bool {
    // SAFETY: the caller's contract: `exc` valid; every error is cleared, the one reference
    // taken is released once.
    unsafe {
        let t = ffi::Py_TYPE(exc) as Obj;
        if ffi::PyErr_GivenExceptionMatches(t, ffi::PyExc_TimeoutError) != 0
            || ffi::PyErr_GivenExceptionMatches(t, SOCKET_TIMEOUT) != 0
        {
            return true;
        }
        if ffi::PyErr_GivenExceptionMatches(t, ffi::PyExc_OSError) == 0 {
            return false;
        }
        let n = ffi::PyObject_GetAttrString(exc, c"errno".as_ptr());
        if n.is_null() {
            ffi::PyErr_Clear();
            return false;
        }
        let e = ffi::PyLong_AsLong(n);
        ffi::Py_DECREF(n);
        ffi::PyErr_Clear();
        e == libc::ETIMEDOUT as core::ffi::c_long || e == libc::EAGAIN as core::ffi::c_long
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn has_method(obj: Obj, name: Qstr) -> bool {
    // SAFETY: the caller's contract: `obj` valid; `PyObject_HasAttr` clears any error itself.
    unsafe { ffi::PyObject_HasAttr(obj, qstr_obj(name)) != 0 }
}

// ---- streams ---------------------------------------------------------------------------
//
// Three kinds, told apart once per stream by `stream_of` (which the core calls when it
// attaches one, before any transfer):
// - a plain `socket.socket`: moved at the fd level (recv/send without blocking, then
//   `poll` with the GIL released for the socket's own timeout);
// - another socket (an `ssl.SSLSocket`, whose fd carries ciphertext, or a subclass):
//   its `recv_into`/`send` methods, which honour `settimeout` and release the GIL
//   themselves; its timeout is ETIMEDOUT, as on the fd path;
// - any other object with `readinto`/`write` (an `io.IOBase` stream, as `sock=` takes on
//   MicroPython): MicroPython's stream protocol for Python streams (modio.c's
//   iobase_read_write / iobase_ioctl): `None` is EAGAIN, a negative count an errno, its
//   `ioctl(MP_STREAM_POLL, flags)` tells readiness and `ioctl(MP_STREAM_CLOSE, 0)`
//   closes it; what its methods raise is raised.

const KIND_FD: u8 = 0;
const KIND_SOCKET: u8 = 1;
const KIND_IO: u8 = 2;
static STREAM_FD: sys::mp_stream_p_t = sys::mp_stream_p_t { kind: KIND_FD };
static STREAM_SOCKET: sys::mp_stream_p_t = sys::mp_stream_p_t { kind: KIND_SOCKET };
static STREAM_IO: sys::mp_stream_p_t = sys::mp_stream_p_t { kind: KIND_IO };

/// MicroPython's stream ioctl requests, as a Python stream's `ioctl` gets them.
const MP_STREAM_POLL: isize = 3;
const MP_STREAM_CLOSE: isize = 4;

/// The streams attached and their kind and fd (the GIL guards the table). `stream_of`
/// (re)writes an entry whenever a stream is attached, so an entry left by a dead object
/// is replaced before an object at its address is used; entries go when their stream is
/// closed (`stream_close`) or let go (`forget_stream`, from hold.rs: a client no longer
/// keeps it, or an operation attached it and kept it not, as a TLS connect does with the
/// socket it wraps). Streams beyond the table's size work, classified on every transfer.
static mut STREAMS: [(Obj, c_int, u8); 64] = [(NULL, -1, KIND_FD); 64];

/// `o` is no longer a stream anyone uses: its entry goes.
///
/// # Safety
/// Holding the GIL.
pub unsafe fn forget_stream(o: Obj) {
    // SAFETY: holding the GIL (the caller's contract), which guards `STREAMS`; no other
    // reference to it is alive.
    unsafe {
        let t = &mut *ptr::addr_of_mut!(STREAMS);
        for slot in t.iter_mut().filter(|(s, _, _)| *s == o) {
            *slot = (NULL, -1, KIND_FD);
        }
    }
}

thread_local! {
    /// The streams attached by this thread's running operations (`stream_of`), for
    /// hold.rs to forget the ones the operation's client did not keep.
    static ATTACHED: core::cell::RefCell<Vec<Obj>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Forgets the streams attached since the last call that `keep` does not hold (a TLS
/// connect attaches the socket, then the stream that wraps it, and keeps only that).
///
/// # Safety
/// Holding the GIL.
pub unsafe fn settle_streams(keep: &[Obj]) {
    let attached = ATTACHED.with(|a| core::mem::take(&mut *a.borrow_mut()));
    for o in attached {
        if !keep.contains(&o) {
            // SAFETY: the caller's contract.
            unsafe { forget_stream(o) };
        }
    }
}

/// `o`'s kind and fd (-1 for the method kinds), found out now; raises OSError when `o`
/// is no stream.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn classify(o: Obj) -> (u8, c_int) {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        if ffi::Py_TYPE(o) as Obj == SOCKET_TYPE {
            // s.fileno() (PyPy has no PyObject_AsFileDescriptor).
            let r = new(ffi::PyObject_CallMethodObjArgs(
                o,
                qstr_obj(sys::MP_QSTR_fileno),
                NULL,
            ));
            let fd = ffi::PyLong_AsLong(r);
            if fd == -1 && !ffi::PyErr_Occurred().is_null() {
                raise()
            }
            return (KIND_FD, fd as c_int);
        }
        if ffi::PyObject_IsInstance(o, SOCKET_TYPE) == 1 {
            return (KIND_SOCKET, -1);
        }
        ffi::PyErr_Clear();
        if has_method(o, sys::MP_QSTR_readinto) && has_method(o, sys::MP_QSTR_write) {
            return (KIND_IO, -1);
        }
        let e = exception_msg(os_error_type(), "stream operation not supported");
        ffi::PyErr_SetObject(ffi::Py_TYPE(e) as Obj, e);
        raise()
    }
}

/// `s`'s kind and fd, from the table (or found out again when the table was full).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn kind_of(s: Obj) -> (u8, c_int) {
    // SAFETY: holding the GIL (guards `STREAMS`); then `classify`'s contract, the caller's.
    unsafe {
        let t = &*ptr::addr_of!(STREAMS);
        if let Some(&(_, fd, kind)) = t.iter().find(|(o, _, _)| *o == s) {
            return (kind, fd);
        }
        classify(s)
    }
}

/// Checks that `o` is a stream, notes its kind (and fd), and returns the protocol the
/// core keeps with it (its kind).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn stream_of(o: Obj) -> *const sys::mp_stream_p_t {
    // SAFETY: the caller's contract; `STREAMS` is guarded by the GIL, one reference at a time.
    unsafe {
        let (kind, fd) = classify(o);
        forget_stream(o);
        let t = &mut *ptr::addr_of_mut!(STREAMS);
        if let Some(slot) = t.iter_mut().find(|(s, _, _)| s.is_null()) {
            *slot = (o, fd, kind);
            ATTACHED.with(|a| a.borrow_mut().push(o));
        }
        match kind {
            KIND_FD => &STREAM_FD,
            KIND_SOCKET => &STREAM_SOCKET,
            _ => &STREAM_IO,
        }
    }
}

pub const POLL_RD: usize = libc::POLLIN as usize;
pub const POLL_WR: usize = libc::POLLOUT as usize;

fn errno() -> c_int {
    // SAFETY: reading this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// # Safety
/// `buf` valid for `len` bytes (read by send, written by recv).
unsafe fn once(fd: c_int, buf: *mut u8, len: usize, write: bool) -> isize {
    // SAFETY: the caller's contract: `buf` valid for `len` bytes (written by recv, read by
    // send).
    unsafe {
        if write {
            libc::send(
                fd,
                buf as *const c_void,
                len,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        } else {
            libc::recv(fd, buf as *mut c_void, len, libc::MSG_DONTWAIT)
        }
    }
}

/// The socket's own timeout (settimeout) in ms, -1 for none.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn socket_timeout_ms(s: Obj) -> c_int {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let t = new(ffi::PyObject_GetAttr(s, qstr_obj(sys::MP_QSTR_timeout)));
        if is_none(t) {
            return -1;
        }
        let secs = ffi::PyFloat_AsDouble(t);
        if secs == -1.0 && !ffi::PyErr_Occurred().is_null() {
            raise()
        }
        (secs * 1000.0).ceil().min(c_int::MAX as f64) as c_int
    }
}

/// The fd of the last write, until the next read of any socket (a hint, shared by
/// every thread: a wrong guess costs one syscall, never a result).
static JUST_SENT: AtomicI32 = AtomicI32::new(-1);

/// One read or write: the count and errno, as mp_stream_rw with MP_STREAM_RW_ONCE
/// reports them. A socket not ready waits (GIL released) as long as its timeout says;
/// still not ready: ETIMEDOUT (the core's deadline logic decides what next).
///
/// # Safety
/// In an operation (module docs); `s` valid; `buf` valid for `len` bytes.
pub unsafe fn stream_once(s: Obj, buf: *mut u8, len: usize, write: bool) -> (usize, c_int) {
    // SAFETY: the caller's contract (`buf` valid for `len` bytes, in an operation); the GIL
    // is released only around `poll`, which touches no Python object.
    unsafe {
        let (kind, fd) = kind_of(s);
        if kind != KIND_FD {
            return method_once(s, kind, buf, len, write);
        }
        // The first read after a write (a reply to what was just sent) waits first: the
        // reply is almost never there yet, and a recv that says EAGAIN is one syscall
        // more per command (CPython's own sockets wait first too).
        let just_sent = if write {
            false
        } else {
            JUST_SENT.swap(-1, Ordering::Relaxed) == fd
        };
        if !just_sent {
            let r = once(fd, buf, len, write);
            if r >= 0 {
                if write {
                    JUST_SENT.store(fd, Ordering::Relaxed);
                }
                return (r as usize, 0);
            }
            let e = errno();
            if e != libc::EAGAIN && e != libc::EWOULDBLOCK && e != libc::EINTR {
                return (0, e);
            }
        }
        let timeout = socket_timeout_ms(s);
        let mut pfd = libc::pollfd {
            fd,
            events: if write { libc::POLLOUT } else { libc::POLLIN },
            revents: 0,
        };
        loop {
            let save = ffi::PyEval_SaveThread();
            let pr = libc::poll(&mut pfd, 1, timeout);
            let e = errno();
            ffi::PyEval_RestoreThread(save);
            if pr > 0 {
                let r = once(fd, buf, len, write);
                if r >= 0 && write {
                    JUST_SENT.store(fd, Ordering::Relaxed);
                }
                return if r >= 0 {
                    (r as usize, 0)
                } else {
                    (0, errno())
                };
            }
            if pr == 0 {
                return (0, libc::ETIMEDOUT);
            }
            if e != libc::EINTR {
                return (0, e);
            }
            if ffi::PyErr_CheckSignals() != 0 {
                raise()
            }
        }
    }
}

/// A transfer through the stream's methods: a socket's `recv_into`/`send`, or a Python
/// stream's `readinto`/`write`, as MicroPython calls them: with a bytearray (a read is
/// copied out of it, at most `len` bytes; a write's bytes are copied in), so a method
/// that keeps what it was given keeps its own object, never a view of the core's buffer.
///
/// # Safety
/// In an operation (module docs); `s` valid; `buf` valid for `len` bytes.
unsafe fn method_once(s: Obj, kind: u8, buf: *mut u8, len: usize, write: bool) -> (usize, c_int) {
    // SAFETY: the caller's contract (`buf` valid for `len` bytes); the copy is bounded by
    // the bytearray's size and `len`.
    unsafe {
        let name = match (kind, write) {
            (KIND_SOCKET, false) => sys::MP_QSTR_recv_into,
            (KIND_SOCKET, true) => sys::MP_QSTR_send,
            (_, false) => sys::MP_QSTR_readinto,
            (_, true) => sys::MP_QSTR_write,
        };
        let data = if write {
            buf as *const c_char
        } else {
            ptr::null()
        };
        let arr = new(ffi::PyByteArray_FromStringAndSize(
            data,
            len as ffi::Py_ssize_t,
        ));
        let r = ffi::PyObject_CallMethodObjArgs(s, qstr_obj(name), arr, NULL);
        if r.is_null() {
            if kind == KIND_SOCKET {
                if let Some(e) = socket_errno() {
                    return (0, e);
                }
            }
            raise()
        }
        let r = pool::own(r);
        if is_none(r) {
            return (0, libc::EAGAIN);
        }
        let n = ffi::PyLong_AsSsize_t(r);
        if n == -1 && !ffi::PyErr_Occurred().is_null() {
            raise()
        }
        if n < 0 {
            return (0, (-n).min(c_int::MAX as isize) as c_int);
        }
        if !write {
            // (The method may have resized the bytearray: only what it holds is copied.)
            let have = ffi::PyByteArray_Size(arr).max(0) as usize;
            let copy = (n as usize).min(len).min(have);
            if copy > 0 {
                ptr::copy_nonoverlapping(ffi::PyByteArray_AsString(arr) as *const u8, buf, copy);
            }
        }
        (n as usize, 0)
    }
}

/// A socket method failed: its timeout is ETIMEDOUT and a would-block EAGAIN, as the fd
/// path reports them; another OSError with an OS errno (a reset) is that errno. Anything
/// else (a TLS protocol error, whose `errno` is OpenSSL's) stays raised: None.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn socket_errno() -> Option<c_int> {
    // SAFETY: holding the GIL, the error indicator set (callers' contract); every reference
    // fetched is released or restored exactly once.
    unsafe {
        let e = if socket_timed_out() {
            libc::ETIMEDOUT
        } else if ffi::PyErr_ExceptionMatches(ffi::PyExc_BlockingIOError) != 0 {
            libc::EAGAIN
        } else if ffi::PyErr_ExceptionMatches(ffi::PyExc_ConnectionError) != 0 {
            let (mut t, mut v, mut tb) = (NULL, NULL, NULL);
            ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
            ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
            let n = if v.is_null() {
                NULL
            } else {
                ffi::PyObject_GetAttrString(v, c"errno".as_ptr())
            };
            let errno = if n.is_null() {
                -1
            } else {
                let e = ffi::PyLong_AsLong(n);
                ffi::Py_DECREF(n);
                e
            };
            ffi::PyErr_Clear();
            if errno > 0 {
                ffi::Py_XDECREF(t);
                ffi::Py_XDECREF(v);
                ffi::Py_XDECREF(tb);
                return Some(errno as c_int);
            }
            ffi::PyErr_Restore(t, v, tb);
            return None;
        } else {
            return None;
        };
        ffi::PyErr_Clear();
        Some(e)
    }
}

/// `s.ioctl(request, arg)`, MicroPython's stream protocol for a Python stream: the new
/// reference to its result, or null with the error set (the two ints made for the call
/// released either way).
///
/// # Safety
/// Holding the GIL; `s` valid.
unsafe fn call_ioctl(s: Obj, request: isize, arg: usize) -> Obj {
    // SAFETY: the caller's contract; each int is null-checked and released once.
    unsafe {
        let (q, a) = (
            ffi::PyLong_FromSsize_t(request),
            ffi::PyLong_FromSize_t(arg),
        );
        let r = if q.is_null() || a.is_null() {
            NULL
        } else {
            ffi::PyObject_CallMethodObjArgs(s, qstr_obj(sys::MP_QSTR_ioctl), q, a, NULL)
        };
        ffi::Py_XDECREF(q);
        ffi::Py_XDECREF(a);
        r
    }
}

/// A Python stream's `ioctl(request, arg)` as an int; None when it has no `ioctl` or
/// it raised (cleared) or returned a non-int.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn io_ioctl(s: Obj, request: isize, arg: usize) -> Option<isize> {
    // SAFETY: holding the GIL, `s` valid (the caller's contract); every result is
    // null-checked and released once; errors are cleared, never raised.
    unsafe {
        if !has_method(s, sys::MP_QSTR_ioctl) {
            return None;
        }
        let r = call_ioctl(s, request, arg);
        if r.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let v = ffi::PyLong_AsSsize_t(r);
        ffi::Py_DECREF(r);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(v)
    }
}

/// # Safety
/// None beyond a plain fd number (poll on a closed fd reports, not faults).
unsafe fn fd_ready(fd: c_int, flags: usize) -> Option<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: flags as i16,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    match unsafe { libc::poll(&mut pfd, 1, 0) } {
        r if r < 0 => None,
        0 => Some(false),
        _ => Some(true),
    }
}

/// Whether the stream is ready for `flags` now, without blocking (None: cannot tell).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn stream_ready(s: Obj, p: *const sys::mp_stream_p_t, flags: usize) -> Option<bool> {
    // SAFETY: the caller's contract (`p` null or a protocol from `stream_of`); results are
    // null-checked and released once; errors cleared.
    unsafe {
        let kind = p.as_ref().map_or(KIND_FD, |p| p.kind);
        match kind {
            KIND_IO => {
                let r = io_ioctl(s, MP_STREAM_POLL, flags)?;
                (r >= 0).then_some(r as usize & flags != 0)
            }
            KIND_SOCKET => {
                // Decrypted bytes may wait inside the TLS layer, which no poll sees.
                if flags & POLL_RD != 0 && has_method(s, sys::MP_QSTR_pending) {
                    let r =
                        ffi::PyObject_CallMethodObjArgs(s, qstr_obj(sys::MP_QSTR_pending), NULL);
                    if r.is_null() {
                        ffi::PyErr_Clear();
                    } else {
                        let n = ffi::PyLong_AsLong(r);
                        ffi::Py_DECREF(r);
                        ffi::PyErr_Clear();
                        if n > 0 {
                            return Some(true);
                        }
                    }
                }
                let r = ffi::PyObject_CallMethodObjArgs(s, qstr_obj(sys::MP_QSTR_fileno), NULL);
                if r.is_null() {
                    ffi::PyErr_Clear();
                    return None;
                }
                let fd = ffi::PyLong_AsLong(r);
                ffi::Py_DECREF(r);
                if fd < 0 {
                    ffi::PyErr_Clear();
                    return None;
                }
                fd_ready(fd as c_int, flags)
            }
            _ => fd_ready(kind_of(s).1, flags),
        }
    }
}

/// Closes the stream (a Python stream through `ioctl(MP_STREAM_CLOSE, 0)` when it has
/// an `ioctl`, as MicroPython does; else its `close()`); the exception that raised, if
/// any.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn stream_close(s: Obj) -> Option<Obj> {
    // SAFETY: the caller's contract; results are null-checked and released once; the
    // fetched exception is pooled or dropped.
    unsafe {
        let io = kind_of_quiet(s) == Some(KIND_IO);
        forget_stream(s);
        let r = if io && has_method(s, sys::MP_QSTR_ioctl) {
            call_ioctl(s, MP_STREAM_CLOSE, 0)
        } else {
            ffi::PyObject_CallMethodObjArgs(s, qstr_obj(sys::MP_QSTR_close), NULL)
        };
        if !r.is_null() {
            ffi::Py_DECREF(r);
            return None;
        }
        let (mut t, mut v, mut tb) = (NULL, NULL, NULL);
        ffi::PyErr_Fetch(&mut t, &mut v, &mut tb);
        ffi::PyErr_NormalizeException(&mut t, &mut v, &mut tb);
        ffi::Py_XDECREF(t);
        ffi::Py_XDECREF(tb);
        if v.is_null() {
            None
        } else {
            Some(pool::own(v))
        }
    }
}

/// `s`'s kind from the table, or found out now without raising (None: no stream).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn kind_of_quiet(s: Obj) -> Option<u8> {
    // SAFETY: holding the GIL (guards `STREAMS`); `classify` runs inside `protect_raw`,
    // whose raise is cleared.
    unsafe {
        let t = &*ptr::addr_of!(STREAMS);
        if let Some(&(_, _, kind)) = t.iter().find(|(o, _, _)| *o == s) {
            return Some(kind);
        }
        let mut kind = None;
        if protect_raw(&mut || kind = Some(classify(s).0)) {
            ffi::PyErr_Clear();
        }
        kind
    }
}

// ---- vstr: a growable buffer, here the storage of a bytes object -----------------------

pub fn vstr_empty() -> sys::vstr_t {
    // SAFETY: all zeroes is an empty vstr (null buffer and object).
    unsafe { core::mem::zeroed() }
}

/// Storage for `alloc` bytes: a new bytes object of `alloc - 1` bytes (it keeps a NUL
/// after them), owned by the pool; nothing reads it until it is handed over.
///
/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn vstr_init(v: &mut sys::vstr_t, alloc: usize) {
    // SAFETY: the caller's contract; a bytes of `alloc - 1` bytes has `alloc` writable
    // bytes (with its NUL) until it is handed over.
    unsafe {
        let alloc = alloc.max(1);
        let o = new(ffi::PyBytes_FromStringAndSize(
            ptr::null(),
            (alloc - 1) as ffi::Py_ssize_t,
        ));
        v.obj = o;
        v.buf = ffi::PyBytes_AsString(o);
        v.alloc = alloc;
        v.len = 0;
    }
}

/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn vstr_hint_size(v: &mut sys::vstr_t, extra: usize) {
    // SAFETY: the caller's contract (`v` from `vstr_init`/empty); the old buffer (still
    // pooled, so alive) holds `len` bytes and the new one at least `len + extra`.
    unsafe {
        if v.alloc - v.len >= extra {
            return;
        }
        let (old, len) = (v.buf, v.len);
        vstr_init(v, len + extra);
        if len > 0 {
            ptr::copy_nonoverlapping(old, v.buf, len);
        }
        v.len = len;
    }
}

/// Appends `data`; a buffer too small at least doubles (a Reader fed a byte at a time
/// would otherwise copy its whole buffer on every byte: there is no realloc in place for
/// a bytes object's storage).
///
/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn vstr_add(v: &mut sys::vstr_t, data: &[u8]) {
    // SAFETY: the caller's contract; after the growth above `v.buf` has room for
    // `data.len()` more bytes past `v.len`.
    unsafe {
        if v.alloc - v.len < data.len() {
            vstr_hint_size(v, data.len().max(v.alloc));
        }
        ptr::copy_nonoverlapping(data.as_ptr(), v.buf.add(v.len) as *mut u8, data.len());
        v.len += data.len();
    }
}

/// Forgets the buffer (the pool frees its object when the operation ends).
///
/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn vstr_clear(v: &mut sys::vstr_t) {
    *v = vstr_empty();
}

/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn vstr_slice<'a>(v: &mut sys::vstr_t) -> &'a mut [u8] {
    if v.buf.is_null() || v.len == 0 {
        return &mut [];
    }
    // SAFETY: `v.buf` holds `v.len` filled bytes (vstr invariant, the caller's contract),
    // alive in the pool for `'a`.
    unsafe { core::slice::from_raw_parts_mut(v.buf as *mut u8, v.len) }
}

#[cfg(not(PyPy))]
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn bytes_len(o: Obj) -> usize {
    // SAFETY: the caller's contract: `o` a valid bytes.
    unsafe { ffi::Py_SIZE(o) as usize }
}

#[cfg(PyPy)]
/// # Safety
/// In an operation (module docs); object arguments valid.
unsafe fn bytes_len(o: Obj) -> usize {
    // SAFETY: the caller's contract: `o` a valid bytes (`PyBytes_Size` cannot fail then).
    unsafe { ffi::PyBytes_Size(o) as usize }
}

/// The bytes object of what `v` holds: its own storage when filled exactly (a bulk
/// reply read in place, the usual case), else a copy of the part filled.
///
/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn bytes_from_vstr(v: &mut sys::vstr_t) -> Obj {
    // SAFETY: the caller's contract; `o`, when set, is the bytes `vstr_init` made.
    unsafe {
        let o = v.obj;
        let r = if !o.is_null() && bytes_len(o) == v.len {
            o
        } else {
            bytes(vstr_slice(v))
        };
        *v = vstr_empty();
        r
    }
}

/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn bytes_from_vstr_fit(v: &mut sys::vstr_t) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { bytes_from_vstr(v) }
}

/// # Safety
/// In an operation (module docs); `v` empty or set up by `vstr_init` (its buffer alive in
/// the pool).
pub unsafe fn str_from_vstr(v: &mut sys::vstr_t) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let s = str_utf8(vstr_slice(v));
        *v = vstr_empty();
        s
    }
}

/// `str(o)`'s UTF-8 text, into `v` (set up here).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn str_of(o: Obj, v: &mut sys::vstr_t) {
    // SAFETY: the caller's contract; `p`/`n` from a successful `PyUnicode_AsUTF8AndSize` on
    // the pooled `s`.
    unsafe {
        let s = new(ffi::PyObject_Str(o));
        let mut n: ffi::Py_ssize_t = 0;
        let p = ffi::PyUnicode_AsUTF8AndSize(s, &mut n);
        if p.is_null() {
            raise()
        }
        vstr_init(v, n as usize + 1);
        vstr_add(v, core::slice::from_raw_parts(p as *const u8, n as usize));
    }
}

pub fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let mut n = 0;
    for (d, &b) in dst.iter_mut().zip(src) {
        *d = b;
        n += 1;
    }
    n
}

// ---- what client.rs and handshake.rs call beyond the prototype's surface --------------

/// Zeroed memory for one `T` (a client's state), a block of the core's (blocks.rs): owned
/// by the Python object that keeps it (glue.rs frees it), or by the block that stores it
/// (hold.rs), or freed when its operation ends if neither does. Not a Python object
/// itself on this host.
///
/// # Safety
/// In an operation (module docs).
pub unsafe fn malloc0<T>() -> *mut T {
    // SAFETY: holding the GIL (the caller's contract); a NULL result raises MemoryError.
    unsafe {
        let p = crate::blocks::alloc(core::mem::size_of::<T>()) as *mut T;
        if p.is_null() {
            ffi::PyErr_NoMemory();
            raise()
        }
        p
    }
}

/// Whether `o` is a client block (`Client::alloc`'s). The glue holds its own clients
/// directly; the core looks up the ones it keeps (a cluster's node clients) through here,
/// which notes them for hold.rs (the operation may change them).
///
/// # Safety
/// None beyond the core's signature: any pointer is only looked up.
pub unsafe fn is_client(o: Obj) -> bool {
    is_block(o, core::mem::size_of::<crate::client::Client>())
}

/// Whether `o` is a live block of `size` bytes (the core's structs differ in size:
/// asserted below); noted as looked up when it is.
fn is_block(o: Obj, size: usize) -> bool {
    let yes = crate::blocks::size_of(o as usize) == Some(size);
    if yes {
        crate::blocks::touch(o as usize);
    }
    yes
}

/// The value of an int argument, as MicroPython's builtins take one (a bool counts):
/// TypeError for a non-int, OverflowError beyond a machine word.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn int_arg(o: Obj) -> isize {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        if ffi::PyLong_Check(o) == 0 {
            ffi::PyErr_SetString(ffi::PyExc_TypeError, c"an int is required".as_ptr());
            raise()
        }
        let v = ffi::PyLong_AsSsize_t(o);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            raise()
        }
        v
    }
}

/// Reader objects are held by the glue directly (never looked up from an object).
///
/// # Safety
/// None (the host's answer is constant); unsafe to match the core's signature.
pub unsafe fn is_reader(_o: Obj) -> bool {
    false
}

/// The value of an int that fits a machine word (a bool is none): the core's
/// `int_small`, which on MicroPython also accepts int objects holding small values.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn int_small(o: Obj) -> Option<isize> {
    // SAFETY: the caller's contract: `o` valid; an overflow or error is cleared, not raised.
    unsafe {
        if ffi::PyLong_Check(o) == 0 || type_is(o, ptr::addr_of_mut!(ffi::PyBool_Type)) {
            return None;
        }
        let mut overflow: c_int = 0;
        let v = ffi::PyLong_AsLongLongAndOverflow(o, &mut overflow);
        if overflow != 0 || (v == -1 && !ffi::PyErr_Occurred().is_null()) {
            ffi::PyErr_Clear();
            return None;
        }
        Some(v as isize)
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn is_int(o: Obj) -> bool {
    // SAFETY: the caller's contract (holding the GIL, objects valid) is what these calls
    // need; they do not raise (no result is an error here).
    unsafe { ffi::PyLong_Check(o) != 0 && !type_is(o, ptr::addr_of_mut!(ffi::PyBool_Type)) }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn is_str(o: Obj) -> bool {
    // SAFETY: the caller's contract (holding the GIL, objects valid) is what these calls
    // need; they do not raise (no result is an error here).
    unsafe { ffi::PyUnicode_Check(o) != 0 }
}

/// An immutable copy of a buffer argument (a bytearray the user may change later); str and
/// bytes as they are.
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn frozen(o: Obj) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        if ffi::PyUnicode_CheckExact(o) != 0 || ffi::PyBytes_CheckExact(o) != 0 {
            return o;
        }
        match buffer(o) {
            Some(b) => bytes(b),
            None => o,
        }
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn import(name: Qstr) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { new(ffi::PyImport_Import(qstr_obj(name))) }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn load_attr(obj: Obj, name: Qstr) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe { new(ffi::PyObject_GetAttr(obj, qstr_obj(name))) }
}

/// `obj.name`, or None when it has no such attribute (AttributeError only).
///
/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn load_attr_maybe(obj: Obj, name: Qstr) -> Option<Obj> {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let r = ffi::PyObject_GetAttr(obj, qstr_obj(name));
        if r.is_null() {
            if ffi::PyErr_ExceptionMatches(ffi::PyExc_AttributeError) != 0 {
                ffi::PyErr_Clear();
                return None;
            }
            raise()
        }
        Some(pool::own(r))
    }
}

/// # Safety
/// In an operation (module docs); object arguments valid.
pub unsafe fn call_function(f: Obj, args: &[Obj]) -> Obj {
    // SAFETY: the caller's contract (`# Safety` above: in an operation, objects valid) is
    // what these C-API calls need; a NULL/-1 result raises (`new`, `raise`) before it is
    // used.
    unsafe {
        let a = owned_tuple(args);
        new(ffi::PyObject_Call(f, a, NULL))
    }
}

// ---- Sentinel and RedisCluster (sentinel.rs, cluster.rs) --------------------------------

/// The Python types of the client objects (glue.rs, cluster_glue.rs), and
/// MasterNotFoundError: set at module init (`init_types`).
static mut REDIS_TYPE: Obj = NULL;
static mut SENTINEL_TYPE: Obj = NULL;
static mut CLUSTER_TYPE: Obj = NULL;
static mut MASTER_NOT_FOUND: Obj = NULL;

/// Module init: the types the core names (owned by the module).
///
/// # Safety
/// Holding the GIL, once, before any operation.
pub unsafe fn init_types(redis: Obj, sentinel: Obj, cluster: Obj, master_not_found: Obj) {
    // SAFETY: the caller's contract: no operation reads these while they are written.
    unsafe {
        REDIS_TYPE = redis;
        SENTINEL_TYPE = sentinel;
        CLUSTER_TYPE = cluster;
        MASTER_NOT_FOUND = master_not_found;
    }
}

exc_types! {
    redis_type = REDIS_TYPE;
    sentinel_type = SENTINEL_TYPE;
    cluster_type = CLUSTER_TYPE;
    master_not_found_type = MASTER_NOT_FOUND;
}

// A block's kind is its size on this host (`is_block`): the core's structs must differ.
#[cfg(feature = "cluster")]
const _: () = assert!(
    core::mem::size_of::<crate::client::Client>()
        != core::mem::size_of::<crate::cluster::Cluster>()
);
#[cfg(all(feature = "cluster", feature = "reader"))]
const _: () = assert!(
    core::mem::size_of::<crate::reader::Reader>()
        != core::mem::size_of::<crate::cluster::Cluster>()
);
#[cfg(feature = "reader")]
const _: () = assert!(
    core::mem::size_of::<crate::reader::Reader>() != core::mem::size_of::<crate::client::Client>()
);

/// Whether `o` is a cluster block (`Cluster::alloc`'s); noted as looked up.
///
/// # Safety
/// None beyond the core's signature: any pointer is only looked up.
#[cfg(feature = "cluster")]
pub unsafe fn is_cluster(o: Obj) -> bool {
    is_block(o, core::mem::size_of::<crate::cluster::Cluster>())
}

/// The (key, value) pairs of a dict (a RESP3 map's reply), borrowed.
///
/// # Safety
/// In an operation (module docs). `o` must be a dict, which stays alive and unchanged for
/// as long as the pairs are read.
#[cfg(feature = "sentinel")]
pub unsafe fn dict_pairs<'a>(o: Obj) -> impl Iterator<Item = (Obj, Obj)> + 'a {
    let mut pos: ffi::Py_ssize_t = 0;
    core::iter::from_fn(move || {
        let (mut k, mut v) = (NULL, NULL);
        // SAFETY: the caller's contract: `o` is a dict, unchanged while it is iterated;
        // PyDict_Next does not raise and hands out borrowed references.
        let more = unsafe { ffi::PyDict_Next(o, &mut pos, &mut k, &mut v) } != 0;
        more.then_some((k, v))
    })
}
