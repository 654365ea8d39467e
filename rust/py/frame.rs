//! Order-frame templates and fast ids for Python (see `crate::frame`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString, PyTuple, PyType};

use super::auth::{Ed25519Signer, HmacSha256Signer, UpbitSigner};
use crate::frame::{self, Kind, Layout, Number, Piece, Style, Value};
use crate::sign;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

/// A value read from Python, borrowed or owned as it must be.
enum Held {
    Float(f64),
    Int(i64),
    Str(PyBackedStr),
    Decimal(String),
}

impl Held {
    fn value(&self) -> Value<'_> {
        match self {
            Held::Float(f) => Value::Number(Number::Float(*f)),
            Held::Int(i) => Value::Int(*i),
            Held::Str(s) => Value::Str(s),
            Held::Decimal(s) => Value::Number(Number::Decimal(s)),
        }
    }
}

/// None: a value this writer does not cover (the Python path decides).
fn hold(value: &Bound<'_, PyAny>) -> PyResult<Option<Held>> {
    if value.is_exact_instance_of::<PyFloat>() {
        return Ok(Some(Held::Float(value.extract::<f64>()?)));
    }
    if value.is_exact_instance_of::<PyString>() {
        return Ok(Some(Held::Str(value.extract::<PyBackedStr>()?)));
    }
    if value.is_exact_instance_of::<PyInt>() {
        return Ok(value.extract::<i64>().ok().map(Held::Int));
    }
    if value.is_instance_of::<PyBool>() {
        return Ok(None);
    }
    if value.get_type().is(decimal_type(value.py())?) {
        return Ok(Some(Held::Decimal(value.str()?.to_str()?.to_owned())));
    }
    Ok(None)
}

const SIGNATURE: u8 = 40;

fn kind_of(code: u8) -> PyResult<Kind> {
    let style = |c: u8| {
        Style::from_u8(c).ok_or_else(|| PyValueError::new_err(format!("unknown style {c}")))
    };
    Ok(match code {
        0..=2 => Kind::Number(style(code)?),
        10..=12 => Kind::QuotedNumber(style(code - 10)?),
        20 => Kind::Str,
        30 => Kind::Int,
        SIGNATURE => Kind::Signature,
        other => return Err(PyValueError::new_err(format!("unknown hole kind {other}"))),
    })
}

fn layout(items: &[Bound<'_, PyAny>]) -> PyResult<Layout> {
    let mut pieces = Vec::with_capacity(items.len());
    for item in items {
        if let Ok(bytes) = item.cast::<PyBytes>() {
            pieces.push(Piece::Lit(bytes.as_bytes().to_vec()));
        } else {
            let (value, code): (usize, u8) = item.extract()?;
            pieces.push(Piece::Hole {
                value,
                kind: kind_of(code)?,
            });
        }
    }
    Ok(Layout::new(pieces))
}

enum Signer {
    None,
    Hmac(Py<HmacSha256Signer>),
    Ed25519(Py<Ed25519Signer>),
    Upbit(Py<UpbitSigner>),
}

/// An order frame with its fixed parts laid out once. `json` (and `sign`, the text a
/// signature covers) are lists of literal `bytes` and holes `(value_index, kind)`;
/// `build(values)` writes the holes from the tuple of values. With a signer, the `sign`
/// layout is signed and `build` gives `(frame, signature)`: HMAC-SHA256 hex and Ed25519
/// base64 also go into the JSON's signature hole (not with `detached=True`); with an
/// `UpbitSigner` the signature is the JWT, the sign layout its query string, with a fresh
/// nonce. `build` returns None for a value it does not cover (the caller's Python
/// path then decides, with the same result or the same error). The repr shows nothing: the
/// literal parts may hold a token.
#[pyclass(frozen, module = "hftpy._core")]
pub struct FrameTemplate {
    json: Layout,
    sign: Option<Layout>,
    signer: Signer,
    detached: bool,
    arity: usize,
}

#[pymethods]
impl FrameTemplate {
    #[new]
    #[pyo3(signature = (json, sign = None, signer = None, detached = false))]
    fn new(
        json: Vec<Bound<'_, PyAny>>,
        sign: Option<Vec<Bound<'_, PyAny>>>,
        signer: Option<Bound<'_, PyAny>>,
        detached: bool,
    ) -> PyResult<Self> {
        let json = layout(&json)?;
        let sign = sign.map(|items| layout(&items)).transpose()?;
        let signer = match signer {
            None => Signer::None,
            Some(obj) => {
                if let Ok(s) = obj.cast::<HmacSha256Signer>() {
                    Signer::Hmac(s.clone().unbind())
                } else if let Ok(s) = obj.cast::<Ed25519Signer>() {
                    Signer::Ed25519(s.clone().unbind())
                } else if let Ok(s) = obj.cast::<UpbitSigner>() {
                    Signer::Upbit(s.clone().unbind())
                } else {
                    return Err(PyValueError::new_err(
                        "signer must be an HmacSha256Signer, Ed25519Signer or UpbitSigner",
                    ));
                }
            }
        };
        if matches!(signer, Signer::None) != sign.is_none() {
            return Err(PyValueError::new_err(
                "a sign layout needs a signer, and back",
            ));
        }
        if !detached
            && matches!(signer, Signer::Hmac(_) | Signer::Ed25519(_))
            && !json.has_signature()
        {
            return Err(PyValueError::new_err(
                "the JSON layout has no signature hole",
            ));
        }
        let arity = json
            .arity()
            .max(sign.as_ref().map(Layout::arity).unwrap_or(0));
        Ok(Self {
            json,
            sign,
            signer,
            detached,
            arity,
        })
    }

    /// The frame for `values` (see the class doc), or None.
    fn build<'py>(
        &self,
        py: Python<'py>,
        values: &Bound<'py, PyTuple>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if values.len() < self.arity {
            return Err(PyValueError::new_err(format!(
                "this template takes {} values",
                self.arity
            )));
        }
        let mut held = Vec::with_capacity(values.len());
        for item in values.iter() {
            match hold(&item)? {
                Some(h) => held.push(h),
                None => return Ok(None),
            }
        }
        let values: Vec<Value<'_>> = held.iter().map(Held::value).collect();
        let mut signature = String::new();
        if let Some(sign_layout) = &self.sign {
            let Some(payload) = sign_layout.build(&values, false, "") else {
                return Ok(None);
            };
            signature = match &self.signer {
                Signer::None => String::new(),
                Signer::Hmac(s) => sign::hmac_sha256_hex(&s.get().key, &payload),
                Signer::Ed25519(s) => {
                    let signer = s.get();
                    py.detach(|| signer.inner.sign_base64(&payload))
                }
                Signer::Upbit(s) => {
                    let s = s.get();
                    let query = String::from_utf8(payload).expect("layouts write UTF-8");
                    sign::upbit_jwt(
                        s.alg,
                        &s.access_key,
                        &s.secret,
                        &frame::uuid_text(),
                        Some(&query),
                    )
                }
            };
        }
        let detached = self.detached || matches!(self.signer, Signer::Upbit(_));
        let Some(frame) = self
            .json
            .build(&values, true, if detached { "" } else { &signature })
        else {
            return Ok(None);
        };
        let frame = PyBytes::new(py, &frame);
        if self.sign.is_some() {
            return Ok(Some((frame, signature).into_pyobject(py)?.into_any()));
        }
        Ok(Some(frame.into_any()))
    }

    fn __repr__(&self) -> &'static str {
        "FrameTemplate(***)"
    }
}

/// `value` as a number text rule writes it (0: Kraken's JSON number, 1: Binance's text,
/// 2: Backpack's and Upbit's fixed text), or None when the Python path must decide.
#[pyfunction]
fn number_text(value: &Bound<'_, PyAny>, style: u8) -> PyResult<Option<String>> {
    let style = Style::from_u8(style)
        .ok_or_else(|| PyValueError::new_err(format!("unknown style {style}")))?;
    let Some(held) = hold(value)? else {
        return Ok(None);
    };
    let number = match held.value() {
        Value::Number(n) => n,
        Value::Str(s) => Number::Text(s),
        Value::Int(i) => Number::Int(i),
    };
    let mut out = Vec::with_capacity(24);
    Ok(frame::write_number(&mut out, number, style)
        .then(|| String::from_utf8(out).expect("number text is ASCII")))
}

/// A unique client order id: 32 lower-case hex digits shaped like a version-4 UUID
/// (random per process and fork, then a counter; no syscall per call).
#[pyfunction]
fn new_client_order_id(py: Python<'_>) -> Bound<'_, PyString> {
    let id = frame::client_order_id();
    PyString::new(py, std::str::from_utf8(&id).expect("hex is ASCII"))
}

/// The next Backpack `clientId` of the process-wide u32 sequence (random start).
#[pyfunction]
fn new_client_id_u32() -> u32 {
    frame::client_id_u32()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FrameTemplate>()?;
    m.add_function(wrap_pyfunction!(number_text, m)?)?;
    m.add_function(wrap_pyfunction!(new_client_order_id, m)?)?;
    m.add_function(wrap_pyfunction!(new_client_id_u32, m)?)?;
    Ok(())
}
