//! picoredis on CPython and PyPy (docs/hosts.md): one client, the MicroPython module's.
//!
//! The modules marked "core" below are rust/picoredis/src's own files, compiled unchanged
//! through `#[path]`: the argument rules and request encoding, the reply builder, the
//! connection, the session and handshake rules, pipelines and transactions, pub/sub, the
//! socketless Reader and TLS (the `pubsub`, `reader` and `tls` parts), Sentinel and
//! RedisCluster (the `sentinel` and `cluster` parts). What this crate adds is the host:
//! `sys` and `mp` (the names and the wrapper surface the core calls, on CPython's C API),
//! `pool` (reference counting under a core written for a tracing GC), `hold` (the objects
//! and core blocks a client keeps between calls), `blocks` (the core's own memory blocks:
//! a client's, a cluster's node clients), `guard.c` (a failed C-API call jumps to its
//! operation's guard, as nlr does) and `glue` with its child `cluster_glue` (the Python
//! types, the PyO3 counterpart of mpy_module/modpicoredis.c).
#![allow(dead_code, non_camel_case_types, non_upper_case_globals)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented,
    clippy::missing_safety_doc,
    clippy::undocumented_unsafe_blocks,
    unsafe_op_in_unsafe_fn
)]

mod blocks;
mod hold;
mod mp;
mod pool;
mod sys;

// core
#[path = "../../picoredis/src/client.rs"]
mod client;
#[cfg(feature = "cluster")]
#[path = "../../picoredis/src/cluster.rs"]
mod cluster;
#[path = "../../picoredis/src/conn.rs"]
mod conn;
#[path = "../../picoredis/src/fail.rs"]
mod fail;
#[path = "../../picoredis/src/handshake.rs"]
mod handshake;
#[path = "../../picoredis/src/options.rs"]
mod options;
#[cfg(feature = "pubsub")]
#[path = "../../picoredis/src/pubsub.rs"]
mod pubsub;
#[cfg(feature = "reader")]
#[path = "../../picoredis/src/reader.rs"]
mod reader;
#[path = "../../picoredis/src/reply.rs"]
mod reply;
#[path = "../../picoredis/src/request.rs"]
mod request;
#[cfg(feature = "sentinel")]
#[path = "../../picoredis/src/sentinel.rs"]
mod sentinel;
#[path = "../../picoredis/src/session.rs"]
mod session;
#[path = "../../picoredis/src/slots.rs"]
mod slots;
#[path = "../../picoredis/src/text.rs"]
mod text;
#[cfg(feature = "tls")]
#[path = "../../picoredis/src/tls.rs"]
mod tls;

mod glue;
