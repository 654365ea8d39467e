//! A small pull parser over borrowed JSON bytes, for decoding exchange frames without building a
//! tree or copying strings.
//!
//! The caller walks the document in order (`object` → `Members::next` → a value reader, `array` →
//! `Elements::next` → ...) and gets back slices of the input: string contents as written (escape
//! sequences are left in place, see [`unescape`]) and number tokens as text, so prices can be read
//! into fixed-point integers without going through f64. Values the caller does not want are skipped
//! with [`Parser::skip`] or kept as raw text with [`Parser::raw`]; a skipped container is checked only
//! for balanced brackets and well-formed strings, which is all that is needed to find its end.

use std::borrow::Cow;

use crate::decimal::{parse_fixed, parse_plain_prefix, DecimalError};

/// Where a document stopped being what the decoder expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON at byte {offset}: expected {expected}")]
pub struct JsonError {
    pub offset: usize,
    pub expected: &'static str,
}

/// A cursor over one JSON document.
pub struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// Iteration state of one object: knows whether a comma must come before the next key.
pub struct Members {
    first: bool,
}

/// Iteration state of one array.
pub struct Elements {
    first: bool,
}

impl<'a> Parser<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Parser { bytes, pos: 0 }
    }

    fn error(&self, expected: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            expected,
        }
    }

    /// How far into the document the parser has read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The next non-whitespace byte, left unconsumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Consumes `byte` if it is the next non-whitespace byte.
    #[inline]
    pub fn consume(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    #[inline]
    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// Enters an object; walk it with [`Members::next`].
    pub fn object(&mut self) -> Result<Members, JsonError> {
        self.expect(b'{', "'{'")?;
        Ok(Members { first: true })
    }

    /// Enters an array; walk it with [`Elements::next`].
    pub fn array(&mut self) -> Result<Elements, JsonError> {
        self.expect(b'[', "'['")?;
        Ok(Elements { first: true })
    }

    /// A string's contents between the quotes, escape sequences as written.
    #[inline(always)]
    pub fn string(&mut self) -> Result<&'a [u8], JsonError> {
        self.expect(b'"', "a string")?;
        let start = self.pos;
        let bytes = self.bytes;
        let mut i = start;
        loop {
            // Eight bytes at a time to the next quote or backslash (SWAR: the lowest flagged
            // byte is always a true match, so `trailing_zeros` finds the first one).
            while let Some(chunk) = bytes.get(i..i + 8) {
                let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                let hits = flag_byte(word, b'"') | flag_byte(word, b'\\');
                if hits != 0 {
                    i += (hits.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(&bytes[start..i]);
                }
                // A backslash: step over it and the byte it escapes.
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
                None => {
                    self.pos = bytes.len();
                    return Err(self.error("closing '\"'"));
                }
            }
        }
    }

    /// The text of a number token (`-12.5e3`), not yet validated as a number.
    fn number_token(&mut self) -> Result<&'a [u8], JsonError> {
        let start = self.pos;
        while let Some(b) = self.bytes.get(self.pos) {
            if !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("a number"));
        }
        Ok(&self.bytes[start..self.pos])
    }

    /// Decimal text given either as a JSON number or as a quoted string (venues do both).
    pub fn decimal(&mut self) -> Result<&'a [u8], JsonError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(_) => self.number_token(),
            None => Err(self.error("a number")),
        }
    }

    /// A decimal given as a JSON number or a quoted string (venues send both), read straight
    /// into a mantissa at `scale` in the same pass that finds its end. The outer error is
    /// malformed JSON; the inner one a well-formed number that does not fit the scale.
    pub fn fixed(&mut self, scale: u8) -> Result<Result<i64, DecimalError>, JsonError> {
        let quoted = match self.peek() {
            Some(b'"') => true,
            Some(_) => false,
            None => return Err(self.error("a number")),
        };
        let start = self.pos + usize::from(quoted);
        if let Some((value, used)) = parse_plain_prefix(&self.bytes[start..], scale) {
            let end = start + used;
            let next = self.bytes.get(end).copied();
            if quoted && next == Some(b'"') {
                self.pos = end + 1;
                return Ok(value);
            }
            if !quoted && !matches!(next, Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                self.pos = end;
                return Ok(value);
            }
        }
        let text = self.decimal()?; // exponents, escapes, long runs: the general reader
        Ok(parse_fixed(text, scale))
    }

    /// The compact form Binance and Backpack write a level in, `["price","qty"]` with no
    /// whitespace and plain numbers, read at the two scales in one pass. None, with nothing
    /// consumed, for any other shape: the caller reads it element by element.
    #[inline]
    pub fn compact_pair(
        &mut self,
        first_scale: u8,
        second_scale: u8,
    ) -> Option<(Result<i64, DecimalError>, Result<i64, DecimalError>)> {
        let bytes = self.bytes;
        let mut at = self.pos;
        if bytes.get(at..at + 2)? != b"[\"" {
            return None;
        }
        at += 2;
        let (first, used) = parse_plain_prefix(&bytes[at..], first_scale)?;
        at += used;
        if bytes.get(at..at + 3)? != b"\",\"" {
            return None;
        }
        at += 3;
        let (second, used) = parse_plain_prefix(&bytes[at..], second_scale)?;
        at += used;
        if bytes.get(at..at + 2)? != b"\"]" {
            return None;
        }
        self.pos = at + 2;
        Some((first, second))
    }

    /// An unsigned integer given as a number or as a quoted string of digits (`"lastUpdateId":"123"`).
    pub fn u64(&mut self) -> Result<u64, JsonError> {
        let at = self.pos;
        let text = self.decimal()?;
        parse_u64(text).ok_or(JsonError {
            offset: at,
            expected: "an unsigned integer",
        })
    }

    /// A signed integer given as a number or as a quoted string of digits.
    pub fn i64(&mut self) -> Result<i64, JsonError> {
        let at = self.pos;
        let text = self.decimal()?;
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let magnitude = parse_u64(digits).ok_or(JsonError {
            offset: at,
            expected: "an integer",
        })?;
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        value.ok_or(JsonError {
            offset: at,
            expected: "a 64-bit integer",
        })
    }

    pub fn bool(&mut self) -> Result<bool, JsonError> {
        if self.literal(b"true") {
            Ok(true)
        } else if self.literal(b"false") {
            Ok(false)
        } else {
            Err(self.error("true or false"))
        }
    }

    /// Consumes `null` if it comes next.
    pub fn null(&mut self) -> bool {
        self.literal(b"null")
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        self.peek();
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// Steps over the next value, whatever it is.
    pub fn skip(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{' | b'[') => self.skip_container(),
            Some(b't') if self.literal(b"true") => Ok(()),
            Some(b'f') if self.literal(b"false") => Ok(()),
            Some(b'n') if self.literal(b"null") => Ok(()),
            Some(_) => self.number_token().map(drop),
            None => Err(self.error("a value")),
        }
    }

    fn skip_container(&mut self) -> Result<(), JsonError> {
        let mut depth = 0usize;
        loop {
            // Eight bytes at a time to the next quote, bracket or brace (SWAR, as in `string`):
            // numbers, literals, commas and colons between them need no look.
            while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
                let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                // `[`/`]` are `{`/`}` without bit 5, so setting it finds both of each pair.
                let folded = word | 0x2020_2020_2020_2020;
                let hits =
                    flag_byte(word, b'"') | flag_byte(folded, b'{') | flag_byte(folded, b'}');
                if hits != 0 {
                    self.pos += (hits.trailing_zeros() / 8) as usize;
                    break;
                }
                self.pos += 8;
            }
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.string()?;
                    continue;
                }
                Some(b'{' | b'[') => depth += 1,
                Some(b'}' | b']') => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                Some(_) => {}
                None => return Err(self.error("the end of an object or array")),
            }
            self.pos += 1;
        }
    }

    /// The next value's text, unparsed (an object keeps its braces, a string its quotes).
    pub fn raw(&mut self) -> Result<&'a [u8], JsonError> {
        self.peek();
        let start = self.pos;
        self.skip()?;
        Ok(&self.bytes[start..self.pos])
    }

    /// Fails unless only whitespace is left.
    pub fn end(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("the end of the document")),
        }
    }
}

impl Members {
    /// The next key (escapes as written), with the parser left at its value; `None` after `}`.
    #[inline(always)]
    pub fn next<'a>(&mut self, p: &mut Parser<'a>) -> Result<Option<&'a [u8]>, JsonError> {
        if p.peek() == Some(b'}') {
            p.pos += 1;
            return Ok(None);
        }
        if !std::mem::replace(&mut self.first, false) {
            p.expect(b',', "',' or '}'")?;
        }
        let key = p.string()?;
        p.expect(b':', "':'")?;
        Ok(Some(key))
    }
}

impl Elements {
    /// True when another element follows (the parser is left at it); false after `]`.
    pub fn next(&mut self, p: &mut Parser<'_>) -> Result<bool, JsonError> {
        if p.peek() == Some(b']') {
            p.pos += 1;
            return Ok(false);
        }
        if !std::mem::replace(&mut self.first, false) {
            p.expect(b',', "',' or ']'")?;
        }
        Ok(true)
    }
}

/// Where the first `"` in `bytes` is, eight bytes at a time.
#[inline]
pub fn find_quote(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let hits = flag_byte(u64::from_le_bytes(chunk.try_into().ok()?), b'"');
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == b'"').map(|at| i + at)
}

/// The high bit of every byte of `word` equal to `byte` (and possibly of bytes after the first
/// match, which callers never look at).
#[inline]
fn flag_byte(word: u64, byte: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(value)
}

/// Decodes the escape sequences of a string's raw contents (as returned by [`Parser::string`]).
/// Borrows when there is nothing to decode.
pub fn unescape(raw: &[u8]) -> Result<Cow<'_, str>, JsonError> {
    let invalid = |offset| JsonError {
        offset,
        expected: "valid string contents",
    };
    if !raw.contains(&b'\\') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|e| invalid(e.valid_up_to()));
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let run_end = raw[i..]
            .iter()
            .position(|&b| b == b'\\')
            .map_or(raw.len(), |k| i + k);
        out.push_str(
            std::str::from_utf8(&raw[i..run_end]).map_err(|e| invalid(i + e.valid_up_to()))?,
        );
        i = run_end;
        if i == raw.len() {
            break;
        }
        let escape = *raw.get(i + 1).ok_or(invalid(i))?;
        i += 2;
        let ch = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let high = hex4(raw, i).ok_or(invalid(i))?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&high) {
                    // A UTF-16 surrogate pair: the low half must follow as another \u escape.
                    let low = (raw.get(i..i + 2) == Some(b"\\u"))
                        .then(|| hex4(raw, i + 2))
                        .flatten()
                        .filter(|low| (0xDC00..0xE000).contains(low))
                        .ok_or(invalid(i))?;
                    i += 6;
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                char::from_u32(code).ok_or(invalid(i))?
            }
            _ => return Err(invalid(i - 1)),
        };
        out.push(ch);
    }
    Ok(Cow::Owned(out))
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(raw.get(at..at + 4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_reads_numbers_and_quoted_decimals_in_one_pass() {
        let mut p = Parser::new(
            br#"["61837.63000000", 0.00100000, -1.5, "1e-3", "2\u0030", 7e2, "1.234"]"#,
        );
        let mut items = p.array().unwrap();
        let mut read = |scale| {
            assert!(items.next(&mut p).unwrap());
            p.fixed(scale).unwrap()
        };
        assert_eq!(read(2), Ok(6_183_763));
        assert_eq!(read(8), Ok(100_000));
        assert_eq!(read(1), Ok(-15));
        assert_eq!(read(3), Ok(1)); // exponent: the general reader
        assert!(read(0).is_err()); // an escape inside: the general reader refuses it
        assert_eq!(read(0), Ok(700));
        assert_eq!(read(2), Err(DecimalError::TooPrecise(2)));
        assert!(!items.next(&mut p).unwrap());
    }

    #[test]
    fn finds_the_first_quote_in_any_word() {
        for at in [0, 1, 7, 8, 9, 15, 16, 23] {
            let mut text = vec![b'x'; 30];
            text[at] = b'"';
            text[at + 3] = b'"';
            assert_eq!(find_quote(&text), Some(at), "{at}");
            assert_eq!(find_quote(&text[..at + 1]), Some(at), "{at}, short");
        }
        assert_eq!(find_quote(b"no quote here at all, none"), None);
        assert_eq!(find_quote(b""), None);
    }

    #[test]
    fn walks_nested_objects_and_arrays() {
        let doc = br#" {"a": [1, "2", {"x": null}], "b" : true, "c": -3.5e2 } "#;
        let mut p = Parser::new(doc);
        let mut fields = p.object().unwrap();
        assert_eq!(fields.next(&mut p).unwrap(), Some(&b"a"[..]));
        let mut items = p.array().unwrap();
        assert!(items.next(&mut p).unwrap());
        assert_eq!(p.u64().unwrap(), 1);
        assert!(items.next(&mut p).unwrap());
        assert_eq!(p.decimal().unwrap(), b"2");
        assert!(items.next(&mut p).unwrap());
        assert_eq!(p.raw().unwrap(), br#"{"x": null}"#);
        assert!(!items.next(&mut p).unwrap());
        assert_eq!(fields.next(&mut p).unwrap(), Some(&b"b"[..]));
        assert!(p.bool().unwrap());
        assert_eq!(fields.next(&mut p).unwrap(), Some(&b"c"[..]));
        assert_eq!(p.decimal().unwrap(), b"-3.5e2");
        assert_eq!(fields.next(&mut p).unwrap(), None);
        p.end().unwrap();
    }

    #[test]
    fn skips_strings_holding_brackets_and_escaped_quotes() {
        let doc = br#"{"s": "a\"}]{[", "n": [[], {}, "\\"], "k": 1}"#;
        let mut p = Parser::new(doc);
        let mut fields = p.object().unwrap();
        let mut keys = Vec::new();
        while let Some(key) = fields.next(&mut p).unwrap() {
            keys.push(key);
            p.skip().unwrap();
        }
        assert_eq!(keys, [&b"s"[..], b"n", b"k"]);
        p.end().unwrap();
    }

    #[test]
    fn rejects_missing_commas_truncation_and_trailing_garbage() {
        let mut p = Parser::new(br#"{"a": 1 "b": 2}"#);
        let mut fields = p.object().unwrap();
        fields.next(&mut p).unwrap();
        p.skip().unwrap();
        assert_eq!(fields.next(&mut p).unwrap_err().expected, "',' or '}'");

        let mut p = Parser::new(br#"{"a": [1, 2"#);
        let mut fields = p.object().unwrap();
        fields.next(&mut p).unwrap();
        assert!(p.skip().is_err());

        let mut p = Parser::new(br#"{"a": "unterminated"#);
        assert!(p.skip().is_err());

        let mut p = Parser::new(b"{} x");
        p.skip().unwrap();
        assert_eq!(p.end().unwrap_err().offset, 3);

        assert!(Parser::new(b"CloudFlare WebSocket proxy restarting")
            .object()
            .is_err());
        assert!(Parser::new(b"").skip().is_err());
    }

    #[test]
    fn integers_come_as_numbers_or_strings() {
        assert_eq!(
            Parser::new(br#""1684026955123""#).u64(),
            Ok(1_684_026_955_123)
        );
        assert_eq!(Parser::new(b"18446744073709551615").u64(), Ok(u64::MAX));
        assert!(Parser::new(b"18446744073709551616").u64().is_err());
        assert!(Parser::new(b"1.5").u64().is_err());
        assert!(Parser::new(b"-1").u64().is_err());
        assert_eq!(Parser::new(b"-9223372036854775808").i64(), Ok(i64::MIN));
        assert_eq!(Parser::new(br#""-42""#).i64(), Ok(-42));
        assert!(Parser::new(b"9223372036854775808").i64().is_err());
    }

    /// JSON text of nested arrays and objects holding strings full of brackets, braces,
    /// quotes and backslashes (escaped), numbers and literals, with or without spaces.
    fn json_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            "-?[0-9]{1,12}(\\.[0-9]{1,8})?",
            Just("true".to_string()),
            Just("null".to_string()),
            "[a-z{}\\[\\]:, ]{0,12}".prop_map(|s| format!("\"{s}\"")),
            Just(r#""a\"]}\\""#.to_string()),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            let gap = prop_oneof![Just(""), Just(" ")];
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..8), gap.clone())
                    .prop_map(|(items, gap)| format!("[{gap}{}]", items.join(&format!(",{gap}")))),
                (prop::collection::vec(("[a-z\\]{}]{0,4}", inner), 0..8), gap).prop_map(
                    |(members, gap)| {
                        let members: Vec<String> = members
                            .into_iter()
                            .map(|(k, v)| format!("\"{k}\":{gap}{v}"))
                            .collect();
                        format!("{{{}}}", members.join(","))
                    }
                ),
            ]
        })
    }

    proptest::proptest! {
        /// `skip` and `raw` stop exactly where a value ends, however it nests.
        #[test]
        fn skip_ends_exactly_at_the_value_end(value in json_value(), tail in "[,\\]} ]{0,10}") {
            let doc = format!("{value}{tail}");
            let mut p = Parser::new(doc.as_bytes());
            proptest::prop_assert_eq!(p.raw().unwrap(), value.as_bytes());
            proptest::prop_assert_eq!(p.position(), value.len());
        }

        /// Whatever the bytes, walking them returns an error rather than panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let _ = Parser::new(&bytes).raw();
            let _ = Parser::new(&bytes).u64();
            let _ = unescape(&bytes);
            let mut p = Parser::new(&bytes);
            if let Ok(mut fields) = p.object() {
                while let Ok(Some(_)) = fields.next(&mut p) {
                    if p.skip().is_err() {
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn unescape_decodes_json_escapes() {
        assert!(matches!(unescape(b"plain"), Ok(Cow::Borrowed("plain"))));
        assert_eq!(unescape(br#"a\"b\\c\/d\n"#).unwrap(), "a\"b\\c/d\n");
        assert_eq!(unescape(br"\u00e9\ud83d\ude00").unwrap(), "é😀");
        assert!(unescape(br"\ud83d").is_err());
        assert!(unescape(br"\x").is_err());
        assert!(unescape(b"\\").is_err());
    }
}
