//! Usage rollups, export rows, formatted exports, CSV round trips and imports.

use super::*;

/// Usage analytics (the rollups written in each batch's transaction) agree
/// with a fold over the stored events: every grouping, the whole org and one
/// user, days in the org's zone around midnight, refunds and partial debits,
/// batches of several commands, and after a restart.
pub async fn usage_rollups_agree_with_events(t: &mut Ctx) {
    let s = t.store.clone();
    s.create_org("u", OrgSettings::new("U", "Pacific/Auckland")).await.expect("create");
    ok(s.as_ref(), "u", grant("10000")).await;
    let tz = jiff::tz::TimeZone::get("Pacific/Auckland").expect("zone");
    let users = ["ana@example.com", "ben@example.com"];
    let services = ["AI Inference", "Scraping"];
    for i in 0..60i64 {
        // Every 31 hours: every hour of the day, local midnights crossed
        // both ways, and 77 days (April whole: its month rows).
        t.clock.advance(secs(111_600));
        let (u, svc, p) = (users[(i % 2) as usize], services[(i % 3 % 2) as usize], format!("p{}", i % 4));
        let mut batch = vec![usage_by(&format!("{}.25", i + 1), svc, &p, u)];
        if i % 5 == 0 {
            batch.push(usage("0.000001"));
        }
        let outcomes: Vec<Outcome> = s
            .execute(batch.into_iter().map(|op| Command::new("u", op, None)).collect())
            .await
            .into_iter()
            .map(|r| r.expect("usage"))
            .collect();
        if i % 4 == 1 {
            ok(s.as_ref(), "u", refund(&record_id(&outcomes[0]), Some("0.5"))).await;
        }
        ok(s.as_ref(), "u", usage_by("3", svc, &p, u)).await;
        let held = record_id(&ok(s.as_ref(), "u", hold("7.5")).await);
        match i % 3 {
            0 => ok(s.as_ref(), "u", debit(&held, None)).await,
            1 => ok(s.as_ref(), "u", debit(&held, Some("2"))).await,
            _ => ok(s.as_ref(), "u", release(&held)).await,
        };
    }
    check_usage(s.as_ref(), &tz, users[0]).await;
    drop(s);
    t.reopen().await;
    check_usage(t.store.as_ref(), &tz, users[0]).await;
}

pub(crate) async fn check_usage(s: &dyn creditd_store::Store, tz: &jiff::tz::TimeZone, user: &str) {
    use creditd_store::rollup::{UsageGroup, UsageQuery, usage_from_events};
    let all = history(s, "u").await;
    let days: Vec<jiff::civil::Date> = all.iter().map(|e| e.created_at.to_zoned(tz.clone()).date()).collect();
    let (first, last) = (*days.iter().min().expect("days"), *days.iter().max().expect("days"));
    let mid = first.checked_add(jiff::ToSpan::days(2)).expect("date");
    let april = (jiff::civil::date(2025, 4, 1), jiff::civil::date(2025, 4, 30));
    let spring = (jiff::civil::date(2025, 3, 31), jiff::civil::date(2025, 5, 2));
    let mut answered = 0;
    for (a, b) in [(first, last), (first, mid), (mid, last), (mid, mid), april, spring] {
        for who in [None, Some(user.to_string())] {
            for group_by in UsageGroup::ALL {
                let q = UsageQuery { first_day: a, last_day: b, group_by, user_email: who.clone() };
                let got = s.usage("u", &q).await.expect("usage");
                let want = usage_from_events(all.iter(), tz, &q).expect("fold");
                assert_eq!(got, want, "{q:?}");
                answered += got.len();
            }
        }
    }
    assert!(answered > 50, "{answered} rows compared");
    let q = UsageQuery { first_day: first, last_day: last, group_by: UsageGroup::Day, user_email: None };
    assert_eq!(s.usage("nobody", &q).await.expect("usage"), Vec::new(), "an unknown org has no usage");
}

/// Every matching row through `Store::export_rows` (on a blocking thread,
/// as callers run it), as owned events.
pub(crate) async fn rows_of(
    s: &std::sync::Arc<dyn creditd_store::Store>,
    org: &str,
    filter: &EventFilter,
    order: creditd_store::Order,
    stop_after: Option<usize>,
) -> Result<Vec<creditd_core::Event>, StoreError> {
    let (s, org, filter) = (s.clone(), org.to_string(), filter.clone());
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let n = s.export_rows(&org, &filter, order, &mut |e| {
            out.push(e.to_event(&org).expect("stored metadata is JSON"));
            if stop_after.is_some_and(|k| out.len() >= k) {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })?;
        assert_eq!(n as usize, out.len(), "export_rows counts what it handed over");
        Ok(out)
    })
    .await
    .expect("export_rows thread")
}

/// The export path (`export_rows`, rows handed over one by one) holds
/// exactly the history: every field, metadata included, for each filter,
/// in both orders; it stops when the sink says so, and an unknown org is an
/// error before any row.
pub async fn export_rows_equal_history(t: &mut Ctx) {
    varied_history(t, "o").await;
    let s = t.store.clone();
    let meta =
        serde_json::json!({"job": {"id": "j-1", "gpus": [1, 2.5, -3e-7]}, "note": "café \"q\" =1+1", "ok": true});
    let with_meta = Op::Usage {
        amount: m("0.25"),
        ctx: EventCtx {
            service: Some("AI Inference".into()),
            description: Some("=HYPERLINK(\"x\")".into()),
            metadata: Some(meta.clone()),
            ..EventCtx::default()
        },
    };
    ok(s.as_ref(), "o", with_meta).await;
    let all = history(s.as_ref(), "o").await;
    assert_eq!(all[0].metadata, Some(meta));
    for filter in sample_filters() {
        let expected: Vec<_> = all.iter().filter(|e| filter.matches(e)).cloned().collect();
        let newest = rows_of(&s, "o", &filter, creditd_store::Order::NewestFirst, None).await.expect("rows");
        assert_eq!(newest, expected, "newest first, {filter:?}");
        let mut oldest = rows_of(&s, "o", &filter, creditd_store::Order::OldestFirst, None).await.expect("rows");
        oldest.reverse();
        assert_eq!(oldest, expected, "oldest first, {filter:?}");
    }
    let three = rows_of(&s, "o", &EventFilter::default(), creditd_store::Order::NewestFirst, Some(3)).await;
    assert_eq!(three.expect("rows"), all[..3].to_vec(), "stops when the sink breaks");
    let missing = rows_of(&s, "nope", &EventFilter::default(), creditd_store::Order::NewestFirst, None).await;
    assert!(matches!(missing, Err(StoreError::OrgNotFound(_))), "{missing:?}");
}

/// `Store::import`: a full history into a new org comes out field for
/// field, with the same balances, hash chain, records (open holds,
/// refundable usage, processing purchases) and usage rollups as the org it
/// came from; an org with events is refused; a bad history writes nothing;
/// an empty existing org keeps its settings, and the writer's cached view
/// of it is replaced.
pub async fn import_whole_or_nothing(t: &mut Ctx) {
    use creditd_store::rollup::{UsageGroup, UsageQuery};
    let s = t.store.clone();
    s.create_org("src", OrgSettings::new("Src", "Europe/Madrid")).await.expect("create");
    ok(s.as_ref(), "src", grant("500")).await;
    ok(s.as_ref(), "src", credit_in(Pool::Voucher, "20", None)).await;
    ok(s.as_ref(), "src", purchase("40", Status::Succeeded)).await;
    let mut usages = Vec::new();
    for i in 0..30 {
        t.clock.advance(secs(5 * 3600));
        let (svc, email) =
            if i % 2 == 0 { ("AI Inference", "ana@example.com") } else { ("Scraping", "ben@example.com") };
        usages.push(record_id(&ok(s.as_ref(), "src", usage_by("2.5", svc, &format!("p{}", i % 3), email)).await));
        let h = record_id(&ok(s.as_ref(), "src", hold("3")).await);
        match i % 3 {
            0 => ok(s.as_ref(), "src", debit(&h, None)).await,
            1 => ok(s.as_ref(), "src", debit(&h, Some("1.25"))).await,
            _ => ok(s.as_ref(), "src", release(&h)).await,
        };
    }
    ok(s.as_ref(), "src", refund(&usages[4], Some("1"))).await;
    let open = record_id(&ok(s.as_ref(), "src", hold("7")).await);
    let pending = record_id(&ok(s.as_ref(), "src", purchase("15", Status::Processing)).await);
    let mut events = history(s.as_ref(), "src").await;
    events.reverse();
    let moved = |org: &str| {
        let mut v = events.clone();
        for e in &mut v {
            e.org_id = org.to_string();
        }
        v
    };

    let report = s.import("dst", OrgSettings::new("Dst", "Europe/Madrid"), moved("dst")).await.expect("import");
    assert_eq!((report.events, report.open_holds, report.pending_purchases), (events.len() as u64, 1, 1));
    let (a, b) = (s.balance("src").await.expect("src"), s.balance("dst").await.expect("dst"));
    assert_eq!((b.available, b.held, b.seq), (a.available, a.held, a.seq));
    let v = s.verify("dst").await.expect("verify");
    assert!(v.ok && v.chain_checked, "{v:?}");
    let mut copied = history(s.as_ref(), "dst").await;
    copied.reverse();
    assert_eq!(copied, moved("dst"), "the events verbatim");
    let days = (jiff::civil::date(2025, 3, 1), jiff::civil::date(2025, 3, 31));
    let mut compared = 0;
    for group_by in UsageGroup::ALL {
        for who in [None, Some("ana@example.com".to_string())] {
            let q = UsageQuery { first_day: days.0, last_day: days.1, group_by, user_email: who };
            let (want, got) = (s.usage("src", &q).await.expect("usage"), s.usage("dst", &q).await.expect("usage"));
            assert_eq!(got, want, "rollups {q:?}");
            compared += want.len();
        }
    }
    assert!(compared > 20, "{compared} rollup rows compared");
    // It carries on where the file ends.
    ok(s.as_ref(), "dst", debit(&open, Some("5"))).await;
    ok(
        s.as_ref(),
        "dst",
        Op::SettlePurchase { purchase_id: pending, status: Status::Succeeded, ctx: EventCtx::default() },
    )
    .await;
    ok(s.as_ref(), "dst", refund(&usages[7], None)).await;
    assert_eq!(code(&run(s.as_ref(), "dst", refund(&usages[7], Some("0.000001"))).await), "refund_exceeds_consumed");
    assert_eq!(s.balance("dst").await.expect("dst").held, Micros::ZERO);

    // An org with a history is refused, and keeps it.
    let before = history(s.as_ref(), "dst").await;
    let again = s.import("dst", OrgSettings::new("Dst", "UTC"), moved("dst")).await;
    assert!(matches!(again, Err(StoreError::OrgExists(_))), "{again:?}");
    assert_eq!(history(s.as_ref(), "dst").await, before);

    // A bad history writes nothing: not the org, not one event.
    let mut gap = moved("bad");
    gap.remove(10);
    let refused = s.import("bad", OrgSettings::new("Bad", "UTC"), gap).await;
    let Err(StoreError::Ledger(e)) = &refused else { panic!("{refused:?}") };
    assert!(e.to_string().contains("nothing written") && e.to_string().contains("without gaps"), "{e}");
    assert!(matches!(s.org("bad").await, Err(StoreError::OrgNotFound(_))));
    let mut lying = moved("bad");
    let last = lying.len() - 1;
    lying[last].balance_after = lying[last].balance_after.checked_add(m("1")).expect("amount");
    assert!(matches!(s.import("bad", OrgSettings::new("Bad", "UTC"), lying).await, Err(StoreError::Ledger(_))));
    assert!(matches!(s.org("bad").await, Err(StoreError::OrgNotFound(_))));

    // An existing org without events: its own settings stay, and the
    // writer, which has it cached from the create, sees the import.
    s.create_org("empty", OrgSettings::new("Empty", "Pacific/Auckland")).await.expect("create");
    s.import("empty", OrgSettings::new("Ignored", "UTC"), moved("empty")).await.expect("import into empty");
    let info = s.org("empty").await.expect("org");
    assert_eq!((info.settings.name.as_str(), info.settings.time_zone.as_str()), ("Empty", "Pacific/Auckland"));
    let after = ok(s.as_ref(), "empty", usage("1")).await;
    assert_eq!(after.events[0].seq, events.len() as u64 + 1);
    assert_eq!(after.events[0].balance_after, a.available.checked_sub(m("1")).expect("amount"));
    drop(s);
    t.reopen().await;
    let v = t.store.verify("empty").await.expect("verify");
    assert!(v.ok && v.chain_checked, "{v:?}");
}

/// Writes a line per row: the report layout's fields, and with
/// `Fields::All` the others too. Enough to see every row, its order and its
/// fields came through `Store::export_formatted`.
pub(crate) struct SeqLines(Vec<u8>, creditd_store::Fields);

pub(crate) fn seq_line(e: &creditd_core::EventRef<'_>, fields: creditd_store::Fields) -> String {
    let o = |v: Option<&str>| v.unwrap_or("-").to_string();
    let mut line = format!(
        "{} {} {} {} {} {} {} {} {} {} {}",
        e.seq,
        e.created_at,
        e.kind.as_str(),
        e.status.as_str(),
        e.amount,
        o(e.project_id),
        o(e.project_name),
        o(e.user_name),
        o(e.user_email),
        o(e.description),
        o(e.hold_id)
    );
    if fields == creditd_store::Fields::All {
        line += &format!(
            " {} {} {} {} {} {} {}",
            o(e.service),
            o(e.activity),
            o(e.source),
            o(e.code),
            e.pool.map_or("-", |p| p.as_str()),
            e.balance_after,
            e.held_after
        );
    }
    line.push('\n');
    line
}

impl creditd_store::RowFormatter for SeqLines {
    fn push(&mut self, e: &creditd_core::EventRef<'_>) -> Result<(), StoreError> {
        self.0.extend_from_slice(seq_line(e, self.1).as_bytes());
        Ok(())
    }

    fn take(&mut self) -> Result<Vec<u8>, StoreError> {
        Ok(std::mem::take(&mut self.0))
    }

    fn fields(&self) -> creditd_store::Fields {
        self.1
    }
}

/// What `export_formatted` gives with [`SeqLines`], and how many chunks;
/// `stop_after` chunks, then `Break`.
pub(crate) async fn formatted_of(
    s: &std::sync::Arc<dyn creditd_store::Store>,
    org: &str,
    filter: &EventFilter,
    order: creditd_store::Order,
    fields: creditd_store::Fields,
    stop_after: Option<usize>,
) -> Result<(String, usize), StoreError> {
    let (s, org, filter) = (s.clone(), org.to_string(), filter.clone());
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut chunks = 0;
        let mut counted = 0u64;
        let make = || -> Box<dyn creditd_store::RowFormatter> { Box::new(SeqLines(Vec::new(), fields)) };
        let n = s.export_formatted(&org, &filter, order, &make, &mut |c| {
            let lines = c.bytes.iter().filter(|b| **b == b'\n').count() as u64;
            assert_eq!(lines, c.rows, "a chunk counts the rows it holds");
            assert!(c.rows <= creditd_store::FORMAT_CHUNK_ROWS, "chunk of {} rows", c.rows);
            counted += c.rows;
            out.extend_from_slice(&c.bytes);
            chunks += 1;
            if stop_after.is_some_and(|k| chunks >= k) {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        })?;
        if stop_after.is_none() {
            assert_eq!(n, counted, "export_formatted counts what it handed over");
        }
        Ok((String::from_utf8(out).expect("utf-8"), chunks))
    })
    .await
    .expect("export_formatted thread")
}

/// The formatted export path (`export_formatted`, chunks possibly made on
/// several threads) holds exactly the rows `export_rows` hands over, in the
/// same order, for every filter and both orders, over a history of several
/// chunks; it stops when told, and an unknown org is an error before any
/// chunk.
pub async fn export_formatted_equals_rows(t: &mut Ctx) {
    varied_history(t, "o").await;
    let s = t.store.clone();
    t.clock.advance(secs(86_400));
    // Past two chunks, so the chunks of more than one worker interleave.
    let extra = 2 * creditd_store::FORMAT_CHUNK_ROWS as usize + 300;
    let mut i = 0;
    while i < extra {
        let n = 1000.min(extra - i);
        let cmds = (i..i + n)
            .map(|k| {
                let (svc, p, u) = if k % 3 == 0 {
                    ("Scraping", "p2", "ben@example.com")
                } else {
                    ("AI Inference", "p1", "ana@example.com")
                };
                Command::new("o", usage_by("0.000001", svc, p, u), None)
            })
            .collect();
        for r in s.execute(cmds).await {
            r.expect("usage");
        }
        i += n;
    }
    let mut filters = sample_filters();
    filters.push(EventFilter {
        kinds: vec![EventKind::Usage],
        services: vec!["Scraping".into()],
        ..EventFilter::default()
    });
    for filter in filters {
        for order in [creditd_store::Order::NewestFirst, creditd_store::Order::OldestFirst] {
            let rows = rows_of(&s, "o", &filter, order, None).await.expect("rows");
            for fields in [creditd_store::Fields::All, creditd_store::Fields::Report] {
                let expected: String = rows.iter().map(|e| seq_line(&e.view(), fields)).collect();
                let (got, _) = formatted_of(&s, "o", &filter, order, fields, None).await.expect("formatted");
                assert_eq!(got.lines().count(), rows.len(), "{filter:?} {order:?} {fields:?}");
                assert!(got == expected, "{filter:?} {order:?} {fields:?}: formatted rows differ from export_rows");
            }
        }
    }
    let (all, chunks) =
        formatted_of(&s, "o", &EventFilter::default(), creditd_store::Order::NewestFirst, Default::default(), None)
            .await
            .expect("all");
    assert!(chunks >= 3, "{chunks} chunks for {} rows", all.lines().count());
    let (first, one) =
        formatted_of(&s, "o", &EventFilter::default(), creditd_store::Order::NewestFirst, Default::default(), Some(1))
            .await
            .expect("one");
    assert_eq!(one, 1, "stops when emit breaks");
    assert!(all.starts_with(&first) && first.len() < all.len());
    let missing =
        formatted_of(&s, "nope", &EventFilter::default(), creditd_store::Order::NewestFirst, Default::default(), None)
            .await;
    assert!(matches!(missing, Err(StoreError::OrgNotFound(_))), "{missing:?}");
}

/// Export full → import keeps every field of every event: an org written
/// with empty texts beside absent ones, texts a spreadsheet would run as
/// formulas, quotes and line breaks, metadata of every JSON shape, purchases
/// still processing and failed, at a clock reading nanoseconds, is written
/// as the full-layout CSV (`Store::export_rows`, as the baseline export
/// does), read back (`parse_full_csv_with`, gaps refused, as `creditd
/// import` does) and imported into another org, whose history is then
/// compared event for event, field for field, with the first one's, and
/// whose own full export is byte for byte the first one's.
pub async fn full_csv_round_trips_every_field(t: &mut Ctx) {
    use creditd_core::{CreditKind, CreditOp, HoldOp};
    use creditd_export::{ImportOptions, parse_full_csv_with};
    let s = t.store.clone();
    s.create_org("src", OrgSettings::new("Src", "Europe/Madrid")).await.expect("create");
    t.clock.set("2025-03-10T12:00:00.123456789Z".parse().expect("time"));
    let every = |text: &str| EventCtx {
        source: Some(text.to_string()),
        service: Some(text.to_string()),
        activity: Some(text.to_string()),
        project_id: Some(text.to_string()),
        project_name: Some(text.to_string()),
        user_name: Some(text.to_string()),
        user_email: None,
        description: Some(text.to_string()),
        metadata: None,
    };
    let texts = ["", "'", "''x", "=1+1", "-3", "@x", "\tx", "a,\"b\"\r\nc", "café ✓", " padded "];
    let metas = [
        serde_json::json!(null),
        serde_json::json!(""),
        serde_json::json!({}),
        serde_json::json!([]),
        serde_json::json!({"z": 1, "a": [0.1, -3e-7, 1e300, 18446744073709551615u64, -9007199254740993i64], "s": "=x"}),
    ];
    let credit = |kind: CreditKind, amount: &str, status: Option<Status>, ctx: EventCtx| {
        Op::Credit(CreditOp {
            kind,
            amount: m(amount),
            pool: None,
            expires_at: None,
            code: (kind == CreditKind::Voucher).then(|| "V-1".to_string()),
            status,
            ctx,
        })
    };
    ok(s.as_ref(), "src", credit(CreditKind::Grant, "1000", None, every(""))).await;
    for (i, text) in texts.iter().enumerate() {
        t.clock.advance(SignedDuration::from_nanos(1_000_000_007 * (i as i64 + 1)));
        let mut ctx = every(text);
        ctx.metadata = metas.get(i).cloned();
        ctx.user_email = Some(format!("{}@example.com", i));
        let op = match i % 4 {
            0 => Op::Usage { amount: m("1.000001"), ctx },
            1 => Op::Hold(HoldOp { amount: m("2.5"), timeout_seconds: None, ctx }),
            2 => credit(CreditKind::Voucher, "3", None, ctx),
            _ => Op::Adjustment { amount: m("-0.5"), reason: text.to_string(), pool: None, expires_at: None, ctx },
        };
        let out = ok(s.as_ref(), "src", op).await;
        if let Some(r) = out.record.filter(|r| r.id.starts_with("hold")) {
            ok(s.as_ref(), "src", debit(&r.id, Some("1"))).await;
        }
    }
    let failed = record_id(
        &ok(s.as_ref(), "src", credit(CreditKind::Purchase, "7000", Some(Status::Processing), every(""))).await,
    );
    ok(s.as_ref(), "src", Op::SettlePurchase { purchase_id: failed, status: Status::Failed, ctx: every("'") }).await;
    ok(s.as_ref(), "src", credit(CreditKind::Purchase, "5", Some(Status::Processing), EventCtx::default())).await;
    ok(s.as_ref(), "src", usage_by("0.25", "", "", "x@example.com")).await;
    let mut events = history(s.as_ref(), "src").await;
    events.reverse();
    assert!(events.iter().any(|e| e.description.as_deref() == Some("")), "an empty description is stored");
    assert!(events.iter().all(|e| e.created_at.subsec_nanosecond() % 1000 == 0), "whole microseconds");

    let tz = jiff::tz::TimeZone::get("Europe/Madrid").expect("zone");
    let full = |org: &'static str| full_csv(s.clone(), org, tz.clone());
    let bytes = full("src").await;
    let strict = ImportOptions { require_contiguous: true };
    let read = parse_full_csv_with(&bytes[..], "dst", &strict).unwrap_or_else(|e| panic!("{e}"));
    let moved: Vec<_> = events
        .iter()
        .cloned()
        .map(|mut e| {
            e.org_id = "dst".into();
            e
        })
        .collect();
    assert_eq!(read.len(), moved.len());
    for (r, e) in read.iter().zip(&moved) {
        assert_eq!(r, e, "seq {} read back from the file", e.seq);
    }
    s.import("dst", OrgSettings::new("Dst", "UTC"), read).await.expect("import");
    let mut copied = history(s.as_ref(), "dst").await;
    copied.reverse();
    assert_eq!(copied.len(), moved.len());
    for (c, e) in copied.iter().zip(&moved) {
        assert_eq!(c, e, "seq {} after the import", e.seq);
    }
    assert_eq!(
        String::from_utf8_lossy(&full("dst").await),
        String::from_utf8_lossy(&bytes),
        "the copy exports the same file"
    );
    let v = s.verify("dst").await.expect("verify");
    assert!(v.ok && v.chain_checked, "{v:?}");
}

/// `org`'s whole history as the full-layout CSV export writes it (times in
/// `tz`), read on a blocking thread as the export route reads it.
pub(crate) async fn full_csv(
    s: std::sync::Arc<dyn creditd_store::Store>,
    org: &str,
    tz: jiff::tz::TimeZone,
) -> Vec<u8> {
    let org = org.to_string();
    tokio::task::spawn_blocking(move || {
        let mut csv = creditd_export::CsvExporter::new(Vec::new(), creditd_export::Layout::Full, tz).expect("header");
        let mut failed = None;
        s.export_rows(&org, &EventFilter::default(), creditd_store::Order::OldestFirst, &mut |row| match csv
            .push_ref(row)
        {
            Ok(()) => std::ops::ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e.to_string());
                std::ops::ControlFlow::Break(())
            }
        })
        .expect("export");
        assert_eq!(failed, None);
        csv.finish().expect("finish")
    })
    .await
    .expect("export thread")
}
