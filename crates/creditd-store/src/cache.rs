//! The one bounded cache of organisation states both engines' writers keep.
//!
//! A writer keeps each org's [`creditd_core::OrgState`] in memory so a write
//! does not read and parse the state row first. Without a bound that memory
//! grows with every org ever touched (about 3 KiB each), so this cache holds
//! at most [`OrgCacheSize`] orgs and forgets the least recently used beyond
//! that. An org it forgot is read again from storage on its next write, the
//! same way as after a restart.
//!
//! What it must never forget is an org whose newest state is not yet in
//! storage (SQLite: an org the open or the in-flight batch touched). A writer
//! says which those are through *epochs*: every use ([`OrgCache::get_mut`],
//! [`OrgCache::insert`]) stamps the entry with the current epoch, and
//! [`OrgCache::trim`] keeps every entry stamped at or after the epoch it is
//! given, even past the bound. So the bound can be passed by at most the orgs
//! of the batches in flight (a batch holds at most 8,192 commands), and
//! eviction is spread over the batches instead of a whole cache at once.
//!
//! Why a map of our own over `hashlink`'s `LinkedHashMap` (already in the
//! tree through rusqlite) rather than an LRU crate's cache: those evict on
//! insert, and an insert in the middle of a batch must never evict.

use std::num::NonZeroUsize;

use hashlink::LinkedHashMap;
use rustc_hash::FxBuildHasher;

/// How many org states a writer keeps at most (past the orgs in flight).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrgCacheSize(NonZeroUsize);

impl OrgCacheSize {
    /// 10,000 orgs: about 30 MiB of states at the measured 3 KiB per org.
    pub const DEFAULT: OrgCacheSize = OrgCacheSize(NonZeroUsize::new(10_000).unwrap());

    /// `None` for 0: a writer needs room for at least the org it applies to.
    pub fn new(orgs: usize) -> Option<OrgCacheSize> {
        NonZeroUsize::new(orgs).map(OrgCacheSize)
    }

    /// The number of orgs.
    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl Default for OrgCacheSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl std::fmt::Display for OrgCacheSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for OrgCacheSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let n: usize = s.trim().parse().map_err(|_| format!("{s:?} is not a whole number of organisations"))?;
        OrgCacheSize::new(n).ok_or_else(|| "the org cache must hold at least 1 organisation".to_string())
    }
}

struct Entry<V> {
    value: V,
    /// The epoch of the entry's last use.
    used: u64,
}

/// Org id → `V` (a state, or a state with what the engine keeps beside it),
/// least recently used first.
pub struct OrgCache<V> {
    map: LinkedHashMap<String, Entry<V>, FxBuildHasher>,
    capacity: usize,
    epoch: u64,
    engine: &'static str,
}

impl<V> OrgCache<V> {
    /// An empty cache for `engine` (the label of its metrics).
    pub fn new(engine: &'static str, size: OrgCacheSize) -> Self {
        OrgCache { map: LinkedHashMap::with_hasher(FxBuildHasher), capacity: size.get(), epoch: 0, engine }
    }

    /// How many orgs [`OrgCache::trim`] keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many orgs are cached now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no org is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Whether `org` is cached (without using it).
    pub fn contains(&self, org: &str) -> bool {
        self.map.contains_key(org)
    }

    /// Looks without using: the entry keeps its place and epoch.
    pub fn get(&self, org: &str) -> Option<&V> {
        self.map.get(org).map(|e| &e.value)
    }

    /// Uses the entry: it becomes the most recently used, in this epoch.
    pub fn get_mut(&mut self, org: &str) -> Option<&mut V> {
        let epoch = self.epoch;
        self.map.to_back(org).map(|e| {
            e.used = epoch;
            &mut e.value
        })
    }

    /// Adds or replaces `org` as the most recently used. Never evicts: a
    /// writer inserts in the middle of a batch, where every org counts.
    pub fn insert(&mut self, org: String, value: V) {
        self.map.insert(org, Entry { value, used: self.epoch });
    }

    /// Forgets `org` (its next use reloads it), returning what was cached.
    pub fn remove(&mut self, org: &str) -> Option<V> {
        self.map.remove(org).map(|e| e.value)
    }

    /// The epoch uses are stamped with now.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Starts a new epoch (a writer does at each batch boundary).
    pub fn next_epoch(&mut self) {
        self.epoch += 1;
    }

    /// Forgets least recently used entries until at most `capacity` are
    /// left, but never one used in epoch `keep_since` or later: those may
    /// hold state that storage does not have yet. Returns how many went.
    pub fn trim(&mut self, keep_since: u64) -> usize {
        let mut evicted = 0;
        // Each entry is looked at once at most: a kept one goes to the back
        // (it was used in a recent epoch, so that is its true place).
        let mut budget = self.map.len();
        while self.map.len() > self.capacity && budget > 0 {
            budget -= 1;
            let Some(mut front) = self.map.front_entry() else { break };
            if front.get().used >= keep_since {
                front.to_back();
            } else {
                front.remove();
                evicted += 1;
            }
        }
        crate::telemetry::org_cache(self.engine, self.map.len(), evicted);
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(n: usize) -> OrgCache<u32> {
        OrgCache::new("test", OrgCacheSize::new(n).unwrap())
    }

    fn keys(c: &OrgCache<u32>) -> Vec<&str> {
        c.map.keys().map(String::as_str).collect()
    }

    #[test]
    fn evicts_least_recently_used_down_to_capacity() {
        let mut c = cache(2);
        for (i, org) in ["a", "b", "c", "d"].iter().enumerate() {
            c.insert(org.to_string(), i as u32);
        }
        c.get_mut("a"); // a is now the most recent
        c.next_epoch();
        assert_eq!(c.trim(c.epoch()), 2);
        assert_eq!(keys(&c), ["d", "a"]);
        assert_eq!(c.get("a"), Some(&0));
    }

    #[test]
    fn never_evicts_what_was_used_since_the_kept_epoch() {
        let mut c = cache(1);
        c.insert("old".into(), 0);
        c.next_epoch();
        let in_flight = c.epoch();
        c.insert("x".into(), 1);
        c.insert("y".into(), 2);
        c.next_epoch();
        c.insert("z".into(), 3);
        // Everything since the in-flight epoch stays, past the bound.
        assert_eq!(c.trim(in_flight), 1);
        assert_eq!(keys(&c), ["x", "y", "z"]);
        // Once landed, the bound holds again, one org at a time.
        c.next_epoch();
        assert_eq!(c.trim(c.epoch()), 2);
        assert_eq!(keys(&c), ["z"]);
    }

    #[test]
    fn a_look_is_not_a_use() {
        let mut c = cache(1);
        c.insert("a".into(), 0);
        c.insert("b".into(), 1);
        assert_eq!(c.get("a"), Some(&0));
        c.next_epoch();
        c.trim(c.epoch());
        assert_eq!(keys(&c), ["b"]);
    }

    #[test]
    fn sizes_parse_and_refuse_zero() {
        assert_eq!("25".parse::<OrgCacheSize>().unwrap().get(), 25);
        assert!("0".parse::<OrgCacheSize>().is_err());
        assert!("-1".parse::<OrgCacheSize>().is_err());
        assert_eq!(OrgCacheSize::default().get(), 10_000);
    }
}
