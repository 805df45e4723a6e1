//! Finding one `<type byte><body>\r\n` line at the front of the input.

use crate::Error;

/// A complete line.
pub(crate) struct Line<'a> {
    pub ty: u8,
    /// Text between the type byte and CRLF; holds neither CR nor LF.
    pub body: &'a [u8],
    /// Bytes of the line including type byte and CRLF.
    pub used: usize,
}

/// Every type byte of RESP2 and RESP3 (streamed-chunk markers `;` and `.`
/// only occur inside streamed values, which are unsupported, so they are not
/// valid here).
fn is_type_byte(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b':'
            | b'$'
            | b'*'
            | b'_'
            | b','
            | b'#'
            | b'!'
            | b'='
            | b'('
            | b'%'
            | b'~'
            | b'>'
            | b'|'
    )
}

/// Scans `input` for a complete line. `Ok(None)` means "need more bytes".
///
/// `scanned` remembers how many body bytes are already known to contain no
/// CR/LF, so feeding a long line in many small pieces stays linear instead of
/// rescanning from the start each time. It is reset when a line completes.
///
/// A body longer than `max_len` is an error whether or not its CRLF has
/// arrived, so the verdict does not depend on how the input was split.
pub(crate) fn take<'a>(
    input: &'a [u8],
    scanned: &mut usize,
    max_len: usize,
) -> Result<Option<Line<'a>>, Error> {
    let Some((&ty, body)) = input.split_first() else {
        return Ok(None);
    };
    // Like hiredis, reject a bad type byte at once instead of waiting for CRLF.
    if !is_type_byte(ty) {
        return Err(Error::BadTypeByte);
    }
    let from = (*scanned).min(body.len());
    let tail = body.get(from..).unwrap_or(&[]);
    let Some(offset) = tail.iter().position(|&b| b == b'\r' || b == b'\n') else {
        if body.len() > max_len {
            return Err(Error::LineTooLong);
        }
        *scanned = body.len();
        return Ok(None);
    };
    let end = from.saturating_add(offset);
    if end > max_len {
        return Err(Error::LineTooLong);
    }
    let Some((text, rest)) = body.split_at_checked(end) else {
        return Err(Error::BadLine);
    };
    match rest {
        [b'\r', b'\n', ..] => {
            *scanned = 0;
            Ok(Some(Line {
                ty,
                body: text,
                used: end.saturating_add(3),
            }))
        }
        // CR is the last byte: the LF may be in the next read.
        [b'\r'] => {
            *scanned = end;
            Ok(None)
        }
        _ => Err(Error::BadLine),
    }
}
