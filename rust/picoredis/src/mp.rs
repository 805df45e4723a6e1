//! Small, honest wrappers over the MicroPython C API (`micropython-sys`).
//!
//! Anything here that allocates or calls into Python may raise, which in MicroPython is a
//! longjmp (nlr). Callers therefore keep their frames free of destructors ("plain old
//! frames"): the C glue catches the jump, closes the connection and re-raises.

use core::ffi::{c_char, c_int, c_void};
use core::ptr;

use crate::sys;
pub use crate::sys::{mp_obj_t as Obj, qstr as Qstr};

pub const NULL: Obj = ptr::null_mut();

// None, False and True are immediate objects in object representation A, the one every
// port picoredis targets uses (unix, qemu, esp32). Other representations fail to build
// rather than misbehave.
const _: () = assert!(sys::MICROPY_OBJ_REPR == sys::MICROPY_OBJ_REPR_A);

const fn immediate(v: usize) -> Obj {
    ((v << 3) | 6) as Obj
}

pub const fn none() -> Obj {
    immediate(0)
}

pub const fn boolean(v: bool) -> Obj {
    if v {
        immediate(3)
    } else {
        immediate(1)
    }
}

/// A small int (representation A: lowest bit set) and its value.
pub fn small_int_value(o: Obj) -> Option<isize> {
    let bits = o as isize;
    if bits & 1 == 1 {
        Some(bits >> 1)
    } else {
        None
    }
}

pub fn is_none(o: Obj) -> bool {
    o == none()
}

pub fn qstr(q: u32) -> Qstr {
    q as Qstr
}

/// The str object of a qstr (representation A: tagged with 0b010).
pub fn qstr_obj(q: Qstr) -> Obj {
    ((q << 3) | 2) as Obj
}

/// A new `bytes` object holding a copy of `data`.
pub unsafe fn bytes(data: &[u8]) -> Obj {
    sys::mp_obj_new_bytes(data.as_ptr(), data.len())
}

/// A new `str` object from text known to be valid UTF-8.
pub unsafe fn str_utf8(text: &[u8]) -> Obj {
    sys::mp_obj_new_str_copy(&sys::mp_type_str, text.as_ptr(), text.len())
}

pub unsafe fn int(v: i64) -> Obj {
    sys::mp_obj_new_int_from_ll(v)
}

pub unsafe fn small_int(v: isize) -> Obj {
    sys::mp_obj_new_int(v as sys::mp_int_t)
}

/// The bytes behind any object with the buffer protocol (str, bytes, bytearray,
/// memoryview, array), without raising.
pub unsafe fn buffer<'a>(o: Obj) -> Option<&'a [u8]> {
    let mut info: sys::mp_buffer_info_t = core::mem::zeroed();
    if sys::mp_get_buffer(o, &mut info, sys::MP_BUFFER_READ as _) {
        if info.len == 0 {
            return Some(&[]);
        }
        Some(core::slice::from_raw_parts(info.buf as *const u8, info.len))
    } else {
        None
    }
}

pub unsafe fn type_is(o: Obj, t: *const sys::mp_obj_type_t) -> bool {
    ptr::eq(sys::mp_obj_get_type(o), t)
}

extern "C" {
    // Defined by the C glue (mpy_module/modpicoredis.c), which owns the type objects.
    static mp_type_RedisError: sys::mp_obj_type_t;
    static mp_type_ParseError: sys::mp_obj_type_t;
    static mp_type_RedisTimeout: sys::mp_obj_type_t;
    static picoredis_type_Redis: sys::mp_obj_type_t;
    static picoredis_type_PubSub: sys::mp_obj_type_t;
    static picoredis_type_Reader: sys::mp_obj_type_t;
}

pub fn redis_error_type() -> *const sys::mp_obj_type_t {
    ptr::addr_of!(mp_type_RedisError)
}

pub fn parse_error_type() -> *const sys::mp_obj_type_t {
    ptr::addr_of!(mp_type_ParseError)
}

pub fn timeout_type() -> *const sys::mp_obj_type_t {
    ptr::addr_of!(mp_type_RedisTimeout)
}

pub fn pubsub_type() -> *const sys::mp_obj_type_t {
    ptr::addr_of!(picoredis_type_PubSub)
}

/// Whether `o` is a `RedisError` (an error reply).
pub unsafe fn is_redis_error(o: Obj) -> bool {
    type_is(o, redis_error_type())
}

/// Whether `o` is a Redis or PubSub object (a `Client` in Rust).
pub unsafe fn is_client(o: Obj) -> bool {
    let t = sys::mp_obj_get_type(o);
    ptr::eq(t, ptr::addr_of!(picoredis_type_Redis)) || ptr::eq(t, ptr::addr_of!(picoredis_type_PubSub))
}

/// Whether `o` is a `Reader` object.
pub unsafe fn is_reader(o: Obj) -> bool {
    type_is(o, ptr::addr_of!(picoredis_type_Reader))
}

/// Whether `o` is an int (small or big).
pub unsafe fn is_int(o: Obj) -> bool {
    small_int_value(o).is_some() || type_is(o, &sys::mp_type_int)
}

/// Calls `obj.name(*args)` (up to three arguments).
pub unsafe fn call_method(obj: Obj, name: Qstr, args: &[Obj]) -> Obj {
    let mut dest = [NULL; 5];
    sys::mp_load_method(obj, name, dest.as_mut_ptr());
    let n = args.len().min(3);
    for (slot, a) in dest.iter_mut().skip(2).zip(args.iter().take(n)) {
        *slot = *a;
    }
    sys::mp_call_method_n_kw(n, 0, dest.as_ptr())
}

/// Whether `obj` has a method `name` (no exception when it has not).
pub unsafe fn has_method(obj: Obj, name: Qstr) -> bool {
    let mut dest = [NULL; 2];
    sys::mp_load_method_maybe(obj, name, dest.as_mut_ptr());
    !dest[0].is_null()
}

pub unsafe fn call_function(f: Obj, args: &[Obj]) -> Obj {
    sys::mp_call_function_n_kw(f, args.len(), 0, args.as_ptr())
}

pub unsafe fn load_attr(obj: Obj, name: Qstr) -> Obj {
    sys::mp_load_attr(obj, name)
}

/// The items of a tuple or list.
pub unsafe fn items<'a>(o: Obj) -> &'a [Obj] {
    let mut len: usize = 0;
    let mut items: *mut Obj = ptr::null_mut();
    sys::mp_obj_get_array(o, &mut len, &mut items);
    if items.is_null() || len == 0 {
        return &[];
    }
    core::slice::from_raw_parts(items, len)
}

/// The item slots of a list, to fill in place.
pub unsafe fn items_mut<'a>(list: Obj) -> &'a mut [Obj] {
    let mut len: usize = 0;
    let mut items: *mut Obj = ptr::null_mut();
    sys::mp_obj_list_get(list, &mut len, &mut items);
    if items.is_null() || len == 0 {
        return &mut [];
    }
    core::slice::from_raw_parts_mut(items, len)
}

/// The item slots of a new tuple, to fill in place before anyone else sees it.
pub unsafe fn tuple_items_mut<'a>(tuple: Obj) -> &'a mut [Obj] {
    let t = tuple as *mut sys::mp_obj_tuple_t;
    let len = (*t).len;
    if len == 0 {
        return &mut [];
    }
    core::slice::from_raw_parts_mut(ptr::addr_of_mut!((*t).items) as *mut Obj, len)
}

pub unsafe fn exception(t: *const sys::mp_obj_type_t, args: &[Obj]) -> Obj {
    sys::mp_obj_new_exception_args(t, args.len(), args.as_ptr())
}

pub unsafe fn exception_msg(t: *const sys::mp_obj_type_t, msg: &str) -> Obj {
    exception(t, &[str_utf8(msg.as_bytes())])
}

pub unsafe fn os_error(errno: c_int) -> Obj {
    exception(&sys::mp_type_OSError, &[small_int(errno as isize)])
}

/// Writes raw text to MicroPython's standard output (used by the debug trace).
pub unsafe fn print(text: &[u8]) {
    let p = &sys::mp_plat_print;
    if let Some(f) = p.print_strn {
        f(p.data, text.as_ptr() as *const c_char, text.len());
    }
}

pub unsafe fn ticks_ms() -> u32 {
    sys::mp_hal_ticks_ms() as u32
}

/// Sleeps about `ms` milliseconds; the port runs pending callbacks meanwhile.
pub unsafe fn delay_ms(ms: u32) {
    sys::mp_hal_delay_ms(ms as _);
}

extern "C" {
    // Defined by the C glue (mpy_module/modpicoredis.c): runs `f(ctx)` under nlr_push and
    // returns the exception it raised, or NULL.
    fn picoredis_protect(f: unsafe extern "C" fn(*mut c_void), ctx: *mut c_void) -> sys::mp_obj_t;
}

/// Runs `f` and returns the exception it raised instead of letting it propagate (the C
/// glue catches the nlr jump). `f` and the frames it calls must hold nothing to drop.
pub unsafe fn protect(f: &mut dyn FnMut()) -> Option<Obj> {
    unsafe extern "C" fn trampoline(ctx: *mut c_void) {
        let f = &mut **(ctx as *mut &mut dyn FnMut());
        f();
    }
    let mut f = f;
    let exc = picoredis_protect(trampoline, &mut f as *mut &mut dyn FnMut() as *mut c_void);
    (!exc.is_null()).then_some(exc)
}

/// The stream protocol of `o`; raises if `o` is not a readable, writable stream.
pub unsafe fn stream_of(o: Obj) -> *const sys::mp_stream_p_t {
    sys::mp_get_stream_raise(
        o,
        (sys::MP_STREAM_OP_READ | sys::MP_STREAM_OP_WRITE | sys::MP_STREAM_OP_IOCTL) as _,
    )
}

/// One read (or write) call on a stream: the count it reported and the errno (0: none).
/// The count is the stream's word, unchecked: a Python stream can return any number.
pub unsafe fn stream_once(s: Obj, buf: *mut u8, len: usize, write: bool) -> (usize, c_int) {
    let mut err: c_int = 0;
    let flags = sys::MP_STREAM_RW_ONCE
        | if write {
            sys::MP_STREAM_RW_WRITE
        } else {
            sys::MP_STREAM_RW_READ
        };
    let n = sys::mp_stream_rw(s, buf as *mut _, len as _, &mut err, flags as _);
    (n as usize, err)
}

pub const POLL_RD: usize = sys::MP_STREAM_POLL_RD as usize;
pub const POLL_WR: usize = sys::MP_STREAM_POLL_WR as usize;

/// Whether the stream is ready for `flags` now, without blocking; `None` when it cannot
/// tell (no ioctl, an error, or a Python stream whose ioctl raised).
pub unsafe fn stream_ready(s: Obj, p: *const sys::mp_stream_p_t, flags: usize) -> Option<bool> {
    let ioctl = p.as_ref().and_then(|p| p.ioctl)?;
    let mut r = usize::MAX;
    let exc = protect(&mut || {
        let mut err: c_int = 0;
        r = ioctl(s, sys::MP_STREAM_POLL as _, flags as _, &mut err) as usize;
    });
    // MP_STREAM_ERROR is (mp_uint_t)-1.
    (exc.is_none() && r != usize::MAX).then_some(r & flags != 0)
}

/// Closes a stream; returns the exception its close raised, if any.
pub unsafe fn stream_close(s: Obj) -> Option<Obj> {
    protect(&mut || {
        sys::mp_stream_close(s);
    })
}

/// Whether `o` is a `str`.
pub unsafe fn is_str(o: Obj) -> bool {
    type_is(o, &sys::mp_type_str) || (o as usize) & 7 == 2
}

/// A copy of `o` that later changes to `o` cannot reach: str and bytes are kept as they
/// are, other buffers (bytearray, memoryview) become bytes.
pub unsafe fn frozen(o: Obj) -> Obj {
    if is_str(o) || type_is(o, &sys::mp_type_bytes) {
        return o;
    }
    match buffer(o) {
        Some(b) => bytes(b),
        None => o,
    }
}

/// The value of a float object (the port's float: f32 or f64).
#[cfg(mp_float)]
pub unsafe fn float_value(o: Obj) -> Option<sys::mp_float_t> {
    type_is(o, &sys::mp_type_float).then(|| sys::mp_obj_get_float(o))
}

#[cfg(not(mp_float))]
pub unsafe fn float_value(_: Obj) -> Option<f32> {
    None
}

pub unsafe fn vstr_slice<'a>(v: &mut sys::vstr_t) -> &'a mut [u8] {
    if v.buf.is_null() || v.len == 0 {
        return &mut [];
    }
    core::slice::from_raw_parts_mut(v.buf as *mut u8, v.len)
}

/// The final `bytes` object of a bulk string, taking over the vstr's buffer (allocated
/// with exactly len + 1 bytes, so nothing is reallocated). The hash is left 0 ("not
/// computed yet", computed if the object is ever hashed): hashing every reply up front
/// would read all of a 100 KB value once more for nothing.
pub unsafe fn bytes_from_vstr(v: &mut sys::vstr_t) -> Obj {
    // MicroPython keeps a NUL after the data of every str/bytes (vstr_init_len left room).
    if !v.buf.is_null() && v.alloc > v.len {
        *v.buf.add(v.len) = 0;
    }
    let o = sys::m_malloc(core::mem::size_of::<sys::mp_obj_str_t>()) as *mut sys::mp_obj_str_t;
    o.write(sys::mp_obj_str_t {
        base: sys::mp_obj_base_t {
            type_: &sys::mp_type_bytes,
        },
        hash: 0,
        len: v.len,
        data: v.buf as *const u8,
    });
    *v = core::mem::zeroed();
    o as Obj
}

/// Like `load_attr`, but None instead of AttributeError.
pub unsafe fn load_attr_maybe(obj: Obj, name: Qstr) -> Option<Obj> {
    let mut dest = [NULL; 2];
    sys::mp_load_method_maybe(obj, name, dest.as_mut_ptr());
    if dest[0].is_null() {
        None
    } else if dest[1].is_null() {
        Some(dest[0])
    } else {
        // A method: bind it by loading it as an attribute.
        Some(sys::mp_load_attr(obj, name))
    }
}

/// The text of `o` as `str(o)` gives it, written into a vstr (for int and float args).
pub unsafe fn str_of(o: Obj, v: &mut sys::vstr_t) {
    let mut pr: sys::mp_print_t = core::mem::zeroed();
    sys::vstr_init_print(v, 24, &mut pr);
    sys::mp_obj_print_helper(&pr, o, sys::PRINT_STR);
}

/// Copies as many bytes as both slices hold and returns how many. Unlike
/// `copy_from_slice` it has no length-mismatch panic for the optimiser to keep.
pub fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    // SAFETY: both ranges are in bounds (n is the shorter length) and a &mut slice cannot
    // overlap a & slice.
    unsafe { ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr(), n) };
    n
}
