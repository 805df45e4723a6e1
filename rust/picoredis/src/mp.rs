//! The wrapper module: the only place that calls the MicroPython C API (`micropython-sys`)
//! or touches its extern statics. Other modules use its types and constants, and call
//! these small, honest wrappers.
//!
//! # The contract
//!
//! The `# Safety` section of each wrapper names what it needs, in these terms:
//!
//! - **VM thread**: called on a thread MicroPython runs Python on, inside a call from the
//!   glue (`mpy_module/modpicoredis.c`), which holds the lock of the picoredis object
//!   involved: no other caller touches that object meanwhile.
//! - **May raise**: anything that allocates or calls into Python may raise, which in
//!   MicroPython is a longjmp (nlr) to the glue's `nlr_push`. Every frame between here and
//!   there must hold nothing that needs dropping ("plain old frames": the crate's
//!   `needs_drop` asserts check the types that live across such calls). The glue catches
//!   the jump, closes the connection and re-raises.
//!
//! Wrappers that cannot raise and need nothing are safe fns.

use core::ffi::{c_char, c_int, c_void};
use core::ptr;

use crate::sys;
pub use crate::sys::{mp_obj_t as Obj, qstr as Qstr};

pub const NULL: Obj = ptr::null_mut();

// None, False and True are immediate objects in object representation A, the one every
// port picoredis targets uses (unix, qemu, esp32). Other representations fail to build
// rather than misbehave.
const _: () = assert!(sys::MICROPY_OBJ_REPR == sys::MICROPY_OBJ_REPR_A);

const fn immediate(v: usize) -> Obj {
    ((v << 3) | 6) as Obj
}

pub const fn none() -> Obj {
    immediate(0)
}

pub const fn boolean(v: bool) -> Obj {
    if v {
        immediate(3)
    } else {
        immediate(1)
    }
}

/// A small int (representation A: lowest bit set) and its value.
pub fn small_int_value(o: Obj) -> Option<isize> {
    let bits = o as isize;
    if bits & 1 == 1 {
        Some(bits >> 1)
    } else {
        None
    }
}

pub fn is_none(o: Obj) -> bool {
    o == none()
}

/// A qstr constant (`sys::MP_QSTR_*`) as the running firmware numbers it. A natmod's
/// constants for qstrs outside the static set are indexes into its qstr table, which the
/// firmware fills when it loads the module.
#[inline(always)]
pub fn qstr(q: u32) -> Qstr {
    #[cfg(feature = "natmod")]
    if q & sys::NATMOD_QSTR_TABLE != 0 {
        return natmod_qstr(q & !sys::NATMOD_QSTR_TABLE);
    }
    q as Qstr
}

// A natmod on ARM must not call a C function from many places in one Rust function:
// LLVM's size optimisation then loads its address from the GOT (R_ARM_GOT_PREL), which
// mpy_ld cannot link (it fails the build, naming the function). Such functions are called
// from one never-inlined wrapper (this, `small_int`, `dict_store`).
#[cfg(feature = "natmod")]
#[inline(never)]
fn natmod_qstr(i: u32) -> Qstr {
    // SAFETY: the index is one mpy_ld gave this module's qstr table (build.rs of
    // micropython-sys); reading an entry has no other effect.
    unsafe { picoredis_natmod_qstr(i) }
}

/// The longest a qstr can be (its length is stored in MICROPY_QSTR_BYTES_IN_LEN bytes).
#[cfg(speed)]
pub const QSTR_MAX_LEN: usize = (1 << (8 * sys::MICROPY_QSTR_BYTES_IN_LEN)) - 1;

/// Whether `o` is an interned str (a qstr object: representation A's tag 0b010).
#[cfg(speed)]
pub fn is_qstr(o: Obj) -> bool {
    o as usize & 7 == 2
}

/// The str object of a qstr (representation A: tagged with 0b010).
pub fn qstr_obj(q: Qstr) -> Obj {
    ((q << 3) | 2) as Obj
}

// ---- new objects -----------------------------------------------------------------------

/// A new `bytes` object holding a copy of `data`.
///
/// # Safety
/// VM thread; may raise (MemoryError).
pub unsafe fn bytes(data: &[u8]) -> Obj {
    // SAFETY: the caller's contract; `data` is a valid slice for the copy.
    unsafe { sys::mp_obj_new_bytes(data.as_ptr(), data.len()) }
}

/// A new `bytes` object holding a copy of `data`, its hash left 0 ("not computed yet",
/// as `bytes_from_vstr` leaves it): a reply's bytes are rarely hashed, and MicroPython's
/// own constructor would read them all once more for it. Two allocations, the data's
/// first: a bytes object's data must be a heap block of its own (its head), because
/// MicroPython shares it without the object (`bytes.decode()` makes a str over the same
/// data, `memoryview` keeps only the data pointer) and its GC keeps a block alive only
/// through a pointer to its start.
///
/// # Safety
/// VM thread; may raise (MemoryError).
pub unsafe fn bytes_unhashed(data: &[u8]) -> Obj {
    // SAFETY: the caller's contract. `buf` is a fresh block of len + 1 bytes (the data
    // and MicroPython's NUL after it), reachable by the GC from this frame until the
    // object holds it; the object is written whole before anything reads it.
    unsafe {
        let buf = heap(data.len() + 1) as *mut u8;
        ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        *buf.add(data.len()) = 0;
        let o = heap(core::mem::size_of::<sys::mp_obj_str_t>()) as *mut sys::mp_obj_str_t;
        o.write(sys::mp_obj_str_t {
            base: sys::mp_obj_base_t {
                type_: bytes_type(),
            },
            hash: 0,
            len: data.len(),
            data: buf,
        });
        o as Obj
    }
}

/// A new `str` object from text known to be valid UTF-8.
///
/// # Safety
/// VM thread; may raise (MemoryError). `text` must be valid UTF-8 (MicroPython trusts a
/// str's bytes).
pub unsafe fn str_utf8(text: &[u8]) -> Obj {
    // SAFETY: the caller's contract; `text` is a valid slice for the copy.
    unsafe { sys::mp_obj_new_str_copy(str_type(), text.as_ptr(), text.len()) }
}

/// An int: a small int when `v` is in that range, as MicroPython's own code makes ints
/// (`mp_obj_new_int_from_ll` alone would box every value, and a boxed 6379 is not taken
/// where MicroPython, or picoredis, looks for a small int: a port, say).
///
/// # Safety
/// VM thread; may raise (MemoryError, for a big int).
pub unsafe fn int(v: i64) -> Obj {
    match isize::try_from(v) {
        Ok(s) if fits_small(s) => small(s),
        // SAFETY: the caller's contract.
        _ => unsafe { sys::mp_obj_new_int_from_ll(v) },
    }
}

/// Whether `v` fits a small int (representation A: one bit less than a word).
const fn fits_small(v: isize) -> bool {
    (v << 1) >> 1 == v
}

/// The small int `v` (which `fits_small`).
const fn small(v: isize) -> Obj {
    ((v << 1) | 1) as Obj
}

/// # Safety
/// VM thread; may raise (MemoryError, for a value beyond the small-int range).
#[cfg_attr(feature = "natmod", inline(never))] // (see natmod_qstr)
pub unsafe fn small_int(v: isize) -> Obj {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_new_int(v as sys::mp_int_t) }
}

/// A new list of `n` slots, all NULL.
///
/// # Safety
/// VM thread; may raise (MemoryError). Every slot must be filled (`items_mut`) before
/// Python code can see the list.
#[inline(always)] // as the direct call it replaces (flash)
pub unsafe fn new_list(n: usize) -> Obj {
    // SAFETY: the caller's contract; a NULL `items` asks for a list of empty slots.
    unsafe { sys::mp_obj_new_list(n, ptr::null_mut()) }
}

/// Appends `v` to the list `list`.
///
/// # Safety
/// VM thread; may raise (MemoryError). `list` must be a list.
#[inline]
pub unsafe fn list_append(list: Obj, v: Obj) {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_list_append(list, v) };
}

/// A new dict with room for `n` items.
///
/// # Safety
/// VM thread; may raise (MemoryError).
#[inline]
pub unsafe fn new_dict(n: usize) -> Obj {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_new_dict(n) }
}

/// `dict[key] = v`.
///
/// # Safety
/// VM thread; may raise (MemoryError; TypeError for an unhashable key). `dict` must be a
/// dict.
#[cfg_attr(not(feature = "natmod"), inline)]
#[cfg_attr(feature = "natmod", inline(never))] // (see natmod_qstr)
pub unsafe fn dict_store(dict: Obj, key: Obj, v: Obj) {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_dict_store(dict, key, v) };
}

/// A new, empty set.
///
/// # Safety
/// VM thread; may raise (MemoryError).
#[cfg(mp_set)]
#[inline]
pub unsafe fn new_set() -> Obj {
    // SAFETY: the caller's contract; no items to copy.
    unsafe { sys::mp_obj_new_set(0, ptr::null_mut()) }
}

/// Adds `v` to the set `set`.
///
/// # Safety
/// VM thread; may raise (MemoryError; TypeError for an unhashable item). `set` must be a
/// set.
#[cfg(mp_set)]
#[inline]
pub unsafe fn set_store(set: Obj, v: Obj) {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_set_store(set, v) };
}

/// A new tuple holding a copy of `items`.
///
/// # Safety
/// VM thread; may raise (MemoryError).
#[inline]
pub unsafe fn new_tuple(items: &[Obj]) -> Obj {
    // SAFETY: the caller's contract; `items` is a valid slice for the copy.
    unsafe { sys::mp_obj_new_tuple(items.len(), items.as_ptr()) }
}

/// The int `text` (decimal digits, maybe signed) stands for, of any size.
///
/// # Safety
/// VM thread; may raise (ValueError for text that is not an integer, MemoryError).
#[inline]
pub unsafe fn parse_int(text: &[u8]) -> Obj {
    // SAFETY: the caller's contract; `text` is a valid slice; no lexer to report to.
    unsafe { sys::mp_parse_num_integer(text.as_ptr() as *const _, text.len(), 10, ptr::null_mut()) }
}

/// The float `text` stands for.
///
/// # Safety
/// VM thread; may raise (ValueError for text that is not a number, MemoryError).
#[cfg(mp_float)]
#[inline]
pub unsafe fn parse_float(text: &[u8]) -> Obj {
    // SAFETY: the caller's contract; `text` is a valid slice; no lexer to report to.
    unsafe {
        sys::mp_parse_num_decimal(
            text.as_ptr() as *const _,
            text.len(),
            false,
            false,
            ptr::null_mut(),
        )
    }
}

/// `a / b` as Python computes it (a float).
///
/// # Safety
/// VM thread; may raise (ZeroDivisionError, TypeError, MemoryError).
#[cfg(mp_float)]
#[inline]
pub unsafe fn true_divide(a: Obj, b: Obj) -> Obj {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_binary_op(sys::MP_BINARY_OP_TRUE_DIVIDE, a, b) }
}

/// `n` bytes of GC heap, not zeroed.
///
/// # Safety
/// VM thread; may raise (MemoryError).
#[cfg_attr(feature = "natmod", inline(never))] // (see natmod_qstr)
unsafe fn heap(n: usize) -> *mut c_void {
    // SAFETY: the caller's contract.
    unsafe { sys::m_malloc(n) }
}

/// Zeroed heap memory for one `T`, seen by the GC (an object's storage).
///
/// # Safety
/// VM thread; may raise (MemoryError). The memory is zeroed, not a `T`: the caller writes
/// the fields that zero is not valid for before using it as one.
#[inline]
pub unsafe fn malloc0<T>() -> *mut T {
    // SAFETY: the caller's contract.
    unsafe { sys::m_malloc0(core::mem::size_of::<T>()) as *mut T }
}

// ---- types -----------------------------------------------------------------------------

/// Whether `o`'s type is `t`.
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn type_is(o: Obj, t: *const sys::mp_obj_type_t) -> bool {
    // SAFETY: the caller's contract: `o` is valid, so its type can be read.
    ptr::eq(unsafe { sys::mp_obj_get_type(o) }, t)
}

// The type objects: in the firmware, statics of MicroPython and of the C glue
// (mpy_module/modpicoredis.c, which owns picoredis' own types), linked by name. A native
// .mpy module (the `natmod` feature) cannot link to the firmware's statics, and builds its
// own types when it is imported: there the glue hands each one out by number.
#[cfg(not(feature = "natmod"))]
extern "C" {
    static mp_type_RedisError: sys::mp_obj_type_t;
    static mp_type_ParseError: sys::mp_obj_type_t;
    static mp_type_RedisTimeout: sys::mp_obj_type_t;
    static picoredis_type_Redis: sys::mp_obj_type_t;
    #[cfg(feature = "pubsub")]
    static picoredis_type_PubSub: sys::mp_obj_type_t;
    #[cfg(feature = "reader")]
    static picoredis_type_Reader: sys::mp_obj_type_t;
    #[cfg(feature = "reader")]
    static picoredis_type_Mux: sys::mp_obj_type_t;
    #[cfg(feature = "reader")]
    static picoredis_type_Waiter: sys::mp_obj_type_t;
    #[cfg(feature = "sentinel")]
    static picoredis_type_Sentinel: sys::mp_obj_type_t;
    #[cfg(feature = "sentinel")]
    static mp_type_MasterNotFoundError: sys::mp_obj_type_t;
    #[cfg(feature = "cluster")]
    static picoredis_type_RedisCluster: sys::mp_obj_type_t;
}

#[cfg(feature = "natmod")]
extern "C" {
    // mpy_module/natmod_runtime.c: the type numbered `which` (the order of `types!` below),
    // the module's entry `i` of its qstr table, and the port's printer.
    fn picoredis_natmod_type(which: u32) -> *const sys::mp_obj_type_t;
    fn picoredis_natmod_qstr(i: u32) -> Qstr;
    fn picoredis_natmod_print() -> *const sys::mp_print_t;
}

macro_rules! types {
    ($($(#[$m:meta])* $name:ident = $number:literal $sym:ident;)*) => {$(
        $(#[$m])*
        #[cfg(not(feature = "natmod"))]
        #[inline(always)]
        pub fn $name() -> *const sys::mp_obj_type_t {
            ptr::addr_of!($sym)
        }
        $(#[$m])*
        #[cfg(feature = "natmod")]
        #[inline(always)]
        pub fn $name() -> *const sys::mp_obj_type_t {
            // SAFETY: the glue's table is filled when the module is imported, before any
            // of its functions can run; a number names one type (no other effect).
            unsafe { picoredis_natmod_type($number) }
        }
    )*};
}

#[cfg(all(not(feature = "natmod"), mp_float))]
use sys::mp_type_float;
#[cfg(all(not(feature = "natmod"), mp_set))]
use sys::mp_type_set;
#[cfg(not(feature = "natmod"))]
use sys::{
    mp_type_OSError, mp_type_TypeError, mp_type_ValueError, mp_type_bytes, mp_type_dict,
    mp_type_int, mp_type_list, mp_type_str,
};

// The numbers are the natmod glue's (natmod_runtime.c: enum natmod_type).
types! {
    redis_error_type = 0 mp_type_RedisError;
    parse_error_type = 1 mp_type_ParseError;
    timeout_type = 2 mp_type_RedisTimeout;
    redis_type = 3 picoredis_type_Redis;
    #[cfg(feature = "pubsub")]
    pubsub_type = 4 picoredis_type_PubSub;
    #[cfg(feature = "reader")]
    reader_type = 5 picoredis_type_Reader;
    str_type = 6 mp_type_str;
    bytes_type = 7 mp_type_bytes;
    int_type = 8 mp_type_int;
    #[cfg(mp_float)]
    float_type = 9 mp_type_float;
    list_type = 10 mp_type_list;
    dict_type = 11 mp_type_dict;
    #[cfg(mp_set)]
    set_type = 12 mp_type_set;
    type_error_type = 13 mp_type_TypeError;
    value_error_type = 14 mp_type_ValueError;
    os_error_type = 15 mp_type_OSError;
    /// The asyncio layer's request queue.
    #[cfg(feature = "reader")]
    mux_type = 16 picoredis_type_Mux;
    /// The type of the asyncio layer's per-command waiters.
    #[cfg(feature = "reader")]
    waiter_type = 17 picoredis_type_Waiter;
    /// `picoredis.Sentinel` (its objects are `Client`s talking to one sentinel at a time).
    #[cfg(feature = "sentinel")]
    sentinel_type = 18 picoredis_type_Sentinel;
    /// `picoredis.MasterNotFoundError` (an OSError): no primary to connect to.
    #[cfg(feature = "sentinel")]
    master_not_found_type = 19 mp_type_MasterNotFoundError;
    /// `picoredis.RedisCluster` (its node connections are `Client`s of the Redis type).
    #[cfg(feature = "cluster")]
    cluster_type = 20 picoredis_type_RedisCluster;
}

/// The port's standard output printer.
#[cfg(not(feature = "natmod"))]
fn plat_print() -> *const sys::mp_print_t {
    ptr::addr_of!(sys::mp_plat_print)
}

/// The port's standard output printer.
#[cfg(feature = "natmod")]
fn plat_print() -> *const sys::mp_print_t {
    // SAFETY: set when the module is imported, before any of its functions can run.
    unsafe { picoredis_natmod_print() }
}

/// Whether `o` is a `RedisError` (an error reply).
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_redis_error(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { type_is(o, redis_error_type()) }
}

/// Whether `o` is a Redis, PubSub or Sentinel object (a `Client` in Rust).
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_client(o: Obj) -> bool {
    // SAFETY: the caller's contract: `o` is valid, so its type can be read.
    let t = unsafe { sys::mp_obj_get_type(o) };
    #[cfg(feature = "pubsub")]
    if ptr::eq(t, pubsub_type()) {
        return true;
    }
    #[cfg(feature = "sentinel")]
    if ptr::eq(t, sentinel_type()) {
        return true;
    }
    ptr::eq(t, redis_type())
}

/// Whether `o` is a `RedisCluster` object.
///
/// # Safety
/// VM thread. `o` must be a valid object.
#[cfg(feature = "cluster")]
pub unsafe fn is_cluster(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { type_is(o, cluster_type()) }
}

/// Whether `o` is a `Reader` object.
#[cfg(feature = "reader")]
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_reader(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { type_is(o, reader_type()) }
}

/// Whether `o` is a `_Mux` object (the asyncio layer's request queue).
#[cfg(feature = "reader")]
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_mux(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { type_is(o, mux_type()) }
}

/// Whether `o` is a waiter (one queued command of the asyncio layer).
#[cfg(feature = "reader")]
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_waiter(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { type_is(o, waiter_type()) }
}

/// Whether `o` is an exception instance (something `raise` accepts as it is).
#[cfg(feature = "reader")]
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_exception(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_is_exception_instance(o) }
}

/// The value of an int argument, as MicroPython's builtins take one (a bool counts).
///
/// # Safety
/// VM thread; may raise (TypeError for a non-int, OverflowError beyond a machine word).
/// `o` must be a valid object.
#[cfg(feature = "reader")]
#[inline]
pub unsafe fn int_arg(o: Obj) -> isize {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_get_int(o) as isize }
}

/// The value of an int in the small-int range, whether `o` is a small int or an int
/// object holding such a value (MicroPython makes some: `array('q')` items, results of
/// `mp_obj_new_int_from_ll`); None for anything else: no int (a bool neither), or an int
/// beyond that range, which every caller's own range excludes (a port, a db, ms).
///
/// # Safety
/// VM thread (nothing is raised). `o` must be a valid object.
#[cfg_attr(feature = "natmod", inline(never))] // (see natmod_qstr)
pub unsafe fn int_small(o: Obj) -> Option<isize> {
    if let Some(v) = small_int_value(o) {
        return Some(v);
    }
    // SAFETY: the caller's contract; an int object's truncated value is read, then
    // compared with it (int against small int: no allocation, nothing raised).
    unsafe {
        if !type_is(o, int_type()) {
            return None;
        }
        let v = sys::mp_obj_int_get_truncated(o) as isize;
        let same = fits_small(v)
            && sys::mp_binary_op(sys::MP_BINARY_OP_EQUAL, o, small(v)) == boolean(true);
        same.then_some(v)
    }
}

/// Whether `o` is an int (small or big).
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_int(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    small_int_value(o).is_some() || unsafe { type_is(o, int_type()) }
}

/// Whether `o` is a `str`.
///
/// # Safety
/// VM thread. `o` must be a valid object.
pub unsafe fn is_str(o: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { type_is(o, str_type()) || (o as usize) & 7 == 2 }
}

// ---- reading objects -------------------------------------------------------------------

/// The bytes behind any object with the buffer protocol (str, bytes, bytearray,
/// memoryview, array), without raising.
///
/// # Safety
/// VM thread. `o` must be a valid object. The slice borrows `o`'s storage: `o` must stay
/// alive, and not be resized (a bytearray), for as long as the slice is used.
pub unsafe fn buffer<'a>(o: Obj) -> Option<&'a [u8]> {
    // SAFETY: the caller's contract.
    #[cfg(speed)]
    if let Some(s) = unsafe { str_data(o) } {
        return Some(s);
    }
    // SAFETY: all zeroes is a valid buffer info (a null buffer, length 0, typecode 0);
    // `o` is valid (the caller's contract) and the "maybe" lookup does not raise.
    let (found, info) = unsafe {
        let mut info: sys::mp_buffer_info_t = core::mem::zeroed();
        let found = sys::mp_get_buffer(o, &mut info, sys::MP_BUFFER_READ as _);
        (found, info)
    };
    if found {
        if info.len == 0 {
            return Some(&[]);
        }
        // SAFETY: the protocol gave `len` readable bytes at `buf` (not null: len > 0),
        // valid while `o` lives unresized (the caller's contract).
        Some(unsafe { core::slice::from_raw_parts(info.buf as *const u8, info.len) })
    } else {
        None
    }
}

/// The bytes of a `str` or `bytes` object (an interned str too), read from the object
/// itself: what every command name and most arguments are, without the buffer protocol's
/// three calls. None for other objects (`buffer` asks the protocol).
///
/// # Safety
/// VM thread. `o` must be a valid object; the slice borrows its storage (immutable), so
/// `o` must stay alive while it is used.
/// (A build for speed only; elsewhere the protocol, in less flash.)
#[cfg(speed)]
#[inline]
unsafe fn str_data<'a>(o: Obj) -> Option<&'a [u8]> {
    let bits = o as usize;
    if bits & 7 == 2 {
        // An interned str (representation A: the qstr number above the tag).
        #[cfg(not(feature = "natmod"))]
        {
            let mut len = 0;
            // SAFETY: `o` is a valid qstr object, so its number names a qstr; its text
            // lives as long as the firmware.
            unsafe {
                let data = sys::qstr_data((bits >> 3) as Qstr, &mut len);
                return Some(core::slice::from_raw_parts(data, len));
            }
        }
        // (A native module has no `qstr_data`: the protocol answers.)
        #[cfg(feature = "natmod")]
        return None;
    }
    if bits & 3 != 0 {
        return None; // a small int or an immediate (None, True, False)
    }
    let s = o as *const sys::mp_obj_str_t;
    // SAFETY: `o` is a valid object, so a pointer to a struct starting with its base;
    // only a str or bytes object is read as one, and its `len` bytes at `data` live with
    // it and never change (both types are immutable).
    unsafe {
        let t = (*s).base.type_;
        if !(ptr::eq(t, str_type()) || ptr::eq(t, bytes_type())) {
            return None;
        }
        if (*s).len == 0 {
            return Some(&[]);
        }
        Some(core::slice::from_raw_parts((*s).data, (*s).len))
    }
}

/// The items of a tuple or list.
///
/// # Safety
/// VM thread; may raise (TypeError when `o` is neither). The slice borrows `o`'s storage:
/// `o` must stay alive, and (a list) not be resized, for as long as the slice is used.
pub unsafe fn items<'a>(o: Obj) -> &'a [Obj] {
    let mut len: usize = 0;
    let mut items: *mut Obj = ptr::null_mut();
    // SAFETY: the caller's contract; both out-pointers are valid locals.
    unsafe { sys::mp_obj_get_array(o, &mut len, &mut items) };
    if items.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the tuple or list holds `len` items at `items` (not null), valid while `o`
    // lives unresized (the caller's contract).
    unsafe { core::slice::from_raw_parts(items, len) }
}

/// The (key, value) pairs of a dict (a RESP3 map's reply), read from its table.
///
/// # Safety
/// VM thread (nothing is raised). `o` must be a dict, which stays alive and unchanged for
/// as long as the pairs are read.
#[cfg(feature = "sentinel")]
pub unsafe fn dict_pairs<'a>(o: Obj) -> impl Iterator<Item = (Obj, Obj)> + 'a {
    let d = o as *const sys::mp_obj_dict_t;
    // SAFETY: the caller's contract: `d` is a dict, whose map holds `alloc` slots at
    // `table` (or none).
    let slots = unsafe {
        let (table, alloc) = ((*d).map.table, (*d).map.alloc);
        if table.is_null() {
            &[]
        } else {
            core::slice::from_raw_parts(table, alloc)
        }
    };
    // An empty slot's key is MP_OBJ_NULL (0), a deleted one's MP_OBJ_SENTINEL (4, or 8 in
    // a debug build): skipped with the small ints 0-3 (1, 3, 5, 7), which no caller seeks.
    slots
        .iter()
        .filter(|e| e.key as usize > 8)
        .map(|e| (e.key, e.value))
}

/// The item slots of a list, to fill in place.
///
/// # Safety
/// VM thread. `list` must be a list, which stays alive and unresized, and which nothing
/// else reads or writes, for as long as the slice is used.
pub unsafe fn items_mut<'a>(list: Obj) -> &'a mut [Obj] {
    let mut len: usize = 0;
    let mut items: *mut Obj = ptr::null_mut();
    // SAFETY: `list` is a list (the caller's contract); both out-pointers are valid locals.
    unsafe { sys::mp_obj_list_get(list, &mut len, &mut items) };
    if items.is_null() || len == 0 {
        return &mut [];
    }
    // SAFETY: the list holds `len` slots at `items` (not null); the caller's contract
    // makes this the only access while the slice is used.
    unsafe { core::slice::from_raw_parts_mut(items, len) }
}

/// A list's length and its item array (null when it has none), to fill slots in place.
///
/// # Safety
/// VM thread. `list` must be a list. The array holds `len` slots while the list lives
/// unresized, and nothing else may read or write a slot the caller writes meanwhile.
#[inline]
pub unsafe fn list_get(list: Obj) -> (usize, *mut Obj) {
    let mut len: usize = 0;
    let mut items: *mut Obj = ptr::null_mut();
    // SAFETY: `list` is a list (the caller's contract); both out-pointers are valid locals.
    unsafe { sys::mp_obj_list_get(list, &mut len, &mut items) };
    (len, items)
}

/// The item slots of a new tuple, to fill in place before anyone else sees it.
///
/// # Safety
/// `tuple` must be a tuple that no one else can reach yet, alive for as long as the slice
/// is used.
pub unsafe fn tuple_items_mut<'a>(tuple: Obj) -> &'a mut [Obj] {
    let t = tuple as *mut sys::mp_obj_tuple_t;
    // SAFETY: `tuple` is a tuple (the caller's contract): its header holds its length.
    let len = unsafe { (*t).len };
    if len == 0 {
        return &mut [];
    }
    // SAFETY: a tuple's `len` items follow its header; no one else can reach them (the
    // caller's contract).
    unsafe { core::slice::from_raw_parts_mut(ptr::addr_of_mut!((*t).items) as *mut Obj, len) }
}

/// Formats `f` as printf's `%.{prec}g` would, with MicroPython's own formatter, into
/// `buf`; returns the length written.
///
/// # Safety
/// VM thread (cannot raise).
#[cfg(all(mp_float, not(mp_float_double)))]
pub unsafe fn format_float(f: sys::mp_float_t, buf: &mut [u8], prec: i32) -> usize {
    // SAFETY: the formatter writes at most `buf.len()` bytes, NUL included, and returns
    // how many it wrote before the NUL.
    let n = unsafe {
        sys::mp_format_float(f, buf.as_mut_ptr() as *mut _, buf.len(), b'g' as _, prec, 0)
    };
    usize::try_from(n).unwrap_or(0).min(buf.len())
}

/// The value of a float object (the port's float: f32 or f64).
///
/// # Safety
/// VM thread. `o` must be a valid object.
#[cfg(mp_float)]
pub unsafe fn float_value(o: Obj) -> Option<sys::mp_float_t> {
    // SAFETY: the caller's contract; `mp_obj_get_float` cannot raise for a float.
    unsafe { type_is(o, float_type()).then(|| sys::mp_obj_get_float(o)) }
}

/// (No floats on this port: never a float.)
///
/// # Safety
/// As in the float build: VM thread; `o` must be a valid object.
#[cfg(not(mp_float))]
pub unsafe fn float_value(_: Obj) -> Option<f32> {
    None
}

/// A copy of `o` that later changes to `o` cannot reach: str and bytes are kept as they
/// are, other buffers (bytearray, memoryview) become bytes.
///
/// # Safety
/// VM thread; may raise (MemoryError). `o` must be a valid object.
pub unsafe fn frozen(o: Obj) -> Obj {
    // SAFETY: the caller's contract; the buffer is copied at once, before anything can
    // change it.
    unsafe {
        if is_str(o) || type_is(o, bytes_type()) {
            return o;
        }
        match buffer(o) {
            Some(b) => bytes(b),
            None => o,
        }
    }
}

// ---- exceptions ------------------------------------------------------------------------

/// A new exception of type `t` with `args`.
///
/// # Safety
/// VM thread; may raise (MemoryError). `t` must be an exception type.
pub unsafe fn exception(t: *const sys::mp_obj_type_t, args: &[Obj]) -> Obj {
    // SAFETY: the caller's contract; `args` is a valid slice for the copy.
    unsafe { sys::mp_obj_new_exception_args(t, args.len(), args.as_ptr()) }
}

/// A new exception of type `t` with one argument, `msg`.
///
/// # Safety
/// VM thread; may raise (MemoryError). `t` must be an exception type.
pub unsafe fn exception_msg(t: *const sys::mp_obj_type_t, msg: &str) -> Obj {
    // SAFETY: the caller's contract; a &str is valid UTF-8.
    unsafe { exception(t, &[str_utf8(msg.as_bytes())]) }
}

/// A new `OSError(errno)`.
///
/// # Safety
/// VM thread; may raise (MemoryError).
pub unsafe fn os_error(errno: c_int) -> Obj {
    // SAFETY: the caller's contract; OSError is an exception type.
    unsafe { exception(os_error_type(), &[small_int(errno as isize)]) }
}

// ---- output and time -------------------------------------------------------------------

/// Writes raw text to MicroPython's standard output (used by the debug trace).
///
/// # Safety
/// VM thread; may raise (a port may route its output through Python code: dupterm).
pub unsafe fn print(text: &[u8]) {
    // SAFETY: the caller's contract; `mp_plat_print` is the port's printer, `text` a
    // valid slice.
    unsafe {
        let p = &*plat_print();
        if let Some(f) = p.print_strn {
            f(p.data, text.as_ptr() as *const c_char, text.len());
        }
    }
}

/// Writes `data` to standard output as Python's repr of a str (or, `as_bytes`, of a
/// bytes) shows it, without the `b` prefix.
///
/// # Safety
/// VM thread; may raise (as `print`). Unless `as_bytes`, `data` must be valid UTF-8.
#[inline]
pub unsafe fn print_quoted(data: &[u8], as_bytes: bool) {
    // SAFETY: the caller's contract; `data` is a valid slice.
    unsafe { sys::mp_str_print_quoted(plat_print(), data.as_ptr(), data.len(), as_bytes) };
}

pub fn ticks_ms() -> u32 {
    // SAFETY: reading the port's millisecond counter needs no state and cannot raise.
    unsafe { sys::mp_hal_ticks_ms() as u32 }
}

/// Sleeps about `ms` milliseconds; the port runs pending callbacks meanwhile.
///
/// # Safety
/// VM thread; may raise (KeyboardInterrupt, or an exception a scheduled callback raised).
pub unsafe fn delay_ms(ms: u32) {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_hal_delay_ms(ms as _) };
}

// ---- calling Python --------------------------------------------------------------------

/// Calls `obj.name(*args)` (up to three arguments).
///
/// # Safety
/// VM thread; may raise (anything: it runs Python code). `obj` must be a valid object.
pub unsafe fn call_method(obj: Obj, name: Qstr, args: &[Obj]) -> Obj {
    let mut dest = [NULL; 5];
    // SAFETY: the caller's contract; `dest` has the 2 slots the lookup fills.
    unsafe { sys::mp_load_method(obj, name, dest.as_mut_ptr()) };
    let n = args.len().min(3);
    for (slot, a) in dest.iter_mut().skip(2).zip(args.iter().take(n)) {
        *slot = *a;
    }
    // SAFETY: the caller's contract; `dest` holds the method, self and `n` arguments.
    unsafe { sys::mp_call_method_n_kw(n, 0, dest.as_ptr()) }
}

/// Calls `obj.name(arg, key=value)`.
#[cfg(feature = "tls")]
///
/// # Safety
/// VM thread; may raise (anything: it runs Python code). `obj` must be a valid object.
#[inline]
pub unsafe fn call_method_1_kw(obj: Obj, name: Qstr, arg: Obj, key: Qstr, value: Obj) -> Obj {
    let mut dest = [NULL; 5];
    // SAFETY: the caller's contract; `dest` has the 2 slots the lookup fills, then holds
    // the method, self, one argument and one keyword pair.
    unsafe {
        sys::mp_load_method(obj, name, dest.as_mut_ptr());
        dest[2] = arg;
        dest[3] = qstr_obj(key);
        dest[4] = value;
        sys::mp_call_method_n_kw(1, 1, dest.as_ptr())
    }
}

/// Whether `obj` has a method `name` (no exception when it has not).
///
/// # Safety
/// VM thread; may raise (a `__getattr__` runs Python code). `obj` must be a valid object.
pub unsafe fn has_method(obj: Obj, name: Qstr) -> bool {
    let mut dest = [NULL; 2];
    // SAFETY: the caller's contract; `dest` has the 2 slots the lookup fills.
    unsafe { sys::mp_load_method_maybe(obj, name, dest.as_mut_ptr()) };
    !dest[0].is_null()
}

/// Calls `f(*args)`.
///
/// # Safety
/// VM thread; may raise (anything: it runs Python code). `f` must be a valid object.
pub unsafe fn call_function(f: Obj, args: &[Obj]) -> Obj {
    // SAFETY: the caller's contract; `args` is a valid slice.
    unsafe { sys::mp_call_function_n_kw(f, args.len(), 0, args.as_ptr()) }
}

/// `obj.name`.
///
/// # Safety
/// VM thread; may raise (AttributeError, or anything a `__getattr__` raises). `obj` must
/// be a valid object.
pub unsafe fn load_attr(obj: Obj, name: Qstr) -> Obj {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_load_attr(obj, name) }
}

/// `obj.name = value`.
///
/// # Safety
/// VM thread; may raise (AttributeError, MemoryError, or anything a `__setattr__`
/// raises). `obj` and `value` must be valid objects.
#[cfg(feature = "reader")]
pub unsafe fn store_attr(obj: Obj, name: Qstr, value: Obj) {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_store_attr(obj, name, value) }
}

/// Like `load_attr`, but None instead of AttributeError.
///
/// # Safety
/// VM thread; may raise (anything a `__getattr__` raises). `obj` must be a valid object.
pub unsafe fn load_attr_maybe(obj: Obj, name: Qstr) -> Option<Obj> {
    let mut dest = [NULL; 2];
    // SAFETY: the caller's contract; `dest` has the 2 slots the lookup fills.
    unsafe { sys::mp_load_method_maybe(obj, name, dest.as_mut_ptr()) };
    if dest[0].is_null() {
        None
    } else if dest[1].is_null() {
        Some(dest[0])
    } else {
        // A method: bind it by loading it as an attribute.
        // SAFETY: the caller's contract.
        Some(unsafe { sys::mp_load_attr(obj, name) })
    }
}

/// `import name` (the module object).
///
/// # Safety
/// VM thread; may raise (ImportError, or anything the module's code raises).
#[inline(always)] // as the direct call it replaces (flash)
pub unsafe fn import(name: Qstr) -> Obj {
    // SAFETY: the caller's contract; an absolute import (level 0) with no fromlist.
    unsafe { sys::mp_import_name(name, none(), small_int(0)) }
}

extern "C" {
    // Defined by the C glue (mpy_module/modpicoredis.c): runs `f(ctx)` under nlr_push and
    // returns the exception it raised, or NULL.
    fn picoredis_protect(f: unsafe extern "C" fn(*mut c_void), ctx: *mut c_void) -> sys::mp_obj_t;
    // Defined by the C glue: whether `exc` is OSError(ETIMEDOUT or EAGAIN).
    #[cfg(feature = "tls")]
    fn picoredis_is_timeout(exc: sys::mp_obj_t) -> bool;
}

/// Whether the exception `exc` is a stream's timeout: OSError(ETIMEDOUT or EAGAIN).
///
/// # Safety
/// VM thread; may raise (in a native module, where it asks Python). `exc` must be an
/// exception.
#[cfg(feature = "tls")]
pub unsafe fn is_timeout(exc: Obj) -> bool {
    // SAFETY: the caller's contract.
    unsafe { picoredis_is_timeout(exc) }
}

/// Runs `f` and returns the exception it raised instead of letting it propagate (the C
/// glue catches the nlr jump).
///
/// # Safety
/// VM thread. `f`, and every frame it calls, must hold nothing that needs dropping (an
/// exception skips them).
pub unsafe fn protect(f: &mut dyn FnMut()) -> Option<Obj> {
    /// # Safety
    /// `ctx` must be the `&mut &mut dyn FnMut()` that `protect` passes, alive for the call.
    unsafe extern "C" fn trampoline(ctx: *mut c_void) {
        // SAFETY: `ctx` is the `&mut &mut dyn FnMut()` below, alive for the whole call.
        let f = unsafe { &mut **(ctx as *mut &mut dyn FnMut()) };
        f();
    }
    let mut f = f;
    // SAFETY: the caller's contract; the context points to `f`, which outlives the call.
    let exc =
        unsafe { picoredis_protect(trampoline, &mut f as *mut &mut dyn FnMut() as *mut c_void) };
    (!exc.is_null()).then_some(exc)
}

// ---- streams ---------------------------------------------------------------------------

/// The stream protocol of `o`; raises if `o` is not a readable, writable stream.
///
/// # Safety
/// VM thread; may raise (OSError). `o` must be a valid object.
pub unsafe fn stream_of(o: Obj) -> *const sys::mp_stream_p_t {
    // SAFETY: the caller's contract.
    unsafe {
        sys::mp_get_stream_raise(
            o,
            (sys::MP_STREAM_OP_READ | sys::MP_STREAM_OP_WRITE | sys::MP_STREAM_OP_IOCTL) as _,
        )
    }
}

/// One read (or write) call on a stream: the count it reported and the errno (0: none).
/// The count is the stream's word, unchecked: a Python stream can return any number.
///
/// # Safety
/// VM thread; may raise (a Python stream runs Python code). `s` must be a stream (checked
/// by `stream_of`); `buf` must be valid for `len` bytes: readable to write them, writable
/// to read into them.
pub unsafe fn stream_once(s: Obj, buf: *mut u8, len: usize, write: bool) -> (usize, c_int) {
    let mut err: c_int = 0;
    let flags = sys::MP_STREAM_RW_ONCE
        | if write {
            sys::MP_STREAM_RW_WRITE
        } else {
            sys::MP_STREAM_RW_READ
        };
    // SAFETY: the caller's contract; `err` is a valid local.
    let n = unsafe { sys::mp_stream_rw(s, buf as *mut _, len as _, &mut err, flags as _) };
    (n as usize, err)
}

pub const POLL_RD: usize = sys::MP_STREAM_POLL_RD as usize;
pub const POLL_WR: usize = sys::MP_STREAM_POLL_WR as usize;

/// Whether the stream is ready for `flags` now, without blocking; `None` when it cannot
/// tell (no ioctl, an error, or a Python stream whose ioctl raised).
///
/// # Safety
/// VM thread. `p` must be null or the stream protocol of `s` (from `stream_of`).
pub unsafe fn stream_ready(s: Obj, p: *const sys::mp_stream_p_t, flags: usize) -> Option<bool> {
    // SAFETY: `p` is null or `s`'s protocol, which lives as long as its type.
    let ioctl = unsafe { p.as_ref() }.and_then(|p| p.ioctl)?;
    let mut r = usize::MAX;
    let mut poll = || {
        let mut err: c_int = 0;
        // SAFETY: VM thread (the caller's contract); `ioctl` is `s`'s own protocol's;
        // `err` is a valid local. A raise is caught by `protect`.
        r = unsafe { ioctl(s, sys::MP_STREAM_POLL as _, flags as _, &mut err) } as usize;
    };
    // SAFETY: VM thread (the caller's contract); the closure holds only Copy values and a
    // reference, nothing to drop.
    let exc = unsafe { protect(&mut poll) };
    // MP_STREAM_ERROR is (mp_uint_t)-1.
    (exc.is_none() && r != usize::MAX).then_some(r & flags != 0)
}

/// Closes a stream; returns the exception its close raised, if any.
///
/// # Safety
/// VM thread. `s` must be a valid object.
pub unsafe fn stream_close(s: Obj) -> Option<Obj> {
    let mut close = || {
        // SAFETY: VM thread, `s` a valid object (the caller's contract); a raise is caught
        // by `protect`.
        unsafe { sys::mp_stream_close(s) };
    };
    // SAFETY: VM thread (the caller's contract); the closure holds only `s`, nothing to
    // drop.
    unsafe { protect(&mut close) }
}

// ---- vstr: MicroPython's growable byte buffer ------------------------------------------

/// A vstr with no buffer yet (for `vstr_init` or `str_of` to set up).
pub fn vstr_empty() -> sys::vstr_t {
    // SAFETY: all zeroes is a valid vstr_t: lengths 0, a null buffer, `fixed_buf` false.
    unsafe { core::mem::zeroed() }
}

/// Sets `v` up with a heap buffer of `alloc` bytes.
///
/// # Safety
/// VM thread; may raise (MemoryError). Whatever `v` held before is forgotten, not freed.
#[inline]
pub unsafe fn vstr_init(v: &mut sys::vstr_t, alloc: usize) {
    // SAFETY: the caller's contract.
    unsafe { sys::vstr_init(v, alloc) };
}

/// Appends `data` to `v`.
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be set up (`vstr_init`, `str_of`).
#[inline]
pub unsafe fn vstr_add(v: &mut sys::vstr_t, data: &[u8]) {
    // SAFETY: the caller's contract; `data` is a valid slice.
    unsafe { sys::vstr_add_strn(v, data.as_ptr() as *const _, data.len()) };
}

/// Grows `v`'s buffer to hold at least `extra` more bytes.
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be set up (`vstr_init`, `str_of`).
#[inline]
pub unsafe fn vstr_hint_size(v: &mut sys::vstr_t, extra: usize) {
    // SAFETY: the caller's contract.
    unsafe { sys::vstr_hint_size(v, extra) };
}

/// Frees `v`'s buffer.
///
/// # Safety
/// VM thread. `v` must be set up (`vstr_init`, `str_of`) and its buffer not handed over
/// to an object; no slice of it may be used afterwards.
#[inline]
pub unsafe fn vstr_clear(v: &mut sys::vstr_t) {
    // SAFETY: the caller's contract.
    unsafe { sys::vstr_clear(v) };
}

/// The bytes `v` holds.
///
/// # Safety
/// `v` must be zeroed (`vstr_empty`) or set up (`vstr_init`, `str_of`), and its buffer
/// neither freed nor moved (grown) while the slice is used.
pub unsafe fn vstr_slice<'a>(v: &mut sys::vstr_t) -> &'a mut [u8] {
    if v.buf.is_null() || v.len == 0 {
        return &mut [];
    }
    // SAFETY: a set-up vstr has `len` initialised bytes at `buf` (not null); the caller's
    // contract keeps them there while the slice is used.
    unsafe { core::slice::from_raw_parts_mut(v.buf as *mut u8, v.len) }
}

/// The final `bytes` object of a bulk string, taking over the vstr's buffer (allocated
/// with exactly len + 1 bytes, so nothing is reallocated). The hash is left 0 ("not
/// computed yet", computed if the object is ever hashed): hashing every reply up front
/// would read all of a 100 KB value once more for nothing.
///
/// # Safety
/// VM thread; may raise (MemoryError; `v` is then unchanged). `v` must be set up by
/// `vstr_init`; it is left zeroed, its buffer now the object's.
pub unsafe fn bytes_from_vstr(v: &mut sys::vstr_t) -> Obj {
    // SAFETY: the caller's contract. The NUL goes inside the buffer (alloc > len); the
    // new object is written whole before anything reads it.
    unsafe {
        // MicroPython keeps a NUL after the data of every str/bytes (vstr_init_len left
        // room).
        if !v.buf.is_null() && v.alloc > v.len {
            *v.buf.add(v.len) = 0;
        }
        let o = heap(core::mem::size_of::<sys::mp_obj_str_t>()) as *mut sys::mp_obj_str_t;
        o.write(sys::mp_obj_str_t {
            base: sys::mp_obj_base_t {
                type_: bytes_type(),
            },
            hash: 0,
            len: v.len,
            data: v.buf as *const u8,
        });
        *v = core::mem::zeroed();
        o as Obj
    }
}

/// The final `bytes` object of what `v` holds, taking over its buffer, shrunk in place to
/// fit (MicroPython's own `mp_obj_new_bytes_from_vstr`: the heap gives back the unused
/// tail, nothing is copied): for a vstr filled to an estimate, as `picoredis.encode()`'s.
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be set up (`vstr_init`); it is left
/// without a buffer, its buffer now the object's.
#[cfg(feature = "reader")]
#[inline]
pub unsafe fn bytes_from_vstr_fit(v: &mut sys::vstr_t) -> Obj {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_new_bytes_from_vstr(v) }
}

/// The final `str` object of `v`'s text, taking over its buffer.
///
/// # Safety
/// VM thread; may raise (MemoryError). `v` must be set up (`vstr_init`) and hold valid
/// UTF-8; it is left cleared, its buffer now the object's.
#[inline]
pub unsafe fn str_from_vstr(v: &mut sys::vstr_t) -> Obj {
    // SAFETY: the caller's contract.
    unsafe { sys::mp_obj_new_str_from_vstr(v) }
}

/// The text of `o` as `str(o)` gives it, written into a vstr (for int and float args).
///
/// # Safety
/// VM thread; may raise (MemoryError, or anything `o`'s `__str__` raises). `o` must be a
/// valid object. `v` is set up here (what it held is forgotten): `vstr_clear` it after.
pub unsafe fn str_of(o: Obj, v: &mut sys::vstr_t) {
    // SAFETY: the caller's contract; all zeroes is a valid printer for `vstr_init_print`
    // to set up, and `pr` outlives the print.
    unsafe {
        let mut pr: sys::mp_print_t = core::mem::zeroed();
        sys::vstr_init_print(v, 24, &mut pr);
        sys::mp_obj_print_helper(&pr, o, sys::PRINT_STR);
    }
}

/// Copies as many bytes as both slices hold and returns how many. Unlike
/// `copy_from_slice` it has no length-mismatch panic for the optimiser to keep.
pub fn copy_prefix(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    // SAFETY: both ranges are in bounds (n is the shorter length) and a &mut slice cannot
    // overlap a & slice.
    unsafe { ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr(), n) };
    n
}
