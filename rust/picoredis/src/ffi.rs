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
//!
//! What `guarded()` gives an operation (its `# Safety` sections call it "the guarded
//! contract"): the VM thread, the lock of `obj` held, an `nlr_push` around the call
//! (anything may raise: every Rust frame in between holds nothing that needs dropping),
//! `obj` a valid object and `args` pointing to `n_args` valid objects (or null with 0).
//! The one operation on no object, `picoredis_encode`, gets `obj` NULL: nothing is
//! locked, and no `nlr_push` of `guarded()`'s own is needed (there is nothing to abandon).

use crate::client::{Client, Runs, CMD_CACHE};
#[cfg(feature = "cluster")]
use crate::cluster::Cluster;
use crate::fail::Fail;
use crate::mp::{self, Obj};
#[cfg(feature = "reader")]
use crate::mux::{Mux, Waiter};
use crate::options::picoredis_options_t;
#[cfg(feature = "reader")]
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
///
/// # Safety
/// The guarded contract, for `c`'s object.
unsafe fn finish(c: &mut Client, r: Result<Obj, Fail>) -> picoredis_result_t {
    if let Err(f) = r {
        if f.breaks_connection() {
            // SAFETY: the caller's contract.
            unsafe { c.abort() };
        }
    }
    // SAFETY: the caller's contract.
    unsafe { outcome(r) }
}

/// # Safety
/// The guarded contract (making the exception may raise MemoryError); an `Obj` in a
/// `Fail` must be a valid exception.
unsafe fn outcome(r: Result<Obj, Fail>) -> picoredis_result_t {
    match r {
        Ok(value) => picoredis_result_t {
            value,
            exc: mp::NULL,
        },
        Err(f) => picoredis_result_t {
            value: mp::NULL,
            // SAFETY: the caller's contract.
            exc: unsafe { f.exception() },
        },
    }
}

/// # Safety
/// `p` must point to `n` objects that stay valid for `'a`, or be null (or `n` 0).
unsafe fn args<'a>(n: usize, p: *const mp_obj_t) -> &'a [mp_obj_t] {
    if p.is_null() || n == 0 {
        &[]
    } else {
        // SAFETY: the caller's contract; `p` is not null.
        unsafe { core::slice::from_raw_parts(p, n) }
    }
}

/// Argument `i`, or None where the glue passed fewer (its optional arguments).
fn arg(a: &[mp_obj_t], i: usize) -> mp_obj_t {
    a.get(i).copied().unwrap_or(mp::none())
}

/// A new, unconnected client object of type `t`.
///
/// # Safety
/// Called by the glue's `make_new` on the VM thread, before the object exists for anyone
/// else (so outside `guarded()`; it may raise MemoryError, with no Rust frame left to
/// drop anything). `t` must be the Redis type or a subtype; `opts` must point to filled
/// options holding valid objects.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_new(
    t: *const mp_obj_type_t,
    opts: *const picoredis_options_t,
) -> mp_obj_t {
    // SAFETY: the caller's contract.
    unsafe { Client::alloc(t, &*opts, false) }
}

/// `pubsub()`: a new PubSub with `client`'s options and a connection of its own, on which
/// push frames are messages. A client on a stream the user gave (`sock=`) has no address
/// to open a second connection to: ValueError.
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`).
#[cfg(feature = "pubsub")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_pubsub_client_new(
    client: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract; the PubSub type's objects are `Client`s.
    unsafe {
        let Some(c) = Client::from_obj(client) else {
            return outcome(Err(NOT_A_CLIENT));
        };
        if c.user_sock() {
            return outcome(Err(Fail::Value("pubsub() needs host and port, not sock=")));
        }
        let opts = c.opts;
        let ps = Client::alloc(mp::pubsub_type(), &opts, true);
        // A master_for client's PubSub follows the primary too (a slave_for one's, the
        // replicas).
        #[cfg(feature = "sentinel")]
        {
            let (sentinel, service, replica, turn) = (c.sentinel, c.service, c.replica, c.turn);
            if let Some(p) = Client::from_obj(ps) {
                p.sentinel = sentinel;
                p.service = service;
                p.replica = replica;
                p.turn = turn;
            }
        }
        outcome(Ok(ps))
    }
}

/// Runs `op` on the client behind `client`, then settles the connection (see `finish`).
///
/// # Safety
/// The guarded contract, for `client`. `op` may raise: it must hold nothing that needs
/// dropping.
unsafe fn with_client(
    client: mp_obj_t,
    op: impl FnOnce(&mut Client) -> Result<Obj, Fail>,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        match Client::from_obj(client) {
            Some(c) => {
                let r = op(c);
                finish(c, r)
            }
            None => outcome(Err(NOT_A_CLIENT)),
        }
    }
}

/// Sends a command without reading its reply (SUBSCRIBE and friends).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[cfg(feature = "pubsub")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_send(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract: `a` holds `n_args` objects for the whole call; the
    // closure captures only pointers and counts.
    unsafe { with_client(client, |c| c.send_only(args(n_args, a))) }
}

/// The next pub/sub message or None; args[0] is how long to wait for one to start (ms; a
/// negative value waits without limit).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[cfg(feature = "pubsub")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_get_message(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects); the closure captures
    // only an integer.
    unsafe {
        let wait = args(n_args, a)
            .first()
            .and_then(|&o| mp::small_int_value(o))
            .unwrap_or(0);
        with_client(client, |c| c.get_message(crate::conn::timeout(wait as _)))
    }
}

/// Connects: args are (sock, host, port). `sock` is a connected stream object to use, or
/// None for host:port; a host or port that is not None replaces the one used so far,
/// after both are checked (a bad one changes nothing). A RedisCluster (its constructor)
/// loads its slot map from the first node that answers `CLUSTER SLOTS`.
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_connect(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call); the
    // closures capture only references.
    unsafe {
        #[cfg(feature = "cluster")]
        if let Some(k) = Cluster::from_obj(client) {
            return outcome(k.load(None));
        }
        let a = args(n_args, a);
        let arg = |i: usize| arg(a, i);
        with_client(client, |c| {
            c.set_address(arg(1), arg(2))?;
            c.connect(arg(0)).map(|_| mp::none())
        })
    }
}

/// Sends the command `args` and returns its reply.
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_command(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract: `a` holds `n_args` objects for the whole call; the
    // closure captures only pointers and counts.
    unsafe {
        #[cfg(feature = "cluster")]
        if let Some(k) = Cluster::from_obj(client) {
            return outcome(k.command(args(n_args, a)));
        }
        with_client(client, |c| c.command(args(n_args, a)))
    }
}

/// `close()`: idempotent; an exception raised by the stream's own close is returned (the
/// client is closed all the same).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_close(
    client: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        #[cfg(feature = "cluster")]
        if let Some(k) = Cluster::from_obj(client) {
            return outcome(k.close());
        }
        match Client::from_obj(client) {
            Some(c) => {
                // The user ends it: a PubSub's subscriptions end with it.
                #[cfg(feature = "pubsub")]
                c.forget_subscriptions();
                outcome(c.close())
            }
            None => outcome(Err(NOT_A_CLIENT)),
        }
    }
}

/// An operation on `obj` raised part-way: a client's connection can no longer be trusted
/// and is closed (an error from that close is dropped: the first error wins). A Reader's
/// state is consistent at every call that may raise, so it needs nothing.
///
/// # Safety
/// Called by the glue's `guarded()` after an operation on `obj` raised, still holding its
/// lock, on the VM thread; `obj` must be a valid object. Nothing here raises.
#[no_mangle]
pub unsafe extern "C" fn picoredis_abandon(obj: mp_obj_t) {
    // SAFETY: the caller's contract; the operation that raised has no frame left.
    unsafe {
        if let Some(c) = Client::from_obj(obj) {
            c.abort();
        }
        // A cluster does not know which node client an exception cut short: it closes
        // them all (each reconnects when next needed).
        #[cfg(feature = "cluster")]
        if let Some(k) = Cluster::from_obj(obj) {
            let _ = k.close();
        }
        #[cfg(feature = "reader")]
        if let Some(m) = Mux::from_obj(obj) {
            m.abandon();
        }
    }
}

/// The client's `debug` attribute: with no argument its value, else sets it to args[0]
/// (True or False).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[cfg(feature = "trace")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_debug(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        let on = args(n_args, a).first().copied();
        with_client(client, |c| match on {
            Some(on) => {
                c.set_debug(on == mp::boolean(true));
                Ok(mp::none())
            }
            None => Ok(mp::boolean(c.debug())),
        })
    }
}

/// Sends a pipeline. A build for speed: args[0] True for MULTI/EXEC, then the queued
/// commands as runs of `n, name, args...` (`n` a small int: the run's length after it).
/// Otherwise: args[0] a list of argument tuples, args[1] the MULTI/EXEC flag. (The glue
/// queues one way or the other by the same PICOREDIS_SPEED.)
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects, as above, which no Python code can
/// reach (the glue takes its queue from the pipeline first).
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_pipeline(
    client: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects, which stay put: only
    // this call reaches them; the tuples' items too); the closure captures only Copy
    // values.
    unsafe {
        let a = args(n_args, a);
        #[cfg(speed)]
        let Some((&transaction, queue)) = a.split_first() else {
            return outcome(Err(Fail::Type("pipeline needs commands")));
        };
        #[cfg(not(speed))]
        let (Some(&queue), Some(&transaction)) = (a.first(), a.get(1)) else {
            return outcome(Err(Fail::Type("pipeline needs commands")));
        };
        let transaction = transaction == mp::boolean(true);
        #[cfg(feature = "cluster")]
        if let Some(k) = Cluster::from_obj(client) {
            // RedisCluster routes tuples: in a build for speed, one per command, made here.
            #[cfg(speed)]
            let queue = {
                let cmds = mp::new_list(0);
                for args in Runs::flat(queue) {
                    mp::list_append(cmds, mp::new_tuple(args));
                }
                cmds
            };
            return outcome(k.pipeline(mp::items(queue), transaction));
        }
        #[cfg(speed)]
        let cmds = Runs::flat(queue);
        #[cfg(not(speed))]
        let cmds = Runs::tuples(mp::items(queue));
        with_client(client, |c| c.run_pipeline(cmds, transaction))
    }
}

/// The client's cache of bound command objects: `*n` slots, indexed by qstr % n (NULL
/// when `client` is not a client). The slots are the glue's alone: it reads and writes
/// them (whole words, atomically) from its attribute hook without the object's lock, so
/// no Rust reference to the client is made here, only a pointer to the slots.
///
/// # Safety
/// VM thread; `client` must be a valid object; `n` null or writable. Nothing is raised.
#[no_mangle]
pub unsafe extern "C" fn picoredis_client_command_cache(
    client: mp_obj_t,
    n: *mut usize,
) -> *mut mp_obj_t {
    // SAFETY: the caller's contract (see its gap); `n` is not null where written.
    unsafe {
        if !n.is_null() {
            *n = CMD_CACHE;
        }
        #[cfg(feature = "cluster")]
        if let Some(cache) = Cluster::command_cache(client) {
            return cache;
        }
        Client::command_cache(client)
    }
}

/// A new `RedisCluster` (`t`) with the options `opts` for its node clients, knowing the
/// startup nodes `nodes` (a list or tuple of `(host, port)`), keeping at most `max_open`
/// node clients; not connected yet (`picoredis_client_connect` loads its slot map).
///
/// # Safety
/// Called by the glue's `make_new` on the VM thread, before the object exists for anyone
/// else (so outside `guarded()`; it may raise, with no Rust frame left to drop
/// anything). `t` must be the RedisCluster type; `opts` must point to filled options
/// holding valid objects; `nodes` a valid object.
#[cfg(feature = "cluster")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_cluster_new(
    t: *const mp_obj_type_t,
    opts: *const picoredis_options_t,
    nodes: mp_obj_t,
    max_open: usize,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { outcome(Cluster::alloc(t, &*opts, mp::items(nodes), max_open)) }
}

/// `keyslot(key)`: the hash slot of args[0] (str, bytes, a buffer or an int), as the
/// cluster computes it.
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[cfg(feature = "cluster")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_cluster_keyslot(
    _obj: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe {
        outcome(match crate::slots::slot_of(arg(args(n_args, a), 0)) {
            Some(s) => Ok(mp::small_int(s as isize)),
            None => Err(Fail::Type("keys: str, bytes or int")),
        })
    }
}

/// A new `Sentinel([(host, port), ...], **options)`: `addrs` the sentinels, `opts` the
/// options of the connections to them (`sentinel::new`); the exception to raise if
/// `addrs` is not a list of (host, port).
///
/// # Safety
/// Called by the glue's `make_new` on the VM thread, before the object exists for anyone
/// else (so outside `guarded()`; it may raise MemoryError or TypeError, with no Rust frame
/// left to drop anything). `t` must be the Sentinel type; `opts` must point to filled
/// options holding valid objects; `addrs` must be a valid object.
#[cfg(feature = "sentinel")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_sentinel_new(
    t: *const mp_obj_type_t,
    opts: *const picoredis_options_t,
    addrs: mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { outcome(crate::sentinel::new(t, &*opts, addrs)) }
}

/// A new, unconnected `master_for` client of type `t` (the Redis type), or `slave_for`
/// one (`replica`): it asks `sentinel` for the primary `service`, or its replicas, on
/// every connect.
///
/// # Safety
/// As `picoredis_client_new`; `sentinel` must be a Sentinel object, `service` a valid
/// object.
#[cfg(feature = "sentinel")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_sentinel_client_new(
    t: *const mp_obj_type_t,
    opts: *const picoredis_options_t,
    sentinel: mp_obj_t,
    service: mp_obj_t,
    replica: bool,
) -> mp_obj_t {
    // SAFETY: the caller's contract.
    unsafe { crate::sentinel::client(t, &*opts, sentinel, service, replica) }
}

/// `discover_master(name)` and `discover_slaves(name)`: args are (name, replicas), the
/// second True for the replicas.
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[cfg(feature = "sentinel")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_sentinel_discover(
    sentinel: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call); the
    // closure captures only an object and a flag.
    unsafe {
        let a = args(n_args, a);
        let name = arg(a, 0);
        let want = if arg(a, 1) == mp::boolean(true) {
            crate::sentinel::Want::Replicas
        } else {
            crate::sentinel::Want::Primary
        };
        if !mp::type_is(sentinel, mp::sentinel_type()) {
            return outcome(Err(Fail::Type("not a picoredis Sentinel")));
        }
        with_client(sentinel, |c| crate::sentinel::discover(c, name, want))
    }
}

/// A new `Reader`; `decode` returns strings as str; `gets` returns `more` while no
/// complete reply is buffered.
///
/// # Safety
/// Called by the glue's `make_new` on the VM thread, before the object exists for anyone
/// else (so outside `guarded()`; it may raise MemoryError, with no Rust frame left to
/// drop anything). `t` must be the Reader type or a subtype; `more` a valid object.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_new(
    t: *const mp_obj_type_t,
    decode: bool,
    more: mp_obj_t,
) -> mp_obj_t {
    // SAFETY: the caller's contract.
    unsafe { Reader::alloc(t, decode, more) }
}

/// Runs `op` on the Reader behind `reader`.
///
/// # Safety
/// The guarded contract, for `reader`. `op` may raise: it must hold nothing that needs
/// dropping.
#[cfg(feature = "reader")]
unsafe fn with_reader(
    reader: mp_obj_t,
    op: impl FnOnce(&mut Reader) -> Result<Obj, Fail>,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        outcome(match Reader::from_obj(reader) {
            Some(r) => op(r),
            None => Err(Fail::Type("not a picoredis Reader")),
        })
    }
}

/// `feed(data, off=0, len=-1)`: args are (data[, off[, len]]).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_feed(
    reader: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call); the
    // closure captures only references.
    unsafe {
        let a = args(n_args, a);
        let data = arg(a, 0);
        with_reader(reader, |r| {
            r.feed(data, a.get(1).copied(), a.get(2).copied())
                .map(|_| mp::none())
        })
    }
}

/// `has_data()`: whether bytes are buffered that `gets` has not returned (`Reader::has_data`).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`).
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_has_data(
    reader: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_reader(reader, |r| Ok(mp::boolean(r.has_data()))) }
}

/// `is_push()`: whether the reply `gets` last returned was a RESP3 push frame.
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`).
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_is_push(
    reader: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_reader(reader, |r| Ok(mp::boolean(r.is_push()))) }
}

/// The next complete reply, False when more bytes are needed; a protocol error is
/// returned as ParseError (and every later call returns it again).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`).
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_reader_gets(
    reader: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_reader(reader, |r| r.gets()) }
}

/// `picoredis.encode(*args)`: the request for the command `args` as bytes, with the
/// client's argument checks and encoding (`request::to_bytes`).
///
/// # Safety
/// Called by the glue's `guarded()` with no object (`_obj` NULL: nothing locked, no
/// `nlr_push` of its own), on the VM thread; `a` points to `n_args` valid objects.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_encode(
    _obj: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe { outcome(crate::request::to_bytes(args(n_args, a))) }
}

// ---- the asyncio layer's queue (`_Mux`) and waiters (see `mux`) --------------------------

/// A new `_Mux(pending, core)`.
///
/// # Safety
/// Called by the glue's `make_new` on the VM thread, before the object exists for anyone
/// else (so outside `guarded()`; it may raise MemoryError, with no Rust frame left to
/// drop anything). `t` must be the `_Mux` type; `pending` a list and `core` a valid
/// object.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_new(
    t: *const mp_obj_type_t,
    pending: mp_obj_t,
    core: mp_obj_t,
) -> mp_obj_t {
    // SAFETY: the caller's contract.
    unsafe { Mux::alloc(t, pending, core) }
}

/// Runs `op` on the mux behind `mux`.
///
/// # Safety
/// The guarded contract, for `mux`. `op` may raise: it must hold nothing that needs
/// dropping.
#[cfg(feature = "reader")]
unsafe fn with_mux(
    mux: mp_obj_t,
    op: impl FnOnce(&mut Mux) -> Result<Obj, Fail>,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        outcome(match Mux::from_obj(mux) {
            Some(m) => op(m),
            None => Err(Fail::Type("not a picoredis _Mux")),
        })
    }
}

/// Runs `op` on the waiter behind `w`.
///
/// # Safety
/// The guarded contract, for `w` (whose lock is its mux's). `op` may raise: it must hold
/// nothing that needs dropping.
#[cfg(feature = "reader")]
unsafe fn with_waiter(
    w: mp_obj_t,
    op: impl FnOnce(&mut Waiter) -> Result<Obj, Fail>,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        outcome(match Waiter::from_obj(w) {
            Some(w) => op(w),
            None => Err(Fail::Type("not a picoredis waiter")),
        })
    }
}

/// A bound command's call, args (name, *args): its waiter, or None when the mux is not
/// ready (nothing queued: the glue takes the Python path).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`); `a` points to `n_args` valid objects.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_command(
    mux: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe { with_mux(mux, |m| m.command(mux, args(n_args, a), false)) }
}

/// `call(*args)`: queues the command whether or not the mux is ready; its waiter.
///
/// # Safety
/// As `picoredis_mux_command`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_call(
    mux: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe { with_mux(mux, |m| m.command(mux, args(n_args, a), true)) }
}

/// `send(data, call)`: args are (data, call).
///
/// # Safety
/// As `picoredis_mux_command`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_send(
    mux: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe {
        let a = args(n_args, a);
        let data = arg(a, 0);
        let call = arg(a, 1);
        with_mux(mux, |m| m.send(data, call))
    }
}

/// `take()`: the queued requests as bytes, or None.
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`).
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_take(
    mux: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_mux(mux, |m| m.take()) }
}

/// `wait()`: the waiter the writer parks on, or None when requests are queued.
///
/// # Safety
/// As `picoredis_mux_take`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_wait(
    mux: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_mux(mux, |m| m.wait(mux)) }
}

/// `reset()`: the connection is gone (queued requests dropped, not ready).
///
/// # Safety
/// As `picoredis_mux_take`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_reset(
    mux: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        with_mux(mux, |m| {
            m.reset();
            Ok(mp::none())
        })
    }
}

/// `ready(on)`: args are (True or False).
///
/// # Safety
/// As `picoredis_mux_command`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_ready(
    mux: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe {
        let on = args(n_args, a).first().copied() == Some(mp::boolean(true));
        with_mux(mux, |m| {
            m.set_ready(on);
            Ok(mp::none())
        })
    }
}

/// `touch()`: the link made progress now.
///
/// # Safety
/// As `picoredis_mux_take`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_touch(
    mux: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        with_mux(mux, |m| {
            m.touch();
            Ok(mp::none())
        })
    }
}

/// `idle_ms()`: ms since the link last made progress.
///
/// # Safety
/// As `picoredis_mux_take`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_mux_idle_ms(
    mux: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_mux(mux, |m| Ok(mp::small_int(m.idle_ms()))) }
}

/// Resumes a waiter: its reply, its exception (raised), or NULL with the current task
/// parked on it (the glue yields None).
///
/// # Safety
/// Called by the glue's `guarded()` (VM thread, the object's lock held, under its
/// `nlr_push`).
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_waiter_next(
    w: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_waiter(w, |x| x.next(w)) }
}

/// `take(reply)`: args are (reply).
///
/// # Safety
/// As `picoredis_mux_command`, for the waiter `w`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_waiter_take(
    w: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe {
        let reply = arg(args(n_args, a), 0);
        with_waiter(w, |x| x.take(reply))
    }
}

/// `finish(value, exc)`: args are (value, exc).
///
/// # Safety
/// As `picoredis_mux_command`, for the waiter `w`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_waiter_finish(
    w: mp_obj_t,
    n_args: usize,
    a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract (`a` holds `n_args` objects for the whole call).
    unsafe {
        let a = args(n_args, a);
        let value = arg(a, 0);
        let exc = arg(a, 1);
        with_waiter(w, |x| x.finish_with(value, exc))
    }
}

/// `remove(task)`: the parked task was cancelled.
///
/// # Safety
/// As `picoredis_waiter_next`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_waiter_remove(
    w: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe {
        with_waiter(w, |x| {
            x.remove();
            Ok(mp::none())
        })
    }
}

/// `done`: whether the outcome is in.
///
/// # Safety
/// As `picoredis_waiter_next`.
#[cfg(feature = "reader")]
#[no_mangle]
pub unsafe extern "C" fn picoredis_waiter_done(
    w: mp_obj_t,
    _n_args: usize,
    _a: *const mp_obj_t,
) -> picoredis_result_t {
    // SAFETY: the caller's contract.
    unsafe { with_waiter(w, |x| Ok(mp::boolean(x.done()))) }
}
