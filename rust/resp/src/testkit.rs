//! Host-side test kit shared by the unit tests, property tests and fuzz
//! targets: an owned reply tree, its serialiser, and a driver that feeds the
//! parser at chosen split points, rebuilds trees from the events and checks
//! the parser's invariants after every step (panicking on a violation).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::{AggKind, BulkKind, Error, Event, Limits, Parser, Step};
use std::boxed::Box;
use std::format;
use std::string::String;
use std::vec::Vec;

/// An owned reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    Null,
    Bool(bool),
    Double(Vec<u8>),
    BigNumber(Vec<u8>),
    /// `format` is meaningful for `Verbatim` only (zeros otherwise).
    Bulk {
        kind: BulkKind,
        format: [u8; 3],
        data: Vec<u8>,
    },
    /// Maps hold keys and values alternately.
    Aggregate {
        kind: AggKind,
        items: Vec<Tree>,
    },
    /// Serialisation-only: `<ty>-1`, which parses as `Null`.
    NullAs(u8),
    /// Serialisation-only: attribute pairs (flattened) before `value`;
    /// the parser skips them.
    Attributed {
        attrs: Vec<Tree>,
        value: Box<Tree>,
    },
}

fn line(out: &mut Vec<u8>, ty: u8, body: &[u8]) {
    out.push(ty);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

impl Tree {
    pub fn to_wire(&self, out: &mut Vec<u8>) {
        match self {
            Tree::Simple(t) => line(out, b'+', t),
            Tree::Error(t) => line(out, b'-', t),
            Tree::Integer(v) => line(out, b':', format!("{v}").as_bytes()),
            Tree::Null => line(out, b'_', b""),
            Tree::NullAs(ty) => line(out, *ty, b"-1"),
            Tree::Bool(b) => line(out, b'#', if *b { b"t" } else { b"f" }),
            Tree::Double(t) => line(out, b',', t),
            Tree::BigNumber(t) => line(out, b'(', t),
            Tree::Bulk { kind, format, data } => {
                let (ty, extra) = match kind {
                    BulkKind::String => (b'$', 0),
                    BulkKind::Error => (b'!', 0),
                    BulkKind::Verbatim => (b'=', 4),
                };
                line(out, ty, format!("{}", data.len() + extra).as_bytes());
                if *kind == BulkKind::Verbatim {
                    out.extend_from_slice(format);
                    out.push(b':');
                }
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            Tree::Aggregate { kind, items } => {
                let (ty, n) = match kind {
                    AggKind::Array => (b'*', items.len()),
                    AggKind::Map => (b'%', items.len() / 2),
                    AggKind::Set => (b'~', items.len()),
                    AggKind::Push => (b'>', items.len()),
                };
                line(out, ty, format!("{n}").as_bytes());
                items.iter().for_each(|t| t.to_wire(out));
            }
            Tree::Attributed { attrs, value } => {
                line(out, b'|', format!("{}", attrs.len() / 2).as_bytes());
                attrs.iter().for_each(|t| t.to_wire(out));
                value.to_wire(out);
            }
        }
    }

    pub fn wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.to_wire(&mut out);
        out
    }

    /// The tree the parser should report for this one's wire form.
    pub fn expected(&self) -> Tree {
        match self {
            Tree::NullAs(_) => Tree::Null,
            Tree::Attributed { value, .. } => value.expected(),
            Tree::Aggregate { kind, items } => Tree::Aggregate {
                kind: *kind,
                items: items.iter().map(Tree::expected).collect(),
            },
            t => t.clone(),
        }
    }

    /// Compact text for table tests: `+OK`, `:1`, `_`, `$"a\r\n"`,
    /// `=txt"..."`, `*[:1 :2]`, `%[k v]`, ...
    pub fn render(&self) -> String {
        let esc = |b: &[u8]| b.escape_ascii().to_string();
        match self {
            Tree::Simple(t) => format!("+{}", esc(t)),
            Tree::Error(t) => format!("-{}", esc(t)),
            Tree::Integer(v) => format!(":{v}"),
            Tree::Null | Tree::NullAs(_) => "_".into(),
            Tree::Bool(b) => format!("#{}", if *b { 't' } else { 'f' }),
            Tree::Double(t) => format!(",{}", esc(t)),
            Tree::BigNumber(t) => format!("({}", esc(t)),
            Tree::Bulk {
                kind: BulkKind::String,
                data,
                ..
            } => format!("$\"{}\"", esc(data)),
            Tree::Bulk {
                kind: BulkKind::Error,
                data,
                ..
            } => format!("!\"{}\"", esc(data)),
            Tree::Bulk {
                kind: BulkKind::Verbatim,
                format,
                data,
            } => {
                format!("={}\"{}\"", esc(format), esc(data))
            }
            Tree::Aggregate { kind, items } => {
                let ty = match kind {
                    AggKind::Array => '*',
                    AggKind::Map => '%',
                    AggKind::Set => '~',
                    AggKind::Push => '>',
                };
                let inner: Vec<String> = items.iter().map(Tree::render).collect();
                format!("{ty}[{}]", inner.join(" "))
            }
            Tree::Attributed { value, .. } => value.render(),
        }
    }
}

use std::string::ToString;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum End {
    /// All input used, parser idle.
    Idle,
    /// Input ended inside a reply.
    Partial,
    Error(Error),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub replies: Vec<Tree>,
    pub end: End,
}

impl Outcome {
    /// `render` of each reply, then `...` (partial) or `ERR(<variant>)`.
    pub fn render(&self) -> String {
        let mut parts: Vec<String> = self.replies.iter().map(Tree::render).collect();
        match self.end {
            End::Idle => {}
            End::Partial => parts.push("...".into()),
            End::Error(e) => parts.push(format!("ERR({e:?})")),
        }
        parts.join(" ")
    }
}

struct Open {
    kind: AggKind,
    want: usize,
    items: Vec<Tree>,
}

struct OpenBulk {
    kind: BulkKind,
    format: [u8; 3],
    len: usize,
    data: Vec<u8>,
}

/// Rebuilds trees from events.
#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    bulk: Option<OpenBulk>,
    replies: Vec<Tree>,
}

impl Builder {
    fn finish(&mut self, mut t: Tree) {
        loop {
            let Some(top) = self.stack.last_mut() else {
                self.replies.push(t);
                return;
            };
            top.items.push(t);
            if top.items.len() < top.want {
                return;
            }
            let o = self.stack.pop().unwrap();
            t = Tree::Aggregate {
                kind: o.kind,
                items: o.items,
            };
        }
    }

    fn event(&mut self, ev: Event<'_>, p: &Parser) {
        if !matches!(ev, Event::BulkChunk(_) | Event::BulkEnd) {
            assert!(self.bulk.is_none(), "value started inside a bulk: {ev:?}");
        }
        let t = match ev {
            Event::Simple(t) => Tree::Simple(t.to_vec()),
            Event::Error(t) => Tree::Error(t.to_vec()),
            Event::Integer(v) => Tree::Integer(v),
            Event::Null => Tree::Null,
            Event::Bool(b) => Tree::Bool(b),
            Event::Double(t) => Tree::Double(t.to_vec()),
            Event::BigNumber(t) => Tree::BigNumber(t.to_vec()),
            Event::BulkStart { kind, len } => {
                let format = if kind == BulkKind::Verbatim {
                    p.verbatim_format()
                } else {
                    [0; 3]
                };
                assert_eq!(p.bulk_remaining(), len);
                self.bulk = Some(OpenBulk {
                    kind,
                    format,
                    len,
                    data: Vec::new(),
                });
                return;
            }
            Event::BulkChunk(c) => {
                let b = self.bulk.as_mut().expect("chunk outside bulk");
                assert!(!c.is_empty());
                b.data.extend_from_slice(c);
                assert!(b.data.len() <= b.len);
                assert_eq!(p.bulk_remaining(), b.len - b.data.len());
                return;
            }
            Event::BulkEnd => {
                let b = self.bulk.take().expect("BulkEnd outside bulk");
                assert_eq!(b.data.len(), b.len);
                Tree::Bulk {
                    kind: b.kind,
                    format: b.format,
                    data: b.data,
                }
            }
            Event::AggregateStart { kind, len } => {
                let want = if kind == AggKind::Map { len * 2 } else { len };
                if want > 0 {
                    self.stack.push(Open {
                        kind,
                        want,
                        items: Vec::new(),
                    });
                    return;
                }
                Tree::Aggregate {
                    kind,
                    items: Vec::new(),
                }
            }
        };
        self.finish(t);
    }

    fn idle(&self) -> bool {
        self.stack.is_empty() && self.bulk.is_none()
    }
}

/// Feeds `input` to a fresh parser, cut at the (sorted, in-range) offsets in
/// `splits`. With `out_of_band`, bulk payloads are taken from the buffer by
/// the driver and acknowledged with `consume_bulk` instead of `BulkChunk`s.
pub fn drive(input: &[u8], splits: &[usize], limits: Limits, out_of_band: bool) -> Outcome {
    drive_with(input, splits, limits, out_of_band, false)
}

/// `drive`, and with `whole_bulks` every bulk string that `Parser::whole_bulk` takes in
/// one step is taken so (its events rebuilt from what it returns), as a reply builder's
/// fast path does; the outcome must not change.
pub fn drive_with(
    input: &[u8],
    splits: &[usize],
    limits: Limits,
    out_of_band: bool,
    whole_bulks: bool,
) -> Outcome {
    let mut p = Parser::new(limits);
    let mut b = Builder::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut cuts: Vec<usize> = splits.iter().map(|&s| s.min(input.len())).collect();
    cuts.sort_unstable();
    cuts.push(input.len());
    let mut from = 0;
    for cut in cuts {
        buf.extend_from_slice(&input[from..cut]);
        from = cut;
        loop {
            if out_of_band && p.bulk_remaining() > 0 {
                let n = p.bulk_remaining().min(buf.len());
                if n == 0 {
                    break;
                }
                let left = p.bulk_remaining();
                assert_eq!(p.consume_bulk(left + 1), Err(Error::BulkOverrun));
                assert_eq!(p.bulk_remaining(), left);
                p.consume_bulk(n).unwrap();
                b.bulk.as_mut().unwrap().data.extend(buf.drain(..n));
                continue;
            }
            if whole_bulks {
                let before = p.clone();
                if let Some((kind, data, used)) = p.whole_bulk(&buf) {
                    assert!(used <= buf.len());
                    let (data, len) = (data.to_vec(), data.len());
                    // The same bulk the slow way, on a copy: the same events, the same
                    // parser after it.
                    let mut slow = before.clone();
                    let Step::Event { event, consumed } = slow.next(&buf) else {
                        panic!("whole_bulk took what next does not start");
                    };
                    assert_eq!(event, Event::BulkStart { kind, len });
                    b.event(event, &slow);
                    slow.consume_bulk(len).unwrap();
                    if len > 0 {
                        b.event(Event::BulkChunk(&data), &slow);
                    }
                    let end = slow.next(&buf[consumed + len..]);
                    assert_eq!(
                        end,
                        Step::Event {
                            event: Event::BulkEnd,
                            consumed: 2
                        }
                    );
                    assert_eq!(consumed + len + 2, used);
                    assert_eq!(format!("{slow:?}"), format!("{p:?}"), "after a whole bulk");
                    b.event(Event::BulkEnd, &p);
                    assert_eq!(p.depth(), b.stack.len(), "depth after a whole bulk");
                    assert_eq!(p.is_idle(), b.idle(), "idle after a whole bulk");
                    assert_eq!(p.error(), None);
                    buf.drain(..used);
                    continue;
                }
                assert_eq!(
                    format!("{p:?}"),
                    format!("{before:?}"),
                    "whole_bulk changed the parser"
                );
            }
            match p.next(&buf) {
                Step::NeedMore { consumed } => {
                    assert!(consumed <= buf.len());
                    buf.drain(..consumed);
                    break;
                }
                Step::Event { event, consumed } => {
                    assert!(
                        consumed > 0 && consumed <= buf.len(),
                        "{event:?} {consumed}"
                    );
                    if let Event::BulkChunk(c) = event {
                        assert_eq!(c.len(), consumed);
                    }
                    b.event(event, &p);
                    assert_eq!(p.depth(), b.stack.len(), "depth after {event:?}");
                    assert_eq!(p.is_idle(), b.idle(), "idle after {event:?}");
                    assert_eq!(p.error(), None);
                    buf.drain(..consumed);
                }
                Step::Error(e) => {
                    assert_eq!(p.error(), Some(e));
                    assert!(!p.is_idle());
                    assert_eq!(p.next(b"+OK\r\n"), Step::Error(Error::Poisoned));
                    assert_eq!(p.error(), Some(e));
                    p.reset();
                    assert!(p.is_idle() && p.error().is_none());
                    return Outcome {
                        replies: b.replies,
                        end: End::Error(e),
                    };
                }
            }
        }
    }
    let end = if p.is_idle() && b.idle() && buf.is_empty() {
        End::Idle
    } else {
        End::Partial
    };
    Outcome {
        replies: b.replies,
        end,
    }
}

/// Whole input, byte at a time and byte at a time out of band must agree;
/// returns the whole-input outcome.
pub fn drive_all_ways(input: &[u8], limits: Limits) -> Outcome {
    let whole = drive(input, &[], limits, false);
    let bytes: Vec<usize> = (1..input.len()).collect();
    assert_eq!(drive(input, &bytes, limits, false), whole, "byte at a time");
    assert_eq!(drive(input, &bytes, limits, true), whole, "out of band");
    assert_eq!(drive(input, &[], limits, true), whole, "whole, out of band");
    assert_eq!(
        drive_with(input, &[], limits, false, true),
        whole,
        "whole bulks"
    );
    assert_eq!(
        drive_with(input, &bytes, limits, false, true),
        whole,
        "byte at a time, whole bulks"
    );
    whole
}
