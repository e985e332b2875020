//! Priced operations: usage, holds and debits named by a price and a
//! quantity, priced from the org's book in force, with graduated tiers
//! counted exactly per org and period, on every engine alike.

use creditd_core::prices::{PriceRequest, Quantity};
use creditd_core::{AccessOp, Event, EventKind, Outcome, PricedOp, SettingsPatch};
use std::collections::BTreeMap;

use super::{example_book, secs};
use crate::*;

fn q(text: &str) -> Quantity {
    text.parse().unwrap_or_else(|e| panic!("quantity {text}: {e:?}"))
}

fn req(price: &str, quantity: &str, dims: &[(&str, &str)]) -> PriceRequest {
    let dimensions: BTreeMap<String, String> = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    PriceRequest { price: price.to_string(), quantity: q(quantity), dimensions }
}

/// A priced usage of `quantity` units of `price`.
pub fn priced_usage(price: &str, quantity: &str, dims: &[(&str, &str)]) -> Op {
    Op::Priced(PricedOp::Usage { price: req(price, quantity, dims), ctx: EventCtx::default() })
}

/// A priced hold of an estimated `quantity` of `price`.
pub fn priced_hold(price: &str, quantity: &str, dims: &[(&str, &str)]) -> Op {
    Op::Priced(PricedOp::Hold { price: req(price, quantity, dims), timeout_seconds: None, ctx: EventCtx::default() })
}

/// A debit of a priced hold for `quantity` units (`None`: its estimate).
pub fn priced_debit(hold_id: &str, quantity: Option<&str>) -> Op {
    Op::Priced(PricedOp::Debit { hold_id: hold_id.to_string(), quantity: quantity.map(q), ctx: EventCtx::default() })
}

/// The org uses price book `book` (its own setting).
pub fn use_book(book: &str) -> Op {
    Op::Access(AccessOp::SetSettings(SettingsPatch { price_book: Some(book.to_string()), ..SettingsPatch::default() }))
}

/// The org `org` with `credits` granted, on book `standard`.
async fn priced_org(store: &dyn Store, org: &str, credits: &str) {
    new_org(store, org).await;
    ok(store, org, grant(credits)).await;
    ok(store, org, use_book("standard")).await;
}

fn own_event(o: &Outcome, kind: EventKind) -> &Event {
    o.events.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("no {kind} event in {:?}", o.events))
}

/// Usage and holds priced from the book: flat, per-model and default
/// lines; the event keeps key, quantity, unit, unit price, book and version
/// and files the line's service and activity; a debit prices the actual
/// quantity and releases the rest; every refusal writes nothing; all of it
/// reads back after a restart, in the history and the export alike.
pub async fn priced_usage_and_holds(ctx: &mut Ctx) {
    let s = ctx.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("book");
    priced_org(s.as_ref(), "p", "100").await;

    let o = ok(s.as_ref(), "p", priced_usage("image_generation", "3", &[])).await;
    let e = own_event(&o, EventKind::Usage);
    assert_eq!(e.amount, m("-7.5"));
    assert_eq!((e.service.as_deref(), e.activity.as_deref()), (Some("images"), Some("generate")));
    let p = e.pricing.as_ref().expect("pricing");
    assert_eq!((&*p.price_key, p.quantity, &*p.unit), ("image_generation", q("3"), "image"));
    assert_eq!((p.unit_price, p.tiers.is_none()), (Some(m("2.5")), true));
    assert_eq!((&*p.price_book, p.version), ("standard", 1));

    // The per-model line, and the key's default line.
    let o = ok(s.as_ref(), "p", priced_usage("tokens_in", "2.5", &[("model", "large")])).await;
    let e = own_event(&o, EventKind::Usage);
    assert_eq!(e.amount, m("-0.75"));
    assert_eq!(e.pricing.as_ref().map(|p| p.dimensions.get("model").cloned()), Some(Some("large".to_string())));
    let o = ok(s.as_ref(), "p", priced_usage("tokens_in", "1", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-0.1"));
    // Rounded up to the micro-credit once per operation: 0.000001 units at
    // 0.1 credits is 0.0000001 credits, charged as 0.000001.
    let o = ok(s.as_ref(), "p", priced_usage("tokens_in", "0.000001", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-0.000001"));
    // A caller's service and activity win over the line's.
    let mut named = priced_usage("image_generation", "1", &[]);
    if let Op::Priced(PricedOp::Usage { ctx, .. }) = &mut named {
        ctx.service = Some("Studio".into());
    }
    let o = ok(s.as_ref(), "p", named).await;
    let e = own_event(&o, EventKind::Usage);
    assert_eq!((e.service.as_deref(), e.activity.as_deref()), (Some("Studio"), Some("generate")));

    // Refusals, nothing written.
    let seq = s.balance("p").await.expect("balance").seq;
    let refused = [
        (priced_usage("video", "1", &[]), "unknown_price"),
        (priced_usage("tokens_in", "1", &[("model", "huge")]), "validation_error"),
        (priced_usage("image_generation", "0", &[]), "validation_error"),
        (priced_usage("image_generation", "100", &[]), "insufficient_credits"),
        (priced_hold("image_generation", "-1", &[]), "validation_error"),
        (priced_debit("hold_999", Some("1")), "hold_not_found"),
    ];
    for (op, want) in refused {
        let name = format!("{op:?}");
        assert_eq!(code(&run(s.as_ref(), "p", op).await), want, "{name}");
    }
    assert_eq!(s.balance("p").await.expect("balance").seq, seq, "refusals write nothing");
    // An org without a book.
    new_org(s.as_ref(), "nobook").await;
    ok(s.as_ref(), "nobook", grant("10")).await;
    let r = run(s.as_ref(), "nobook", priced_usage("image_generation", "1", &[])).await;
    assert_eq!(code(&r), "unknown_price");
    assert!(r.unwrap_err().to_string().contains("no price book in force"));

    // A priced hold; the debit gives the actual quantity, the rest goes back.
    let available = s.balance("p").await.expect("balance").available;
    let o = ok(s.as_ref(), "p", priced_hold("image_generation", "4", &[])).await;
    let h = record_id(&o);
    assert_eq!(own_event(&o, EventKind::Hold).amount, m("-10"));
    assert_eq!(own_event(&o, EventKind::Hold).pricing.as_ref().map(|p| p.quantity), Some(q("4")));
    // More than was held after pricing: refused, nothing written.
    assert_eq!(code(&run(s.as_ref(), "p", priced_debit(&h, Some("4.000001"))).await), "debit_exceeds_hold");
    // By amount: a priced hold is debited by quantity.
    assert_eq!(code(&run(s.as_ref(), "p", debit(&h, Some("1"))).await), "validation_error");
    let o = ok(s.as_ref(), "p", priced_debit(&h, Some("3"))).await;
    let d = own_event(&o, EventKind::Debit);
    assert_eq!(d.amount, m("-7.5"));
    assert_eq!(d.pricing.as_ref().map(|p| p.quantity), Some(q("3")));
    let rel = own_event(&o, EventKind::Release);
    assert_eq!((rel.amount, rel.pricing.is_none()), (m("2.5"), true));
    let b = s.balance("p").await.expect("balance");
    assert_eq!((b.available, b.held), (available.checked_sub(m("7.5")).expect("sub"), Micros::ZERO));
    // A plain debit of a priced hold takes its estimate.
    let h2 = record_id(&ok(s.as_ref(), "p", priced_hold("tokens_in", "2", &[("model", "large")])).await);
    let o = ok(s.as_ref(), "p", debit(&h2, None)).await;
    let d = own_event(&o, EventKind::Debit);
    assert_eq!((d.amount, d.pricing.as_ref().map(|p| p.quantity)), (m("-0.6"), Some(q("2"))));
    // A plain hold cannot be debited by quantity.
    let plain = record_id(&ok(s.as_ref(), "p", hold("1")).await);
    assert_eq!(code(&run(s.as_ref(), "p", priced_debit(&plain, Some("1"))).await), "validation_error");
    ok(s.as_ref(), "p", release(&plain)).await;

    // An idempotent retry answers the first result.
    let first = run_key(s.as_ref(), "p", priced_usage("image_generation", "2", &[]), "k1").await.expect("first");
    let again = run_key(s.as_ref(), "p", priced_usage("image_generation", "2", &[]), "k1").await.expect("again");
    assert_eq!(first, again);
    assert_eq!(
        code(&run_key(s.as_ref(), "p", priced_usage("image_generation", "3", &[]), "k1").await),
        "idempotency_conflict"
    );

    // Everything reads back as written, after a restart too; the export
    // carries the pricing.
    let before = history(s.as_ref(), "p").await;
    assert!(before.iter().filter(|e| e.pricing.is_some()).count() >= 8);
    drop(s);
    ctx.reopen().await;
    let s = ctx.store.clone();
    assert_eq!(history(s.as_ref(), "p").await, before);
    let mut exported = exported(s.as_ref(), "p", &EventFilter::default()).await;
    exported.sort_by_key(|e| std::cmp::Reverse(e.seq));
    assert_eq!(exported, before);
    // A priced hold made before the restart is debited after it.
    let h3 = record_id(&ok(s.as_ref(), "p", priced_hold("image_generation", "2", &[])).await);
    drop(s);
    ctx.reopen().await;
    let s = ctx.store.clone();
    let o = ok(s.as_ref(), "p", priced_debit(&h3, Some("1"))).await;
    assert_eq!(own_event(&o, EventKind::Debit).amount, m("-2.5"));
}

/// Graduated tiers count the org's units of the line this period: they
/// cross inside one batch, survive a restart, start again at the period's
/// renewal, and are exact however many clients race.
pub async fn priced_tiers_cross_in_a_batch_and_renew(ctx: &mut Ctx) {
    let s = ctx.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("book");
    priced_org(s.as_ref(), "t", "5000").await;
    // enrichment: the first 1,000 rows of a period at 1, then 0.5.
    let cmds = vec![
        Command::new("t", priced_usage("enrichment", "600", &[]), None),
        Command::new("t", priced_usage("enrichment", "600", &[]), None),
        Command::new("t", priced_usage("enrichment", "100", &[]), None),
    ];
    let got: Vec<Micros> =
        s.execute(cmds).await.into_iter().map(|r| own_event(&r.expect("usage"), EventKind::Usage).amount).collect();
    assert_eq!(got, vec![m("-600"), m("-500"), m("-50")]);
    let o = ok(s.as_ref(), "t", priced_usage("enrichment", "1", &[])).await;
    let tiers = own_event(&o, EventKind::Usage).pricing.clone().and_then(|p| p.tiers).expect("tiers");
    assert_eq!(tiers.len(), 1);
    assert_eq!((tiers[0].quantity, tiers[0].credits_per_unit), (q("1"), m("0.5")));
    // The breakdown of a crossing operation.
    drop(s);
    ctx.reopen().await;
    let s = ctx.store.clone();
    let hist = history(s.as_ref(), "t").await;
    let crossing = hist.iter().find(|e| e.amount == m("-500")).and_then(|e| e.pricing.clone()).expect("crossing");
    let parts: Vec<(Quantity, Micros)> =
        crossing.tiers.expect("tiers").iter().map(|t| (t.quantity, t.credits_per_unit)).collect();
    assert_eq!(parts, vec![(q("400"), m("1")), (q("200"), m("0.5"))]);
    // The counters survived the restart: still in the second band.
    let o = ok(s.as_ref(), "t", priced_usage("enrichment", "2", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-1"));
    // A hold does not move the tiers; its debit does.
    let h = record_id(&ok(s.as_ref(), "t", priced_hold("enrichment", "10", &[])).await);
    let o = ok(s.as_ref(), "t", priced_usage("enrichment", "2", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-1"));
    ok(s.as_ref(), "t", priced_debit(&h, Some("10"))).await;
    // The next period starts at the first band again.
    let next = "2025-04-01T00:00:00Z".parse::<Timestamp>().expect("time");
    ctx.clock.advance(next.duration_since(ctx.clock.now()) + secs(1));
    let o = ok(s.as_ref(), "t", priced_usage("enrichment", "10", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-10"));

    // Racing clients: 20 usages of 100 rows at once cost 1,000 × 1 +
    // 1,000 × 0.5 whatever their order.
    priced_org(s.as_ref(), "race", "5000").await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { run(s.as_ref(), "race", priced_usage("enrichment", "100", &[])).await }));
    }
    let mut total = Micros::ZERO;
    for t in tasks {
        let o = t.await.expect("task").expect("usage");
        total = total.checked_add(own_event(&o, EventKind::Usage).amount).expect("sum");
    }
    assert_eq!(total, m("-1500"));
    assert_eq!(s.balance("race").await.expect("balance").available, m("3500"));
}

/// Versions switch at their instant: an operation at `effective_from`
/// uses the new version. A hold priced under one version and debited
/// under the next is debited at the hold's version: the credits were
/// reserved at that price.
pub async fn priced_versions_switch_at_an_instant(ctx: &mut Ctx) {
    let s = ctx.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("v1");
    let at = ctx.clock.now() + secs(3600);
    let mut dearer = example_book(Some(at));
    dearer.prices[0].credits_per_unit = Some(m("3"));
    s.price_books().put("standard", dearer).await.expect("v2");
    priced_org(s.as_ref(), "v", "100").await;

    ctx.clock.advance(secs(3599));
    let o = ok(s.as_ref(), "v", priced_usage("image_generation", "1", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-2.5"));
    let h = record_id(&ok(s.as_ref(), "v", priced_hold("image_generation", "2", &[])).await);
    ctx.clock.advance(secs(1));
    let o = ok(s.as_ref(), "v", priced_usage("image_generation", "1", &[])).await;
    let e = own_event(&o, EventKind::Usage);
    assert_eq!((e.amount, e.pricing.as_ref().map(|p| p.version)), (m("-3"), Some(2)));
    let o = ok(s.as_ref(), "v", priced_debit(&h, Some("2"))).await;
    let d = own_event(&o, EventKind::Debit);
    assert_eq!((d.amount, d.pricing.as_ref().map(|p| p.version)), (m("-5"), Some(1)));

    // The org's own setting names the book; without it (and without a
    // plan naming one) nothing can be priced.
    s.price_books().put("premium", example_book(None)).await.expect("premium");
    ok(s.as_ref(), "v", use_book("premium")).await;
    let o = ok(s.as_ref(), "v", priced_usage("image_generation", "1", &[])).await;
    assert_eq!(
        own_event(&o, EventKind::Usage).pricing.as_ref().map(|p| p.price_book.to_string()),
        Some("premium".into())
    );
    ok(s.as_ref(), "v", use_book("")).await;
    assert_eq!(code(&run(s.as_ref(), "v", priced_usage("image_generation", "1", &[])).await), "unknown_price");
}

/// A priced history moves to another org through an import: the pricing
/// comes along (chain verified), and a priced hold left open in the file
/// is debited by quantity afterwards, with the tiers going on from the
/// file's period.
pub async fn priced_history_imports(ctx: &mut Ctx) {
    let s = ctx.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("book");
    priced_org(s.as_ref(), "src", "5000").await;
    ok(s.as_ref(), "src", priced_usage("enrichment", "900", &[])).await;
    ok(s.as_ref(), "src", priced_usage("image_generation", "2", &[])).await;
    let h = record_id(&ok(s.as_ref(), "src", priced_hold("image_generation", "2", &[])).await);
    let mut events = history(s.as_ref(), "src").await;
    events.reverse();
    for e in &mut events {
        e.org_id = "dst".into();
    }
    s.import("dst", OrgSettings::new("Dst", "UTC"), events.clone()).await.expect("import");
    let v = s.verify("dst").await.expect("verify");
    assert!(v.ok && v.chain_checked, "{v:?}");
    let mut copied = history(s.as_ref(), "dst").await;
    copied.reverse();
    assert_eq!(copied, events);
    ok(s.as_ref(), "dst", use_book("standard")).await;
    let o = ok(s.as_ref(), "dst", priced_debit(&h, Some("1"))).await;
    assert_eq!(own_event(&o, EventKind::Debit).amount, m("-2.5"));
    // 900 rows used in the file's period: 100 more at 1, then 0.5.
    let o = ok(s.as_ref(), "dst", priced_usage("enrichment", "200", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-150"));
}

/// A database of the schema before the `pricing` column (`downgrade`
/// drops it and takes the version counter one back) opens, migrates, keeps
/// its ledger and chain, and prices from then on.
pub async fn priced_events_migrate_from_previous_schema(ctx: &mut Ctx, downgrade: &str) {
    let s = ctx.store.clone();
    new_org(s.as_ref(), "old").await;
    ok(s.as_ref(), "old", grant("10")).await;
    ok(s.as_ref(), "old", usage("1")).await;
    if !ctx.raw_sql(downgrade).await {
        return;
    }
    drop(s);
    ctx.reopen().await;
    let s = ctx.store.clone();
    assert_eq!(s.balance("old").await.expect("balance").available, m("9"));
    assert!(s.verify("old").await.expect("verify").ok);
    s.price_books().put("standard", example_book(None)).await.expect("book");
    ok(s.as_ref(), "old", use_book("standard")).await;
    let o = ok(s.as_ref(), "old", priced_usage("image_generation", "2", &[])).await;
    assert_eq!(own_event(&o, EventKind::Usage).amount, m("-5"));
    drop(s);
    ctx.reopen().await;
    let events = history(ctx.store.as_ref(), "old").await;
    assert_eq!(events[0].pricing.as_ref().map(|p| p.quantity), Some(q("2")));
    assert!(events[1..].iter().all(|e| e.pricing.is_none()));
}
