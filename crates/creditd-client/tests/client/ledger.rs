//! The ledger's operations against a live server: organisations, every
//! write, the balance, the error codes, idempotency.

use creditd_client::{
    Adjustment, Billing, Context, Credit, CreditKind, Debit, Error, ErrorCode, EventKind, NewHold, NewOrganization,
    NewTransfer, OrganizationPatch, Pool, Range, RecordStatus, Refund, Release, Reversal, Settlement, StatementQuery,
    Status, Usage,
};

use crate::common::{Server, c, org};

#[tokio::test]
async fn organisations_are_created_read_and_changed() {
    let server = Server::start();
    let client = server.client();
    assert_eq!(client.health().await.unwrap().status, "ok");
    assert_eq!(client.readiness().await.unwrap().status, "ready");

    let created = client
        .create_organization(&NewOrganization {
            id: Some("acme".into()),
            name: "Acme".into(),
            time_zone: Some("Europe/Madrid".into()),
            overdraft_limit: Some(c("2.5")),
            renewal_day: Some(15),
            ..NewOrganization::default()
        })
        .await
        .unwrap();
    assert_eq!(created.id, "acme");
    assert_eq!(created.name, "Acme");
    assert_eq!(created.time_zone, "Europe/Madrid");
    assert_eq!(created.overdraft_limit, c("2.5"));
    assert_eq!(created.renewal_day, 15);
    assert_eq!(created.consumption_order, vec![Pool::Plan, Pool::Voucher, Pool::Promotional, Pool::Prepaid]);

    let read = client.get_organization("acme").await.unwrap();
    assert_eq!(read, created);

    let changed = client
        .update_organization("acme", &OrganizationPatch { name: Some("Acme Inc".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(changed.name, "Acme Inc");
    assert_eq!(changed.overdraft_limit, c("2.5"));

    // A second create with the same id is refused with the core's code.
    let again = client
        .create_organization(&NewOrganization { id: Some("acme".into()), name: "x".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::AlreadyExists), "{again}");
    assert_eq!(again.status(), Some(409));
}

#[tokio::test]
async fn every_ledger_write_moves_the_balance_exactly() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "ledger").await;

    // Grant 100, with a context the events keep.
    let ctx =
        Context { source: Some("tests".into()), user_email: Some("ana@example.com".into()), ..Default::default() };
    let granted =
        client.grant_credits(&o, &Credit { ctx: ctx.clone(), ..Credit::grant(c("100")) }, None).await.unwrap();
    assert_eq!(granted.events.len(), 1);
    let g = &granted.events[0];
    assert_eq!((g.kind, g.amount, g.pool), (EventKind::Grant, c("100"), Some(Pool::Promotional)));
    assert_eq!(g.source.as_deref(), Some("tests"));
    assert_eq!(g.user_email.as_deref(), Some("ana@example.com"));
    assert_eq!(granted.balance.available, c("100"));

    // Hold 30, debit 20 of it: 10 go back.
    let held = client.create_hold(&o, &NewHold::new(c("30")), None).await.unwrap();
    let hold = held.hold.expect("a hold record");
    assert_eq!(hold.status, RecordStatus::Open);
    assert_eq!((held.balance.available, held.balance.held), (c("70"), c("30")));
    let debited =
        client.debit_hold(&o, &hold.id, &Debit { amount: Some(c("20")), ..Default::default() }, None).await.unwrap();
    assert_eq!(debited.hold.as_ref().unwrap().status, RecordStatus::Debited);
    assert_eq!((debited.balance.available, debited.balance.held), (c("80"), c("0")));
    let again = client.debit_hold(&o, &hold.id, &Debit::default(), None).await.unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::HoldAlreadySettled), "{again}");

    // A second hold, released whole.
    let h2 =
        client.create_hold(&o, &NewHold { timeout_seconds: Some(60), ..NewHold::new(c("5")) }, None).await.unwrap();
    let h2 = h2.hold.unwrap();
    let released = client.release_hold(&o, &h2.id, &Release::default(), None).await.unwrap();
    assert_eq!(released.hold.unwrap().status, RecordStatus::Released);
    assert_eq!(released.balance.available, c("80"));

    // Usage of 7.654321, a refund of part of it.
    let used = client.record_usage(&o, &Usage::new(c("7.654321")), None).await.unwrap();
    let usage = used.usage.unwrap();
    assert_eq!(used.balance.available, c("72.345679"));
    let refunded = client
        .refund(&o, &Refund { amount: Some(c("0.000001")), ..Refund::all_of(usage.id.clone()) }, None)
        .await
        .unwrap();
    assert_eq!(refunded.balance.available, c("72.34568"));
    let too_much =
        client.refund(&o, &Refund { amount: Some(c("8")), ..Refund::all_of(usage.id) }, None).await.unwrap_err();
    assert_eq!(too_much.code(), Some(ErrorCode::RefundExceedsConsumed), "{too_much}");

    // A downward adjustment, a billing record.
    let adjusted = client.adjust_credits(&o, &Adjustment::new(c("-0.34568"), "rounding"), None).await.unwrap();
    assert_eq!(adjusted.events[0].kind, EventKind::Adjustment);
    assert_eq!(adjusted.balance.available, c("72"));
    let billed = client.record_billing(&o, &Billing::default(), None).await.unwrap();
    assert_eq!(billed.events[0].kind, EventKind::Billing);
    assert_eq!(billed.balance.available, c("72"));

    // A purchase waits for its payment, then settles once.
    let bought = client
        .grant_credits(
            &o,
            &Credit { status: Some(Status::Processing), ..Credit::new(CreditKind::Purchase, c("50")) },
            None,
        )
        .await
        .unwrap();
    let purchase = bought.purchase.unwrap();
    assert_eq!(bought.balance.pools.prepaid, c("0"));
    let settled = client
        .settle_purchase(&o, &purchase.id, &Settlement { status: Status::Succeeded, ctx: Context::default() }, None)
        .await
        .unwrap();
    assert_eq!(settled.balance.pools.prepaid, c("50"));
    assert_eq!(settled.balance.available, c("122"));

    let balance = client.get_balance(&o).await.unwrap();
    assert_eq!(balance.org_id, o);
    assert_eq!(balance.available, c("122"));
    assert_eq!(balance.held, c("0"));
    assert_eq!(balance.pools.promotional, c("72"));
    assert_eq!(balance.seq, settled.balance.seq);
    assert!(balance.caps.is_empty());
}

#[tokio::test]
async fn a_key_replays_the_first_result_and_refuses_another_body() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "idem").await;
    client.grant_credits(&o, &Credit::grant(c("10")), None).await.unwrap();

    let first = client.create_hold(&o, &NewHold::new(c("4")), Some("order-42")).await.unwrap();
    let second = client.create_hold(&o, &NewHold::new(c("4")), Some("order-42")).await.unwrap();
    assert_eq!(first.hold.as_ref().unwrap().id, second.hold.as_ref().unwrap().id);
    assert_eq!(first.events, second.events);
    assert_eq!(client.get_balance(&o).await.unwrap().held, c("4"), "applied once");

    let other = client.create_hold(&o, &NewHold::new(c("5")), Some("order-42")).await.unwrap_err();
    assert_eq!(other.code(), Some(ErrorCode::IdempotencyConflict), "{other}");

    // Without a key each call is its own write (the client makes a key).
    client.record_usage(&o, &Usage::new(c("1")), None).await.unwrap();
    client.record_usage(&o, &Usage::new(c("1")), None).await.unwrap();
    assert_eq!(client.get_balance(&o).await.unwrap().available, c("4"));
    // The event of a write remembers the key the client sent.
    assert_eq!(first.events[0].idempotency_key.as_deref(), Some("order-42"));
}

#[tokio::test]
async fn refusals_carry_the_core_codes_and_change_nothing() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "refusals").await;
    client.grant_credits(&o, &Credit::grant(c("1")), None).await.unwrap();
    let before = client.get_balance(&o).await.unwrap();

    let e = client.record_usage(&o, &Usage::new(c("1.000001")), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InsufficientCredits), "{e}");
    assert_eq!(e.status(), Some(409));
    assert!(matches!(&e, Error::Api { operation: "recordUsage", .. }), "{e:?}");

    let e = client.debit_hold(&o, "hold_nope", &Debit::default(), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::HoldNotFound), "{e}");

    let e = client.adjust_credits(&o, &Adjustment::new(c("1"), ""), None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationError), "{e}");
    assert_eq!(e.status(), Some(422));

    let e = client.get_balance("no-such-org").await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound), "{e}");

    let stranger = creditd_client::Client::new(&server.url, "not-the-key-0123456789").unwrap();
    let e = stranger.get_balance(&o).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized), "{e}");

    // An empty path id is refused before anything is sent.
    let e = client.release_hold(&o, "", &Release::default(), None).await.unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    // Ids with characters a path treats specially stay one segment.
    let e = client.release_hold(&o, "a/b?c", &Release::default(), None).await.unwrap_err();
    assert!(e.code().is_some(), "{e}");

    assert_eq!(client.get_balance(&o).await.unwrap(), before);
}

#[tokio::test]
async fn a_purchase_is_reversed_once_and_a_child_receives_a_transfer() {
    let server = Server::start();
    let client = server.client();
    let parent = org(&client, "reseller").await;
    let child = org(&client, "customer").await;
    client.grant_credits(&parent, &Credit::grant(c("10")), None).await.unwrap();

    // A purchase of 50; 20 of it spent (after the 10 granted), then reversed
    // under the default policy: the spent part becomes debt.
    let bought = client.grant_credits(&parent, &Credit::new(CreditKind::Purchase, c("50")), None).await.unwrap();
    let purchase = bought.purchase.unwrap();
    client.record_usage(&parent, &Usage::new(c("30")), None).await.unwrap();
    let reversed =
        client.reverse_purchase(&parent, &purchase.id, &Reversal::because("chargeback 7781"), None).await.unwrap();
    assert_eq!(reversed.events[0].kind, EventKind::Reversal);
    assert_eq!(reversed.balance.available, c("-20"), "the spent 20 is owed");
    let again = client.reverse_purchase(&parent, &purchase.id, &Reversal::because("again"), None).await.unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::PurchaseAlreadyReversed), "{again}");

    // The next credits pay the debt first; then a transfer to a child.
    client.grant_credits(&parent, &Credit::grant(c("25")), None).await.unwrap();
    assert_eq!(client.get_balance(&parent).await.unwrap().available, c("5"));
    let unrelated = client
        .create_transfer(&parent, &NewTransfer { to: child.clone(), amount: c("2"), description: None }, None)
        .await
        .unwrap_err();
    assert_eq!(unrelated.code(), Some(ErrorCode::OrgsNotRelated), "{unrelated}");
    client
        .update_organization(&child, &OrganizationPatch { parent_id: Some(Some(parent.clone())), ..Default::default() })
        .await
        .unwrap();
    let moved = client
        .create_transfer(&parent, &NewTransfer { to: child.clone(), amount: c("2"), description: None }, None)
        .await
        .unwrap();
    assert_eq!((moved.from.as_str(), moved.to.as_str(), moved.amount), (parent.as_str(), child.as_str(), c("2")));
    assert_eq!(moved.sent.kind, EventKind::TransferOut);
    assert_eq!(moved.received.kind, EventKind::TransferIn);
    assert_eq!(moved.balance.available, c("3"));
    assert_eq!(client.get_balance(&child).await.unwrap().available, c("2"));
}

/// `extendHold` and `checkBeforeActing` through the typed methods: the hold
/// grows and the debit captures the new total; a check answers without
/// writing, and refuses as the operation would.
#[tokio::test]
async fn a_hold_extended_and_a_check_before_acting() {
    use creditd_client::{CheckRequest, HoldExtension};
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "extend").await;
    client.grant_credits(&o, &Credit::grant(c("50")), None).await.unwrap();
    let hold = client.create_hold(&o, &NewHold::new(c("10")), None).await.unwrap().hold.unwrap();
    let more = HoldExtension { amount: Some(c("5")), timeout_seconds: Some(7200), ..Default::default() };
    let grown = client.extend_hold(&o, &hold.id, &more, Some("extend-1")).await.unwrap();
    assert_eq!((grown.events[0].kind, grown.events[0].amount), (EventKind::Hold, c("-5")));
    assert_eq!((grown.balance.available, grown.balance.held), (c("35"), c("15")));
    let refused = client
        .extend_hold(&o, &hold.id, &HoldExtension { amount: Some(c("36")), ..Default::default() }, None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::InsufficientCredits), "{refused}");
    let seq = client.get_balance(&o).await.unwrap().seq;
    let yes = client.check(&o, &CheckRequest { amount: Some(c("35")), ..Default::default() }).await.unwrap();
    assert_eq!((yes.allowed, yes.cost, yes.available), (true, Some(c("35")), c("35")));
    let no = client.check(&o, &CheckRequest { amount: Some(c("35.000001")), ..Default::default() }).await.unwrap();
    assert_eq!((no.allowed, no.reason.as_deref()), (false, Some("insufficient_credits")));
    assert_eq!(client.get_balance(&o).await.unwrap().seq, seq, "a check writes nothing");
    let debited = client.debit_hold(&o, &hold.id, &Debit::default(), None).await.unwrap();
    assert_eq!(debited.events[0].amount, c("-15"));
}

#[tokio::test]
async fn balances_as_of_and_statements_are_read_back() {
    let server = Server::start();
    let client = server.client();
    let o = org(&client, "archive").await;
    let before = jiff::Timestamp::now().to_string();
    client.grant_credits(&o, &Credit::grant(c("10")), None).await.unwrap();
    let hold = client.create_hold(&o, &NewHold::new(c("4")), None).await.unwrap();
    client.record_usage(&o, &Usage::new(c("1")), None).await.unwrap();
    let now = jiff::Timestamp::now().to_string();

    let b = client.get_balance_as_of(&o, &now).await.unwrap();
    assert_eq!((b.available, b.held, b.open_hold_count), (c("5"), c("4"), Some(1)));
    assert_eq!(Some(&b.open_holds[0].id), hold.hold.as_ref().map(|r| &r.id));
    let b = client.get_balance_as_of(&o, &before).await.unwrap();
    assert_eq!((b.seq, b.available), (0, c("0")));
    let e = client.get_balance_as_of(&o, "2999-01-01T00:00:00Z").await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationError), "{e}");

    let today = StatementQuery { range: Some(Range::Today), ..StatementQuery::default() };
    let s = client.get_statement(&o, &today).await.unwrap();
    assert_eq!((s.total_in, s.total_out, s.closing.balance, s.closing.held), (c("10"), c("1"), c("9"), c("4")));
    assert_eq!(s.difference(), Some(c("0")));
    let csv = String::from_utf8(client.export_statement(&o, &today, "csv").await.unwrap()).unwrap();
    assert!(csv.contains("closing,balance,Closing balance,9,"), "{csv}");
    let long = StatementQuery { date_from: Some("2024-01-01".into()), date_to: Some("2025-01-02".into()), range: None };
    let e = client.get_statement(&o, &long).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationError), "{e}");
}
