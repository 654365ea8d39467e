//! hftpy's per-message core: fixed-point decimals read from JSON text, request signing,
//! nanosecond clocks and latency histograms. Pure Rust: the PyO3 bindings live in `py/`
//! behind the `python` feature, so `cargo test` runs without an interpreter and nothing here
//! depends on `py/`.

pub mod backpack;
pub mod binance;
pub mod book;
pub mod clock;
pub mod decimal;
pub mod frame;
pub mod json;
pub mod kraken;
pub mod market;
pub mod ratelimit;
pub mod sign;
pub mod stats;
pub mod sync;
pub mod upbit;

#[cfg(test)]
mod tests_replay;

#[cfg(feature = "python")]
mod py;
