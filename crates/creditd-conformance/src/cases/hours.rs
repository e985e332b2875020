//! Usage per hour of one or two local days (`Store::usage_hours`), read
//! from the day's events, against a fold over the stored events.

use super::*;

/// Usage, debits (whole and partial), releases and refunds every 37
/// minutes for three days around the spring change of the clocks in
/// Madrid (30 March 2025 has 23 hours), by two users and one that names
/// none, in batches: every span of one and two local days, for the org and
/// for one user, equals `hours_from_events` over the history; an hour
/// past the change is counted from local midnight; a span longer than two
/// days and an unknown org are refused; and after a restart the same.
pub async fn usage_by_hour_agrees_with_events(t: &mut Ctx) {
    use creditd_store::hours::{HourQuery, MAX_HOUR_SPAN_HOURS};
    let s = t.store.clone();
    s.create_org("h", OrgSettings::new("H", "Europe/Madrid")).await.expect("create");
    ok(s.as_ref(), "h", grant("100000")).await;
    t.clock.set("2025-03-28T21:10:00Z".parse().expect("time"));
    let users = ["ana@example.com", "ben@example.com"];
    for i in 0..120i64 {
        t.clock.advance(secs(37 * 60));
        let u = users[(i % 2) as usize];
        let mut batch = vec![usage_by(&format!("{}.5", i % 9 + 1), "AI Inference", "p1", u)];
        if i % 7 == 0 {
            batch.push(usage("0.000001"));
        }
        let outcomes: Vec<Outcome> = s
            .execute(batch.into_iter().map(|op| Command::new("h", op, None)).collect())
            .await
            .into_iter()
            .map(|r| r.expect("usage"))
            .collect();
        if i % 5 == 2 {
            ok(s.as_ref(), "h", refund(&record_id(&outcomes[0]), Some("0.25"))).await;
        }
        let held = record_id(&ok(s.as_ref(), "h", hold("4")).await);
        match i % 3 {
            0 => ok(s.as_ref(), "h", debit(&held, None)).await,
            1 => ok(s.as_ref(), "h", debit(&held, Some("1.5"))).await,
            _ => ok(s.as_ref(), "h", release(&held)).await,
        };
    }
    check_hours(s.as_ref(), users[0]).await;
    // The span is bounded, and only known orgs answer.
    let from: jiff::Timestamp = "2025-03-29T00:00:00+01:00".parse().expect("time");
    let too_long = HourQuery {
        from,
        to: from.checked_add(SignedDuration::from_hours(MAX_HOUR_SPAN_HOURS + 1)).expect("time"),
        user_email: None,
    };
    assert_eq!(
        s.usage_hours("h", &too_long).await.expect_err("too long").code(),
        creditd_core::ErrorCode::ValidationError
    );
    let day = HourQuery { from, to: from.checked_add(SignedDuration::from_hours(24)).expect("time"), user_email: None };
    assert!(matches!(s.usage_hours("nobody", &day).await, Err(StoreError::OrgNotFound(_))));
    drop(s);
    t.reopen().await;
    check_hours(t.store.as_ref(), users[0]).await;
}

async fn check_hours(s: &dyn creditd_store::Store, user: &str) {
    use creditd_store::hours::{HourQuery, hours_from_events};
    let all = history(s, "h").await;
    let tz = jiff::tz::TimeZone::get("Europe/Madrid").expect("zone");
    let midnight = |d: jiff::civil::Date| d.to_zoned(tz.clone()).expect("midnight").timestamp();
    let mut compared = 0;
    for (first, days) in [(28, 1), (29, 1), (30, 1), (31, 1), (29, 2), (30, 2)] {
        let a = jiff::civil::date(2025, 3, first);
        let b = a.checked_add(jiff::ToSpan::days(days)).expect("date");
        for who in [None, Some(user.to_string())] {
            let q = HourQuery { from: midnight(a), to: midnight(b), user_email: who };
            let got = s.usage_hours("h", &q).await.expect("hours");
            let want = hours_from_events(all.iter(), &q).expect("fold");
            assert_eq!(got, want, "{q:?}");
            assert!(got.iter().all(|r| r.hour >= 0 && r.hour < q.hours()), "{q:?}");
            compared += got.len();
        }
    }
    assert!(compared > 60, "{compared} hours compared");
    // The 30th has 23 hours: from 03:00 local, hour n is local hour n + 1.
    let q = HourQuery {
        from: midnight(jiff::civil::date(2025, 3, 30)),
        to: midnight(jiff::civil::date(2025, 3, 31)),
        user_email: None,
    };
    assert_eq!(q.hours(), 23);
    let at = |e: &creditd_core::Event| (e.created_at.as_microsecond() - q.from.as_microsecond()) / 3_600_000_000;
    let late = all.iter().find(|e| e.kind == EventKind::Usage && e.created_at >= q.from && e.created_at < q.to);
    if let Some(e) = late {
        let local = e.created_at.to_zoned(tz.clone());
        let hour = s.usage_hours("h", &q).await.expect("hours").into_iter().find(|r| r.hour == at(e));
        assert!(hour.is_some(), "the hour of {local} is answered");
        let want = if local.hour() >= 3 { i64::from(local.hour()) - 1 } else { i64::from(local.hour()) };
        assert_eq!(at(e), want, "{local}: hours count from local midnight");
    }
}
