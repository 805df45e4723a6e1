//! RESP2/RESP3 for small targets: a request encoder and an incremental,
//! resumable reply parser.
//!
//! The crate is `no_std`, allocates nothing and never formats with
//! `core::fmt`, so it adds little code to a MicroPython firmware image. The
//! lints below make the non-test code free of explicit panics: every slice
//! access goes through `get`/`split_at_checked` and every size computation is
//! checked.
//!
//! * [`encode`] writes commands (`*<n>\r\n$<len>\r\n<arg>\r\n...`).
//! * [`parse`] turns reply bytes into a stream of [`parse::Event`]s, one token
//!   at a time, in the style of hiredis' `read.c` but without building a tree.
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod encode;
mod error;
pub mod parse;
#[cfg(any(test, feature = "std"))]
pub mod testkit;

pub use encode::{encode_command, Sink, SliceSink};
pub use error::Error;
pub use parse::{AggKind, BulkKind, Event, Limits, Parser, Step, MAX_DEPTH};

#[cfg(test)]
mod proptests;
