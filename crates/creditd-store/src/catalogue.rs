//! The plan catalogue: the plans an operator offers, shared by every
//! organisation (`PUT /api/plans/{id}`), which `PUT …/plan` may name and the
//! dashboard's "Change plan" lists.
//!
//! An entry is a plan (the core's [`Plan`], checked by [`Plan::validate`])
//! under a stable id, with a display price text. Entries are written whole
//! and replaced whole, in one short transaction of their own (like price
//! books: not ledger data). An organisation on a plan keeps the copy it
//! subscribed to: changing an entry changes nothing already subscribed
//! (`OrgState::plans` holds the plan itself, not the id).

use async_trait::async_trait;
use creditd_core::{LedgerError, OrgId, Plan};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Most plans a catalogue holds.
pub const MAX_CATALOGUE_PLANS: usize = 100;
/// Longest display price text or description.
pub const MAX_TEXT_LEN: usize = 200;

/// One plan the operator offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CataloguePlan {
    /// The plan's id in the catalogue (the grammar of new ids: 1–64
    /// letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// The plan an organisation subscribes to when it chooses this one.
    pub plan: Plan,
    /// How the price is shown (e.g. `449 € / month`); none: the plan's
    /// price and currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_text: Option<String>,
    /// A line about the plan, shown with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When this definition was written.
    pub updated_at: Timestamp,
}

impl CataloguePlan {
    /// Checks an entry before it is written: its id, the plan's rules, and
    /// the texts (1 to [`MAX_TEXT_LEN`] characters when given, no NUL).
    pub fn check(&self) -> Result<(), StoreError> {
        check_plan_id(&self.id)?;
        self.plan.validate().map_err(StoreError::Ledger)?;
        for (name, text) in [("price_text", &self.price_text), ("description", &self.description)] {
            if let Some(t) = text {
                if t.trim().is_empty() || t.chars().count() > MAX_TEXT_LEN {
                    return Err(invalid(format!("{name} must be 1 to {MAX_TEXT_LEN} characters")));
                }
                creditd_core::input::check_no_nul(name, t).map_err(StoreError::Ledger)?;
            }
        }
        Ok(())
    }
}

fn invalid(msg: String) -> StoreError {
    StoreError::Ledger(LedgerError::Invalid(msg))
}

/// Checks a catalogue plan id (the grammar of new ids, [`OrgId`]) before
/// anything is read or written.
pub fn check_plan_id(id: &str) -> Result<(), StoreError> {
    OrgId::parse(id).map(|_| ()).map_err(|e| invalid(format!("plan {e}")))
}

/// The stored JSON of an entry (everything but its id).
#[derive(Serialize, Deserialize)]
struct Stored {
    plan: Plan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    price_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// An entry as a row: its id, its JSON body and `updated_at` in µs.
pub fn row_of(p: &CataloguePlan) -> Result<(String, String, i64), StoreError> {
    let body = Stored { plan: p.plan.clone(), price_text: p.price_text.clone(), description: p.description.clone() };
    let json = serde_json::to_string(&body).map_err(StoreError::json("catalogue plan"))?;
    Ok((p.id.clone(), json, p.updated_at.as_microsecond()))
}

/// The entry a row holds.
pub fn plan_of(id: String, body: &str, updated_at_us: i64) -> Result<CataloguePlan, StoreError> {
    let s: Stored = serde_json::from_str(body).map_err(StoreError::json("catalogue plan"))?;
    Ok(CataloguePlan {
        id,
        plan: s.plan,
        price_text: s.price_text,
        description: s.description,
        updated_at: crate::micros_ts(updated_at_us)?,
    })
}

/// The plan catalogue as every engine keeps it.
#[async_trait]
pub trait PlanCatalogue: Send + Sync {
    /// Writes `plan` (checked by [`CataloguePlan::check`]), replacing the
    /// entry with its id; refused beyond [`MAX_CATALOGUE_PLANS`] entries.
    /// Answers true when the entry is new.
    async fn put(&self, plan: &CataloguePlan) -> Result<bool, StoreError>;

    /// The entry `id`, if there is one.
    async fn get(&self, id: &str) -> Result<Option<CataloguePlan>, StoreError>;

    /// Every entry, in id order.
    async fn list(&self) -> Result<Vec<CataloguePlan>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> CataloguePlan {
        CataloguePlan {
            id: id.into(),
            plan: Plan {
                name: "Pro".into(),
                credits_per_period: "1000".parse().unwrap(),
                identities_included: 3,
                price: "49".parse().unwrap(),
                currency: "EUR".into(),
                conversations_per_identity: 500,
                rollover: creditd_core::Rollover::None,
                price_book: None,
            },
            price_text: Some("49 € / month".into()),
            description: None,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn rows_round_trip_and_entries_are_checked() {
        let p = entry("pro");
        p.check().unwrap();
        let (id, body, at) = row_of(&p).unwrap();
        assert_eq!(plan_of(id, &body, at).unwrap(), p);
        assert!(entry("../x").check().is_err());
        assert!(entry("").check().is_err());
        let mut bad = entry("pro");
        bad.price_text = Some(" ".into());
        assert!(bad.check().is_err());
        let mut bad = entry("pro");
        bad.plan.name = String::new();
        assert!(bad.check().is_err());
    }
}
