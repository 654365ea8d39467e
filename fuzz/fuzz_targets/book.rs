//! The book engine: arbitrary diffs, snapshots, truncations, clears and Kraken checksums on a
//! plain and a Kraken book, checked against a sorted-map model after every operation.
#![no_main]

use hftpy::fuzzing::{run_book, BookOp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<BookOp>| run_book(&ops));
