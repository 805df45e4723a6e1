//! Where a command goes in a Redis Cluster: the hash slot of its keys (CRC16/XMODEM of
//! the key, or of its `{hash tag}`, mod 16384, as the Redis Cluster spec says), found by
//! the position of its keys (the first argument, or a rule from a small table), and
//! whether it is a read a replica may serve.
//!
//! The table holds a 16-bit hash of each name, not the names: 2 bytes a command in
//! flash instead of its text. The names stay in this file and the hashes are computed
//! from them when it compiles, which also proves that no two names share a hash and
//! that no other Redis command (`OTHERS`: every command of Redis 7.0 to 8.2 and of the
//! common modules) shares one with a name in the table. A command that is in neither
//! list has a 1 in 800 chance to be taken for one of the table's: it is then routed by
//! another rule (the cluster's MOVED corrects the node) or, for a rule that checks the
//! slots of several keys, may be refused with CROSSSLOT before it is sent.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::session;

pub const SLOTS: u16 = 16384;

pub const CROSSSLOT: &[u8] = b"CROSSSLOT keys in different slots";

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
/// text, as it goes on the wire; None for anything else (a float key: the command goes
/// to any node, and the cluster's MOVED then routes it).
///
/// # Safety
/// VM thread (nothing is raised). `o` must be a valid object.
pub unsafe fn slot_of(o: Obj) -> Option<u16> {
    // SAFETY: the caller's contract; the bytes are hashed at once.
    if let Some(b) = unsafe { mp::buffer(o) } {
        return Some(key_slot(b));
    }
    let mut d = [0u8; 20];
    mp::small_int_value(o).map(|i| key_slot(resp::encode::fmt_isize(i, &mut d)))
}

// Where a command's keys are (its class), when not "the first argument is the only key"
// (class 0); READ is added for the commands a replica may serve.
/// Every argument.
const ALL: u8 = 1;
/// key value key value ...
const PAIRS: u8 = 2;
/// Keys, then a timeout.
const BLOCKING: u8 = 3;
/// Two keys first.
const TWO: u8 = 4;
/// `numkeys key ...` at the second argument.
const NUMKEYS: u8 = 5;
/// The first half of what follows the word STREAMS.
const STREAMS: u8 = 6;
/// No key: any node (commands with no argument at all need no entry).
const KEYLESS: u8 = 7;
/// A read: with `read_from_replicas`, the master or one of its replicas serves it.
pub const READ: u8 = 8;

type Names = &'static [&'static [u8]];

/// The reads a replica may serve whose key is the first argument (class READ alone): in
/// the table only with the `cluster_replicas` part (without it they are class 0, the
/// rule for a command that is not in the table).
const READS: Names = &[
    b"get",
    b"strlen",
    b"getrange",
    b"ttl",
    b"pttl",
    b"type",
    b"hget",
    b"hmget",
    b"hgetall",
    b"hexists",
    b"hlen",
    b"lrange",
    b"llen",
    b"lindex",
    b"smembers",
    b"sismember",
    b"scard",
    b"zrange",
    b"zscore",
    b"zcard",
    b"zrank",
    b"xrange",
    b"xlen",
];
const TABLE_READS: Names = if cfg!(feature = "cluster_replicas") {
    READS
} else {
    &[]
};

/// The table, by class (names in lower case; any case matches).
const GROUPS: [(u8, Names); 10] = [
    (READ, TABLE_READS),
    (
        ALL | READ,
        &[
            b"mget", b"exists", b"sinter", b"sunion", b"sdiff", b"pfcount",
        ],
    ),
    (
        ALL,
        &[
            b"del",
            b"unlink",
            b"touch",
            b"watch",
            b"sinterstore",
            b"sunionstore",
            b"sdiffstore",
            b"pfmerge",
        ],
    ),
    (PAIRS, &[b"mset", b"msetnx"]),
    (BLOCKING, &[b"blpop", b"brpop", b"bzpopmin", b"bzpopmax"]),
    (
        TWO,
        &[
            b"rename",
            b"renamenx",
            b"rpoplpush",
            b"lmove",
            b"smove",
            b"blmove",
            b"brpoplpush",
            b"copy",
            b"zrangestore",
            b"lcs",
            b"geosearchstore",
        ],
    ),
    (
        NUMKEYS,
        &[
            b"eval",
            b"evalsha",
            b"eval_ro",
            b"evalsha_ro",
            b"fcall",
            b"fcall_ro",
        ],
    ),
    (STREAMS | READ, &[b"xread"]),
    (STREAMS, &[b"xreadgroup"]),
    (
        KEYLESS,
        &[
            b"ping",
            b"echo",
            b"info",
            b"cluster",
            b"command",
            b"config",
            b"client",
            b"script",
            b"function",
            b"keys",
            b"scan",
            b"publish",
            b"wait",
            b"memory",
            b"slowlog",
            b"flushall",
            b"flushdb",
        ],
    ),
];

/// Every other command name known (Redis 7.0 to 8.2, and the common modules'): none may
/// share a hash with a name in the table (checked when this compiles).
const OTHERS: Names = &[
    b"acl",
    b"append",
    b"asking",
    b"auth",
    b"bgrewriteaof",
    b"bgsave",
    b"bitcount",
    b"bitfield",
    b"bitfield_ro",
    b"bitop",
    b"bitpos",
    b"blmpop",
    b"bzmpop",
    b"dbsize",
    b"debug",
    b"decr",
    b"decrby",
    b"discard",
    b"dump",
    b"exec",
    b"expire",
    b"expireat",
    b"expiretime",
    b"failover",
    b"geoadd",
    b"geodist",
    b"geohash",
    b"geopos",
    b"georadius",
    b"georadius_ro",
    b"georadiusbymember",
    b"georadiusbymember_ro",
    b"geosearch",
    b"getbit",
    b"getdel",
    b"getex",
    b"getset",
    b"hdel",
    b"hello",
    b"hincrby",
    b"hincrbyfloat",
    b"hkeys",
    b"hmset",
    b"hrandfield",
    b"hscan",
    b"hset",
    b"hsetnx",
    b"hstrlen",
    b"hvals",
    b"incr",
    b"incrby",
    b"incrbyfloat",
    b"lastsave",
    b"latency",
    b"linsert",
    b"lmpop",
    b"lolwut",
    b"lpop",
    b"lpos",
    b"lpush",
    b"lpushx",
    b"lrem",
    b"lset",
    b"ltrim",
    b"migrate",
    b"module",
    b"monitor",
    b"move",
    b"multi",
    b"object",
    b"persist",
    b"pexpire",
    b"pexpireat",
    b"pexpiretime",
    b"pfadd",
    b"pfdebug",
    b"pfselftest",
    b"psetex",
    b"psubscribe",
    b"psync",
    b"pubsub",
    b"punsubscribe",
    b"quit",
    b"randomkey",
    b"readonly",
    b"readwrite",
    b"replconf",
    b"replicaof",
    b"reset",
    b"restore",
    b"restore-asking",
    b"role",
    b"rpop",
    b"rpush",
    b"rpushx",
    b"sadd",
    b"save",
    b"select",
    b"set",
    b"setbit",
    b"setex",
    b"setnx",
    b"setrange",
    b"shutdown",
    b"sintercard",
    b"slaveof",
    b"smismember",
    b"sort",
    b"sort_ro",
    b"spop",
    b"spublish",
    b"srandmember",
    b"srem",
    b"sscan",
    b"ssubscribe",
    b"subscribe",
    b"substr",
    b"sunsubscribe",
    b"swapdb",
    b"sync",
    b"time",
    b"unsubscribe",
    b"unwatch",
    b"xack",
    b"xadd",
    b"xautoclaim",
    b"xclaim",
    b"xdel",
    b"xgroup",
    b"xinfo",
    b"xpending",
    b"xrevrange",
    b"xsetid",
    b"xtrim",
    b"zadd",
    b"zcount",
    b"zdiff",
    b"zdiffstore",
    b"zincrby",
    b"zinter",
    b"zintercard",
    b"zinterstore",
    b"zlexcount",
    b"zmpop",
    b"zmscore",
    b"zpopmax",
    b"zpopmin",
    b"zrandmember",
    b"zrangebylex",
    b"zrangebyscore",
    b"zrem",
    b"zremrangebylex",
    b"zremrangebyrank",
    b"zremrangebyscore",
    b"zrevrange",
    b"zrevrangebylex",
    b"zrevrangebyscore",
    b"zrevrank",
    b"zscan",
    b"zunion",
    b"zunionstore",
    // Redis 7.2 to 8.2.
    b"waitaof",
    b"hexpire",
    b"hpexpire",
    b"hexpireat",
    b"hpexpireat",
    b"httl",
    b"hpttl",
    b"hexpiretime",
    b"hpexpiretime",
    b"hpersist",
    b"hgetdel",
    b"hgetex",
    b"hsetex",
    b"xackdel",
    b"xdelex",
    b"vadd",
    b"vcard",
    b"vdim",
    b"vemb",
    b"vgetattr",
    b"vinfo",
    b"vismember",
    b"vlinks",
    b"vrandmember",
    b"vrem",
    b"vsetattr",
    b"vsim",
    // Modules (JSON, search, time series, probabilistic).
    b"json.get",
    b"json.set",
    b"json.mget",
    b"json.mset",
    b"json.del",
    b"json.type",
    b"json.arrappend",
    b"json.numincrby",
    b"json.strlen",
    b"json.objkeys",
    b"ft.search",
    b"ft.aggregate",
    b"ft.create",
    b"ft.info",
    b"ft.dropindex",
    b"ft._list",
    b"ts.add",
    b"ts.madd",
    b"ts.get",
    b"ts.mget",
    b"ts.range",
    b"ts.mrange",
    b"ts.create",
    b"ts.incrby",
    b"bf.add",
    b"bf.madd",
    b"bf.exists",
    b"bf.mexists",
    b"bf.reserve",
    b"cf.add",
    b"cf.exists",
    b"cf.reserve",
    b"cms.incrby",
    b"cms.query",
    b"topk.add",
    b"topk.query",
    b"tdigest.add",
    b"tdigest.quantile",
];

/// The name's hash (FNV-1a, any case, folded to 16 bits): the same at compile time and
/// at run time.
const fn hash(mut name: &[u8]) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    while let [b, rest @ ..] = name {
        h = (h ^ (*b | 0x20) as u32).wrapping_mul(0x0100_0193);
        name = rest;
    }
    (h ^ (h >> 16)) as u16
}

// (The tables below are built when this compiles; slice patterns walk the names, as
// indexing is denied even there.)

const COUNT: usize = {
    let mut n = 0;
    let mut groups: &[(u8, Names)] = &GROUPS;
    while let [(_, names), more @ ..] = groups {
        n += names.len();
        groups = more;
    }
    n
};

/// The hashes of the table's names, group after group.
const HASHES: [u16; COUNT] = {
    let mut out = [0; COUNT];
    let mut slots: &mut [u16] = &mut out;
    let mut groups: &[(u8, Names)] = &GROUPS;
    while let [(_, names), more @ ..] = groups {
        let mut names: &[&[u8]] = names;
        while let [name, rest @ ..] = names {
            if let [slot, tail @ ..] = slots {
                *slot = hash(name);
                slots = tail;
            }
            names = rest;
        }
        groups = more;
    }
    out
};

/// For each group: where it ends in `HASHES`, and its class.
const ENDS: [(u8, u8); GROUPS.len()] = {
    let mut out = [(0, 0); GROUPS.len()];
    let mut slots: &mut [(u8, u8)] = &mut out;
    let mut groups: &[(u8, Names)] = &GROUPS;
    let mut n = 0;
    while let [(class, names), more @ ..] = groups {
        n += names.len();
        if let [slot, tail @ ..] = slots {
            *slot = (n as u8, *class);
            slots = tail;
        }
        groups = more;
    }
    out
};

const fn same(mut a: &[u8], mut b: &[u8]) -> bool {
    while let ([x, ra @ ..], [y, rb @ ..]) = (a, b) {
        if *x != *y {
            return false;
        }
        (a, b) = (ra, rb);
    }
    a.is_empty() && b.is_empty()
}

/// Whether `name` hashes like a name of the table other than itself.
const fn collides(name: &[u8]) -> bool {
    let h = hash(name);
    let mut groups: &[(u8, Names)] = &GROUPS;
    while let [(_, names), more @ ..] = groups {
        let mut names: &[&[u8]] = names;
        while let [other, rest @ ..] = names {
            if hash(other) == h && !same(other, name) {
                return true;
            }
            names = rest;
        }
        groups = more;
    }
    false
}

// The proof (at compile time): every name in the table, and every other known command,
// is told apart by its hash.
const _: () = {
    let mut groups: &[(u8, Names)] = &GROUPS;
    while let [(_, names), more @ ..] = groups {
        let mut names: &[&[u8]] = names;
        while let [name, rest @ ..] = names {
            assert!(!collides(name), "two table names share a hash");
            names = rest;
        }
        groups = more;
    }
    let mut others = OTHERS;
    while let [name, rest @ ..] = others {
        assert!(!collides(name), "a command shares a hash with a table name");
        others = rest;
    }
    // (Not in the table without `cluster_replicas`: then they are other commands.)
    let mut reads = READS;
    while let [name, rest @ ..] = reads {
        assert!(!collides(name), "a command shares a hash with a table name");
        reads = rest;
    }
    assert!(COUNT < 256);
};

/// The class of the command `name` (0: the first argument is its only key).
fn class_of(name: &[u8]) -> u8 {
    let h = hash(name);
    let Some(i) = HASHES.iter().position(|&x| x == h) else {
        return 0;
    };
    ENDS.iter()
        .find(|&&(end, _)| i < end as usize)
        .map_or(0, |&(_, class)| class)
}

/// Where the command `args` (its name first) goes: the slot of its keys (None: no key,
/// any node serves it) and whether it is a read a replica may serve. Keys in different
/// slots: a CROSSSLOT error, nothing sent.
///
/// # Safety
/// VM thread (nothing is raised). `args` must be valid objects.
pub unsafe fn command_slot(args: &[Obj]) -> Result<(Option<u16>, bool), Fail> {
    // SAFETY: the caller's contract; the name's bytes are only hashed, at once.
    let name = args.first().and_then(|&a| unsafe { mp::buffer(a) });
    let class = class_of(name.unwrap_or(&[]));
    let n = args.len();
    let (mut first, mut end, mut step) = (1, 2, 1);
    // SAFETY: the caller's contract.
    unsafe {
        match class & !READ {
            ALL => end = n,
            PAIRS => (end, step) = (n, 2),
            BLOCKING => end = n.saturating_sub(1),
            TWO => end = 3,
            NUMKEYS => {
                let k = session::int_arg(args.get(2)).unwrap_or(0);
                (first, end) = (3, usize::try_from(k).unwrap_or(0).saturating_add(3));
            }
            STREAMS => match (1..n).find(|&i| session::word_is(args.get(i), b"streams")) {
                Some(i) => (first, end) = (i + 1, i + 1 + (n - i - 1) / 2),
                None => end = 0,
            },
            KEYLESS => end = 0,
            _ => {}
        }
    }
    let mut slot = None;
    let mut i = first;
    while let Some(&key) = args.get(i).filter(|_| i < end) {
        // SAFETY: the caller's contract.
        if let Some(s) = unsafe { slot_of(key) } {
            if slot.is_some_and(|t| t != s) {
                return Err(Fail::Refused(CROSSSLOT));
            }
            slot = Some(s);
        }
        i += step;
    }
    Ok((slot, class & READ != 0))
}
