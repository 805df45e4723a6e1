//! What the parser hands back from each `next` call.

/// Result of one [`crate::Parser::next`] call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step<'a> {
    /// `input` holds no complete token. The first `consumed` bytes were used
    /// (for example skipped attributes); keep the rest, append more bytes and
    /// call again. `consumed` may be 0 while a line waits for its CRLF.
    NeedMore { consumed: usize },
    /// One token; drop `consumed` bytes from the front of `input`.
    Event { event: Event<'a>, consumed: usize },
    /// Protocol error. The parser stays failed until `reset`.
    Error(crate::Error),
}

/// One token of a reply. Slices borrow from the `input` given to `next`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event<'a> {
    /// `+text`: contains neither CR nor LF.
    Simple(&'a [u8]),
    /// `-text`: everything after the `-`.
    Error(&'a [u8]),
    /// `:n`, exact over the whole i64 range.
    Integer(i64),
    /// `$-1`, `*-1` (and the other `-1` lengths) and RESP3 `_`.
    Null,
    /// `#t` / `#f`.
    Bool(bool),
    /// `,` with validated text (`[-+]?d+[.d+][(e|E)[-+]?d+]`, `inf`, `-inf`,
    /// `+inf`, `nan`, `-nan`; case-insensitive words). The consumer converts
    /// it, so this crate carries no float parser. Out-of-range exponents
    /// (`1e999`) pass validation.
    Double(&'a [u8]),
    /// `(` with validated `[-]digits` text.
    BigNumber(&'a [u8]),
    /// Start of a bulk of `len` payload bytes (for `Verbatim`, without the
    /// `xxx:` prefix; see `Parser::verbatim_format`). `BulkChunk`s and one
    /// `BulkEnd` follow; the payload may instead be taken out of band with
    /// `Parser::consume_bulk`.
    BulkStart { kind: BulkKind, len: usize },
    /// Payload bytes; `consumed` equals the chunk length.
    BulkChunk(&'a [u8]),
    /// Payload complete and its trailing CRLF checked: the bulk value is done.
    BulkEnd,
    /// Start of an aggregate with `len` elements (`len` pairs for `Map`, so
    /// `2 * len` values follow). `len == 0` is already a complete value.
    AggregateStart { kind: AggKind, len: usize },
}

/// Flavour of a length-prefixed string.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BulkKind {
    /// `$`
    String,
    /// `!` (RESP3 blob error)
    Error,
    /// `=` (RESP3 verbatim string)
    Verbatim,
}

/// Flavour of an aggregate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AggKind {
    /// `*`
    Array,
    /// `%` (`len` is the number of key/value pairs)
    Map,
    /// `~`
    Set,
    /// `>` (out-of-band push message)
    Push,
}
