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

#include "py/runtime.h"
#include "py/objexcept.h"
#include "py/objstr.h"
#include "picoredis_rs.h"

// The exceptions of the original picoredis: all direct subclasses of Exception.
MP_DEFINE_EXCEPTION(RedisError, Exception)
MP_DEFINE_EXCEPTION(ParseError, Exception)
MP_DEFINE_EXCEPTION(RedisTimeout, Exception)

// qstrs used only by the Rust core. The QSTR pass scans C sources, so they are named here;
// bindgen then reads their numbers from genhdr/qstrdefs.generated.h.
const qstr picoredis_rust_qstrs[] = {
    MP_QSTR_socket, MP_QSTR_getaddrinfo, MP_QSTR_connect, MP_QSTR_settimeout,
    MP_QSTR_close, MP_QSTR_SOCK_STREAM,
};

// Runs `op` and, if it raises, closes the client's connection before re-raising.
static mp_obj_t guarded(mp_obj_t self, picoredis_op_t op, size_t n_args, const mp_obj_t *args) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        picoredis_result_t res = op(self, n_args, args);
        nlr_pop();
        if (res.exc != MP_OBJ_NULL) {
            nlr_raise(res.exc);
        }
        return res.value;
    }
    picoredis_client_abort(self);
    nlr_jump(nlr.ret_val);
}

static MP_DEFINE_STR_OBJ(default_host_obj, "127.0.0.1");

// Redis(host='127.0.0.1', port=6379, timeout=3000, debug=False, server=None, sock=None)
static mp_obj_t redis_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *all_args) {
    enum { ARG_host, ARG_port, ARG_timeout, ARG_debug, ARG_server, ARG_sock };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_host, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_port, MP_ARG_INT, {.u_int = 6379} },
        { MP_QSTR_timeout, MP_ARG_INT, {.u_int = 3000} },
        { MP_QSTR_debug, MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_server, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_sock, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args, a);

    mp_obj_t host = a[ARG_host].u_obj != mp_const_none ? a[ARG_host].u_obj : a[ARG_server].u_obj;
    if (host == mp_const_none) {
        host = MP_OBJ_FROM_PTR(&default_host_obj);
    }
    if (a[ARG_timeout].u_int <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("timeout must be > 0 ms"));
    }
    mp_obj_t self = picoredis_client_new(type, host, a[ARG_port].u_int, a[ARG_timeout].u_int, a[ARG_debug].u_bool);
    mp_obj_t connect_args[1] = { a[ARG_sock].u_obj };
    guarded(self, picoredis_client_connect, 1, connect_args);
    return self;
}

// connect(host=None, port=None): (re)connect, keeping the previous value of a None argument.
static mp_obj_t redis_connect(size_t n_args, const mp_obj_t *args) {
    picoredis_client_set_address(args[0], n_args > 1 ? args[1] : mp_const_none, n_args > 2 ? args[2] : mp_const_none);
    mp_obj_t no_sock[1] = { mp_const_none };
    return guarded(args[0], picoredis_client_connect, 1, no_sock);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(redis_connect_obj, 1, 3, redis_connect);

static mp_obj_t redis_close(mp_obj_t self) {
    picoredis_client_abort(self);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(redis_close_obj, redis_close);

// do_cmd(cmd, *args) -> reply
static mp_obj_t redis_do_cmd(size_t n_args, const mp_obj_t *args) {
    return guarded(args[0], picoredis_client_command, n_args - 1, args + 1);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR(redis_do_cmd_obj, 2, redis_do_cmd);

static mp_obj_t redis_call(mp_obj_t self, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, MP_OBJ_FUN_ARGS_MAX, false);
    return guarded(self, picoredis_client_command, n_args, args);
}

// `redis.hset(...)`: a bound command, i.e. do_cmd with the attribute name as the command.
typedef struct {
    mp_obj_base_t base;
    mp_obj_t client;
    qstr name;
} picoredis_command_obj_t;

static mp_obj_t command_call(mp_obj_t self_in, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    picoredis_command_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_arg_check_num(n_args, n_kw, 0, MP_OBJ_FUN_ARGS_MAX, false);
    // The command name goes first; a small fixed array covers typical calls without a heap
    // allocation, longer ones take a temporary one.
    mp_obj_t small[8];
    mp_obj_t *argv = n_args + 1 <= MP_ARRAY_SIZE(small) ? small : m_new(mp_obj_t, n_args + 1);
    argv[0] = MP_OBJ_NEW_QSTR(self->name);
    for (size_t i = 0; i < n_args; i++) {
        argv[i + 1] = args[i];
    }
    mp_obj_t res = guarded(self->client, picoredis_client_command, n_args + 1, argv);
    if (argv != small) {
        m_del(mp_obj_t, argv, n_args + 1);
    }
    return res;
}

static MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_command_type,
    MP_QSTR_command,
    MP_TYPE_FLAG_NONE,
    call, command_call
    );

static const mp_rom_map_elem_t redis_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_connect), MP_ROM_PTR(&redis_connect_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&redis_close_obj) },
    { MP_ROM_QSTR(MP_QSTR_do_cmd), MP_ROM_PTR(&redis_do_cmd_obj) },
};
static MP_DEFINE_CONST_DICT(redis_locals, redis_locals_table);

// Names that become commands: ASCII letters and digits only, as in the original.
static bool is_command_name(qstr attr) {
    size_t len;
    const byte *s = qstr_data(attr, &len);
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

static void redis_attr(mp_obj_t self, qstr attr, mp_obj_t *dest) {
    if (attr == MP_QSTR_debug) {
        if (dest[0] == MP_OBJ_NULL) {
            dest[0] = mp_obj_new_bool(picoredis_client_get_debug(self));
        } else if (dest[1] != MP_OBJ_NULL) {
            picoredis_client_set_debug(self, mp_obj_is_true(dest[1]));
            dest[0] = MP_OBJ_NULL;
        }
        return;
    }
    if (dest[0] != MP_OBJ_NULL) {
        return; // no other attribute can be stored or deleted
    }
    // Methods (connect, close, do_cmd) are found in locals_dict: continue the lookup there.
    if (!is_command_name(attr) || mp_map_lookup(mp_obj_dict_get_map(MP_OBJ_FROM_PTR(&redis_locals)),
        MP_OBJ_NEW_QSTR(attr), MP_MAP_LOOKUP) != NULL) {
        dest[1] = MP_OBJ_SENTINEL;
        return;
    }
    picoredis_command_obj_t *cmd = mp_obj_malloc(picoredis_command_obj_t, &picoredis_command_type);
    cmd->client = self;
    cmd->name = attr;
    dest[0] = MP_OBJ_FROM_PTR(cmd);
}

MP_DEFINE_CONST_OBJ_TYPE(
    picoredis_type_Redis,
    MP_QSTR_Redis,
    MP_TYPE_FLAG_NONE,
    make_new, redis_make_new,
    call, redis_call,
    attr, redis_attr,
    locals_dict, &redis_locals
    );

static const mp_rom_map_elem_t picoredis_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_picoredis) },
    { MP_ROM_QSTR(MP_QSTR_Redis), MP_ROM_PTR(&picoredis_type_Redis) },
    { MP_ROM_QSTR(MP_QSTR_RedisError), MP_ROM_PTR(&mp_type_RedisError) },
    { MP_ROM_QSTR(MP_QSTR_ParseError), MP_ROM_PTR(&mp_type_ParseError) },
    { MP_ROM_QSTR(MP_QSTR_RedisTimeout), MP_ROM_PTR(&mp_type_RedisTimeout) },
};
static MP_DEFINE_CONST_DICT(picoredis_module_globals, picoredis_module_globals_table);

const mp_obj_module_t picoredis_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&picoredis_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_picoredis, picoredis_module);
