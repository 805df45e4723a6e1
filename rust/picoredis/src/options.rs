//! What every picoredis object starts with, and a client's options: the two structs the C
//! glue fills in (cbindgen writes them into mpy_module/picoredis_rs.h).

use crate::sys::{mp_int_t, mp_obj_base_t, mp_obj_t};

/// The start of every picoredis object (Redis, PubSub, Reader): the MicroPython object
/// header and the lock the glue takes around every call (allocated and used by the glue;
/// the pointer here keeps it alive for the GC).
#[repr(C)]
pub struct picoredis_head_t {
    pub base: mp_obj_base_t,
    pub lock: *mut core::ffi::c_void,
}

/// A client's options, as the glue parsed them from `Redis(...)`. Objects that are not
/// given are None.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct picoredis_options_t {
    pub host: mp_obj_t,
    pub port: mp_int_t,
    /// Bound on the wait for a whole reply (ms; negative: no limit).
    pub timeout_ms: mp_int_t,
    /// Bound on connecting (ms; negative: no limit).
    pub connect_timeout_ms: mp_int_t,
    /// SELECTed after connecting when not 0 (then follows the user's SELECT commands).
    pub db: mp_int_t,
    /// 2, or 3 for HELLO 3 (RESP3) (then follows the user's HELLO commands).
    pub protocol: mp_int_t,
    pub username: mp_obj_t,
    pub password: mp_obj_t,
    /// CLIENT SETNAME (or HELLO's SETNAME).
    pub client_name: mp_obj_t,
    /// None: plain TCP; True: TLS with a default client context; else an SSLContext.
    pub ssl_context: mp_obj_t,
    pub debug: bool,
    /// Strings come back as str.
    pub decode_responses: bool,
    /// Reopen a dropped connection on the next command.
    pub reconnect: bool,
    /// `READONLY` after the handshake (a RedisCluster's `read_from_replicas=True`: its
    /// node connections may serve reads on replicas); always false for other clients.
    pub readonly: bool,
    // The `heal` part's options (always here, so the struct is one shape for C; only
    // that part reads them).
    /// Failed connect attempts retried (host:port only), each after a backoff.
    pub retries: mp_int_t,
    /// Backoff before retry k: a random wait in [0, min(cap, base << k)] ms.
    pub backoff_base: mp_int_t,
    pub backoff_cap: mp_int_t,
    /// A PING checks a link idle longer than this (ms) before a command; negative: never.
    pub health_check_ms: mp_int_t,
}

pub type Options = picoredis_options_t;
