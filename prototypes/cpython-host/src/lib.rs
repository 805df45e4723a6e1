//! Prototype of a Python host for picoredis' core (docs/hosts.md). The modules below
//! marked "core" are rust/picoredis/src's own files, compiled unchanged; `sys` and `mp`
//! are this host's versions of what they call.
#![allow(dead_code, clippy::missing_safety_doc, clippy::undocumented_unsafe_blocks)]

mod sys;
mod mp;
mod pool;

// core
#[path = "../../../rust/picoredis/src/conn.rs"]
mod conn;
#[path = "../../../rust/picoredis/src/fail.rs"]
mod fail;
#[path = "../../../rust/picoredis/src/reply.rs"]
mod reply;
#[path = "../../../rust/picoredis/src/request.rs"]
mod request;
#[path = "../../../rust/picoredis/src/text.rs"]
mod text;

mod glue;
pub mod scan;
