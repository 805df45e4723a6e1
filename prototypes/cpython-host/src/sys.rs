//! What the core modules name from `micropython-sys`, for a Python host: object and type
//! pointers are CPython's (PyPy's cpyext), a vstr is this host's (backed by a bytes
//! object), errno numbers are Linux's, and a "qstr" indexes the host's table of interned
//! strings (mp::QSTRS).
#![allow(non_camel_case_types, non_upper_case_globals, dead_code)]

use core::ffi::c_char;

pub use pyo3::ffi::PyObject;

pub type mp_obj_t = *mut PyObject;
pub type mp_obj_type_t = pyo3::ffi::PyTypeObject;
pub type mp_int_t = isize;
pub type mp_float_t = f64;
pub type qstr = u32;

/// MicroPython's growable byte buffer, as the core uses it (`alloc`, `len`, `buf`), plus
/// the bytes object whose storage `buf` is (null for a buffer of the host's own).
#[repr(C)]
pub struct vstr_t {
    pub alloc: usize,
    pub len: usize,
    pub buf: *mut c_char,
    pub fixed_buf: bool,
    pub obj: *mut PyObject,
}

/// Only ever passed back to `mp`: opaque here.
pub struct mp_stream_p_t {
    pub _private: u8,
}

pub const MP_EIO: u32 = libc::EIO as u32;
pub const MP_EAGAIN: u32 = libc::EAGAIN as u32;
pub const MP_ETIMEDOUT: u32 = libc::ETIMEDOUT as u32;
pub const MP_ECONNRESET: u32 = libc::ECONNRESET as u32;
pub const MP_ENOTCONN: u32 = libc::ENOTCONN as u32;
pub const MP_EINVAL: u32 = libc::EINVAL as u32;
pub const MP_EHOSTUNREACH: u32 = libc::EHOSTUNREACH as u32;

// Indexes into mp::QSTRS.
pub const MP_QSTR_settimeout: u32 = 0;
pub const MP_QSTR_args: u32 = 1;
pub const MP_QSTR_MULTI: u32 = 2;
pub const MP_QSTR_EXEC: u32 = 3;
pub const MP_QSTR_close: u32 = 4;
pub const MP_QSTR_timeout: u32 = 5;
pub const MP_QSTR_fileno: u32 = 6;
