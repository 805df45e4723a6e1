//! Why an operation did not produce a reply, as a value. Turned into the matching Python
//! exception only at the boundary (`ffi.rs`), after the connection state is settled.

use crate::mp::{self, Obj};
use crate::sys;

// A Fail travels through frames that MicroPython calls may longjmp across.
const _: () = assert!(!core::mem::needs_drop::<Fail>());

#[derive(Clone, Copy)]
pub enum Fail {
    /// The server answered with an error: a ready `RedisError` instance. The reply was
    /// read completely, so the connection stays usable.
    Reply(Obj),
    /// The reply broke the protocol (or a limit): the connection is closed.
    Parse(resp::Error),
    /// No complete reply within the timeout: the connection is closed.
    Timeout,
    /// The server closed the connection (EOF).
    Closed,
    /// A socket error (errno).
    Os(i32),
    /// An argument that cannot be sent; nothing was sent.
    Type(&'static str),
    /// No connection and no address to reconnect to (a `sock=` stream was closed).
    NotConnected,
    /// A bad argument value (ValueError); nothing was sent.
    Value(&'static str),
    /// A command this connection must not run (SUBSCRIBE, MONITOR, ...): a RedisError
    /// with this text; nothing was sent.
    Refused(&'static [u8]),
    /// The connection was lost inside MULTI or after WATCH: the transaction is gone, and
    /// the command was not sent on a fresh connection.
    TransactionLost,
    /// The server broke the protocol in a way the parser cannot see (unsolicited bytes, a
    /// map used as a key): ParseError with this text; the connection is closed.
    Protocol(&'static str),
    /// An exception some MicroPython call raised, to raise as it is (a stream's close).
    Exception(Obj),
}

const TRANSACTION_LOST: &[u8] = b"ERR connection lost in MULTI/WATCH: transaction discarded";

impl Fail {
    /// Whether the connection can no longer be trusted to be in step with the server.
    pub fn breaks_connection(self) -> bool {
        !matches!(
            self,
            Fail::Reply(_)
                | Fail::Type(_)
                | Fail::Value(_)
                | Fail::Refused(_)
                | Fail::TransactionLost
                | Fail::Exception(_)
        )
    }

    /// The Python exception for this failure.
    ///
    /// # Safety
    /// VM thread, inside a glue call; may raise (MemoryError): the frames up to the glue's
    /// `nlr_push` must hold nothing that needs dropping. An `Obj` inside `self` must be a
    /// valid exception.
    pub unsafe fn exception(self) -> Obj {
        // SAFETY: the caller's contract; every type named is an exception type.
        unsafe {
            match self {
                Fail::Reply(exc) => exc,
                Fail::Parse(e) => mp::exception_msg(mp::parse_error_type(), e.message()),
                Fail::Timeout => {
                    mp::exception_msg(mp::timeout_type(), "no reply from server within timeout")
                }
                Fail::Closed => mp::os_error(sys::MP_ECONNRESET as i32),
                Fail::Os(errno) => mp::os_error(errno),
                Fail::Type(msg) => mp::exception_msg(mp::type_error_type(), msg),
                Fail::NotConnected => mp::os_error(sys::MP_ENOTCONN as i32),
                Fail::Value(msg) => mp::exception_msg(mp::value_error_type(), msg),
                Fail::Refused(text) => redis_error(text),
                Fail::TransactionLost => redis_error(TRANSACTION_LOST),
                Fail::Protocol(msg) => mp::exception_msg(mp::parse_error_type(), msg),
                Fail::Exception(exc) => exc,
            }
        }
    }
}

/// A `RedisError` for an error reply, split like the original picoredis:
/// `-ERR unknown command` gives `args == ('ERR', 'unknown command')`, a reply without a
/// space gives one argument. Bytes that are not UTF-8 become U+FFFD, never a crash.
///
/// # Safety
/// VM thread, inside a glue call; may raise (MemoryError): the frames up to the glue's
/// `nlr_push` must hold nothing that needs dropping.
pub unsafe fn redis_error(text: &[u8]) -> Obj {
    let split = text.iter().position(|&b| b == b' ');
    // SAFETY: the caller's contract; RedisError is an exception type.
    unsafe {
        match split.and_then(|i| Some((text.get(..i)?, text.get(i + 1..)?))) {
            Some((code, msg)) => {
                let args = [
                    crate::text::decode_lossy(code),
                    crate::text::decode_lossy(msg),
                ];
                mp::exception(mp::redis_error_type(), &args)
            }
            None => mp::exception(mp::redis_error_type(), &[crate::text::decode_lossy(text)]),
        }
    }
}

/// Whether `exc` (a `RedisError` from an error reply) is a `READONLY` refusal: the node is
/// a replica (a primary demoted by a failover), which refused a write without running it.
///
/// # Safety
/// VM thread; may raise (MemoryError): the frames up to the glue's `nlr_push` must hold
/// nothing that needs dropping. `exc` must be a valid exception.
#[cfg(feature = "sentinel")]
pub unsafe fn is_readonly(exc: Obj) -> bool {
    // SAFETY: the caller's contract; `args` is the exception's own tuple, read at once.
    unsafe {
        let Some(args) = mp::load_attr_maybe(exc, mp::qstr(sys::MP_QSTR_args)) else {
            return false;
        };
        mp::items(args)
            .first()
            .and_then(|&code| mp::buffer(code))
            .is_some_and(|code| code == b"READONLY")
    }
}

/// A `MasterNotFoundError(msg, name)` (an OSError): there is no primary to connect to.
///
/// # Safety
/// VM thread; may raise (MemoryError): the frames up to the glue's `nlr_push` must hold
/// nothing that needs dropping. `name` must be a valid object.
#[cfg(feature = "sentinel")]
pub unsafe fn no_primary(msg: &str, name: Obj) -> Fail {
    // SAFETY: the caller's contract; the type is an exception type.
    unsafe {
        let text = mp::str_utf8(msg.as_bytes());
        Fail::Exception(mp::exception(mp::master_not_found_type(), &[text, name]))
    }
}
