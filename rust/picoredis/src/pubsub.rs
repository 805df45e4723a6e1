//! Pub/sub: turning the server's message arrays / RESP3 push frames into message dicts
//! `{'type': 'message', 'pattern': None, 'channel': b'ch', 'data': b'hi'}`.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::sys;

/// A message dict from a reply of a subscribed connection.
///
/// # Safety
/// VM thread, inside a glue call holding the client's lock; may raise (MemoryError): the
/// frames up to the glue's `nlr_push` must hold nothing that needs dropping. `v` must be
/// a valid object (a reply just read).
pub unsafe fn message(v: Obj, decode: bool) -> Result<Obj, Fail> {
    // SAFETY: the caller's contract. The reply's items and bytes are read at once, while
    // only this call can reach the reply.
    unsafe {
        if mp::is_redis_error(v) {
            return Err(Fail::Reply(v));
        }
        if !mp::type_is(v, mp::list_type()) {
            // RESP3 answers PING in subscribe mode with a plain +PONG: the same dict as
            // RESP2's [b'pong', b''].
            if mp::buffer(v).is_some_and(|b| b.eq_ignore_ascii_case(b"pong")) {
                let empty = if decode {
                    mp::str_utf8(b"")
                } else {
                    mp::bytes(b"")
                };
                return dict(
                    crate::text::decode_lossy(b"pong"),
                    mp::none(),
                    mp::none(),
                    empty,
                );
            }
            return Err(Fail::Protocol(
                "unexpected reply on a subscribed connection",
            ));
        }
        let (kind, pattern, channel, data) = match mp::items(v) {
            [kind, pattern, channel, data] => (*kind, *pattern, *channel, *data),
            [kind, channel, data] => (*kind, mp::none(), *channel, *data),
            // RESP2 PING in subscribe mode: [b'pong', b'']
            [kind, data] => (*kind, mp::none(), mp::none(), *data),
            _ => {
                return Err(Fail::Protocol(
                    "unexpected reply on a subscribed connection",
                ))
            }
        };
        let kind_text = mp::buffer(kind).unwrap_or(&[]);
        dict(crate::text::decode_lossy(kind_text), pattern, channel, data)
    }
}

/// # Safety
/// As `message`.
unsafe fn dict(kind: Obj, pattern: Obj, channel: Obj, data: Obj) -> Result<Obj, Fail> {
    let key = |q: u32| mp::qstr_obj(mp::qstr(q));
    // SAFETY: the caller's contract; the keys are qstr strs (hashable) and `d` a dict.
    unsafe {
        let d = mp::new_dict(4);
        mp::dict_store(d, key(sys::MP_QSTR_type), kind);
        mp::dict_store(d, key(sys::MP_QSTR_pattern), pattern);
        mp::dict_store(d, key(sys::MP_QSTR_channel), channel);
        mp::dict_store(d, key(sys::MP_QSTR_data), data);
        Ok(d)
    }
}

/// What a PubSub is subscribed to, kept to renew it on a new connection: one Python list
/// per kind, headed by its command word (`[SUBSCRIBE, ch, ...]`, `[PSUBSCRIBE, pat, ...]`),
/// so each list is the command that renews it; NULL while empty. The lists live on the
/// MicroPython heap, reached by the GC through the client object (this struct is a field
/// of it), and only the client can reach them. They hold each name once (names with the
/// same bytes are one name, as for the server), so they stay as small as what the
/// application is subscribed to.
#[repr(C)]
pub struct Subscriptions {
    lists: [Obj; 2],
}

// Lives in the client object, across MicroPython calls that may longjmp.
const _: () = assert!(!core::mem::needs_drop::<Subscriptions>());

impl Subscriptions {
    /// Whether anything is subscribed (a reconnect has something to renew).
    pub fn any(&self) -> bool {
        self.lists.iter().any(|l| !l.is_null())
    }

    /// Forgets every subscription (`close()`).
    pub fn clear(&mut self) {
        self.lists = [mp::NULL; 2];
    }

    /// The renewing commands: each list's items, empty when there is nothing to renew.
    ///
    /// # Safety
    /// VM thread. The slices borrow the lists: use them before `follow` runs again.
    pub unsafe fn commands<'a>(&self) -> [&'a [Obj]; 2] {
        self.lists.map(|l| {
            if l.is_null() {
                return &[][..];
            }
            // SAFETY: the caller's contract; a list that only this client reaches.
            unsafe { mp::items(l) }
        })
    }

    /// Follows a subscribe-family command `args` (name first, as the glue gives it) that
    /// is about to be sent: SUBSCRIBE/PSUBSCRIBE add their names, UNSUBSCRIBE/PUNSUBSCRIBE
    /// remove theirs (all of them without names). Anything else changes nothing.
    ///
    /// # Safety
    /// VM thread, inside a glue call holding the client's lock; may raise (MemoryError):
    /// the frames up to the glue's `nlr_push` must hold nothing that needs dropping.
    /// `args` must be valid objects.
    pub unsafe fn follow(&mut self, args: &[Obj]) {
        let word = |q: u32| mp::qstr_obj(mp::qstr(q));
        let Some((&cmd, names)) = args.split_first() else {
            return;
        };
        let (kind, head, add) = if cmd == word(sys::MP_QSTR_SUBSCRIBE) {
            (0, cmd, true)
        } else if cmd == word(sys::MP_QSTR_PSUBSCRIBE) {
            (1, cmd, true)
        } else if cmd == word(sys::MP_QSTR_UNSUBSCRIBE) {
            (0, word(sys::MP_QSTR_SUBSCRIBE), false)
        } else if cmd == word(sys::MP_QSTR_PUNSUBSCRIBE) {
            (1, word(sys::MP_QSTR_PSUBSCRIBE), false)
        } else {
            return;
        };
        let Some(slot) = self.lists.get_mut(kind) else {
            return;
        };
        // SAFETY: the caller's contract. The lists are this client's alone; each slice of
        // one is used before that list grows (`held` fetches its items anew each time).
        unsafe {
            let held = |list: Obj, name: Obj| {
                mp::items(list)
                    .get(1..)
                    .unwrap_or(&[])
                    .iter()
                    .any(|&n| same(n, name))
            };
            if add {
                if slot.is_null() {
                    let list = mp::new_list(0);
                    mp::list_append(list, head);
                    *slot = list;
                }
                for &name in names {
                    if !held(*slot, name) {
                        // A copy of a mutable buffer: what was subscribed, not what it
                        // holds later.
                        mp::list_append(*slot, mp::frozen(name));
                    }
                }
            } else if names.is_empty() || slot.is_null() {
                *slot = mp::NULL;
            } else {
                // The names kept, in a new list (the old one is left to the GC).
                let list = mp::new_list(0);
                mp::list_append(list, head);
                for &n in mp::items(*slot).get(1..).unwrap_or(&[]) {
                    if !names.iter().any(|&name| same(n, name)) {
                        mp::list_append(list, n);
                    }
                }
                *slot = if mp::items(list).len() > 1 {
                    list
                } else {
                    mp::NULL
                };
            }
        }
    }
}

/// Whether two channel (or pattern) arguments name the same channel: the same bytes (a
/// str and a bytes with the same bytes included), or the same object (an int).
///
/// # Safety
/// VM thread (nothing is raised). `a` and `b` must be valid objects.
unsafe fn same(a: Obj, b: Obj) -> bool {
    // SAFETY: the caller's contract; the bytes are only compared, at once.
    a == b || unsafe { matches!((mp::buffer(a), mp::buffer(b)), (Some(x), Some(y)) if x == y) }
}
