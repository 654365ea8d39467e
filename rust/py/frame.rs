//! Request frames and fast ids for Python (see `crate::frame`): one call per request reads
//! the params dict in place and writes the whole frame (and signature) of one venue.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

use super::auth::{Ed25519Signer, HmacSha256Signer, UpbitSigner};
use super::errors;
use crate::frame::{self, Number, Scalar, Style, TextRule};
use crate::sign;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

// -- request frames from the params dict --------------------------------------------------

/// The text of an ASCII `str` (every key and value these frames write is one); None for any
/// other str (the Python path). `PyUnicode_AsUTF8AndSize` hands a compact ASCII str's own
/// bytes back without copying, and it exists on every CPython the wheels are built for
/// (3.14's headers dropped the `PyUnicode_IS_COMPACT_ASCII` macro pyo3 exposed before).
fn ascii_text<'a>(text: &'a Bound<'_, PyString>) -> Option<&'a str> {
    text.to_str().ok().filter(|t| t.is_ascii())
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
        Err(errors::config(
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

/// Signed Backpack REST requests: `build(instruction, params, timestamp, window)` gives the JSON body
/// (msgspec's encoding of `params`, in its order) and the base64 Ed25519 signature of
/// `instruction=<instruction>&k=v...&timestamp=<ms>&window=<ms>` (keys sorted, values that
/// are None left out, booleans `true`/`false`, numbers as plain decimal text), signed with the
/// GIL released: byte for byte the Python path. None for params it does not cover (the
/// Python path decides). The repr shows nothing.
#[pyclass(frozen, module = "hftpy._core")]
pub struct BackpackFrames {
    signer: Py<Ed25519Signer>,
}

#[pymethods]
impl BackpackFrames {
    #[new]
    fn new(signer: Py<Ed25519Signer>) -> Self {
        Self { signer }
    }

    /// `(body, signature)` of one request, or None (see the class doc).
    fn build<'py>(
        &self,
        py: Python<'py>,
        instruction: &str,
        params: &Bound<'py, PyDict>,
        timestamp: i64,
        window: i64,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, String)>> {
        let mut body = Vec::with_capacity(32 + 40 * params.len());
        body.push(b'{');
        if !json_members(&mut body, params, false)? {
            return Ok(None);
        }
        body.push(b'}');
        let items: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = params.iter().collect();
        let mut fields: Vec<(&str, &Bound<'py, PyAny>)> = Vec::with_capacity(items.len());
        for (key, value) in &items {
            // every key was read as compact ASCII above
            let Some(key) = key.cast_exact::<PyString>().ok().and_then(ascii_text) else {
                return Ok(None);
            };
            if !value.is_none() {
                fields.push((key, value));
            }
        }
        fields.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut text = Vec::with_capacity(64 + body.len());
        text.extend_from_slice(b"instruction=");
        text.extend_from_slice(instruction.as_bytes());
        for (key, value) in &fields {
            text.push(b'&');
            text.extend_from_slice(key.as_bytes());
            text.push(b'=');
            let written = with_scalar(value, |v| {
                frame::text_value(&mut text, v, TextRule::Backpack)
            })?;
            if written != Some(true) {
                return Ok(None);
            }
        }
        text.extend_from_slice(b"&timestamp=");
        frame::push_int(&mut text, timestamp);
        text.extend_from_slice(b"&window=");
        frame::push_int(&mut text, window);
        let signer = self.signer.get();
        let signature = py.detach(|| signer.inner.sign_base64(&text));
        Ok(Some((PyBytes::new(py, &body), signature)))
    }

    fn __repr__(&self) -> &'static str {
        "BackpackFrames(***)"
    }
}

/// Signed Upbit REST requests with a JSON body: `build(params, nonce=None)` gives the body
/// (msgspec's encoding of `params`, in its order) and the JWT bound to the unencoded query
/// string `k=v&...` of the same params in the same order (a list as `k[]=item` per item),
/// by its SHA-512 `query_hash`, with a fresh uuid4 nonce unless one is given: byte for byte
/// the Python path. None for params it does not cover. The repr shows nothing.
#[pyclass(frozen, module = "hftpy._core")]
pub struct UpbitFrames {
    signer: Py<UpbitSigner>,
}

#[pymethods]
impl UpbitFrames {
    #[new]
    fn new(signer: Py<UpbitSigner>) -> Self {
        Self { signer }
    }

    /// `(body, jwt)` of one request, or None (see the class doc).
    #[pyo3(signature = (params, nonce = None))]
    fn build<'py>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyDict>,
        nonce: Option<&str>,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, String)>> {
        let mut body = Vec::with_capacity(32 + 40 * params.len());
        body.push(b'{');
        if !json_members(&mut body, params, false)? {
            return Ok(None);
        }
        body.push(b'}');
        let mut query = Vec::with_capacity(body.len());
        for (key, value) in params.iter() {
            let Some(key) = key.cast_exact::<PyString>().ok().and_then(ascii_text) else {
                return Ok(None);
            };
            let items = if let Ok(list) = value.cast_exact::<PyList>() {
                Some(list.as_sequence().clone())
            } else if let Ok(tuple) = value.cast_exact::<PyTuple>() {
                Some(tuple.as_sequence().clone())
            } else {
                None
            };
            let Some(items) = items else {
                if !query.is_empty() {
                    query.push(b'&');
                }
                query.extend_from_slice(key.as_bytes());
                query.push(b'=');
                let written = with_scalar(&value, |v| {
                    frame::text_value(&mut query, v, TextRule::Python)
                })?;
                if written != Some(true) {
                    return Ok(None);
                }
                continue;
            };
            for item in items.try_iter()? {
                if !query.is_empty() {
                    query.push(b'&');
                }
                query.extend_from_slice(key.as_bytes());
                if !key.ends_with("[]") {
                    query.extend_from_slice(b"[]");
                }
                query.push(b'=');
                let written = with_scalar(&item?, |v| {
                    frame::text_value(&mut query, v, TextRule::Python)
                })?;
                if written != Some(true) {
                    return Ok(None);
                }
            }
        }
        let query = String::from_utf8(query).expect("the query is built from str values");
        let signer = self.signer.get();
        let nonce = match nonce {
            Some(nonce) => nonce.to_owned(),
            None => frame::uuid_text(),
        };
        let token = sign::upbit_jwt(
            signer.alg,
            &signer.access_key,
            &signer.secret,
            &nonce,
            Some(&query),
        );
        Ok(Some((PyBytes::new(py, &body), token)))
    }

    fn __repr__(&self) -> &'static str {
        "UpbitFrames(***)"
    }
}

/// `value` as a number text rule writes it (0: Kraken's JSON number, 1: Binance's text,
/// 2: Backpack's and Upbit's fixed text), or None when the Python path must decide.
#[pyfunction]
fn number_text(value: &Bound<'_, PyAny>, style: u8) -> PyResult<Option<String>> {
    let style =
        Style::from_u8(style).ok_or_else(|| errors::config(format!("unknown style {style}")))?;
    let mut out = Vec::with_capacity(24);
    let written = with_scalar(value, |scalar| {
        let number = match scalar {
            Scalar::Float(f) => Number::Float(f),
            Scalar::Int(i) => Number::Int(i),
            Scalar::Str(text) => Number::Text(text),
            Scalar::Decimal(text) => Number::Decimal(text),
            Scalar::Bool(_) | Scalar::None => return false,
        };
        frame::write_number(&mut out, number, style)
    })?;
    Ok((written == Some(true)).then(|| String::from_utf8(out).expect("number text is ASCII")))
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
    m.add_class::<KrakenFrames>()?;
    m.add_class::<BinanceFrames>()?;
    m.add_class::<BackpackFrames>()?;
    m.add_class::<UpbitFrames>()?;
    m.add_function(wrap_pyfunction!(number_text, m)?)?;
    m.add_function(wrap_pyfunction!(new_client_order_id, m)?)?;
    m.add_function(wrap_pyfunction!(new_client_id_u32, m)?)?;
    Ok(())
}
