"""The cffi-shaped host for PyPy (docs/hosts.md), parse side: the Rust `resp` parser
(pr_scan in src/scan.rs, called through cffi's ABI mode) turns reply bytes into flat
tokens; this Python code, which PyPy's JIT compiles, builds the objects. No Python object
crosses the C boundary, so cpyext is never involved."""

import cffi

import picoredis_proto

ffi = cffi.FFI()
ffi.cdef("""
    long pr_scan(const unsigned char *data, size_t len, int64_t *toks, size_t cap,
                 size_t max_replies, size_t *used, size_t *replies);
""")
lib = ffi.dlopen(picoredis_proto.picoredis_proto.__file__)

SIMPLE, ERROR, INT, NULL, BOOL, DOUBLE, BIGNUM, BULK, BULK_ERROR, ARRAY, MAP, SET, PUSH = range(13)


class Scanner:
    def __init__(self, cap=1 << 16):
        self.cap = cap
        self.toks = ffi.new("int64_t[]", 3 * cap)
        self.used = ffi.new("size_t *")
        self.replies = ffi.new("size_t *")

    def replies_of(self, data, max_replies):
        """The replies at the start of `data` (bytes), at most max_replies of them."""
        buf = ffi.from_buffer(data)
        n = lib.pr_scan(buf, len(data), self.toks, self.cap, max_replies, self.used, self.replies)
        if n < 0:
            raise ValueError("protocol error %d" % (-1 - n))
        out = []
        pos = 0
        toks = self.toks
        for _ in range(self.replies[0]):
            v, pos = build(data, toks, pos)
            out.append(v)
        return out


def build(data, toks, i):
    k = toks[3 * i]
    a = toks[3 * i + 1]
    b = toks[3 * i + 2]
    i += 1
    if k == BULK or k == SIMPLE:
        return data[a:a + b], i
    if k == ARRAY or k == PUSH:
        out = [None] * a
        for j in range(a):
            out[j], i = build(data, toks, i)
        return out, i
    if k == INT:
        return a, i
    if k == NULL:
        return None, i
    if k == MAP:
        d = {}
        for _ in range(a):
            key, i = build(data, toks, i)
            d[key], i = build(data, toks, i)
        return d, i
    if k == SET:
        s = set()
        for _ in range(a):
            v, i = build(data, toks, i)
            s.add(v)
        return s, i
    if k == BOOL:
        return bool(a), i
    if k == DOUBLE:
        return float(data[a:a + b]), i
    if k == BIGNUM:
        return int(data[a:a + b]), i
    return data[a:a + b], i  # errors: the prototype keeps their text
