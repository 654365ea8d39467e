//! Order-frame templates and fast ids for Python (see `crate::frame`).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

use super::auth::{Ed25519Signer, HmacSha256Signer, UpbitSigner};
use crate::frame::{self, Kind, Layout, Number, Piece, Scalar, Style, TextRule, Value};
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
                Signer::Hmac(s) => s.get().key.sign_hex(&payload),
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

// -- request frames from the params dict --------------------------------------------------

/// The text of a `str` that is compact ASCII (every key and value these frames write is),
/// read in place without a call into Python; None for any other str (the Python path).
fn ascii_text<'a>(text: &'a Bound<'_, PyString>) -> Option<&'a str> {
    let ptr = text.as_ptr();
    // SAFETY: `ptr` is a live str for as long as `text` is borrowed; a compact ASCII str
    // holds its `len` ASCII bytes right after its header and never changes them.
    unsafe {
        if pyo3::ffi::PyUnicode_IS_COMPACT_ASCII(ptr) == 0 {
            return None;
        }
        let len = usize::try_from(pyo3::ffi::PyUnicode_GET_LENGTH(ptr)).ok()?;
        let data = pyo3::ffi::PyUnicode_DATA(ptr).cast::<u8>();
        Some(std::str::from_utf8_unchecked(std::slice::from_raw_parts(
            data, len,
        )))
    }
}

/// Hands `value` to `f` as a `Scalar` without converting it on the Python side; None for a
/// value the writers do not cover (a str subclass such as `Secret`, a list, a huge int...).
fn with_scalar<R>(
    value: &Bound<'_, PyAny>,
    f: impl FnOnce(Scalar<'_>) -> R,
) -> PyResult<Option<R>> {
    if let Ok(text) = value.cast_exact::<PyString>() {
        return Ok(ascii_text(text).map(|t| f(Scalar::Str(t))));
    }
    if let Ok(number) = value.cast_exact::<PyFloat>() {
        return Ok(Some(f(Scalar::Float(number.value()))));
    }
    if let Ok(flag) = value.cast_exact::<PyBool>() {
        return Ok(Some(f(Scalar::Bool(flag.is_true()))));
    }
    if let Ok(int) = value.cast_exact::<PyInt>() {
        return Ok(int.extract::<i64>().ok().map(|i| f(Scalar::Int(i))));
    }
    if value.is_none() {
        return Ok(Some(f(Scalar::None)));
    }
    if value.get_type().is(decimal_type(value.py())?) {
        let text = value.str()?;
        return Ok(text.to_str().ok().map(|t| f(Scalar::Decimal(t))));
    }
    Ok(None)
}

/// A params value as JSON: a scalar, or a list or tuple of scalars.
fn json_item(out: &mut Vec<u8>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    if let Some(written) = with_scalar(value, |v| frame::json_value(out, v))? {
        return Ok(written);
    }
    let items = if let Ok(list) = value.cast_exact::<PyList>() {
        list.as_sequence().clone()
    } else if let Ok(tuple) = value.cast_exact::<PyTuple>() {
        tuple.as_sequence().clone()
    } else {
        return Ok(false);
    };
    out.push(b'[');
    for (position, item) in items.try_iter()?.enumerate() {
        if position > 0 {
            out.push(b',');
        }
        match with_scalar(&item?, |v| frame::json_value(out, v))? {
            Some(true) => {}
            _ => return Ok(false),
        }
    }
    out.push(b']');
    Ok(true)
}

/// Every `"key":value` of `params` in its order, comma-separated (with a leading comma when
/// `leading_comma` and there is a member). False when one needs the Python path.
fn json_members(
    out: &mut Vec<u8>,
    params: &Bound<'_, PyDict>,
    leading_comma: bool,
) -> PyResult<bool> {
    for (position, (key, value)) in params.iter().enumerate() {
        let Some(key) = key.cast_exact::<PyString>().ok().and_then(ascii_text) else {
            return Ok(false);
        };
        if leading_comma || position > 0 {
            out.push(b',');
        }
        if !frame::json_key(out, key) || !json_item(out, &value)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The request frames of one Kraken WS v2 connection: `build(method, params, req_id)` writes
/// `{"method":...,"params":{"token":<token>,...params},"req_id":...}` in one call, byte for
/// byte what the generic path's msgspec encoding gives (numbers by the same text rules: a
/// float as its shortest digits, a `Decimal` as its text), or None for params it does not
/// cover (a nested value, text to escape, a number that is not positive): the caller encodes
/// those generically. `token_json` is the session token as a JSON string. The repr shows
/// nothing: the frames hold the token.
#[pyclass(frozen, module = "hftpy._core")]
pub struct KrakenFrames {
    token_json: Vec<u8>,
}

#[pymethods]
impl KrakenFrames {
    #[new]
    fn new(token_json: &[u8]) -> Self {
        Self {
            token_json: token_json.to_vec(),
        }
    }

    /// The frame of `method` with `params` and `req_id`, or None (see the class doc).
    fn build<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        params: &Bound<'py, PyDict>,
        req_id: i64,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut out = Vec::with_capacity(64 + self.token_json.len() + 40 * params.len());
        out.extend_from_slice(b"{\"method\":");
        if !frame::json_string(&mut out, method) {
            return Ok(None);
        }
        out.extend_from_slice(b",\"params\":{\"token\":");
        out.extend_from_slice(&self.token_json);
        if !json_members(&mut out, params, true)? {
            return Ok(None);
        }
        out.extend_from_slice(b"},\"req_id\":");
        frame::push_int(&mut out, req_id);
        out.push(b'}');
        Ok(Some(PyBytes::new(py, &out)))
    }

    fn __repr__(&self) -> &'static str {
        "KrakenFrames(***)"
    }
}

enum RequestSigner {
    None,
    Hmac(crate::sign::HmacSha256Key),
    Ed25519(Py<Ed25519Signer>),
}

impl RequestSigner {
    fn from_py(signer: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(signer) = signer else {
            return Ok(Self::None);
        };
        if let Ok(s) = signer.cast::<HmacSha256Signer>() {
            return Ok(Self::Hmac(s.get().key.clone()));
        }
        if let Ok(s) = signer.cast::<Ed25519Signer>() {
            return Ok(Self::Ed25519(s.clone().unbind()));
        }
        Err(PyValueError::new_err(
            "signer must be an HmacSha256Signer or an Ed25519Signer",
        ))
    }

    /// HMAC-SHA256 hex, or Ed25519 base64 with the GIL released; None without a signer.
    fn sign(&self, py: Python<'_>, text: &[u8]) -> Option<String> {
        match self {
            Self::None => None,
            Self::Hmac(key) => Some(key.sign_hex(text)),
            Self::Ed25519(signer) => {
                let signer = signer.get();
                Some(py.detach(|| signer.inner.sign_base64(text)))
            }
        }
    }
}

/// The request frames of one Binance WS API connection: `build(method, params, req_id,
/// signed)` writes `{"id":...,"method":...,"params":{...}}` with `params` in its order, byte
/// for byte what the generic path's msgspec encoding gives. With `signed`, it appends
/// `apiKey` and the `signature` over the sorted `k=v&...` of the params and the key (values
/// as Python's f-string writes them), HMAC-SHA256 hex or Ed25519 base64 by the signer, and
/// returns `(frame, signature)`. None for params it does not cover (nested values, text to
/// escape, `apiKey`/`signature` already present, no key or signer for a signed request): the
/// caller's Python path decides. The repr shows nothing: the frames hold the key.
#[pyclass(frozen, module = "hftpy._core")]
pub struct BinanceFrames {
    api_key: Option<String>,
    signer: RequestSigner,
}

#[pymethods]
impl BinanceFrames {
    #[new]
    #[pyo3(signature = (api_key = None, signer = None))]
    fn new(api_key: Option<&str>, signer: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(Self {
            // a key the JSON would escape is left to the Python path
            api_key: api_key
                .filter(|k| frame::json_string(&mut Vec::new(), k))
                .map(str::to_owned),
            signer: RequestSigner::from_py(signer.as_ref())?,
        })
    }

    /// The frame (with `signed`: `(frame, signature)`), or None (see the class doc).
    fn build<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        params: &Bound<'py, PyDict>,
        req_id: i64,
        signed: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let mut out = Vec::with_capacity(192 + 40 * params.len());
        out.extend_from_slice(b"{\"id\":");
        frame::push_int(&mut out, req_id);
        out.extend_from_slice(b",\"method\":");
        if !frame::json_string(&mut out, method) {
            return Ok(None);
        }
        if !signed {
            if params.is_empty() {
                out.push(b'}');
            } else {
                out.extend_from_slice(b",\"params\":{");
                if !json_members(&mut out, params, false)? {
                    return Ok(None);
                }
                out.extend_from_slice(b"}}");
            }
            return Ok(Some(PyBytes::new(py, &out).into_any()));
        }
        let Some(api_key) = &self.api_key else {
            return Ok(None);
        };
        if matches!(self.signer, RequestSigner::None) {
            return Ok(None);
        }
        out.extend_from_slice(b",\"params\":{");
        let items: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = params.iter().collect();
        let mut keys: Vec<(&str, Option<&Bound<'py, PyAny>>)> = Vec::with_capacity(items.len() + 1);
        for (position, (key, value)) in items.iter().enumerate() {
            let Some(key) = key.cast_exact::<PyString>().ok().and_then(ascii_text) else {
                return Ok(None);
            };
            if key == "apiKey" || key == "signature" {
                return Ok(None);
            }
            if position > 0 {
                out.push(b',');
            }
            if !frame::json_key(&mut out, key) || !json_item(&mut out, value)? {
                return Ok(None);
            }
            keys.push((key, Some(value)));
        }
        if !items.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(b"\"apiKey\":");
        frame::json_string(&mut out, api_key);
        keys.push(("apiKey", None));
        keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut text = Vec::with_capacity(out.len());
        for (position, (key, value)) in keys.iter().enumerate() {
            if position > 0 {
                text.push(b'&');
            }
            text.extend_from_slice(key.as_bytes());
            text.push(b'=');
            match value {
                None => text.extend_from_slice(api_key.as_bytes()),
                Some(value) => {
                    let written =
                        with_scalar(value, |v| frame::text_value(&mut text, v, TextRule::Python))?;
                    if written != Some(true) {
                        return Ok(None);
                    }
                }
            }
        }
        let Some(signature) = self.signer.sign(py, &text) else {
            return Ok(None);
        };
        out.extend_from_slice(b",\"signature\":\"");
        out.extend_from_slice(signature.as_bytes());
        out.extend_from_slice(b"\"}}");
        let frame = PyBytes::new(py, &out);
        Ok(Some((frame, signature).into_pyobject(py)?.into_any()))
    }

    fn __repr__(&self) -> &'static str {
        "BinanceFrames(***)"
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
    m.add_class::<KrakenFrames>()?;
    m.add_class::<BinanceFrames>()?;
    m.add_function(wrap_pyfunction!(number_text, m)?)?;
    m.add_function(wrap_pyfunction!(new_client_order_id, m)?)?;
    m.add_function(wrap_pyfunction!(new_client_id_u32, m)?)?;
    Ok(())
}
