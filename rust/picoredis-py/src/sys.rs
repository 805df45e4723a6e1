//! What the core names from `micropython-sys`, for a Python host: object and type pointers
//! are CPython's (PyPy's cpyext), a vstr is this host's (backed by a bytes object), errno
//! numbers are Linux's, and a "qstr" indexes the host's table of interned strings
//! (`QSTRS`, made into `str` objects at module init).

use core::ffi::c_char;

pub use pyo3::ffi::PyObject;

pub type mp_obj_t = *mut PyObject;
pub type mp_obj_type_t = pyo3::ffi::PyTypeObject;
pub type mp_int_t = isize;
pub type mp_float_t = f64;
pub type qstr = u32;

/// The header the core writes at the start of an object it allocates (`Client::alloc`):
/// on this host a client is a plain block owned by its Python object (glue.rs), so the
/// header only records the type the core was given.
#[repr(C)]
pub struct mp_obj_base_t {
    pub type_: *const mp_obj_type_t,
}

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

/// What `mp::stream_of` found a stream to be (its kind), passed back to `mp`.
pub struct mp_stream_p_t {
    pub kind: u8,
}

pub const MP_EIO: u32 = libc::EIO as u32;
pub const MP_EAGAIN: u32 = libc::EAGAIN as u32;
pub const MP_ETIMEDOUT: u32 = libc::ETIMEDOUT as u32;
pub const MP_ECONNRESET: u32 = libc::ECONNRESET as u32;
pub const MP_ENOTCONN: u32 = libc::ENOTCONN as u32;
pub const MP_EINVAL: u32 = libc::EINVAL as u32;
pub const MP_EHOSTUNREACH: u32 = libc::EHOSTUNREACH as u32;

macro_rules! qstrs {
    ($($name:ident = $text:literal;)*) => {
        /// The names `MP_QSTR_*` index, NUL-terminated.
        pub const QSTRS: &[&[u8]] = &[$(concat!($text, "\0").as_bytes()),*];
        qstrs!(@consts 0u32; $($name)*);
    };
    (@consts $n:expr; $first:ident $($rest:ident)*) => {
        pub const $first: u32 = $n;
        qstrs!(@consts $n + 1; $($rest)*);
    };
    (@consts $n:expr;) => {};
}

qstrs! {
    MP_QSTR_settimeout = "settimeout";
    MP_QSTR_args = "args";
    MP_QSTR_MULTI = "MULTI";
    MP_QSTR_EXEC = "EXEC";
    MP_QSTR_close = "close";
    MP_QSTR_timeout = "timeout";
    MP_QSTR_fileno = "fileno";
    MP_QSTR_AUTH = "AUTH";
    MP_QSTR_CLIENT = "CLIENT";
    MP_QSTR_HELLO = "HELLO";
    MP_QSTR_SELECT = "SELECT";
    MP_QSTR_SETNAME = "SETNAME";
    MP_QSTR_ROLE = "ROLE";
    MP_QSTR_default = "default";
    MP_QSTR_IPPROTO_TCP = "IPPROTO_TCP";
    MP_QSTR_TCP_NODELAY = "TCP_NODELAY";
    MP_QSTR_SOCK_STREAM = "SOCK_STREAM";
    MP_QSTR_getaddrinfo = "getaddrinfo";
    MP_QSTR_socket = "socket";
    MP_QSTR_setsockopt = "setsockopt";
    MP_QSTR_connect = "connect";
    MP_QSTR_discover_master = "discover_master";
    MP_QSTR_SUBSCRIBE = "SUBSCRIBE";
    MP_QSTR_PSUBSCRIBE = "PSUBSCRIBE";
    MP_QSTR_UNSUBSCRIBE = "UNSUBSCRIBE";
    MP_QSTR_PUNSUBSCRIBE = "PUNSUBSCRIBE";
    MP_QSTR_channel = "channel";
    MP_QSTR_pattern = "pattern";
    MP_QSTR_data = "data";
    MP_QSTR_type = "type";
    MP_QSTR_PING = "PING";
    MP_QSTR_readinto = "readinto";
    MP_QSTR_write = "write";
    MP_QSTR_ioctl = "ioctl";
    MP_QSTR_recv_into = "recv_into";
    MP_QSTR_send = "send";
    MP_QSTR_pending = "pending";
    // TLS (tls.rs): MicroPython's `tls` module is CPython's and PyPy's `ssl`, with the
    // same names for what tls.rs uses.
    MP_QSTR_tls = "ssl";
    MP_QSTR_SSLContext = "SSLContext";
    MP_QSTR_PROTOCOL_TLS_CLIENT = "PROTOCOL_TLS_CLIENT";
    MP_QSTR_wrap_socket = "wrap_socket";
    MP_QSTR_server_hostname = "server_hostname";
    // Sentinel and RedisCluster (sentinel.rs, cluster.rs, handshake.rs' READONLY).
    MP_QSTR_discover_slaves = "discover_slaves";
    MP_QSTR_SENTINEL = "SENTINEL";
    MP_QSTR_CLUSTER = "CLUSTER";
    MP_QSTR_SLOTS = "SLOTS";
    MP_QSTR_ASKING = "ASKING";
    MP_QSTR_READONLY = "READONLY";
}
