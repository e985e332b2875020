//! Exact credit amounts.
//!
//! Every amount in creditd is an integer number of micro-credits (credits ×
//! 10^6) in an `i64`. Arithmetic is checked: an overflow is an error, never a
//! wrap. On the wire an amount is a JSON number or a decimal string with at
//! most six decimals (`12`, `12.5`, `"0.000001"`); it is written back as a
//! JSON number formatted exactly (`12.5`), never through a float.

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Micro-credits per credit.
pub const SCALE: i64 = 1_000_000;

/// A signed amount of micro-credits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(i64);

/// Why a decimal amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not digits with an optional sign and decimal point.
    #[error("amount {0:?} is not a decimal number (digits, optional sign and point)")]
    NotDecimal(String),
    /// Finer than one micro-credit (more than 6 decimals).
    #[error("amount {0:?} has more than 6 decimals; the smallest unit is 0.000001 credits")]
    TooPrecise(String),
    /// Beyond what an `i64` of micro-credits holds (about ±9.2 × 10^12
    /// credits).
    #[error("amount {0:?} is too large")]
    TooLarge(String),
}

impl Micros {
    /// No credits.
    pub const ZERO: Micros = Micros(0);
    /// The largest amount (`i64::MAX` micro-credits); sums that would pass
    /// it saturate here where they are only shown, and are refused where
    /// they would be stored.
    pub const MAX: Micros = Micros(i64::MAX);

    /// An amount of `micros` micro-credits (1 credit = [`SCALE`]).
    pub const fn from_micros(micros: i64) -> Self {
        Micros(micros)
    }

    /// Whole credits; `None` on overflow.
    pub fn from_credits(credits: i64) -> Option<Self> {
        credits.checked_mul(SCALE).map(Micros)
    }

    /// The amount in micro-credits.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// `self + rhs`; `None` on overflow.
    pub fn checked_add(self, rhs: Micros) -> Option<Micros> {
        self.0.checked_add(rhs.0).map(Micros)
    }

    /// `self - rhs`; `None` on overflow.
    pub fn checked_sub(self, rhs: Micros) -> Option<Micros> {
        self.0.checked_sub(rhs.0).map(Micros)
    }

    /// `-self`; `None` for the one amount without a negation (`i64::MIN`).
    pub fn checked_neg(self) -> Option<Micros> {
        self.0.checked_neg().map(Micros)
    }

    /// More than zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Less than zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Exactly zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The absolute value (`i64::MIN` saturates to [`Micros::MAX`]).
    pub fn abs(self) -> Micros {
        Micros(self.0.saturating_abs())
    }

    /// The smaller of the two.
    pub fn min(self, other: Micros) -> Micros {
        Micros(self.0.min(other.0))
    }
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = abs / SCALE as u64;
        let frac = abs % SCALE as u64;
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            // The fraction without its trailing zeros, with its leading ones
            // (0.000120 is "0.00012"): no intermediate string.
            let (mut frac, mut width) = (frac, 6);
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            write!(f, "{sign}{whole}.{frac:0width$}")
        }
    }
}

impl FromStr for Micros {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AmountError::NotDecimal(s.to_string());
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (whole, frac) = match body.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (body, None),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) {
            return Err(bad());
        }
        let frac = frac.unwrap_or("");
        if !all_digits(frac) || (body.contains('.') && frac.is_empty()) {
            return Err(bad());
        }
        if frac.len() > 6 {
            return Err(AmountError::TooPrecise(s.to_string()));
        }
        let too_large = || AmountError::TooLarge(s.to_string());
        let whole: i64 = whole.parse().map_err(|_| too_large())?;
        let mut frac_micros: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_micros += i64::from(b - b'0') * 10i64.pow(5 - i as u32);
        }
        let magnitude = whole.checked_mul(SCALE).and_then(|w| w.checked_add(frac_micros)).ok_or_else(too_large)?;
        Ok(Micros(if negative { -magnitude } else { magnitude }))
    }
}

/// The pattern of an amount written as a JSON string: what `from_str`
/// accepts (surrounding spaces are trimmed).
pub const AMOUNT_PATTERN: &str = r"^\s*[+-]?[0-9]+(\.[0-9]{1,6})?\s*$";

/// In answers an amount is always a JSON number written exactly.
impl utoipa::PartialSchema for Micros {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some("Credits, exact to 0.000001 (micro-credits), written as a JSON number"))
            .examples([serde_json::json!(12.5)])
            .into()
    }
}

impl utoipa::ToSchema for Micros {
    fn name() -> std::borrow::Cow<'static, str> {
        "Credits".into()
    }
}

/// How a request may write an amount: a JSON number or a decimal string,
/// at most 6 decimals, no exponent. Only a schema (`#[schema(value_type =
/// Amount)]` on request fields); the value is read into a [`Micros`].
pub struct Amount;

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number).description(Some("At most 6 decimals, no exponent")))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(AMOUNT_PATTERN))
                    .description(Some("A decimal string, at most 6 decimals")),
            )
            .description(Some("Credits as a JSON number or a decimal string, exact to 0.000001"))
            .examples([serde_json::json!(12.5), serde_json::json!("0.000001")])
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A whole amount is an integer: the same bytes as its decimal text,
        // written without a string or a check (most amounts and balances
        // are whole; this was 4% of a node's CPU on a hot org, perf).
        if self.0 % SCALE == 0 {
            return serializer.serialize_i64(self.0 / SCALE);
        }
        // Otherwise a raw JSON number keeps every digit; serde_json writes
        // it verbatim.
        let raw = serde_json::value::RawValue::from_string(self.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read the raw token so a number never passes through an f64.
        let raw: Box<serde_json::value::RawValue> = Deserialize::deserialize(deserializer)?;
        let text = raw.get().trim();
        let text = if let Some(inner) = text.strip_prefix('"') {
            let inner = inner.strip_suffix('"').ok_or_else(|| D::Error::custom("amount: unterminated string"))?;
            inner.trim()
        } else {
            if text.contains(['e', 'E']) {
                return Err(D::Error::custom(format!("amount {text} uses an exponent; write it as a plain decimal")));
            }
            text
        };
        text.parse().map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        for (text, micros, shown) in [
            ("0", 0, "0"),
            ("12", 12_000_000, "12"),
            ("12.5", 12_500_000, "12.5"),
            ("0.000001", 1, "0.000001"),
            ("-3.25", -3_250_000, "-3.25"),
            ("+7.100000", 7_100_000, "7.1"),
            ("0.00012", 120, "0.00012"),
            ("-0.010203", -10_203, "-0.010203"),
            ("1.000010", 1_000_010, "1.00001"),
            ("123456789.000001", 123_456_789_000_001, "123456789.000001"),
            ("-0.000001", -1, "-0.000001"),
        ] {
            let m: Micros = text.parse().unwrap();
            assert_eq!(m.micros(), micros, "{text}");
            assert_eq!(m.to_string(), shown);
        }
        // The extremes format too (beyond what parses as an amount).
        assert_eq!(Micros::from_micros(i64::MAX).to_string(), "9223372036854.775807");
        assert_eq!(Micros::from_micros(i64::MIN).to_string(), "-9223372036854.775808");
        assert_eq!(Micros::from_micros(i64::MIN + 192).to_string(), "-9223372036854.775616");
    }

    #[test]
    fn rejects_bad_decimals() {
        for text in ["", "-", "1.", ".5", "1.2.3", "abc", "1e3", "0.0000001", "99999999999999"] {
            assert!(text.parse::<Micros>().is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn json_numbers_and_strings() {
        let m: Micros = serde_json::from_str("0.1").unwrap();
        assert_eq!(m.micros(), 100_000);
        let m: Micros = serde_json::from_str("\"2.000003\"").unwrap();
        assert_eq!(m.micros(), 2_000_003);
        assert!(serde_json::from_str::<Micros>("1e2").is_err());
        assert!(serde_json::from_str::<Micros>("true").is_err());
        assert_eq!(serde_json::to_string(&Micros(1_500_001)).unwrap(), "1.500001");
        // Whole amounts (the integer path) and fractions (the raw path)
        // write exactly their `Display` text, signs and extremes included.
        for m in [0, 1_000_000, -1_000_000, 7_000_000_000, -120, 120, 500_000, i64::MAX, i64::MIN, i64::MIN + 1] {
            let m = Micros(m);
            assert_eq!(serde_json::to_string(&m).unwrap(), m.to_string(), "{}", m.0);
            if m.0 != i64::MIN {
                // (whose magnitude the parser refuses as too large)
                assert_eq!(serde_json::from_str::<Micros>(&serde_json::to_string(&m).unwrap()).unwrap(), m);
            }
        }
    }
}
