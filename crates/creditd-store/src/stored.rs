//! Reading back what the engines stored: state rows, record bodies, first
//! answers. One home for it, so SQLite and PostgreSQL read the same way.
//!
//! Two rules live here. Stored JSON is read with the bound of
//! [`creditd_core::input::STORED_JSON_MAX_DEPTH`], well above what the write
//! path accepts, so nothing a request could store fails to read back. And a
//! record that still cannot be read (a damaged row) is named, never fatal to
//! its organisation: loading an org's pending records skips it and says
//! which one ([`Unreadable`]); an operation that refers to it is refused
//! with [`StoreError::UnreadableRecord`]; every other write to the org goes
//! on; `verify` lists it.

use creditd_core::input::parse_stored;
use creditd_core::verify::VerifyReport;
use creditd_core::{OrgState, Record};

use crate::StoreError;

/// A stored record the loader could not read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// The record's id.
    pub record_id: String,
    /// Why it could not be read (the parser's message).
    pub reason: String,
}

/// Parses an organisation's stored state row.
pub fn parse_state(org_id: &str, json: &str) -> Result<OrgState, StoreError> {
    parse_stored(json).map_err(|e| StoreError::Corrupt(format!("stored state of organization {org_id}: {e}")))
}

/// Parses the body of record `record_id` of `org_id`.
pub fn parse_record(org_id: &str, record_id: &str, body: &str) -> Result<Record, StoreError> {
    let record: Record = parse_stored(body).map_err(|e| unreadable(org_id, record_id, e))?;
    if record.id != record_id {
        return Err(unreadable(org_id, record_id, format!("its body names record {}", record.id)));
    }
    Ok(record)
}

fn unreadable(org_id: &str, record_id: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::UnreadableRecord {
        org_id: org_id.to_string(),
        record_id: record_id.to_string(),
        reason: reason.to_string(),
    }
}

/// Adds the pending records of `state` from `(id, body)` rows; the ones
/// that cannot be read are logged and returned, the rest are kept.
pub fn add_pending_records<E>(
    state: &mut OrgState,
    rows: impl IntoIterator<Item = Result<(String, String), E>>,
) -> Result<Vec<Unreadable>, E> {
    let mut bad = Vec::new();
    for row in rows {
        let (id, body) = row?;
        match parse_record(&state.org_id, &id, &body) {
            Ok(r) => {
                state.records.insert(r.id.clone(), r);
            }
            Err(e) => {
                tracing::error!(org = %state.org_id, record = %id, error = %e, "a pending record cannot be read; \
                    operations on it are refused, the organization's other writes go on");
                bad.push(Unreadable { record_id: id, reason: e.to_string() });
            }
        }
    }
    Ok(bad)
}

/// Marks a verification failed for each unreadable record, naming it.
pub fn report_unreadable(report: &mut VerifyReport, bad: &[Unreadable]) {
    for b in bad {
        report.ok = false;
        report.problems.insert(0, format!("record {} cannot be read: {}", b.record_id, b.reason));
    }
}
