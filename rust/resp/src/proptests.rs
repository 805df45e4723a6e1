//! Property tests: random reply trees survive serialise -> parse, however the
//! bytes are split, and encoded commands parse back as arrays of bulks.

use crate::encode::{encode_command, CRLF};
use crate::testkit::{drive, drive_with, End, Outcome, Tree};
use crate::{AggKind, BulkKind, Limits};
use proptest::collection::vec as vec_of;
use proptest::prelude::*;
use std::boxed::Box;
use std::vec::Vec;
use std::{format, vec};

/// Bytes biased towards the ones that matter to a RESP parser.
fn tricky_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        1 => Just(b'\r'),
        1 => Just(b'\n'),
        1 => prop::sample::select(b"*$+-:_,#!=(%~>|".to_vec()),
    ];
    vec_of(byte, 0..max)
}

fn line_text() -> impl Strategy<Value = Vec<u8>> {
    tricky_bytes(20).prop_map(|v| {
        v.into_iter()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect()
    })
}

fn double_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<f64>().prop_map(|f| format!("{f}").into_bytes()),
        any::<f64>().prop_map(|f| format!("{f:e}").into_bytes()),
        prop::sample::select(vec!["inf", "-inf", "nan", "3.14", "-1.5e10", "1", "0"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn leaf() -> impl Strategy<Value = Tree> {
    prop_oneof![
        line_text().prop_map(Tree::Simple),
        line_text().prop_map(Tree::Error),
        any::<i64>().prop_map(Tree::Integer),
        Just(Tree::Null),
        prop::sample::select(b"$!=*%~>".to_vec()).prop_map(Tree::NullAs),
        any::<bool>().prop_map(Tree::Bool),
        double_text().prop_map(Tree::Double),
        "-?[0-9]{1,40}".prop_map(|s| Tree::BigNumber(s.into_bytes())),
        (
            prop::sample::select(vec![BulkKind::String, BulkKind::Error, BulkKind::Verbatim]),
            any::<[u8; 3]>(),
            tricky_bytes(40),
        )
            .prop_map(|(kind, format, data)| {
                let format = if kind == BulkKind::Verbatim {
                    format
                } else {
                    [0; 3]
                };
                Tree::Bulk { kind, format, data }
            }),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        let kind = prop::sample::select(vec![
            AggKind::Array,
            AggKind::Map,
            AggKind::Set,
            AggKind::Push,
        ]);
        prop_oneof![
            (kind, vec_of(inner.clone(), 0..6)).prop_map(|(kind, mut items)| {
                if kind == AggKind::Map && items.len() % 2 == 1 {
                    items.pop();
                }
                Tree::Aggregate { kind, items }
            }),
            (vec_of(inner.clone(), 0..3), inner).prop_map(|(mut attrs, value)| {
                if attrs.len() % 2 == 1 {
                    attrs.pop();
                }
                Tree::Attributed {
                    attrs,
                    value: Box::new(value),
                }
            }),
        ]
    })
}

fn wire_of(trees: &[Tree]) -> Vec<u8> {
    let mut out = Vec::new();
    trees.iter().for_each(|t| t.to_wire(&mut out));
    out
}

/// Each tree holds at most 5 + a few attribute levels, well inside 32.
fn limits() -> Limits {
    Limits {
        max_depth: crate::MAX_DEPTH,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn trees_round_trip(trees in vec_of(tree(), 1..4), cuts in vec_of(any::<prop::sample::Index>(), 0..8)) {
        let wire = wire_of(&trees);
        let want = Outcome { replies: trees.iter().map(Tree::expected).collect(), end: End::Idle };
        let whole = drive(&wire, &[], limits(), false);
        prop_assert_eq!(&whole, &want);
        let bytes: Vec<usize> = (1..wire.len()).collect();
        prop_assert_eq!(&drive(&wire, &bytes, limits(), false), &want);
        let splits: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        prop_assert_eq!(&drive(&wire, &splits, limits(), false), &want);
        // Out-of-band payload reads give the same trees as BulkChunks.
        prop_assert_eq!(&drive(&wire, &splits, limits(), true), &want);
        prop_assert_eq!(&drive(&wire, &bytes, limits(), true), &want);
        // Bulk strings taken whole (`Parser::whole_bulk`) where they can be, too.
        prop_assert_eq!(&drive_with(&wire, &[], limits(), false, true), &want);
        prop_assert_eq!(&drive_with(&wire, &splits, limits(), true, true), &want);
    }

    /// A truncated reply is never complete and never an error.
    #[test]
    fn truncation_is_partial(t in tree(), cut in any::<prop::sample::Index>()) {
        let wire = t.wire();
        let n = cut.index(wire.len());
        let got = drive(&wire[..n], &[], limits(), false);
        prop_assert!(got.replies.is_empty());
        prop_assert_eq!(got.end, if n == 0 { End::Idle } else { End::Partial });
    }

    #[test]
    fn commands_round_trip(args in vec_of(tricky_bytes(30), 0..8), cuts in vec_of(any::<prop::sample::Index>(), 0..4)) {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let mut wire: Vec<u8> = Vec::new();
        encode_command(&mut VecSink(&mut wire), &refs).unwrap();
        let want = Tree::Aggregate {
            kind: AggKind::Array,
            items: args.iter().map(|a| Tree::Bulk { kind: BulkKind::String, format: [0; 3], data: a.clone() }).collect(),
        };
        prop_assert_eq!(&wire, &want.wire());
        let splits: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        let got = drive(&wire, &splits, Limits::default(), false);
        prop_assert_eq!(got, Outcome { replies: std::vec![want], end: End::Idle });
    }

    /// Random bytes: whole and split parsing agree (drive checks invariants).
    #[test]
    fn garbage_agrees(bytes in tricky_bytes(200), cuts in vec_of(any::<prop::sample::Index>(), 0..8)) {
        let small = Limits { max_depth: 4, max_bulk_len: 16, max_aggregate_len: 8, max_line_len: 16 };
        let whole = drive(&bytes, &[], small, false);
        let splits: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        prop_assert_eq!(&drive(&bytes, &splits, small, false), &whole);
        prop_assert_eq!(&drive(&bytes, &splits, small, true), &whole);
    }
}

struct VecSink<'a>(&'a mut Vec<u8>);

impl crate::Sink for VecSink<'_> {
    type Error = core::convert::Infallible;
    fn write(&mut self, data: &[u8]) -> Result<(), Self::Error> {
        self.0.extend_from_slice(data);
        Ok(())
    }
}

#[test]
fn crlf_const() {
    assert_eq!(CRLF, b"\r\n");
}
