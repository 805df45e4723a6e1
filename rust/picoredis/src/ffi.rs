//! The C ABI the glue (mpy_module/modpicoredis.c) calls. cbindgen turns this file into
//! mpy_module/picoredis_rs.h.
//!
//! Every operation returns its outcome as a value: the reply, or the exception for the
//! glue to raise once Rust's frames are gone. A failure that leaves the link out of step
//! with the server closes the connection before returning.
//!
//! The glue calls every operation through its `guarded()`, holding the object's lock, so
//! no two calls ever hold `&mut` to one object; each operation still checks that the
//! object is of the type it expects before treating it as one.

use crate::client::{Client, CMD_CACHE};
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::picoredis_options_t;
use crate::reader::Reader;
use crate::sys::{mp_obj_t, mp_obj_type_t};

/// The outcome of an operation: `exc` is NULL on success.
#[repr(C)]
pub struct picoredis_result_t {
    pub value: mp_obj_t,
    pub exc: mp_obj_t,
}

/// An operation on an object (a client or a Reader), as called by the glue's `guarded()`.
pub type picoredis_op_t =
    unsafe extern "C" fn(obj: mp_obj_t, n_args: usize, args: *const mp_obj_t) -> picoredis_result_t;

const NOT_A_CLIENT: Fail = Fail::Type("not a picoredis client");

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
    opts: *const picoredis_options_t,
) -> mp_obj_t {
    Client::alloc(t, &*opts, false)
}

/// `pubsub()`: a new PubSub with `client`'s options and a connection of its own, on which
/// push frames are messages. A client on a stream the user gave (`sock=`) has no address
/// to open a second connection to: ValueError.
#[no_mangle]
pub unsafe extern "C" fn picoredis_pubsub_client_new(
    client: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    let Some(c) = Client::from_obj(client) else {
        return outcome(Err(NOT_A_CLIENT));
    };
    if c.user_sock() {
        return outcome(Err(Fail::Value(
            "pubsub() needs a host and port: this client was given sock=",
        )));
    }
    let opts = c.opts;
    outcome(Ok(Client::alloc(mp::pubsub_type(), &opts, true)))
}

/// Runs `op` on the client behind `client`, then settles the connection (see `finish`).
unsafe fn with_client(
    client: mp_obj_t,
    op: impl FnOnce(&mut Client) -> Result<Obj, Fail>,
) -> picoredis_result_t {
    match Client::from_obj(client) {
        Some(c) => {
            let r = op(c);
            finish(c, r)
        }
        None => outcome(Err(NOT_A_CLIENT)),
    }
}

/// Sends a command without reading its reply (SUBSCRIBE and friends).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_send(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    with_client(client, |c| c.send_only(args(n_args, a)))
}

/// The next pub/sub message or None; args[0] is how long to wait for one to start (ms; a
/// negative value waits without limit).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_get_message(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let wait = args(n_args, a)
        .first()
        .and_then(|&o| mp::small_int_value(o))
        .unwrap_or(0);
    with_client(client, |c| c.get_message(crate::options::timeout(wait as _)))
}

/// Connects: args are (sock, host, port). `sock` is a connected stream object to use, or
/// None for host:port; a host or port that is not None replaces the one used so far,
/// after both are checked (a bad one changes nothing).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_connect(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let a = args(n_args, a);
    let arg = |i: usize| a.get(i).copied().unwrap_or(mp::none());
    with_client(client, |c| {
        c.set_address(arg(1), arg(2))?;
        c.connect(arg(0)).map(|_| mp::none())
    })
}

/// Sends the command `args` and returns its reply.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_command(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    with_client(client, |c| c.command(args(n_args, a)))
}

/// `close()`: idempotent; an exception raised by the stream's own close is returned (the
/// client is closed all the same).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_close(
    client: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    match Client::from_obj(client) {
        Some(c) => outcome(c.close()),
        None => outcome(Err(NOT_A_CLIENT)),
    }
}

/// An operation on `obj` raised part-way: a client's connection can no longer be trusted
/// and is closed (an error from that close is dropped: the first error wins). A Reader's
/// state is consistent at every call that may raise, so it needs nothing.
#[no_mangle]
pub unsafe extern "C" fn picoredis_abandon(obj: mp_obj_t) {
    if let Some(c) = Client::from_obj(obj) {
        c.abort();
    }
}

#[no_mangle]
pub unsafe extern "C" fn picoredis_client_get_debug(client: mp_obj_t) -> bool {
    Client::from_obj(client).is_some_and(|c| c.debug())
}

#[no_mangle]
pub unsafe extern "C" fn picoredis_client_set_debug(client: mp_obj_t, on: bool) {
    if let Some(c) = Client::from_obj(client) {
        c.set_debug(on);
    }
}

/// Sends a pipeline: args[0] a list of argument tuples, args[1] true for MULTI/EXEC.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_pipeline(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let a = args(n_args, a);
    let (Some(&cmds), Some(&transaction)) = (a.first(), a.get(1)) else {
        return outcome(Err(Fail::Type("pipeline needs commands")));
    };
    with_client(client, |c| {
        c.pipeline(mp::items(cmds), transaction == mp::boolean(true))
    })
}

/// The client's cache of bound command objects: `*n` slots, indexed by qstr % n (NULL
/// when `client` is not a client).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_command_cache(
    client: mp_obj_t,
    n: *mut usize,
) -> *mut mp_obj_t {
    if !n.is_null() {
        *n = CMD_CACHE;
    }
    match Client::from_obj(client) {
        Some(c) => c.command_cache().as_mut_ptr(),
        None => core::ptr::null_mut(),
    }
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

/// `feed(data)`: args[0] is the data.
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_feed(
    reader: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    let data = args(n_args, a).first().copied().unwrap_or(mp::none());
    outcome(match Reader::from_obj(reader) {
        Some(r) => r.feed(data).map(|_| mp::none()),
        None => Err(Fail::Type("not a picoredis Reader")),
    })
}

/// The next complete reply, False when more bytes are needed; a protocol error is
/// returned as ParseError (and every later call returns it again).
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_gets(
    reader: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    outcome(match Reader::from_obj(reader) {
        Some(r) => r.gets(),
        None => Err(Fail::Type("not a picoredis Reader")),
    })
}
