//! What a command does to the connection's session, known from its name before it is
//! sent: commands that need a connection of their own (SUBSCRIBE, MONITOR), commands
//! whose effect a reconnect must re-apply (SELECT, HELLO, AUTH, CLIENT SETNAME, RESET)
//! and the transaction commands (MULTI, EXEC, DISCARD, WATCH, UNWATCH).
//!
//! The client follows these so that a reconnect restores the session the user last set,
//! by option or by command, and never silently runs a command outside its transaction.

use crate::mp::{self, Obj};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    /// SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE: replies become messages.
    Subscribe,
    /// MONITOR: every later reply is a monitor line.
    Monitor,
    Select,
    Hello,
    Auth,
    /// CLIENT SETNAME.
    SetName,
    Reset,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
}

impl Effect {
    /// Changes what a reconnect re-applies.
    pub fn changes_session(self) -> bool {
        matches!(
            self,
            Effect::Select | Effect::Hello | Effect::Auth | Effect::SetName
        )
    }
}

const NAMES: [(&[u8], Effect); 13] = [
    (b"subscribe", Effect::Subscribe),
    (b"psubscribe", Effect::Subscribe),
    (b"ssubscribe", Effect::Subscribe),
    (b"monitor", Effect::Monitor),
    (b"select", Effect::Select),
    (b"hello", Effect::Hello),
    (b"auth", Effect::Auth),
    (b"client", Effect::SetName),
    (b"reset", Effect::Reset),
    (b"multi", Effect::Multi),
    (b"exec", Effect::Exec),
    (b"discard", Effect::Discard),
    (b"watch", Effect::Watch),
];

/// The effect of the command `args` (its name first).
///
/// # Safety
/// VM thread (nothing is raised). `args` must be valid objects.
pub unsafe fn effect(args: &[Obj]) -> Effect {
    // SAFETY: the caller's contract; the name's bytes are only compared, at once.
    let Some(name) = args.first().and_then(|&a| unsafe { mp::buffer(a) }) else {
        return Effect::None;
    };
    // (UNWATCH shares no length with the table's other names but "unwatch" itself.)
    if b"unwatch".eq_ignore_ascii_case(name) {
        return Effect::Unwatch;
    }
    let Some(&(_, e)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
        return Effect::None;
    };
    // SAFETY: the caller's contract.
    if e == Effect::SetName && !unsafe { word_is(args.get(1), b"setname") } {
        return Effect::None;
    }
    e
}

/// Whether argument `a` is the word `w` (any case).
///
/// # Safety
/// VM thread (nothing is raised). `a` must be a valid object.
pub unsafe fn word_is(a: Option<&Obj>, w: &[u8]) -> bool {
    // SAFETY: the caller's contract; the bytes are only compared, at once.
    a.and_then(|&o| unsafe { mp::buffer(o) })
        .is_some_and(|b| w.eq_ignore_ascii_case(b))
}

/// An integer argument: an int (small, or an int object holding such a value), or its
/// decimal text (as the server read it).
///
/// # Safety
/// VM thread (nothing is raised). `a` must be a valid object.
pub unsafe fn int_arg(a: Option<&Obj>) -> Option<isize> {
    let o = *a?;
    // SAFETY: the caller's contract.
    if let Some(v) = unsafe { mp::int_small(o) } {
        return Some(v);
    }
    // SAFETY: the caller's contract; the text is only read, at once. (The server's own
    // rule for integer text, as the reply parser uses it.)
    let v = resp::parse::parse_integer(unsafe { mp::buffer(o)? })?;
    isize::try_from(v).ok()
}
