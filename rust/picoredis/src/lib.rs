//! picoredis' core: a `no_std`, allocation-free (in Rust) Redis client for MicroPython.
//! Python objects are allocated through MicroPython; the C glue in `mpy_module/`
//! registers the module and calls the functions in `ffi`.
//!
//! Unsafe code follows three rules: only `mp` calls the MicroPython C API (every other
//! module goes through its wrappers); every unsafe fn states its contract in a `# Safety`
//! section (`mp`'s module docs define the terms: "VM thread", "may raise"); every unsafe
//! block says why it is sound in a `// SAFETY:` comment.
//!
//! Layering, bottom to top; a module uses only those below it (no import circles):
//!
//! ```text
//! mp                      the MicroPython C API, wrapped
//! text                    UTF-8 checks, lossy decoding, the debug trace
//! fail                    why an operation failed, as a value
//! options, conn           the glue's structs; the byte pipe to the server
//! request, reply, session, pubsub, handshake, tls
//! client, reader, mux     the Redis/PubSub, Reader and asyncio queue objects
//! sentinel                the Sentinel object (a client asking sentinels for the primary)
//! slots                   a cluster command's key slot (CRC16, hash tags, the key table)
//! cluster                 RedisCluster: the slot map, redirections (over clients)
//! ffi                     the C ABI the glue calls
//! ```
#![no_std]
#![allow(non_camel_case_types)]
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

pub use micropython_sys as sys;

mod client;
#[cfg(feature = "cluster")]
mod cluster;
mod conn;
mod fail;
pub mod ffi;
mod handshake;
mod mp;
#[cfg(feature = "reader")]
mod mux;
mod options;
#[cfg(feature = "pubsub")]
mod pubsub;
#[cfg(feature = "reader")]
mod reader;
mod reply;
mod request;
#[cfg(feature = "sentinel")]
mod sentinel;
mod session;
#[cfg(feature = "cluster")]
mod slots;
mod text;
#[cfg(feature = "tls")]
mod tls;

/// A panic on a microcontroller is a hard fault, so there must be none. The handler calls
/// a function that exists nowhere: a release build (LTO) in which any panic path survives
/// fails to link the firmware, naming `picoredis_panic_path_reachable`.
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn picoredis_panic_path_reachable() -> !;
    }
    // SAFETY: never runs: the function exists nowhere, so a build that could get here
    // does not link.
    unsafe { picoredis_panic_path_reachable() }
}

/// Rust's prebuilt `core` for hosted targets (the unix port) is compiled for unwinding and
/// names this symbol; picoredis aborts instead of unwinding, so it is never called.
#[cfg(all(not(test), target_os = "linux"))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
