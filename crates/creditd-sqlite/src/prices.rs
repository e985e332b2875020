//! Price books in SQLite: `price_book_versions`, written in short
//! `BEGIN IMMEDIATE` transactions on a connection of their own (like the
//! directory), and the catalogue the writer prices from, loaded at open and
//! updated right after each commit. One process owns the database (the lock
//! file), so this store's catalogue sees every version written.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use creditd_core::prices::{PriceBook, PriceBookDraft, PriceBookVersion};
use creditd_store::prices::{Catalogue, PriceBooks, VersionRow, books_of, check_book_id, next_version};
use creditd_store::{Clock, StoreError};
use rusqlite::{Connection, TransactionBehavior, params};

use crate::reader::db;

/// Appended to [`crate::schema::MIGRATIONS`]. Keyed by book, not org:
/// books are shared by every organisation.
pub const MIGRATION: &str = "
    CREATE TABLE price_book_versions (
        book_id        TEXT NOT NULL,
        version        INTEGER NOT NULL,
        effective_from INTEGER NOT NULL,
        created_at     INTEGER NOT NULL,
        prices         TEXT NOT NULL,
        PRIMARY KEY (book_id, version)
    ) WITHOUT ROWID;
";

const COLUMNS: &str = "book_id, version, effective_from, created_at, prices";

fn rows(c: &Connection, book: Option<&str>) -> Result<Vec<VersionRow>, StoreError> {
    let sql = match book {
        Some(_) => format!("SELECT {COLUMNS} FROM price_book_versions WHERE book_id = ?1 ORDER BY version"),
        None => format!("SELECT {COLUMNS} FROM price_book_versions ORDER BY book_id, version"),
    };
    let mut st = c.prepare_cached(&sql).map_err(db)?;
    let read = |r: &rusqlite::Row<'_>| {
        Ok(VersionRow {
            book_id: r.get(0)?,
            version: r.get(1)?,
            effective_from_us: r.get(2)?,
            created_at_us: r.get(3)?,
            prices: r.get(4)?,
        })
    };
    let out = match book {
        Some(b) => st.query_map([b], read).map_err(db)?.collect::<Result<Vec<_>, _>>(),
        None => st.query_map([], read).map_err(db)?.collect::<Result<Vec<_>, _>>(),
    };
    out.map_err(db)
}

/// Every stored book (the catalogue's load at open).
pub(crate) fn load_all(c: &Connection) -> Result<Vec<PriceBook>, StoreError> {
    books_of(rows(c, None)?)
}

pub struct SqlitePriceBooks {
    conn: Arc<Mutex<Connection>>,
    clock: Arc<dyn Clock>,
    catalogue: Arc<Catalogue>,
}

impl SqlitePriceBooks {
    /// A connection of its own to an existing, migrated database, and the
    /// catalogue loaded from it.
    pub(crate) fn connect(path: &Path, clock: Arc<dyn Clock>) -> Result<SqlitePriceBooks, StoreError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
        let catalogue = Arc::new(Catalogue::new(load_all(&conn)?));
        Ok(SqlitePriceBooks { conn: Arc::new(Mutex::new(conn)), clock, catalogue })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || f(&mut conn.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(StoreError::backend)?
    }
}

#[async_trait]
impl PriceBooks for SqlitePriceBooks {
    async fn put(&self, book_id: &str, draft: PriceBookDraft) -> Result<PriceBookVersion, StoreError> {
        check_book_id(book_id)?;
        let book_id = book_id.to_string();
        let now = self.clock.now();
        let v = self
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
                let have = books_of(rows(&tx, Some(&book_id))?)?.pop().map(|b| b.versions).unwrap_or_default();
                let (v, new) = next_version(&book_id, have, draft, now)?;
                if !new {
                    return Ok(v);
                }
                let row = VersionRow::of(&v)?;
                tx.execute(
                    &format!("INSERT INTO price_book_versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
                    params![row.book_id, row.version, row.effective_from_us, row.created_at_us, row.prices],
                )
                .map_err(db)?;
                tx.commit().map_err(db)?;
                Ok(v)
            })
            .await?;
        self.catalogue.add(v.clone());
        Ok(v)
    }

    async fn book(&self, book_id: &str) -> Result<Option<PriceBook>, StoreError> {
        check_book_id(book_id)?;
        Ok(self.catalogue.book(book_id).map(|b| (*b).clone()))
    }

    async fn books(&self) -> Result<Vec<PriceBook>, StoreError> {
        Ok(self.catalogue.books().into_iter().map(|b| (*b).clone()).collect())
    }

    fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue.clone()
    }
}
