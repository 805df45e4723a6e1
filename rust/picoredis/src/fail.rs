//! Why an operation did not produce a reply, as a value. Turned into the matching Python
//! exception only at the boundary (`ffi.rs`), after the connection state is settled.

use crate::mp::{self, Obj};
use crate::sys;

extern "C" {
    // Defined by the C glue (mpy_module/modpicoredis.c): the glue owns type objects.
    static mp_type_RedisError: sys::mp_obj_type_t;
    static mp_type_ParseError: sys::mp_obj_type_t;
    static mp_type_RedisTimeout: sys::mp_obj_type_t;
}

#[derive(Clone, Copy)]
pub enum Fail {
    /// The server answered with an error: a ready `RedisError` instance. The reply was
    /// read completely, so the connection stays usable.
    Reply(Obj),
    /// The reply broke the protocol (or a limit): the connection is closed.
    Parse(resp::Error),
    /// No complete reply within the timeout: the connection is closed.
    Timeout,
    /// The server closed the connection (EOF).
    Closed,
    /// A socket error (errno).
    Os(i32),
    /// An argument that cannot be sent; nothing was sent.
    Type(&'static str),
    /// No connection and no address to reconnect to (a `sock=` stream was closed).
    NotConnected,
}

impl Fail {
    /// Whether the connection can no longer be trusted to be in step with the server.
    pub fn breaks_connection(self) -> bool {
        !matches!(self, Fail::Reply(_) | Fail::Type(_))
    }

    /// The Python exception for this failure (allocates; may raise MemoryError).
    pub unsafe fn exception(self) -> Obj {
        match self {
            Fail::Reply(exc) => exc,
            Fail::Parse(e) => mp::exception_msg(&mp_type_ParseError, e.message()),
            Fail::Timeout => {
                mp::exception_msg(&mp_type_RedisTimeout, "no reply from server within timeout")
            }
            Fail::Closed => mp::os_error(sys::MP_ECONNRESET as i32),
            Fail::Os(errno) => mp::os_error(errno),
            Fail::Type(msg) => mp::exception_msg(&sys::mp_type_TypeError, msg),
            Fail::NotConnected => mp::os_error(sys::MP_ENOTCONN as i32),
        }
    }
}

/// A `RedisError` for an error reply, split like the original picoredis:
/// `-ERR unknown command` gives `args == ('ERR', 'unknown command')`, a reply without a
/// space gives one argument. Bytes that are not UTF-8 become U+FFFD, never a crash.
pub unsafe fn redis_error(text: &[u8]) -> Obj {
    let split = text.iter().position(|&b| b == b' ');
    match split.and_then(|i| Some((text.get(..i)?, text.get(i + 1..)?))) {
        Some((code, msg)) => {
            let args = [
                crate::text::decode_lossy(code),
                crate::text::decode_lossy(msg),
            ];
            mp::exception(&mp_type_RedisError, &args)
        }
        None => mp::exception(&mp_type_RedisError, &[crate::text::decode_lossy(text)]),
    }
}
