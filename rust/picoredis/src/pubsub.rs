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
