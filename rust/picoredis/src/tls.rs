//! TLS through MicroPython's own `tls` module (mbedTLS or axTLS, whichever the port has):
//! the connected socket is wrapped, and picoredis then talks to the wrapped stream.

use crate::mp::{self, Obj};
use crate::sys;

/// Wraps `sock` with `context` (an `SSLContext`), or with a default client context
/// (which verifies the server's certificate) when `context` is True.
///
/// # Safety
/// VM thread, inside a glue call holding the client's lock; may raise (it runs Python
/// code): the frames up to the glue's `nlr_push` must hold nothing that needs dropping.
/// `sock`, `context` and `host` must be valid objects.
pub unsafe fn wrap(sock: Obj, context: Obj, host: Obj) -> Obj {
    // SAFETY: the caller's contract; every object here is one given or one MicroPython
    // returned.
    unsafe {
        let ctx = if context == mp::boolean(true) {
            let tls = mp::import(mp::qstr(sys::MP_QSTR_tls));
            let ctx_type = mp::load_attr(tls, mp::qstr(sys::MP_QSTR_SSLContext));
            let client = mp::load_attr(tls, mp::qstr(sys::MP_QSTR_PROTOCOL_TLS_CLIENT));
            mp::call_function(ctx_type, &[client])
        } else {
            context
        };
        // ctx.wrap_socket(sock, server_hostname=host)
        mp::call_method_1_kw(
            ctx,
            mp::qstr(sys::MP_QSTR_wrap_socket),
            sock,
            mp::qstr(sys::MP_QSTR_server_hostname),
            host,
        )
    }
}
