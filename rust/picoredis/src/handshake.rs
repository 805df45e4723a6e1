//! What runs on every new connection before the first command: HELLO 3 (with AUTH and
//! SETNAME folded in) or AUTH and CLIENT SETNAME, then SELECT (and READONLY for a
//! cluster's node connections that read from replicas). Every reconnect repeats it,
//! so a reconnected client is in the same state as the first one.

use crate::fail::Fail;
use crate::mp::{self, Obj};
use crate::options::Options;
use crate::sys;

/// Up to HELLO 3 AUTH user pass SETNAME name.
const MAX_ARGS: usize = 7;

// A command's arguments live in `run`'s frame across MicroPython calls that may longjmp.
const _: () = assert!(!core::mem::needs_drop::<Args>());

struct Args {
    items: [Obj; MAX_ARGS],
    len: usize,
}

impl Args {
    fn new() -> Self {
        Args {
            items: [mp::NULL; MAX_ARGS],
            len: 0,
        }
    }
    /// A command word: a qstr object, which costs no allocation (the glue lists them).
    fn word(&mut self, q: u32) -> &mut Self {
        self.obj(mp::qstr_obj(mp::qstr(q)))
    }
    fn obj(&mut self, o: Obj) -> &mut Self {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = o;
            self.len += 1;
        }
        self
    }
    fn as_slice(&self) -> &[Obj] {
        self.items.get(..self.len).unwrap_or(&[])
    }
}

fn given(o: Obj) -> bool {
    !o.is_null() && !mp::is_none(o)
}

/// Sends one handshake command and reads its reply: `(args, secret)`.
pub type Call<'a> = &'a mut dyn FnMut(&[Obj], bool) -> Result<(), Fail>;

/// Runs the handshake for the session `o` describes: `call(args, secret)` sends one
/// command and reads its reply (a server error fails the connect); `secret` commands hold
/// a password and are never traced.
///
/// # Safety
/// VM thread, inside a glue call holding the client's lock; may raise (through `call`,
/// or MemoryError): the frames up to the glue's `nlr_push` must hold nothing that needs
/// dropping, `call`'s captures included. The objects in `o` must be valid.
pub unsafe fn run(o: &Options, call: Call) -> Result<(), Fail> {
    if o.protocol == 3 {
        let mut hello = Args::new();
        // SAFETY: the caller's contract (3 is a small int: nothing is allocated).
        hello
            .word(sys::MP_QSTR_HELLO)
            .obj(unsafe { mp::small_int(3) });
        if given(o.password) {
            hello.word(sys::MP_QSTR_AUTH);
            if given(o.username) {
                hello.obj(o.username);
            } else {
                hello.word(sys::MP_QSTR_default);
            }
            hello.obj(o.password);
        }
        if given(o.client_name) {
            hello.word(sys::MP_QSTR_SETNAME).obj(o.client_name);
        }
        call(hello.as_slice(), given(o.password))?;
    } else {
        if given(o.password) {
            let mut auth = Args::new();
            auth.word(sys::MP_QSTR_AUTH);
            if given(o.username) {
                auth.obj(o.username);
            }
            auth.obj(o.password);
            call(auth.as_slice(), true)?;
        }
        if given(o.client_name) {
            let mut name = Args::new();
            name.word(sys::MP_QSTR_CLIENT)
                .word(sys::MP_QSTR_SETNAME)
                .obj(o.client_name);
            call(name.as_slice(), false)?;
        }
    }
    if o.db != 0 {
        let mut select = Args::new();
        // SAFETY: the caller's contract.
        select
            .word(sys::MP_QSTR_SELECT)
            .obj(unsafe { mp::small_int(o.db as isize) });
        call(select.as_slice(), false)?;
    }
    // A cluster node that may serve reads as a replica: on every connection, so a
    // reconnect keeps it.
    #[cfg(feature = "cluster_replicas")]
    if o.readonly {
        call(&[mp::qstr_obj(mp::qstr(sys::MP_QSTR_READONLY))], false)?;
    }
    Ok(())
}
