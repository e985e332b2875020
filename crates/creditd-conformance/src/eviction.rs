//! The writer's bounded org cache: an org it forgot is read back from
//! storage on its next write, balances, open holds, caps and plan exactly
//! as before.

use creditd_core::{AccessOp, Actor, CapSubject, Op};
use creditd_store::cache::OrgCacheSize;
use serde_json::Value;

use crate::*;

const ORGS: usize = 5;
const ROUNDS: usize = 8;
const MEMBER: &str = "m@example.com";

/// What org `i` is sent in round `round`: funding, a plan and a member cap
/// first; then each round a new hold, a member's usage against the cap, and
/// the settlement of the hold opened the round before (a partial debit or a
/// release), so every round needs an open hold that was written while the
/// org may have been forgotten. The last hold stays open.
fn script(i: usize, round: usize, last_hold: Option<&str>) -> Vec<(Op, Option<Actor>)> {
    let mut ops = Vec::new();
    if round == 0 {
        ops.push((grant(&format!("{}", 100 + i)), None));
        ops.push((
            Op::Plans(creditd_core::PlanOp::SetPlan {
                plan: creditd_core::Plan {
                    name: "Pro".into(),
                    credits_per_period: m("50"),
                    identities_included: 3,
                    price: m("49"),
                    currency: "EUR".into(),
                    conversations_per_identity: 10,
                    rollover: creditd_core::Rollover::None,
                    price_book: None,
                },
                effective: None,
                renewal_day: None,
            }),
            None,
        ));
        ops.push((
            Op::Access(AccessOp::SetCap { subject: CapSubject::Member(MEMBER.into()), limit: Some(m("9")) }),
            None,
        ));
    }
    ops.push((hold(&format!("{}.5", 3 + i % 2)), None));
    // 2 credits a round against a cap of 9: refused from the fifth round on.
    let actor = Actor { key_id: None, member_email: Some(MEMBER.into()), own_holds_only: false };
    ops.push((usage("2"), Some(actor)));
    if let Some(id) = last_hold {
        ops.push((if round.is_multiple_of(2) { debit(id, Some("1.25")) } else { release(id) }, None));
    }
    ops
}

/// Everything an answer says except what names the org (its id, and the
/// hash chain, which covers the id).
fn normalised(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("org_id");
                map.remove("hash");
                map.remove("last_hash");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn answer(r: &Result<creditd_core::Outcome, StoreError>) -> Value {
    match r {
        Ok(o) => normalised(serde_json::to_value(o).expect("outcome as JSON")),
        Err(e) => Value::String(e.code().to_string()),
    }
}

/// Sends every org its script in turns (one write at a time, round by
/// round, org by org), so with a cache of one org each write finds its org
/// forgotten since its last one. Returns every answer, per org.
async fn in_turns(s: &dyn Store, prefix: &str) -> Vec<Vec<Value>> {
    let mut answers = vec![Vec::new(); ORGS];
    let mut holds: Vec<Option<String>> = vec![None; ORGS];
    for i in 0..ORGS {
        new_org(s, &format!("{prefix}{i}")).await;
    }
    for round in 0..ROUNDS {
        for i in 0..ORGS {
            let org = format!("{prefix}{i}");
            let mut opened = None;
            for (op, actor) in script(i, round, holds[i].as_deref()) {
                let is_hold = matches!(op, Op::Hold(_));
                let r = creditd_store::execute_one(s, Command::new(org.as_str(), op, None).by(actor)).await;
                if is_hold {
                    opened = Some(record_id(r.as_ref().expect("a hold within the balance")));
                }
                answers[i].push(answer(&r));
            }
            holds[i] = opened;
        }
    }
    answers
}

/// An org's whole stored picture, without its id: balance, state row
/// (blocks, holds' total, caps, plan, period) and history.
async fn picture(s: &dyn Store, org: &str) -> Value {
    let balance = s.balance(org).await.expect("balance");
    let mut state = s.org_state(org).await.expect("state");
    // `new_org` names an org after its id.
    state.settings.name.clear();
    let events = history(s, org).await;
    normalised(serde_json::json!({ "balance": balance, "state": state, "events": events }))
}

/// Where two JSON values first differ, if they do.
fn difference(at: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<_> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                difference(&format!("{at}.{k}"), x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null))
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(n, (p, q))| difference(&format!("{at}[{n}]"), p, q))
        }
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}

/// Orgs written through a writer that keeps one org state end exactly like
/// twins written with the default cache: same answers to every write, same
/// balances, open holds (debited and released after each eviction), caps
/// and plan, same history; every org verifies (the harness checks).
pub async fn evicted_orgs_reload_exactly(t: &mut Ctx) {
    let twins = in_turns(t.store.as_ref(), "twin-").await;
    t.reopen_with_org_cache(OrgCacheSize::new(1).expect("one org")).await;
    let evicted = in_turns(t.store.as_ref(), "small-").await;
    for i in 0..ORGS {
        for (n, (a, b)) in twins[i].iter().zip(&evicted[i]).enumerate() {
            assert_eq!(a, b, "org {i}, write {n}: a reloaded org answered differently");
        }
        assert_eq!(twins[i].len(), evicted[i].len());
        let refused = evicted[i].iter().filter(|v| v.as_str() == Some("cap_exceeded")).count();
        assert!(refused > 0, "the member's cap was reached after reloads: {:?}", evicted[i].last());
        let s = t.store.as_ref();
        let (a, b) = (picture(s, &format!("twin-{i}")).await, picture(s, &format!("small-{i}")).await);
        if let Some(diff) = difference("", &a, &b) {
            panic!("org {i}: a reloaded org is stored differently from its twin: {diff}");
        }
        let held = s.balance(&format!("small-{i}")).await.expect("balance").held;
        assert!(held != creditd_core::Micros::ZERO, "org {i}: its last hold stays open");
    }
}
