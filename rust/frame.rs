//! Request frames from a request's params as the Python path holds them (a flat dict of
//! scalars, in wire order): the venue's JSON and the text its signature covers, written in
//! one pass (see "flat request params" below); and fast client ids.
//!
//! Numbers follow the text rules the Python request path had, digit for digit, so both
//! paths send identical bytes (`tests/test_frames.py` checks them against each other):
//!
//! * [`Style::Json`] (Kraken, a JSON number): a float as msgspec writes it (shortest
//!   round-trip digits, positional for decimal exponents -5..=15, else `1.5e-7`), decimal
//!   text as Python's `str(Decimal(text))` (trailing zeros kept, `1E+3` for exponents);
//! * [`Style::Text`] (Binance, a string): a float as `repr()` (positional `format(.., "f")`
//!   when repr has an exponent), decimal text as given when it is plain digits with at
//!   most one point, else `format(Decimal(text), "f")`;
//! * [`Style::Fixed`] (Backpack, Upbit): `format(Decimal(repr or text), "f")`.
//!
//! Anything outside the common forms (non-ASCII text, surrounding whitespace, a float
//! subclass, huge ints, a value that is not positive) gives `None`, and the caller takes
//! the Python path, which has the same result or raises the same error. Nothing here goes
//! through float arithmetic: floats are only printed.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::decimal;

/// A number text rule (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Json,
    Text,
    Fixed,
}

impl Style {
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Style::Json),
            1 => Some(Style::Text),
            2 => Some(Style::Fixed),
            _ => None,
        }
    }
}

/// A number as the caller found it.
#[derive(Clone, Copy, Debug)]
pub enum Number<'a> {
    Float(f64),
    Int(i64),
    /// `str(Decimal)` of a `decimal.Decimal`.
    Decimal(&'a str),
    /// A `str` as the user gave it.
    Text(&'a str),
}

/// A fixed stack buffer `write!` can print into (no heap allocation per number).
struct StackText {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Exact powers of ten as f64 (every one up to 1e22 is representable).
const POW10: [f64; 18] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17,
];

/// The shortest round-trip digits of a positive float that is `m / 10^p` with few digits
/// (what prices and quantities are), without the general algorithm: for p = 0, 1, ... the
/// nearest integer `m` to `value * 10^p` is tried, and the first `m` with
/// `m / 10^p == value` (an exact test: `m` and `10^p` are exact, the division correctly
/// rounded, so it is what reading the text `m e-p` gives) is the answer. While
/// `value * 10^p < 2^50` its rounding error and the spacing of doubles there are both below
/// 1/8, so an integer that round-trips is always the nearest one to the computed product:
/// no shorter text can be missed, and no other text of the same length round-trips, so this
/// is the shortest and closest text, the one `{:e}` (and Python's repr) writes. None past
/// that range: the caller takes the general path.
fn short_float_digits(value: f64, digits: &mut [u8; 24]) -> Option<(usize, i32)> {
    const LIMIT: f64 = (1u64 << 50) as f64;
    for (p, scale) in POW10.iter().enumerate() {
        let scaled = value * scale;
        if scaled >= LIMIT {
            return None;
        }
        let m = scaled.round();
        if m >= 1.0 && m / scale == value {
            let mut m = m as u64;
            while m % 10 == 0 {
                m /= 10;
            }
            let mut text = [0u8; 20];
            let mut at = text.len();
            while m > 0 {
                at -= 1;
                text[at] = b'0' + (m % 10) as u8;
                m /= 10;
            }
            let count = text.len() - at;
            digits[..count].copy_from_slice(&text[at..]);
            // value = d.ddd × 10^exp: the integer part of `value * 10^p` has as many digits
            // as `m` before its trailing zeros were dropped
            let int_digits = (scaled.round() as u64).checked_ilog10().unwrap_or(0) as i32 + 1;
            return Some((count, int_digits - 1 - p as i32));
        }
    }
    None
}

/// Shortest round-trip digits of a positive finite float and its decimal exponent: the
/// value is `d.ddd × 10^exp`. The digits go into `digits`; returns `(count, exp)`.
fn float_digits(value: f64, digits: &mut [u8; 24]) -> (usize, i32) {
    if let Some(found) = short_float_digits(value, digits) {
        return found;
    }
    general_float_digits(value, digits)
}

/// `float_digits` by the standard library's shortest formatting (Grisu with a Dragon4
/// fallback).
fn general_float_digits(value: f64, digits: &mut [u8; 24]) -> (usize, i32) {
    use std::fmt::Write as _;
    let mut text = StackText {
        buf: [0; 40],
        len: 0,
    };
    write!(text, "{value:e}").expect("a finite f64 prints in 40 bytes");
    let text = &text.buf[..text.len];
    let e = text
        .iter()
        .position(|b| *b == b'e')
        .expect("{:e} writes an exponent");
    let mut count = 0;
    for b in text[..e].iter().filter(|b| **b != b'.') {
        digits[count] = *b;
        count += 1;
    }
    let exp = std::str::from_utf8(&text[e + 1..])
        .ok()
        .and_then(|t| t.parse().ok())
        .expect("{:e} writes an integer exponent");
    (count, exp)
}

/// Appends the decimal text of `value` (no allocation).
pub fn push_int(out: &mut Vec<u8>, value: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut rest = value.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[at..]);
}

/// Digits `d.ddd × 10^exp` written positionally (`trailing_point_zero`: `1.0`, not `1`).
fn positional(out: &mut Vec<u8>, digits: &[u8], exp: i32, trailing_point_zero: bool) {
    if exp < 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
        out.extend_from_slice(digits);
        return;
    }
    let int_len = exp as usize + 1;
    if digits.len() > int_len {
        out.extend_from_slice(&digits[..int_len]);
        out.push(b'.');
        out.extend_from_slice(&digits[int_len..]);
    } else {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
        if trailing_point_zero {
            out.extend_from_slice(b".0");
        }
    }
}

fn scientific(out: &mut Vec<u8>, digits: &[u8], exp: i32, python: bool) {
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    out.push(b'e');
    if python {
        // repr(): a sign and at least two digits (1e-05, 1e+16)
        out.push(if exp < 0 { b'-' } else { b'+' });
        let magnitude = exp.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        push_int(out, i64::from(magnitude));
    } else {
        push_int(out, i64::from(exp));
    }
}

/// A positive finite float as msgspec's JSON encoder writes it.
pub fn msgspec_float(out: &mut Vec<u8>, value: f64) {
    let mut digits = [0u8; 24];
    let (count, exp) = float_digits(value, &mut digits);
    let digits = &digits[..count];
    if (-5..16).contains(&exp) {
        positional(out, digits, exp, true);
    } else {
        scientific(out, digits, exp, false);
    }
}

/// A positive finite float as Python's `repr()` writes it.
pub fn repr_float(out: &mut Vec<u8>, value: f64) {
    let mut digits = [0u8; 24];
    let (count, exp) = float_digits(value, &mut digits);
    let digits = &digits[..count];
    if (-4..16).contains(&exp) {
        positional(out, digits, exp, true);
    } else {
        scientific(out, digits, exp, true);
    }
}

/// Decimal text split as Python's `Decimal()` reads it: coefficient digits (leading zeros
/// dropped, at least one digit) and exponent. ASCII only, no surrounding whitespace, no
/// underscores, no special values (None for those: the caller's Python path decides).
struct DecimalParts {
    negative: bool,
    coefficient: Vec<u8>,
    exponent: i64,
}

fn parse_decimal(text: &[u8]) -> Option<DecimalParts> {
    let mut i = 0;
    let n = text.len();
    let mut negative = false;
    if i < n && (text[i] == b'-' || text[i] == b'+') {
        negative = text[i] == b'-';
        i += 1;
    }
    let int_start = i;
    while i < n && text[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &text[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if i < n && text[i] == b'.' {
        i += 1;
        let start = i;
        while i < n && text[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &text[start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut exponent: i64 = 0;
    if i < n && (text[i] == b'e' || text[i] == b'E') {
        i += 1;
        let mut exp_negative = false;
        if i < n && (text[i] == b'-' || text[i] == b'+') {
            exp_negative = text[i] == b'-';
            i += 1;
        }
        let start = i;
        while i < n && text[i].is_ascii_digit() {
            i += 1;
        }
        if start == i || i - start > 6 {
            return None;
        }
        let magnitude: i64 = std::str::from_utf8(&text[start..i]).ok()?.parse().ok()?;
        exponent = if exp_negative { -magnitude } else { magnitude };
    }
    if i != n {
        return None;
    }
    let mut coefficient: Vec<u8> = int_digits.iter().chain(frac_digits).copied().collect();
    let zeros = coefficient.iter().take_while(|d| **d == b'0').count();
    coefficient.drain(..zeros.min(coefficient.len() - 1));
    Some(DecimalParts {
        negative,
        coefficient,
        exponent: exponent - frac_digits.len() as i64,
    })
}

impl DecimalParts {
    fn positive(&self) -> bool {
        !self.negative && self.coefficient.iter().any(|d| *d != b'0')
    }

    /// `format(Decimal, "f")`.
    fn write_fixed(&self, out: &mut Vec<u8>) {
        let digits = &self.coefficient;
        if self.exponent >= 0 {
            out.extend_from_slice(digits);
            if digits != b"0" {
                out.extend(std::iter::repeat_n(b'0', self.exponent as usize));
            }
            return;
        }
        let point = digits.len() as i64 + self.exponent;
        if point > 0 {
            out.extend_from_slice(&digits[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[point as usize..]);
        } else {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-point) as usize));
            out.extend_from_slice(digits);
        }
    }

    /// `str(Decimal)` (the to-scientific-string of the decimal specification).
    fn write_sci(&self, out: &mut Vec<u8>) {
        let digits = &self.coefficient;
        let adjusted = self.exponent + digits.len() as i64 - 1;
        if self.exponent <= 0 && adjusted >= -6 {
            if self.exponent == 0 {
                out.extend_from_slice(digits);
            } else {
                self.write_fixed(out);
            }
            return;
        }
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'E');
        out.push(if adjusted < 0 { b'-' } else { b'+' });
        push_int(out, adjusted.abs());
    }
}

fn plain_digits(text: &[u8]) -> bool {
    // Python's `text.replace(".", "", 1).isdigit()` for ASCII text
    let mut points = 0;
    let mut digits = 0;
    for b in text {
        match b {
            b'.' if points == 0 => points += 1,
            b'0'..=b'9' => digits += 1,
            _ => return false,
        }
    }
    digits > 0
}

/// Appends `value` as `style` writes it; false (nothing appended) when the Python path must
/// decide (an error to raise, or a form this writer does not cover).
pub fn write_number(out: &mut Vec<u8>, value: Number<'_>, style: Style) -> bool {
    match value {
        Number::Float(f) => {
            if !(f > 0.0 && f.is_finite()) {
                return false;
            }
            match style {
                Style::Json => msgspec_float(out, f),
                Style::Text | Style::Fixed => {
                    let mut repr = Vec::with_capacity(24);
                    repr_float(&mut repr, f);
                    if style == Style::Text && !repr.contains(&b'e') {
                        out.extend_from_slice(&repr);
                    } else {
                        match parse_decimal(&repr) {
                            Some(parts) => parts.write_fixed(out),
                            None => return false,
                        }
                    }
                }
            }
            true
        }
        Number::Int(i) => {
            if i <= 0 {
                return false;
            }
            push_int(out, i);
            true
        }
        Number::Decimal(text) | Number::Text(text) => {
            let bytes = text.as_bytes();
            let Some(parts) = parse_decimal(bytes) else {
                return false;
            };
            if !parts.positive() {
                return false;
            }
            // Kraken and Binance read the text with the Rust reader first (typed errors on
            // overflow): whatever it refuses goes to the Python path for its error.
            if style != Style::Fixed && decimal::parse_natural(bytes).is_err() {
                return false;
            }
            match style {
                Style::Json => parts.write_sci(out),
                Style::Text if plain_digits(bytes) => out.extend_from_slice(bytes),
                Style::Text | Style::Fixed => parts.write_fixed(out),
            }
            true
        }
    }
}

fn json_safe(text: &str) -> bool {
    // Eight bytes at a time (SWAR): a byte below 0x20, from 0x7f, `"` or `\\` anywhere in a
    // word shows as a set high bit in `unsafe_bytes`; the tail is padded with a safe byte.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    fn has_zero(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGH
    }
    fn unsafe_bytes(x: u64) -> u64 {
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        below_space
            | (x & HIGH)
            | has_zero(x ^ (ONES * 0x7f))
            | has_zero(x ^ (ONES * u64::from(b'"')))
            | has_zero(x ^ (ONES * u64::from(b'\\')))
    }
    let bytes = text.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        found |= unsafe_bytes(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut word = [b'a'; 8];
        word[..tail.len()].copy_from_slice(tail);
        found |= unsafe_bytes(u64::from_le_bytes(word));
    }
    found == 0
}

// -- flat request params ---------------------------------------------------------------------
//
// A request's params as the Python path holds them (a dict of scalars, in the order the
// frame lists them), written as the venue's JSON and as the text its signature covers. The
// JSON is what the Python path's msgspec encoder (`decimal_format="number"`) writes; the
// signing text is what the venue's Python rule writes. Anything else gives `false` and the
// caller takes the Python path.

/// One value of a request's params, as the Python path holds it.
#[derive(Clone, Copy, Debug)]
pub enum Scalar<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `str(value)` of a `decimal.Decimal`.
    Decimal(&'a str),
    None,
}

/// How a signing text writes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextRule {
    /// Python's `f"{value}"` (Binance's and Upbit's `k=v&...`): `True`, `80000.0`, `None`.
    Python,
    /// Backpack's `sign_value`: `true`/`false`, numbers as `format(Decimal, "f")`.
    Backpack,
}

/// Appends `text` as a JSON string: only printable ASCII without `"` or `\` (false for
/// anything msgspec would escape or that is not ASCII: the Python path).
pub fn json_string(out: &mut Vec<u8>, text: &str) -> bool {
    if !json_safe(text) {
        return false;
    }
    out.reserve(text.len() + 3);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    true
}

/// Appends `value` as msgspec's encoder writes it; false for a value this writer leaves to
/// the Python path (a float or `Decimal` that is not positive, text to escape).
pub fn json_value(out: &mut Vec<u8>, value: Scalar<'_>) -> bool {
    match value {
        Scalar::Str(text) => json_string(out, text),
        Scalar::Bool(true) => {
            out.extend_from_slice(b"true");
            true
        }
        Scalar::Bool(false) => {
            out.extend_from_slice(b"false");
            true
        }
        Scalar::Int(i) => {
            push_int(out, i);
            true
        }
        Scalar::Float(f) => write_number(out, Number::Float(f), Style::Json),
        Scalar::Decimal(text) => write_number(out, Number::Decimal(text), Style::Json),
        Scalar::None => {
            out.extend_from_slice(b"null");
            true
        }
    }
}

/// Appends `value` as `rule` writes it into a signing text; false when the Python path must
/// decide. `None` is `None` by the Python rule (Backpack's leaves the key out: the caller's
/// business).
pub fn text_value(out: &mut Vec<u8>, value: Scalar<'_>, rule: TextRule) -> bool {
    match (value, rule) {
        (Scalar::Str(text), _) => {
            out.extend_from_slice(text.as_bytes());
            true
        }
        (Scalar::Bool(b), TextRule::Python) => {
            out.extend_from_slice(if b { b"True" } else { b"False" });
            true
        }
        (Scalar::Bool(b), TextRule::Backpack) => {
            out.extend_from_slice(if b { b"true" } else { b"false" });
            true
        }
        (Scalar::Int(i), _) => {
            push_int(out, i);
            true
        }
        (Scalar::Float(f), TextRule::Python) => {
            if !(f > 0.0 && f.is_finite()) {
                return false;
            }
            repr_float(out, f);
            true
        }
        (Scalar::Float(f), TextRule::Backpack) => write_number(out, Number::Float(f), Style::Fixed),
        (Scalar::Decimal(text), TextRule::Python) => {
            out.extend_from_slice(text.as_bytes());
            true
        }
        (Scalar::Decimal(text), TextRule::Backpack) => {
            write_number(out, Number::Decimal(text), Style::Fixed)
        }
        (Scalar::None, TextRule::Python) => {
            out.extend_from_slice(b"None");
            true
        }
        (Scalar::None, TextRule::Backpack) => false,
    }
}

/// Appends `"key":` (false for a key to escape).
pub fn json_key(out: &mut Vec<u8>, key: &str) -> bool {
    if !json_string(out, key) {
        return false;
    }
    out.push(b':');
    true
}

// -- fast unique ids -------------------------------------------------------------------------

static ID_PREFIX: AtomicU64 = AtomicU64::new(0);
static ID_SALT: AtomicU64 = AtomicU64::new(0);
static ID_COUNTER: AtomicU64 = AtomicU64::new(0);
static CLIENT_ID: AtomicU64 = AtomicU64::new(0);
static SEEDED: std::sync::Once = std::sync::Once::new();

fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let got =
            unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if got > 0 {
            filled += got as usize;
        } else if got < 0
            && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            // No getrandom: the clock and the pid still make processes differ.
            let fallback = crate::clock::wall_ns() ^ (u64::from(std::process::id()) << 32);
            return fallback.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    u64::from_le_bytes(buf)
}

fn reseed() {
    ID_PREFIX.store(random_u64(), Ordering::Relaxed);
    ID_SALT.store(random_u64(), Ordering::Relaxed);
    ID_COUNTER.store(0, Ordering::Relaxed);
    CLIENT_ID.store(random_u64() >> 33, Ordering::Relaxed);
}

extern "C" fn reseed_in_child() {
    reseed();
}

fn seeded() {
    SEEDED.call_once(|| {
        reseed();
        // A forked child draws fresh random parts, so two processes never share ids.
        // SAFETY: registers a plain function that only stores atomics.
        unsafe {
            libc::pthread_atfork(None, None, Some(reseed_in_child));
        }
    });
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A unique client order id as 32 lower-case hex digits shaped like a version-4 UUID (what
/// Kraken's `cl_ord_id`, Binance's `newClientOrderId` and Upbit's `identifier` all accept):
/// 74 random bits drawn once per process (again after a fork) and a 48-bit counter, so
/// no two calls in a process repeat and processes differ by chance of 2^-74. A counter, not
/// a random draw, per call: ~20 ns instead of a uuid4's syscall.
pub fn client_order_id() -> [u8; 32] {
    seeded();
    let prefix = ID_PREFIX.load(Ordering::Relaxed);
    let salt = ID_SALT.load(Ordering::Relaxed);
    let count = ID_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&prefix.to_be_bytes());
    raw[6] = (raw[6] & 0x0F) | 0x40; // version 4
    let salt = salt.to_be_bytes();
    raw[8] = (salt[0] & 0x3F) | 0x80; // RFC 4122 variant
    raw[9] = salt[1];
    raw[10..].copy_from_slice(
        &(count ^ u64::from_be_bytes([0, 0, salt[2], salt[3], salt[4], salt[5], salt[6], salt[7]]))
            .to_be_bytes()[2..],
    );
    let mut out = [0u8; 32];
    for (i, byte) in raw.iter().enumerate() {
        out[2 * i] = HEX[(byte >> 4) as usize];
        out[2 * i + 1] = HEX[(byte & 0x0F) as usize];
    }
    out
}

/// The canonical 8-4-4-4-12 form of a `client_order_id()` (a JWT nonce).
pub fn uuid_text() -> String {
    let hex = client_order_id();
    let mut out = String::with_capacity(36);
    for (i, chunk) in [0..8, 8..12, 12..16, 16..20, 20..32]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push('-');
        }
        out.push_str(std::str::from_utf8(&hex[chunk]).expect("hex is ASCII"));
    }
    out
}

/// A process-wide u32 sequence from a random start (Backpack's `clientId`).
pub fn client_id_u32() -> u32 {
    seeded();
    (CLIENT_ID.fetch_add(1, Ordering::Relaxed) % (1u64 << 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: Number<'_>, style: Style) -> Option<String> {
        let mut out = Vec::new();
        write_number(&mut out, value, style).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn floats_as_msgspec_and_repr() {
        let cases = [
            (0.001, "0.001", "0.001"),
            (80000.0, "80000.0", "80000.0"),
            (1e-5, "0.00001", "0.00001"),
            (1.5e-7, "1.5e-7", "0.00000015"),
            (1e16, "1e16", "10000000000000000"),
            (1e15, "1000000000000000.0", "1000000000000000.0"),
            (0.1 + 0.2, "0.30000000000000004", "0.30000000000000004"),
        ];
        for (value, json, binance) in cases {
            assert_eq!(text(Number::Float(value), Style::Json).unwrap(), json);
            assert_eq!(text(Number::Float(value), Style::Text).unwrap(), binance);
        }
        assert_eq!(
            text(Number::Float(80000.0), Style::Fixed).unwrap(),
            "80000.0"
        );
        assert_eq!(text(Number::Float(1e-5), Style::Fixed).unwrap(), "0.00001");
        let mut repr = Vec::new();
        repr_float(&mut repr, 1e-5);
        assert_eq!(repr, b"1e-05");
        assert!(text(Number::Float(0.0), Style::Json).is_none());
        assert!(text(Number::Float(f64::NAN), Style::Text).is_none());
    }

    #[test]
    fn decimal_text_rules() {
        let cases = [
            ("0.0010", "0.0010", "0.0010", "0.0010"),
            ("1E-8", "1E-8", "0.00000001", "0.00000001"),
            ("0.00000001", "1E-8", "0.00000001", "0.00000001"),
            ("1e3", "1E+3", "1000", "1000"),
            ("1.5e2", "1.5E+2", "150", "150"),
            ("000.5", "0.5", "000.5", "0.5"),
            (".5", "0.5", ".5", "0.5"),
            ("5.", "5", "5.", "5"),
            ("100", "100", "100", "100"),
        ];
        for (input, json, binance, fixed) in cases {
            let n = Number::Text(input);
            assert_eq!(text(n, Style::Json).unwrap(), json, "{input}");
            assert_eq!(text(n, Style::Text).unwrap(), binance, "{input}");
            assert_eq!(text(n, Style::Fixed).unwrap(), fixed, "{input}");
        }
        for refused in ["", "0", "-1", "0.000", "abc", " 1", "1_0", "1e", "NaN"] {
            assert!(
                text(Number::Text(refused), Style::Fixed).is_none(),
                "{refused}"
            );
        }
    }

    #[test]
    fn json_safe_is_printable_ascii_without_quote_or_backslash() {
        for b in 0u8..=255 {
            let expected = (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
            for at in 0..17 {
                let mut text = [b'x'; 17];
                text[at] = b;
                let Ok(text) = std::str::from_utf8(&text[..=at.max(3)]) else {
                    continue;
                };
                assert_eq!(json_safe(text), expected, "{b:#x} at {at}");
            }
        }
        assert!(json_safe(""));
        assert!(!json_safe("caf\u{e9}"));
    }

    #[test]
    fn short_float_digits_agree_with_the_general_algorithm() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut fast_ones = 0;
        let mut check = |value: f64| {
            if !(value > 0.0 && value.is_finite()) {
                return;
            }
            let (mut fast, mut general) = ([0u8; 24], [0u8; 24]);
            let expected = general_float_digits(value, &mut general);
            if let Some(found) = short_float_digits(value, &mut fast) {
                assert_eq!(found, expected, "{value:e}");
                assert_eq!(fast[..found.0], general[..expected.0], "{value:e}");
                fast_ones += 1;
            }
        };
        for _ in 0..300_000 {
            let bits = next();
            // prices and sizes: an integer of up to 17 digits over a power of ten
            let mantissa = (bits >> 8) % 10u64.pow((bits % 17) as u32 + 1);
            let scale = 10f64.powi(((bits >> 60) % 16) as i32);
            check(mantissa as f64 / scale);
            check(mantissa as f64 / scale * 1.000_000_000_000_001);
            check(f64::from_bits(next() >> 2)); // any float
            check(f64::from_bits(next() % (1u64 << 62)) / 1e300);
        }
        for value in [
            0.1 + 0.2,
            1.0 / 3.0,
            2f64.powi(49),
            2f64.powi(50) - 1.0,
            5e-324,
        ] {
            check(value);
        }
        // most of the price-like values take the short path (the check is not vacuous)
        assert!(fast_ones > 200_000, "{fast_ones}");
    }

    #[test]
    fn flat_params_as_json_and_signing_text() {
        let mut out = Vec::new();
        for (value, json) in [
            (Scalar::Str("BTC/USD"), "\"BTC/USD\""),
            (Scalar::Bool(true), "true"),
            (Scalar::Bool(false), "false"),
            (Scalar::Int(-42), "-42"),
            (Scalar::Int(i64::MIN), "-9223372036854775808"),
            (Scalar::Float(80000.0), "80000.0"),
            (Scalar::Float(1.5e-7), "1.5e-7"),
            (Scalar::Decimal("0.00100000"), "0.00100000"),
            (Scalar::None, "null"),
        ] {
            out.clear();
            assert!(json_value(&mut out, value), "{value:?}");
            assert_eq!(String::from_utf8(out.clone()).unwrap(), json);
        }
        for refused in [
            Scalar::Str("a\"b"),
            Scalar::Str("caf\u{e9}"),
            Scalar::Str("tab\there"),
            Scalar::Float(0.0),
            Scalar::Float(-1.0),
            Scalar::Decimal("-1"),
            Scalar::Decimal("NaN"),
        ] {
            assert!(!json_value(&mut Vec::new(), refused), "{refused:?}");
        }
        let text = |value, rule| {
            let mut out = Vec::new();
            text_value(&mut out, value, rule).then(|| String::from_utf8(out).unwrap())
        };
        assert_eq!(text(Scalar::Bool(true), TextRule::Python).unwrap(), "True");
        assert_eq!(
            text(Scalar::Bool(true), TextRule::Backpack).unwrap(),
            "true"
        );
        assert_eq!(
            text(Scalar::Float(1e-5), TextRule::Python).unwrap(),
            "1e-05"
        );
        assert_eq!(
            text(Scalar::Float(1e-5), TextRule::Backpack).unwrap(),
            "0.00001"
        );
        assert_eq!(
            text(Scalar::Decimal("1E+3"), TextRule::Python).unwrap(),
            "1E+3"
        );
        assert_eq!(
            text(Scalar::Decimal("1E+3"), TextRule::Backpack).unwrap(),
            "1000"
        );
        assert_eq!(text(Scalar::None, TextRule::Python).unwrap(), "None");
        assert!(text(Scalar::None, TextRule::Backpack).is_none());
        let mut ints = Vec::new();
        for i in [0, 7, -7, 1_754_000_000_123] {
            ints.clear();
            push_int(&mut ints, i);
            assert_eq!(ints, i.to_string().as_bytes());
        }
    }

    #[test]
    fn ids_are_unique_and_uuid_shaped() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = client_order_id();
            assert_eq!(id[12], b'4');
            assert!(matches!(id[16], b'8' | b'9' | b'a' | b'b'));
            assert!(seen.insert(id));
        }
        assert_eq!(uuid_text().len(), 36);
        let a = client_id_u32();
        assert_eq!(client_id_u32(), a.wrapping_add(1));
    }
}
