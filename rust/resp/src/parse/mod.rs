//! Reply side: an incremental pull parser for RESP2 and RESP3.
//!
//! [`Parser::next`] looks at the unconsumed input and returns one [`Step`]:
//! an [`Event`] plus the number of bytes it used, or `NeedMore`. The parser
//! never copies or buffers payload; the caller owns the byte buffer and may
//! resume with more bytes at any split point, even inside a CRLF. Bulk
//! payloads can be streamed as `BulkChunk`s or read straight from the socket
//! into their destination and acknowledged with [`Parser::consume_bulk`].
//!
//! Nesting is tracked in a fixed stack of remaining-child counts
//! (`heapless::Vec<usize, MAX_DEPTH>`), so the parser has a fixed size and no
//! recursion. When a value completes, finished aggregates are popped at once:
//! [`Parser::is_idle`] is true exactly between top-level replies.
//!
//! Protocol notes:
//! * RESP3 attributes (`|N`) are parsed and skipped internally: their keys
//!   and values, including bulk payloads and nested aggregates, are consumed
//!   without events, and the value they annotate is reported as usual.
//! * Streamed RESP3 strings and aggregates (`$?`, `*?`, ...) are rejected with
//!   [`Error::Unsupported`]; Redis never sends them.
//! * A length of `-1` on any bulk or aggregate type is [`Event::Null`] (as in
//!   hiredis); `|-1` is [`Error::BadLength`].
//! * Integers and lengths must be canonical decimals (no `+`, spaces, leading
//!   zeros or `-0`), as hiredis' `string2ll` requires.
//! * A protocol error poisons the parser: later `next` calls return
//!   `Error::Poisoned` until [`Parser::reset`].

mod event;
mod line;
mod scalar;

pub use event::{AggKind, BulkKind, Event, Step};
/// Redis' own rule for integer text (`string2ll`): also what a client can use to read
/// back an integer argument the server accepted.
pub use scalar::integer as parse_integer;
#[cfg(any(test, feature = "std"))]
pub use scalar::parse_double;

use crate::Error;

/// Capacity of the nesting stack; also the bit width of the attribute mask.
pub const MAX_DEPTH: usize = 64;

/// Bounds that keep a hostile or broken server from making the caller
/// allocate or wait for absurd amounts of data.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Limits {
    /// Maximum number of aggregates open inside each other (including empty
    /// ones and attributes). Clamped to [`MAX_DEPTH`].
    pub max_depth: usize,
    /// Maximum bulk payload length (Redis' `proto-max-bulk-len` default).
    pub max_bulk_len: usize,
    /// Maximum number of child values of one aggregate (2 per map pair).
    pub max_aggregate_len: usize,
    /// Maximum bytes between a line's type byte and its CRLF.
    pub max_line_len: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        max_depth: 32,
        max_bulk_len: 512 * 1024 * 1024,
        max_aggregate_len: 1 << 24,
        max_line_len: 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Where inside a value the parser is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Expecting a type byte (start of a value).
    Value,
    /// Expecting the 4-byte `xxx:` prefix of a verbatim string.
    VerbatimPrefix,
    /// Inside a bulk payload; `bulk_left` bytes to go.
    Payload,
    /// Expecting the CRLF after a bulk payload.
    Trailer,
}

/// What one internal token step produced.
enum Token<'a> {
    Need,
    /// Bytes used without anything to report (skipped or internal).
    Silent(usize),
    Emit(Event<'a>, usize),
}

/// The open aggregates' remaining child counts, innermost last: a fixed array, so the
/// parser has no drop glue (a MicroPython exception may longjmp over a frame holding one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Depths {
    counts: [usize; MAX_DEPTH],
    len: usize,
}

impl Depths {
    const fn new() -> Self {
        Depths {
            counts: [0; MAX_DEPTH],
            len: 0,
        }
    }
    fn len(&self) -> usize {
        self.len
    }
    fn is_empty(&self) -> bool {
        self.len == 0
    }
    fn push(&mut self, n: usize) -> Result<(), ()> {
        let slot = self.counts.get_mut(self.len).ok_or(())?;
        *slot = n;
        self.len += 1;
        Ok(())
    }
    fn last_mut(&mut self) -> Option<&mut usize> {
        let i = self.len.checked_sub(1)?;
        self.counts.get_mut(i)
    }
    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}

const _: () = assert!(!core::mem::needs_drop::<Parser>());

/// Incremental RESP reply parser. Fixed size, no heap.
#[derive(Clone, Debug)]
pub struct Parser {
    limits: Limits,
    /// Remaining children of each open aggregate, innermost last.
    stack: Depths,
    /// Bit `i` set: stack entry `i` is an attribute being skipped.
    attr_mask: u64,
    state: State,
    bulk_left: usize,
    /// Verbatim strings report their length without the prefix, so the
    /// header is held here until the prefix has been read.
    verbatim: [u8; 3],
    /// Body bytes of the pending line already scanned (see `line::take`).
    scanned: usize,
    /// An attribute was skipped and the value it annotates has not started.
    annotated: bool,
    error: Option<Error>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(Limits::DEFAULT)
    }
}

impl Parser {
    pub const fn new(limits: Limits) -> Self {
        let mut limits = limits;
        if limits.max_depth > MAX_DEPTH {
            limits.max_depth = MAX_DEPTH;
        }
        Parser {
            limits,
            stack: Depths::new(),
            attr_mask: 0,
            state: State::Value,
            bulk_left: 0,
            verbatim: [0; 3],
            scanned: 0,
            annotated: false,
            error: None,
        }
    }

    /// Back to idle with the same limits; clears any error.
    pub fn reset(&mut self) {
        *self = Parser::new(self.limits);
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// True between top-level replies: no partial value and nothing open.
    pub fn is_idle(&self) -> bool {
        self.error.is_none()
            && self.state == State::Value
            && self.stack.is_empty()
            && !self.annotated
    }

    /// Number of open aggregates (attributes being skipped included).
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// The protocol error that poisoned the parser, if any.
    pub fn error(&self) -> Option<Error> {
        self.error
    }

    /// Format of the last verbatim string (`txt`, `mkd`, ...).
    pub fn verbatim_format(&self) -> [u8; 3] {
        self.verbatim
    }

    /// Payload bytes still expected for the current bulk; 0 outside a
    /// payload and while an attribute's payload is being skipped.
    pub fn bulk_remaining(&self) -> usize {
        if self.state == State::Payload && self.attr_mask == 0 && self.error.is_none() {
            self.bulk_left
        } else {
            0
        }
    }

    /// Records that the caller took `n` payload bytes of the current bulk
    /// itself (e.g. read them from the socket straight into the destination).
    /// `BulkEnd` follows once the payload is complete and its CRLF is read.
    /// `n > bulk_remaining()` is a caller bug: `Err(BulkOverrun)`, nothing
    /// changes and the parser is not poisoned.
    pub fn consume_bulk(&mut self, n: usize) -> Result<(), Error> {
        if let Some(_e) = self.error {
            return Err(Error::Poisoned);
        }
        let left = self
            .bulk_remaining()
            .checked_sub(n)
            .ok_or(Error::BulkOverrun)?;
        if n > 0 {
            self.bulk_left = left;
            if left == 0 {
                self.state = State::Trailer;
            }
        }
        Ok(())
    }

    /// A whole bulk string (`$` or `!`) at the front of `input`, taken in one step when
    /// a value starts there and its header, payload and CRLF are all in `input`: returns
    /// its kind, its payload and the bytes it used, and leaves the parser where `next`,
    /// `consume_bulk` and `next` (the `BulkEnd`) would have. `None` for anything else,
    /// the parser unchanged: the caller goes on with `next`, which also reports every
    /// error (a bad length, a missing CRLF: this never fails).
    ///
    /// The fast path of a reply builder: most replies of a pipeline and every element of
    /// an `LRANGE` are small bulk strings that arrived whole.
    pub fn whole_bulk<'a>(&mut self, input: &'a [u8]) -> Option<(BulkKind, &'a [u8], usize)> {
        let kind = match input.first() {
            Some(b'$') => BulkKind::String,
            Some(b'!') => BulkKind::Error,
            _ => return None,
        };
        if self.error.is_some() || self.state != State::Value || self.attr_mask != 0 {
            return None;
        }
        // A canonical length (no sign, no leading zero), then CRLF.
        let mut len = 0usize;
        let mut i = 1;
        loop {
            match *input.get(i)? {
                d @ b'0'..=b'9' if i == 1 || len != 0 => {
                    len = len.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
                }
                b'\r' if i > 1 => break,
                _ => return None,
            }
            i += 1;
        }
        // Past a limit `next` would refuse, leave the verdict (the error) to it.
        let too_long = i.saturating_sub(1) > self.limits.max_line_len;
        if input.get(i + 1) != Some(&b'\n') || len > self.limits.max_bulk_len || too_long {
            return None;
        }
        let start = i + 2;
        let end = start.checked_add(len)?;
        let payload = input.get(start..end)?;
        if input.get(end..end.checked_add(2)?)? != b"\r\n" {
            return None;
        }
        self.scanned = 0;
        self.annotated = false;
        self.complete();
        Some((kind, payload, end + 2))
    }

    /// Parses the next token at the front of `input`.
    pub fn next<'a>(&mut self, input: &'a [u8]) -> Step<'a> {
        if self.error.is_some() {
            return Step::Error(Error::Poisoned);
        }
        // Silent tokens (attributes, verbatim headers) do not return, so one
        // call may use several tokens; `pos` counts their bytes.
        let mut pos = 0usize;
        loop {
            let rest = input.get(pos..).unwrap_or(&[]);
            match self.token(rest) {
                Ok(Token::Need) => return Step::NeedMore { consumed: pos },
                Ok(Token::Silent(n)) => pos = pos.saturating_add(n),
                Ok(Token::Emit(event, n)) => {
                    return Step::Event {
                        event,
                        consumed: pos.saturating_add(n),
                    }
                }
                Err(e) => {
                    self.error = Some(e);
                    return Step::Error(e);
                }
            }
        }
    }

    fn token<'a>(&mut self, input: &'a [u8]) -> Result<Token<'a>, Error> {
        // Decided before the token changes the stack: the last value of an
        // attribute is itself still skipped.
        let skip = self.attr_mask != 0;
        let emit = |event, n| {
            if skip {
                Token::Silent(n)
            } else {
                Token::Emit(event, n)
            }
        };
        match self.state {
            State::Value => self.value(input, emit),
            State::VerbatimPrefix => {
                let Some((prefix, _)) = input.split_first_chunk::<4>() else {
                    return Ok(Token::Need);
                };
                let [a, b, c, colon] = *prefix;
                if colon != b':' {
                    return Err(Error::BadVerbatim);
                }
                self.verbatim = [a, b, c];
                let len = self.bulk_left;
                self.state = if len == 0 {
                    State::Trailer
                } else {
                    State::Payload
                };
                Ok(emit(
                    Event::BulkStart {
                        kind: BulkKind::Verbatim,
                        len,
                    },
                    4,
                ))
            }
            State::Payload => {
                let n = self.bulk_left.min(input.len());
                let Some((chunk, _)) = input.split_at_checked(n).filter(|_| n > 0) else {
                    return Ok(Token::Need);
                };
                self.bulk_left = self.bulk_left.saturating_sub(n);
                if self.bulk_left == 0 {
                    self.state = State::Trailer;
                }
                Ok(emit(Event::BulkChunk(chunk), n))
            }
            State::Trailer => match input {
                [b'\r', b'\n', ..] => {
                    self.state = State::Value;
                    self.complete();
                    Ok(emit(Event::BulkEnd, 2))
                }
                [] | [b'\r'] => Ok(Token::Need),
                _ => Err(Error::BadBulkTerminator),
            },
        }
    }

    /// A value starts: one header or scalar line.
    fn value<'a>(
        &mut self,
        input: &'a [u8],
        emit: impl Fn(Event<'a>, usize) -> Token<'a>,
    ) -> Result<Token<'a>, Error> {
        let Some(line) = line::take(input, &mut self.scanned, self.limits.max_line_len)? else {
            return Ok(Token::Need);
        };
        self.annotated = false;
        let body = line.body;
        let event = match line.ty {
            b'+' => Event::Simple(body),
            b'-' => Event::Error(body),
            b':' => Event::Integer(scalar::integer(body).ok_or(Error::BadInteger)?),
            b'_' if body.is_empty() => Event::Null,
            b'_' => return Err(Error::BadNull),
            b'#' => match body {
                b"t" => Event::Bool(true),
                b"f" => Event::Bool(false),
                _ => return Err(Error::BadBoolean),
            },
            b',' if scalar::is_double(body) => Event::Double(body),
            b',' => return Err(Error::BadDouble),
            b'(' if scalar::is_big_number(body) => Event::BigNumber(body),
            b'(' => return Err(Error::BadBigNumber),
            b'$' | b'!' | b'=' => match length(body)? {
                Some(len) => return self.bulk(line.ty, len, line.used, emit),
                None => Event::Null,
            },
            b'*' | b'%' | b'~' | b'>' | b'|' => match length(body)? {
                Some(len) => return self.aggregate(line.ty, len, line.used, emit),
                None if line.ty == b'|' => return Err(Error::BadLength),
                None => Event::Null,
            },
            _ => return Err(Error::BadTypeByte),
        };
        self.complete();
        Ok(emit(event, line.used))
    }

    fn bulk<'a>(
        &mut self,
        ty: u8,
        len: u64,
        used: usize,
        emit: impl Fn(Event<'a>, usize) -> Token<'a>,
    ) -> Result<Token<'a>, Error> {
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= self.limits.max_bulk_len)
            .ok_or(Error::BulkTooLong)?;
        let kind = match ty {
            b'$' => BulkKind::String,
            b'!' => BulkKind::Error,
            _ => {
                // BulkStart waits for the prefix so its `len` can exclude it.
                self.bulk_left = len.checked_sub(4).ok_or(Error::BadVerbatim)?;
                self.state = State::VerbatimPrefix;
                return Ok(Token::Silent(used));
            }
        };
        self.bulk_left = len;
        self.state = if len == 0 {
            State::Trailer
        } else {
            State::Payload
        };
        Ok(emit(Event::BulkStart { kind, len }, used))
    }

    fn aggregate<'a>(
        &mut self,
        ty: u8,
        len: u64,
        used: usize,
        emit: impl Fn(Event<'a>, usize) -> Token<'a>,
    ) -> Result<Token<'a>, Error> {
        let (kind, pairs) = match ty {
            b'*' => (Some(AggKind::Array), false),
            b'%' => (Some(AggKind::Map), true),
            b'~' => (Some(AggKind::Set), false),
            b'>' => (Some(AggKind::Push), false),
            _ => (None, true), // `|` attribute
        };
        let children = if pairs { len.checked_mul(2) } else { Some(len) };
        let children = children
            .and_then(|c| usize::try_from(c).ok())
            .filter(|&c| c <= self.limits.max_aggregate_len)
            .ok_or(Error::AggregateTooLong)?;
        if self.stack.len() >= self.limits.max_depth {
            return Err(Error::DepthExceeded);
        }
        if children > 0 {
            let bit = 1u64.checked_shl(self.stack.len() as u32).unwrap_or(0);
            self.stack
                .push(children)
                .map_err(|_| Error::DepthExceeded)?;
            if kind.is_none() {
                self.attr_mask |= bit;
            }
        }
        let Some(kind) = kind else {
            // `|0` annotates the next value with nothing; still wait for it.
            self.annotated = children == 0;
            return Ok(Token::Silent(used));
        };
        if children == 0 {
            self.complete();
        }
        // `len` <= `children`, which fits in usize.
        let len = usize::try_from(len).unwrap_or(children);
        Ok(emit(Event::AggregateStart { kind, len }, used))
    }

    /// A value just completed: count it against its parent and pop every
    /// aggregate this finishes. A finished attribute is not a value of its
    /// parent (the value it annotates still follows), so popping stops there.
    fn complete(&mut self) {
        while let Some(top) = self.stack.last_mut() {
            *top = top.saturating_sub(1);
            if *top > 0 {
                return;
            }
            self.stack.pop();
            let bit = 1u64.checked_shl(self.stack.len() as u32).unwrap_or(0);
            if self.attr_mask & bit != 0 {
                self.attr_mask &= !bit;
                self.annotated = true;
                return;
            }
        }
    }
}

/// Length of a bulk or aggregate header: `None` for `-1`.
fn length(body: &[u8]) -> Result<Option<u64>, Error> {
    if body == b"?" {
        return Err(Error::Unsupported);
    }
    match scalar::integer(body) {
        Some(-1) => Ok(None),
        Some(n) => u64::try_from(n).map(Some).map_err(|_| Error::BadLength),
        None => Err(Error::BadLength),
    }
}

#[cfg(test)]
mod tests;
