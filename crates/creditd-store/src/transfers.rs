//! `verify`'s check of transfers across organisations: every
//! `transfer_out` or `transfer_in` of an org must have its other half in
//! the org it names, with the same transfer id and the opposite amount
//! (`creditd_core::transfers::check_halves`). Both engines run it after
//! their own replay of the org's events.

use std::collections::{BTreeMap, HashMap};

use creditd_core::verify::VerifyReport;
use creditd_core::{Event, EventKind};

use crate::query::{EventFilter, Order};
use crate::{Store, StoreError};

/// Most transfer problems one report lists (the replay's own are listed
/// first).
const MAX_PROBLEMS: usize = 20;

async fn transfer_events(store: &dyn Store, org_id: &str) -> Result<Vec<Event>, StoreError> {
    let filter = EventFilter { kinds: vec![EventKind::TransferOut, EventKind::TransferIn], ..EventFilter::default() };
    let mut chunks = store.export_in(org_id, &filter, Order::OldestFirst).await?;
    let mut out = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        out.extend(chunk?);
    }
    Ok(out)
}

/// What is wrong with `org_id`'s transfers, in words (empty: every half
/// has its match).
pub async fn problems(store: &dyn Store, org_id: &str) -> Result<Vec<String>, StoreError> {
    let ours = transfer_events(store, org_id).await?;
    let mut by_other: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in ours {
        match e.code.clone() {
            Some(other) => by_other.entry(other).or_default().push(e),
            None => problems.push(format!("{} {} (event {}) names no other organization", e.kind, e.id, e.seq)),
        }
    }
    for (other, events) in by_other {
        let theirs = match transfer_events(store, &other).await {
            Ok(t) => t,
            Err(StoreError::OrgNotFound(_)) => {
                for e in &events {
                    problems.push(format!("{} of event {}: organization {other} does not exist", e.kind, e.seq));
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        // Their halves that name us, by (kind, transfer id).
        let mut index: HashMap<(EventKind, &str), &Event> = HashMap::new();
        for t in theirs.iter().filter(|t| t.code.as_deref() == Some(org_id)) {
            if let Some(id) = t.hold_id.as_deref() {
                index.insert((t.kind, id), t);
            }
        }
        for e in &events {
            let id = e.hold_id.as_deref().unwrap_or("");
            let want = if e.kind == EventKind::TransferOut { EventKind::TransferIn } else { EventKind::TransferOut };
            let Some(other_half) = index.get(&(want, id)) else {
                problems.push(format!(
                    "{} {id} (event {}) has no {want} in organization {other}: one half of a transfer is missing",
                    e.kind, e.seq
                ));
                continue;
            };
            let checked = if e.kind == EventKind::TransferOut {
                creditd_core::transfers::check_halves(e, other_half)
            } else {
                creditd_core::transfers::check_halves(other_half, e)
            };
            if let Err(p) = checked {
                problems.push(p);
            }
        }
    }
    problems.truncate(MAX_PROBLEMS);
    Ok(problems)
}

/// Adds [`problems`] to an engine's report of `report.org_id`.
pub async fn add_to(store: &dyn Store, report: &mut VerifyReport) -> Result<(), StoreError> {
    let found = problems(store, &report.org_id).await?;
    if !found.is_empty() {
        report.ok = false;
        report.problems.extend(found);
    }
    Ok(())
}
