//! The `hftpy._core` extension module: thin PyO3 wrappers over the pure-Rust core.
//! Errors are raised as the exception classes defined in `hftpy.errors` (mapped in
//! `errors.rs`, the only module that names an exception class), so Python code catches one
//! hierarchy whichever side raised.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::{clock, decimal, sign};

mod auth;
mod errors;
mod frame;
mod market;
mod stats;

/// Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME).
#[pyfunction]
fn wall_ns() -> u64 {
    clock::wall_ns()
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC, the clock of `time.monotonic_ns()`).
#[pyfunction]
fn mono_ns() -> u64 {
    clock::mono_ns()
}

/// Text of a number as `str` or ASCII `bytes`, borrowed without copying.
#[derive(FromPyObject)]
enum NumberText<'py> {
    Str(pyo3::pybacked::PyBackedStr),
    Bytes(Bound<'py, PyBytes>),
}

impl NumberText<'_> {
    fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            NumberText::Str(s) => f(s.as_bytes()),
            NumberText::Bytes(b) => f(b.as_bytes()),
        }
    }
}

/// Reads decimal text as an integer mantissa at `scale` (no float on the way).
#[pyfunction]
fn parse_fixed(text: NumberText<'_>, scale: u8) -> PyResult<i64> {
    if scale > decimal::MAX_SCALE {
        return Err(errors::decimal("scale above 18"));
    }
    Ok(text.with_bytes(|b| decimal::parse_fixed(b, scale))?)
}

/// Reads decimal text at its own scale: returns `(mantissa, scale)`.
#[pyfunction]
fn parse_natural(text: NumberText<'_>) -> PyResult<(i64, u8)> {
    let fixed = text.with_bytes(decimal::parse_natural)?;
    Ok((fixed.mantissa, fixed.scale))
}

/// Writes `mantissa` at `scale` as plain decimal text with exactly `scale` fraction digits.
#[pyfunction]
fn format_fixed(mantissa: i64, scale: u8) -> PyResult<String> {
    if scale > decimal::MAX_SCALE {
        return Err(errors::decimal("scale above 18"));
    }
    Ok(decimal::format_fixed(mantissa, scale))
}

/// Kraken REST `API-Sign` signer. Holds the decoded secret in Rust; prints as `***`.
#[pyclass(frozen, module = "hftpy._core")]
struct KrakenSigner {
    inner: sign::KrakenSigner,
}

#[pymethods]
impl KrakenSigner {
    #[new]
    fn new(secret: &str) -> PyResult<Self> {
        let inner = sign::KrakenSigner::from_base64(secret)?;
        Ok(Self { inner })
    }

    /// `API-Sign` for `uri_path` (`/0/private/...`), the nonce text and the exact body bytes.
    fn sign(&self, uri_path: &str, nonce: &str, body: &[u8]) -> String {
        self.inner.sign(uri_path, nonce, body)
    }

    fn __repr__(&self) -> &'static str {
        "KrakenSigner(***)"
    }
}

/// HMAC-SHA256 of `message` keyed with `key`, lower-case hex.
#[pyfunction]
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    sign::hmac_sha256_hex(key, message)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(wall_ns, m)?)?;
    m.add_function(wrap_pyfunction!(mono_ns, m)?)?;
    m.add_function(wrap_pyfunction!(parse_fixed, m)?)?;
    m.add_function(wrap_pyfunction!(parse_natural, m)?)?;
    m.add_function(wrap_pyfunction!(format_fixed, m)?)?;
    m.add_function(wrap_pyfunction!(hmac_sha256_hex, m)?)?;
    m.add_class::<KrakenSigner>()?;
    market::register(m)?;
    auth::register(m)?;
    stats::register(m)?;
    frame::register(m)?;
    Ok(())
}
