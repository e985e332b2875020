//! How an organisation's people read numbers, money and dates: its
//! `locale` setting (`OrgSettings::locale`), one of a handful written out
//! here (no locale library: six locales' separators, month and weekday
//! names are smaller than any, and exact).
//!
//! Rules, the same for every locale:
//! - amounts are exact: every decimal a `Micros` has is shown, none added,
//!   and no float is involved; only the separators change (`14,931.25`,
//!   `14.931,25`, `14 931,25`);
//! - Spanish groups thousands only from five digits (`1234`, `14.931`), as
//!   its CLDR data says (minimum grouping digits 2); the others from four;
//! - money: whole amounts without decimals (`449 €`), others with at least
//!   two (`449,50 €`), more only when stored (exact); the symbol of EUR,
//!   USD and GBP where the locale puts it, other currencies by their code;
//! - dates: one long form per locale (`April 2, 2026`, `2 de abril de
//!   2026`), and a short one for chart axes (`Apr 2`, `2 abr`).

use jiff::civil::{Date, Weekday};

use crate::error::LedgerError;
use crate::money::Micros;

/// A locale an organisation may choose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English (United States): `14,931.25`, `$449`, `April 2, 2026`.
    #[default]
    EnUs,
    /// English (United Kingdom): `14,931.25`, `€449`, `2 April 2026`.
    EnGb,
    /// Spanish (Spain): `14.931,25`, `449 €`, `2 de abril de 2026`.
    EsEs,
    /// German (Germany): `14.931,25`, `449 €`, `2. April 2026`.
    DeDe,
    /// French (France): `14 931,25` (narrow no-break space), `449 €`, `2 avril 2026`.
    FrFr,
    /// Italian (Italy): `14.931,25`, `449 €`, `2 aprile 2026`.
    ItIt,
}

const NBSP: char = '\u{a0}';
const NNBSP: char = '\u{202f}';

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_IT: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];
const SHORT_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SHORT_ES: [&str; 12] = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"];
const SHORT_DE: [&str; 12] =
    ["Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."];
const SHORT_FR: [&str; 12] =
    ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."];
const SHORT_IT: [&str; 12] = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"];
// Monday first.
const DAYS_EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const DAYS_ES: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
const DAYS_DE: [&str; 7] = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"];
const DAYS_FR: [&str; 7] = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"];
const DAYS_IT: [&str; 7] = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"];

impl Locale {
    /// Every locale, in the order they are listed.
    pub const ALL: [Locale; 6] = [Locale::EnUs, Locale::EnGb, Locale::EsEs, Locale::DeDe, Locale::FrFr, Locale::ItIt];

    /// The BCP 47 tag (`en-US`, `es-ES`, …), as stored and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::EnUs => "en-US",
            Locale::EnGb => "en-GB",
            Locale::EsEs => "es-ES",
            Locale::DeDe => "de-DE",
            Locale::FrFr => "fr-FR",
            Locale::ItIt => "it-IT",
        }
    }

    /// Parses a tag, case-insensitively, `_` taken for `-` (`es_es`); an
    /// unknown one is a validation error naming those there are.
    pub fn parse(tag: &str) -> Result<Locale, LedgerError> {
        let t = tag.trim().replace('_', "-");
        Locale::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(&t)).ok_or_else(|| {
            let known: Vec<&str> = Locale::ALL.iter().map(|l| l.as_str()).collect();
            LedgerError::Invalid(format!("unknown locale {tag:?}; use one of {}", known.join(", ")))
        })
    }

    fn group(self) -> char {
        match self {
            Locale::EnUs | Locale::EnGb => ',',
            Locale::EsEs | Locale::DeDe | Locale::ItIt => '.',
            Locale::FrFr => NNBSP,
        }
    }

    fn decimal(self) -> char {
        match self {
            Locale::EnUs | Locale::EnGb => '.',
            _ => ',',
        }
    }

    /// Digits a whole part needs before it is grouped at all.
    fn min_grouped_digits(self) -> usize {
        if self == Locale::EsEs { 5 } else { 4 }
    }

    fn group_whole(self, whole: &str) -> String {
        if whole.len() < self.min_grouped_digits() {
            return whole.to_string();
        }
        let mut out = String::with_capacity(whole.len() + whole.len() / 3 * 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                out.push(self.group());
            }
            out.push(c);
        }
        out
    }

    /// Splits an exact decimal text (`-1234.5`) and writes it back with
    /// this locale's separators; `min_frac` pads the decimals with zeros.
    fn decimal_text(self, text: &str, min_frac: usize) -> String {
        let (sign, body) = text.strip_prefix('-').map_or(("", text), |b| ("-", b));
        let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
        let mut frac = frac.to_string();
        if !frac.is_empty() && frac.len() < min_frac {
            frac.push_str(&"0".repeat(min_frac - frac.len()));
        }
        let whole = self.group_whole(whole);
        if frac.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}{}{frac}", self.decimal()) }
    }

    /// An exact amount of credits (`14.931` in es-ES, `1,234.000001` in en-US).
    pub fn number(self, m: Micros) -> String {
        self.decimal_text(&m.to_string(), 0)
    }

    /// A whole count (`1.668` in de-DE).
    pub fn count(self, n: i64) -> String {
        self.decimal_text(&n.to_string(), 0)
    }

    /// An amount rounded for people to `decimals` (0–6) places, half away
    /// from zero, then written as [`Locale::number`] (averages).
    pub fn rounded(self, m: Micros, decimals: u32) -> String {
        let step = 10i64.pow(6 - decimals.min(6));
        let v = m.micros();
        let half = step / 2;
        let q = if v >= 0 { v.saturating_add(half) / step } else { v.saturating_sub(half) / step };
        self.number(Micros::from_micros(q.saturating_mul(step)))
    }

    /// A percentage already computed as exact text with a `.` decimal
    /// (`+12.5`): `+12.5%` in English, `+12,5 %` elsewhere.
    pub fn percent(self, text: &str) -> String {
        let t = text.replace('.', &self.decimal().to_string());
        match self {
            Locale::EnUs | Locale::EnGb => format!("{t}%"),
            Locale::FrFr => format!("{t}{NNBSP}%"),
            _ => format!("{t}{NBSP}%"),
        }
    }

    /// A price: `449 €` in es-ES, `€449.50` in en-GB, `$449` in en-US,
    /// `449 CHF` / `CHF 449` for a currency without a symbol here.
    pub fn money(self, amount: Micros, currency: &str) -> String {
        let text = self.decimal_text(&amount.to_string(), 2);
        let (sign, digits) = text.strip_prefix('-').map_or(("", text.as_str()), |d| ("-", d));
        let symbol = match currency {
            "EUR" => Some("€"),
            "GBP" => Some("£"),
            "USD" if self == Locale::EnUs => Some("$"),
            "USD" => Some("US$"),
            _ => None,
        };
        match (self, symbol) {
            (Locale::EnUs | Locale::EnGb, Some(s)) => format!("{sign}{s}{digits}"),
            (Locale::EnUs | Locale::EnGb, None) => format!("{sign}{currency}{NBSP}{digits}"),
            (_, s) => format!("{sign}{digits}{NBSP}{}", s.unwrap_or(currency)),
        }
    }

    fn months(self) -> &'static [&'static str; 12] {
        match self {
            Locale::EnUs | Locale::EnGb => &MONTHS_EN,
            Locale::EsEs => &MONTHS_ES,
            Locale::DeDe => &MONTHS_DE,
            Locale::FrFr => &MONTHS_FR,
            Locale::ItIt => &MONTHS_IT,
        }
    }

    fn short_months(self) -> &'static [&'static str; 12] {
        match self {
            Locale::EnUs | Locale::EnGb => &SHORT_EN,
            Locale::EsEs => &SHORT_ES,
            Locale::DeDe => &SHORT_DE,
            Locale::FrFr => &SHORT_FR,
            Locale::ItIt => &SHORT_IT,
        }
    }

    fn weekday(self, w: Weekday) -> &'static str {
        let i = (w.to_monday_zero_offset() as usize).min(6);
        match self {
            Locale::EnUs | Locale::EnGb => DAYS_EN[i],
            Locale::EsEs => DAYS_ES[i],
            Locale::DeDe => DAYS_DE[i],
            Locale::FrFr => DAYS_FR[i],
            Locale::ItIt => DAYS_IT[i],
        }
    }

    fn month(self, d: Date) -> &'static str {
        self.months()[(d.month() as usize).clamp(1, 12) - 1]
    }

    /// A day and month without the year (`April 2`, `2 de abril`).
    pub fn day_month(self, d: Date) -> String {
        let (day, month) = (d.day(), self.month(d));
        match self {
            Locale::EnUs => format!("{month} {day}"),
            Locale::EsEs => format!("{day} de {month}"),
            Locale::DeDe => format!("{day}. {month}"),
            Locale::EnGb | Locale::FrFr | Locale::ItIt => format!("{day} {month}"),
        }
    }

    /// The one long date of a page (`April 2, 2026`, `2 de abril de 2026`).
    pub fn date(self, d: Date) -> String {
        let year = d.year();
        match self {
            Locale::EnUs => format!("{}, {year}", self.day_month(d)),
            Locale::EsEs => format!("{} de {year}", self.day_month(d)),
            _ => format!("{} {year}", self.day_month(d)),
        }
    }

    /// The long date with its weekday (`Thursday, April 2, 2026`, `jueves,
    /// 2 de abril de 2026`).
    pub fn weekday_date(self, d: Date) -> String {
        let w = self.weekday(d.weekday());
        match self {
            Locale::FrFr | Locale::ItIt => format!("{w} {}", self.date(d)),
            Locale::EnGb => format!("{w} {}", self.date(d)),
            _ => format!("{w}, {}", self.date(d)),
        }
    }

    /// A span of dates (`March 1 – March 31, 2026`, `1 – 31 de marzo de
    /// 2026` is not attempted: both ends are written whole, the year once
    /// when they share it).
    pub fn span(self, a: Date, b: Date) -> String {
        if a == b {
            self.date(a)
        } else if a.year() == b.year() {
            format!("{} – {}", self.day_month(a), self.date(b))
        } else {
            format!("{} – {}", self.date(a), self.date(b))
        }
    }

    /// The short day of a chart axis (`Apr 2`, `2 abr`, `2. Apr.`).
    pub fn short_day(self, d: Date) -> String {
        let (day, m) = (d.day(), self.short_months()[(d.month() as usize).clamp(1, 12) - 1]);
        match self {
            Locale::EnUs => format!("{m} {day}"),
            Locale::DeDe => format!("{day}. {m}"),
            _ => format!("{day} {m}"),
        }
    }
}

impl Locale {
    /// Serde's test for the default (not written).
    pub fn is_default(&self) -> bool {
        *self == Locale::default()
    }
}

/// Stored and answered as its tag (`es-ES`).
impl serde::Serialize for Locale {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Read from its tag, as [`Locale::parse`] reads it.
impl<'de> serde::Deserialize<'de> for Locale {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tag = String::deserialize(d)?;
        Locale::parse(&tag).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn m(text: &str) -> Micros {
        text.parse().unwrap()
    }

    #[test]
    fn numbers_are_exact_in_every_locale() {
        let cases: [(&str, [&str; 6]); 6] = [
            ("14931", ["14,931", "14,931", "14.931", "14.931", "14\u{202f}931", "14.931"]),
            ("1234", ["1,234", "1,234", "1234", "1.234", "1\u{202f}234", "1.234"]),
            (
                "-1234567.000001",
                [
                    "-1,234,567.000001",
                    "-1,234,567.000001",
                    "-1.234.567,000001",
                    "-1.234.567,000001",
                    "-1\u{202f}234\u{202f}567,000001",
                    "-1.234.567,000001",
                ],
            ),
            ("0.5", ["0.5", "0.5", "0,5", "0,5", "0,5", "0,5"]),
            ("999", ["999", "999", "999", "999", "999", "999"]),
            ("0", ["0", "0", "0", "0", "0", "0"]),
        ];
        for (amount, want) in cases {
            for (l, w) in Locale::ALL.iter().zip(want) {
                assert_eq!(l.number(m(amount)), w, "{amount} in {l}");
            }
        }
        assert_eq!(Locale::DeDe.count(1668), "1.668");
        assert_eq!(Locale::EsEs.rounded(m("206.297872"), 1), "206,3");
        assert_eq!(Locale::EsEs.rounded(m("-0.25"), 1), "-0,3");
    }

    #[test]
    fn money_and_percentages() {
        assert_eq!(Locale::EsEs.money(m("449"), "EUR"), "449\u{a0}€");
        assert_eq!(Locale::EsEs.money(m("14931.5"), "EUR"), "14.931,50\u{a0}€");
        assert_eq!(Locale::EnUs.money(m("449"), "USD"), "$449");
        assert_eq!(Locale::EnGb.money(m("449.5"), "EUR"), "€449.50");
        assert_eq!(Locale::EnUs.money(m("0.125"), "GBP"), "£0.125");
        assert_eq!(Locale::DeDe.money(m("-20"), "CHF"), "-20\u{a0}CHF");
        assert_eq!(Locale::EnUs.money(m("20"), "CHF"), "CHF\u{a0}20");
        assert_eq!(Locale::FrFr.money(m("1000"), "USD"), "1\u{202f}000\u{a0}US$");
        assert_eq!(Locale::EnUs.percent("+12.5"), "+12.5%");
        assert_eq!(Locale::EsEs.percent("-3.1"), "-3,1\u{a0}%");
    }

    #[test]
    fn dates_in_words() {
        let d = date(2026, 4, 2);
        let want = [
            ("April 2, 2026", "Thursday, April 2, 2026", "Apr 2"),
            ("2 April 2026", "Thursday 2 April 2026", "2 Apr"),
            ("2 de abril de 2026", "jueves, 2 de abril de 2026", "2 abr"),
            ("2. April 2026", "Donnerstag, 2. April 2026", "2. Apr."),
            ("2 avril 2026", "jeudi 2 avril 2026", "2 avr."),
            ("2 aprile 2026", "giovedì 2 aprile 2026", "2 apr"),
        ];
        for (l, (long, weekday, short)) in Locale::ALL.iter().zip(want) {
            assert_eq!(l.date(d), long, "{l}");
            assert_eq!(l.weekday_date(d), weekday, "{l}");
            assert_eq!(l.short_day(d), short, "{l}");
        }
        assert_eq!(Locale::EsEs.span(date(2026, 3, 1), date(2026, 3, 31)), "1 de marzo – 31 de marzo de 2026");
        assert_eq!(Locale::EnUs.span(date(2025, 12, 29), date(2026, 1, 4)), "December 29, 2025 – January 4, 2026");
    }

    #[test]
    fn tags_parse_and_refuse() {
        assert_eq!(Locale::parse("es-ES").unwrap(), Locale::EsEs);
        assert_eq!(Locale::parse("ES_es").unwrap(), Locale::EsEs);
        assert_eq!(Locale::parse(" de-de ").unwrap(), Locale::DeDe);
        for bad in ["", "es", "xx-XX", "en-US-x", "es-ES\0"] {
            let e = Locale::parse(bad).unwrap_err();
            assert!(e.to_string().contains("en-US, en-GB, es-ES, de-DE, fr-FR, it-IT"), "{bad}: {e}");
        }
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.as_str()).unwrap(), l);
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.as_str()));
            assert_eq!(serde_json::from_str::<Locale>(&json).unwrap(), l);
        }
        assert!(serde_json::from_str::<Locale>("\"xx-XX\"").is_err());
    }
}
