//! Protocol errors. A plain `#[repr(u8)]` enum so the MicroPython glue can
//! turn it into an exception message without `core::fmt`.

/// Why the parser stopped. After any error except [`Error::BulkOverrun`]
/// (a caller mistake reported by `consume_bulk`) the parser is poisoned
/// until [`crate::Parser::reset`].
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    /// The first byte of a value is not a RESP2/RESP3 type byte.
    BadTypeByte,
    /// `:` line is not a canonical decimal i64.
    BadInteger,
    /// A length/count is not a canonical decimal, or is below -1.
    BadLength,
    /// A lone CR or LF inside a line.
    BadLine,
    /// A bulk payload is not followed by CRLF.
    BadBulkTerminator,
    /// `,` line is not a valid double.
    BadDouble,
    /// `#` line is not `t` or `f`.
    BadBoolean,
    /// `_` line has content.
    BadNull,
    /// `(` line is not `[-]digits`.
    BadBigNumber,
    /// `=` payload shorter than 4 bytes or without the `xxx:` prefix.
    BadVerbatim,
    /// Streamed RESP3 values (`$?`, `*?`, ...) are not supported.
    Unsupported,
    /// Aggregates nested deeper than `Limits::max_depth`.
    DepthExceeded,
    /// Bulk length above `Limits::max_bulk_len`.
    BulkTooLong,
    /// Aggregate child count above `Limits::max_aggregate_len`.
    AggregateTooLong,
    /// A line longer than `Limits::max_line_len`.
    LineTooLong,
    /// `consume_bulk` was asked for more bytes than the payload has left.
    BulkOverrun,
    /// The parser already failed; call `reset`.
    Poisoned,
}

impl Error {
    /// Human readable text, suitable for an exception message.
    pub fn message(self) -> &'static str {
        match self {
            Error::BadTypeByte => "invalid type byte",
            Error::BadInteger => "invalid integer",
            Error::BadLength => "invalid length",
            Error::BadLine => "CR or LF inside a line",
            Error::BadBulkTerminator => "bulk payload not followed by CRLF",
            Error::BadDouble => "invalid double",
            Error::BadBoolean => "invalid boolean",
            Error::BadNull => "invalid null",
            Error::BadBigNumber => "invalid big number",
            Error::BadVerbatim => "invalid verbatim string",
            Error::Unsupported => "streamed RESP3 values are not supported",
            Error::DepthExceeded => "aggregates nested too deep",
            Error::BulkTooLong => "bulk string too long",
            Error::AggregateTooLong => "aggregate too long",
            Error::LineTooLong => "line too long",
            Error::BulkOverrun => "consume_bulk: more bytes than the bulk has left",
            Error::Poisoned => "parser failed earlier, reset required",
        }
    }
}
