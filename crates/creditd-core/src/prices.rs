//! Price books: what each action costs, and the one pricing function.
//!
//! It exists so that callers can send "3 images" or "12.5 k tokens of the
//! large model" instead of computing credits themselves, and so that the
//! catalogue's rules (validation, which line a request selects, graduated
//! tiers, rounding) live in one pure place that both engines and the server
//! share. A value layer: it imports only `money` and `error`.
//!
//! # The model
//!
//! A price book (shared by any number of organisations) is a list of
//! immutable [`PriceBookVersion`]s. Each version has an `effective_from`
//! instant and a list of [`PriceLine`]s. A line has a `key` (what callers
//! name), the `service` and `activity` its events are filed under, a `unit`,
//! optional `dimensions` (`{"model": "large"}`) and either a flat
//! `credits_per_unit` or graduated `tiers`. Lines of one key differ by their
//! dimensions; the line without dimensions is the key's default.
//!
//! The version in force at an instant is the one with the latest
//! `effective_from` at or before it (the higher version number on a tie):
//! [`PriceBook::in_force`].
//!
//! # Quantities and rounding
//!
//! A [`Quantity`] is a positive decimal with at most 6 decimals (fractional
//! units are allowed: 1.5 k tokens), held exactly as an integer of
//! micro-units. A price is an exact [`Micros`] per unit. The cost of one
//! operation is computed exactly, as micro-units × micro-credits (an `i128`
//! of 10^-12 credits), summed over every tier the quantity crosses, and
//! **rounded up to the micro-credit once per operation** ([`Priced::total`]).
//! So 0.000001 units at 0.000001 credits costs 0.000001 credits (never 0),
//! and the rounding never depends on how the tiers split the quantity.
//!
//! # Graduated tiers
//!
//! `tiers` are ordered bands `[{"up_to": 1000, "credits_per_unit": 1},
//! {"credits_per_unit": 0.5}]`: each unit is priced by the band that its
//! position in the organisation's use of that line this period falls in (the
//! first 1,000 units of a period at 1, every further unit at 0.5). `up_to`
//! strictly increases and only the last band has none.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{LedgerError, invalid};
use crate::money::{Micros, SCALE};

/// A text of a price book (a key, unit, service, activity or book id):
/// shared, not copied, by every event and hold it prices (an operation
/// priced from a book clones these per operation).
pub type PriceText = std::sync::Arc<str>;

/// Most lines in one version.
pub const MAX_PRICES: usize = 1_000;
/// Most tiers on one line.
pub const MAX_TIERS: usize = 32;
/// Most dimensions on one line.
pub const MAX_DIMENSIONS: usize = 8;
/// Longest key, unit, service, activity, dimension name or value, in bytes.
pub const MAX_PRICE_TEXT: usize = 200;

/// An amount of a price's unit: positive where an operation names it, exact
/// to 0.000001 (an integer of micro-units). On the wire a JSON number or a
/// decimal string with at most 6 decimals, like an amount of credits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

impl Quantity {
    /// No units.
    pub const ZERO: Quantity = Quantity(0);

    /// `micros` micro-units (1 unit = 1,000,000).
    pub const fn from_micros(micros: i64) -> Quantity {
        Quantity(micros)
    }

    /// Whole units; `None` on overflow.
    pub fn from_units(units: i64) -> Option<Quantity> {
        units.checked_mul(SCALE).map(Quantity)
    }

    /// The quantity in micro-units.
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// `self + rhs`; `None` on overflow.
    pub fn checked_add(self, rhs: Quantity) -> Option<Quantity> {
        self.0.checked_add(rhs.0).map(Quantity)
    }

    /// `self - rhs`; `None` on overflow.
    pub fn checked_sub(self, rhs: Quantity) -> Option<Quantity> {
        self.0.checked_sub(rhs.0).map(Quantity)
    }

    /// More than zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Micros::from_micros(self.0).fmt(f)
    }
}

impl std::str::FromStr for Quantity {
    type Err = crate::money::AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<Micros>().map(|m| Quantity(m.micros()))
    }
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Micros::from_micros(self.0).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Same grammar as an amount: no float, at most 6 decimals.
        Micros::deserialize(deserializer).map(|m| Quantity(m.micros()))
    }
}

impl utoipa::PartialSchema for Quantity {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Number).description(Some("At most 6 decimals, no exponent")))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(crate::money::AMOUNT_PATTERN))
                    .description(Some("A decimal string, at most 6 decimals")),
            )
            .description(Some("Units of a price (images, 1k tokens, rows), exact to 0.000001"))
            .examples([serde_json::json!(3), serde_json::json!("12.5")])
            .into()
    }
}

impl utoipa::ToSchema for Quantity {}

/// One band of a graduated price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The band ends after this many units of the period (exclusive of
    /// later bands); absent on the last band only, which has no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Quantity>)]
    pub up_to: Option<Quantity>,
    /// Credits per unit inside the band; positive, at most 6 decimals.
    #[schema(value_type = crate::money::Amount)]
    pub credits_per_unit: Micros,
}

/// One price of a book: what a request names with `price` (and
/// `dimensions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceLine {
    /// What callers name (`image_generation`): 1–64 letters, digits, `-`,
    /// `_`, `.`.
    #[schema(value_type = String)]
    pub key: PriceText,
    /// The service its events are filed under (history, analytics).
    #[schema(value_type = String)]
    pub service: PriceText,
    /// The activity its events are filed under (the report's action).
    #[schema(value_type = String)]
    pub activity: PriceText,
    /// What one unit is (`image`, `1k tokens`, `row`).
    #[schema(value_type = String)]
    pub unit: PriceText,
    /// Selects among the lines of one key (`{"model": "large"}`); absent or
    /// empty: the key's default line.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// A flat price per unit; exactly one of this and `tiers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::money::Amount>)]
    pub credits_per_unit: Option<Micros>,
    /// Graduated bands over the org's quantity of this line in the current
    /// period; exactly one of this and `credits_per_unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<Tier>>,
}

/// What a `PUT /api/price-books/{id}` body holds: a new version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBookDraft {
    /// When the version starts to apply: now or later (default now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub effective_from: Option<Timestamp>,
    /// Its prices, 1 to [`MAX_PRICES`].
    pub prices: Vec<PriceLine>,
}

/// One immutable version of a price book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceBookVersion {
    /// The book.
    #[schema(value_type = String)]
    pub book_id: PriceText,
    /// 1, 2, … in the order they were written.
    pub version: u32,
    /// From when it applies.
    #[schema(value_type = String, format = DateTime)]
    pub effective_from: Timestamp,
    /// When it was written.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Its prices, as validated.
    pub prices: Vec<PriceLine>,
}

/// A price book: every version written, in version order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriceBook {
    /// The book's id.
    pub id: String,
    /// Versions 1, 2, … (never changed once written).
    pub versions: Vec<PriceBookVersion>,
}

/// What an operation asks to be priced: a key, a quantity, dimensions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRequest {
    /// The price's key.
    pub price: String,
    /// How many units; positive.
    pub quantity: Quantity,
    /// Selects the line among the key's; empty: the default line.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
}

/// What a priced event keeps about its price (`pricing` on the event and
/// on a priced hold's record): the line, the quantity and what each unit
/// cost, and the book version that priced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    /// The price's key.
    #[schema(value_type = String)]
    pub price_key: PriceText,
    /// The dimensions of the line (empty: the key's default line).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// Units priced (a hold: the estimate; a debit: the actual quantity).
    pub quantity: Quantity,
    /// What one unit is.
    #[schema(value_type = String)]
    pub unit: PriceText,
    /// A flat price: credits per unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::money::Amount>)]
    pub unit_price: Option<Micros>,
    /// A graduated price: the units priced in each band touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<TierPart>>,
    /// The book.
    #[schema(value_type = String)]
    pub price_book: PriceText,
    /// The book's version that priced it.
    pub version: u32,
}

impl Pricing {
    /// What `line` of `version` priced as `priced` for `quantity` units
    /// (its parts are moved in, not copied).
    pub fn of(version: &PriceBookVersion, line: &PriceLine, quantity: Quantity, priced: Priced) -> Pricing {
        Pricing {
            price_key: line.key.clone(),
            dimensions: line.dimensions.clone(),
            quantity,
            unit: line.unit.clone(),
            unit_price: line.credits_per_unit,
            tiers: line.is_tiered().then_some(priced.parts),
            price_book: version.book_id.clone(),
            version: version.version,
        }
    }

    /// The line's id ([`PriceLine::line_id`]), for the period counters.
    pub fn line_id(&self) -> PriceText {
        line_id(&self.price_key, &self.dimensions)
    }

    /// The pricing as JSON, byte for byte `serde_json::to_string(self)`
    /// (what engines store in the event's `pricing` column, what exports
    /// write; a test holds the two equal). Written directly because every
    /// priced event stores it: serde's route formats each number, then
    /// re-parses it as a raw JSON value, and grows its buffer as it goes.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(160);
        match self.write_json(&mut out) {
            Ok(()) => String::from_utf8(out).unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// See [`Pricing::to_json`]: the fields in declaration order, those
    /// serde skips skipped the same way.
    fn write_json(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        use std::io::Write;
        // A string with nothing to escape as it is; any other through
        // serde_json's own escaping, so strings match exactly.
        fn text(out: &mut Vec<u8>, s: &str) -> std::io::Result<()> {
            if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
                return serde_json::to_writer(&mut *out, s).map_err(std::io::Error::other);
            }
            out.push(b'"');
            out.extend_from_slice(s.as_bytes());
            out.push(b'"');
            Ok(())
        }
        out.extend_from_slice(b"{\"price_key\":");
        text(out, &self.price_key)?;
        if !self.dimensions.is_empty() {
            out.extend_from_slice(b",\"dimensions\":{");
            for (i, (k, v)) in self.dimensions.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                text(out, k)?;
                out.push(b':');
                text(out, v)?;
            }
            out.push(b'}');
        }
        out.extend_from_slice(b",\"quantity\":");
        decimal(out, self.quantity.0);
        out.extend_from_slice(b",\"unit\":");
        text(out, &self.unit)?;
        if let Some(p) = self.unit_price {
            out.extend_from_slice(b",\"unit_price\":");
            decimal(out, p.micros());
        }
        if let Some(parts) = &self.tiers {
            out.extend_from_slice(b",\"tiers\":[");
            for (i, t) in parts.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"quantity\":");
                decimal(out, t.quantity.0);
                out.extend_from_slice(b",\"credits_per_unit\":");
                decimal(out, t.credits_per_unit.micros());
                out.push(b'}');
            }
            out.push(b']');
        }
        out.extend_from_slice(b",\"price_book\":");
        text(out, &self.price_book)?;
        write!(out, ",\"version\":{}}}", self.version)
    }
}

/// Where the ledger finds price books while it applies an operation: the
/// engines' in-memory catalogue. A lookup, never I/O.
pub trait PriceSource {
    /// The book `id` with every version, if it exists.
    fn book(&self, id: &str) -> Option<std::sync::Arc<PriceBook>>;
}

/// No price book at all: priced operations are refused as `unknown_price`.
pub struct NoPrices;

impl PriceSource for NoPrices {
    fn book(&self, _id: &str) -> Option<std::sync::Arc<PriceBook>> {
        None
    }
}

impl PriceSource for Vec<PriceBook> {
    fn book(&self, id: &str) -> Option<std::sync::Arc<PriceBook>> {
        self.iter().find(|b| b.id == id).cloned().map(std::sync::Arc::new)
    }
}

/// The part of a quantity priced inside one band.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TierPart {
    /// Units of this operation inside the band.
    #[schema(value_type = f64)]
    pub quantity: Quantity,
    /// The band's price per unit.
    #[schema(value_type = f64)]
    pub credits_per_unit: Micros,
}

/// The result of pricing one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    /// The operation's cost: the exact sum over `parts`, rounded up to the
    /// micro-credit once.
    pub total: Micros,
    /// One part per band the quantity touched (one for a flat price).
    pub parts: Vec<TierPart>,
    /// The exact cost before rounding, in 10^-12 credits (micro-units ×
    /// micro-credits).
    pub exact_pico: i128,
}

impl PriceLine {
    /// Identifies the line inside its version for the period counters:
    /// the key, then each dimension as `name=value`, `|`-separated
    /// (`tokens_in|model=large`).
    pub fn line_id(&self) -> PriceText {
        line_id(&self.key, &self.dimensions)
    }

    /// Whether this is a graduated price.
    pub fn is_tiered(&self) -> bool {
        self.tiers.is_some()
    }

    /// Prices `quantity` units, when `used` units of this line were already
    /// used this period (tiers only look at `used`). Refuses a quantity
    /// that is not positive and a cost an amount cannot hold.
    pub fn price(&self, used: Quantity, quantity: Quantity) -> Result<Priced, LedgerError> {
        if !quantity.is_positive() {
            return Err(invalid(format!("quantity must be more than 0 (got {quantity})")));
        }
        let mut parts = Vec::new();
        let mut exact: i128 = 0;
        let mut push = |q: i64, p: Micros| -> Result<(), LedgerError> {
            exact = exact.checked_add(i128::from(q) * i128::from(p.micros())).ok_or(LedgerError::Overflow)?;
            parts.push(TierPart { quantity: Quantity(q), credits_per_unit: p });
            Ok(())
        };
        match (&self.credits_per_unit, &self.tiers) {
            (Some(p), _) => push(quantity.0, *p)?,
            (None, Some(tiers)) => {
                let start = used.0.max(0);
                let end = start.checked_add(quantity.0).ok_or(LedgerError::Overflow)?;
                let mut lower = 0i64;
                for t in tiers {
                    let upper = t.up_to.map_or(i64::MAX, |u| u.0);
                    let (from, to) = (start.max(lower), end.min(upper));
                    if to > from {
                        push(to - from, t.credits_per_unit)?;
                    }
                    if upper >= end {
                        break;
                    }
                    lower = upper;
                }
            }
            (None, None) => return Err(invalid(format!("price {} has neither credits_per_unit nor tiers", self.key))),
        }
        Ok(Priced { total: round_up(exact)?, parts, exact_pico: exact })
    }
}

/// Appends `micros` as [`Micros`]'s `Display` writes it (and so as serde
/// writes an amount or a quantity): `-`, the whole part, then `.` and the
/// fraction without trailing zeros if it has one.
fn decimal(out: &mut Vec<u8>, micros: i64) {
    if micros < 0 {
        out.push(b'-');
    }
    let abs = micros.unsigned_abs();
    let scale = SCALE.unsigned_abs();
    let (whole, frac) = (abs / scale, abs % scale);
    // Digits of `n` (at least `width` of them, zero-padded), most significant first.
    fn digits(out: &mut Vec<u8>, mut n: u64, width: usize) {
        let mut buf = [0u8; 20];
        let mut at = buf.len();
        while n > 0 || buf.len() - at < width.max(1) {
            at -= 1;
            buf[at] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.extend_from_slice(&buf[at..]);
    }
    digits(out, whole, 1);
    if frac > 0 {
        let (mut frac, mut width) = (frac, 6);
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        out.push(b'.');
        digits(out, frac, width);
    }
}

/// `exact` (10^-12 credits) rounded up to the micro-credit.
fn round_up(exact: i128) -> Result<Micros, LedgerError> {
    let scale = i128::from(SCALE);
    let micros = if exact <= 0 { exact / scale } else { (exact + scale - 1) / scale };
    i64::try_from(micros).map(Micros::from_micros).map_err(|_| LedgerError::Overflow)
}

/// See [`PriceLine::line_id`]. A line without dimensions is its key, shared
/// (no copy: the id of most lines is taken on every priced operation).
pub fn line_id(key: &PriceText, dimensions: &BTreeMap<String, String>) -> PriceText {
    if dimensions.is_empty() {
        return key.clone();
    }
    let mut id = key.to_string();
    for (k, v) in dimensions {
        id.push('|');
        id.push_str(k);
        id.push('=');
        id.push_str(v);
    }
    id.into()
}

impl PriceBookVersion {
    /// The line `key` with `dimensions` selects. A key the version lacks is
    /// [`LedgerError::UnknownPrice`]; dimensions none of its lines has (or
    /// none given where the key has no default) are invalid (422).
    pub fn find(&self, key: &str, dimensions: &BTreeMap<String, String>) -> Result<&PriceLine, LedgerError> {
        let mut lines = self.prices.iter().filter(|l| &*l.key == key).peekable();
        if lines.peek().is_none() {
            return Err(LedgerError::UnknownPrice { price: key.to_string(), book: self.book_id.to_string() });
        }
        let mut known = Vec::new();
        for l in lines {
            if &l.dimensions == dimensions {
                return Ok(l);
            }
            known.push(dims_text(&l.dimensions));
        }
        Err(invalid(format!(
            "price {key} has no line for {}; its lines are: {}",
            dims_text(dimensions),
            known.join("; ")
        )))
    }
}

/// Dimensions as `model=large, tier=x` (`the default (no dimensions)` when none).
fn dims_text(dimensions: &BTreeMap<String, String>) -> String {
    if dimensions.is_empty() {
        return "the default (no dimensions)".to_string();
    }
    dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

impl PriceBook {
    /// The version in force at `at`: the latest `effective_from` at or
    /// before `at`, the higher version on a tie; `None` before the first.
    pub fn in_force(&self, at: Timestamp) -> Option<&PriceBookVersion> {
        self.versions.iter().filter(|v| v.effective_from <= at).max_by_key(|v| (v.effective_from, v.version))
    }

    /// The latest version if `draft` repeats it: the same prices, and no
    /// `effective_from` or the same one. Writing such a draft again adds
    /// nothing (a retried `PUT` does not make a second version).
    pub fn repeated(&self, draft: &PriceBookDraft) -> Option<&PriceBookVersion> {
        let latest = self.versions.iter().max_by_key(|v| v.version)?;
        let same_start = draft.effective_from.is_none_or(|t| t == latest.effective_from);
        (same_start && latest.prices == draft.prices).then_some(latest)
    }

    /// Checks `draft` at `now` and makes it this book's next version.
    /// Earlier versions are never changed. Refusals name the price
    /// (`prices[2] (enrichment)`) and what is wrong with it.
    pub fn next_version(&self, draft: PriceBookDraft, now: Timestamp) -> Result<PriceBookVersion, LedgerError> {
        let effective_from = draft.effective_from.unwrap_or(now);
        if effective_from < now {
            return Err(invalid(format!(
                "effective_from {effective_from} is in the past (now is {now}); a version applies from now or later"
            )));
        }
        validate_prices(&draft.prices)?;
        let version = u32::try_from(self.versions.len() + 1).map_err(|_| LedgerError::Overflow)?;
        Ok(PriceBookVersion {
            book_id: self.id.as_str().into(),
            version,
            effective_from,
            created_at: now,
            prices: draft.prices,
        })
    }
}

fn check_name(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() || value.len() > MAX_PRICE_TEXT {
        return Err(format!("{what} must be 1 to {MAX_PRICE_TEXT} characters"));
    }
    if value.contains('\0') {
        return Err(format!("{what} contains a NUL character (U+0000)"));
    }
    if value.contains(['|', '=']) {
        return Err(format!("{what} must not contain '|' or '='"));
    }
    Ok(())
}

/// Checks a version's prices: 1 to [`MAX_PRICES`] lines; keys in the id
/// grammar; service, activity, unit and dimensions 1–200 characters; no two
/// lines with one key and the same dimensions; the lines of one key name
/// the same dimensions (or none: the default); exactly one of a positive
/// flat price or 1 to [`MAX_TIERS`] tiers with positive prices, `up_to`
/// positive and strictly increasing, only the last band open-ended.
/// (More than 6 decimals never gets here: the decimal reader refuses it.)
pub fn validate_prices(prices: &[PriceLine]) -> Result<(), LedgerError> {
    if prices.is_empty() || prices.len() > MAX_PRICES {
        return Err(invalid(format!("a price book version has 1 to {MAX_PRICES} prices (got {})", prices.len())));
    }
    let mut seen: BTreeMap<PriceText, usize> = BTreeMap::new();
    let mut dims_of_key: BTreeMap<&str, (usize, Vec<&String>)> = BTreeMap::new();
    for (i, line) in prices.iter().enumerate() {
        let at = |msg: String| invalid(format!("prices[{i}] ({}): {msg}", line.key));
        if !crate::valid_id(&line.key) {
            return Err(at("key must be 1-64 letters, digits, '-', '_' or '.'".into()));
        }
        for (what, value) in [("service", &line.service), ("activity", &line.activity), ("unit", &line.unit)] {
            check_name(what, value).map_err(at)?;
        }
        if line.dimensions.len() > MAX_DIMENSIONS {
            return Err(at(format!("at most {MAX_DIMENSIONS} dimensions")));
        }
        for (k, v) in &line.dimensions {
            check_name("a dimension name", k).map_err(at)?;
            check_name(&format!("dimension {k}"), v).map_err(at)?;
        }
        if let Some(first) = seen.insert(line.line_id(), i) {
            return Err(at(format!("duplicate of prices[{first}]: same key and dimensions")));
        }
        if !line.dimensions.is_empty() {
            let names: Vec<&String> = line.dimensions.keys().collect();
            match dims_of_key.get(&*line.key) {
                Some((j, other)) if *other != names => {
                    return Err(at(format!(
                        "names dimensions {names:?} but prices[{j}] of the same key names {other:?}"
                    )));
                }
                Some(_) => {}
                None => {
                    dims_of_key.insert(line.key.as_ref(), (i, names));
                }
            }
        }
        match (line.credits_per_unit, &line.tiers) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(at("give exactly one of credits_per_unit and tiers".into()));
            }
            (Some(p), None) => {
                if !p.is_positive() {
                    return Err(at(format!("credits_per_unit must be more than 0 (got {p})")));
                }
            }
            (None, Some(tiers)) => check_tiers(tiers).map_err(at)?,
        }
    }
    Ok(())
}

fn check_tiers(tiers: &[Tier]) -> Result<(), String> {
    if tiers.is_empty() || tiers.len() > MAX_TIERS {
        return Err(format!("tiers must have 1 to {MAX_TIERS} bands (got {})", tiers.len()));
    }
    let mut lower = Quantity::ZERO;
    for (n, t) in tiers.iter().enumerate() {
        if !t.credits_per_unit.is_positive() {
            return Err(format!("tiers[{n}]: credits_per_unit must be more than 0 (got {})", t.credits_per_unit));
        }
        let last = n + 1 == tiers.len();
        match t.up_to {
            None if !last => {
                return Err(format!("tiers[{n}] has no up_to but is not the last band: bands overlap"));
            }
            None => {}
            Some(_) if last => {
                return Err(format!("tiers[{n}]: the last band has no up_to (it covers every further unit)"));
            }
            Some(u) if u <= lower => {
                return Err(format!(
                    "tiers[{n}]: up_to {u} must be more than {} (bands are ordered and must not overlap)",
                    if n == 0 { "0".to_string() } else { format!("tiers[{}].up_to {lower}", n - 1) }
                ));
            }
            Some(u) => lower = u,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        s.parse().unwrap()
    }

    fn m(s: &str) -> Micros {
        s.parse().unwrap()
    }

    /// The stored form is written by hand for speed: it must stay exactly
    /// what serde writes (stored rows, exports and imports read it).
    #[test]
    fn pricing_json_is_serdes_byte_for_byte() {
        let base = Pricing {
            price_key: "image_generation".into(),
            dimensions: BTreeMap::new(),
            quantity: q("1"),
            unit: "image".into(),
            unit_price: Some(m("2.5")),
            tiers: None,
            price_book: "standard".into(),
            version: 1,
        };
        let mut tiers = vec![
            TierPart { quantity: q("0.000001"), credits_per_unit: m("0.0001") },
            TierPart { quantity: q("123456.78"), credits_per_unit: m("99999999.999999") },
        ];
        for n in [0, 1, 9, 10, 100_000, 999_999, 1_000_000, 1_000_001, 10_203_000, 120, -120, -1_000_000, 7_100_000] {
            tiers.push(TierPart { quantity: Quantity(n), credits_per_unit: Micros::from_micros(-n) });
        }
        // Beyond what parses back as an amount: written the same all the same.
        let extremes = vec![
            TierPart { quantity: Quantity(i64::MAX), credits_per_unit: Micros::from_micros(i64::MIN) },
            TierPart { quantity: Quantity(i64::MIN + 1), credits_per_unit: Micros::from_micros(i64::MAX - 1) },
        ];
        let dims: BTreeMap<String, String> =
            [("model", "large"), ("region", "eu \"west\" \\ \u{1}\t\n é ✓"), ("z", "")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let cases = [
            base.clone(),
            Pricing { dimensions: dims.clone(), ..base.clone() },
            Pricing { unit_price: None, tiers: Some(tiers.clone()), ..base.clone() },
            Pricing { unit_price: None, tiers: Some(Vec::new()), ..base.clone() },
            Pricing { unit_price: None, tiers: None, ..base.clone() },
            Pricing {
                price_key: "k\u{7f}\u{1f}/".into(),
                dimensions: dims,
                quantity: q("12345678.9"),
                unit: "1k \"tokens\"".into(),
                unit_price: Some(Micros::from_micros(-10_203)),
                tiers: Some(tiers),
                price_book: "b\\ook".into(),
                version: u32::MAX,
            },
        ];
        for p in cases {
            let json = p.to_json();
            assert_eq!(json, serde_json::to_string(&p).unwrap());
            assert_eq!(serde_json::from_str::<Pricing>(&json).unwrap(), p);
        }
        let p = Pricing { quantity: Quantity(i64::MIN), tiers: Some(extremes), ..base };
        assert_eq!(p.to_json(), serde_json::to_string(&p).unwrap());
    }

    #[test]
    fn round_up_once() {
        assert_eq!(round_up(0).unwrap(), Micros::ZERO);
        assert_eq!(round_up(1).unwrap().micros(), 1);
        assert_eq!(round_up(1_000_000).unwrap().micros(), 1);
        assert_eq!(round_up(1_000_001).unwrap().micros(), 2);
        assert!(round_up(i128::from(i64::MAX) * 1_000_000 + 1).is_err());
    }

    #[test]
    fn quantity_reads_like_an_amount() {
        assert_eq!(q("1.5").micros(), 1_500_000);
        assert_eq!(serde_json::from_str::<Quantity>("\"0.000001\"").unwrap().micros(), 1);
        assert!(serde_json::from_str::<Quantity>("0.0000001").is_err());
        assert_eq!(serde_json::to_string(&q("12.5")).unwrap(), "12.5");
        assert_eq!(m("2").micros(), 2_000_000);
    }
}
