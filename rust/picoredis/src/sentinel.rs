//! `picoredis.Sentinel` (the `sentinel` part): asks Redis Sentinel where the primary is.
//!
//! A Sentinel object is a `Client` (type Sentinel) whose connection goes to one sentinel at
//! a time, with the list of the sentinels' addresses. `discover_master(name)` asks them in
//! order (`SENTINEL get-master-addr-by-name name`), skipping those that cannot be reached,
//! fail, or do not know the name, and moves the one that answered to the front, as
//! redis-py does: its connection stays open for the next question. The clients of
//! `master_for()` call it on every (re)connect (client.rs: `locate_primary`), then check
//! `ROLE` on the node they reached (`check_primary`).

use crate::client::Client;
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::Options;
use crate::sys;

const BAD_SENTINELS: &str = "sentinels: a list of (host, port), host a str, port an int";

/// A new Sentinel object of type `t` (unconnected, without its lock: the glue adds it)
/// for the sentinels `addrs` (an iterable tuple or list of `(host, port)`), with the
/// options of its connections to them. A connection attempt to a sentinel is made once
/// (no retries): the next sentinel is the retry.
///
/// # Safety
/// VM thread, outside any object's call (the object is new); may raise (TypeError for
/// `addrs` that is no tuple or list, MemoryError). `t` must be the Sentinel type; `opts`
/// must hold valid objects; `addrs` must be a valid object.
pub unsafe fn new(t: *const sys::mp_obj_type_t, opts: &Options, addrs: Obj) -> Result<Obj, Fail> {
    // SAFETY: the caller's contract. `given` borrows `addrs`' storage while no Python code
    // runs (only allocations, which do not move objects); the new list's slots are each
    // filled before anyone can see it; the new object is this call's alone.
    unsafe {
        let given = mp::items(addrs);
        if given.is_empty() {
            return Err(Fail::Value("Sentinel needs at least one (host, port)"));
        }
        let list = mp::new_list(given.len());
        for (slot, &a) in mp::items_mut(list).iter_mut().zip(given) {
            let pair = mp::items(a);
            let (Some(&host), Some(&port), 2) = (pair.first(), pair.get(1), pair.len()) else {
                return Err(Fail::Type(BAD_SENTINELS));
            };
            if !mp::is_str(host) {
                return Err(Fail::Type(BAD_SENTINELS));
            }
            match mp::int_small(port) {
                Some(p) if (0..=65535).contains(&p) => {}
                _ if !mp::is_int(port) => return Err(Fail::Type(BAD_SENTINELS)),
                _ => return Err(Fail::Value("port must be 0-65535")),
            }
            *slot = mp::new_tuple(&[host, port]);
        }
        let o = Client::alloc(t, opts, false);
        let Some(c) = Client::from_obj(o) else {
            return Err(Fail::Type("not a Sentinel type"));
        };
        c.opts.retries = 0;
        c.sentinels = list;
        Ok(o)
    }
}

/// A new `master_for` client: a Redis object of type `t` with `opts` that asks `sentinel`
/// for the primary `service` on every connect.
///
/// # Safety
/// As `Client::alloc` (the object is new: no lock yet). `sentinel` must be a Sentinel
/// object, `service` a valid object.
pub unsafe fn client(
    t: *const sys::mp_obj_type_t,
    opts: &Options,
    sentinel: Obj,
    service: Obj,
) -> Obj {
    // SAFETY: the caller's contract; the new object is this call's alone.
    unsafe {
        let o = Client::alloc(t, opts, false);
        if let Some(c) = Client::from_obj(o) {
            c.sentinel = sentinel;
            c.service = service;
        }
        o
    }
}

/// `discover_master(name)`: `(host, port)` of the primary named `name`, from the first
/// sentinel that knows it; `MasterNotFoundError` when none does. A sentinel is skipped
/// when its connect or question fails (an OSError, a timeout, an error reply, a broken
/// reply) or it does not know the name; any other exception ends the search.
///
/// # Safety
/// The client contract, for the Sentinel object `c`; `name` must be a valid object.
pub unsafe fn discover_master(c: &mut Client, name: Obj) -> Result<Obj, Fail> {
    // SAFETY: the caller's contract. The list is the Sentinel's own (no Python code can
    // resize it); its items are read by index each time (a swap only exchanges two).
    unsafe {
        if mp::buffer(name).is_none() {
            return Err(Fail::Type("the primary's name must be a str"));
        }
        let list = c.sentinels;
        let n = mp::items(list).len();
        let query = [
            mp::qstr_obj(mp::qstr(sys::MP_QSTR_SENTINEL)),
            mp::bytes(b"get-master-addr-by-name"),
            name,
        ];
        for i in 0..n {
            let mut got = Err(Fail::NotConnected);
            // A sentinel that cannot be reached raises (the socket's connect): caught, the
            // next one is asked. The closure captures only references (nothing to drop).
            let raised = mp::protect(&mut || got = ask(c, list, i, &query));
            if let Some(exc) = raised {
                // Only a sentinel's failure is skipped: KeyboardInterrupt, MemoryError and
                // the like go on.
                if !mp::type_is(exc, mp::os_error_type()) {
                    c.abort();
                    return Err(Fail::Exception(exc));
                }
            }
            let answer = match (raised, got) {
                (None, Ok(v)) => address(v),
                _ => None,
            };
            if raised.is_some() || matches!(got, Err(f) if f.breaks_connection()) {
                c.abort();
            }
            if let Some(addr) = answer {
                // The one that answered goes first, and its connection stays open.
                if let Some((first, rest)) = mp::items_mut(list).split_first_mut() {
                    if let Some(that) = rest.get_mut(i.wrapping_sub(1)) {
                        core::mem::swap(first, that);
                    }
                }
                return Ok(addr);
            }
        }
        // The connection is to a sentinel that did not answer, not to the first.
        c.abort();
        Err(crate::fail::no_primary(
            "no sentinel knows the primary (unreachable, or the name is unknown)",
            name,
        ))
    }
}

/// Asks sentinel `i` of `list` (over the open connection when `i` is 0: it goes to that
/// one). Its reply.
///
/// # Safety
/// The client contract, for `c`; `list` its list of (host, port) tuples.
unsafe fn ask(c: &mut Client, list: Obj, i: usize, query: &[Obj]) -> Result<Obj, Fail> {
    // SAFETY: the caller's contract; the address tuple is the Sentinel's own (made in
    // `new`), read at once.
    unsafe {
        if i != 0 || !c.is_open() {
            let entry = mp::items(list).get(i).copied().unwrap_or(mp::none());
            let addr = mp::items(entry);
            let (Some(&host), Some(&port)) = (addr.first(), addr.get(1)) else {
                return Err(Fail::Type(BAD_SENTINELS));
            };
            c.set_address(host, port)?;
            c.connect(mp::none())?;
        }
        c.command(query)
    }
}

/// The `(host, port)` tuple in a sentinel's answer `[host, port]`, or None for anything
/// else (None: the sentinel does not know the name; a malformed answer is not trusted).
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be a valid object.
unsafe fn address(v: Obj) -> Option<Obj> {
    // SAFETY: the caller's contract; the list is the reply, this call's alone.
    unsafe {
        if !mp::type_is(v, mp::list_type()) {
            return None;
        }
        let (Some(&host), Some(&port), 2) = (
            mp::items(v).first(),
            mp::items(v).get(1),
            mp::items(v).len(),
        ) else {
            return None;
        };
        let host = mp::buffer(host).filter(|h| !h.is_empty())?;
        let port = resp::parse::parse_integer(mp::buffer(port)?)?;
        if !(1..=65535).contains(&port) {
            return None;
        }
        let host = crate::text::decode_lossy(host);
        Some(mp::new_tuple(&[host, mp::small_int(port as isize)]))
    }
}
