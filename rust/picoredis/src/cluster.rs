//! `RedisCluster`: one client for a Redis Cluster. It knows which master serves each of
//! the 16384 hash slots (the slot map, as ranges), sends each command to the node its
//! keys hash to, and follows the cluster's redirections: `MOVED` (the slot has a new
//! owner: the map is patched, and reloaded from `CLUSTER SLOTS` after repeated MOVEDs, as
//! redis-py does), `ASK` (a slot being migrated: `ASKING` + the command on the named node,
//! the map unchanged), `TRYAGAIN` and `CLUSTERDOWN` (retried after a short backoff), all
//! within a budget of `TTL` attempts. A redirection is followed only because the command
//! did not run; a command whose fate is unknown (the link failed after it was sent) is
//! never sent again: its error is the caller's.
//!
//! With `read_from_replicas=True` (the options' `readonly`), the map also keeps each
//! master's replicas (one byte per node), every node connection sends `READONLY` in its
//! handshake, and the read commands of a small table go to the master and its replicas in
//! turn.
//!
//! Each node is a regular `Redis` client object (made when a command first needs it, at
//! most `max_connections` kept; the least recently used is closed first), referenced from
//! this object, so the GC sees them. They are never handed to Python code: this object's
//! lock covers them (so they get no lock of their own). An exception that cuts an
//! operation short closes them all (the glue's abandon): whichever was in the middle of
//! a reply is never reused.
//!
//! The unsafe methods here share the client contract (`client`'s module docs), for this
//! object.

use crate::client::{Client, CMD_CACHE};
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::{picoredis_head_t, Options};
use crate::session::{self, Effect};
use crate::slots::{command_slot, CROSSSLOT, SLOTS};
use crate::{request, sys};

/// Nodes the cluster object remembers (masters, replicas, startup nodes).
const MAX_NODES: usize = 32;
/// Slot ranges the map holds (a resharded cluster has more than one per master).
const MAX_RANGES: usize = 64;
/// Attempts per command: redirections, retries and map reloads together (redis-py: 16).
const TTL: u32 = 16;
/// A full reload of the map after this many MOVEDs (redis-py's reinitialize_steps).
const RELOAD_EVERY: u8 = 5;

const BUDGET: &[u8] = b"CLUSTERDOWN retry budget spent";

/// One range of the slot map: `start..=end` is served by node `node`.
#[derive(Clone, Copy)]
struct Range {
    start: u16,
    end: u16,
    node: u8,
}

/// A node the cluster knows: its host (a str), its client (NULL until a command needs
/// it, and again once closed), when it was last used (ms, to close the idlest first),
/// and its port. (One record per node: one bounds check reaches them all.)
#[derive(Clone, Copy)]
struct Node {
    host: Obj,
    client: Obj,
    used: u32,
    port: u16,
}

/// What runs on a node: a command (its arguments), or a pipeline (its commands, and
/// whether it is a transaction). (A value, not a closure: no vtable and body per use.)
#[derive(Clone, Copy)]
enum Op<'a> {
    Command(&'a [Obj]),
    Pipeline(&'a [Obj], bool),
}

#[repr(C)]
pub struct Cluster {
    head: picoredis_head_t,
    /// The options every node client is made with (`reconnect` on, no connect
    /// `retries`; its host and port set for each); `readonly` is `read_from_replicas`.
    opts: Options,
    /// The first `nodes` are known. Appended to, never reordered: the map holds indexes.
    node: [Node; MAX_NODES],
    /// `replica_of[i]`: 1 + the node node `i` is a replica of, 0 for a master (or a
    /// replica that is not read from). (An array of its own: cleared and searched
    /// with less code.)
    #[cfg(feature = "cluster_replicas")]
    replica_of: [u8; MAX_NODES],
    nodes: u8,
    /// The last `attempt` could not reach its node.
    unreached: bool,
    map: [Range; MAX_RANGES],
    ranges: u8,
    /// MOVEDs since the last full reload.
    moved: u8,
    /// Node clients kept at most.
    max_open: u8,
    /// Turns of the reads among a master and its replicas.
    #[cfg(feature = "cluster_replicas")]
    turn: u8,
    cmd_cache: [Obj; CMD_CACHE],
}

// Nothing alive across a MicroPython call (which may longjmp) may need dropping.
const _: () = assert!(!core::mem::needs_drop::<Cluster>());

/// The error codes a cluster answers with when a command did not run here.
const MOVED: u8 = 1;
const ASK: u8 = 2;
const CLUSTERDOWN: u8 = 4;
/// (Not a reply: the node could not be reached.)
const UNREACHABLE: u8 = 5;
const REDIRECTS: &[u8] = b"\x01moved\x02ask\x03tryagain\x04clusterdown";

/// The code `table` gives `name` (0 if it is not there): each name (lower case; any
/// case matches) after its code byte (below b'A', so the bytes mark where names end).
fn code_of(name: &[u8], table: &[u8]) -> u8 {
    let mut rest = table;
    while let [class, tail @ ..] = rest {
        let len = tail.iter().position(|&b| b < b'A').unwrap_or(tail.len());
        if tail
            .get(..len)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
        {
            return *class;
        }
        rest = tail.get(len..).unwrap_or(&[]);
    }
    0
}

/// `command_slot` after the checks every command passes before anything is sent: its
/// arguments can be sent, and it is not one a cluster client refuses (a transaction
/// must stay on one node: `pipeline(transaction=True)`; a session command would apply
/// to one node of many: the options set the session of them all).
///
/// # Safety
/// As `command_slot`.
unsafe fn route(args: &[Obj]) -> Result<(Option<u16>, bool), Fail> {
    // SAFETY: the caller's contract.
    unsafe {
        request::check(args)?;
        if !matches!(
            session::effect(args),
            Effect::None | Effect::Subscribe | Effect::Monitor
        ) {
            return Err(Fail::Refused(
                b"ERR cluster: use pipeline(transaction=True), or options",
            ));
        }
        command_slot(args)
    }
}

/// The items of `o` if it is a list (a reply's array), else none (nothing is raised).
///
/// # Safety
/// VM thread; `o` a valid object only the caller reaches (the slice borrows it).
unsafe fn lists<'a>(o: Obj) -> &'a [Obj] {
    // SAFETY: the caller's contract.
    unsafe {
        if mp::type_is(o, mp::list_type()) {
            mp::items(o)
        } else {
            &[]
        }
    }
}

/// A node client (None for an empty slot).
///
/// # Safety
/// The client contract; `o` NULL or a Redis object only this cluster reaches.
unsafe fn node<'a>(o: Obj) -> Option<&'a mut Client> {
    // SAFETY: the caller's contract.
    unsafe { (!o.is_null()).then(|| Client::from_obj(o)).flatten() }
}

impl Cluster {
    /// A new cluster object of type `t`, not connected (the glue then loads its map:
    /// `picoredis_client_connect`).
    /// `nodes` are the startup nodes, each a `(host, port)`.
    ///
    /// # Safety
    /// VM thread, before the object exists for anyone else; may raise (MemoryError,
    /// TypeError for startup nodes that are not a list of pairs). `t` must be the
    /// RedisCluster type; the objects in `opts` and `nodes` must be valid.
    pub unsafe fn alloc(
        t: *const sys::mp_obj_type_t,
        opts: &Options,
        nodes: &[Obj],
        max_open: usize,
    ) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract. `p` is fresh zeroed memory for one Cluster (zero
        // is a valid value of every field but the ones written here, in place, before
        // anything can read them: no node, an empty map, no MOVED, an empty cache).
        unsafe {
            let p = mp::malloc0::<Cluster>();
            core::ptr::addr_of_mut!((*p).head.base).write(sys::mp_obj_base_t { type_: t });
            core::ptr::addr_of_mut!((*p).opts).write(*opts);
            // A node's link is the cluster's to renew: a dropped one always reconnects,
            // once per attempt (the cluster's own retries, with their backoff and map
            // reloads, follow a node that went away).
            (*p).opts.reconnect = true;
            (*p).opts.retries = 0;
            (*p).max_open = max_open.min(MAX_NODES) as u8;
            let c = &mut *p;
            for &n in nodes {
                let addr = match mp::items(n) {
                    [host, port] if mp::is_str(*host) => mp::int_small(*port)
                        .and_then(|p| u16::try_from(p).ok())
                        .map(|p| (*host, p)),
                    _ => None,
                };
                let (host, port) = addr.ok_or(Fail::Type("startup_nodes: [(str, 0-65535)]"))?;
                // (Beyond MAX_NODES startup nodes, the rest are not needed.)
                c.node_index(host, port);
            }
            Ok(p as Obj)
        }
    }

    /// The cluster behind `o`, if `o` is a RedisCluster object.
    ///
    /// # Safety
    /// VM thread, holding `o`'s lock (no other `&mut` to it exists for `'a`). `o` must be
    /// a valid object.
    pub unsafe fn from_obj<'a>(o: Obj) -> Option<&'a mut Cluster> {
        // SAFETY: the caller's contract; a RedisCluster object is this struct (`alloc`).
        unsafe { mp::is_cluster(o).then(|| &mut *(o as *mut Cluster)) }
    }

    /// The command cache's slots of `o` (None if `o` is not a cluster); see
    /// `Client::command_cache`.
    ///
    /// # Safety
    /// VM thread. `o` must be a valid object.
    pub unsafe fn command_cache(o: Obj) -> Option<*mut Obj> {
        // SAFETY: the caller's contract; only the field's address is taken.
        unsafe {
            mp::is_cluster(o)
                .then(|| core::ptr::addr_of_mut!((*(o as *mut Cluster)).cmd_cache) as *mut Obj)
        }
    }

    // ---- nodes ------------------------------------------------------------------------

    /// The index of node `host:port`, added if new (host: str or bytes, made a str);
    /// None when the table is full.
    ///
    /// # Safety
    /// The client contract (may raise MemoryError).
    unsafe fn node_index(&mut self, host: Obj, port: u16) -> Option<usize> {
        // SAFETY: the caller's contract; the hosts are str objects this object holds.
        unsafe {
            let want = mp::buffer(host).unwrap_or(&[]);
            let n = self.nodes as usize;
            if let Some(i) = self
                .node
                .iter()
                .take(n)
                .position(|k| k.port == port && mp::buffer(k.host) == Some(want))
            {
                return Some(i);
            }
            let host = if mp::is_str(host) {
                host
            } else {
                mp::str_utf8(want)
            };
            let k = self.node.get_mut(n)?;
            k.host = host;
            k.port = port;
            self.nodes += 1;
            Some(n)
        }
    }

    /// The client of node `i` (marked used now), made (not connected) if it has none;
    /// when `max_open` clients exist, the least recently used one is closed and dropped
    /// first.
    ///
    /// # Safety
    /// The client contract.
    unsafe fn client<'a>(&mut self, i: usize) -> Result<&'a mut Client, Fail> {
        let now = mp::ticks_ms();
        let Some(k) = self.node.get_mut(i) else {
            return Err(Fail::NotConnected);
        };
        k.used = now;
        let Node {
            host,
            port,
            mut client,
            ..
        } = *k;
        // SAFETY: the caller's contract; the clients are Redis objects this object made
        // (only it reaches them).
        unsafe {
            if client.is_null() {
                // Room for one more: the idlest client goes.
                let mut open = 0;
                let mut idlest = (0, MAX_NODES);
                for (k, n) in self.node.iter().enumerate() {
                    if !n.client.is_null() {
                        open += 1;
                        if now.wrapping_sub(n.used) >= idlest.0 {
                            idlest = (now.wrapping_sub(n.used), k);
                        }
                    }
                }
                if open >= self.max_open {
                    self.drop_client(idlest.1);
                }
                // (The options' address is scratch: the node's, for its client.)
                self.opts.host = host;
                self.opts.port = port as sys::mp_int_t;
                client = Client::alloc(mp::redis_type(), &self.opts, false);
                if let Some(k) = self.node.get_mut(i) {
                    k.client = client;
                }
            }
            node(client).ok_or(Fail::NotConnected)
        }
    }

    /// Closes and forgets node `i`'s client (an error of that close is dropped: nothing
    /// waits for it).
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    unsafe fn drop_client(&mut self, i: usize) {
        if let Some(slot) = self.node.get_mut(i).map(|k| &mut k.client) {
            // SAFETY: the caller's contract.
            if let Some(c) = unsafe { node(*slot) } {
                // SAFETY: the caller's contract.
                let _ = unsafe { c.close() };
            }
            *slot = mp::NULL;
        }
    }

    /// Node `i` runs `op` (after `ASKING` when `ask`) on a link made sure of first
    /// (connected, or reconnected): `op`'s result; a failure that leaves the link out of
    /// step closes it (what was sent may have run: the caller never sends it again).
    /// `unreached` tells when the node could not be reached (the error is that
    /// failure): nothing was sent, and the client is closed.
    ///
    /// # Safety
    /// The client contract; `op`'s objects must be valid, alive for the call (a
    /// pipeline's: tuples or lists that no Python code can change during it).
    unsafe fn attempt(&mut self, i: usize, ask: bool, op: Op) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract (if an exception cuts the call short, the glue's
        // abandon closes every node client). An exception on the way to the node (the
        // socket's connect, DNS) is this node's failure too: the caller decides whether
        // another attempt may follow (the closure captures only references: nothing to
        // drop).
        unsafe {
            // (Node indexes come from the node table: `client` finds each.)
            let c = self.client(i)?;
            let mut r = Err(Fail::NotConnected);
            if let Some(exc) = mp::protect(&mut || r = c.ensure_connected().map(|_| mp::none())) {
                r = Err(Fail::Exception(exc));
            }
            self.unreached = r.is_err();
            if r.is_ok() && ask {
                r = c.command(&[mp::qstr_obj(mp::qstr(sys::MP_QSTR_ASKING))]);
            }
            if r.is_ok() {
                r = match op {
                    Op::Command(args) => c.command(args),
                    Op::Pipeline(cmds, transaction) => c.pipeline(cmds, transaction),
                };
            }
            if let Err(f) = r {
                if self.unreached || f.breaks_connection() {
                    c.abort();
                }
            }
            r
        }
    }

    // ---- the slot map -----------------------------------------------------------------

    fn ranges(&self) -> &[Range] {
        self.map.get(..self.ranges as usize).unwrap_or(&[])
    }

    /// The node for `slot` (None: any node, preferably a master already connected); for
    /// a `read` with `read_from_replicas`, the master or one of its replicas, in turn.
    /// (Without a map, a cluster that had no slots when it was loaded: the first node,
    /// whose MOVED or CLUSTERDOWN then patches or reloads the map.)
    fn node_for(&mut self, slot: Option<u16>, read: bool) -> usize {
        let range = slot.and_then(|s| {
            self.ranges()
                .iter()
                .rev()
                .find(|r| r.start <= s && s <= r.end)
        });
        if let Some(&Range { node: m, .. }) = range {
            let m = m as usize;
            #[cfg(feature = "cluster_replicas")]
            if read && self.opts.readonly {
                // The master, then its replicas: the `turn`th of them, in a cycle.
                let tag = m as u8 + 1;
                let replicas = self
                    .replica_of
                    .iter()
                    .enumerate()
                    .filter(|&(_, &r)| r == tag);
                let k = (self.turn as usize).checked_rem(replicas.clone().count() + 1);
                return match k.unwrap_or(0).checked_sub(1) {
                    Some(k) => replicas.map(|(i, _)| i).nth(k).unwrap_or(m),
                    None => m,
                };
            }
            let _ = read;
            return m;
        }
        // (Nodes not known yet have no client.)
        let open = (0..MAX_NODES).find(|&i| {
            #[cfg(feature = "cluster_replicas")]
            if self.replica_of.get(i) != Some(&0) {
                return false;
            }
            self.node.get(i).is_some_and(|k| !k.client.is_null())
        });
        open.unwrap_or(self.ranges().first().map_or(0, |r| r.node as usize))
    }

    /// Points `slot` at `node` (a MOVED): a one-slot range after the others, which
    /// `node_for` searches from the last (the newest wins). Every `RELOAD_EVERY`th MOVED
    /// (or when the map is full) the whole map is reloaded first.
    ///
    /// # Safety
    /// The client contract.
    unsafe fn moved(&mut self, slot: u16, node: usize) {
        // (Past 255 failed reloads it wraps: only the next full reload comes later.)
        self.moved = self.moved.wrapping_add(1);
        let one = Range {
            start: slot,
            end: slot,
            node: node as u8,
        };
        if self.moved >= RELOAD_EVERY || !self.push(one) {
            // SAFETY: the caller's contract. A failed reload keeps the map it had: the
            // redirection is followed all the same.
            let _ = unsafe { self.load(None) };
            self.push(one);
        }
    }

    #[inline(never)]
    fn push(&mut self, r: Range) -> bool {
        match self.map.get_mut(self.ranges as usize) {
            Some(m) => {
                *m = r;
                self.ranges += 1;
                true
            }
            None => false,
        }
    }

    /// Loads the map from `CLUSTER SLOTS`, asking the known nodes in turn (but `avoid`,
    /// which just failed); the first good answer wins. Its value is None (connect()'s).
    ///
    /// # Safety
    /// The client contract.
    pub unsafe fn load(&mut self, avoid: Option<usize>) -> Result<Obj, Fail> {
        let args = [
            mp::qstr_obj(mp::qstr(sys::MP_QSTR_CLUSTER)),
            mp::qstr_obj(mp::qstr(sys::MP_QSTR_SLOTS)),
        ];
        let mut last = Fail::NotConnected;
        for i in (0..self.nodes as usize).filter(|&i| Some(i) != avoid) {
            // SAFETY: the caller's contract.
            match unsafe { self.attempt(i, false, Op::Command(&args)) } {
                Ok(v) => {
                    // SAFETY: the caller's contract.
                    unsafe { self.read_slots(v, i) };
                    return Ok(mp::none());
                }
                Err(f) => last = f,
            }
        }
        Err(last)
    }

    /// Replaces the map with a `CLUSTER SLOTS` reply from node `from`: a list of
    /// `[start, end, [host, port, ...], replicas...]` (an empty host is `from`'s). The
    /// replicas are kept only with `read_from_replicas`.
    ///
    /// A malformed answer is not trusted (as Sentinel's are not): an entry whose slots
    /// or port are not ints (or the port not 0-65535), or that is not a list, is left
    /// out; a host that is not text counts as empty. Slot numbers are kept to 14 bits: a
    /// wrong one sends a command to a wrong node, which redirects it.
    ///
    /// # Safety
    /// The client contract; `v` a reply object only this call reaches.
    unsafe fn read_slots(&mut self, v: Obj, from: usize) {
        self.ranges = 0;
        self.moved = 0;
        #[cfg(feature = "cluster_replicas")]
        {
            self.replica_of = [0; MAX_NODES];
        }
        // SAFETY: the caller's contract.
        unsafe {
            for &e in lists(v) {
                let [start, end, nodes @ ..] = lists(e) else {
                    continue;
                };
                // (A reply's ints are small ints: mp::int.)
                let (Some(start), Some(end)) =
                    (mp::small_int_value(*start), mp::small_int_value(*end))
                else {
                    continue;
                };
                let mut master = 0;
                for &n in nodes {
                    let [host, port, ..] = lists(n) else {
                        continue;
                    };
                    let Some(port) = mp::int_small(*port).and_then(|p| u16::try_from(p).ok())
                    else {
                        continue;
                    };
                    let name = mp::buffer(*host).unwrap_or(&[]);
                    let host = if name.is_empty() || name == b"?" {
                        self.node.get(from).map_or(mp::none(), |k| k.host)
                    } else {
                        *host
                    };
                    // (No room for another node: the slots go where MOVED says.)
                    let Some(i) = self.node_index(host, port) else {
                        break;
                    };
                    if master == 0 {
                        self.push(Range {
                            start: start as u16 & (SLOTS - 1),
                            end: end as u16 & (SLOTS - 1),
                            node: i as u8,
                        });
                        master = i as u8 + 1;
                    } else {
                        #[cfg(feature = "cluster_replicas")]
                        if let Some(r) = self.replica_of.get_mut(i) {
                            *r = master;
                        }
                    }
                    if !cfg!(feature = "cluster_replicas") || !self.opts.readonly {
                        break;
                    }
                }
            }
        }
    }

    // ---- commands ---------------------------------------------------------------------

    /// What the error reply `exc` (from node `from`) asks for: (0, ..) none; (MOVED or
    /// ASK, the slot, the node named); (TRYAGAIN or CLUSTERDOWN, ..).
    ///
    /// # Safety
    /// The client contract; `exc` a RedisError.
    unsafe fn redirect(&mut self, exc: Obj, from: usize) -> (u8, u16, usize) {
        // SAFETY: the caller's contract; the texts are only read, at once.
        unsafe {
            let args = mp::items(mp::load_attr(exc, mp::qstr(sys::MP_QSTR_args)));
            let word = |k: usize| args.get(k).and_then(|&a| mp::buffer(a)).unwrap_or(&[]);
            let kind = code_of(word(0), REDIRECTS);
            if kind != MOVED && kind != ASK {
                return (kind, 0, from);
            }
            // "3999 127.0.0.1:6381" (an empty host: the node that answered).
            let text = word(1);
            let sp = text.iter().position(|&b| b == b' ').unwrap_or(0);
            let colon = text.iter().rposition(|&b| b == b':').unwrap_or(0);
            if colon <= sp {
                return (0, 0, from);
            }
            // A slot or port out of range is not followed: the caller gets the error.
            let num = |t: Option<&[u8]>| {
                t.and_then(resp::parse::parse_integer)
                    .and_then(|n| u16::try_from(n).ok())
            };
            let (Some(slot @ 0..SLOTS), Some(port)) =
                (num(text.get(..sp)), num(text.get(colon + 1..)))
            else {
                return (0, 0, from);
            };
            let host = match text.get(sp + 1..colon).unwrap_or(&[]) {
                [] => self.node.get(from).map_or(mp::none(), |k| k.host),
                h => mp::str_utf8(h),
            };
            // (No room for the node: the caller gets the redirection as an error.)
            match self.node_index(host, port) {
                Some(node) => (kind, slot, node),
                None => (0, 0, from),
            }
        }
    }

    /// Waits before retry number `*waits` (10, 20, 40, ... ms, at most 200).
    ///
    /// # Safety
    /// The client contract (a KeyboardInterrupt may end the wait).
    unsafe fn backoff(waits: &mut u32) {
        let ms = (10u32 << (*waits).min(5)).min(200);
        *waits += 1;
        // SAFETY: the caller's contract.
        unsafe { mp::delay_ms(ms) };
    }

    /// `do_cmd`: the command `args` on the node its keys hash to.
    ///
    /// # Safety
    /// The client contract; `args` must be valid objects, alive for the call.
    pub unsafe fn command(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract.
        unsafe {
            let (slot, read) = route(args)?;
            #[cfg(feature = "cluster_replicas")]
            {
                self.turn = self.turn.wrapping_add(read as u8);
            }
            self.run(slot, read, Op::Command(args))
        }
    }

    /// Runs `op` (a command, or a transaction) on the node of `slot` until it gets a
    /// reply that is not a redirection, or the budget is spent. A `read` may go to a
    /// replica; a node that cannot be reached sends the command to the master, after a
    /// pause and a new map.
    ///
    /// # Safety
    /// The client contract; `op` as for `attempt`.
    unsafe fn run(&mut self, slot: Option<u16>, mut read: bool, op: Op) -> Result<Obj, Fail> {
        let mut ask = false;
        let mut waits = 0;
        let mut last = Fail::Refused(BUDGET);
        // SAFETY: the caller's contract.
        unsafe {
            let mut node = self.node_for(slot, read);
            for attempt in 0..TTL {
                let reply = self.attempt(node, ask, op);
                let (kind, s, to) = match reply {
                    // An exception other than OSError (KeyboardInterrupt, MemoryError) is
                    // the caller's.
                    Err(Fail::Exception(e)) if !mp::type_is(e, mp::os_error_type()) => {
                        return reply;
                    }
                    // Unreachable (nothing was sent): the master (after a pause and a new
                    // map, maybe a new master).
                    Err(f) if self.unreached => {
                        last = f;
                        read = false;
                        (UNREACHABLE, 0, node)
                    }
                    Err(Fail::Reply(exc)) => match self.redirect(exc, node) {
                        (0, ..) => return reply,
                        r => {
                            last = Fail::Refused(BUDGET);
                            r
                        }
                    },
                    _ => return reply,
                };
                // A pause before TRYAGAIN's, CLUSTERDOWN's and an unreachable node's next
                // attempt, and between redirections in the second half of the budget
                // (nodes that send a slot back and forth while a move is committed
                // node by node).
                if kind > ASK || attempt >= TTL / 2 {
                    Self::backoff(&mut waits);
                }
                if kind == MOVED {
                    self.moved(s, to);
                }
                if kind >= CLUSTERDOWN {
                    let _ = self.load((kind == UNREACHABLE).then_some(node));
                }
                ask = kind == ASK;
                node = if kind <= ASK {
                    to
                } else {
                    self.node_for(slot, read)
                };
            }
        }
        Err(last)
    }

    /// `pipeline().execute()`: each command goes to the node of its slot; the commands
    /// of one node are sent with one write, then their replies read. A command answered
    /// with a redirection (it did not run), and the commands of a node that could not be
    /// reached, are then sent alone by `run`, from their slot's node (which follows the
    /// redirection again, with its budget). Replies come back
    /// in the caller's order, server errors in place. With `transaction`, every key must
    /// be in one slot, and MULTI/EXEC runs on its master (a MOVED at queue time: the
    /// transaction did not run, and goes to the new owner).
    ///
    /// # Safety
    /// The client contract; `cmds` tuples (or lists) of valid objects that no Python code
    /// can change during the call.
    pub unsafe fn pipeline(&mut self, cmds: &[Obj], transaction: bool) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract. `out` is this call's own list: a NULL slot is a
        // command not sent yet, the `group` list marks those of the node being served,
        // and every slot holds its reply before `out` is returned.
        unsafe {
            if transaction {
                let mut tslot = None;
                for &cmd in cmds {
                    let (s, _) = route(mp::items(cmd))?;
                    if tslot.is_some_and(|t| s.is_some_and(|s| s != t)) {
                        return Err(Fail::Refused(CROSSSLOT));
                    }
                    tslot = tslot.or(s);
                }
                return self.run(tslot, false, Op::Pipeline(cmds, true));
            }
            let out = mp::new_list(cmds.len());
            // (One turn for the whole pipeline: its reads of a slot go to one node.)
            #[cfg(feature = "cluster_replicas")]
            {
                self.turn = self.turn.wrapping_add(1);
            }
            loop {
                // The commands still to send of the node of the first one, in order. (The
                // first round checks them all before anything is sent.)
                let group = mp::new_list(0);
                let mut to = None;
                for (o, &cmd) in mp::items_mut(out).iter_mut().zip(cmds) {
                    if !o.is_null() {
                        continue;
                    }
                    let (s, read) = route(mp::items(cmd))?;
                    let n = self.node_for(s, read);
                    if *to.get_or_insert(n) == n {
                        *o = group;
                        mp::list_append(group, cmd);
                    }
                }
                let Some(to) = to else {
                    return Ok(out);
                };
                let replies = match self.attempt(to, false, Op::Pipeline(mp::items(group), false)) {
                    Ok(v) => mp::items(v),
                    Err(_) if self.unreached => &[],
                    Err(f) => return Err(f),
                };
                let mut got = replies.iter();
                for (o, &cmd) in mp::items_mut(out).iter_mut().zip(cmds) {
                    if *o != group {
                        continue;
                    }
                    *o = match got.next() {
                        Some(&v) if !mp::is_redis_error(v) || self.redirect(v, to).0 == 0 => v,
                        _ => match self.command(mp::items(cmd)) {
                            Ok(v) | Err(Fail::Reply(v)) => v,
                            Err(f) => return Err(f),
                        },
                    };
                }
            }
        }
    }

    /// `close()`: closes every node connection (errors of those closes are dropped).
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    pub unsafe fn close(&mut self) -> Result<Obj, Fail> {
        for i in 0..MAX_NODES {
            // SAFETY: the caller's contract.
            unsafe { self.drop_client(i) };
        }
        Ok(mp::none())
    }
}
