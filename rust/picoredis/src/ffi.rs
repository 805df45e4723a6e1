//! The C ABI the glue (mpy_module/modpicoredis.c) calls. cbindgen turns this file into
//! mpy_module/picoredis_rs.h.
//!
//! Every operation returns its outcome as a value: the reply, or the exception for the
//! glue to raise once Rust's frames are gone. A failure that leaves the link out of step
//! with the server closes the connection before returning.

use crate::client::{Client, CMD_CACHE};
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::reader::Reader;
use crate::sys::{mp_int_t, mp_obj_t, mp_obj_type_t};

/// The outcome of an operation: `exc` is NULL on success.
#[repr(C)]
pub struct picoredis_result_t {
    pub value: mp_obj_t,
    pub exc: mp_obj_t,
}

/// An operation on a client, as called by the glue's `guarded()`.
pub type picoredis_op_t = unsafe extern "C" fn(
    client: mp_obj_t,
    n_args: usize,
    args: *const mp_obj_t,
) -> picoredis_result_t;

/// The outcome of a client operation; a failure that leaves the link out of step with
/// the server closes the connection first.
unsafe fn finish(c: &mut Client, r: Result<Obj, Fail>) -> picoredis_result_t {
    if let Err(f) = r {
        if f.breaks_connection() {
            c.abort();
        }
    }
    outcome(r)
}

unsafe fn outcome(r: Result<Obj, Fail>) -> picoredis_result_t {
    match r {
        Ok(value) => picoredis_result_t {
            value,
            exc: mp::NULL,
        },
        Err(f) => picoredis_result_t {
            value: mp::NULL,
            exc: f.exception(),
        },
    }
}

unsafe fn args<'a>(n: usize, p: *const mp_obj_t) -> &'a [mp_obj_t] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        core::slice::from_raw_parts(p, n)
    }
}

/// A client's options, as the glue parsed them from `Redis(...)`. Objects that are not
/// given are None.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct picoredis_options_t {
    pub host: mp_obj_t,
    pub port: mp_int_t,
    /// Bound on the wait for a whole reply (ms).
    pub timeout_ms: mp_int_t,
    /// Bound on connecting (ms).
    pub connect_timeout_ms: mp_int_t,
    /// SELECTed after connecting when not 0.
    pub db: mp_int_t,
    /// 2, or 3 for HELLO 3 (RESP3).
    pub protocol: mp_int_t,
    pub username: mp_obj_t,
    pub password: mp_obj_t,
    /// CLIENT SETNAME (or HELLO's SETNAME).
    pub client_name: mp_obj_t,
    /// None: plain TCP; True: TLS with a default client context; else an SSLContext.
    pub ssl_context: mp_obj_t,
    pub debug: bool,
    /// Strings come back as str.
    pub decode_responses: bool,
    /// Reopen a dropped connection on the next command.
    pub reconnect: bool,
}

/// A new, unconnected client object of type `t`.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_new(
    t: *const mp_obj_type_t,
    opts: *const picoredis_options_t,
) -> mp_obj_t {
    Client::alloc(t, &*opts, false)
}

/// A new, unconnected client with `client`'s options for a PubSub (of type `t`): its
/// own connection, on which push frames are messages.
#[no_mangle]
pub unsafe extern "C" fn picoredis_pubsub_client_new(
    t: *const mp_obj_type_t,
    client: mp_obj_t,
) -> mp_obj_t {
    let opts = Client::from_obj(client).opts;
    Client::alloc(t, &opts, true)
}

/// Sends a command without reading its reply (SUBSCRIBE and friends).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_send(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let c = Client::from_obj(client);
    let r = c.send_only(args(n_args, a));
    finish(c, r)
}

/// The next pub/sub message or None; args[0] is how long to wait for one (ms).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_get_message(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let c = Client::from_obj(client);
    let wait = args(n_args, a)
        .first()
        .and_then(|&o| mp::small_int_value(o))
        .unwrap_or(0);
    let r = c.get_message(u32::try_from(wait).unwrap_or(0));
    finish(c, r)
}

/// Connects (args[0]: a connected stream object to use, or None for host:port).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_connect(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let c = Client::from_obj(client);
    let sock = args(n_args, a).first().copied().unwrap_or(mp::none());
    let r = c.connect(sock).map(|_| mp::none());
    finish(c, r)
}

/// Sends the command `args` and returns its reply.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_command(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let c = Client::from_obj(client);
    let r = c.command(args(n_args, a));
    finish(c, r)
}

/// Closes the connection (idempotent). May raise if the stream's close raises.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_abort(client: mp_obj_t) {
    Client::from_obj(client).abort();
}

/// Changes the address used by the next connect; None keeps a value.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_set_address(
    client: mp_obj_t,
    host: mp_obj_t,
    port: mp_obj_t,
) {
    Client::from_obj(client).set_address(host, port);
}

#[no_mangle]
pub unsafe extern "C" fn picoredis_client_get_debug(client: mp_obj_t) -> bool {
    Client::from_obj(client).debug()
}

#[no_mangle]
pub unsafe extern "C" fn picoredis_client_set_debug(client: mp_obj_t, on: bool) {
    Client::from_obj(client).set_debug(on);
}

/// Sends a pipeline: args[0] a list of argument tuples, args[1] true for MULTI/EXEC.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_pipeline(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let c = Client::from_obj(client);
    let a = args(n_args, a);
    let (Some(&cmds), Some(&transaction)) = (a.first(), a.get(1)) else {
        return outcome(Err(Fail::Type("pipeline needs commands")));
    };
    let r = c.pipeline(mp::items(cmds), transaction == mp::boolean(true));
    finish(c, r)
}

/// The client's cache of bound command objects: `*n` slots, indexed by qstr % n.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_command_cache(
    client: mp_obj_t,
    n: *mut usize,
) -> *mut mp_obj_t {
    if !n.is_null() {
        *n = CMD_CACHE;
    }
    Client::from_obj(client).command_cache().as_mut_ptr()
}

/// A new `Reader`; `decode` returns strings as str; `gets` returns `more` while no
/// complete reply is buffered.
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_new(
    t: *const mp_obj_type_t,
    decode: bool,
    more: mp_obj_t,
) -> mp_obj_t {
    Reader::alloc(t, decode, more)
}

#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_feed(
    reader: mp_obj_t,
    data: mp_obj_t,
) -> picoredis_result_t {
    outcome(Reader::from_obj(reader).feed(data).map(|_| mp::none()))
}

/// The next complete reply, False when more bytes are needed; a protocol error is
/// returned as ParseError (and every later call returns it again).
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_gets(reader: mp_obj_t) -> picoredis_result_t {
    outcome(Reader::from_obj(reader).gets())
}
