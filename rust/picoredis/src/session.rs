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

/// The names, shortest first: a name of another length is no session command, and most
/// commands (GET, SET, HGET, LRANGE, ...) are told apart by their length and first letter
/// alone, before any comparison (this runs for every command, twice in a pipeline).
const NAMES: [(&[u8], Effect); 14] = [
    (b"auth", Effect::Auth),
    (b"exec", Effect::Exec),
    (b"hello", Effect::Hello),
    (b"reset", Effect::Reset),
    (b"multi", Effect::Multi),
    (b"watch", Effect::Watch),
    (b"select", Effect::Select),
    (b"client", Effect::SetName),
    (b"monitor", Effect::Monitor),
    (b"discard", Effect::Discard),
    (b"unwatch", Effect::Unwatch),
    (b"subscribe", Effect::Subscribe),
    (b"psubscribe", Effect::Subscribe),
    (b"ssubscribe", Effect::Subscribe),
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
    let (Some(&first), 4..=10) = (name.first(), name.len()) else {
        return Effect::None;
    };
    let first = first.to_ascii_lowercase();
    let Some(&(_, e)) = NAMES.iter().find(|(n, _)| {
        n.len() == name.len() && n.first() == Some(&first) && n.eq_ignore_ascii_case(name)
    }) else {
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

/// An integer argument: a small int, or its decimal text (as the server read it).
///
/// # Safety
/// VM thread (nothing is raised). `a` must be a valid object.
pub unsafe fn int_arg(a: Option<&Obj>) -> Option<isize> {
    let o = *a?;
    if let Some(v) = mp::small_int_value(o) {
        return Some(v);
    }
    // SAFETY: the caller's contract; the text is only read, at once. (The server's own
    // rule for integer text, as the reply parser uses it.)
    let v = resp::parse::parse_integer(unsafe { mp::buffer(o)? })?;
    isize::try_from(v).ok()
}
