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

/// A new, unconnected client object of type `t`.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_new(
    t: *const mp_obj_type_t,
    host: mp_obj_t,
    port: mp_int_t,
    timeout_ms: mp_int_t,
    debug: bool,
) -> mp_obj_t {
    let timeout = u32::try_from(timeout_ms).unwrap_or(u32::MAX);
    Client::alloc(t, host, port as isize, timeout, debug)
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
