//! Validation of the text of single-line values. Pure functions on the line
//! body (after the type byte, before CRLF).

/// Canonical decimal i64 as Redis writes it (and hiredis' `string2ll`
/// accepts): optional `-`, no `+`, no spaces, no leading zeros, no `-0`.
/// Accumulating towards the sign keeps `i64::MIN` exact.
pub fn integer(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!neg).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut v: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = i64::from(b - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// Splits a run of ASCII digits off the front: (digit count, rest).
fn digits(text: &[u8]) -> (usize, &[u8]) {
    let n = text.iter().take_while(|b| b.is_ascii_digit()).count();
    (n, text.get(n..).unwrap_or(&[]))
}

/// `[-+]?digits[.digits][(e|E)[-+]?digits]`, or a signed `inf`/`nan` in any
/// case (hiredis accepts `inf`, `-inf`, `nan`, `-nan` case-insensitively).
pub(crate) fn is_double(text: &[u8]) -> bool {
    let unsigned = match text {
        [b'-' | b'+', rest @ ..] => rest,
        _ => text,
    };
    if unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"nan") {
        return true;
    }
    let (n, mut rest) = digits(unsigned);
    if n == 0 {
        return false;
    }
    if let [b'.', frac @ ..] = rest {
        let (n, r) = digits(frac);
        if n == 0 {
            return false;
        }
        rest = r;
    }
    if let [b'e' | b'E', exp @ ..] = rest {
        let exp = match exp {
            [b'-' | b'+', e @ ..] => e,
            _ => exp,
        };
        let (n, r) = digits(exp);
        if n == 0 {
            return false;
        }
        rest = r;
    }
    rest.is_empty()
}

/// `[-]digits`.
pub(crate) fn is_big_number(text: &[u8]) -> bool {
    let unsigned = match text {
        [b'-', rest @ ..] => rest,
        _ => text,
    };
    !unsigned.is_empty() && unsigned.iter().all(u8::is_ascii_digit)
}

/// Converts validated `Double` text; host-side helper for tests and tools
/// (the firmware converts with MicroPython's own float parser).
#[cfg(any(test, feature = "std"))]
pub fn parse_double(text: &[u8]) -> Option<f64> {
    if !is_double(text) {
        return None;
    }
    let s = core::str::from_utf8(text).ok()?;
    let (neg, word) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if word.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    let v: f64 = word.parse().ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let ok: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
        ];
        for &(t, v) in ok {
            assert_eq!(integer(t), Some(v), "{t:?}");
        }
        let bad: &[&[u8]] = &[
            b"",
            b"-",
            b"+",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1a",
            b"--1",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
        ];
        for &t in bad {
            assert_eq!(integer(t), None, "{t:?}");
        }
    }

    #[test]
    fn doubles() {
        let ok: &[&[u8]] = &[
            b"3.14", b"-1.5e10", b"1", b"0", b"+2", b"1E-5", b"1e+5", b"inf", b"-inf", b"+inf",
            b"nan", b"-nan", b"NaN", b"INF", b"00.5",
        ];
        for &t in ok {
            assert!(is_double(t), "{t:?}");
            assert!(parse_double(t).is_some(), "{t:?}");
        }
        let bad: &[&[u8]] = &[
            b"",
            b"1.2.3",
            b"abc",
            b".5",
            b"1.",
            b"-",
            b"e5",
            b"1e",
            b"1e+",
            b"infinity",
            b"1 ",
            b"0x10",
            b"--1",
        ];
        for &t in bad {
            assert!(!is_double(t), "{t:?}");
        }
        assert_eq!(parse_double(b"-1.5e10"), Some(-1.5e10));
        assert_eq!(parse_double(b"-inf"), Some(f64::NEG_INFINITY));
        assert!(parse_double(b"-nan").is_some_and(f64::is_nan));
    }

    #[test]
    fn big_numbers() {
        for t in [&b"1"[..], b"-12345678901234567890123", b"007"] {
            assert!(is_big_number(t));
        }
        for t in [&b""[..], b"-", b"+1", b"1.0", b"1 "] {
            assert!(!is_big_number(t));
        }
    }
}
