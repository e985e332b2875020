//! Price books in storage: the [`PriceBooks`] every engine implements and
//! the in-memory [`Catalogue`] the writer prices from.
//!
//! Price books are shared by every organisation (a plan or an org setting
//! names one), so their table is keyed by book, not by org. A version is
//! written once and never changed: `put` reads the book's versions, lets
//! the core check the draft and number it
//! ([`creditd_core::prices::PriceBook::next_version`]) and inserts it, in
//! one short transaction of its own (like the directory: not ledger data).
//!
//! The catalogue holds every book's versions in memory. It is loaded when a
//! store opens and updated by that store's `put` right after the commit, so
//! the writer finds the version in force at an operation's time without a
//! query. A version takes effect at `effective_from`, which `put` refuses
//! in the past, so the catalogue holds it before any operation it prices.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use creditd_core::prices::{PriceBook, PriceBookDraft, PriceBookVersion, PriceLine};
use creditd_core::{LedgerError, OrgId};
use jiff::Timestamp;

use crate::StoreError;

/// Every price book, as of the last load or write: what the writer prices
/// from. Cheap to read (a read lock and an `Arc` clone).
#[derive(Debug, Default)]
pub struct Catalogue {
    books: RwLock<BTreeMap<String, Arc<PriceBook>>>,
}

impl Catalogue {
    /// A catalogue of `books`.
    pub fn new(books: Vec<PriceBook>) -> Catalogue {
        let c = Catalogue::default();
        c.replace(books);
        c
    }

    /// The book `id`, if any version of it exists.
    pub fn book(&self, id: &str) -> Option<Arc<PriceBook>> {
        self.books.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Every book, in id order.
    pub fn books(&self) -> Vec<Arc<PriceBook>> {
        self.books.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect()
    }

    /// Adds a version just committed (or read), unless the catalogue
    /// already has it.
    pub fn add(&self, v: PriceBookVersion) {
        let mut books = self.books.write().unwrap_or_else(|p| p.into_inner());
        let entry = books.entry(v.book_id.to_string()).or_insert_with(|| Arc::new(PriceBook::default()));
        if entry.versions.iter().any(|have| have.version == v.version) {
            return;
        }
        let book = Arc::make_mut(entry);
        book.id = v.book_id.to_string();
        book.versions.push(v);
        book.versions.sort_by_key(|v| v.version);
    }

    /// Replaces every book with `books` (a fresh load).
    pub fn replace(&self, books: Vec<PriceBook>) {
        let map = books.into_iter().map(|b| (b.id.clone(), Arc::new(b))).collect();
        *self.books.write().unwrap_or_else(|p| p.into_inner()) = map;
    }

    /// How many versions it holds in all (a cheap staleness check against
    /// the table's row count).
    pub fn version_count(&self) -> usize {
        self.books.read().unwrap_or_else(|p| p.into_inner()).values().map(|b| b.versions.len()).sum()
    }
}

impl creditd_core::PriceSource for Catalogue {
    fn book(&self, id: &str) -> Option<Arc<PriceBook>> {
        Catalogue::book(self, id)
    }
}

/// One stored row of `price_book_versions`, as the engines read it.
#[derive(Clone, Debug)]
pub struct VersionRow {
    /// The book.
    pub book_id: String,
    /// Its version number.
    pub version: i64,
    /// `effective_from`, µs since the epoch.
    pub effective_from_us: i64,
    /// `created_at`, µs since the epoch.
    pub created_at_us: i64,
    /// The prices, JSON.
    pub prices: String,
}

impl VersionRow {
    /// The row a version is stored as.
    pub fn of(v: &PriceBookVersion) -> Result<VersionRow, StoreError> {
        Ok(VersionRow {
            book_id: v.book_id.to_string(),
            version: i64::from(v.version),
            effective_from_us: v.effective_from.as_microsecond(),
            created_at_us: v.created_at.as_microsecond(),
            prices: serde_json::to_string(&v.prices).map_err(StoreError::json("price book prices"))?,
        })
    }

    /// The version a row holds.
    pub fn into_version(self) -> Result<PriceBookVersion, StoreError> {
        let prices: Vec<PriceLine> =
            serde_json::from_str(&self.prices).map_err(StoreError::json("price book prices"))?;
        Ok(PriceBookVersion {
            version: u32::try_from(self.version)
                .map_err(|_| StoreError::Corrupt(format!("price book {} version {}", self.book_id, self.version)))?,
            effective_from: crate::micros_ts(self.effective_from_us)?,
            created_at: crate::micros_ts(self.created_at_us)?,
            book_id: self.book_id.into(),
            prices,
        })
    }
}

/// Groups rows (any order) into books, versions in order.
pub fn books_of(rows: Vec<VersionRow>) -> Result<Vec<PriceBook>, StoreError> {
    let mut books: BTreeMap<String, PriceBook> = BTreeMap::new();
    for row in rows {
        let v = row.into_version()?;
        let book = books
            .entry(v.book_id.to_string())
            .or_insert_with(|| PriceBook { id: v.book_id.to_string(), versions: vec![] });
        book.versions.push(v);
    }
    let mut out: Vec<PriceBook> = books.into_values().collect();
    for b in &mut out {
        b.versions.sort_by_key(|v| v.version);
    }
    Ok(out)
}

/// Checks a book id (the grammar of new ids, [`OrgId`]) before anything is
/// read or written.
pub fn check_book_id(id: &str) -> Result<(), StoreError> {
    OrgId::parse(id).map(|_| ()).map_err(|e| StoreError::Ledger(LedgerError::Invalid(format!("price book {e}"))))
}

/// The next version of `book` (its stored versions) from `draft` at `now`:
/// the core's checks, refusals as [`StoreError::Ledger`]. `Ok((v, false))`:
/// the draft repeats the latest version `v` ([`PriceBook::repeated`]) and
/// nothing is to be written.
pub fn next_version(
    book_id: &str,
    versions: Vec<PriceBookVersion>,
    draft: PriceBookDraft,
    now: Timestamp,
) -> Result<(PriceBookVersion, bool), StoreError> {
    let book = PriceBook { id: book_id.to_string(), versions };
    if let Some(v) = book.repeated(&draft) {
        return Ok((v.clone(), false));
    }
    Ok((book.next_version(draft, now)?, true))
}

/// Price books as every engine keeps them.
#[async_trait]
pub trait PriceBooks: Send + Sync {
    /// Writes `draft` as the next version of `book_id` (creating the book
    /// with version 1), at the store's clock; refused (nothing written) if
    /// the draft breaks a rule of [`PriceBook::next_version`]. A draft
    /// that repeats the latest version ([`PriceBook::repeated`]) writes
    /// nothing and answers that version.
    async fn put(&self, book_id: &str, draft: PriceBookDraft) -> Result<PriceBookVersion, StoreError>;

    /// The book `book_id` with every version; `None` if it has none.
    async fn book(&self, book_id: &str) -> Result<Option<PriceBook>, StoreError>;

    /// Every book, in id order.
    async fn books(&self) -> Result<Vec<PriceBook>, StoreError>;

    /// The catalogue this store's writer prices from.
    fn catalogue(&self) -> Arc<Catalogue>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(book: &str, n: u32) -> PriceBookVersion {
        PriceBookVersion {
            book_id: book.into(),
            version: n,
            effective_from: Timestamp::UNIX_EPOCH,
            created_at: Timestamp::UNIX_EPOCH,
            prices: vec![],
        }
    }

    #[test]
    fn the_catalogue_adds_each_version_once_in_order() {
        let c = Catalogue::default();
        c.add(version("b", 2));
        c.add(version("b", 1));
        c.add(version("b", 2));
        c.add(version("a", 1));
        let b = c.book("b").unwrap();
        assert_eq!(b.versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(b.id, "b");
        assert_eq!(c.version_count(), 3);
        assert_eq!(c.books().iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), vec!["a", "b"]);
        assert!(c.book("z").is_none());
    }

    #[test]
    fn a_row_round_trips() {
        let v = version("b", 3);
        let back = VersionRow::of(&v).unwrap().into_version().unwrap();
        assert_eq!(back, v);
        assert!(check_book_id("standard-2026").is_ok());
        assert!(check_book_id("-x").is_err());
        assert!(check_book_id("a/b").is_err());
    }
}
