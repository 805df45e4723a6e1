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
//! Each node is a regular `Redis` client object (opened lazily, at most `max_connections`
//! kept; the least recently used is closed first), held in a Python list the cluster
//! object references, so the GC sees them. They are never handed to Python code: this
//! object's lock covers them.
//!
//! The unsafe methods here share the client contract (`client`'s module docs), for this
//! object.

use crate::client::{Client, CMD_CACHE};
use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::{picoredis_head_t, Options};
use crate::session::{self, Effect};
use crate::{request, sys};

pub const SLOTS: u16 = 16384;
/// Nodes the cluster object remembers (masters and startup nodes).
const MAX_NODES: usize = 32;
/// Slot ranges the map holds (a resharded cluster has more than one per master).
const MAX_RANGES: usize = 64;
/// Attempts per command: redirections, retries and map reloads together (redis-py: 16).
const TTL: u32 = 16;
/// A full reload of the map after this many MOVEDs (redis-py's reinitialize_steps).
const RELOAD_EVERY: u8 = 5;

const CROSSSLOT: &[u8] = b"CROSSSLOT Keys in request don't hash to the same slot";
const BUDGET: &[u8] = b"CLUSTERDOWN retry budget spent";

/// One range of the slot map: `start..=end` is served by node `node`.
#[derive(Clone, Copy)]
struct Range {
    start: u16,
    end: u16,
    node: u8,
}

#[repr(C)]
pub struct Cluster {
    head: picoredis_head_t,
    /// The options every node client is made with (its host and port replaced).
    opts: Options,
    /// The nodes: a list of `[host, port, client or None]`, appended to (never reordered:
    /// the map holds indexes into it).
    nodes: Obj,
    /// The node client in the middle of a command: closed if an exception cuts it short.
    current: Obj,
    /// When each node was last used (ms), to close the idlest first.
    used: [u32; MAX_NODES],
    map: [Range; MAX_RANGES],
    ranges: u8,
    /// MOVEDs since the last full reload.
    moved: u8,
    /// Node clients kept at most.
    max_open: u8,
    cmd_cache: [Obj; CMD_CACHE],
}

// Nothing alive across a MicroPython call (which may longjmp) may need dropping.
const _: () = assert!(!core::mem::needs_drop::<Cluster>());
const _: () = assert!(!core::mem::needs_drop::<Redirect>());

/// What an error reply asks of the client.
#[derive(Clone, Copy)]
enum Redirect {
    /// Not a redirection: the caller's error.
    None,
    /// The slot moved to this node.
    Moved(u16, usize),
    /// Ask this node, once.
    Ask(usize),
    /// TRYAGAIN (false) or CLUSTERDOWN (true): wait, then retry.
    Again(bool),
}

// ---- key slots --------------------------------------------------------------------------

/// CRC16/XMODEM (polynomial 0x1021, initial 0), as the Redis Cluster spec defines it.
/// Bit by bit: no 512-byte table in flash.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The hash slot of `key`: only the part between the first `{` and the first `}` after
/// it counts, if that part is not empty (a hash tag).
pub fn key_slot(key: &[u8]) -> u16 {
    let tag = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = key.get(open + 1..)?;
        let len = rest.iter().position(|&b| b == b'}')?;
        (len > 0).then(|| rest.get(..len)).flatten()
    });
    crc16(tag.unwrap_or(key)) & (SLOTS - 1)
}

/// The slot of one key argument: its bytes (str, bytes, a buffer) or an int's decimal
/// text, as it goes on the wire.
///
/// # Safety
/// VM thread (nothing is raised). `o` must be a valid object.
unsafe fn slot_of(o: Obj) -> Result<u16, Fail> {
    // SAFETY: the caller's contract; the bytes are hashed at once.
    if let Some(b) = unsafe { mp::buffer(o) } {
        return Ok(key_slot(b));
    }
    if let Some(i) = mp::small_int_value(o) {
        let mut d = [0u8; 20];
        return Ok(key_slot(resp::encode::fmt_isize(i, &mut d)));
    }
    Err(Fail::Type("keys: str, bytes or int"))
}

// Where the keys are, for the commands that are not "the first argument is the only key".
// Space-separated names (the table costs its text only).
/// No key: any node.
/// (Commands with no argument at all need no entry.)
const KEYLESS: &[u8] = b"ping echo info cluster command config client script function keys scan publish wait memory slowlog flushall flushdb";
/// Every argument is a key.
const ALL: &[u8] = b"mget del unlink exists touch watch sinter sunion sdiff sinterstore sunionstore sdiffstore pfcount pfmerge sintercard";
/// key value key value ...
const PAIRS: &[u8] = b"mset msetnx";
/// Keys, then a timeout.
const BLOCKING: &[u8] = b"blpop brpop bzpopmin bzpopmax";
/// Two keys first.
const TWO: &[u8] =
    b"rename renamenx rpoplpush lmove smove blmove brpoplpush copy zrangestore lcs geosearchstore";
/// `numkeys key ...` at the second argument.
const NUMKEYS: &[u8] = b"eval evalsha eval_ro evalsha_ro fcall fcall_ro";
/// Keys after the word STREAMS: the first half of what follows.
const STREAMS: &[u8] = b"xread xreadgroup";

fn listed(name: &[u8], list: &[u8]) -> bool {
    list.split(|&b| b == b' ')
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// The slot of the command `args` (its name first): None for a command without keys,
/// which any node serves. Keys in different slots: a CROSSSLOT error, nothing sent.
///
/// # Safety
/// VM thread (nothing is raised). `args` must be valid objects.
pub unsafe fn command_slot(args: &[Obj]) -> Result<Option<u16>, Fail> {
    // SAFETY: the caller's contract; the name's bytes are only compared, at once.
    let Some(name) = args.first().and_then(|&a| unsafe { mp::buffer(a) }) else {
        return Ok(None);
    };
    let n = args.len();
    let (first, end, step) = if n < 2 || listed(name, KEYLESS) {
        return Ok(None);
    } else if listed(name, ALL) {
        (1, n, 1)
    } else if listed(name, PAIRS) {
        (1, n, 2)
    } else if listed(name, BLOCKING) {
        (1, n - 1, 1)
    } else if listed(name, TWO) {
        (1, n.min(3), 1)
    } else if listed(name, NUMKEYS) {
        // SAFETY: the caller's contract.
        let k = unsafe { session::int_arg(args.get(2)) }.unwrap_or(0);
        let k = usize::try_from(k).unwrap_or(0).min(n);
        (3, n.min(3 + k), 1)
    } else if listed(name, STREAMS) {
        // SAFETY: the caller's contract.
        let at = (1..n).find(|&i| unsafe { session::word_is(args.get(i), b"streams") });
        match at {
            Some(i) => (i + 1, i + 1 + (n - i - 1) / 2, 1),
            None => return Ok(None),
        }
    } else {
        (1, 2, 1)
    };
    let mut slot = None;
    let mut i = first;
    while let Some(&key) = args.get(i).filter(|_| i < end) {
        // SAFETY: the caller's contract.
        let s = unsafe { slot_of(key)? };
        if slot.is_some_and(|t| t != s) {
            return Err(Fail::Refused(CROSSSLOT));
        }
        slot = Some(s);
        i += step;
    }
    Ok(slot)
}

/// Commands a cluster client does not run one by one: a transaction must stay on one
/// node (`pipeline(transaction=True)`), and the session commands would apply to one node
/// of many.
fn refused(e: Effect) -> Result<(), Fail> {
    match e {
        Effect::Multi | Effect::Exec | Effect::Discard | Effect::Watch | Effect::Unwatch => Err(
            Fail::Refused(b"ERR cluster: use pipeline(transaction=True)"),
        ),
        Effect::Select | Effect::Hello | Effect::Auth | Effect::SetName | Effect::Reset => {
            Err(Fail::Refused(b"ERR cluster: session commands are options"))
        }
        _ => Ok(()),
    }
}

/// An int of a reply within `0..=max`, else a protocol failure (trust no number from a
/// server).
///
/// # Safety
/// VM thread; may raise (OverflowError). `o` must be a valid object.
unsafe fn bounded(o: Obj, max: isize) -> Result<isize, Fail> {
    // SAFETY: the caller's contract.
    unsafe { mp::int_value(o) }
        .filter(|v| (0..=max).contains(v))
        .ok_or(Fail::Protocol("bad CLUSTER SLOTS reply"))
}

impl Cluster {
    /// A new cluster object of type `t`, not connected (the glue then calls `load`).
    /// `nodes` are the startup nodes, each a `(host, port)`.
    ///
    /// # Safety
    /// VM thread, before the object exists for anyone else; may raise (MemoryError,
    /// TypeError for a startup node that is not a pair). `t` must be the RedisCluster
    /// type; the objects in `opts` and `nodes` must be valid.
    pub unsafe fn alloc(
        t: *const sys::mp_obj_type_t,
        opts: &Options,
        nodes: &[Obj],
        max_open: usize,
    ) -> Result<Obj, Fail> {
        const STARTUP: &str = "startup_nodes: [(host, port)]";
        // SAFETY: the caller's contract. `p` is fresh zeroed memory for one Cluster (zero
        // is a valid value of every field but the ones written here, in place, before
        // anything can read them: an empty map, no MOVED, an empty command cache).
        unsafe {
            let p = mp::malloc0::<Cluster>();
            core::ptr::addr_of_mut!((*p).head.base).write(sys::mp_obj_base_t { type_: t });
            core::ptr::addr_of_mut!((*p).opts).write(*opts);
            (*p).nodes = mp::new_list(0);
            (*p).current = mp::none();
            (*p).max_open = max_open.clamp(1, MAX_NODES) as u8;
            let c = &mut *p;
            for &n in nodes {
                let [host, port] = mp::items(n) else {
                    return Err(Fail::Type(STARTUP));
                };
                if !mp::is_str(*host) {
                    return Err(Fail::Type(STARTUP));
                }
                let port = mp::int_small(*port)
                    .filter(|v| (0..=65535).contains(v))
                    .ok_or(Fail::Value("port must be 0-65535"))?;
                c.node_index(*host, port)?;
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

    /// The command cache's slots of `o` (NULL if `o` is not a cluster); see
    /// `Client::command_cache`.
    ///
    /// # Safety
    /// VM thread. `o` must be a valid object.
    pub unsafe fn command_cache(o: Obj) -> *mut Obj {
        // SAFETY: the caller's contract; only the field's address is taken.
        unsafe {
            if !mp::is_cluster(o) {
                return core::ptr::null_mut();
            }
            core::ptr::addr_of_mut!((*(o as *mut Cluster)).cmd_cache) as *mut Obj
        }
    }

    // ---- nodes ------------------------------------------------------------------------

    /// The node entries (`[host, port, client]` lists).
    ///
    /// # Safety
    /// The client contract; the slice must not be kept across an append to the list.
    unsafe fn entries<'a>(&self) -> &'a [Obj] {
        // SAFETY: the caller's contract; `nodes` is this object's own list.
        unsafe { mp::items(self.nodes) }
    }

    /// The index of node `host:port`, added if new (host: str or bytes, made a str).
    ///
    /// # Safety
    /// The client contract (may raise MemoryError; the list gets the whole entry or none).
    unsafe fn node_index(&mut self, host: Obj, port: isize) -> Result<usize, Fail> {
        // SAFETY: the caller's contract; each entry is a list of three this object made.
        unsafe {
            let want = mp::buffer(host).unwrap_or(&[]);
            let entries = self.entries();
            let found = entries.iter().position(|&e| match mp::items(e) {
                [h, p, _] => mp::buffer(*h) == Some(want) && mp::small_int_value(*p) == Some(port),
                _ => false,
            });
            if let Some(i) = found {
                return Ok(i);
            }
            if entries.len() >= MAX_NODES {
                return Err(Fail::Value("too many nodes"));
            }
            let host = if mp::is_str(host) {
                host
            } else {
                mp::str_utf8(want)
            };
            let entry = mp::new_list(3);
            if let [h, p, c] = mp::items_mut(entry) {
                *h = host;
                *p = mp::small_int(port);
                *c = mp::none();
            }
            mp::list_append(self.nodes, entry);
            Ok(entries.len())
        }
    }

    /// The client of node `i`, made (not connected) if it has none; when `max_open`
    /// clients exist, the least recently used one is closed and dropped first.
    ///
    /// # Safety
    /// The client contract.
    unsafe fn client<'a>(&mut self, i: usize) -> Result<(Obj, &'a mut Client), Fail> {
        // SAFETY: the caller's contract; entries are lists of three this object made,
        // and their clients are Redis objects it made (only it reaches them).
        unsafe {
            let entry = *self.entries().get(i).ok_or(Fail::NotConnected)?;
            let (host, port, current) = match mp::items(entry) {
                [h, p, c] => (*h, *p, *c),
                _ => return Err(Fail::NotConnected),
            };
            let now = mp::ticks_ms();
            if let Some(u) = self.used.get_mut(i) {
                *u = now;
            }
            if let Some(c) = Client::from_obj(current) {
                return Ok((current, c));
            }
            self.make_room(now);
            let mut o = self.opts;
            o.host = host;
            o.port = mp::small_int_value(port).unwrap_or(0) as sys::mp_int_t;
            // A node's link is the cluster's to renew: a dropped one always reconnects,
            // once per attempt (the cluster's own retries, with their backoff and map
            // reloads, follow a node that went away).
            o.reconnect = true;
            o.retries = 0;
            let obj = mp::with_lock(Client::alloc(mp::redis_type(), &o, false));
            if let Some(slot) = mp::items_mut(entry).get_mut(2) {
                *slot = obj;
            }
            Client::from_obj(obj)
                .map(|c| (obj, c))
                .ok_or(Fail::NotConnected)
        }
    }

    /// Closes and drops the least recently used clients until fewer than `max_open`
    /// remain (errors of those closes are dropped: nothing waits for them).
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    unsafe fn make_room(&mut self, now: u32) {
        // SAFETY: the caller's contract, as in `client`.
        unsafe {
            loop {
                let mut open = 0;
                let mut idlest: Option<(u32, Obj)> = None;
                for (k, &e) in self.entries().iter().enumerate() {
                    if let [_, _, c] = mp::items(e) {
                        if mp::is_none(*c) {
                            continue;
                        }
                        open += 1;
                        let idle = now.wrapping_sub(self.used.get(k).copied().unwrap_or(0));
                        if idlest.is_none_or(|(m, _)| idle >= m) {
                            idlest = Some((idle, e));
                        }
                    }
                }
                let Some((_, e)) = idlest.filter(|_| open >= self.max_open as usize) else {
                    return;
                };
                if let Some(slot) = mp::items_mut(e).get_mut(2) {
                    if let Some(c) = Client::from_obj(*slot) {
                        let _ = c.close();
                    }
                    *slot = mp::none();
                }
            }
        }
    }

    /// The host of node `i` (None if there is no such node).
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    unsafe fn host(&self, i: usize) -> Obj {
        // SAFETY: the caller's contract.
        unsafe {
            match self.entries().get(i).map(|&e| mp::items(e)) {
                Some([h, _, _]) => *h,
                _ => mp::none(),
            }
        }
    }

    // ---- the slot map -----------------------------------------------------------------

    fn ranges(&self) -> &[Range] {
        self.map.get(..self.ranges as usize).unwrap_or(&[])
    }

    /// The node serving `slot` (None: any node, preferably one already connected).
    ///
    /// # Safety
    /// The client contract.
    unsafe fn node_for(&mut self, slot: Option<u16>) -> Result<usize, Fail> {
        // SAFETY: the caller's contract.
        unsafe {
            if self.ranges == 0 {
                self.load(None)?;
            }
            if let Some(s) = slot {
                if let Some(r) = self.ranges().iter().find(|r| r.start <= s && s <= r.end) {
                    return Ok(r.node as usize);
                }
            }
            // Any node: one with a client, else the first master of the map.
            let open = self.entries().iter().position(|&e| match mp::items(e) {
                [_, _, c] => !mp::is_none(*c),
                _ => false,
            });
            Ok(open.unwrap_or(self.ranges().first().map_or(0, |r| r.node as usize)))
        }
    }

    /// Points `slot` at `node` (a MOVED), splitting its range; every `RELOAD_EVERY`th
    /// MOVED (or when the map is full) the whole map is reloaded instead.
    ///
    /// # Safety
    /// The client contract.
    unsafe fn moved(&mut self, slot: u16, node: usize) {
        self.moved = self.moved.saturating_add(1);
        if self.moved >= RELOAD_EVERY || !self.patch(slot, node as u8) {
            // SAFETY: the caller's contract. A failed reload keeps the patched map (or
            // the old one): the redirection is followed all the same.
            let _ = unsafe { self.load(None) };
            self.patch(slot, node as u8);
        }
    }

    /// `slot` is served by `node`; false when the map has no room for the split.
    fn patch(&mut self, slot: u16, node: u8) -> bool {
        let n = self.ranges as usize;
        let at = self
            .ranges()
            .iter()
            .position(|r| r.start <= slot && slot <= r.end);
        let Some(i) = at else {
            return self.push(Range {
                start: slot,
                end: slot,
                node,
            });
        };
        let Some(&r) = self.map.get(i) else {
            return false;
        };
        if r.node == node {
            return true;
        }
        if n + 2 > MAX_RANGES {
            return false;
        }
        if let Some(m) = self.map.get_mut(i) {
            *m = Range {
                start: slot,
                end: slot,
                node,
            };
        }
        if r.start < slot {
            self.push(Range {
                start: r.start,
                end: slot - 1,
                node: r.node,
            });
        }
        if slot < r.end {
            self.push(Range {
                start: slot + 1,
                end: r.end,
                node: r.node,
            });
        }
        true
    }

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
    /// which just failed); the first good answer wins.
    ///
    /// # Safety
    /// The client contract.
    pub unsafe fn load(&mut self, avoid: Option<usize>) -> Result<(), Fail> {
        let args = [
            mp::qstr_obj(mp::qstr(sys::MP_QSTR_CLUSTER)),
            mp::qstr_obj(mp::qstr(sys::MP_QSTR_SLOTS)),
        ];
        let mut last = Fail::NotConnected;
        // SAFETY: the caller's contract.
        let n = unsafe { self.entries().len() };
        for i in (0..n).filter(|&i| Some(i) != avoid) {
            // SAFETY: the caller's contract.
            match unsafe { self.attempt(i, false, &|c| c.command(&args)) } {
                // SAFETY: the caller's contract.
                Ok(Ok(v)) => return unsafe { self.read_slots(v, i) },
                Ok(Err(f)) | Err(f) => last = f,
            }
        }
        Err(last)
    }

    /// Replaces the map with a `CLUSTER SLOTS` reply from node `from`: a list of
    /// `[start, end, [host, port, ...], replicas...]` (an empty host is `from`'s).
    ///
    /// # Safety
    /// The client contract; `v` a reply object only this call reaches.
    unsafe fn read_slots(&mut self, v: Obj, from: usize) -> Result<(), Fail> {
        let mut map = [Range {
            start: 0,
            end: 0,
            node: 0,
        }; MAX_RANGES];
        let mut n = 0;
        // SAFETY: the caller's contract; every object is checked to be a list before its
        // items are read.
        unsafe {
            let list = |o: Obj| {
                if mp::type_is(o, mp::list_type()) {
                    Ok(mp::items(o))
                } else {
                    Err(Fail::Protocol("bad CLUSTER SLOTS reply"))
                }
            };
            for &e in list(v)? {
                let [start, end, master, ..] = list(e)? else {
                    return Err(Fail::Protocol("bad CLUSTER SLOTS reply"));
                };
                let [host, port, ..] = list(*master)? else {
                    return Err(Fail::Protocol("bad CLUSTER SLOTS reply"));
                };
                let start = bounded(*start, SLOTS as isize - 1)?;
                let end = bounded(*end, SLOTS as isize - 1)?;
                let port = bounded(*port, 65535)?;
                let name = mp::buffer(*host).unwrap_or(&[]);
                let host = if name.is_empty() || name == b"?" {
                    self.host(from)
                } else {
                    *host
                };
                let node = self.node_index(host, port)?;
                if let Some(m) = map.get_mut(n).filter(|_| start <= end) {
                    *m = Range {
                        start: start as u16,
                        end: end as u16,
                        node: node as u8,
                    };
                    n += 1;
                }
            }
        }
        self.map = map;
        self.ranges = n as u8;
        self.moved = 0;
        Ok(())
    }

    // ---- commands ---------------------------------------------------------------------

    /// What the error reply `exc` (from node `from`) asks for.
    ///
    /// # Safety
    /// The client contract; `exc` a RedisError.
    unsafe fn redirect(&mut self, exc: Obj, from: usize) -> Result<Redirect, Fail> {
        // SAFETY: the caller's contract; the texts are only read, at once.
        unsafe {
            let args = mp::items(mp::load_attr(exc, mp::qstr(sys::MP_QSTR_args)));
            let code = args.first().and_then(|&a| mp::buffer(a)).unwrap_or(&[]);
            let moved = code == b"MOVED";
            if code == b"TRYAGAIN" || code == b"CLUSTERDOWN" {
                return Ok(Redirect::Again(code == b"CLUSTERDOWN"));
            }
            if !moved && code != b"ASK" {
                return Ok(Redirect::None);
            }
            // "3999 127.0.0.1:6381" (an empty host: the node that answered).
            let text = args.get(1).and_then(|&a| mp::buffer(a)).unwrap_or(&[]);
            let sp = text.iter().position(|&b| b == b' ');
            let colon = text.iter().rposition(|&b| b == b':');
            let (Some(sp), Some(colon)) = (sp, colon) else {
                return Ok(Redirect::None);
            };
            let slot = text.get(..sp).and_then(resp::parse::parse_integer);
            let host = text.get(sp + 1..colon).unwrap_or(&[]);
            let port = text.get(colon + 1..).and_then(resp::parse::parse_integer);
            let (Some(slot), Some(port)) = (
                slot.and_then(|s| u16::try_from(s).ok()),
                port.filter(|p| (0..=65535).contains(p)),
            ) else {
                return Ok(Redirect::None);
            };
            let host = if host.is_empty() {
                self.host(from)
            } else {
                mp::str_utf8(host)
            };
            let node = self.node_index(host, port as isize)?;
            Ok(if moved {
                Redirect::Moved(slot & (SLOTS - 1), node)
            } else {
                Redirect::Ask(node)
            })
        }
    }

    /// Waits before retry number `*waits` (10, 20, 40, ... ms, at most 200).
    ///
    /// # Safety
    /// The client contract (a KeyboardInterrupt may end the wait).
    unsafe fn backoff(&mut self, waits: &mut u32) {
        let ms = (10u32 << (*waits).min(5)).min(200);
        *waits += 1;
        // SAFETY: the caller's contract.
        unsafe { mp::delay_ms(ms) };
    }

    /// Node `i` runs `op` (after `ASKING` when `ask`) on a link made sure of first. The
    /// outer error: the node could not be reached, nothing was sent. The inner result:
    /// `op`'s; a failure that leaves the link out of step closes it (what was sent may
    /// have run: the caller never sends it again).
    ///
    /// # Safety
    /// The client contract; `op` may raise: it must hold nothing that needs dropping.
    unsafe fn attempt(
        &mut self,
        i: usize,
        ask: bool,
        op: &dyn Fn(&mut Client) -> Result<Obj, Fail>,
    ) -> Result<Result<Obj, Fail>, Fail> {
        let asking = [mp::qstr_obj(mp::qstr(sys::MP_QSTR_ASKING))];
        // SAFETY: the caller's contract; `current` names the node client while it works
        // (the glue's abandon closes it if an exception cuts the call short).
        unsafe {
            let (obj, c) = self.client(i)?;
            self.current = obj;
            // An exception on the way (the socket's connect, DNS) is this node's failure
            // too: `run` decides whether another attempt may follow (the closure captures
            // only references: nothing to drop).
            let mut up = Err(Fail::NotConnected);
            if let Some(exc) = mp::protect(&mut || up = c.ensure_connected()) {
                up = Err(Fail::Exception(exc));
            }
            let mut r = up.map(|_| mp::none());
            if r.is_ok() && ask {
                r = c.command(&asking);
            }
            if r.is_ok() {
                r = op(c);
            }
            self.current = mp::none();
            match r {
                Err(f) if f.breaks_connection() || up.is_err() => {
                    c.abort();
                    match up {
                        Err(_) => Err(f),
                        Ok(()) => Ok(r),
                    }
                }
                _ => Ok(r),
            }
        }
    }

    /// `do_cmd`: the command `args` on the node its keys hash to.
    ///
    /// # Safety
    /// The client contract; `args` must be valid objects, alive for the call.
    pub unsafe fn command(&mut self, args: &[Obj]) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract.
        unsafe {
            request::check(args)?;
            refused(session::effect(args))?;
            let slot = command_slot(args)?;
            self.run(slot, None, &|c| c.command(args))
        }
    }

    /// Runs `op` (a command, or a transaction) on the node of `slot` until it gets a
    /// reply that is not a redirection, or the budget is spent. `first`: an error reply
    /// the command already got from a node (in a pipeline), followed before anything is
    /// sent.
    ///
    /// # Safety
    /// The client contract; `op` as for `attempt`.
    unsafe fn run(
        &mut self,
        slot: Option<u16>,
        first: Option<(Obj, usize)>,
        op: &dyn Fn(&mut Client) -> Result<Obj, Fail>,
    ) -> Result<Obj, Fail> {
        let mut ask = false;
        let mut waits = 0;
        let mut last = Fail::Refused(BUDGET);
        let mut pending = first;
        // SAFETY: the caller's contract.
        unsafe {
            let mut node = match first {
                Some((_, n)) => n,
                None => self.node_for(slot)?,
            };
            for attempt in 0..TTL {
                let reply = match pending.take() {
                    Some((exc, _)) => Err(Fail::Reply(exc)),
                    None => match self.attempt(node, ask, op) {
                        Ok(r) => r,
                        // An exception other than OSError (KeyboardInterrupt, MemoryError)
                        // is the caller's.
                        Err(Fail::Exception(e)) if !mp::type_is(e, mp::os_error_type()) => {
                            return Err(Fail::Exception(e));
                        }
                        Err(f) => {
                            // Unreachable (nothing was sent): after a pause, a new map,
                            // maybe a new master.
                            last = f;
                            self.backoff(&mut waits);
                            let _ = self.load(Some(node));
                            node = self.node_for(slot)?;
                            ask = false;
                            continue;
                        }
                    },
                };
                let Err(Fail::Reply(exc)) = reply else {
                    return reply;
                };
                ask = false;
                match self.redirect(exc, node)? {
                    Redirect::None => return reply,
                    Redirect::Moved(s, to) => {
                        // Nodes that send the slot back and forth (a move being
                        // committed node by node): a pause in the second half.
                        if attempt >= TTL / 2 {
                            self.backoff(&mut waits);
                        }
                        self.moved(s, to);
                        node = to;
                    }
                    Redirect::Ask(to) => {
                        node = to;
                        ask = true;
                    }
                    Redirect::Again(down) => {
                        self.backoff(&mut waits);
                        if down {
                            let _ = self.load(None);
                        }
                        node = self.node_for(slot)?;
                    }
                }
                last = Fail::Refused(BUDGET);
            }
        }
        Err(last)
    }

    /// `pipeline().execute()`: each command goes to the node of its slot; the commands
    /// of one node are sent with one write, then their replies read. A command that got
    /// a redirection (it did not run) is followed alone, as are the commands of a node
    /// that could not be reached. Replies come back in the caller's order, server errors
    /// in place. With `transaction`, every key must be in one slot, and MULTI/EXEC runs
    /// on its node (a MOVED at queue time: the transaction did not run, and goes to the
    /// new owner).
    ///
    /// # Safety
    /// The client contract; `cmds` tuples (or lists) of valid objects that no Python code
    /// can change during the call.
    pub unsafe fn pipeline(&mut self, cmds: &[Obj], transaction: bool) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract. `plan` and `out` are this call's own lists;
        // `plan` holds each command's slot, then its node until it is done (None), `out`
        // its reply (every slot written, each command being in one group, before `out`
        // is returned).
        unsafe {
            let n = cmds.len();
            let plan = mp::new_list(n);
            let mut tslot = None;
            for (&cmd, p) in cmds.iter().zip(mp::items_mut(plan)) {
                let args = mp::items(cmd);
                request::check(args)?;
                refused(session::effect(args))?;
                let s = command_slot(args)?;
                if transaction && tslot.is_some_and(|t| s.is_some_and(|s| s != t)) {
                    return Err(Fail::Refused(CROSSSLOT));
                }
                tslot = tslot.or(s);
                *p = s.map_or(mp::none(), |s| mp::small_int(s as isize));
            }
            if transaction {
                return self.run(tslot, None, &|c| c.pipeline(cmds, true));
            }
            let slot = |o: Obj| mp::small_int_value(o).map(|s| s as u16);
            let slots = mp::new_tuple(mp::items(plan));
            for p in mp::items_mut(plan) {
                *p = mp::small_int(self.node_for(slot(*p))? as isize);
            }
            let out = mp::new_list(n);
            let node_of = |k: usize| mp::items(plan).get(k).and_then(|&o| mp::small_int_value(o));
            // Groups in the order of their first command.
            for i in 0..n {
                let Some(node) = node_of(i) else {
                    continue;
                };
                let mine = |k: &usize| node_of(*k) == Some(node);
                let group = mp::new_list(0);
                for k in (i..n).filter(mine) {
                    mp::list_append(group, cmds.get(k).copied().unwrap_or(mp::none()));
                }
                let node = node as usize;
                let replies =
                    match self.attempt(node, false, &|c| c.pipeline(mp::items(group), false)) {
                        Ok(Ok(v)) => mp::items(v),
                        Ok(Err(f)) => return Err(f),
                        Err(_) => &[],
                    };
                for (j, k) in (i..n).filter(mine).enumerate() {
                    let got = replies.get(j).copied();
                    let again = match got {
                        None => Some(None),
                        Some(v) if mp::is_redis_error(v) => match self.redirect(v, node)? {
                            Redirect::None => None,
                            _ => Some(Some((v, node))),
                        },
                        Some(_) => None,
                    };
                    let reply = match (again, cmds.get(k), mp::items(slots).get(k)) {
                        (Some(first), Some(&cmd), Some(&s)) => {
                            match self.run(slot(s), first, &|c| c.command(mp::items(cmd))) {
                                Ok(v) => v,
                                Err(Fail::Reply(e)) => e,
                                Err(f) => return Err(f),
                            }
                        }
                        _ => got.unwrap_or(mp::none()),
                    };
                    if let (Some(o), Some(p)) = (
                        mp::items_mut(out).get_mut(k),
                        mp::items_mut(plan).get_mut(k),
                    ) {
                        *o = reply;
                        *p = mp::none();
                    }
                }
            }
            Ok(out)
        }
    }

    /// An operation raised part-way: the node client it was using is closed.
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    pub unsafe fn abandon(&mut self) {
        // SAFETY: the caller's contract; `current` is a node client or None.
        unsafe {
            if let Some(c) = Client::from_obj(self.current) {
                c.abort();
            }
        }
        self.current = mp::none();
    }

    /// `close()`: closes every node connection (errors of those closes are dropped).
    ///
    /// # Safety
    /// The client contract (nothing is raised).
    pub unsafe fn close(&mut self) -> Result<Obj, Fail> {
        // SAFETY: the caller's contract, as in `make_room`.
        unsafe {
            for &e in self.entries() {
                if let Some(slot) = mp::items_mut(e).get_mut(2) {
                    if let Some(c) = Client::from_obj(*slot) {
                        let _ = c.close();
                    }
                    *slot = mp::none();
                }
            }
        }
        Ok(mp::none())
    }
}
