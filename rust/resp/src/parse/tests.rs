//! Table-driven reader cases (after hiredis' test.c). Every input is also run
//! byte at a time and with out-of-band bulk reads; all must agree.

use super::*;
use crate::testkit::{drive_all_ways, End};
use std::string::String;
use std::vec::Vec;
use std::{format, vec};

fn run(input: &[u8]) -> String {
    drive_all_ways(input, Limits::default()).render()
}

fn run_with(input: &[u8], limits: Limits) -> String {
    drive_all_ways(input, limits).render()
}

#[test]
fn table() {
    let cases: &[(&[u8], &str)] = &[
        // simple lines
        (b"+OK\r\n", "+OK"),
        (b"+\r\n", "+"),
        (b"-ERR unknown command\r\n", "-ERR unknown command"),
        (b"+a\rb\r\n", "ERR(BadLine)"),
        (b"+a\nb\r\n", "ERR(BadLine)"),
        (b"-a\rb\r\n", "ERR(BadLine)"),
        (b"+OK\n", "ERR(BadLine)"),
        (b"+OK\r", "..."),
        (b"+OK", "..."),
        // type byte
        (b"@foo\r\n", "ERR(BadTypeByte)"),
        (b"x", "ERR(BadTypeByte)"),
        (b"*1\r\n@\r\n", "ERR(BadTypeByte)"),
        (b";4\r\nabcd\r\n", "ERR(BadTypeByte)"),
        // integers
        (b":0\r\n", ":0"),
        (b":-1\r\n", ":-1"),
        (b":9223372036854775807\r\n", ":9223372036854775807"),
        (b":-9223372036854775808\r\n", ":-9223372036854775808"),
        (b":9223372036854775808\r\n", "ERR(BadInteger)"),
        (b":-9223372036854775809\r\n", "ERR(BadInteger)"),
        (b":\r\n", "ERR(BadInteger)"),
        (b":-\r\n", "ERR(BadInteger)"),
        (b":+1\r\n", "ERR(BadInteger)"),
        (b": 1\r\n", "ERR(BadInteger)"),
        (b":1 \r\n", "ERR(BadInteger)"),
        (b":01\r\n", "ERR(BadInteger)"),
        (b":1\r2\r\n", "ERR(BadLine)"),
        // bulk strings
        (b"$3\r\nabc\r\n", "$\"abc\""),
        (b"$0\r\n\r\n", "$\"\""),
        (b"$-1\r\n", "_"),
        (b"$-2\r\n", "ERR(BadLength)"),
        (b"$6\r\n\r\n*1\r\n\r\n", "$\"\\r\\n*1\\r\\n\""),
        (b"$4\r\n$1\r\n\r\n", "$\"$1\\r\\n\""),
        (b"$3\r\nabcXY", "ERR(BadBulkTerminator)"),
        (b"$3\r\nabc\rX", "ERR(BadBulkTerminator)"),
        (b"$3\r\nabc\n\r", "ERR(BadBulkTerminator)"),
        (b"$3\r\nabc\r", "..."),
        (b"$3\r\nab", "..."),
        (b"$1x\r\n", "ERR(BadLength)"),
        (b"$\r\n", "ERR(BadLength)"),
        (b"$+1\r\na\r\n", "ERR(BadLength)"),
        (b"$99999999999999999999\r\n", "ERR(BadLength)"),
        (b"$2147483647\r\n", "ERR(BulkTooLong)"),
        (b"$536870913\r\n", "ERR(BulkTooLong)"),
        (b"$?\r\n;4\r\nabcd\r\n;0\r\n", "ERR(Unsupported)"),
        // arrays
        (b"*0\r\n", "*[]"),
        (b"*-1\r\n", "_"),
        (b"*-2\r\n", "ERR(BadLength)"),
        (b"*2\r\n:1\r\n$1\r\na\r\n", "*[:1 $\"a\"]"),
        (b"*2\r\n*0\r\n*1\r\n*-1\r\n", "*[*[] *[_]]"),
        (b"*3\r\n:1\r\n", "..."),
        (b"*4611686018427387904\r\n", "ERR(AggregateTooLong)"),
        (b"*16777217\r\n", "ERR(AggregateTooLong)"),
        (b"*9223372036854775807\r\n", "ERR(AggregateTooLong)"),
        (b"*?\r\n:1\r\n.\r\n", "ERR(Unsupported)"),
        (b"*1\r\n+a\r\n*1\r\n+b\r\n", "*[+a] *[+b]"),
        // RESP3 scalars
        (b"_\r\n", "_"),
        (b"_nil\r\n", "ERR(BadNull)"),
        (b"#t\r\n", "#t"),
        (b"#f\r\n", "#f"),
        (b"#foobar\r\n", "ERR(BadBoolean)"),
        (b"#\r\n", "ERR(BadBoolean)"),
        (b",3.14\r\n", ",3.14"),
        (b",-1.5e10\r\n", ",-1.5e10"),
        (b",inf\r\n", ",inf"),
        (b",-inf\r\n", ",-inf"),
        (b",nan\r\n", ",nan"),
        (b",1\r\n", ",1"),
        (b",1.2.3\r\n", "ERR(BadDouble)"),
        (b",\r\n", "ERR(BadDouble)"),
        (b",abc\r\n", "ERR(BadDouble)"),
        (
            b"(3492890328409238509324850943850943825024385\r\n",
            "(3492890328409238509324850943850943825024385",
        ),
        (b"(-1\r\n", "(-1"),
        (b"(1.5\r\n", "ERR(BadBigNumber)"),
        (b"(\r\n", "ERR(BadBigNumber)"),
        // RESP3 blobs
        (
            b"!21\r\nSYNTAX invalid syntax\r\n",
            "!\"SYNTAX invalid syntax\"",
        ),
        (b"!-1\r\n", "_"),
        (b"=15\r\ntxt:Some string\r\n", "=txt\"Some string\""),
        (b"=4\r\nmkd:\r\n", "=mkd\"\""),
        (b"=3\r\ntxt\r\n", "ERR(BadVerbatim)"),
        (b"=5\r\ntxt;x\r\n", "ERR(BadVerbatim)"),
        (b"=-1\r\n", "_"),
        // RESP3 aggregates
        (b"%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%[+a :1 +b :2]"),
        (b"%0\r\n", "%[]"),
        (b"%-1\r\n", "_"),
        (b"%1\r\n+a\r\n", "..."),
        (b"%4611686018427387904\r\n", "ERR(AggregateTooLong)"),
        (b"%9223372036854775807\r\n", "ERR(AggregateTooLong)"),
        (b"~3\r\n+a\r\n+b\r\n+c\r\n", "~[+a +b +c]"),
        (
            b">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n",
            ">[+message +ch $\"hi\"]",
        ),
        (
            b"*2\r\n%1\r\n+k\r\n~1\r\n:1\r\n>0\r\n",
            "*[%[+k ~[:1]] >[]]",
        ),
        // attributes are skipped
        (b"|1\r\n+ttl\r\n:3\r\n+OK\r\n", "+OK"),
        (b"|1\r\n+ttl\r\n:3\r\n", "..."),
        (b"|0\r\n:5\r\n", ":5"),
        (b"|0\r\n", "..."),
        (b"|-1\r\n:5\r\n", "ERR(BadLength)"),
        (
            b"*2\r\n:1\r\n|1\r\n$3\r\nk\r\n\r\n*2\r\n$2\r\nab\r\n=5\r\ntxt:x\r\n:2\r\n",
            "*[:1 :2]",
        ),
        (b"|1\r\n+a\r\n|1\r\n+b\r\n+c\r\n+d\r\n*0\r\n", "*[]"),
        (b"|1\r\n|1\r\n+a\r\n+b\r\n+c\r\n+d\r\n:7\r\n", ":7"),
        (
            b"*1\r\n|1\r\n+a\r\n+b\r\n*1\r\n|1\r\n+c\r\n+d\r\n+e\r\n",
            "*[*[+e]]",
        ),
        (b"|1\r\n+a\r\n$2\r\nabX\r\n", "ERR(BadBulkTerminator)"),
        (b"|1\r\n+a\r\n#x\r\n", "ERR(BadBoolean)"),
        // hiredis: error after a partial aggregate, bulk header split mid-array
        (b"*2\r\n$5\r\nhello\r\n@foo\r\n", "ERR(BadTypeByte)"),
        (
            b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$3\r\nval\r\n",
            "*[$\"SET\" $\"hello\" $\"val\"]",
        ),
        (b",3.14159265358979323846\r\n", ",3.14159265358979323846"),
        (b",1.23e\r\n", "ERR(BadDouble)"),
        (b",infinity\r\n", "ERR(BadDouble)"),
        (b",-nan\r\n", ",-nan"),
        (b"*2\r\n,1.5\r\n,-inf\r\n", "*[,1.5 ,-inf]"),
        // several replies in one buffer
        (b"+OK\r\n:1\r\n$-1\r\n", "+OK :1 _"),
    ];
    let mut failures = Vec::new();
    for &(input, want) in cases {
        let got = run(input);
        if got != want {
            failures.push(format!(
                "{:?}: got {got:?}, want {want:?}",
                input.escape_ascii().to_string()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

use std::string::ToString;

fn nested(depth: usize) -> Vec<u8> {
    let mut v = b"*1\r\n".repeat(depth.saturating_sub(1));
    v.extend_from_slice(b"*0\r\n");
    v
}

#[test]
fn depth_limit() {
    let lim = Limits::default();
    assert_eq!(lim.max_depth, 32);
    let ok = "*[".repeat(32) + &"]".repeat(32);
    assert_eq!(run(&nested(32)), ok);
    assert_eq!(run(&nested(33)), "ERR(DepthExceeded)");
    // Same limit for non-empty innermost aggregates.
    let mut v = b"*1\r\n".repeat(32);
    v.extend_from_slice(b":1\r\n");
    assert!(run(&v).starts_with("*[*["));
    let mut v = b"*1\r\n".repeat(33);
    v.extend_from_slice(b":1\r\n");
    assert_eq!(run(&v), "ERR(DepthExceeded)");
    // Clamp to MAX_DEPTH.
    let deep = Limits {
        max_depth: 1000,
        ..lim
    };
    assert_eq!(Parser::new(deep).limits().max_depth, MAX_DEPTH);
    assert!(!run_with(&nested(64), deep).starts_with("ERR"));
    assert_eq!(run_with(&nested(65), deep), "ERR(DepthExceeded)");
    // Zero: scalars only.
    let flat = Limits {
        max_depth: 0,
        ..lim
    };
    assert_eq!(run_with(b":1\r\n", flat), ":1");
    assert_eq!(run_with(b"*0\r\n", flat), "ERR(DepthExceeded)");
    // Attributes count while they are open.
    let two = Limits {
        max_depth: 2,
        ..lim
    };
    assert_eq!(run_with(b"*1\r\n|1\r\n+a\r\n+b\r\n*0\r\n", two), "*[*[]]");
    assert_eq!(
        run_with(b"*1\r\n|1\r\n*0\r\n+b\r\n+c\r\n", two),
        "ERR(DepthExceeded)"
    );
}

#[test]
fn size_limits() {
    let d = Limits::default();
    assert_eq!(
        (
            d.max_depth,
            d.max_bulk_len,
            d.max_aggregate_len,
            d.max_line_len
        ),
        (32, 512 << 20, 1 << 24, 1024)
    );
    let lim = Limits {
        max_bulk_len: 3,
        max_aggregate_len: 4,
        max_line_len: 5,
        ..Limits::default()
    };
    assert_eq!(run_with(b"$3\r\nabc\r\n", lim), "$\"abc\"");
    assert_eq!(run_with(b"$4\r\n", lim), "ERR(BulkTooLong)");
    assert_eq!(run_with(b"=7\r\ntxt:abc\r\n", lim), "ERR(BulkTooLong)");
    assert_eq!(
        run_with(b"*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", lim),
        "*[:1 :2 :3 :4]"
    );
    assert_eq!(run_with(b"*5\r\n", lim), "ERR(AggregateTooLong)");
    assert_eq!(run_with(b"%2\r\n", lim), "...");
    assert_eq!(run_with(b"%3\r\n", lim), "ERR(AggregateTooLong)");
    assert_eq!(run_with(b"|3\r\n", lim), "ERR(AggregateTooLong)");
    // Line bodies up to max_line_len; longer fails with or without CRLF.
    assert_eq!(run_with(b"+abcde\r\n", lim), "+abcde");
    assert_eq!(run_with(b"+abcdef\r\n", lim), "ERR(LineTooLong)");
    assert_eq!(run_with(b"+abcdef", lim), "ERR(LineTooLong)");
    assert_eq!(run_with(b"+abcde", lim), "...");
    assert_eq!(run_with(b"+abcde\r", lim), "...");
    assert_eq!(run_with(b"+abcdef\n", lim), "ERR(LineTooLong)");
    let long = [b"+".as_slice(), &[b'x'; 1025], b"\r\n"].concat();
    assert_eq!(run(&long), "ERR(LineTooLong)");
}

/// Split CRLF and split length across feeds, with explicit NeedMore checks.
#[test]
fn resumable() {
    let mut p = Parser::default();
    assert_eq!(p.next(b"*1\r"), Step::NeedMore { consumed: 0 });
    assert_eq!(
        p.next(b"*1\r\n"),
        Step::Event {
            event: Event::AggregateStart {
                kind: AggKind::Array,
                len: 1
            },
            consumed: 4
        }
    );
    assert_eq!(p.next(b"$1"), Step::NeedMore { consumed: 0 });
    assert_eq!(p.next(b"$12"), Step::NeedMore { consumed: 0 });
    let ev = p.next(b"$12\r\nhello world!\r\n");
    assert_eq!(
        ev,
        Step::Event {
            event: Event::BulkStart {
                kind: BulkKind::String,
                len: 12
            },
            consumed: 5
        }
    );
    assert_eq!(p.bulk_remaining(), 12);
    assert_eq!(
        p.next(b"hello"),
        Step::Event {
            event: Event::BulkChunk(b"hello"),
            consumed: 5
        }
    );
    assert_eq!(p.bulk_remaining(), 7);
    assert_eq!(p.next(b""), Step::NeedMore { consumed: 0 });
    assert_eq!(
        p.next(b" world!\r"),
        Step::Event {
            event: Event::BulkChunk(b" world!"),
            consumed: 7
        }
    );
    assert_eq!(p.next(b"\r"), Step::NeedMore { consumed: 0 });
    assert!(!p.is_idle());
    assert_eq!(p.depth(), 1);
    assert_eq!(
        p.next(b"\r\n+x"),
        Step::Event {
            event: Event::BulkEnd,
            consumed: 2
        }
    );
    assert!(p.is_idle());
    assert_eq!(p.depth(), 0);

    // Attribute skipped, then NeedMore reports the bytes used so far.
    let mut p = Parser::default();
    assert_eq!(
        p.next(b"|1\r\n+a\r\n+b\r\n:1"),
        Step::NeedMore { consumed: 12 }
    );
    assert!(!p.is_idle());
    assert_eq!(
        p.next(b":1\r\n"),
        Step::Event {
            event: Event::Integer(1),
            consumed: 4
        }
    );
    assert!(p.is_idle());

    // Verbatim prefix arriving late.
    let mut p = Parser::default();
    assert_eq!(p.next(b"=6\r\ntx"), Step::NeedMore { consumed: 4 });
    assert_eq!(
        p.next(b"txt:ab\r\n"),
        Step::Event {
            event: Event::BulkStart {
                kind: BulkKind::Verbatim,
                len: 2
            },
            consumed: 4
        }
    );
    assert_eq!(p.verbatim_format(), *b"txt");
}

#[test]
fn stays_in_error_until_reset() {
    let mut p = Parser::default();
    assert_eq!(p.next(b"@x\r\n"), Step::Error(Error::BadTypeByte));
    assert_eq!(p.error(), Some(Error::BadTypeByte));
    for _ in 0..3 {
        assert_eq!(p.next(b"+OK\r\n"), Step::Error(Error::Poisoned));
    }
    assert_eq!(p.consume_bulk(0), Err(Error::Poisoned));
    assert!(!p.is_idle());
    p.reset();
    assert_eq!(p.error(), None);
    assert!(p.is_idle());
    assert_eq!(
        p.next(b"+OK\r\n"),
        Step::Event {
            event: Event::Simple(b"OK"),
            consumed: 5
        }
    );
}

#[test]
fn consume_bulk_rules() {
    let mut p = Parser::default();
    assert_eq!(p.consume_bulk(0), Ok(()));
    assert_eq!(p.consume_bulk(1), Err(Error::BulkOverrun));
    assert!(matches!(p.next(b"$4\r\n"), Step::Event { .. }));
    assert_eq!(p.consume_bulk(5), Err(Error::BulkOverrun));
    assert_eq!(p.error(), None);
    assert_eq!(p.consume_bulk(3), Ok(()));
    assert_eq!(p.consume_bulk(1), Ok(()));
    assert_eq!(p.bulk_remaining(), 0);
    assert_eq!(
        p.next(b"\r\n"),
        Step::Event {
            event: Event::BulkEnd,
            consumed: 2
        }
    );
    assert!(p.is_idle());
    // Attribute payloads are skipped by the parser, never out of band.
    let mut p = Parser::default();
    assert_eq!(p.next(b"|1\r\n$3\r\n"), Step::NeedMore { consumed: 8 });
    assert_eq!(p.bulk_remaining(), 0);
    assert_eq!(p.consume_bulk(1), Err(Error::BulkOverrun));
}

/// Long line fed in small pieces: the scan offset is remembered, and a
/// caller that keeps the unconsumed tail gets the same result.
#[test]
fn long_line_incremental() {
    let mut body = vec![b'+'];
    body.extend(std::iter::repeat_n(b'x', 1000));
    body.extend_from_slice(b"\r\n");
    let mut p = Parser::default();
    for n in 1..body.len() {
        assert_eq!(p.next(&body[..n]), Step::NeedMore { consumed: 0 });
    }
    assert!(
        matches!(p.next(&body), Step::Event { event: Event::Simple(s), consumed } if s.len() == 1000 && consumed == 1003)
    );
}

#[test]
fn error_messages() {
    use Error::*;
    let all = [
        BadTypeByte,
        BadInteger,
        BadLength,
        BadLine,
        BadBulkTerminator,
        BadDouble,
        BadBoolean,
        BadNull,
        BadBigNumber,
        BadVerbatim,
        Unsupported,
        DepthExceeded,
        BulkTooLong,
        AggregateTooLong,
        LineTooLong,
        BulkOverrun,
        Poisoned,
    ];
    for e in all {
        assert!(!e.message().is_empty());
    }
    assert_eq!(BadTypeByte.message(), "invalid type byte");
    let _ = End::Idle;
}

// Found by the fuzzer: whole_bulk took a bulk string whose length line `next` refuses as
// too long (max_line_len), so the speed build and `next` disagreed.
#[test]
fn whole_bulk_keeps_the_line_limit() {
    let limits = Limits {
        max_line_len: 1,
        ..Limits::default()
    };
    let mut p = Parser::new(limits);
    assert!(p.whole_bulk(b"$10\r\n0123456789\r\n").is_none());
    let mut p = Parser::new(limits);
    assert!(p.whole_bulk(b"$3\r\nabc\r\n").is_some());
}
