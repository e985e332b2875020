//! An event borrowed from wherever it is held: an [`Event`] in memory, or a
//! database row the engine is stepping through.
//!
//! It exists for exports. Decoding millions of stored rows into owned
//! `Event`s (a `String` per text column, parsed metadata) cost more than
//! writing the file; an engine can instead hand each row to the exporter as
//! an [`EventRef`] over the row's own bytes and reuse everything between
//! rows. The exporters take only `EventRef`s, so an `Event` and a row are
//! written by the same code and cannot come out different.

use jiff::Timestamp;

use crate::event::{Event, EventKind, Pool, Status};
use crate::money::Micros;
use crate::prices::Pricing;

/// An event's metadata as the holder has it.
#[derive(Clone, Copy, Debug)]
pub enum MetadataRef<'a> {
    /// Parsed, as in an [`Event`].
    Value(&'a serde_json::Value),
    /// The JSON text as stored. Engines store `Value::to_string()`, which is
    /// what serialising the value again would write, so both forms give the
    /// same bytes.
    Json(&'a str),
}

/// Every field of an [`Event`], borrowed. See the module docs.
#[derive(Clone, Copy, Debug)]
pub struct EventRef<'a> {
    /// `None`: the id creditd derives from `seq` ([`Event::id_for`]).
    pub id: Option<&'a str>,
    /// [`Event::seq`].
    pub seq: u64,
    /// [`Event::created_at`].
    pub created_at: Timestamp,
    /// [`Event::kind`].
    pub kind: EventKind,
    /// [`Event::amount`].
    pub amount: Micros,
    /// [`Event::pool`].
    pub pool: Option<Pool>,
    /// [`Event::status`].
    pub status: Status,
    /// [`Event::source`], borrowed.
    pub source: Option<&'a str>,
    /// [`Event::service`], borrowed.
    pub service: Option<&'a str>,
    /// [`Event::activity`], borrowed.
    pub activity: Option<&'a str>,
    /// [`Event::project_id`], borrowed.
    pub project_id: Option<&'a str>,
    /// [`Event::project_name`], borrowed.
    pub project_name: Option<&'a str>,
    /// [`Event::user_name`], borrowed.
    pub user_name: Option<&'a str>,
    /// [`Event::user_email`], borrowed.
    pub user_email: Option<&'a str>,
    /// [`Event::description`], borrowed.
    pub description: Option<&'a str>,
    /// [`Event::code`], borrowed.
    pub code: Option<&'a str>,
    /// [`Event::hold_id`], borrowed.
    pub hold_id: Option<&'a str>,
    /// [`Event::idempotency_key`], borrowed.
    pub idempotency_key: Option<&'a str>,
    /// [`Event::balance_after`].
    pub balance_after: Micros,
    /// [`Event::prepaid_balance_after`].
    pub prepaid_balance_after: Micros,
    /// [`Event::held_after`].
    pub held_after: Micros,
    /// [`Event::period_usage_after`].
    pub period_usage_after: Micros,
    /// [`Event::metadata`], borrowed.
    pub metadata: Option<MetadataRef<'a>>,
    /// [`Event::pricing`], borrowed.
    pub pricing: Option<PricingRef<'a>>,
    /// [`Event::pools_after`].
    pub pools_after: Option<crate::event::FreePools>,
}

/// An event's pricing as the holder has it.
#[derive(Clone, Copy, Debug)]
pub enum PricingRef<'a> {
    /// Parsed, as in an [`Event`].
    Value(&'a Pricing),
    /// The JSON text as stored (`serde_json::to_string` of the value).
    Json(&'a str),
}

impl PricingRef<'_> {
    /// The pricing as JSON text (what engines store and exports write).
    pub fn json(&self) -> String {
        match self {
            PricingRef::Value(p) => p.to_json(),
            PricingRef::Json(s) => (*s).to_string(),
        }
    }

    /// The pricing, parsed.
    pub fn parse(&self) -> Result<Pricing, serde_json::Error> {
        match self {
            PricingRef::Value(p) => Ok((*p).clone()),
            PricingRef::Json(s) => serde_json::from_str(s),
        }
    }
}

impl Event {
    /// This event as an [`EventRef`].
    pub fn view(&self) -> EventRef<'_> {
        EventRef {
            id: Some(&self.id),
            seq: self.seq,
            created_at: self.created_at,
            kind: self.kind,
            amount: self.amount,
            pool: self.pool,
            status: self.status,
            source: self.source.as_deref(),
            service: self.service.as_deref(),
            activity: self.activity.as_deref(),
            project_id: self.project_id.as_deref(),
            project_name: self.project_name.as_deref(),
            user_name: self.user_name.as_deref(),
            user_email: self.user_email.as_deref(),
            description: self.description.as_deref(),
            code: self.code.as_deref(),
            hold_id: self.hold_id.as_deref(),
            idempotency_key: self.idempotency_key.as_deref(),
            balance_after: self.balance_after,
            prepaid_balance_after: self.prepaid_balance_after,
            held_after: self.held_after,
            period_usage_after: self.period_usage_after,
            metadata: self.metadata.as_ref().map(MetadataRef::Value),
            pricing: self.pricing.as_ref().map(PricingRef::Value),
            pools_after: self.pools_after,
        }
    }
}

impl EventRef<'_> {
    /// An owned [`Event`] of `org_id` with these fields (metadata text
    /// parsed): what an engine's `Event` of the same row holds.
    pub fn to_event(&self, org_id: &str) -> Result<Event, serde_json::Error> {
        let owned = |s: Option<&str>| s.map(str::to_string);
        let metadata = match self.metadata {
            None => None,
            Some(MetadataRef::Value(v)) => Some(v.clone()),
            Some(MetadataRef::Json(text)) => Some(serde_json::from_str(text)?),
        };
        let pricing = self.pricing.map(|p| p.parse()).transpose()?;
        Ok(Event {
            id: self.id.map_or_else(|| Event::id_for(self.seq), str::to_string),
            org_id: org_id.to_string(),
            seq: self.seq,
            created_at: self.created_at,
            kind: self.kind,
            amount: self.amount,
            pool: self.pool,
            status: self.status,
            source: owned(self.source),
            service: owned(self.service),
            activity: owned(self.activity),
            project_id: owned(self.project_id),
            project_name: owned(self.project_name),
            user_name: owned(self.user_name),
            user_email: owned(self.user_email),
            description: owned(self.description),
            code: owned(self.code),
            hold_id: owned(self.hold_id),
            idempotency_key: owned(self.idempotency_key),
            balance_after: self.balance_after,
            prepaid_balance_after: self.prepaid_balance_after,
            held_after: self.held_after,
            period_usage_after: self.period_usage_after,
            metadata,
            pricing,
            pools_after: self.pools_after,
        })
    }
}
