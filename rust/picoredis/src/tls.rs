//! TLS through MicroPython's own `tls` module (mbedTLS or axTLS, whichever the port has):
//! the connected socket is wrapped, and picoredis then talks to the wrapped stream.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::sys;

/// Wraps `sock` with `context` (an `SSLContext`), or with a default client context
/// (which verifies the server's certificate) when `context` is True: the TLS handshake,
/// whose waits the socket's timeout bounds (`connect_timeout`). A handshake the server
/// does not answer in time is `Fail::Timeout`, as a Redis handshake's reply is (the `tls`
/// module raises it as OSError(ETIMEDOUT)); any other exception comes back as it is.
///
/// # Safety
/// VM thread, inside a glue call holding the client's lock; may raise (MemoryError, and
/// in a native module what asking Python about the exception raises): the frames up to
/// the glue's `nlr_push` must hold nothing that needs dropping. `sock`, `context` and
/// `host` must be valid objects.
pub unsafe fn wrap(sock: Obj, context: Obj, host: Obj) -> Result<Obj, Fail> {
    let mut wrapped = mp::NULL;
    // SAFETY: the caller's contract; the closure runs within this call and captures only
    // references (nothing to drop), so an exception may skip it.
    let raised = unsafe { mp::protect(&mut || wrapped = handshake(sock, context, host)) };
    match raised {
        None => Ok(wrapped),
        // SAFETY: the caller's contract; `exc` is the exception raised.
        Some(exc) if unsafe { mp::is_timeout(exc) } => Err(Fail::Timeout),
        Some(exc) => Err(Fail::Exception(exc)),
    }
}

/// `ctx.wrap_socket(sock, server_hostname=host)`, with a default context for True.
///
/// # Safety
/// As `wrap`; this one raises whatever the `tls` module raises.
unsafe fn handshake(sock: Obj, context: Obj, host: Obj) -> Obj {
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
        mp::call_method_1_kw(
            ctx,
            mp::qstr(sys::MP_QSTR_wrap_socket),
            sock,
            mp::qstr(sys::MP_QSTR_server_hostname),
            host,
        )
    }
}
