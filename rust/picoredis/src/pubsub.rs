//! Pub/sub: turning the server's message arrays / RESP3 push frames into message dicts
//! `{'type': 'message', 'pattern': None, 'channel': b'ch', 'data': b'hi'}`.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::sys;

/// A message dict from a reply of a subscribed connection.
pub unsafe fn message(v: Obj, decode: bool) -> Result<Obj, Fail> {
    if crate::reply::is_error(v) {
        return Err(Fail::Reply(v));
    }
    if !mp::type_is(v, &sys::mp_type_list) {
        // RESP3 answers PING in subscribe mode with a plain +PONG: the same dict as
        // RESP2's [b'pong', b''].
        if mp::buffer(v).is_some_and(|b| b.eq_ignore_ascii_case(b"pong")) {
            let empty = if decode {
                mp::str_utf8(b"")
            } else {
                mp::bytes(b"")
            };
            return dict(crate::text::decode_lossy(b"pong"), mp::none(), mp::none(), empty);
        }
        return Err(Fail::Protocol("unexpected reply on a subscribed connection"));
    }
    let (kind, pattern, channel, data) = match mp::items(v) {
        [kind, pattern, channel, data] => (*kind, *pattern, *channel, *data),
        [kind, channel, data] => (*kind, mp::none(), *channel, *data),
        // RESP2 PING in subscribe mode: [b'pong', b'']
        [kind, data] => (*kind, mp::none(), mp::none(), *data),
        _ => return Err(Fail::Protocol("unexpected reply on a subscribed connection")),
    };
    let kind_text = mp::buffer(kind).unwrap_or(&[]);
    dict(crate::text::decode_lossy(kind_text), pattern, channel, data)
}

unsafe fn dict(kind: Obj, pattern: Obj, channel: Obj, data: Obj) -> Result<Obj, Fail> {
    let d = sys::mp_obj_new_dict(4);
    let key = |q: u32| mp::qstr_obj(mp::qstr(q));
    sys::mp_obj_dict_store(d, key(sys::MP_QSTR_type), kind);
    sys::mp_obj_dict_store(d, key(sys::MP_QSTR_pattern), pattern);
    sys::mp_obj_dict_store(d, key(sys::MP_QSTR_channel), channel);
    sys::mp_obj_dict_store(d, key(sys::MP_QSTR_data), data);
    Ok(d)
}
