//! Price books: validation (each refusal names its line), the line a
//! request selects, the version in force, graduated tiers and the rounding
//! rule. Expected costs are worked out by hand in the comments.

use std::collections::BTreeMap;

use creditd_core::prices::{PriceBook, PriceBookDraft, PriceLine, Quantity, Tier};
use creditd_core::*;
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::json;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn q(s: &str) -> Quantity {
    s.parse().unwrap()
}

fn m(s: &str) -> Micros {
    s.parse().unwrap()
}

/// The README's example book: a flat, a tiered and a per-model token price.
fn example() -> serde_json::Value {
    json!({"prices": [
        {"key": "image_generation", "service": "images", "activity": "generate", "unit": "image",
         "credits_per_unit": 2.5},
        {"key": "enrichment", "service": "crm", "activity": "enrich", "unit": "row",
         "tiers": [{"up_to": 1000, "credits_per_unit": 1}, {"credits_per_unit": "0.5"}]},
        {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
         "credits_per_unit": 0.1},
        {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
         "dimensions": {"model": "large"}, "credits_per_unit": 0.3},
    ]})
}

fn draft(v: serde_json::Value) -> PriceBookDraft {
    serde_json::from_value(v).unwrap()
}

fn book() -> PriceBook {
    PriceBook { id: "standard".into(), versions: Vec::new() }
}

fn write(b: &mut PriceBook, v: serde_json::Value, now: &str) {
    let version = b.next_version(draft(v), ts(now)).unwrap();
    b.versions.push(version);
}

fn dims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn a_valid_book_gets_version_one_from_now() {
    let b = book();
    let v = b.next_version(draft(example()), ts("2026-12-01T00:00:00Z")).unwrap();
    assert_eq!((v.version, v.effective_from, &*v.book_id), (1, ts("2026-12-01T00:00:00Z"), "standard"));
    assert_eq!(v.prices.len(), 4);
    assert_eq!(v.prices[1].tiers.as_ref().unwrap()[1].credits_per_unit, m("0.5"));
}

/// Each bad book is refused with the index and key of the offending line.
#[test]
fn bad_books_are_refused_naming_the_line() {
    let line = |extra: serde_json::Value| {
        let mut l = json!({"key": "k", "service": "s", "activity": "a", "unit": "u"});
        l.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        l
    };
    let flat = |p: serde_json::Value| line(json!({"credits_per_unit": p}));
    let tiered = |t: serde_json::Value| line(json!({"tiers": t}));
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!({"prices": []}), "1 to 1000 prices"),
        (json!({"prices": [flat(json!(1)), flat(json!(2))]}), "prices[1] (k): duplicate of prices[0]"),
        (json!({"prices": [flat(json!(0))]}), "prices[0] (k): credits_per_unit must be more than 0 (got 0)"),
        (json!({"prices": [flat(json!(-1))]}), "prices[0] (k): credits_per_unit must be more than 0 (got -1)"),
        (json!({"prices": [line(json!({}))]}), "prices[0] (k): give exactly one of credits_per_unit and tiers"),
        (
            json!({"prices": [line(json!({"credits_per_unit": 1, "tiers": [{"credits_per_unit": 1}]}))]}),
            "give exactly one",
        ),
        (
            json!({"prices": [tiered(json!([{"up_to": 10, "credits_per_unit": 1}, {"up_to": 5, "credits_per_unit": 1}, {"credits_per_unit": 1}]))]}),
            "prices[0] (k): tiers[1]: up_to 5 must be more than tiers[0].up_to 10",
        ),
        (
            json!({"prices": [tiered(json!([{"up_to": 10, "credits_per_unit": 1}, {"up_to": 10, "credits_per_unit": 1}, {"credits_per_unit": 1}]))]}),
            "tiers[1]: up_to 10 must be more than tiers[0].up_to 10",
        ),
        (
            json!({"prices": [tiered(json!([{"credits_per_unit": 1}, {"up_to": 10, "credits_per_unit": 1}]))]}),
            "tiers[0] has no up_to but is not the last band",
        ),
        (json!({"prices": [tiered(json!([{"up_to": 10, "credits_per_unit": 1}]))]}), "the last band has no up_to"),
        (
            json!({"prices": [tiered(json!([{"up_to": 0, "credits_per_unit": 1}, {"credits_per_unit": 1}]))]}),
            "up_to 0 must be more than 0",
        ),
        (
            json!({"prices": [tiered(json!([{"up_to": 5, "credits_per_unit": 0}, {"credits_per_unit": 1}]))]}),
            "tiers[0]: credits_per_unit must be more than 0",
        ),
        (json!({"prices": [tiered(json!([]))]}), "tiers must have 1 to 32 bands"),
        (json!({"prices": [line(json!({"key": "a b", "credits_per_unit": 1}))]}), "prices[0] (a b): key must be"),
        (
            json!({"prices": [line(json!({"unit": " ", "credits_per_unit": 1}))]}),
            "prices[0] (k): unit must be 1 to 200",
        ),
        (
            json!({"prices": [line(json!({"dimensions": {"model": "x"}, "credits_per_unit": 1})), line(json!({"dimensions": {"size": "x"}, "credits_per_unit": 1}))]}),
            "prices[1] (k): names dimensions [\"size\"] but prices[0] of the same key names [\"model\"]",
        ),
        (
            json!({"prices": [line(json!({"dimensions": {"model": "a|b"}, "credits_per_unit": 1}))]}),
            "must not contain '|' or '='",
        ),
    ];
    for (body, expected) in cases {
        let err = book().next_version(draft(body.clone()), ts("2026-12-01T00:00:00Z")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationError, "{body}");
        assert!(err.to_string().contains(expected), "{body}: {err} lacks {expected:?}");
    }
}

/// More than six decimals never reaches the model: the reader refuses it,
/// naming the value (the server reports serde's line and column).
#[test]
fn more_than_six_decimals_is_refused_when_read() {
    let body = r#"{"prices": [{"key": "k", "service": "s", "activity": "a", "unit": "u",
        "credits_per_unit": 0.0000001}]}"#;
    let err = serde_json::from_str::<PriceBookDraft>(body).unwrap_err();
    assert!(err.to_string().contains("more than 6 decimals"), "{err}");
    assert_eq!(err.line(), 2);
    let body = r#"{"prices": [{"key": "k", "service": "s", "activity": "a", "unit": "u",
        "tiers": [{"up_to": "1.1234567", "credits_per_unit": 1}, {"credits_per_unit": 1}]}]}"#;
    assert!(serde_json::from_str::<PriceBookDraft>(body).unwrap_err().to_string().contains("more than 6 decimals"));
    let unknown = r#"{"prices": [], "colour": "red"}"#;
    assert!(serde_json::from_str::<PriceBookDraft>(unknown).is_err());
}

#[test]
fn effective_from_in_the_past_is_refused_now_and_later_are_not() {
    let mut body = example();
    body["effective_from"] = json!("2026-11-30T23:59:59Z");
    let err = book().next_version(draft(body.clone()), ts("2026-12-01T00:00:00Z")).unwrap_err();
    assert!(err.to_string().contains("effective_from 2026-11-30T23:59:59Z is in the past"), "{err}");
    body["effective_from"] = json!("2026-12-01T00:00:00Z");
    assert!(book().next_version(draft(body.clone()), ts("2026-12-01T00:00:00Z")).is_ok());
    body["effective_from"] = json!("2027-01-01T00:00:00Z");
    assert!(book().next_version(draft(body), ts("2026-12-01T00:00:00Z")).is_ok());
}

/// The version in force switches exactly at `effective_from`; a version
/// written later but starting earlier wins from its start; ties go to the
/// higher version.
#[test]
fn the_version_in_force_switches_at_its_instant() {
    let mut b = book();
    write(&mut b, example(), "2026-12-01T00:00:00Z");
    let mut v2 = example();
    v2["effective_from"] = json!("2027-01-01T00:00:00Z");
    write(&mut b, v2, "2026-12-02T00:00:00Z");
    let mut v3 = example();
    v3["effective_from"] = json!("2026-12-20T00:00:00Z");
    write(&mut b, v3, "2026-12-03T00:00:00Z");
    let at = |t: &str| b.in_force(ts(t)).map(|v| v.version);
    assert_eq!(at("2026-11-30T00:00:00Z"), None);
    assert_eq!(at("2026-12-01T00:00:00Z"), Some(1));
    assert_eq!(at("2026-12-19T23:59:59.999999Z"), Some(1));
    assert_eq!(at("2026-12-20T00:00:00Z"), Some(3));
    assert_eq!(at("2026-12-31T23:59:59.999999Z"), Some(3));
    assert_eq!(at("2027-01-01T00:00:00Z"), Some(2));
    let mut v4 = example();
    v4["effective_from"] = json!("2027-01-01T00:00:00Z");
    write(&mut b, v4, "2026-12-04T00:00:00Z");
    assert_eq!(b.in_force(ts("2027-01-01T00:00:00Z")).map(|v| v.version), Some(4));
    // Earlier versions are what they were.
    assert_eq!(b.versions[0].effective_from, ts("2026-12-01T00:00:00Z"));
}

#[test]
fn dimensions_select_the_line_and_unknown_ones_are_refused() {
    let mut b = book();
    write(&mut b, example(), "2026-12-01T00:00:00Z");
    let v = b.in_force(ts("2026-12-01T00:00:00Z")).unwrap();
    assert_eq!(v.find("tokens_in", &dims(&[])).unwrap().credits_per_unit, Some(m("0.1")));
    assert_eq!(v.find("tokens_in", &dims(&[("model", "large")])).unwrap().credits_per_unit, Some(m("0.3")));
    let err = v.find("tokens_in", &dims(&[("model", "huge")])).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationError);
    assert!(err.to_string().contains("price tokens_in has no line for model=huge"), "{err}");
    assert!(err.to_string().contains("the default (no dimensions); model=large"), "{err}");
    let err = v.find("image_generation", &dims(&[("model", "large")])).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationError);
    let err = v.find("video", &dims(&[])).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownPrice);
    assert_eq!(err.code().status(), 422);
    assert!(err.to_string().contains("price book standard has no such price"), "{err}");
}

/// A key whose lines all name dimensions has no default: a request without
/// dimensions is refused rather than priced at an arbitrary line.
#[test]
fn a_key_without_a_default_needs_dimensions() {
    let mut b = book();
    write(
        &mut b,
        json!({"prices": [{"key": "t", "service": "s", "activity": "a", "unit": "u",
            "dimensions": {"model": "small"}, "credits_per_unit": 1}]}),
        "2026-12-01T00:00:00Z",
    );
    let err = b.versions[0].find("t", &dims(&[])).unwrap_err();
    assert!(err.to_string().contains("no line for the default (no dimensions)"), "{err}");
}

fn flat(price: &str) -> PriceLine {
    PriceLine {
        key: "k".into(),
        service: "s".into(),
        activity: "a".into(),
        unit: "u".into(),
        dimensions: BTreeMap::new(),
        credits_per_unit: Some(m(price)),
        tiers: None,
    }
}

fn tiered(bands: &[(Option<&str>, &str)]) -> PriceLine {
    let tiers = bands.iter().map(|(u, p)| Tier { up_to: u.map(q), credits_per_unit: m(p) }).collect();
    PriceLine { credits_per_unit: None, tiers: Some(tiers), ..flat("1") }
}

/// Flat prices: quantity × price, exact, rounded up to the micro-credit
/// once per operation.
#[test]
fn flat_prices_and_the_rounding_rule() {
    // (price, quantity, total): worked by hand.
    for (price, quantity, total) in [
        ("2.5", "3", "7.5"),
        ("0.3", "12.5", "3.75"),
        // 0.000001 × 0.5 = 0.0000005 → rounded up to 0.000001.
        ("0.000001", "0.5", "0.000001"),
        // 0.000001 units at 0.000001 credits: 10^-12 credits → 0.000001.
        ("0.000001", "0.000001", "0.000001"),
        // 1.000001 × 1.000001 = 1.000002000001 → 1.000003.
        ("1.000001", "1.000001", "1.000003"),
        // Exact stays exact: 0.333333 × 3 = 0.999999.
        ("0.333333", "3", "0.999999"),
    ] {
        let p = flat(price).price(Quantity::ZERO, q(quantity)).unwrap();
        assert_eq!(p.total, m(total), "{price} × {quantity}");
        assert_eq!(p.parts.len(), 1);
    }
    // A flat price ignores what was used before.
    assert_eq!(flat("2.5").price(q("1000000"), q("2")).unwrap().total, m("5"));
}

#[test]
fn a_quantity_must_be_positive_and_a_cost_must_fit() {
    for bad in ["0", "-1"] {
        let err = flat("1").price(Quantity::ZERO, q(bad)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationError, "{bad}");
    }
    // 9,000,000 units × 9,000,000 credits is far past what an i64 of micro-credits holds.
    let err = flat("9000000").price(Quantity::ZERO, q("9000000")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::AmountOverflow);
}

/// Graduated tiers over the period's quantity: the first 1,000 at 1, the
/// next 4,000 at 0.5, every further unit at 0.25.
#[test]
fn graduated_tiers_cross_inside_one_operation() {
    let line = tiered(&[(Some("1000"), "1"), (Some("5000"), "0.5"), (None, "0.25")]);
    // (used before, quantity, total, parts).
    for (used, quantity, total, parts) in [
        ("0", "10", "10", vec![("10", "1")]),
        ("995", "10", "7.5", vec![("5", "1"), ("5", "0.5")]),
        ("1000", "10", "5", vec![("10", "0.5")]),
        // 500 at 1 + 4,000 at 0.5 + 500 at 0.25 = 500 + 2,000 + 125.
        ("500", "5000", "2625", vec![("500", "1"), ("4000", "0.5"), ("500", "0.25")]),
        ("6000", "4", "1", vec![("4", "0.25")]),
        // 0.5 at 1 + 0.000001 at 0.5 = 0.5000005 → 0.500001.
        ("999.5", "0.500001", "0.500001", vec![("0.5", "1"), ("0.000001", "0.5")]),
    ] {
        let p = line.price(q(used), q(quantity)).unwrap();
        assert_eq!(p.total, m(total), "{used} + {quantity}");
        let got: Vec<(Quantity, Micros)> = p.parts.iter().map(|t| (t.quantity, t.credits_per_unit)).collect();
        let want: Vec<(Quantity, Micros)> = parts.iter().map(|(a, b)| (q(a), m(b))).collect();
        assert_eq!(got, want, "{used} + {quantity}");
    }
}

#[test]
fn line_ids_name_key_and_dimensions() {
    let mut l = flat("1");
    assert_eq!(&*l.line_id(), "k");
    l.dimensions = dims(&[("model", "large"), ("a", "b")]);
    assert_eq!(&*l.line_id(), "k|a=b|model=large");
}

fn arb_tiered() -> impl Strategy<Value = PriceLine> {
    (proptest::collection::vec((1i64..5_000_000_000, 1i64..5_000_000), 0..5), 1i64..5_000_000).prop_map(
        |(bands, last)| {
            let mut upper = 0i64;
            let mut tiers = Vec::new();
            for (width, price) in bands {
                upper += width;
                tiers.push(Tier {
                    up_to: Some(Quantity::from_micros(upper)),
                    credits_per_unit: Micros::from_micros(price),
                });
            }
            tiers.push(Tier { up_to: None, credits_per_unit: Micros::from_micros(last) });
            PriceLine { credits_per_unit: None, tiers: Some(tiers), ..flat("1") }
        },
    )
}

proptest! {
    /// Splitting a quantity anywhere (at tier bounds or not) changes
    /// nothing before rounding: the exact cost of a + b after `used` is the
    /// exact cost of a after `used` plus that of b after `used + a`. The
    /// rounded total is at least the exact cost, less than one micro-credit
    /// above it, and never more than the rounded parts together. The cost
    /// grows with the quantity, and the parts add up to the quantity.
    #[test]
    fn tiered_cost_is_additive_and_monotone(
        line in arb_tiered(),
        used in 0i64..20_000_000_000,
        a in 1i64..10_000_000_000,
        b in 1i64..10_000_000_000,
    ) {
        let (used, a, b) = (Quantity::from_micros(used), Quantity::from_micros(a), Quantity::from_micros(b));
        let whole = line.price(used, a.checked_add(b).unwrap()).unwrap();
        let first = line.price(used, a).unwrap();
        let second = line.price(used.checked_add(a).unwrap(), b).unwrap();
        prop_assert_eq!(whole.exact_pico, first.exact_pico + second.exact_pico);
        prop_assert!(i128::from(whole.total.micros()) * 1_000_000 >= whole.exact_pico);
        prop_assert!(i128::from(whole.total.micros()) * 1_000_000 - whole.exact_pico < 1_000_000);
        prop_assert!(whole.total.micros() <= first.total.micros() + second.total.micros());
        prop_assert!(whole.total >= first.total);
        let sum: i64 = whole.parts.iter().map(|p| p.quantity.micros()).sum();
        prop_assert_eq!(sum, a.micros() + b.micros());
    }

    /// Later units never cost more per unit than the band they fall in
    /// says: pricing unit by unit along the bands gives the same exact cost
    /// as pricing in one go (checked on whole units).
    #[test]
    fn tiered_cost_equals_unit_by_unit(line in arb_tiered(), used in 0i64..20, n in 1i64..20) {
        let unit = Quantity::from_units(1).unwrap();
        let mut exact = 0i128;
        for i in 0..n {
            exact += line.price(Quantity::from_units(used + i).unwrap(), unit).unwrap().exact_pico;
        }
        let once = line.price(Quantity::from_units(used).unwrap(), Quantity::from_units(n).unwrap()).unwrap();
        prop_assert_eq!(once.exact_pico, exact);
    }
}

/// The book an org prices with: its own setting over its plan's; `""`
/// removes the override; a bad id is refused; states and plans stored
/// before price books read back with none.
#[test]
fn an_org_setting_overrides_the_plans_book() {
    let now = ts("2026-03-10T12:00:00Z");
    let mut s = OrgState::new("acme", OrgSettings::new("Acme", "UTC"), now).unwrap();
    assert_eq!(s.price_book_id(), None);
    let plan: plans::Plan = serde_json::from_value(json!({"name": "Pro", "credits_per_period": 10,
        "identities_included": 1, "price": 5, "currency": "EUR", "price_book": "standard"}))
    .unwrap();
    s.apply(&Op::Plans(PlanOp::SetPlan { plan, effective: None, renewal_day: None }), now, None).unwrap();
    assert_eq!(s.price_book_id(), Some("standard"));
    let patch =
        |b: &str| Op::Access(AccessOp::SetSettings(SettingsPatch { price_book: Some(b.into()), ..Default::default() }));
    s.apply(&patch("vip"), now, None).unwrap();
    assert_eq!(s.price_book_id(), Some("vip"));
    let err = s.apply(&patch("no/such"), now, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationError);
    assert_eq!(s.price_book_id(), Some("vip"));
    s.apply(&patch(""), now, None).unwrap();
    assert_eq!(s.price_book_id(), Some("standard"));
    let old: OrgSettings = serde_json::from_value(json!({"name": "A", "time_zone": "UTC",
        "consumption_order": ["plan", "voucher", "promotional", "prepaid"], "expiring_first": true,
        "overdraft_limit": 0, "renewal_day": 1}))
    .unwrap();
    assert_eq!(old.price_book, None);
    let bad: plans::Plan = serde_json::from_value(json!({"name": "Pro", "credits_per_period": 10,
        "identities_included": 1, "price": 5, "currency": "EUR", "price_book": "-x"}))
    .unwrap();
    assert_eq!(bad.validate().unwrap_err().code(), ErrorCode::ValidationError);
}

/// A draft that repeats the latest version (same prices; no or the same
/// `effective_from`) is recognised, so a retried PUT adds no version; a
/// change of price or of start is a new version.
#[test]
fn a_repeated_draft_is_recognised() {
    let mut b = book();
    assert!(b.repeated(&draft(example())).is_none());
    write(&mut b, example(), "2026-12-01T00:00:00Z");
    assert_eq!(b.repeated(&draft(example())).map(|v| v.version), Some(1));
    let mut same_start = example();
    same_start["effective_from"] = json!("2026-12-01T00:00:00Z");
    assert_eq!(b.repeated(&draft(same_start)).map(|v| v.version), Some(1));
    let mut later = example();
    later["effective_from"] = json!("2026-12-02T00:00:00Z");
    assert!(b.repeated(&draft(later)).is_none());
    let mut dearer = example();
    dearer["prices"][0]["credits_per_unit"] = json!(3);
    assert!(b.repeated(&draft(dearer.clone())).is_none());
    write(&mut b, dearer, "2026-12-01T00:00:00Z");
    // Only the latest counts: going back to version 1's prices is new.
    assert!(b.repeated(&draft(example())).is_none());
}

// ---- Priced operations in the ledger (`pricing.rs`) ---------------------

fn priced_state(book: &PriceBook) -> OrgState {
    let now = ts("2026-03-10T12:00:00Z");
    let mut s = OrgState::new("acme", OrgSettings::new("Acme", "UTC"), now).unwrap();
    s.apply(
        &Op::Credit(CreditOp {
            kind: CreditKind::Grant,
            amount: m("5000"),
            pool: None,
            expires_at: None,
            code: None,
            status: None,
            ctx: EventCtx::default(),
        }),
        now,
        None,
    )
    .unwrap();
    let patch = SettingsPatch { price_book: Some(book.id.clone()), ..SettingsPatch::default() };
    s.apply(&Op::Access(AccessOp::SetSettings(patch)), now, None).unwrap();
    s
}

fn priced_usage(key: &str, quantity: &str) -> Op {
    Op::Priced(PricedOp::Usage {
        price: prices::PriceRequest { price: key.into(), quantity: q(quantity), dimensions: BTreeMap::new() },
        ctx: EventCtx::default(),
    })
}

fn spent(s: &mut OrgState, book: &PriceBook, op: &Op, at: &str) -> Micros {
    let books = vec![book.clone()];
    let a = s.apply_priced(op, None, ts(at), None, &books).unwrap();
    let out = a.outcome.unwrap();
    out.events.iter().find(|e| e.pricing.is_some()).map(|e| e.amount).unwrap()
}

/// Tiers count per period: they cross inside an operation, go on from the
/// count, and start again at the next period; a refusal moves nothing.
#[test]
fn priced_usage_counts_tiers_per_period() {
    let mut b = book();
    write(&mut b, example(), "2026-03-01T00:00:00Z");
    let mut s = priced_state(&b);
    // 999 at 1; then 1 at 1 + 1 at 0.5 = 1.5; then 0.5.
    assert_eq!(spent(&mut s, &b, &priced_usage("enrichment", "999"), "2026-03-10T12:00:01Z"), m("-999"));
    assert_eq!(spent(&mut s, &b, &priced_usage("enrichment", "2"), "2026-03-10T12:00:02Z"), m("-1.5"));
    let line = "enrichment".to_string();
    assert_eq!(s.quantities.used(s.period_start, &line), q("1001"));
    // Refused (too dear): nothing counted.
    let books = vec![b.clone()];
    let err = s.apply_priced(&priced_usage("enrichment", "100000"), None, ts("2026-03-10T12:00:03Z"), None, &books);
    assert_eq!(err.unwrap_err().code(), ErrorCode::InsufficientCredits);
    assert_eq!(s.quantities.used(s.period_start, &line), q("1001"));
    assert_eq!(spent(&mut s, &b, &priced_usage("enrichment", "1"), "2026-03-10T12:00:04Z"), m("-0.5"));
    // April: the first band again.
    assert_eq!(spent(&mut s, &b, &priced_usage("enrichment", "1"), "2026-04-01T00:00:00Z"), m("-1"));
    // Without the books: unknown_price.
    let err = s.apply(&priced_usage("enrichment", "1"), ts("2026-04-01T00:00:01Z"), None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownPrice);
}

/// The chain covers pricing, and an event without it hashes exactly as
/// before pricing existed (the encoding appends nothing).
#[test]
fn the_chain_covers_pricing_and_leaves_unpriced_events_alone() {
    let mut b = book();
    write(&mut b, example(), "2026-03-01T00:00:00Z");
    let mut s = priced_state(&b);
    let books = vec![b.clone()];
    let a = s.apply_priced(&priced_usage("image_generation", "2"), None, ts("2026-03-10T12:00:01Z"), None, &books);
    let a = a.unwrap();
    let e = a.outcome.unwrap().events.pop().unwrap();
    assert_eq!(e.pricing.as_ref().map(|p| p.unit_price), Some(Some(m("2.5"))));
    let prev = ChainHash([7; 32]);
    let with = chain::hash(&prev, &e);
    let mut other = e.clone();
    other.pricing.as_mut().unwrap().quantity = q("3");
    assert_ne!(chain::hash(&prev, &other), with, "the quantity is covered");
    let mut none = e.clone();
    none.pricing = None;
    assert_ne!(chain::hash(&prev, &none), with);
    // A pinned hash of an event without pricing: what every stored chain
    // was computed with.
    let plain = Event {
        id: "evt_1".into(),
        org_id: "acme".into(),
        seq: 1,
        created_at: ts("2026-03-10T12:00:00Z"),
        kind: EventKind::Grant,
        amount: m("10"),
        pool: Some(Pool::Promotional),
        status: Status::Succeeded,
        source: None,
        service: None,
        activity: None,
        project_id: None,
        project_name: None,
        user_name: None,
        user_email: None,
        description: None,
        code: None,
        hold_id: None,
        idempotency_key: None,
        balance_after: m("10"),
        prepaid_balance_after: Micros::ZERO,
        held_after: Micros::ZERO,
        period_usage_after: Micros::ZERO,
        metadata: None,
        pricing: None,
        pools_after: Some(creditd_core::FreePools { promotional: m("10"), ..Default::default() }),
    };
    assert_eq!(chain::hash(&ChainHash::GENESIS, &plain).to_string(), PINNED_GRANT_HASH);
    // The pools after it are not chained: an event read back without them
    // (written before they were recorded, or imported) hashes the same.
    let without = Event { pools_after: None, ..plain };
    assert_eq!(chain::hash(&ChainHash::GENESIS, &without).to_string(), PINNED_GRANT_HASH);
}

/// The hash of that grant, computed outside creditd from the documented
/// `creditd-event-chain-v1` encoding (as stored chains were computed before
/// pricing existed).
const PINNED_GRANT_HASH: &str = "e7e07d1d20a8739a6fbbab52afbc2fac8e14f26b56115728133f1a91f01317dc";
