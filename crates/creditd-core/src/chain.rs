//! The per-organisation hash chain that makes tampering visible.
//!
//! Each event's hash is SHA-256 over the previous event's hash and a
//! canonical encoding of the event's content, so changing, removing or
//! reordering a stored event breaks the chain at that event (or, if its hash
//! was rewritten too, at the next one). The first event of an org chains from
//! [`ChainHash::GENESIS`]. The core computes each hash as it emits the event;
//! engines store it beside the event and `verify` recomputes the chain.
//!
//! The encoding covers what is stored, at the precision it is stored:
//! `created_at` in microseconds, the event id not at all (it is `evt_<seq>`),
//! metadata as JSON with sorted keys. Changing it invalidates every stored
//! chain, so it carries a version tag.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::event::Event;

const DOMAIN: &[u8] = b"creditd-event-chain-v1\0";

/// A link of the chain: 32 bytes, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// What the first event of an organisation chains from.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    /// The hash before an org's first event (all zeros).
    pub fn is_genesis(&self) -> bool {
        *self == Self::GENESIS
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

/// A stored hash that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a chain hash (64 hex digits): {0:?}")]
pub struct BadHash(pub String);

impl FromStr for ChainHash {
    type Err = BadHash;
    fn from_str(s: &str) -> Result<Self, BadHash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| BadHash(s.chars().take(80).collect()))?;
        Ok(ChainHash(out))
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The hash of `e` chained after `prev`.
pub fn hash(prev: &ChainHash, e: &Event) -> ChainHash {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev.0);
    let mut enc = Encoder(&mut h);
    enc.text(Some(&e.org_id));
    enc.int(e.seq as i64);
    enc.int(e.created_at.as_microsecond());
    enc.text(Some(e.kind.as_str()));
    enc.int(e.amount.micros());
    enc.text(e.pool.map(|p| p.as_str()));
    enc.text(Some(e.status.as_str()));
    for t in [
        &e.source,
        &e.service,
        &e.activity,
        &e.project_id,
        &e.project_name,
        &e.user_name,
        &e.user_email,
        &e.description,
        &e.code,
        &e.hold_id,
        &e.idempotency_key,
    ] {
        enc.text(t.as_deref());
    }
    enc.int(e.balance_after.micros());
    enc.int(e.prepaid_balance_after.micros());
    enc.int(e.held_after.micros());
    enc.int(e.period_usage_after.micros());
    match &e.metadata {
        None => enc.0.update([0]),
        Some(m) => {
            let mut s = String::new();
            canonical_json(m, &mut s);
            enc.text(Some(&s));
        }
    }
    // Pricing was added after chains existed: an event without it encodes
    // exactly as before (nothing is appended), so stored chains still verify.
    if let Some(p) = &e.pricing {
        enc.0.update([b'p']);
        enc.text(Some(&p.price_key));
        enc.int(p.dimensions.len() as i64);
        for (k, v) in &p.dimensions {
            enc.text(Some(k));
            enc.text(Some(v));
        }
        enc.int(p.quantity.micros());
        enc.text(Some(&p.unit));
        match p.unit_price {
            None => enc.0.update([0]),
            Some(u) => enc.int(u.micros()),
        }
        match &p.tiers {
            None => enc.0.update([0]),
            Some(parts) => {
                enc.int(parts.len() as i64);
                for t in parts {
                    enc.int(t.quantity.micros());
                    enc.int(t.credits_per_unit.micros());
                }
            }
        }
        enc.text(Some(&p.price_book));
        enc.int(i64::from(p.version));
    }
    ChainHash(h.finalize().into())
}

/// Hashes `events` (one org's, in seq order) after `prev`; returns each
/// event's hash.
pub fn hash_all(prev: &ChainHash, events: &[Event]) -> Vec<ChainHash> {
    let mut prev = *prev;
    events
        .iter()
        .map(|e| {
            prev = hash(&prev, e);
            prev
        })
        .collect()
}

/// Length-prefixed fields, so no two different events encode alike.
struct Encoder<'a>(&'a mut Sha256);

impl Encoder<'_> {
    fn int(&mut self, v: i64) {
        self.0.update([b'i']);
        self.0.update(v.to_be_bytes());
    }

    fn text(&mut self, v: Option<&str>) {
        match v {
            None => self.0.update([0]),
            Some(s) => {
                self.0.update([b's']);
                self.0.update((s.len() as u64).to_be_bytes());
                self.0.update(s.as_bytes());
            }
        }
    }
}

/// JSON with object keys sorted, whatever order a map kept them in (a
/// database may reorder them).
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = ChainHash([0xab; 32]);
        assert_eq!(h.to_string().parse::<ChainHash>().unwrap(), h);
        assert!("xyz".parse::<ChainHash>().is_err());
    }

    #[test]
    fn key_order_does_not_matter() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#).unwrap();
        let mut s = String::new();
        canonical_json(&a, &mut s);
        assert_eq!(s, r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
    }
}
