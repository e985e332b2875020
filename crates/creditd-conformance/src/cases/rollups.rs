//! The rollups of issues 16 and 18: priced quantities and rows by price
//! (only priced debits and usage add them), and the statement's lines, read
//! back alike on every engine and rebuilt by the migration's backfill.

use creditd_core::prices::{PriceRequest, Quantity};
use creditd_core::{PricedOp, Status};
use creditd_store::Store;
use creditd_store::history_at::statement;
use creditd_store::range::local_date;
use creditd_store::rollup::{UsageGroup, UsageQuery, UsageRow, usage_from_events};
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::*;

const ANA: &str = "ana@example.com";
const ZONE: &str = "Europe/Madrid";

fn qty(text: &str) -> Quantity {
    text.parse().unwrap_or_else(|e| panic!("quantity {text}: {e:?}"))
}

fn ana() -> EventCtx {
    EventCtx { user_email: Some(ANA.into()), user_name: Some("Ana".into()), ..EventCtx::default() }
}

/// Ana's priced usage of `quantity` units of `price`.
fn priced_by_ana(price: &str, quantity: &str, dims: &[(&str, &str)]) -> Op {
    let dimensions = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let price = PriceRequest { price: price.into(), quantity: qty(quantity), dimensions };
    Op::Priced(PricedOp::Usage { price, ctx: ana() })
}

/// Ana's plain usage (an amount, no price) of the action and service the
/// book files `image_generation` under.
fn plain_generate(amount: &str) -> Op {
    let ctx = EventCtx { service: Some("images".into()), activity: Some("generate".into()), ..ana() };
    Op::Usage { amount: m(amount), ctx }
}

fn row(key: &str, unit: &str, amount: &str, count: i64, quantity: &str) -> UsageRow {
    UsageRow { key: key.into(), name: unit.into(), amount: m(amount), count, quantity: qty(quantity) }
}

/// Every grouping of `org` on `first..=last`, the org's and Ana's, as the
/// store answers it; each equal to the fold of the events.
async fn every_grouping(s: &dyn Store, org: &str, tz: &TimeZone, first: Date, last: Date) -> Vec<Vec<UsageRow>> {
    let all = history(s, org).await;
    let mut out = Vec::new();
    for who in [None, Some(ANA.to_string())] {
        for group_by in UsageGroup::ALL {
            let q = UsageQuery { first_day: first, last_day: last, group_by, user_email: who.clone() };
            let got = s.usage(org, &q).await.expect("usage");
            // The fold reads day rows; a range of whole months is read
            // from month rows by the store.
            assert_eq!(got, usage_from_events(all.iter(), tz, &q).expect("fold"), "{q:?}");
            out.push(got);
        }
    }
    out
}

async fn check_priced(s: &dyn Store) {
    let tz = TimeZone::UTC;
    let newest = history(s, "r").await[0].created_at;
    let today = local_date(newest, &tz);
    let yesterday = today.yesterday().expect("day");
    let q = |group_by, who: Option<&str>| UsageQuery {
        first_day: yesterday,
        last_day: today,
        group_by,
        user_email: who.map(str::to_string),
    };
    // One row per price key with its unit: credits priced (a refund names
    // no price, so they are before refunds), operations, quantity.
    let by_price = s.usage("r", &q(UsageGroup::Price, None)).await.expect("by price");
    assert_eq!(
        by_price,
        vec![
            row("image_generation", "image", "15", 3, "6"),
            row("enrichment", "row", "6", 1, "6"),
            row("tokens_in", "1k tokens", "2.2", 2, "14"),
        ]
    );
    assert_eq!(s.usage("r", &q(UsageGroup::Price, Some(ANA))).await.expect("Ana's")[0], by_price[0]);
    // By action: plain usage counts its credits and operation but adds no
    // quantity; the refund lowers the credits.
    let by_action = s.usage("r", &q(UsageGroup::Action, None)).await.expect("by action");
    let generate = by_action.iter().find(|r| r.key == "generate").expect("generate");
    assert_eq!((generate.amount, generate.count, generate.quantity), (m("18"), 4, qty("6")));
    let by_day = s.usage("r", &q(UsageGroup::Day, None)).await.expect("by day");
    assert_eq!(by_day.iter().map(|r| r.quantity).collect::<Vec<_>>(), vec![qty("25"), qty("1")]);
    // Every grouping agrees with the events, over the two days and over
    // the whole months around them (month rows).
    every_grouping(s, "r", &tz, yesterday, today).await;
    let months = (yesterday.first_of_month(), today.last_of_month());
    every_grouping(s, "r", &tz, months.0, months.1).await;
}

/// Priced usage and debits roll up by price key (with the unit) and add
/// their quantity to every row; plain usage adds credits and operations
/// but no quantity and no price row; a refund lowers the credits but not
/// the quantity; all of it as the events say, and after a restart.
pub async fn priced_usage_rolls_up_by_price(t: &mut Ctx) {
    let s = t.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("book");
    new_org(s.as_ref(), "r").await;
    ok(s.as_ref(), "r", grant("1000")).await;
    ok(s.as_ref(), "r", use_book("standard")).await;
    let first = ok(s.as_ref(), "r", priced_by_ana("image_generation", "2", &[])).await;
    ok(s.as_ref(), "r", priced_by_ana("image_generation", "3", &[])).await;
    ok(s.as_ref(), "r", plain_generate("4")).await;
    ok(s.as_ref(), "r", priced_by_ana("tokens_in", "4", &[("model", "large")])).await;
    ok(s.as_ref(), "r", priced_by_ana("tokens_in", "10", &[])).await;
    let held = record_id(&ok(s.as_ref(), "r", priced_hold("enrichment", "10", &[])).await);
    ok(s.as_ref(), "r", priced_debit(&held, Some("6"))).await;
    ok(s.as_ref(), "r", refund(&record_id(&first), Some("1"))).await;
    t.clock.advance(secs(86_400));
    ok(s.as_ref(), "r", priced_by_ana("image_generation", "1", &[])).await;
    check_priced(s.as_ref()).await;
    drop(s);
    t.reopen().await;
    check_priced(t.store.as_ref()).await;
}

/// A database written before the third rollup layout (no quantities, no
/// price rows, no statement lines; the schema taken back by `downgrade`)
/// gets them from the migration's backfill: analytics by price and the
/// statement answer as they did before the downgrade.
pub async fn rollups_backfill_from_previous_schema(ctx: &mut Ctx, downgrade: &str) {
    let s = ctx.store.clone();
    s.price_books().put("standard", example_book(None)).await.expect("book");
    s.create_org("old", OrgSettings::new("Old", ZONE)).await.expect("create");
    ok(s.as_ref(), "old", grant("100")).await;
    ok(s.as_ref(), "old", use_book("standard")).await;
    let first = ok(s.as_ref(), "old", priced_by_ana("image_generation", "2", &[])).await;
    ok(s.as_ref(), "old", plain_generate("1")).await;
    ok(s.as_ref(), "old", credit_in(Pool::Voucher, "5", None)).await;
    ok(s.as_ref(), "old", adjustment("-2", "correction")).await;
    ok(s.as_ref(), "old", purchase("7", Status::Processing)).await;
    ok(s.as_ref(), "old", refund(&record_id(&first), Some("0.5"))).await;
    ctx.clock.advance(secs(86_400));
    ok(s.as_ref(), "old", priced_by_ana("tokens_in", "10", &[("model", "large")])).await;
    let tz = TimeZone::get(ZONE).expect("zone");
    let today = local_date(ctx.clock.now(), &tz);
    let days = (today.yesterday().expect("day"), today);
    let before = every_grouping(s.as_ref(), "old", &tz, days.0, days.1).await;
    let by_price = &before[UsageGroup::ALL.iter().position(|g| *g == UsageGroup::Price).expect("price")];
    assert_eq!(by_price.iter().map(|r| r.quantity).collect::<Vec<_>>(), vec![qty("2"), qty("10")]);
    let st = statement(s.as_ref(), "old", days.0, days.1).await.expect("statement");
    let kinds: Vec<&str> = st.credits_in.iter().chain(&st.credits_out).map(|l| l.kind.as_str()).collect();
    for k in ["grant", "voucher", "refund", "adjustment", "usage_and_debits"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert!(!kinds.contains(&"purchase"), "a purchase still processing moves nothing: {kinds:?}");
    if !ctx.raw_sql(downgrade).await {
        return;
    }
    drop(s);
    ctx.reopen().await;
    let s = ctx.store.clone();
    assert_eq!(every_grouping(s.as_ref(), "old", &tz, days.0, days.1).await, before);
    assert_eq!(statement(s.as_ref(), "old", days.0, days.1).await.expect("statement"), st);
    // And the writer adds to the rebuilt rows.
    ok(s.as_ref(), "old", priced_by_ana("tokens_in", "5", &[("model", "large")])).await;
    let after = every_grouping(s.as_ref(), "old", &tz, days.0, days.1).await;
    let by_price = &after[UsageGroup::ALL.iter().position(|g| *g == UsageGroup::Price).expect("price")];
    assert_eq!(by_price.iter().map(|r| r.quantity).collect::<Vec<_>>(), vec![qty("2"), qty("15")]);
}
