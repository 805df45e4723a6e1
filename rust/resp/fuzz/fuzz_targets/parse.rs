//! Random bytes at random split points, with tiny limits. The parser must
//! never panic, and `testkit::drive` asserts its invariants after every step
//! (consumed <= input, depth/idle bookkeeping, chunk sizes, poisoning).
//! Whole-input, split and out-of-band runs, and runs that take bulk strings whole where
//! `Parser::whole_bulk` can, must produce identical outcomes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resp::testkit::{drive, drive_with};
use resp::Limits;

fuzz_target!(|data: &[u8]| {
    // Header: 4 limit bytes, 1 split-count byte, then split offsets.
    let Some((head, rest)) = data.split_first_chunk::<5>() else {
        return;
    };
    let [d, b, a, l, n] = *head;
    let limits = Limits {
        max_depth: usize::from(d % 70),
        max_bulk_len: usize::from(b) * 4,
        max_aggregate_len: usize::from(a),
        max_line_len: usize::from(l),
    };
    let n = usize::from(n % 16);
    let (cuts, input) = rest.split_at(rest.len().min(n));
    let splits: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * input.len() / 255)
        .collect();

    let whole = drive(input, &[], limits, false);
    assert_eq!(drive(input, &splits, limits, false), whole);
    assert_eq!(drive(input, &splits, limits, true), whole);
    assert_eq!(drive_with(input, &splits, limits, false, true), whole);
    if input.len() <= 64 {
        let bytes: Vec<usize> = (1..input.len()).collect();
        assert_eq!(drive(input, &bytes, limits, false), whole);
    }
});
