//! `picoredis.Sentinel` (the `sentinel` part): asks Redis Sentinel where the primary and
//! its replicas are.
//!
//! A Sentinel object is a `Client` (type Sentinel) whose connection goes to one sentinel at
//! a time, with the list of the sentinels' addresses. `discover_master(name)` asks them in
//! order (`SENTINEL get-master-addr-by-name name`), skipping those that cannot be reached,
//! fail, or do not know the name, and moves the one that answered to the front, as
//! redis-py does: its connection stays open for the next question. `discover_slaves(name)`
//! asks the same way for the replicas (`SENTINEL REPLICAS`, or `SLAVES` before Redis 5)
//! that are not flagged down. The clients of `master_for()` and `slave_for()` ask on
//! every (re)connect, then check `ROLE` on the node they reached (`open`): a slave_for
//! client tries the replicas in turn, starting one further each time, then the primary.

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

/// A new `master_for` client (`replica` false) or `slave_for` one: a Redis object of type
/// `t` with `opts` that asks `sentinel` for the primary `service`, or for its replicas, on
/// every connect. A slave_for client's rotation starts where the clock says, so boards
/// that start together do not all pick the same replica first (redis-py: at random).
///
/// # Safety
/// As `Client::alloc` (the object is new: no lock yet). `sentinel` must be a Sentinel
/// object, `service` a valid object.
pub unsafe fn client(
    t: *const sys::mp_obj_type_t,
    opts: &Options,
    sentinel: Obj,
    service: Obj,
    replica: bool,
) -> Obj {
    // SAFETY: the caller's contract; the new object is this call's alone.
    unsafe {
        let o = Client::alloc(t, opts, false);
        if let Some(c) = Client::from_obj(o) {
            c.sentinel = sentinel;
            c.service = service;
            c.replica = replica;
            c.turn = mp::ticks_ms() as u16;
        }
        o
    }
}

/// Opens the connection of a `master_for` or `slave_for` client `c` (closed): to the node
/// the sentinels name, through the Sentinel object's own `discover_*` methods (which take
/// that object's lock), with the handshake, then `ROLE` before anything else. A slave_for
/// client tries the usable replicas in turn, starting one further than its last connect
/// (the rotation); one that cannot be reached, fails its handshake or says it is not a
/// `slave` is skipped; with none left, the primary (as redis-py falls back to it). A
/// primary that says it is not `master` (the sentinels have not all seen a failover)
/// fails the attempt with `MasterNotFoundError`, which the connect retries (the `heal`
/// part) try again from the sentinels.
///
/// # Safety
/// The client contract, for `c`; `c.sentinel` is a Sentinel object.
pub unsafe fn open(c: &mut Client) -> Result<(), Fail> {
    // SAFETY: the caller's contract; the replicas' list is the Sentinel's answer, this
    // call's alone; the closure runs within this call and captures only references.
    unsafe {
        if c.replica {
            let found = mp::call_method(
                c.sentinel,
                mp::qstr(sys::MP_QSTR_discover_slaves),
                &[c.service],
            );
            let n = mp::items(found).len();
            for _ in 0..n {
                c.turn = c.turn.wrapping_add(1);
                let k = usize::from(c.turn).checked_rem(n).unwrap_or(0);
                let Some(&addr) = mp::items(found).get(k) else {
                    break;
                };
                let mut done = Err(Fail::NotConnected);
                let raised = mp::protect(&mut || done = open_at(c, addr, b"slave"));
                // Only the replica's own failure is skipped: KeyboardInterrupt,
                // MemoryError and the like go on.
                let exc = match (raised, done) {
                    (None, Ok(true)) => return Ok(()),
                    (Some(e), _) | (None, Err(Fail::Exception(e))) => Some(e),
                    _ => None,
                };
                c.abort();
                if let Some(e) = exc.filter(|&e| !mp::type_is(e, mp::os_error_type())) {
                    return Err(Fail::Exception(e));
                }
            }
        }
        let addr = mp::call_method(
            c.sentinel,
            mp::qstr(sys::MP_QSTR_discover_master),
            &[c.service],
        );
        if open_at(c, addr, b"master")? {
            return Ok(());
        }
        Err(crate::fail::no_primary(
            "the node the sentinels named is not a primary (ROLE)",
            c.service,
        ))
    }
}

/// Connects `c` to `addr` (a `(host, port)` from the sentinels), runs the handshake, then
/// asks `ROLE`: whether the node is a `role`.
///
/// # Safety
/// The client contract, for `c` (closed); `addr` must be a valid object.
unsafe fn open_at(c: &mut Client, addr: Obj, role: &[u8]) -> Result<bool, Fail> {
    // SAFETY: the caller's contract; the tuple is read at once.
    unsafe {
        let a = mp::items(addr);
        let (Some(&host), Some(&port)) = (a.first(), a.get(1)) else {
            return Err(Fail::Type(BAD_SENTINELS));
        };
        c.set_address(host, port)?;
        c.open_node(mp::none())?;
        c.has_role(role)
    }
}

/// What the sentinels are asked for.
#[derive(Clone, Copy, PartialEq)]
pub enum Want {
    /// `SENTINEL get-master-addr-by-name`: `(host, port)` of the primary.
    Primary,
    /// `SENTINEL REPLICAS` (`SLAVES` before Redis 5): the replicas not flagged down.
    Replicas,
}

/// `discover_master(name)`: `(host, port)` of the primary named `name`, from the first
/// sentinel that knows it; `MasterNotFoundError` when none does. `discover_slaves(name)`
/// (`want` Replicas): a list of `(host, port)`, one per replica not flagged down, from
/// the first sentinel that names one; `[]` when none does (as redis-py). A sentinel is
/// skipped when its connect or question fails (an OSError, a timeout, an error reply, a
/// broken reply) or it knows no such node; any other exception ends the search.
///
/// # Safety
/// The client contract, for the Sentinel object `c`; `name` must be a valid object.
pub unsafe fn discover(c: &mut Client, name: Obj, want: Want) -> Result<Obj, Fail> {
    // SAFETY: the caller's contract. The list is the Sentinel's own (no Python code can
    // resize it); its items are read by index each time (a swap only exchanges two).
    unsafe {
        if mp::buffer(name).is_none() {
            return Err(Fail::Type("the primary's name must be a str"));
        }
        let list = c.sentinels;
        let n = mp::items(list).len();
        let sentinel = mp::qstr_obj(mp::qstr(sys::MP_QSTR_SENTINEL));
        let query = [
            sentinel,
            mp::bytes(match want {
                Want::Primary => b"get-master-addr-by-name",
                Want::Replicas => b"replicas",
            }),
            name,
        ];
        for i in 0..n {
            let mut got = Err(Fail::NotConnected);
            // A sentinel that cannot be reached raises (the socket's connect): caught, the
            // next one is asked. The closure captures only references (nothing to drop).
            let raised = mp::protect(&mut || {
                got = match ask(c, list, i, &query) {
                    // A sentinel before Redis 5 knows the replicas as SLAVES only.
                    Err(Fail::Reply(_)) if want == Want::Replicas => {
                        c.command(&[sentinel, mp::bytes(b"slaves"), name])
                    }
                    other => other,
                }
            });
            if let Some(exc) = raised {
                // Only a sentinel's failure is skipped: KeyboardInterrupt, MemoryError and
                // the like go on.
                if !mp::type_is(exc, mp::os_error_type()) {
                    c.abort();
                    return Err(Fail::Exception(exc));
                }
            }
            let answer = match (raised, got) {
                (None, Ok(v)) if want == Want::Primary => address(v),
                (None, Ok(v)) => replicas(v),
                _ => None,
            };
            if raised.is_some() || matches!(got, Err(f) if f.breaks_connection()) {
                c.abort();
            }
            if let Some(found) = answer {
                // The one that answered goes first, and its connection stays open.
                if let Some((first, rest)) = mp::items_mut(list).split_first_mut() {
                    if let Some(that) = rest.get_mut(i.wrapping_sub(1)) {
                        core::mem::swap(first, that);
                    }
                }
                return Ok(found);
            }
        }
        // The connection is to a sentinel that did not answer, not to the first.
        c.abort();
        if want == Want::Replicas {
            return Ok(mp::new_list(0));
        }
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

/// The usable replicas in a sentinel's answer `v` to `SENTINEL REPLICAS`: a list of
/// `(host, port)`, in the sentinel's order, of those whose flags say neither `s_down`,
/// `o_down` nor `disconnected`; None when none is (or the answer is malformed: an entry
/// without an address or flags, a port outside 1-65535, is not trusted).
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be a valid object.
unsafe fn replicas(v: Obj) -> Option<Obj> {
    // SAFETY: the caller's contract. The answer is this call's alone; its text is read
    // while only allocations run (which do not move objects).
    unsafe {
        if !mp::type_is(v, mp::list_type()) {
            return None;
        }
        let out = mp::new_list(0);
        for &entry in mp::items(v) {
            let (Some(host), Some(port), Some(flags)) = (
                field(entry, b"ip"),
                field(entry, b"port"),
                field(entry, b"flags"),
            ) else {
                continue;
            };
            let down = flags
                .split(|&b| b == b',')
                .any(|f| matches!(f, b"s_down" | b"o_down" | b"disconnected"));
            let port = resp::parse::parse_integer(port).filter(|p| (1..=65535).contains(p));
            if let (false, false, Some(port)) = (down, host.is_empty(), port) {
                let addr = [
                    crate::text::decode_lossy(host),
                    mp::small_int(port as isize),
                ];
                mp::list_append(out, mp::new_tuple(&addr));
            }
        }
        (!mp::items(out).is_empty()).then_some(out)
    }
}

/// The text of field `name` of one replica in a `SENTINEL REPLICAS` answer: the entry is
/// a flat list of names and values (RESP2) or a dict (RESP3).
///
/// # Safety
/// VM thread (nothing is raised). `entry` must be a valid object, and stay unchanged while
/// the text is used.
unsafe fn field<'a>(entry: Obj, name: &[u8]) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract.
    unsafe {
        let value = if mp::type_is(entry, mp::list_type()) {
            mp::items(entry)
                .chunks_exact(2)
                .find(|kv| kv.first().and_then(|&k| mp::buffer(k)) == Some(name))
                .and_then(|kv| kv.get(1).copied())
        } else if mp::type_is(entry, mp::dict_type()) {
            mp::dict_pairs(entry)
                .find(|&(k, _)| mp::buffer(k) == Some(name))
                .map(|(_, v)| v)
        } else {
            None
        };
        value.and_then(|v| mp::buffer(v))
    }
}
