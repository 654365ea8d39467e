//! Fixed-point decimals read straight from JSON number or string text, never through f64.
//!
//! A value is an `i64` mantissa at a caller-chosen scale (`12.34` at scale 8 is
//! `1_234_000_000`). Exponent notation is accepted; digits that would be lost at the scale,
//! and values that do not fit in an `i64`, are typed errors rather than silent rounding.

use std::fmt;

/// Why a decimal text could not be read at the requested scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("empty number")]
    Empty,
    #[error("invalid character at byte {0}")]
    Invalid(usize),
    #[error("more decimal places than the scale of {0} allows")]
    TooPrecise(u8),
    #[error("number does not fit in 64 bits at scale {0}")]
    Overflow(u8),
}

/// The largest scale we accept: 10^18 still fits in an i64.
pub const MAX_SCALE: u8 = 18;

const POW10: [i64; 19] = {
    let mut table = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// 10^exp as an i64 (exp ≤ 18).
#[inline]
pub fn pow10(exp: u8) -> i64 {
    POW10[exp as usize]
}

/// Splits decimal text into sign, the digit run (integer and fraction digits, leading zeros
/// kept) and the decimal exponent that applies to that run. `"-12.5e3"` → (true, "125", 2).
struct Parts<'a> {
    negative: bool,
    int_digits: &'a [u8],
    frac_digits: &'a [u8],
    exponent: i32,
}

fn split(text: &[u8]) -> Result<Parts<'_>, DecimalError> {
    let mut i = 0;
    let n = text.len();
    if n == 0 {
        return Err(DecimalError::Empty);
    }
    let mut negative = false;
    match text[0] {
        b'-' => {
            negative = true;
            i = 1;
        }
        b'+' => i = 1,
        _ => {}
    }
    let int_start = i;
    while i < n && text[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = &text[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if i < n && text[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < n && text[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = &text[frac_start..i];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(if i >= n {
            DecimalError::Empty
        } else {
            DecimalError::Invalid(i)
        });
    }
    let mut exponent: i32 = 0;
    if i < n && (text[i] == b'e' || text[i] == b'E') {
        i += 1;
        let mut exp_negative = false;
        if i < n && (text[i] == b'-' || text[i] == b'+') {
            exp_negative = text[i] == b'-';
            i += 1;
        }
        let exp_start = i;
        while i < n && text[i].is_ascii_digit() {
            // Exponents past a few hundred can only overflow or underflow; cap the loop value.
            exponent = (exponent * 10 + (text[i] - b'0') as i32).min(10_000);
            i += 1;
        }
        if i == exp_start {
            return Err(DecimalError::Invalid(i));
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    if i != n {
        return Err(DecimalError::Invalid(i));
    }
    Ok(Parts {
        negative,
        int_digits,
        frac_digits,
        exponent,
    })
}

/// Reads decimal text (`"123.45"`, `"-0.001"`, `"1e-8"`, `"4.5E+3"`) as a mantissa at `scale`.
///
/// Fails with `TooPrecise` when a non-zero digit falls below the scale, and with `Overflow`
/// when the value does not fit in an `i64` at that scale.
pub fn parse_fixed(text: &[u8], scale: u8) -> Result<i64, DecimalError> {
    debug_assert!(scale <= MAX_SCALE);
    match parse_plain(text, scale) {
        Some(result) => result,
        None => parse_general(text, scale),
    }
}

/// The common case in one pass: `[-]digits[.digits]` whose digits fit a u64 (fraction
/// digits eight at a time). None sends anything else (exponents, longer runs, malformed
/// text) to `parse_general`, which gives the same answers for everything this accepts.
#[inline]
fn parse_plain(text: &[u8], scale: u8) -> Option<Result<i64, DecimalError>> {
    match parse_plain_prefix(text, scale)? {
        (value, used) if used == text.len() => Some(value),
        _ => None,
    }
}

/// `parse_plain` over the start of `text`: the value and how many bytes it took, stopping
/// at the first byte that cannot continue the number (the caller checks what follows).
/// None when the start is not a plain number that fits, or when an exponent follows.
#[inline(always)]
pub fn parse_plain_prefix(text: &[u8], scale: u8) -> Option<(Result<i64, DecimalError>, usize)> {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let mut mantissa: u64 = 0;
    let mut i = 0;
    while let Some(digit) = body
        .get(i)
        .map(|b| b.wrapping_sub(b'0'))
        .filter(|d| *d <= 9)
    {
        // Nineteen digits always fit a u64, so the common case needs no overflow checks.
        if i == 19 {
            return None;
        }
        mantissa = mantissa * 10 + u64::from(digit);
        i += 1;
    }
    let int_len = i;
    let mut fraction = 0u32;
    if body.get(i) == Some(&b'.') {
        i += 1;
        while let Some(eight) = body.get(i..i + 8).and_then(eight_digits) {
            mantissa = mantissa.checked_mul(100_000_000)?.checked_add(eight)?;
            i += 8;
            fraction += 8;
        }
        while let Some(digit) = body
            .get(i)
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
        {
            mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(digit))?;
            i += 1;
            fraction += 1;
        }
    }
    if (int_len == 0 && fraction == 0) || matches!(body.get(i), Some(b'e' | b'E' | b'.')) {
        return None;
    }
    let used = i + usize::from(negative);
    let scale = u32::from(scale);
    let value = if fraction <= scale {
        let factor = 10u64.checked_pow(scale - fraction)?;
        match mantissa.checked_mul(factor) {
            Some(v) => v,
            None => return Some((Err(DecimalError::Overflow(scale as u8)), used)),
        }
    } else {
        let divisor = 10u64.checked_pow(fraction - scale)?;
        if mantissa % divisor != 0 {
            return Some((Err(DecimalError::TooPrecise(scale as u8)), used));
        }
        mantissa / divisor
    };
    let value = match i64::try_from(value) {
        Ok(v) if negative => Ok(-v),
        Ok(v) => Ok(v),
        Err(_) => Err(DecimalError::Overflow(scale as u8)),
    };
    Some((value, used))
}

/// Eight ASCII digits as their value (SWAR), or None if any byte is not a digit.
#[inline(always)]
fn eight_digits(chunk: &[u8]) -> Option<u64> {
    let word = u64::from_le_bytes(chunk.try_into().ok()?);
    let low = word.wrapping_sub(0x3030_3030_3030_3030); // bytes below '0' set their top bit
    let high = word.wrapping_add(0x4646_4646_4646_4646); // bytes above '9' set theirs
    if (low | high) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    // The first character is the lowest byte: fold pairs, then quads, then the halves.
    let pairs = (low.wrapping_mul(10) + (low >> 8)) & 0x00FF_00FF_00FF_00FF;
    let quads = (pairs.wrapping_mul(100) + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((quads.wrapping_mul(10_000) + (quads >> 32)) & 0xFFFF_FFFF)
}

fn parse_general(text: &[u8], scale: u8) -> Result<i64, DecimalError> {
    let parts = split(text)?;
    // Position of each digit relative to the scale: digit k of the combined run has weight
    // 10^(shift - k - 1) in mantissa units.
    let shift = parts.int_digits.len() as i64 + parts.exponent as i64 + scale as i64;
    let mut mantissa: i64 = 0;
    let digits = parts.int_digits.iter().chain(parts.frac_digits.iter());
    for (k, &d) in digits.enumerate() {
        let digit = (d - b'0') as i64;
        let weight = shift - k as i64 - 1;
        if weight < 0 {
            if digit != 0 {
                return Err(DecimalError::TooPrecise(scale));
            }
            continue;
        }
        if digit == 0 && mantissa == 0 {
            continue; // leading zeros, however far above the scale
        }
        if weight > 18 {
            return Err(DecimalError::Overflow(scale));
        }
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(digit))
            .ok_or(DecimalError::Overflow(scale))?;
    }
    // Digits stop at the end of the run; pad with the zeros between the last digit and the scale.
    let total = parts.int_digits.len() + parts.frac_digits.len();
    let trailing = shift - total as i64;
    if trailing > 0 && mantissa != 0 {
        if trailing > 18 {
            return Err(DecimalError::Overflow(scale));
        }
        mantissa = mantissa
            .checked_mul(pow10(trailing as u8))
            .ok_or(DecimalError::Overflow(scale))?;
    }
    Ok(if parts.negative { -mantissa } else { mantissa })
}

/// Reads decimal text at its own scale: the number of fraction digits it carries after the
/// exponent is applied (trailing zeros kept, as the venue wrote them), at most `MAX_SCALE`.
pub fn parse_natural(text: &[u8]) -> Result<Fixed, DecimalError> {
    let parts = split(text)?;
    let scale = (parts.frac_digits.len() as i64 - parts.exponent as i64).clamp(0, MAX_SCALE as i64);
    let mantissa = parse_fixed(text, scale as u8)?;
    Ok(Fixed {
        mantissa,
        scale: scale as u8,
    })
}

/// A mantissa with its scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    pub mantissa: i64,
    pub scale: u8,
}

impl Fixed {
    /// The same value at another scale; `TooPrecise` if digits would be lost.
    pub fn rescale(self, scale: u8) -> Result<Fixed, DecimalError> {
        let mantissa = if scale >= self.scale {
            self.mantissa
                .checked_mul(pow10(scale - self.scale))
                .ok_or(DecimalError::Overflow(scale))?
        } else {
            let div = pow10(self.scale - scale);
            if self.mantissa % div != 0 {
                return Err(DecimalError::TooPrecise(scale));
            }
            self.mantissa / div
        };
        Ok(Fixed { mantissa, scale })
    }
}

impl fmt::Display for Fixed {
    /// Plain decimal text with exactly `scale` fraction digits (`1.50` at scale 2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 48];
        f.write_str(format_fixed_into(self.mantissa, self.scale, &mut buf))
    }
}

/// Writes `mantissa` at `scale` as plain decimal text into `buf` and returns it.
pub fn format_fixed_into(mantissa: i64, scale: u8, buf: &mut [u8; 48]) -> &str {
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut v = mantissa.unsigned_abs();
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Pad so there is at least one integer digit.
    while n <= scale as usize {
        digits[n] = b'0';
        n += 1;
    }
    let mut out = 0;
    if mantissa < 0 {
        buf[out] = b'-';
        out += 1;
    }
    for i in (0..n).rev() {
        if i + 1 == scale as usize && scale > 0 {
            buf[out] = b'.';
            out += 1;
        }
        buf[out] = digits[i];
        out += 1;
    }
    // SAFETY of from_utf8: only ASCII digits, '-' and '.' were written.
    std::str::from_utf8(&buf[..out]).expect("ascii")
}

/// `format_fixed_into` returning an owned String.
pub fn format_fixed(mantissa: i64, scale: u8) -> String {
    let mut buf = [0u8; 48];
    format_fixed_into(mantissa, scale, &mut buf).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_numbers_at_scale() {
        assert_eq!(parse_fixed(b"12.34", 8), Ok(1_234_000_000));
        assert_eq!(parse_fixed(b"0.00000001", 8), Ok(1));
        assert_eq!(parse_fixed(b"66790.0", 1), Ok(667_900));
        assert_eq!(parse_fixed(b"0.00000000", 8), Ok(0));
        assert_eq!(parse_fixed(b"-0.5", 1), Ok(-5));
        assert_eq!(parse_fixed(b"100000", 0), Ok(100_000));
        assert_eq!(parse_fixed(b"0", 8), Ok(0));
        assert_eq!(parse_fixed(b"+7", 2), Ok(700));
        assert_eq!(parse_fixed(b".5", 1), Ok(5));
        assert_eq!(parse_fixed(b"5.", 1), Ok(50));
    }

    #[test]
    fn reads_exponent_notation() {
        assert_eq!(parse_fixed(b"1e-8", 8), Ok(1));
        assert_eq!(parse_fixed(b"1E-08", 8), Ok(1));
        assert_eq!(parse_fixed(b"4.5E+3", 2), Ok(450_000));
        assert_eq!(parse_fixed(b"1.2345e2", 2), Ok(12_345));
        assert_eq!(parse_fixed(b"0.0e5", 3), Ok(0));
        assert_eq!(parse_fixed(b"1e-5", 8), Ok(1_000));
    }

    #[test]
    fn trailing_zeros_past_the_scale_are_fine_other_digits_are_not() {
        assert_eq!(parse_fixed(b"1.2300000000000", 2), Ok(123));
        assert_eq!(parse_fixed(b"1.234", 2), Err(DecimalError::TooPrecise(2)));
        assert_eq!(parse_fixed(b"1e-9", 8), Err(DecimalError::TooPrecise(8)));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(parse_fixed(b"92233720368.54775807", 8), Ok(i64::MAX));
        assert_eq!(
            parse_fixed(b"92233720368.54775808", 8),
            Err(DecimalError::Overflow(8))
        );
        assert_eq!(parse_fixed(b"1e30", 0), Err(DecimalError::Overflow(0)));
        assert_eq!(parse_fixed(b"1e400", 0), Err(DecimalError::Overflow(0)));
        assert_eq!(
            parse_fixed(b"00000000000000000000000001", 8),
            Ok(100_000_000)
        );
    }

    #[test]
    fn garbage_is_rejected_with_a_position() {
        assert_eq!(parse_fixed(b"", 2), Err(DecimalError::Empty));
        assert_eq!(parse_fixed(b"-", 2), Err(DecimalError::Empty));
        assert_eq!(parse_fixed(b"1.2.3", 2), Err(DecimalError::Invalid(3)));
        assert_eq!(parse_fixed(b"abc", 2), Err(DecimalError::Invalid(0)));
        assert_eq!(parse_fixed(b"1e", 2), Err(DecimalError::Invalid(2)));
        assert_eq!(parse_fixed(b"1 ", 2), Err(DecimalError::Invalid(1)));
        assert_eq!(parse_fixed(b"NaN", 2), Err(DecimalError::Invalid(0)));
    }

    #[test]
    fn natural_scale_keeps_the_wire_digits() {
        assert_eq!(
            parse_natural(b"0.00100000"),
            Ok(Fixed {
                mantissa: 100_000,
                scale: 8
            })
        );
        assert_eq!(
            parse_natural(b"45285.2"),
            Ok(Fixed {
                mantissa: 452_852,
                scale: 1
            })
        );
        assert_eq!(
            parse_natural(b"12"),
            Ok(Fixed {
                mantissa: 12,
                scale: 0
            })
        );
        assert_eq!(
            parse_natural(b"1.5e3"),
            Ok(Fixed {
                mantissa: 1500,
                scale: 0
            })
        );
        assert_eq!(
            parse_natural(b"1.5e-3"),
            Ok(Fixed {
                mantissa: 15,
                scale: 4
            })
        );
    }

    #[test]
    fn rescale_round_trips_and_refuses_to_drop_digits() {
        let v = Fixed {
            mantissa: 15,
            scale: 1,
        };
        assert_eq!(
            v.rescale(3),
            Ok(Fixed {
                mantissa: 1500,
                scale: 3
            })
        );
        assert_eq!(
            Fixed {
                mantissa: 1500,
                scale: 3
            }
            .rescale(1),
            Ok(v)
        );
        assert_eq!(
            Fixed {
                mantissa: 1501,
                scale: 3
            }
            .rescale(1),
            Err(DecimalError::TooPrecise(1))
        );
    }

    #[test]
    fn formats_at_fixed_precision() {
        assert_eq!(format_fixed(452_852, 1), "45285.2");
        assert_eq!(format_fixed(100_000, 8), "0.00100000");
        assert_eq!(format_fixed(0, 8), "0.00000000");
        assert_eq!(format_fixed(-5, 1), "-0.5");
        assert_eq!(format_fixed(42, 0), "42");
        assert_eq!(format_fixed(i64::MIN, 0), "-9223372036854775808");
        assert_eq!(
            Fixed {
                mantissa: 5660,
                scale: 4
            }
            .to_string(),
            "0.5660"
        );
    }

    proptest::proptest! {
        // The one-pass reader must agree with the general one on every input it takes.
        #[test]
        fn plain_reader_agrees_with_the_general_one(
            text in "-?[0-9]{0,22}(\\.[0-9]{0,22})?|[0-9.eE+-]{0,12}",
            scale in 0u8..=18,
        ) {
            if let Some(fast) = parse_plain(text.as_bytes(), scale) {
                proptest::prop_assert_eq!(fast, parse_general(text.as_bytes(), scale), "{}", text);
            }
        }
    }

    #[test]
    fn eight_digits_at_once() {
        assert_eq!(eight_digits(b"12345678"), Some(12_345_678));
        assert_eq!(eight_digits(b"00000001"), Some(1));
        assert_eq!(eight_digits(b"99999999"), Some(99_999_999));
        for bad in [
            b"1234567.",
            b"/2345678",
            b"1234567:",
            b"12 45678",
            b"\xff2345678",
        ] {
            assert_eq!(eight_digits(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parse_then_format_is_identity_at_the_same_scale() {
        for text in [
            "0.5660",
            "29431.1",
            "1.54571953",
            "0.00000001",
            "-12.00",
            "7",
        ] {
            let f = parse_natural(text.as_bytes()).unwrap();
            assert_eq!(f.to_string(), text);
        }
    }
}
