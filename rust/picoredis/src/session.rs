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

/// The names, packed (each one's length, then the name, lower case: 12 bytes less per
/// name than a table of slices), shortest first; their effects in the same order. A name
/// of another length is no session command, and most commands (GET, SET, HGET, LRANGE, ...)
/// are told apart by their length (and first letter) alone, before any comparison: this
/// runs for every command, twice in a pipeline.
const NAMES: &[u8] = b"\x04auth\x04exec\x05hello\x05reset\x05multi\x05watch\x06select\x06client\
\x07monitor\x07discard\x07unwatch\x09subscribe\x0apsubscribe\x0assubscribe";
const EFFECTS: [Effect; 14] = [
    Effect::Auth,
    Effect::Exec,
    Effect::Hello,
    Effect::Reset,
    Effect::Multi,
    Effect::Watch,
    Effect::Select,
    Effect::SetName,
    Effect::Monitor,
    Effect::Discard,
    Effect::Unwatch,
    Effect::Subscribe,
    Effect::Subscribe,
    Effect::Subscribe,
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
    let mut rest = NAMES;
    let mut found = None;
    for &e in &EFFECTS {
        let Some((n, tail)) = rest
            .split_first()
            .and_then(|(&len, tail)| tail.split_at_checked(usize::from(len)))
        else {
            break;
        };
        rest = tail;
        // (The first-letter test only in a build for speed: a board compares, in less
        // flash.)
        if (cfg!(not(speed)) || n.first() == Some(&first)) && n.eq_ignore_ascii_case(name) {
            found = Some(e);
            break;
        }
    }
    let Some(e) = found else {
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
