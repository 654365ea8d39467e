//! Signers and the rate limiter for Python. Signing keys live in Rust objects that print
//! as `***`; Ed25519 signs with the GIL released (the slow one), HMAC and JWT do not
//! (they take less time than releasing and re-taking it).

use pyo3::prelude::*;

use super::errors;
use crate::clock;
use crate::ratelimit::{Cell, Limiter};
use crate::sign::{self, JwtAlg};

/// Ed25519 signer from a PKCS#8 PEM, a base64 32-byte seed (or 64-byte keypair) or a hex seed.
#[pyclass(frozen, module = "hftpy._core")]
pub struct Ed25519Signer {
    pub(crate) inner: sign::Ed25519Signer,
}

#[pymethods]
impl Ed25519Signer {
    #[new]
    fn new(key: &str) -> PyResult<Self> {
        let inner = sign::Ed25519Signer::from_text(key)?;
        Ok(Self { inner })
    }

    /// Base64 signature of `message`.
    fn sign(&self, py: Python<'_>, message: &[u8]) -> String {
        py.detach(|| self.inner.sign_base64(message))
    }

    /// The base64 public key (Backpack's `X-API-Key`).
    #[getter]
    fn public_key(&self) -> String {
        self.inner.public_key_base64()
    }

    fn __repr__(&self) -> &'static str {
        "Ed25519Signer(***)"
    }
}

/// HMAC-SHA256 signer (Binance), lower-case hex.
#[pyclass(frozen, module = "hftpy._core")]
pub struct HmacSha256Signer {
    pub(crate) key: sign::HmacSha256Key,
}

#[pymethods]
impl HmacSha256Signer {
    #[new]
    fn new(secret: &str) -> PyResult<Self> {
        if secret.is_empty() {
            return Err(errors::config("API secret is empty"));
        }
        Ok(Self {
            key: sign::HmacSha256Key::new(secret.as_bytes()),
        })
    }

    fn sign(&self, message: &[u8]) -> String {
        self.key.sign_hex(message)
    }

    fn __repr__(&self) -> &'static str {
        "HmacSha256Signer(***)"
    }
}

/// Upbit's JWT signer: `token(nonce, query)` gives the `Authorization: Bearer` value.
#[pyclass(frozen, module = "hftpy._core")]
pub struct UpbitSigner {
    pub(crate) access_key: String,
    pub(crate) secret: Vec<u8>,
    pub(crate) alg: JwtAlg,
}

#[pymethods]
impl UpbitSigner {
    #[new]
    #[pyo3(signature = (access_key, secret, alg = "HS512"))]
    fn new(access_key: &str, secret: &str, alg: &str) -> PyResult<Self> {
        let alg = match alg {
            "HS256" => JwtAlg::Hs256,
            "HS512" => JwtAlg::Hs512,
            other => {
                return Err(errors::config(format!(
                    "JWT algorithm must be HS256 or HS512, not {other:?}"
                )))
            }
        };
        if access_key.is_empty() || secret.is_empty() {
            return Err(errors::config("Upbit access key and secret are required"));
        }
        Ok(Self {
            access_key: access_key.to_owned(),
            secret: secret.as_bytes().to_vec(),
            alg,
        })
    }

    /// A JWT for one request; `query` is the unencoded query string as sent (or None).
    #[pyo3(signature = (nonce, query = None))]
    fn token(&self, nonce: &str, query: Option<&str>) -> String {
        sign::upbit_jwt(self.alg, &self.access_key, &self.secret, nonce, query)
    }

    fn __repr__(&self) -> &'static str {
        "UpbitSigner(***)"
    }
}

/// SHA-512 of `message`, lower-case hex.
#[pyfunction]
fn sha512_hex(message: &[u8]) -> String {
    sign::sha512_hex(message)
}

/// A set of lock-free limits shared by every thread and event loop that holds it.
///
/// Each limit is `("bucket", name, capacity, refill_per_s)` (a decaying counter such as
/// Kraken's) or `("window", name, limit, period_s, burst)` (never more than `limit` in any
/// `period_s`, `burst` of them at once).
#[pyclass(frozen, module = "hftpy._core")]
pub struct RateLimiter {
    limiter: Limiter,
    names: Vec<String>,
}

#[pymethods]
impl RateLimiter {
    #[new]
    fn new(limits: Vec<Bound<'_, PyAny>>) -> PyResult<Self> {
        let mut cells = Vec::with_capacity(limits.len());
        let mut names = Vec::with_capacity(limits.len());
        for spec in &limits {
            let (name, cell) = limit_spec(spec).map_err(|err| {
                // A spec of the wrong shape or types: say which, keep Python's reason as the cause.
                if err.is_instance_of::<errors::ConfigError>(spec.py()) {
                    return err;
                }
                let config = errors::config(format!("bad rate limit {spec}: {err}"));
                config.set_cause(spec.py(), Some(err));
                config
            })?;
            cells.push(cell);
            names.push(name);
        }
        Ok(Self {
            limiter: Limiter::new(cells),
            names,
        })
    }

    /// The index of the limit called `name`.
    fn index(&self, name: &str) -> PyResult<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| errors::unknown_limit(format!("no limit named {name:?}")))
    }

    #[getter]
    fn names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Takes `units` from every `(index, units)` pair, or nothing: returns 0 when granted,
    /// else the ns to wait before the same request could be granted.
    fn try_acquire(&self, costs: Vec<(usize, u32)>) -> PyResult<u64> {
        self.check(&costs)?;
        Ok(match self.limiter.try_acquire(&costs, clock::mono_ns()) {
            Ok(()) => 0,
            Err(wait) => wait.max(1),
        })
    }

    /// Tightens limit `index` to the venue's count of `used` units (never loosens it).
    fn resync(&self, index: usize, used: u32) -> PyResult<()> {
        self.check(&[(index, 0)])?;
        self.limiter.cells()[index].resync(used, clock::mono_ns());
        Ok(())
    }

    /// Empties limit `index` for `seconds` (a venue's Retry-After).
    fn block_for(&self, index: usize, seconds: f64) -> PyResult<()> {
        self.check(&[(index, 0)])?;
        let until = clock::mono_ns().saturating_add((seconds.max(0.0) * 1e9) as u64);
        self.limiter.cells()[index].block_until(until);
        Ok(())
    }

    /// Units of limit `index` that could be taken now.
    fn available(&self, index: usize) -> PyResult<u64> {
        self.check(&[(index, 0)])?;
        Ok(self.limiter.cells()[index].available(clock::mono_ns()))
    }

    fn __repr__(&self) -> String {
        format!("RateLimiter({})", self.names.join(", "))
    }
}

impl RateLimiter {
    fn check(&self, costs: &[(usize, u32)]) -> PyResult<()> {
        match costs.iter().find(|(i, _)| *i >= self.names.len()) {
            Some((i, _)) => Err(errors::unknown_limit(format!(
                "no limit at index {i} (the limiter has {})",
                self.names.len()
            ))),
            None => Ok(()),
        }
    }
}

/// One `("bucket", name, capacity, refill_per_s)` or `("window", name, limit, period_s, burst)`.
/// Rates and periods must be finite and positive: an infinite one would make a limit that
/// never refills (or never limits), which is a mistake rather than a setting.
fn limit_spec(spec: &Bound<'_, PyAny>) -> PyResult<(String, Cell)> {
    let kind: String = spec.get_item(0)?.extract()?;
    let name: String = spec.get_item(1)?.extract()?;
    let positive = |value: f64| value.is_finite() && value > 0.0;
    let cell = match kind.as_str() {
        "bucket" => {
            let capacity: u32 = spec.get_item(2)?.extract()?;
            let refill: f64 = spec.get_item(3)?.extract()?;
            if capacity == 0 || !positive(refill) {
                return Err(errors::config(format!("bad bucket limit {name:?}")));
            }
            Cell::leaky_bucket(capacity, refill)
        }
        "window" => {
            let limit: u32 = spec.get_item(2)?.extract()?;
            let period: f64 = spec.get_item(3)?.extract()?;
            let burst: u32 = spec.get_item(4)?.extract()?;
            if limit == 0 || !positive(period) {
                return Err(errors::config(format!("bad window limit {name:?}")));
            }
            Cell::window(limit, (period * 1e9) as u64, burst)
        }
        other => {
            return Err(errors::config(format!(
                "limit kind must be 'bucket' or 'window', not {other:?}"
            )))
        }
    };
    Ok((name, cell))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Ed25519Signer>()?;
    m.add_class::<HmacSha256Signer>()?;
    m.add_class::<UpbitSigner>()?;
    m.add_class::<RateLimiter>()?;
    m.add_function(wrap_pyfunction!(sha512_hex, m)?)?;
    Ok(())
}
