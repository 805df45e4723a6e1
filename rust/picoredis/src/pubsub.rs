//! Pub/sub: recognising the SUBSCRIBE family (which needs a connection of its own) and
//! turning the server's message arrays / RESP3 push frames into message dicts
//! `{'type': 'message', 'pattern': None, 'channel': b'ch', 'data': b'hi'}`.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::sys;

const SUBSCRIBE_FAMILY: [&[u8]; 3] = [b"subscribe", b"psubscribe", b"ssubscribe"];

/// Whether the command (its first argument) is SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE.
pub unsafe fn is_subscribe(args: &[Obj]) -> bool {
    let Some(name) = args.first().and_then(|&a| mp::buffer(a)) else {
        return false;
    };
    SUBSCRIBE_FAMILY
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

pub unsafe fn needs_own_connection() -> Obj {
    crate::fail::redis_error(b"ERR SUBSCRIBE needs a connection of its own: use pubsub()")
}

/// A message dict from a reply of a subscribed connection.
pub unsafe fn message(v: Obj) -> Result<Obj, Fail> {
    if crate::reply::is_error(v) {
        return Err(Fail::Reply(v));
    }
    let items = if mp::type_is(v, &sys::mp_type_list) {
        mp::items(v)
    } else {
        &[]
    };
    let (kind, pattern, channel, data) = match items {
        [kind, pattern, channel, data] => (*kind, *pattern, *channel, *data),
        [kind, channel, data] => (*kind, mp::none(), *channel, *data),
        // RESP2 PING in subscribe mode: [b'pong', b'']
        [kind, data] => (*kind, mp::none(), mp::none(), *data),
        _ => return Err(Fail::Parse(resp::Error::BadTypeByte)),
    };
    let kind_text = mp::buffer(kind).unwrap_or(&[]);
    let d = sys::mp_obj_new_dict(4);
    let key = |q: u32| mp::qstr_obj(mp::qstr(q));
    sys::mp_obj_dict_store(
        d,
        key(sys::MP_QSTR_type),
        crate::text::decode_lossy(kind_text),
    );
    sys::mp_obj_dict_store(d, key(sys::MP_QSTR_pattern), pattern);
    sys::mp_obj_dict_store(d, key(sys::MP_QSTR_channel), channel);
    sys::mp_obj_dict_store(d, key(sys::MP_QSTR_data), data);
    Ok(d)
}
