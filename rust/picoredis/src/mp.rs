//! Small, honest wrappers over the MicroPython C API (`micropython-sys`).
//!
//! Anything here that allocates or calls into Python may raise, which in MicroPython is a
//! longjmp (nlr). Callers therefore keep their frames free of destructors ("plain old
//! frames"): the C glue catches the jump, closes the connection and re-raises.

use core::ffi::{c_char, c_int};
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
