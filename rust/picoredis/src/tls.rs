//! TLS through MicroPython's own `tls` module (mbedTLS or axTLS, whichever the port has):
//! the connected socket is wrapped, and picoredis then talks to the wrapped stream.

use crate::mp::{self, Obj};
use crate::sys;

/// Wraps `sock` with `context` (an `SSLContext`), or with a default client context
/// (which verifies the server's certificate) when `context` is True.
pub unsafe fn wrap(sock: Obj, context: Obj, host: Obj) -> Obj {
    let ctx = if context == mp::boolean(true) {
        let tls = sys::mp_import_name(mp::qstr(sys::MP_QSTR_tls), mp::none(), mp::small_int(0));
        let ctx_type = mp::load_attr(tls, mp::qstr(sys::MP_QSTR_SSLContext));
        let client = mp::load_attr(tls, mp::qstr(sys::MP_QSTR_PROTOCOL_TLS_CLIENT));
        mp::call_function(ctx_type, &[client])
    } else {
        context
    };
    // ctx.wrap_socket(sock, server_hostname=host)
    let mut dest = [mp::NULL; 5];
    sys::mp_load_method(ctx, mp::qstr(sys::MP_QSTR_wrap_socket), dest.as_mut_ptr());
    dest[2] = sock;
    dest[3] = mp::qstr_obj(mp::qstr(sys::MP_QSTR_server_hostname));
    dest[4] = host;
    sys::mp_call_method_n_kw(1, 1, dest.as_ptr())
}
