// picoredis: the MicroPython face of the Rust core (rust/picoredis).
//
// This file owns what MicroPython's build generates or must see: the module table, the
// type objects, the exception types and the qstrs the Rust code uses. Everything about
// the protocol, the connection, buffers and reply objects lives in Rust.
//
// Exceptions are longjmps (nlr). Rust frames are kept free of destructors, and every call
// into a Rust operation that talks to the server runs under nlr_push here: if anything
// raises part-way (MemoryError, KeyboardInterrupt, OSError from the socket), the
// connection is closed before the exception continues, so a half-read reply can never be
// handed to the next command.
//
// The same file is the glue of the native .mpy module (ports/natmod, built with
// MICROPY_ENABLE_DYNRUNTIME): there nothing can be defined constant against the firmware
// (types, qstrs and None are only known when the module is imported), so the types, their
// method tables and the module's globals are built by mpy_init() at the end, from the
// same lists (the *_LOCALS and MODULE_GLOBALS macros); natmod_runtime.c has the rest.

#if MICROPY_ENABLE_DYNRUNTIME
#include <string.h>

#include "py/dynruntime.h"
#include "py/objlist.h"
#include "py/smallint.h"
#include "py/mperrno.h"
#define MP_QSTRnull (0)
// What the glue uses beyond mp_fun_table (natmod_runtime.c; also mp_obj_int_get_truncated).
NORETURN void natmod_raise_stop_iteration(mp_obj_t value);
qstr natmod_str_qstr(mp_obj_t name);
#define mp_raise_StopIteration(v) natmod_raise_stop_iteration(v)
#define mp_make_stop_iteration(v) (natmod_raise_stop_iteration(v), MP_OBJ_NULL)
#define mp_make_raise_obj(exc) (exc)
#define mp_obj_str_get_qstr(o) natmod_str_qstr(o)
// int arguments read as the firmware reads them (natmod_runtime.c): dynruntime.h's
// mp_obj_get_int truncates an int beyond a machine word to its low bits.
#undef mp_obj_get_int
// nlr through the table (the firmware's own nlr_push saves its registers, as for
// native code).
#define nlr_push(buf) (mp_fun_table.nlr_push(buf))
#define nlr_pop() (mp_fun_table.nlr_pop())
#define nlr_jump(val) (mp_raise_dyn(MP_OBJ_FROM_PTR(val)))
#else
#include <string.h>

#include "py/runtime.h"
#include "py/objexcept.h"
#include "py/objstr.h"
#include "py/objlist.h"
#include "py/objint.h"
#include "py/smallint.h"
#include "py/mperrno.h"
#endif
#include "picoredis_rs.h"

#if MICROPY_ENABLE_DYNRUNTIME
// Built by mpy_init(); in the module's BSS, which the firmware keeps on the GC heap. (Not
// static: mpy_ld wants BSS reached through the GOT, which gcc uses for global symbols.)
mp_obj_full_type_t natmod_RedisError, natmod_ParseError, natmod_RedisTimeout,
    natmod_Redis, natmod_Pipeline, natmod_command, natmod_PubSub, natmod_Reader,
    natmod_Mux, natmod_Waiter, natmod_mux_command, natmod_Sentinel, natmod_MasterNotFoundError,
    natmod_RedisCluster;
#define mp_type_RedisError (*(mp_obj_type_t *)&natmod_RedisError)
#define mp_type_ParseError (*(mp_obj_type_t *)&natmod_ParseError)
#define mp_type_RedisTimeout (*(mp_obj_type_t *)&natmod_RedisTimeout)
#define picoredis_type_Redis (*(mp_obj_type_t *)&natmod_Redis)
#define picoredis_type_Pipeline (*(mp_obj_type_t *)&natmod_Pipeline)
#define command_type (*(mp_obj_type_t *)&natmod_command)
#define picoredis_type_PubSub (*(mp_obj_type_t *)&natmod_PubSub)
#define picoredis_type_Reader (*(mp_obj_type_t *)&natmod_Reader)
#define picoredis_type_Mux (*(mp_obj_type_t *)&natmod_Mux)
#define picoredis_type_Waiter (*(mp_obj_type_t *)&natmod_Waiter)
#define mux_command_type (*(mp_obj_type_t *)&natmod_mux_command)
#define picoredis_type_Sentinel (*(mp_obj_type_t *)&natmod_Sentinel)
#define mp_type_MasterNotFoundError (*(mp_obj_type_t *)&natmod_MasterNotFoundError)
#define picoredis_type_RedisCluster (*(mp_obj_type_t *)&natmod_RedisCluster)
mp_obj_t natmod_default_host;
#define DEFAULT_HOST natmod_default_host
// Argument tables are built on the stack: their qstrs and defaults are not constants.
#define ARG_TABLE const
#else
// The exceptions of the original picoredis: all direct subclasses of Exception.
MP_DEFINE_EXCEPTION(RedisError, Exception)
MP_DEFINE_EXCEPTION(ParseError, Exception)
MP_DEFINE_EXCEPTION(RedisTimeout, Exception)
extern const mp_obj_type_t picoredis_type_Redis;
extern const mp_obj_type_t picoredis_type_Pipeline;
extern const mp_obj_type_t picoredis_type_PubSub;
extern const mp_obj_type_t picoredis_type_Reader;
extern const mp_obj_type_t picoredis_type_Mux;
extern const mp_obj_type_t picoredis_type_Waiter;
#if defined(PICOREDIS_SENTINEL)
// No primary to connect to (Sentinel): an OSError, like every connection failure.
MP_DEFINE_EXCEPTION(MasterNotFoundError, OSError)
extern const mp_obj_type_t picoredis_type_Sentinel;
#endif
extern const mp_obj_type_t picoredis_type_RedisCluster;
static const mp_obj_type_t command_type;
static MP_DEFINE_STR_OBJ(default_host_obj, "127.0.0.1");
#define DEFAULT_HOST MP_OBJ_FROM_PTR(&default_host_obj)
#define ARG_TABLE static const
#endif

// Optional parts, each a cargo feature of rust/picoredis with the same name: micropython.mk
// and micropython.cmake define PICOREDIS_READER, PICOREDIS_PUBSUB and PICOREDIS_TLS for the
// features they build (PICOREDIS_TRACE for the debug trace, PICOREDIS_HEAL for the connect
// backoff and the health check), so the C and Rust
// halves always agree. A board short of flash
// leaves out what it does not use (README: Size).

// qstrs used only by the Rust core. The QSTR pass scans C sources, so they are named here;
// bindgen then reads their numbers from genhdr/qstrdefs.generated.h. (A natmod's qstr
// table is made from the names here too: mpy_ld reads them from this text.)
#if !MICROPY_ENABLE_DYNRUNTIME
const qstr picoredis_rust_qstrs[] = {
    MP_QSTR_socket, MP_QSTR_getaddrinfo, MP_QSTR_connect, MP_QSTR_settimeout,
    MP_QSTR_close, MP_QSTR_SOCK_STREAM,
    #if defined(PICOREDIS_TLS)
    MP_QSTR_tls, MP_QSTR_SSLContext, MP_QSTR_PROTOCOL_TLS_CLIENT, MP_QSTR_wrap_socket,
    MP_QSTR_server_hostname,
    #endif
    #if defined(PICOREDIS_PUBSUB)
    MP_QSTR_type, MP_QSTR_pattern, MP_QSTR_channel, MP_QSTR_data,
    #endif
    MP_QSTR_setsockopt, MP_QSTR_IPPROTO_TCP, MP_QSTR_TCP_NODELAY,
    MP_QSTR_HELLO, MP_QSTR_AUTH, MP_QSTR_default, MP_QSTR_SETNAME, MP_QSTR_CLIENT, MP_QSTR_SELECT,
    MP_QSTR_MULTI, MP_QSTR_EXEC,
    #if defined(PICOREDIS_READER)
    MP_QSTR_cur_task, MP_QSTR_data, MP_QSTR__task_queue, MP_QSTR_push,
    #endif
    #if defined(PICOREDIS_SENTINEL)
    MP_QSTR_SENTINEL, MP_QSTR_ROLE, MP_QSTR_discover_master, MP_QSTR_discover_slaves, MP_QSTR_args,
    #endif
    #if defined(PICOREDIS_CLUSTER)
    MP_QSTR_CLUSTER, MP_QSTR_SLOTS, MP_QSTR_ASKING, MP_QSTR_args,
    #endif
    #if defined(PICOREDIS_CLUSTER_REPLICAS)
    MP_QSTR_READONLY,
    #endif
};
#endif

#if defined(__ARM_EABI__) && !defined(__linux__)
// Rust's core calls the ARM EABI memory helpers. Bare-metal MicroPython ports define
// memcpy/memmove/memset but not these, so the linker would take compiler_builtins' own
// implementations (2.3 KB on Cortex-M3) where a forwarding call to the port's suffices.
void __aeabi_memcpy(void *dst, const void *src, size_t n) {
    memcpy(dst, src, n);
}
void __aeabi_memcpy4(void *dst, const void *src, size_t n) {
    memcpy(dst, src, n);
}
void __aeabi_memmove(void *dst, const void *src, size_t n) {
    memmove(dst, src, n);
}
void __aeabi_memmove4(void *dst, const void *src, size_t n) {
    memmove(dst, src, n);
}
void __aeabi_memset(void *dst, size_t n, int c) {
    memset(dst, c, n);
}
void __aeabi_memclr(void *dst, size_t n) {
    memset(dst, 0, n);
}
void __aeabi_memclr4(void *dst, size_t n) {
    memset(dst, 0, n);
}
void __aeabi_memclr8(void *dst, size_t n) {
    memset(dst, 0, n);
}
void __aeabi_memcpy8(void *dst, const void *src, size_t n) {
    memcpy(dst, src, n);
}
#endif

// ---- one caller at a time ----------------------------------------------------------------
// Every Redis, PubSub and Reader object has a lock, so the Rust core never sees two callers
// of one object at once. Re-entry from the thread already inside (a stream's readinto, a
// scheduled callback run by a blocking read, a finaliser run by an allocation) raises
// RuntimeError; another thread waits its turn, with the GIL released where the port has one.
// The lock block is allocated here (its layout is the port's) and referenced from the Rust
// object's header, so the GC keeps it alive.

#if MICROPY_ENABLE_DYNRUNTIME
// A natmod has no mp_thread: the firmware's `_thread` module, when it has one, gives the
// owner (get_ident()) and the mutex (allocate_lock(), whose acquire releases the GIL). The
// function and each lock's bound methods are looked up once: three calls per operation.
mp_obj_t natmod_get_ident; // _thread.get_ident, or NULL without threads

typedef struct {
    mp_obj_t owner; // the thread inside the object (its ident), or NULL
    mp_obj_t acquire; // its _thread lock's bound acquire and release, or NULL
    mp_obj_t release;
} lock_t;

static mp_obj_t with_lock(mp_obj_t obj) {
    lock_t *lock = m_malloc(sizeof(lock_t));
    lock->owner = MP_OBJ_NULL;
    lock->acquire = lock->release = MP_OBJ_NULL;
    if (natmod_get_ident != MP_OBJ_NULL) {
        mp_obj_t thread = mp_import_name(MP_QSTR__thread, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
        mp_obj_t mutex = mp_call_function_n_kw(mp_load_attr(thread, MP_QSTR_allocate_lock), 0, 0, NULL);
        lock->acquire = mp_load_attr(mutex, MP_QSTR_acquire);
        lock->release = mp_load_attr(mutex, MP_QSTR_release);
    }
    ((picoredis_head_t *)MP_OBJ_TO_PTR(obj))->lock = lock;
    return obj;
}

static mp_obj_t this_thread(void) {
    return natmod_get_ident != MP_OBJ_NULL
        ? mp_call_function_n_kw(natmod_get_ident, 0, 0, NULL) : mp_const_true;
}
#else
typedef struct {
    void *owner; // the thread inside the object, or NULL
    #if MICROPY_PY_THREAD
    mp_thread_mutex_t mutex;
    #endif
} lock_t;

static mp_obj_t with_lock(mp_obj_t obj) {
    lock_t *lock = m_new0(lock_t, 1);
    #if MICROPY_PY_THREAD
    mp_thread_mutex_init(&lock->mutex);
    #endif
    ((picoredis_head_t *)MP_OBJ_TO_PTR(obj))->lock = lock;
    return obj;
}

// Any non-NULL value that differs between threads.
static void *this_thread(void) {
    #if MICROPY_PY_THREAD
    return mp_thread_get_state();
    #else
    return &mp_state_ctx;
    #endif
}
#endif

static bool is_picoredis_object(const mp_obj_type_t *t) {
    return t == &picoredis_type_Redis
           #if defined(PICOREDIS_PUBSUB)
           || t == &picoredis_type_PubSub
           #endif
           #if defined(PICOREDIS_READER)
           || t == &picoredis_type_Reader
           || t == &picoredis_type_Mux
           || t == &picoredis_type_Waiter // (its lock is its mux's)
           #endif
           #if defined(PICOREDIS_SENTINEL)
           || t == &picoredis_type_Sentinel
           #endif
           #if defined(PICOREDIS_CLUSTER)
           || t == &picoredis_type_RedisCluster
           #endif
    ;
}

static lock_t *lock_take(mp_obj_t obj) {
    if (!is_picoredis_object(mp_obj_get_type(obj))) {
        mp_raise_TypeError(MP_ERROR_TEXT("not a picoredis object"));
    }
    lock_t *lock = ((picoredis_head_t *)MP_OBJ_TO_PTR(obj))->lock;
    #if MICROPY_ENABLE_DYNRUNTIME
    mp_obj_t me = this_thread();
    #else
    void *me = this_thread();
    #endif
    // Only this thread ever stores `me`, so reading it without the mutex is safe.
    if (__atomic_load_n(&lock->owner, __ATOMIC_RELAXED) == me) {
        mp_raise_msg(&mp_type_RuntimeError,
            MP_ERROR_TEXT("client in use: re-entered from its own call"));
    }
    #if MICROPY_ENABLE_DYNRUNTIME
    mp_obj_t no_wait = mp_const_false;
    if (lock->acquire != MP_OBJ_NULL
        && mp_call_function_n_kw(lock->acquire, 1, 0, &no_wait) != mp_const_true) {
        mp_call_function_n_kw(lock->acquire, 0, 0, NULL);
    }
    #elif MICROPY_PY_THREAD
    if (!mp_thread_mutex_lock(&lock->mutex, 0)) {
        MP_THREAD_GIL_EXIT();
        mp_thread_mutex_lock(&lock->mutex, 1);
        MP_THREAD_GIL_ENTER();
    }
    #endif
    __atomic_store_n(&lock->owner, me, __ATOMIC_RELAXED);
    return lock;
}

static void lock_give(lock_t *lock) {
    __atomic_store_n(&lock->owner, NULL, __ATOMIC_RELAXED);
    #if MICROPY_ENABLE_DYNRUNTIME
    if (lock->release != MP_OBJ_NULL) {
        mp_call_function_n_kw(lock->release, 0, 0, NULL);
    }
    #elif MICROPY_PY_THREAD
    mp_thread_mutex_unlock(&lock->mutex);
    #endif
}

// ---- calling into Rust ------------------------------------------------------------------

// Runs f(ctx) and returns the exception it raised, or MP_OBJ_NULL: for the few MicroPython
// calls whose exception the Rust core takes as a value (a stream's close or readiness poll).
// Rust's frames between here and the raise hold nothing to drop (checked at compile time).
// (Declared in picoredis_rs.h, from the Rust side's extern block.)
mp_obj_t picoredis_protect(void (*f)(void *), void *ctx) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        f(ctx);
        nlr_pop();
        return MP_OBJ_NULL;
    }
    return MP_OBJ_FROM_PTR(nlr.ret_val);
}

// Raises the exception an operation returned, else gives its value.
static mp_obj_t raise_or_value(picoredis_result_t res) {
    if (res.exc != MP_OBJ_NULL) {
        nlr_raise(res.exc);
    }
    return res.value;
}

// Whether `exc` is OSError(ETIMEDOUT or EAGAIN): a stream (the TLS one) that raises its
// timeout instead of returning it.
static bool is_timeout_error(mp_obj_t exc) {
    #if MICROPY_ENABLE_DYNRUNTIME
    mp_obj_t args[2] = { exc, mp_load_global(MP_QSTR_OSError) };
    if (!mp_obj_is_true(mp_call_function_n_kw(mp_load_global(MP_QSTR_isinstance), 2, 0, args))) {
        return false;
    }
    mp_obj_t errno_obj = mp_load_attr(exc, MP_QSTR_errno);
    #else
    if (!mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)), MP_OBJ_FROM_PTR(&mp_type_OSError))) {
        return false;
    }
    mp_obj_t errno_obj = mp_obj_exception_get_value(exc);
    #endif
    return errno_obj == MP_OBJ_NEW_SMALL_INT(MP_ETIMEDOUT) || errno_obj == MP_OBJ_NEW_SMALL_INT(MP_EAGAIN);
}

#if defined(PICOREDIS_TLS)
// For the Rust core (tls.rs): a TLS handshake that timed out.
bool picoredis_is_timeout(mp_obj_t exc) {
    return is_timeout_error(exc);
}
#endif

// Runs `op` on `obj` holding its lock. If anything raises part-way, the object is
// abandoned (a client's connection closed, errors of that close dropped: the exception
// that got us here is the one the caller must see) before the exception continues. A
// timeout raised by the stream while waiting for a reply is a RedisTimeout, as when the
// stream returns it. `obj` is MP_OBJ_NULL for the one operation on no object, encode():
// there is nothing to lock, and nothing to abandon if it raises.
static mp_obj_t guarded(mp_obj_t obj, picoredis_op_t op, size_t n_args, const mp_obj_t *args) {
    #if defined(PICOREDIS_READER)
    if (obj == MP_OBJ_NULL) {
        return raise_or_value(op(obj, n_args, args));
    }
    #endif
    lock_t *lock = lock_take(obj);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        picoredis_result_t res = op(obj, n_args, args);
        nlr_pop();
        lock_give(lock);
        return raise_or_value(res);
    }
    picoredis_abandon(obj);
    lock_give(lock);
    mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
    if (op != picoredis_client_connect && is_timeout_error(exc)) {
        mp_raise_msg(&mp_type_RedisTimeout, MP_ERROR_TEXT("no reply from server within timeout"));
    }
    nlr_jump(nlr.ret_val);
}

// `op` on (name, *args): the command name goes first. A small array on the stack covers
// typical calls without a heap allocation; longer ones take a temporary one.
static mp_obj_t guarded_named(mp_obj_t client, picoredis_op_t op, qstr name, size_t n_args, const mp_obj_t *args) {
    mp_obj_t small[8];
    mp_obj_t *argv = n_args + 1 <= MP_ARRAY_SIZE(small) ? small : m_new(mp_obj_t, n_args + 1);
    argv[0] = MP_OBJ_NEW_QSTR(name);
    for (size_t i = 0; i < n_args; i++) {
        argv[i + 1] = args[i];
    }
    mp_obj_t res = guarded(client, op, n_args + 1, argv);
    if (argv != small) {
        m_del(mp_obj_t, argv, n_args + 1);
    }
    return res;
}

// Names that become commands: ASCII letters and digits only, as in the original.
static bool is_command_name(qstr attr) {
    size_t len;
    #if MICROPY_ENABLE_DYNRUNTIME
    const byte *s = mp_obj_str_get_data(MP_OBJ_NEW_QSTR(attr), &len);
    #else
    const byte *s = qstr_data(attr, &len);
    #endif
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        byte c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

// (A search of the few entries, as mp_map_lookup does for a fixed table; a natmod has no
// mp_map_lookup.)
static bool in_locals(const mp_obj_dict_t *locals, qstr attr) {
    mp_obj_t key = MP_OBJ_NEW_QSTR(attr);
    for (size_t i = 0; i < locals->map.used; i++) {
        if (locals->map.table[i].key == key) {
            return true;
        }
    }
    return false;
}

// ---- bound commands: `redis.hset(...)`, `pipe.get(...)` ---------------------------------

typedef struct {
    mp_obj_base_t base;
    mp_obj_t target; // a Redis client or a Pipeline
    qstr name;
} command_obj_t;

static mp_obj_t pipeline_queue(mp_obj_t pipe, qstr name, size_t n_args, const mp_obj_t *args);

static mp_obj_t command_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args);

#if !MICROPY_ENABLE_DYNRUNTIME
static MP_DEFINE_CONST_OBJ_TYPE(
    command_type,
    MP_QSTR_command,
    MP_TYPE_FLAG_NONE,
    call, command_call
    );
#endif

static mp_obj_t new_command(mp_obj_t target, qstr name) {
    command_obj_t *cmd = mp_obj_malloc(command_obj_t, &command_type);
    cmd->target = target;
    cmd->name = name;
    return MP_OBJ_FROM_PTR(cmd);
}

// ---- Redis ------------------------------------------------------------------------------

// debug=True needs the trace (the `trace` feature).
static void check_trace(bool on) {
    #if !defined(PICOREDIS_TRACE)
    if (on) {
        mp_raise_ValueError(MP_ERROR_TEXT("picoredis was built without the debug trace"));
    }
    #else
    (void)on;
    #endif
}

// A timeout argument in ms: None waits without limit (-1); a value too large for a machine
// int is as good as no limit; 0 or less is refused. (One way for both builds: a natmod has
// no mp_obj_get_int_maybe, and the firmware's raises OverflowError beyond a machine int.)
static mp_int_t timeout_arg(mp_obj_t t) {
    if (t == mp_const_none) {
        return -1;
    }
    mp_int_t ms;
    if (mp_obj_is_small_int(t) || t == mp_const_false || t == mp_const_true) {
        ms = mp_obj_get_int(t);
    } else if (mp_obj_get_type(t) == &mp_type_int) {
        // An int object: its value when that fits a machine int (it may even be a small
        // value: array('q') items are such objects), else its sign tells.
        ms = mp_obj_int_get_truncated(t);
        if (mp_binary_op(MP_BINARY_OP_EQUAL, t, mp_obj_new_int(ms)) != mp_const_true) {
            mp_obj_t positive = mp_binary_op(MP_BINARY_OP_LESS, MP_OBJ_NEW_SMALL_INT(0), t);
            ms = positive == mp_const_true ? MP_SMALL_INT_MAX : 0;
        }
    } else {
        mp_raise_TypeError(MP_ERROR_TEXT("timeout: int ms > 0, or None"));
    }
    if (ms <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("timeout: int ms > 0, or None"));
    }
    return ms;
}

// Redis(host='127.0.0.1', port=6379, timeout=3000, debug=False, *, server=None, sock=None,
//       username=None, password=None, db=0, client_name=None, protocol=2,
//       connect_timeout=None, decode_responses=False, reconnect=True, ssl=False,
//       ssl_context=None, retries=3, backoff_base=50, backoff_cap=2000,
//       health_check_interval=None)
// (The healing options, the `heal` part, have picoredis.asyncio's names and defaults.)
// Parses Redis(...)'s arguments into `o`; `conn` gets what the first connect takes:
// (sock, None, port), port None for the default (6379, which `o` already holds). Sentinel,
// master_for and RedisCluster take the same options; RedisCluster also its own two
// (`cluster`: startup_nodes and max_connections, None when not given; NULL for the others,
// which refuse them). (Static: inlined where Redis is its one caller.)
static void redis_options(size_t n_args, size_t n_kw, const mp_obj_t *all_args,
    picoredis_options_t *out, mp_obj_t conn[3], mp_obj_t *cluster) {
    enum { ARG_host, ARG_port, ARG_timeout, ARG_debug, ARG_server, ARG_sock, ARG_username,
           ARG_password, ARG_db, ARG_client_name, ARG_protocol, ARG_connect_timeout,
           ARG_decode_responses, ARG_reconnect, ARG_ssl, ARG_ssl_context,
           #if defined(PICOREDIS_HEAL)
           ARG_retries, ARG_backoff_base, ARG_backoff_cap, ARG_health_check_interval,
           #endif
           #if defined(PICOREDIS_CLUSTER)
           ARG_startup_nodes, ARG_max_connections,
           #endif
           #if defined(PICOREDIS_CLUSTER_REPLICAS)
           ARG_read_from_replicas,
           #endif
    };
    ARG_TABLE mp_arg_t allowed_args[] = {
        { MP_QSTR_host, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_port, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_timeout, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(3000)} },
        { MP_QSTR_debug, MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_server, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_sock, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_username, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_password, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_db, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_client_name, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_protocol, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 2} },
        { MP_QSTR_connect_timeout, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_decode_responses, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_reconnect, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true} },
        { MP_QSTR_ssl, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_ssl_context, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        #if defined(PICOREDIS_HEAL)
        { MP_QSTR_retries, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 3} },
        { MP_QSTR_backoff_base, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 50} },
        { MP_QSTR_backoff_cap, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = 2000} },
        { MP_QSTR_health_check_interval, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        #endif
        #if defined(PICOREDIS_CLUSTER)
        { MP_QSTR_startup_nodes, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_max_connections, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        #endif
        #if defined(PICOREDIS_CLUSTER_REPLICAS)
        { MP_QSTR_read_from_replicas, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false} },
        #endif
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args, a);
    picoredis_options_t *o = out;
    #if defined(PICOREDIS_CLUSTER)
    if (cluster != NULL) {
        cluster[0] = a[ARG_startup_nodes].u_obj;
        cluster[1] = a[ARG_max_connections].u_obj;
    } else if (a[ARG_startup_nodes].u_obj != mp_const_none || a[ARG_max_connections].u_obj != mp_const_none
               #if defined(PICOREDIS_CLUSTER_REPLICAS)
               || a[ARG_read_from_replicas].u_bool
               #endif
               ) {
        mp_raise_TypeError(MP_ERROR_TEXT("RedisCluster's option"));
    }
    #else
    (void)cluster;
    #endif
    #if defined(PICOREDIS_CLUSTER_REPLICAS)
    // (Its node connections send READONLY: rust/picoredis/src/handshake.rs.)
    o->readonly = a[ARG_read_from_replicas].u_bool;
    #else
    o->readonly = false;
    #endif

    conn[0] = a[ARG_sock].u_obj;
    conn[1] = mp_const_none;
    conn[2] = a[ARG_port].u_obj;
    o->host = a[ARG_host].u_obj != mp_const_none ? a[ARG_host].u_obj : a[ARG_server].u_obj;
    if (o->host == mp_const_none) {
        o->host = DEFAULT_HOST;
    }
    o->port = 6379; // checked and set by the connect below
    o->timeout_ms = timeout_arg(a[ARG_timeout].u_obj);
    o->connect_timeout_ms = a[ARG_connect_timeout].u_obj == mp_const_none
        ? o->timeout_ms : timeout_arg(a[ARG_connect_timeout].u_obj);
    o->db = a[ARG_db].u_int;
    o->protocol = a[ARG_protocol].u_int;
    if (o->protocol != 2 && o->protocol != 3) {
        mp_raise_ValueError(MP_ERROR_TEXT("protocol must be 2 or 3"));
    }
    o->username = a[ARG_username].u_obj;
    o->password = a[ARG_password].u_obj;
    o->client_name = a[ARG_client_name].u_obj;
    o->ssl_context = a[ARG_ssl_context].u_obj != mp_const_none ? a[ARG_ssl_context].u_obj
        : mp_obj_new_bool(a[ARG_ssl].u_bool == true);
    if (o->ssl_context == mp_const_false) {
        o->ssl_context = mp_const_none;
    }
    #if !defined(PICOREDIS_TLS)
    if (o->ssl_context != mp_const_none) {
        mp_raise_ValueError(MP_ERROR_TEXT("picoredis was built without TLS"));
    }
    #endif
    o->debug = a[ARG_debug].u_bool;
    check_trace(o->debug);
    o->decode_responses = a[ARG_decode_responses].u_bool;
    o->reconnect = a[ARG_reconnect].u_bool;
    #if defined(PICOREDIS_HEAL)
    o->retries = a[ARG_retries].u_int;
    o->backoff_base = a[ARG_backoff_base].u_int;
    o->backoff_cap = a[ARG_backoff_cap].u_int;
    // ms; None (or a negative value): no health check.
    o->health_check_ms = a[ARG_health_check_interval].u_obj == mp_const_none
        ? -1 : mp_obj_get_int(a[ARG_health_check_interval].u_obj);
    #else
    o->retries = o->backoff_base = o->backoff_cap = 0; // (not read without the heal part)
    o->health_check_ms = -1;
    #endif
}

#if defined(PICOREDIS_CLUSTER)
static mp_obj_t cluster_new(const mp_obj_type_t *type, picoredis_options_t *o, mp_obj_t conn[3], mp_obj_t own[2]);
#endif

// Redis(...), and RedisCluster(...) (its own options too: cluster_new).
static mp_obj_t redis_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    picoredis_options_t o;
    mp_obj_t connect_args[3];
    #if defined(PICOREDIS_CLUSTER)
    mp_obj_t own[2];
    bool cluster = type == &picoredis_type_RedisCluster;
    redis_options(n_args, n_kw, all_args, &o, connect_args, cluster ? own : NULL);
    mp_obj_t self = with_lock(cluster ? cluster_new(type, &o, connect_args, own) : picoredis_client_new(type, &o));
    #else
    redis_options(n_args, n_kw, all_args, &o, connect_args, NULL);
    mp_obj_t self = with_lock(picoredis_client_new(type, &o));
    #endif
    // (A cluster's connect loads its slot map.)
    guarded(self, picoredis_client_connect, 3, connect_args);
    return self;
}

// connect(host=None, port=None): (re)connect, keeping the previous value of a None argument;
// a bad argument changes nothing.
static mp_obj_t redis_connect(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_host, ARG_port };
    ARG_TABLE mp_arg_t allowed_args[] = {
        { MP_QSTR_host, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_port, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, a);
    mp_obj_t connect_args[3] = { mp_const_none, a[ARG_host].u_obj, a[ARG_port].u_obj };
    return guarded(pos_args[0], picoredis_client_connect, 3, connect_args);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(redis_connect_obj, 1, redis_connect);

// close(): idempotent; an error raised by the stream's own close is raised (the client is
// closed all the same).
static mp_obj_t redis_close(mp_obj_t self) {
    return guarded(self, picoredis_client_close, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(redis_close_obj, redis_close);

static mp_obj_t redis_exit(size_t n_args, const mp_obj_t *args) {
    return redis_close(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(redis_exit_obj, 4, 4, redis_exit);

// do_cmd(cmd, *args) -> reply
static mp_obj_t redis_do_cmd(size_t n_args, const mp_obj_t *args) {
    return guarded(args[0], picoredis_client_command, n_args - 1, args + 1);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(redis_do_cmd_obj, 2, redis_do_cmd);

static mp_obj_t redis_call(mp_obj_t self, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, MP_OBJ_FUN_ARGS_MAX, false);
    return guarded(self, picoredis_client_command, n_args, args);
}

// pipeline(transaction=False) -> Pipeline
#define PIPELINE_CMD_CACHE 4
typedef struct {
    mp_obj_base_t base;
    mp_obj_t client;
    // The queue, made by the first command. A build for speed (PICOREDIS_SPEED): one flat
    // array, the transaction flag's slot then per command a run `n, name, args...` (n: a
    // small int, the run's length after it), kept and emptied between batches, so that
    // queueing allocates nothing once it has grown. Otherwise (boards, in less flash): a
    // list of argument tuples.
    #if PICOREDIS_SPEED
    mp_obj_t *queue;
    size_t len, alloc; // words used, words allocated
    #else
    mp_obj_t queue;
    #endif
    size_t count; // commands queued
    bool transaction;
    // Bound commands (`pipe.get`) by qstr, as the client's cache (direct-mapped).
    mp_obj_t cmd_cache[PIPELINE_CMD_CACHE];
} pipeline_obj_t;

static mp_obj_t redis_pipeline(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    ARG_TABLE mp_arg_t allowed_args[] = {
        { MP_QSTR_transaction, MP_ARG_BOOL, {.u_bool = false} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, a);
    pipeline_obj_t *p = mp_obj_malloc(pipeline_obj_t, &picoredis_type_Pipeline);
    memset(&p->client, 0, sizeof(*p) - offsetof(pipeline_obj_t, client));
    p->client = pos_args[0];
    p->transaction = a[0].u_bool;
    return MP_OBJ_FROM_PTR(p);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(redis_pipeline_obj, 1, redis_pipeline);

#if defined(PICOREDIS_PUBSUB)
// pubsub() -> PubSub, with a connection of its own (opened by the first subscribe).
static mp_obj_t redis_pubsub(mp_obj_t self) {
    return with_lock(guarded(self, picoredis_pubsub_client_new, 0, NULL));
}
static MP_DEFINE_CONST_FUN_OBJ_1(redis_pubsub_obj, redis_pubsub);
#endif

static mp_obj_t identity(mp_obj_t self) {
    return self;
}
static MP_DEFINE_CONST_FUN_OBJ_1(identity_obj, identity);

// Method tables are lists of (qstr, object) for an X macro: a firmware makes a ROM table of
// them, a natmod fills its table when imported (LOCALS_TABLE, at the end).
#if defined(PICOREDIS_PUBSUB)
#define REDIS_PUBSUB_LOCALS(X) X(MP_QSTR_pubsub, &redis_pubsub_obj)
#else
#define REDIS_PUBSUB_LOCALS(X)
#endif
#if defined(PICOREDIS_CLUSTER)
// keyslot(key) -> int: the hash slot of `key` (CRC16 of it or of its {hash tag}, mod
// 16384). RedisCluster's method; RedisCluster shares Redis's table (one type machinery),
// so a Redis has it too.
static mp_obj_t cluster_keyslot(mp_obj_t self, mp_obj_t key) {
    return guarded(self, picoredis_cluster_keyslot, 1, &key);
}
static MP_DEFINE_CONST_FUN_OBJ_2(cluster_keyslot_obj, cluster_keyslot);
#define REDIS_CLUSTER_LOCALS(X) X(MP_QSTR_keyslot, &cluster_keyslot_obj)
#else
#define REDIS_CLUSTER_LOCALS(X)
#endif
#define REDIS_LOCALS(X) \
    REDIS_CLUSTER_LOCALS(X) \
    X(MP_QSTR_connect, &redis_connect_obj) \
    X(MP_QSTR_close, &redis_close_obj) \
    X(MP_QSTR_do_cmd, &redis_do_cmd_obj) \
    X(MP_QSTR_pipeline, &redis_pipeline_obj) \
    REDIS_PUBSUB_LOCALS(X) \
    X(MP_QSTR___enter__, &identity_obj) \
    X(MP_QSTR___exit__, &redis_exit_obj)

#define ROM_ENTRY(q, obj) { MP_ROM_QSTR(q), MP_ROM_PTR(obj) },
#define COUNT_ENTRY(q, obj) +1
#if MICROPY_ENABLE_DYNRUNTIME
// The table, to be filled by mpy_init(), and its dict.
#define LOCALS_TABLE(name, LIST) \
    mp_rom_map_elem_t name##_table[0 LIST(COUNT_ENTRY)]; \
    static MP_DEFINE_CONST_DICT(name, name##_table);
#else
#define LOCALS_TABLE(name, LIST) \
    static const mp_rom_map_elem_t name##_table[] = { LIST(ROM_ENTRY) }; \
    static MP_DEFINE_CONST_DICT(name, name##_table);
#endif

LOCALS_TABLE(redis_locals, REDIS_LOCALS)

// A bound command from a small cache (`n` slots, direct-mapped by qstr), so `r.get(k)`
// allocates nothing but the reply once warm, and `pipe.get(k)` nothing but its arguments.
// A name is cached only once it has passed `is_command_name` and the method check, so a hit
// skips both (they read the qstr's text: most of an attribute lookup's cost).
// A client's slots are read and written without its lock (another thread may be inside a
// command): whole words, atomically; any object found there is a valid bound command.
// The attribute `attr` of a client or pipeline `self` as a bound command (dest[0]), or
// dest[1] = MP_OBJ_SENTINEL to let MicroPython look in `locals` (methods, AttributeError).
static void command_attr(mp_obj_t self, mp_obj_t *cache, size_t n, const mp_obj_dict_t *locals,
    qstr attr, mp_obj_t *dest) {
    mp_obj_t *slot = &cache[attr % n];
    mp_obj_t cmd = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (cmd == MP_OBJ_NULL || ((command_obj_t *)MP_OBJ_TO_PTR(cmd))->name != attr) {
        if (!is_command_name(attr) || in_locals(locals, attr)) {
            dest[1] = MP_OBJ_SENTINEL;
            return;
        }
        cmd = new_command(self, attr);
        __atomic_store_n(slot, cmd, __ATOMIC_RELAXED);
    }
    dest[0] = cmd;
}

// A client's (or a RedisCluster's) command cache.
static void client_command_attr(mp_obj_t self, const mp_obj_dict_t *locals, qstr attr, mp_obj_t *dest) {
    size_t n;
    mp_obj_t *cache = picoredis_client_command_cache(self, &n);
    command_attr(self, cache, n, locals, attr, dest);
}

static void redis_attr(mp_obj_t self, qstr attr, mp_obj_t *dest) {
    if (attr == MP_QSTR_debug) {
        // Under the client's lock, like every call that reaches its Rust state.
        if (dest[0] == MP_OBJ_NULL) {
            #if defined(PICOREDIS_TRACE)
            dest[0] = guarded(self, picoredis_client_debug, 0, NULL);
            #else
            dest[0] = mp_const_false;
            #endif
        } else if (dest[1] != MP_OBJ_NULL) {
            mp_obj_t on = mp_obj_new_bool(mp_obj_is_true(dest[1]));
            check_trace(on == mp_const_true);
            #if defined(PICOREDIS_TRACE)
            guarded(self, picoredis_client_debug, 1, &on);
            #endif
            dest[0] = MP_OBJ_NULL;
        }
        return;
    }
    if (dest[0] != MP_OBJ_NULL) {
        return; // no other attribute can be stored or deleted
    }
    // (RedisCluster's hook too, with the same methods; its `debug` is a TypeError.)
    client_command_attr(self, &redis_locals, attr, dest);
}

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_Redis,
    MP_QSTR_Redis,
    MP_TYPE_FLAG_NONE,
    make_new, redis_make_new,
    call, redis_call,
    attr, redis_attr,
    locals_dict, &redis_locals
    );
#endif

// ---- Pipeline -----------------------------------------------------------------------------

// Queues (name, *args); returns the pipeline so calls can be chained. (Another thread
// queueing on the same pipeline at once races as it would on a list; execute() takes the
// queue away first, so what it sends is its own.)
static mp_obj_t pipeline_queue(mp_obj_t pipe, qstr name, size_t n_args, const mp_obj_t *args) {
    pipeline_obj_t *p = MP_OBJ_TO_PTR(pipe);
    size_t n = n_args + (name != MP_QSTRnull);
    #if PICOREDIS_SPEED
    size_t need = (p->len ? p->len : 1) + 1 + n;
    if (need > p->alloc) {
        p->queue = m_renew(mp_obj_t, p->queue, p->alloc, 2 * need);
        p->alloc = 2 * need;
    }
    mp_obj_t *q = p->queue + p->len;
    if (p->len == 0) {
        *q++ = mp_const_false; // the transaction flag's slot
    }
    *q++ = MP_OBJ_NEW_SMALL_INT(n);
    if (name != MP_QSTRnull) {
        *q++ = MP_OBJ_NEW_QSTR(name);
    }
    memcpy(q, args, n_args * sizeof(mp_obj_t));
    p->len = q + n_args - p->queue;
    #else
    if (p->queue == MP_OBJ_NULL) {
        p->queue = mp_obj_new_list(0, NULL);
    }
    mp_obj_tuple_t *t = MP_OBJ_TO_PTR(mp_obj_new_tuple(n, NULL));
    if (name != MP_QSTRnull) {
        t->items[0] = MP_OBJ_NEW_QSTR(name);
    }
    memcpy(t->items + n - n_args, args, n_args * sizeof(mp_obj_t));
    mp_obj_list_append(p->queue, MP_OBJ_FROM_PTR(t));
    #endif
    p->count++;
    return pipe;
}

static mp_obj_t pipeline_call(mp_obj_t self, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, MP_OBJ_FUN_ARGS_MAX, false);
    return pipeline_queue(self, MP_QSTRnull, n_args, args);
}

// execute() -> list of replies (server errors in place), or EXEC's reply.
static mp_obj_t pipeline_execute(mp_obj_t self) {
    pipeline_obj_t *p = MP_OBJ_TO_PTR(self);
    #if PICOREDIS_SPEED
    mp_obj_t *q = p->queue;
    size_t len = p->len, alloc = p->alloc;
    // The queue is taken first: whatever happens, the pipeline is empty and reusable.
    p->queue = NULL;
    p->len = p->alloc = p->count = 0;
    if (len == 0) {
        p->queue = q;
        p->alloc = alloc;
        return mp_obj_new_list(0, NULL);
    }
    q[0] = mp_obj_new_bool(p->transaction);
    mp_obj_t res = guarded(p->client, picoredis_client_pipeline, len, q);
    // Emptied (its objects let go), it serves the next batch, unless one has started
    // meanwhile. (An exception leaves it to the GC.)
    memset(q, 0, len * sizeof(mp_obj_t));
    if (p->queue == NULL) {
        p->queue = q;
        p->alloc = alloc;
    }
    return res;
    #else
    mp_obj_t q = p->queue;
    // The queue is taken first: whatever happens, the pipeline is empty and reusable.
    p->queue = MP_OBJ_NULL;
    p->count = 0;
    if (q == MP_OBJ_NULL) {
        return mp_obj_new_list(0, NULL);
    }
    mp_obj_t args[2] = { q, mp_obj_new_bool(p->transaction) };
    return guarded(p->client, picoredis_client_pipeline, 2, args);
    #endif
}
static MP_DEFINE_CONST_FUN_OBJ_1(pipeline_execute_obj, pipeline_execute);

static mp_obj_t pipeline_reset(mp_obj_t self) {
    pipeline_obj_t *p = MP_OBJ_TO_PTR(self);
    // (The queue's memory goes to the GC.)
    p->queue = MP_OBJ_NULL;
    #if PICOREDIS_SPEED
    p->len = p->alloc = 0;
    #endif
    p->count = 0;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(pipeline_reset_obj, pipeline_reset);

static mp_obj_t pipeline_exit(size_t n_args, const mp_obj_t *args) {
    return pipeline_reset(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(pipeline_exit_obj, 4, 4, pipeline_exit);

static mp_obj_t pipeline_unary_op(mp_unary_op_t op, mp_obj_t self) {
    pipeline_obj_t *p = MP_OBJ_TO_PTR(self);
    switch (op) {
        case MP_UNARY_OP_LEN:
            return MP_OBJ_NEW_SMALL_INT(p->count);
        case MP_UNARY_OP_BOOL:
            return mp_const_true;
        default:
            return MP_OBJ_NULL;
    }
}

#define PIPELINE_LOCALS(X) \
    X(MP_QSTR_execute, &pipeline_execute_obj) \
    X(MP_QSTR_reset, &pipeline_reset_obj) \
    X(MP_QSTR___enter__, &identity_obj) \
    X(MP_QSTR___exit__, &pipeline_exit_obj)
LOCALS_TABLE(pipeline_locals, PIPELINE_LOCALS)

static void pipeline_attr(mp_obj_t self, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        dest[1] = MP_OBJ_SENTINEL;
        return;
    }
    pipeline_obj_t *p = MP_OBJ_TO_PTR(self);
    command_attr(self, p->cmd_cache, PIPELINE_CMD_CACHE, &pipeline_locals, attr, dest);
}

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_Pipeline,
    MP_QSTR_Pipeline,
    MP_TYPE_FLAG_NONE,
    call, pipeline_call,
    unary_op, pipeline_unary_op,
    attr, pipeline_attr,
    locals_dict, &pipeline_locals
    );
#endif

// ---- RedisCluster -----------------------------------------------------------------------
#if defined(PICOREDIS_CLUSTER)
// A client for a Redis Cluster (rust/picoredis/src/cluster.rs): the Redis call styles
// (do_cmd, calling it, r.<name>, pipeline) reach the same Rust entry points, which route
// each command to the node of its keys' slot.

// RedisCluster(host='127.0.0.1', port=7000, *, startup_nodes=None, max_connections=4,
//              <Redis' other options>): the options apply to every node connection.
// Redis's type machinery (make_new, call, attr, methods) with this check of its own options.
static mp_obj_t cluster_new(const mp_obj_type_t *type, picoredis_options_t *o, mp_obj_t conn[3], mp_obj_t own[2]) {
    mp_int_t max_open = own[1] == mp_const_none ? 4 : mp_obj_get_int(own[1]);
    if (conn[0] != mp_const_none || max_open < 1) {
        mp_raise_ValueError(MP_ERROR_TEXT("no sock=; max_connections >= 1"));
    }
    if (own[0] == mp_const_none) {
        mp_obj_t node[2] = { o->host, conn[2] == mp_const_none ? MP_OBJ_NEW_SMALL_INT(7000) : conn[2] };
        own[0] = mp_obj_new_tuple(2, node);
        own[0] = mp_obj_new_tuple(1, own);
    }
    return raise_or_value(picoredis_cluster_new(type, o, own[0], max_open));
}

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_RedisCluster,
    MP_QSTR_RedisCluster,
    MP_TYPE_FLAG_NONE,
    make_new, redis_make_new,
    call, redis_call,
    attr, redis_attr,
    locals_dict, &redis_locals
    );
#endif
#endif // PICOREDIS_CLUSTER

static mp_obj_t command_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    command_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (n_kw != 0) {
        mp_arg_check_num(n_args, n_kw, 0, MP_OBJ_FUN_ARGS_MAX, false); // raises
    }
    if (mp_obj_is_type(self->target, &picoredis_type_Pipeline)) {
        return pipeline_queue(self->target, self->name, n_args, args);
    }
    return guarded_named(self->target, picoredis_client_command, self->name, n_args, args);
}

// ---- PubSub ------------------------------------------------------------------------------
#if defined(PICOREDIS_PUBSUB)
// A client object of its own (same options as the Redis it came from) whose connection is
// in subscribe mode: it offers only the subscribe family and get_message().

static mp_obj_t pubsub_send(qstr cmd, size_t n_args, const mp_obj_t *args) {
    // args[0] is the PubSub; the rest are channels or patterns.
    return guarded_named(args[0], picoredis_client_send, cmd, n_args - 1, args + 1);
}

static mp_obj_t pubsub_subscribe(size_t n_args, const mp_obj_t *args) {
    return pubsub_send(MP_QSTR_SUBSCRIBE, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(pubsub_subscribe_obj, 2, pubsub_subscribe);

static mp_obj_t pubsub_psubscribe(size_t n_args, const mp_obj_t *args) {
    return pubsub_send(MP_QSTR_PSUBSCRIBE, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(pubsub_psubscribe_obj, 2, pubsub_psubscribe);

static mp_obj_t pubsub_unsubscribe(size_t n_args, const mp_obj_t *args) {
    return pubsub_send(MP_QSTR_UNSUBSCRIBE, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(pubsub_unsubscribe_obj, 1, pubsub_unsubscribe);

static mp_obj_t pubsub_punsubscribe(size_t n_args, const mp_obj_t *args) {
    return pubsub_send(MP_QSTR_PUNSUBSCRIBE, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(pubsub_punsubscribe_obj, 1, pubsub_punsubscribe);

static mp_obj_t pubsub_ping(mp_obj_t self) {
    return pubsub_send(MP_QSTR_PING, 1, &self);
}
static MP_DEFINE_CONST_FUN_OBJ_1(pubsub_ping_obj, pubsub_ping);

// get_message(timeout=0) -> dict or None; timeout in ms (0: only a message already there;
// None: wait without limit).
static mp_obj_t pubsub_get_message(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    ARG_TABLE mp_arg_t allowed_args[] = {
        { MP_QSTR_timeout, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_INT(0)} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args - 1, pos_args + 1, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, a);
    mp_obj_t t = a[0].u_obj;
    mp_obj_t wait = MP_OBJ_NEW_SMALL_INT(t == MP_OBJ_NEW_SMALL_INT(0) ? 0 : timeout_arg(t));
    return guarded(pos_args[0], picoredis_client_get_message, 1, &wait);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(pubsub_get_message_obj, 1, pubsub_get_message);

#define PUBSUB_LOCALS(X) \
    X(MP_QSTR_subscribe, &pubsub_subscribe_obj) \
    X(MP_QSTR_psubscribe, &pubsub_psubscribe_obj) \
    X(MP_QSTR_unsubscribe, &pubsub_unsubscribe_obj) \
    X(MP_QSTR_punsubscribe, &pubsub_punsubscribe_obj) \
    X(MP_QSTR_ping, &pubsub_ping_obj) \
    X(MP_QSTR_get_message, &pubsub_get_message_obj) \
    X(MP_QSTR_close, &redis_close_obj) \
    X(MP_QSTR___enter__, &identity_obj) \
    X(MP_QSTR___exit__, &redis_exit_obj)
LOCALS_TABLE(pubsub_locals, PUBSUB_LOCALS)

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_PubSub,
    MP_QSTR_PubSub,
    MP_TYPE_FLAG_NONE,
    locals_dict, &pubsub_locals
    );
#endif

#endif // PICOREDIS_PUBSUB

// ---- Sentinel -----------------------------------------------------------------------------
#if defined(PICOREDIS_SENTINEL)
// A client object of its own (rust/picoredis/src/sentinel.rs) whose connection goes to one
// sentinel at a time; master_for() and slave_for() make Redis clients that ask it for the
// primary, or a replica, on every (re)connect.

// Sentinel(sentinels, **options): `sentinels` a list of (host, port); the keywords are
// Redis()'s, for the connections to the sentinels (timeout, username, password, ...).
static mp_obj_t sentinel_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    mp_arg_check_num(n_args, n_kw, 1, 1, true);
    picoredis_options_t o;
    mp_obj_t conn[3];
    redis_options(0, n_kw, all_args + 1, &o, conn, NULL);
    return with_lock(raise_or_value(picoredis_sentinel_new(type, &o, all_args[0])));
}

// discover_master(name) -> (host, port)
static mp_obj_t sentinel_discover_master(mp_obj_t self, mp_obj_t name) {
    mp_obj_t a[2] = { name, mp_const_false };
    return guarded(self, picoredis_sentinel_discover, 2, a);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sentinel_discover_master_obj, sentinel_discover_master);

// discover_slaves(name) -> [(host, port), ...]: the replicas not flagged down.
static mp_obj_t sentinel_discover_slaves(mp_obj_t self, mp_obj_t name) {
    mp_obj_t a[2] = { name, mp_const_true };
    return guarded(self, picoredis_sentinel_discover, 2, a);
}
static MP_DEFINE_CONST_FUN_OBJ_2(sentinel_discover_slaves_obj, sentinel_discover_slaves);

// master_for(name, **options) -> Redis: a client with Redis()'s keyword options whose
// address comes from the sentinels, on every (re)connect; slave_for (`replica`): one of the
// primary's replicas. Connects now, as Redis() does.
static mp_obj_t sentinel_client(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args, bool replica) {
    if (n_args != 2) {
        mp_raise_TypeError(MP_ERROR_TEXT("master_for/slave_for(name, **options)"));
    }
    // The keywords as the (key, value) array Redis()'s parser takes.
    size_t n_kw = 0;
    mp_obj_t *kw = m_new(mp_obj_t, 2 * kw_args->used);
    for (size_t i = 0; i < kw_args->alloc; i++) {
        if (mp_map_slot_is_filled(kw_args, i) && n_kw < kw_args->used) {
            kw[2 * n_kw] = kw_args->table[i].key;
            kw[2 * n_kw + 1] = kw_args->table[i].value;
            n_kw++;
        }
    }
    picoredis_options_t o;
    mp_obj_t conn[3];
    redis_options(0, n_kw, kw, &o, conn, NULL);
    m_del(mp_obj_t, kw, 2 * kw_args->used);
    if (conn[0] != mp_const_none) {
        mp_raise_ValueError(MP_ERROR_TEXT("master_for: the sentinels give the address, not sock="));
    }
    mp_obj_t client = with_lock(picoredis_sentinel_client_new(&picoredis_type_Redis, &o, pos_args[0], pos_args[1], replica));
    conn[2] = mp_const_none;
    guarded(client, picoredis_client_connect, 3, conn);
    return client;
}

static mp_obj_t sentinel_master_for(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    return sentinel_client(n_args, pos_args, kw_args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(sentinel_master_for_obj, 2, sentinel_master_for);

static mp_obj_t sentinel_slave_for(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    return sentinel_client(n_args, pos_args, kw_args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(sentinel_slave_for_obj, 2, sentinel_slave_for);

#define SENTINEL_LOCALS(X) \
    X(MP_QSTR_discover_master, &sentinel_discover_master_obj) \
    X(MP_QSTR_master_for, &sentinel_master_for_obj) \
    X(MP_QSTR_discover_slaves, &sentinel_discover_slaves_obj) \
    X(MP_QSTR_slave_for, &sentinel_slave_for_obj) \
    X(MP_QSTR_close, &redis_close_obj) \
    X(MP_QSTR___enter__, &identity_obj) \
    X(MP_QSTR___exit__, &redis_exit_obj)
LOCALS_TABLE(sentinel_locals, SENTINEL_LOCALS)

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_Sentinel,
    MP_QSTR_Sentinel,
    MP_TYPE_FLAG_NONE,
    make_new, sentinel_make_new,
    locals_dict, &sentinel_locals
    );
#endif

#endif // PICOREDIS_SENTINEL

// ---- Reader -------------------------------------------------------------------------------
#if defined(PICOREDIS_READER)

// Reader(protocol=2, encoding=None, notEnoughData=False)
static mp_obj_t reader_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum { ARG_protocol, ARG_encoding, ARG_notEnoughData };
    ARG_TABLE mp_arg_t allowed_args[] = {
        { MP_QSTR_protocol, MP_ARG_INT, {.u_int = 2} },
        { MP_QSTR_encoding, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_notEnoughData, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_FALSE} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args, a);
    if (a[ARG_protocol].u_int != 2 && a[ARG_protocol].u_int != 3) {
        mp_raise_ValueError(MP_ERROR_TEXT("protocol must be 2 or 3"));
    }
    bool decode = a[ARG_encoding].u_obj != mp_const_none;
    if (decode) {
        const char *enc = mp_obj_str_get_str(a[ARG_encoding].u_obj);
        if (strcmp(enc, "utf-8") != 0 && strcmp(enc, "utf8") != 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("only utf-8 is supported"));
        }
    }
    return with_lock(picoredis_reader_new(type, decode, a[ARG_notEnoughData].u_obj));
}

// feed(data, off=0, len=-1, /): data[off:off + len] (len -1: to the end), hiredis-py's rules
// (README: Reader); a bad off or len raises with nothing fed.
static mp_obj_t reader_feed(size_t n_args, const mp_obj_t *args) {
    return guarded(args[0], picoredis_reader_feed, n_args - 1, args + 1);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(reader_feed_obj, 2, 4, reader_feed);

// has_data() -> bool: fed bytes that gets() has not returned yet are buffered.
static mp_obj_t reader_has_data(mp_obj_t self) {
    return guarded(self, picoredis_reader_has_data, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(reader_has_data_obj, reader_has_data);

// is_push() -> bool: the reply gets() last returned was a RESP3 push frame (`>`).
static mp_obj_t reader_is_push(mp_obj_t self) {
    return guarded(self, picoredis_reader_is_push, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(reader_is_push_obj, reader_is_push);

static mp_obj_t reader_gets(mp_obj_t self) {
    return guarded(self, picoredis_reader_gets, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(reader_gets_obj, reader_gets);

#define READER_LOCALS(X) \
    X(MP_QSTR_feed, &reader_feed_obj) \
    X(MP_QSTR_gets, &reader_gets_obj) \
    X(MP_QSTR_has_data, &reader_has_data_obj) \
    X(MP_QSTR_is_push, &reader_is_push_obj)
LOCALS_TABLE(reader_locals, READER_LOCALS)

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_Reader,
    MP_QSTR_Reader,
    MP_TYPE_FLAG_NONE,
    make_new, reader_make_new,
    locals_dict, &reader_locals
    );
#endif

// encode(*args) -> bytes: the request the client would send for the command `args` (same
// checks, same bytes), for code that does its own I/O with a Reader (asyncio).
static mp_obj_t picoredis_encode_fn(size_t n_args, const mp_obj_t *args) {
    return guarded(MP_OBJ_NULL, picoredis_encode, n_args, args);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(picoredis_encode_obj, 0, picoredis_encode_fn);

// ---- asyncio: the request queue and its waiters ------------------------------------------
// picoredis.asyncio's per-command path (rust/picoredis/src/mux.rs): a bound command encodes
// its request straight into the _Mux's buffer and returns a waiter, which the task awaits
// directly: no coroutine, argument tuple or request bytes per command.

// _Mux(pending, core): `pending` the client's list of calls awaiting replies, `core` the
// asyncio.core module.
static mp_obj_t mux_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
    if (!mp_obj_is_type(args[0], &mp_type_list)) {
        mp_raise_TypeError(MP_ERROR_TEXT("_Mux(pending, core): pending must be a list"));
    }
    return with_lock(picoredis_mux_new(type, args[0], args[1]));
}

// call(*args) -> waiter: queues the command (connected or not: the caller knows).
static mp_obj_t mux_call(size_t n_args, const mp_obj_t *args) {
    return guarded(args[0], picoredis_mux_call, n_args - 1, args + 1);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(mux_call_obj, 2, mux_call);

// send(data, call): whole requests, and the call object taking their replies (or None).
static mp_obj_t mux_send(mp_obj_t self, mp_obj_t data, mp_obj_t call) {
    mp_obj_t a[2] = { data, call };
    return guarded(self, picoredis_mux_send, 2, a);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mux_send_obj, mux_send);

// take() -> bytes or None: what the writer writes next.
static mp_obj_t mux_take(mp_obj_t self) {
    return guarded(self, picoredis_mux_take, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mux_take_obj, mux_take);

// wait() -> waiter or None: what the writer awaits until a request is queued.
static mp_obj_t mux_wait(mp_obj_t self) {
    return guarded(self, picoredis_mux_wait, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mux_wait_obj, mux_wait);

static mp_obj_t mux_reset(mp_obj_t self) {
    return guarded(self, picoredis_mux_reset, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mux_reset_obj, mux_reset);

// ready(on): whether bound commands may queue (else they call their fallback).
static mp_obj_t mux_ready(mp_obj_t self, mp_obj_t on) {
    mp_obj_t b = mp_obj_new_bool(mp_obj_is_true(on));
    return guarded(self, picoredis_mux_ready, 1, &b);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mux_ready_obj, mux_ready);

static mp_obj_t mux_touch(mp_obj_t self) {
    return guarded(self, picoredis_mux_touch, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mux_touch_obj, mux_touch);

static mp_obj_t mux_idle_ms(mp_obj_t self) {
    return guarded(self, picoredis_mux_idle_ms, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_1(mux_idle_ms_obj, mux_idle_ms);

// A bound command of a _Mux: `r.get(...)` in picoredis.asyncio.
typedef struct {
    mp_obj_base_t base;
    mp_obj_t mux;
    mp_obj_t slow; // called with the same arguments when the mux is not ready
    qstr name;
} mux_command_obj_t;

static mp_obj_t mux_command_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mux_command_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_arg_check_num(n_args, n_kw, 0, MP_OBJ_FUN_ARGS_MAX, false);
    mp_obj_t w = guarded_named(self->mux, picoredis_mux_command, self->name, n_args, args);
    if (w == mp_const_none) {
        return mp_call_function_n_kw(self->slow, n_args, 0, args);
    }
    return w;
}

#if !MICROPY_ENABLE_DYNRUNTIME
static MP_DEFINE_CONST_OBJ_TYPE(
    mux_command_type,
    MP_QSTR_command,
    MP_TYPE_FLAG_NONE,
    call, mux_command_call
    );
#endif

// bind(name, slow) -> the bound command `name`.
static mp_obj_t mux_bind(mp_obj_t self, mp_obj_t name, mp_obj_t slow) {
    mux_command_obj_t *cmd = mp_obj_malloc(mux_command_obj_t, &mux_command_type);
    cmd->mux = self;
    cmd->slow = slow;
    cmd->name = mp_obj_str_get_qstr(name);
    return MP_OBJ_FROM_PTR(cmd);
}
static MP_DEFINE_CONST_FUN_OBJ_3(mux_bind_obj, mux_bind);

#define MUX_LOCALS(X) \
    X(MP_QSTR_call, &mux_call_obj) \
    X(MP_QSTR_send, &mux_send_obj) \
    X(MP_QSTR_take, &mux_take_obj) \
    X(MP_QSTR_wait, &mux_wait_obj) \
    X(MP_QSTR_reset, &mux_reset_obj) \
    X(MP_QSTR_ready, &mux_ready_obj) \
    X(MP_QSTR_touch, &mux_touch_obj) \
    X(MP_QSTR_idle_ms, &mux_idle_ms_obj) \
    X(MP_QSTR_bind, &mux_bind_obj)
LOCALS_TABLE(mux_locals, MUX_LOCALS)

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_Mux,
    MP_QSTR__Mux,
    MP_TYPE_FLAG_NONE,
    make_new, mux_make_new,
    locals_dict, &mux_locals
    );
#endif

// A waiter is awaited directly (`await r.get(k)`: iternext, no send needed), or run as a
// task's coroutine (gather, wait_for: send and throw). Not done: the current task is parked
// on it and None is yielded; done: the reply is returned (StopIteration) or the error
// raised.
static mp_obj_t waiter_iternext(mp_obj_t self) {
    mp_obj_t v = guarded(self, picoredis_waiter_next, 0, NULL);
    return v == MP_OBJ_NULL ? mp_const_none : mp_make_stop_iteration(v);
}

static mp_obj_t waiter_getiter(mp_obj_t self, mp_obj_iter_buf_t *iter_buf) {
    (void)iter_buf;
    return self;
}

static const mp_getiter_iternext_custom_t waiter_getiter_iternext = {
    .getiter = waiter_getiter,
    .iternext = waiter_iternext,
};

static mp_obj_t waiter_send(mp_obj_t self, mp_obj_t value) {
    (void)value;
    mp_obj_t v = guarded(self, picoredis_waiter_next, 0, NULL);
    if (v == MP_OBJ_NULL) {
        return mp_const_none;
    }
    mp_raise_StopIteration(v);
}
static MP_DEFINE_CONST_FUN_OBJ_2(waiter_send_obj, waiter_send);

// throw(exc): the awaiting task is cancelled (or the exception thrown in): it stops
// waiting here, the command stays queued, and the exception goes on.
static mp_obj_t waiter_throw(size_t n_args, const mp_obj_t *args) {
    guarded(args[0], picoredis_waiter_remove, 0, NULL);
    mp_obj_t exc = n_args == 2 ? args[1] : args[2];
    if (n_args > 2 && exc == mp_const_none) {
        exc = args[1];
    }
    nlr_raise(mp_make_raise_obj(exc));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(waiter_throw_obj, 2, 4, waiter_throw);

static mp_obj_t waiter_take(mp_obj_t self, mp_obj_t reply) {
    return guarded(self, picoredis_waiter_take, 1, &reply);
}
static MP_DEFINE_CONST_FUN_OBJ_2(waiter_take_obj, waiter_take);

static mp_obj_t waiter_finish(mp_obj_t self, mp_obj_t value, mp_obj_t exc) {
    mp_obj_t a[2] = { value, exc };
    return guarded(self, picoredis_waiter_finish, 2, a);
}
static MP_DEFINE_CONST_FUN_OBJ_3(waiter_finish_obj, waiter_finish);

// remove(task): asyncio's Task.cancel() calls it on what the task waits on.
static mp_obj_t waiter_remove(mp_obj_t self, mp_obj_t task) {
    (void)task;
    return guarded(self, picoredis_waiter_remove, 0, NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_2(waiter_remove_obj, waiter_remove);

#define WAITER_LOCALS(X) \
    X(MP_QSTR_send, &waiter_send_obj) \
    X(MP_QSTR_throw, &waiter_throw_obj) \
    X(MP_QSTR_take, &waiter_take_obj) \
    X(MP_QSTR_finish, &waiter_finish_obj) \
    X(MP_QSTR_remove, &waiter_remove_obj)
LOCALS_TABLE(waiter_locals, WAITER_LOCALS)

// `done`: the outcome is in; `n`: replies still due (1 or 0), as a pipeline's call says.
static void waiter_attr(mp_obj_t self, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL || (attr != MP_QSTR_done && attr != MP_QSTR_n)) {
        dest[1] = MP_OBJ_SENTINEL; // methods, or AttributeError
        return;
    }
    mp_obj_t done = guarded(self, picoredis_waiter_done, 0, NULL);
    dest[0] = attr == MP_QSTR_done ? done : MP_OBJ_NEW_SMALL_INT(done == mp_const_true ? 0 : 1);
}

#if !MICROPY_ENABLE_DYNRUNTIME
MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_Waiter,
    MP_QSTR_waiter,
    MP_TYPE_FLAG_ITER_IS_CUSTOM,
    iter, &waiter_getiter_iternext,
    attr, waiter_attr,
    locals_dict, &waiter_locals
    );
#endif

#endif // PICOREDIS_READER

// ---- module -----------------------------------------------------------------------------

#if defined(PICOREDIS_READER)
#define READER_GLOBALS(X) \
    X(MP_QSTR_Reader, &picoredis_type_Reader) \
    X(MP_QSTR_encode, &picoredis_encode_obj) \
    X(MP_QSTR__Mux, &picoredis_type_Mux)
#else
#define READER_GLOBALS(X)
#endif
#if defined(PICOREDIS_PUBSUB)
#define PUBSUB_GLOBALS(X) X(MP_QSTR_PubSub, &picoredis_type_PubSub)
#else
#define PUBSUB_GLOBALS(X)
#endif
#if defined(PICOREDIS_SENTINEL)
#define SENTINEL_GLOBALS(X) \
    X(MP_QSTR_Sentinel, &picoredis_type_Sentinel) \
    X(MP_QSTR_MasterNotFoundError, &mp_type_MasterNotFoundError)
#else
#define SENTINEL_GLOBALS(X)
#endif
#if defined(PICOREDIS_CLUSTER)
#define CLUSTER_GLOBALS(X) X(MP_QSTR_RedisCluster, &picoredis_type_RedisCluster)
#else
#define CLUSTER_GLOBALS(X)
#endif
#define MODULE_GLOBALS(X) \
    X(MP_QSTR_Redis, &picoredis_type_Redis) \
    CLUSTER_GLOBALS(X) \
    READER_GLOBALS(X) \
    PUBSUB_GLOBALS(X) \
    SENTINEL_GLOBALS(X) \
    X(MP_QSTR_Pipeline, &picoredis_type_Pipeline) \
    X(MP_QSTR_RedisError, &mp_type_RedisError) \
    X(MP_QSTR_ParseError, &mp_type_ParseError) \
    X(MP_QSTR_RedisTimeout, &mp_type_RedisTimeout)

#if !MICROPY_ENABLE_DYNRUNTIME

static const mp_rom_map_elem_t picoredis_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_picoredis) },
    MODULE_GLOBALS(ROM_ENTRY)
};
static MP_DEFINE_CONST_DICT(picoredis_module_globals, picoredis_module_globals_table);

const mp_obj_module_t picoredis_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&picoredis_module_globals,
};

// Extensible: a frozen (or filesystem) `picoredis` package, such as the one with
// picoredis.asyncio, takes its place and imports this one as `upicoredis`.
MP_REGISTER_EXTENSIBLE_MODULE(MP_QSTR_picoredis, picoredis_module);

#else // MICROPY_ENABLE_DYNRUNTIME: the native .mpy module's import

void picoredis_natmod_runtime_init(const mp_obj_type_t *redis_error, const mp_obj_type_t *parse_error,
    const mp_obj_type_t *timeout, const mp_obj_type_t *redis, const mp_obj_type_t *pubsub,
    const mp_obj_type_t *reader, const mp_obj_type_t *mux, const mp_obj_type_t *waiter,
    const mp_obj_type_t *sentinel, const mp_obj_type_t *master_not_found,
    const mp_obj_type_t *cluster);

// Statements, not initialised arrays: a natmod may not have a .data section (mpy_ld).
#define FILL_ENTRY(q, obj) table[i++] = (mp_rom_map_elem_t) { MP_OBJ_NEW_QSTR(q), MP_OBJ_FROM_PTR(obj) };
#define FILL_LOCALS(name, LIST) do { \
        mp_rom_map_elem_t *table = name##_table; \
        size_t i = 0; \
        LIST(FILL_ENTRY) \
} while (0)
#define STORE_GLOBAL(q, obj) mp_store_global(q, MP_OBJ_FROM_PTR(obj));

// A type with its methods (slot 0); the caller sets the other slots from 1.
static void init_type(mp_obj_full_type_t *t, qstr name, const mp_obj_dict_t *locals) {
    t->base.type = mp_fun_table.type_type;
    t->flags = MP_TYPE_FLAG_NONE;
    t->name = name;
    MP_OBJ_TYPE_SET_SLOT(t, locals_dict, (void *)locals, 0);
}

// A bound command's type: `call` alone.
static void init_command_type(mp_obj_full_type_t *t, mp_call_fun_t call) {
    t->base.type = mp_fun_table.type_type;
    t->flags = MP_TYPE_FLAG_NONE;
    t->name = MP_QSTR_command;
    MP_OBJ_TYPE_SET_SLOT(t, call, call, 0);
}

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    mp_obj_exception_init(&natmod_RedisError, MP_QSTR_RedisError, &mp_type_Exception);
    mp_obj_exception_init(&natmod_ParseError, MP_QSTR_ParseError, &mp_type_Exception);
    mp_obj_exception_init(&natmod_RedisTimeout, MP_QSTR_RedisTimeout, &mp_type_Exception);

    FILL_LOCALS(redis_locals, REDIS_LOCALS);
    init_type(&natmod_Redis, MP_QSTR_Redis, &redis_locals);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Redis, make_new, redis_make_new, 1);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Redis, call, redis_call, 2);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Redis, attr, redis_attr, 3);

    FILL_LOCALS(pipeline_locals, PIPELINE_LOCALS);
    init_type(&natmod_Pipeline, MP_QSTR_Pipeline, &pipeline_locals);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Pipeline, call, pipeline_call, 1);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Pipeline, unary_op, pipeline_unary_op, 2);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Pipeline, attr, pipeline_attr, 3);

    init_command_type(&natmod_command, command_call);

    #if defined(PICOREDIS_PUBSUB)
    FILL_LOCALS(pubsub_locals, PUBSUB_LOCALS);
    init_type(&natmod_PubSub, MP_QSTR_PubSub, &pubsub_locals);
    #endif
    #if defined(PICOREDIS_READER)
    FILL_LOCALS(reader_locals, READER_LOCALS);
    init_type(&natmod_Reader, MP_QSTR_Reader, &reader_locals);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Reader, make_new, reader_make_new, 1);

    FILL_LOCALS(mux_locals, MUX_LOCALS);
    init_type(&natmod_Mux, MP_QSTR__Mux, &mux_locals);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Mux, make_new, mux_make_new, 1);

    init_command_type(&natmod_mux_command, mux_command_call);

    FILL_LOCALS(waiter_locals, WAITER_LOCALS);
    init_type(&natmod_Waiter, MP_QSTR_waiter, &waiter_locals);
    natmod_Waiter.flags = MP_TYPE_FLAG_ITER_IS_CUSTOM;
    MP_OBJ_TYPE_SET_SLOT(&natmod_Waiter, iter, &waiter_getiter_iternext, 1);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Waiter, attr, waiter_attr, 2);
    #endif
    #if defined(PICOREDIS_SENTINEL)
    mp_obj_exception_init(&natmod_MasterNotFoundError, MP_QSTR_MasterNotFoundError,
        MP_OBJ_TO_PTR(mp_load_global(MP_QSTR_OSError)));
    FILL_LOCALS(sentinel_locals, SENTINEL_LOCALS);
    init_type(&natmod_Sentinel, MP_QSTR_Sentinel, &sentinel_locals);
    MP_OBJ_TYPE_SET_SLOT(&natmod_Sentinel, make_new, sentinel_make_new, 1);
    #endif
    #if defined(PICOREDIS_CLUSTER)
    init_type(&natmod_RedisCluster, MP_QSTR_RedisCluster, &redis_locals);
    MP_OBJ_TYPE_SET_SLOT(&natmod_RedisCluster, make_new, redis_make_new, 1);
    MP_OBJ_TYPE_SET_SLOT(&natmod_RedisCluster, call, redis_call, 2);
    MP_OBJ_TYPE_SET_SLOT(&natmod_RedisCluster, attr, redis_attr, 3);
    #endif

    picoredis_natmod_runtime_init(&mp_type_RedisError, &mp_type_ParseError, &mp_type_RedisTimeout,
        &picoredis_type_Redis, &picoredis_type_PubSub, &picoredis_type_Reader, &picoredis_type_Mux,
        &picoredis_type_Waiter, &picoredis_type_Sentinel, &mp_type_MasterNotFoundError,
        &picoredis_type_RedisCluster);
    natmod_default_host = mp_obj_new_str("127.0.0.1", 9);

    // Threads, when the firmware has them (ImportError otherwise).
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t thread = mp_import_name(MP_QSTR__thread, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
        natmod_get_ident = mp_load_attr(thread, MP_QSTR_get_ident);
        nlr_pop();
    } else {
        natmod_get_ident = MP_OBJ_NULL;
    }

    MODULE_GLOBALS(STORE_GLOBAL)

    MP_DYNRUNTIME_INIT_EXIT
}

#endif // MICROPY_ENABLE_DYNRUNTIME
