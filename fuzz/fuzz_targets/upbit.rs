//! Upbit feed sessions: arbitrary frames, seed frames with edits, snapshot bodies and resets on
//! live books (`hftpy::fuzzing::Session` checks every step).
#![no_main]

use hftpy::fuzzing::{run_session, Step, Venue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|steps: Vec<Step>| run_session(Venue::Upbit, &steps));
