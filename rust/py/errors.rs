//! The one place where Rust errors become Python exceptions. Every class raised by the
//! extension is imported here from `hftpy.errors`, so Python code catches one hierarchy
//! (`HftpyError` and its subclasses, which also derive from the builtin a caller would catch:
//! `ValueError`, `LookupError`) whichever side raised, and no bare builtin leaves the extension.
//!
//! Each [`FeedError`] variant has its own mapping (the `match` has no catch-all arm, so a new
//! variant cannot reach Python untyped); field names and symbols ride along as exception
//! attributes (`exc.field`, `exc.symbol`).

use pyo3::prelude::*;

use crate::decimal::DecimalError as RsDecimalError;
use crate::market::{FeedError, SymbolId};
use crate::sign::SignError;

pyo3::import_exception!(hftpy.errors, ConfigError);
pyo3::import_exception!(hftpy.errors, DecimalError);
pyo3::import_exception!(hftpy.errors, MalformedFrameError);
pyo3::import_exception!(hftpy.errors, MissingFieldError);
pyo3::import_exception!(hftpy.errors, BadFieldError);
pyo3::import_exception!(hftpy.errors, BadNumberError);
pyo3::import_exception!(hftpy.errors, TooPreciseError);
pyo3::import_exception!(hftpy.errors, NumberOverflowError);
pyo3::import_exception!(hftpy.errors, UnknownSymbolError);
pyo3::import_exception!(hftpy.errors, InstrumentError);
pyo3::import_exception!(hftpy.errors, UnknownLimitError);
pyo3::import_exception!(hftpy.errors, UnknownLatencyKeyError);

impl From<FeedError> for PyErr {
    fn from(err: FeedError) -> PyErr {
        let message = err.to_string();
        match err {
            FeedError::Json(_) => MalformedFrameError::new_err(message),
            FeedError::Decimal { field, error } => match error {
                RsDecimalError::TooPrecise(_) => TooPreciseError::new_err((message, field)),
                RsDecimalError::Overflow(_) => NumberOverflowError::new_err((message, field)),
                RsDecimalError::Empty | RsDecimalError::Invalid(_) => {
                    BadNumberError::new_err((message, field))
                }
            },
            FeedError::MissingField(field) => MissingFieldError::new_err((message, field)),
            FeedError::BadField(field) => BadFieldError::new_err((message, field)),
            FeedError::UnknownSymbol(symbol) => UnknownSymbolError::new_err((message, symbol)),
            FeedError::UnknownSymbolId(id) => UnknownSymbolError::new_err((message, id)),
            FeedError::DuplicateSymbol(_) | FeedError::BadInstrument(_) => {
                InstrumentError::new_err(message)
            }
        }
    }
}

/// `hftpy._core.parse_fixed` and friends: decimal text outside a market-data frame.
impl From<RsDecimalError> for PyErr {
    fn from(err: RsDecimalError) -> PyErr {
        DecimalError::new_err(err.to_string())
    }
}

/// Signing keys are configuration: a key that cannot be read is a `ConfigError`.
impl From<SignError> for PyErr {
    fn from(err: SignError) -> PyErr {
        ConfigError::new_err(err.to_string())
    }
}

/// A symbol id this feed never handed out.
pub fn unknown_symbol_id(id: SymbolId) -> PyErr {
    FeedError::UnknownSymbolId(id).into()
}

/// Bad arguments to a constructor or setting (a rate limit's spec, a scale, a signer's key).
pub fn config(message: impl Into<String>) -> PyErr {
    ConfigError::new_err(message.into())
}

pub fn decimal(message: impl Into<String>) -> PyErr {
    DecimalError::new_err(message.into())
}

/// A limit name or index a `RateLimiter` does not have.
pub fn unknown_limit(message: impl Into<String>) -> PyErr {
    UnknownLimitError::new_err(message.into())
}

/// A `LatencyStats` key id that `key()` never handed out.
pub fn unknown_latency_key(key: usize) -> PyErr {
    UnknownLatencyKeyError::new_err(format!("no latency key with id {key}"))
}
