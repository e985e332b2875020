//! Reversal debt is settled by every credit arrival, by the one rule of the
//! core (`creditd_core::effects::settle`): transfers in and a funded
//! child's draws like grants, and an exported history imported elsewhere
//! owes and holds exactly what the live organisation did.

use super::*;
use creditd_core::{AccessOp, Balance, CreditKind, Event, Funding, SettingsPatch, TransferOp};
use creditd_store::Store;

fn reverse(purchase_id: &str) -> Op {
    Op::ReversePurchase {
        purchase_id: purchase_id.to_string(),
        reason: "Chargeback".to_string(),
        ctx: EventCtx::default(),
    }
}

fn transfer(to: &str, amount: &str) -> Op {
    Op::Transfer(TransferOp::Out { to: to.into(), amount: m(amount), ctx: EventCtx::default() })
}

/// What two organisations must agree on: available, held, each pool,
/// overdraft used, reversal debt (not the org id, seq or period).
fn money(b: &Balance) -> (Micros, Micros, creditd_core::PoolBalances, Micros, Micros) {
    (b.available, b.held, b.pools.clone(), b.overdraft_used, b.reversal_debt)
}

async fn money_of(s: &dyn Store, org: &str) -> (Micros, Micros, creditd_core::PoolBalances, Micros, Micros) {
    money(&s.balance(org).await.expect("balance"))
}

/// A purchase of 50, 40 of it used, reversed: available −40, debt 40.
async fn in_debt(s: &dyn Store, org: &str) {
    let p = record_id(&ok(s, org, purchase("50", Status::Succeeded)).await);
    ok(s, org, usage("40")).await;
    let r = ok(s, org, reverse(&p)).await;
    assert_eq!((r.balance.available, r.balance.reversal_debt), (m("-40"), m("40")), "{org}");
}

/// `org`'s whole history as the full-layout CSV export writes it, read
/// back as `creditd import` reads it, for the organisation `into`.
async fn through_csv(t: &Ctx, org: &str, into: &str) -> Vec<Event> {
    use creditd_export::{ImportOptions, parse_full_csv_with};
    let bytes = super::exports::full_csv(t.store.clone(), org, jiff::tz::TimeZone::UTC).await;
    let strict = ImportOptions { require_contiguous: true };
    parse_full_csv_with(&bytes[..], into, &strict).unwrap_or_else(|e| panic!("{e}"))
}

/// A transfer into an organisation in reversal debt settles the debt
/// first, exactly as a grant of the same amount does to an identical
/// organisation (`twin`); so does a later grant; a funded child's draw
/// settles its debt too (the draw covers it, so the usage goes through);
/// an export → import of the receiver owes and holds what it does, also
/// after a restart and after the next credits.
pub async fn transfer_in_settles_reversal_debt(t: &mut Ctx) {
    let store = t.store.clone();
    let s = store.as_ref();
    for o in ["dp", "dc", "twin", "fc", "fo"] {
        new_org(s, o).await;
    }
    for o in ["dc", "twin", "fc"] {
        s.set_parent(o, Some("dp")).await.expect("under dp");
    }
    ok(s, "dp", grant("200")).await;
    for o in ["dc", "twin", "fc", "fo"] {
        in_debt(s, o).await;
    }

    // 25 arrive: by transfer in dc, by grant in twin. Debt 15, no block.
    let o = ok(s, "dp", transfer("dc", "25")).await;
    assert_eq!(o.balance.available, m("175"), "the sender gave 25");
    ok(s, "twin", grant("25")).await;
    let dc = s.balance("dc").await.expect("dc");
    assert_eq!((dc.available, dc.reversal_debt), (m("-15"), m("15")));
    assert_eq!(dc.pools, creditd_core::PoolBalances::default(), "no block: the debt took it all");
    assert_eq!(money(&dc), money_of(s, "twin").await);
    let into = history(s, "dc").await.into_iter().next().expect("transfer_in");
    assert_eq!((into.kind, into.amount, into.balance_after), (EventKind::TransferIn, m("25"), m("-15")));
    assert_eq!(code(&run(s, "dc", usage("1")).await), "insufficient_credits", "still in debt");

    // A later grant of 20: 15 settle the rest, 5 reach the promotional pool.
    for o in ["dc", "twin"] {
        ok(s, o, grant("20")).await;
    }
    let dc = s.balance("dc").await.expect("dc");
    assert_eq!((dc.available, dc.reversal_debt, dc.pools.promotional), (m("5"), Micros::ZERO, m("5")));
    assert_eq!(money(&dc), money_of(s, "twin").await);

    // Both orgs exported and imported elsewhere (here as dp2 and dc2, the
    // transfer's halves naming each other): the receiver's copy agrees.
    let rename = |mut events: Vec<Event>, from: &str, to: &str| {
        for e in &mut events {
            if e.code.as_deref() == Some(from) {
                e.code = Some(to.to_string());
            }
        }
        events
    };
    let dp_copy = rename(through_csv(t, "dp", "dp2").await, "dc", "dc2");
    let dc_copy = rename(through_csv(t, "dc", "dc2").await, "dp", "dp2");
    s.import("dp2", OrgSettings::new("Dp2", "UTC"), dp_copy).await.expect("import dp2");
    let report = s.import("dc2", OrgSettings::new("Dc2", "UTC"), dc_copy).await.expect("import dc2");
    assert!(report.verify.ok, "{:?}", report.verify.problems);
    assert_eq!(money_of(s, "dc2").await, money_of(s, "dc").await);
    assert_eq!(money_of(s, "dp2").await, money_of(s, "dp").await);

    // A transfer of more than the debt: the rest becomes blocks.
    new_org(s, "t3").await;
    s.set_parent("t3", Some("dp")).await.expect("under dp");
    in_debt(s, "t3").await;
    ok(s, "dp", transfer("t3", "50")).await;
    let t3 = s.balance("t3").await.expect("t3");
    assert_eq!((t3.available, t3.reversal_debt, t3.pools.promotional), (m("10"), Micros::ZERO, m("10")));

    // A funded child in debt: its draw settles the debt first, and is
    // that much larger so the usage goes through; the same as an org of
    // its own receiving the same credits (`fo`).
    let patch = SettingsPatch { funding: Some(Funding::Parent), ..SettingsPatch::default() };
    ok(s, "fc", Op::Access(AccessOp::SetSettings(patch))).await;
    let p_before = s.balance("dp").await.expect("dp").available;
    let u = ok(s, "fc", usage("10")).await;
    assert_eq!(kinds(&u.events), vec![EventKind::TransferIn, EventKind::Usage]);
    assert_eq!((u.events[0].amount, u.events[0].balance_after), (m("50"), m("10")), "the debt and the usage");
    assert_eq!((u.balance.available, u.balance.reversal_debt), (Micros::ZERO, Micros::ZERO));
    assert_eq!(s.balance("dp").await.expect("dp").available, p_before.checked_sub(m("50")).expect("sub"));
    assert_eq!(s.org_state("fc").await.expect("fc").funding_drawn(t.clock.now()), m("50"));
    ok(s, "fo", grant("50")).await;
    ok(s, "fo", usage("10")).await;
    assert_eq!(money_of(s, "fc").await, money_of(s, "fo").await);

    // After a restart, and after the next credits, live and copy agree.
    drop(store);
    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(money_of(s, "dc2").await, money_of(s, "dc").await);
    for o in ["dc", "dc2"] {
        ok(s, o, credit_in(Pool::Plan, "30", None)).await;
        ok(s, o, usage("12")).await;
    }
    assert_eq!(money_of(s, "dc2").await, money_of(s, "dc").await);
    for o in ["dp", "dp2", "dc", "dc2", "fc", "t3"] {
        let v = s.verify(o).await.expect("verify");
        assert!(v.ok, "{o}: {:?}", v.problems);
    }
}

/// The history of the outside tryout: a grant, a purchase, usage past the
/// grant, the purchase reversed (debt 15), a grant that settles the debt,
/// usage, a subscription credit. Exported as the full CSV and imported,
/// then the store restarted: the copy has the live org's balance, pools
/// (plan 500, promotional 0, not plan 485 and promotional 15) and debt,
/// verify says ok, and both go on alike. A file whose pool columns
/// disagree with its events is refused, nothing written: the last row's
/// (the import's) and a row in the middle (verify's).
pub async fn import_after_settled_debt_keeps_pools(t: &mut Ctx) {
    let store = t.store.clone();
    let s = store.as_ref();
    new_org(s, "ry").await;
    ok(s, "ry", grant("65")).await;
    let p = record_id(&ok(s, "ry", purchase("50", Status::Succeeded)).await);
    ok(s, "ry", usage("80")).await;
    let r = ok(s, "ry", reverse(&p)).await;
    assert_eq!(r.balance.reversal_debt, m("15"));
    ok(s, "ry", grant("20")).await;
    ok(s, "ry", usage("5")).await;
    ok(s, "ry", Op::Credit(credit(CreditKind::SubscriptionCredit, "500"))).await;
    let live = s.balance("ry").await.expect("ry");
    assert_eq!(
        (live.available, live.pools.plan, live.pools.promotional, live.reversal_debt),
        (m("500"), m("500"), Micros::ZERO, Micros::ZERO)
    );

    let file = through_csv(t, "ry", "ry2").await;
    let last = file.last().expect("events").clone();
    let pools = last.pools_after.expect("the full export carries the pools");
    assert_eq!((pools.plan, pools.promotional), (m("500"), Micros::ZERO));

    // The last row's pool columns disagree with its balance: refused.
    let mut lying = file.clone();
    let at = lying.len() - 1;
    lying[at].pools_after = Some(creditd_core::FreePools { plan: m("400"), ..pools });
    let r = s.import("ry2", OrgSettings::new("Ry2", "UTC"), lying).await;
    let msg = format!("{:?}", r.as_ref().expect_err("a file whose pools disagree is refused"));
    assert!(msg.contains("pool columns disagree"), "{msg}");
    // A row in the middle: the grant that left promotional 5 says 0.
    let mut lying = file.clone();
    let settled = lying.iter().position(|e| e.kind == EventKind::Grant && e.amount == m("20")).expect("grant 20");
    let mid = lying[settled].pools_after.expect("pools");
    assert_eq!(mid.promotional, m("5"));
    lying[settled].pools_after = Some(creditd_core::FreePools { promotional: Micros::ZERO, ..mid });
    let r = s.import("ry2", OrgSettings::new("Ry2", "UTC"), lying).await;
    let msg = format!("{:?}", r.as_ref().expect_err("a row whose pools disagree is refused"));
    assert!(msg.contains(&format!("event {} (grant)", file[settled].seq)), "{msg}");
    assert!(matches!(s.org("ry2").await, Err(StoreError::OrgNotFound(_))), "nothing written");

    let report = s.import("ry2", OrgSettings::new("Ry2", "UTC"), file).await.expect("import");
    assert!(report.verify.ok, "{:?}", report.verify.problems);
    assert_eq!(report.events, 7);
    assert_eq!(money(&report.balance), money(&live));
    drop(store);
    t.reopen().await;
    let s = t.store.as_ref();
    assert_eq!(money_of(s, "ry2").await, money(&live));
    let v = s.verify("ry2").await.expect("verify");
    assert!(v.ok, "{:?}", v.problems);
    // Both go on alike: usage past the plan credits reaches nothing else.
    for o in ["ry", "ry2"] {
        assert_eq!(code(&run(s, o, usage("500.000001")).await), "insufficient_credits");
        ok(s, o, usage("499")).await;
    }
    assert_eq!(money_of(s, "ry2").await, money_of(s, "ry").await);
    assert_eq!(s.balance("ry2").await.expect("ry2").pools.plan, m("1"));
}
