// picoredis as a native .mpy module (ports/natmod): the MicroPython functions the Rust
// core calls, for a module that reaches the firmware only through mp_fun_table.
//
// The Rust core (rust/picoredis/src/mp.rs) calls MicroPython's C API by name. Linked into
// a firmware those names are the firmware's own functions; in a natmod there is nothing to
// link to, so this file defines each name: most forward to mp_fun_table (py/dynruntime.h
// turns the call in the body into a table call; the parenthesised name in the definition
// keeps that macro off the definition itself), the rest are small replacements for what
// the table lacks, written over Python objects (int(), float(), str(), time.ticks_ms()).
//
// Only built with MICROPY_ENABLE_DYNRUNTIME (py/dynruntime.mk).

#include <string.h>

#include "py/dynruntime.h"
#include "py/smallint.h"
#include "py/objstr.h"
#include "py/objlist.h"
#include "py/stream.h"
#include "py/parsenum.h"
#include "py/formatfloat.h"
#include "natmod_ticks.h"

// The types the Rust core compares objects with, by number (mp.rs: types!).
enum natmod_type {
    T_RedisError, T_ParseError, T_RedisTimeout, T_Redis, T_PubSub, T_Reader,
    T_str, T_bytes, T_int, T_float, T_list, T_dict, T_set,
    T_TypeError, T_ValueError, T_OSError, T_Mux, T_Waiter, T_Sentinel, T_MasterNotFoundError,
    T_RedisCluster, T_COUNT
};

// Filled by picoredis_natmod_runtime_init() when the module is imported. This is the
// module's BSS, which the firmware allocates on the GC heap and keeps alive (and scans)
// for as long as the module is loaded: the `time` module object is safe here. (Not static:
// mpy_ld wants BSS reached through the GOT, which gcc uses for global symbols.)
const mp_obj_type_t *natmod_types[T_COUNT];
mp_obj_t natmod_ticks_ms; // time.ticks_ms and time.sleep_ms, looked up once (a reply can
mp_obj_t natmod_sleep_ms; // read the clock: 1000 lookups per pipelined batch otherwise)

// ---- what the C compiler and Rust's core call -------------------------------------------
// The firmware's own, through the table (Rust's compiler_builtins is not linked: natmod.mk).
void *memcpy(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] - y[i];
        }
    }
    return 0;
}

int bcmp(const void *a, const void *b, size_t n) {
    return memcmp(a, b, n);
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

// ---- the module's tables, for the Rust core ----------------------------------------------

const mp_obj_type_t *picoredis_natmod_type(uint32_t which) {
    return which < T_COUNT ? natmod_types[which] : NULL;
}

qstr picoredis_natmod_qstr(uint32_t i) {
    return mp_native_qstr_table[i];
}

const mp_print_t *picoredis_natmod_print(void) {
    return &mp_plat_print;
}

// A builtin by name, or NULL when the firmware has none (no float, no set).
static const mp_obj_type_t *builtin_type(qstr name) {
    nlr_buf_t nlr;
    if (mp_fun_table.nlr_push(&nlr) == 0) {
        mp_obj_t t = mp_load_global(name);
        mp_fun_table.nlr_pop();
        return MP_OBJ_TO_PTR(t);
    }
    return NULL;
}

// picoredis' own types come from the glue (modpicoredis.c: mpy_init).
void picoredis_natmod_runtime_init(const mp_obj_type_t *redis_error, const mp_obj_type_t *parse_error,
    const mp_obj_type_t *timeout, const mp_obj_type_t *redis, const mp_obj_type_t *pubsub,
    const mp_obj_type_t *reader, const mp_obj_type_t *mux, const mp_obj_type_t *waiter,
    const mp_obj_type_t *sentinel, const mp_obj_type_t *master_not_found,
    const mp_obj_type_t *cluster) {
    natmod_types[T_RedisError] = redis_error;
    natmod_types[T_ParseError] = parse_error;
    natmod_types[T_RedisTimeout] = timeout;
    natmod_types[T_Redis] = redis;
    natmod_types[T_PubSub] = pubsub;
    natmod_types[T_Reader] = reader;
    natmod_types[T_Mux] = mux;
    natmod_types[T_Waiter] = waiter;
    natmod_types[T_Sentinel] = sentinel;
    natmod_types[T_MasterNotFoundError] = master_not_found;
    natmod_types[T_RedisCluster] = cluster;
    natmod_types[T_str] = &mp_type_str;
    natmod_types[T_bytes] = &mp_type_bytes;
    natmod_types[T_int] = &mp_type_int;
    natmod_types[T_float] = builtin_type(MP_QSTR_float);
    natmod_types[T_list] = &mp_type_list;
    natmod_types[T_dict] = mp_fun_table.type_dict;
    natmod_types[T_set] = builtin_type(MP_QSTR_set);
    natmod_types[T_TypeError] = &mp_type_TypeError;
    natmod_types[T_ValueError] = &mp_type_ValueError;
    natmod_types[T_OSError] = MP_OBJ_TO_PTR(mp_load_global(MP_QSTR_OSError));
    mp_obj_t time = mp_import_name(MP_QSTR_time, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    natmod_ticks_ms = mp_load_attr(time, MP_QSTR_ticks_ms);
    natmod_sleep_ms = mp_load_attr(time, MP_QSTR_sleep_ms);
}

// ---- objects ----------------------------------------------------------------------------

mp_obj_t (mp_obj_new_bytes)(const byte *data, size_t len) {
    return mp_obj_new_bytes(data, len);
}

mp_obj_t mp_obj_new_str_copy(const mp_obj_type_t *type, const byte *data, size_t len) {
    return mp_obj_new_str_of_type(type, data, len);
}

mp_obj_t (mp_obj_new_int)(mp_int_t value) {
    return mp_obj_new_int(value);
}

// Beyond a small int: from its decimal text, as int() reads it.
mp_obj_t mp_obj_new_int_from_ll(long long val) {
    if (val >= MP_SMALL_INT_MIN && val <= MP_SMALL_INT_MAX) {
        return MP_OBJ_NEW_SMALL_INT((mp_int_t)val);
    }
    char text[24];
    size_t i = sizeof(text);
    unsigned long long mag = val < 0 ? -(unsigned long long)val : (unsigned long long)val;
    do {
        text[--i] = '0' + (char)(mag % 10);
        mag /= 10;
    } while (mag != 0 && i > 1);
    if (val < 0) {
        text[--i] = '-';
    }
    return mp_parse_num_integer(text + i, sizeof(text) - i, 10, NULL);
}

// An int object's value modulo the machine word (the caller checked it is an int).
mp_int_t mp_obj_int_get_truncated(mp_const_obj_t self_in) {
    return mp_obj_get_int_truncated((mp_obj_t)self_in);
}

// As the firmware's: an int object counts when its value fits a machine word (one may hold
// a small value: array('q') items are such objects), else OverflowError.
mp_int_t (mp_obj_get_int)(mp_const_obj_t arg) {
    if (mp_obj_is_small_int(arg)) {
        return MP_OBJ_SMALL_INT_VALUE(arg);
    }
    if (arg == mp_const_false || arg == mp_const_true) {
        return arg == mp_const_true;
    }
    if (mp_obj_get_type(arg) == &mp_type_int) {
        mp_int_t v = mp_obj_int_get_truncated(arg);
        if (mp_binary_op(MP_BINARY_OP_EQUAL, (mp_obj_t)arg, mp_obj_new_int(v)) == mp_const_true) {
            return v;
        }
        mp_raise_msg(MP_OBJ_TO_PTR(mp_load_global(MP_QSTR_OverflowError)),
            MP_ERROR_TEXT("overflow converting long int to machine word"));
    }
    mp_raise_TypeError(MP_ERROR_TEXT("can't convert to int"));
}

#if MICROPY_PY_BUILTINS_FLOAT
mp_float_t (mp_obj_get_float)(mp_obj_t o) {
    return mp_obj_get_float(o);
}

// printf's %.{prec}{fmt}, through the firmware's own float formatting (str % float).
int mp_format_float(mp_float_t f, char *buf, size_t bufSize, char fmt, int prec, char sign) {
    (void)sign;
    char spec[8] = { '%', '.', '0' + (char)(prec / 10 % 10), '0' + (char)(prec % 10), fmt };
    mp_obj_t text = mp_binary_op(MP_BINARY_OP_MODULO, mp_obj_new_str(spec, 5), mp_obj_new_float(f));
    size_t len;
    const char *s = mp_obj_str_get_data(text, &len);
    if (bufSize == 0) {
        return 0;
    }
    if (len > bufSize - 1) {
        len = bufSize - 1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return (int)len;
}
#endif

mp_obj_t (mp_obj_new_list)(size_t n, mp_obj_t *items) {
    return mp_obj_new_list(n, items);
}

mp_obj_t (mp_obj_list_append)(mp_obj_t list, mp_obj_t arg) {
    return mp_obj_list_append(list, arg);
}

void mp_obj_list_get(mp_obj_t self_in, size_t *len, mp_obj_t **items) {
    mp_obj_list_t *self = MP_OBJ_TO_PTR(self_in);
    *len = self->len;
    *items = self->items;
}

mp_obj_t (mp_obj_new_tuple)(size_t n, const mp_obj_t *items) {
    return mp_obj_new_tuple(n, items);
}

mp_obj_t (mp_obj_new_dict)(size_t n_args) {
    return mp_obj_new_dict(n_args);
}

mp_obj_t (mp_obj_dict_store)(mp_obj_t dict, mp_obj_t key, mp_obj_t value) {
    return mp_obj_dict_store(dict, key, value);
}

mp_obj_t mp_obj_new_set(size_t n_args, mp_obj_t *items) {
    return mp_fun_table.new_set(n_args, items);
}

void mp_obj_set_store(mp_obj_t self_in, mp_obj_t item) {
    mp_fun_table.set_store(self_in, item);
}

void (mp_obj_get_array)(mp_obj_t o, size_t *len, mp_obj_t **items) {
    mp_obj_get_array(o, len, items);
}

const mp_obj_type_t *(mp_obj_get_type)(mp_const_obj_t o) {
    return mp_obj_get_type(o);
}

bool (mp_get_buffer)(mp_obj_t obj, mp_buffer_info_t *bufinfo, mp_uint_t flags) {
    return mp_get_buffer(obj, bufinfo, flags);
}

void *(m_malloc)(size_t num_bytes) {
    return m_malloc(num_bytes);
}

void *m_malloc0(size_t num_bytes) {
    void *p = m_malloc(num_bytes);
    memset(p, 0, num_bytes);
    return p;
}

mp_obj_t (mp_binary_op)(mp_binary_op_t op, mp_obj_t lhs, mp_obj_t rhs) {
    return mp_binary_op(op, lhs, rhs);
}

// int(text) and float(text): the firmware's parsers, behind its builtins.
mp_obj_t mp_parse_num_integer(const char *restrict str, size_t len, int base, mp_lexer_t *lex) {
    (void)base;
    (void)lex;
    mp_obj_t text = mp_obj_new_str(str, len);
    return mp_call_function_n_kw(MP_OBJ_FROM_PTR(&mp_type_int), 1, 0, &text);
}

#if MICROPY_PY_BUILTINS_FLOAT
mp_obj_t mp_parse_num_decimal(const char *str, size_t len, bool allow_imag, bool force_complex, mp_lexer_t *lex) {
    (void)allow_imag;
    (void)force_complex;
    (void)lex;
    mp_obj_t text = mp_obj_new_str(str, len);
    return mp_call_function_n_kw(MP_OBJ_FROM_PTR(natmod_types[T_float]), 1, 0, &text);
}
#endif

mp_obj_t mp_obj_new_exception_args(const mp_obj_type_t *exc_type, size_t n_args, const mp_obj_t *args) {
    return mp_call_function_n_kw(MP_OBJ_FROM_PTR(exc_type), n_args, 0, args);
}

// raise StopIteration(value): how a waiter (modpicoredis.c) ends an await, where the
// firmware's own glue hands the value over without an exception object.
NORETURN void natmod_raise_stop_iteration(mp_obj_t value) {
    mp_raise_dyn(mp_call_function_n_kw(mp_load_global(MP_QSTR_StopIteration), 1, 0, &value));
}

// The qstr of an attribute name (a natmod cannot make new qstrs: names are qstrs already).
qstr natmod_str_qstr(mp_obj_t name) {
    if (!mp_obj_is_qstr(name)) {
        mp_raise_TypeError(MP_ERROR_TEXT("command name must be an interned str"));
    }
    return (qstr)(((mp_uint_t)name) >> 3); // (object representation A, as mp.rs requires)
}

// ---- calls ------------------------------------------------------------------------------

void (mp_store_attr)(mp_obj_t base, qstr attr, mp_obj_t val) {
    mp_store_attr(base, attr, val);
}

bool mp_obj_is_exception_instance(mp_obj_t self_in) {
    mp_obj_t args[2] = { self_in, mp_load_global(MP_QSTR_BaseException) };
    return mp_obj_is_true(mp_call_function_n_kw(mp_load_global(MP_QSTR_isinstance), 2, 0, args));
}

void (mp_load_method)(mp_obj_t base, qstr attr, mp_obj_t *dest) {
    mp_load_method(base, attr, dest);
}

void (mp_load_method_maybe)(mp_obj_t base, qstr attr, mp_obj_t *dest) {
    mp_load_method_maybe(base, attr, dest);
}

mp_obj_t (mp_load_attr)(mp_obj_t base, qstr attr) {
    return mp_load_attr(base, attr);
}

mp_obj_t mp_call_method_n_kw(size_t n_args, size_t n_kw, const mp_obj_t *args) {
    return mp_fun_table.call_method_n_kw(n_args, n_kw, args);
}

mp_obj_t (mp_call_function_n_kw)(mp_obj_t fun, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    return mp_call_function_n_kw(fun, n_args, n_kw, args);
}

mp_obj_t (mp_import_name)(qstr name, mp_obj_t fromlist, mp_obj_t level) {
    return mp_import_name(name, fromlist, level);
}

// ---- streams ----------------------------------------------------------------------------

const mp_stream_p_t *(mp_get_stream_raise)(mp_obj_t self_in, int flags) {
    return mp_get_stream_raise(self_in, flags);
}

// py/stream.c's mp_stream_rw: read or write up to `size` bytes (one call with
// MP_STREAM_RW_ONCE); the count and *errcode as the stream reported them.
mp_uint_t mp_stream_rw(mp_obj_t stream, void *buf_, mp_uint_t size, int *errcode, byte flags) {
    byte *buf = buf_;
    const mp_stream_p_t *p = MP_OBJ_TYPE_GET_SLOT(mp_obj_get_type(stream), protocol);
    mp_uint_t (*io_func)(mp_obj_t, void *, mp_uint_t, int *) =
        (flags & MP_STREAM_RW_WRITE) ? (void *)p->write : (void *)p->read;
    mp_uint_t done = 0;
    while (size > 0) {
        mp_uint_t out_sz = io_func(stream, buf, size, errcode);
        if (out_sz == MP_STREAM_ERROR) {
            return done;
        }
        if (out_sz == 0) {
            return done;
        }
        if (flags & MP_STREAM_RW_ONCE) {
            return out_sz;
        }
        buf += out_sz;
        size -= out_sz;
        done += out_sz;
    }
    return done;
}

mp_obj_t mp_stream_close(mp_obj_t stream) {
    const mp_stream_p_t *p = MP_OBJ_TYPE_GET_SLOT(mp_obj_get_type(stream), protocol);
    int err;
    mp_uint_t res = p->ioctl(stream, MP_STREAM_CLOSE, 0, &err);
    if (res == MP_STREAM_ERROR) {
        mp_raise_OSError(err);
    }
    return mp_const_none;
}

// ---- vstr: a growable buffer on the GC heap (py/vstr.c, without fixed buffers) ----------

void vstr_init(vstr_t *vstr, size_t alloc) {
    if (alloc < 1) {
        alloc = 1;
    }
    vstr->alloc = alloc;
    vstr->len = 0;
    vstr->buf = m_malloc(alloc);
    vstr->fixed_buf = false;
}

void vstr_clear(vstr_t *vstr) {
    if (!vstr->fixed_buf) {
        m_free(vstr->buf);
    }
    vstr->buf = NULL;
}

void vstr_hint_size(vstr_t *vstr, size_t size) {
    if (vstr->len + size > vstr->alloc) {
        size_t alloc = vstr->len + size + 16;
        vstr->buf = m_realloc(vstr->buf, alloc);
        vstr->alloc = alloc;
    }
}

void vstr_add_strn(vstr_t *vstr, const char *str, size_t len) {
    vstr_hint_size(vstr, len);
    memmove(vstr->buf + vstr->len, str, len);
    vstr->len += len;
}

static void vstr_print_strn(void *data, const char *str, size_t len) {
    vstr_add_strn(data, str, len);
}

void vstr_init_print(vstr_t *vstr, size_t alloc, mp_print_t *print) {
    vstr_init(vstr, alloc);
    print->data = vstr;
    print->print_strn = vstr_print_strn;
}

// The vstr's text as a new object; the buffer is freed (the firmware's own takes it over).
static mp_obj_t from_vstr(const mp_obj_type_t *type, vstr_t *vstr) {
    mp_obj_t o = mp_obj_new_str_of_type(type, (const byte *)vstr->buf, vstr->len);
    vstr_clear(vstr);
    return o;
}

mp_obj_t mp_obj_new_str_from_vstr(vstr_t *vstr) {
    return from_vstr(&mp_type_str, vstr);
}

mp_obj_t mp_obj_new_bytes_from_vstr(vstr_t *vstr) {
    return from_vstr(&mp_type_bytes, vstr);
}

// ---- output -----------------------------------------------------------------------------

static void print_obj_text(const mp_print_t *print, mp_obj_t text, size_t skip) {
    size_t len;
    const char *s = mp_obj_str_get_data(text, &len);
    if (skip <= len) {
        print->print_strn(print->data, s + skip, len - skip);
    }
}

// str(o) or repr(o), through the firmware's builtins.
void mp_obj_print_helper(const mp_print_t *print, mp_obj_t o_in, mp_print_kind_t kind) {
    mp_obj_t f = kind == PRINT_REPR ? mp_load_global(MP_QSTR_repr) : MP_OBJ_FROM_PTR(&mp_type_str);
    print_obj_text(print, mp_call_function_n_kw(f, 1, 0, &o_in), 0);
}

// The quoted text, as repr() shows a str (or a bytes, without its b).
void mp_str_print_quoted(const mp_print_t *print, const byte *str_data, size_t str_len, bool is_bytes) {
    mp_obj_t o = is_bytes ? mp_obj_new_bytes(str_data, str_len) : mp_obj_new_str((const char *)str_data, str_len);
    print_obj_text(print, mp_call_function_n_kw(mp_load_global(MP_QSTR_repr), 1, 0, &o), is_bytes ? 1 : 0);
}

// ---- time -------------------------------------------------------------------------------

// time.ticks_ms() with its wraps counted (natmod_ticks.h). (Not static: BSS, as above.)
natmod_ticks_t natmod_ticks;

mp_uint_t mp_hal_ticks_ms(void) {
    mp_obj_t t = mp_call_function_n_kw(natmod_ticks_ms, 0, 0, NULL);
    return natmod_ticks_unwrap(&natmod_ticks, (mp_uint_t)MP_OBJ_SMALL_INT_VALUE(t),
        (mp_uint_t)MP_SMALL_INT_POSITIVE_MASK + 1);
}

void mp_hal_delay_ms(mp_uint_t ms) {
    mp_obj_t arg = mp_obj_new_int_from_uint(ms);
    mp_call_function_n_kw(natmod_sleep_ms, 1, 0, &arg);
}
