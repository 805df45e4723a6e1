//! Arbitrary arguments are encoded as a command and must parse back as one
//! array of exactly those bulk strings, at any split point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resp::testkit::{drive, End, Outcome, Tree};
use resp::{encode_command, AggKind, BulkKind, Limits};

fuzz_target!(|data: &[u8]| {
    // Arguments are separated by 0xFF 0x00 so payloads still hold any byte;
    // the first byte picks a split point.
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let mut args: Vec<&[u8]> = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.windows(2).position(|w| w == [0xFF, 0x00]) {
        args.push(&rest[..i]);
        rest = &rest[i + 2..];
    }
    args.push(rest);

    let mut wire: heapless::Vec<u8, 8192> = heapless::Vec::new();
    if encode_command(&mut wire, &args).is_err() {
        return; // too big for the buffer
    }
    let want = Tree::Aggregate {
        kind: AggKind::Array,
        items: args
            .iter()
            .map(|a| Tree::Bulk {
                kind: BulkKind::String,
                format: [0; 3],
                data: a.to_vec(),
            })
            .collect(),
    };
    assert_eq!(&wire[..], &want.wire()[..]);
    let split = usize::from(cut) * wire.len() / 255;
    let got = drive(&wire, &[split], Limits::default(), false);
    assert_eq!(
        got,
        Outcome {
            replies: vec![want],
            end: End::Idle
        }
    );
});
