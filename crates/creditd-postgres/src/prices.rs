//! Price books in PostgreSQL: `price_book_versions`, written in a short
//! transaction of its own on a pool connection.
//!
//! Several nodes share the database, so a node's catalogue can miss a
//! version another node wrote. Reads (`book`, `books`) always read the
//! table and add what they find; the writer checks the table's row count
//! against its catalogue before it prices a batch and reloads when they
//! differ ([`refresh`]). Two nodes writing the same book at once are
//! serialised by a transaction-scoped advisory lock on the book, so each
//! version number is taken once.

use std::sync::Arc;

use async_trait::async_trait;
use creditd_core::prices::{PriceBook, PriceBookDraft, PriceBookVersion};
use creditd_store::prices::{Catalogue, PriceBooks, VersionRow, books_of, check_book_id, next_version};
use creditd_store::{Clock, StoreError};
use deadpool_postgres::{GenericClient, Pool};

use crate::reader::db;

/// Appended to [`crate::schema::MIGRATIONS`]. Keyed by book, not org:
/// books are shared by every organisation.
pub const MIGRATION: &str = "
    CREATE TABLE price_book_versions (
        book_id        TEXT NOT NULL,
        version        BIGINT NOT NULL,
        effective_from BIGINT NOT NULL,
        created_at     BIGINT NOT NULL,
        prices         TEXT NOT NULL,
        PRIMARY KEY (book_id, version)
    );
";

const COLUMNS: &str = "book_id, version, effective_from, created_at, prices";

async fn rows<C: GenericClient + Sync>(c: &C, book: Option<&str>) -> Result<Vec<VersionRow>, StoreError> {
    let found = match book {
        Some(b) => {
            let sql = format!("SELECT {COLUMNS} FROM price_book_versions WHERE book_id = $1 ORDER BY version");
            c.query(&sql, &[&b]).await
        }
        None => {
            let sql = format!("SELECT {COLUMNS} FROM price_book_versions ORDER BY book_id, version");
            c.query(&sql, &[]).await
        }
    }
    .map_err(db)?;
    found
        .iter()
        .map(|r| {
            Ok(VersionRow {
                book_id: r.try_get(0).map_err(db)?,
                version: r.try_get(1).map_err(db)?,
                effective_from_us: r.try_get(2).map_err(db)?,
                created_at_us: r.try_get(3).map_err(db)?,
                prices: r.try_get(4).map_err(db)?,
            })
        })
        .collect()
}

/// Reloads `catalogue` from the table if its row count differs from what
/// the catalogue holds (versions are only ever added, so equal counts mean
/// the same versions). One `count(*)` when nothing changed.
pub async fn refresh<C: GenericClient + Sync>(c: &C, catalogue: &Catalogue) -> Result<(), StoreError> {
    let n: i64 = c.query_one("SELECT count(*) FROM price_book_versions", &[]).await.map_err(db)?.get(0);
    if usize::try_from(n).ok() != Some(catalogue.version_count()) {
        catalogue.replace(books_of(rows(c, None).await?)?);
    }
    Ok(())
}

pub struct PgPriceBooks {
    pool: Pool,
    clock: Arc<dyn Clock>,
    catalogue: Arc<Catalogue>,
}

impl PgPriceBooks {
    /// The price books of the database behind `pool`, loaded.
    pub(crate) async fn load(pool: Pool, clock: Arc<dyn Clock>) -> Result<PgPriceBooks, StoreError> {
        let catalogue = Arc::new(Catalogue::default());
        {
            let c = pool.get().await.map_err(StoreError::backend)?;
            refresh(&c, &catalogue).await?;
        }
        Ok(PgPriceBooks { pool, clock, catalogue })
    }
}

#[async_trait]
impl PriceBooks for PgPriceBooks {
    async fn put(&self, book_id: &str, draft: PriceBookDraft) -> Result<PriceBookVersion, StoreError> {
        check_book_id(book_id)?;
        let now = self.clock.now();
        let mut c = self.pool.get().await.map_err(StoreError::backend)?;
        let tx = c.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock(hashtext('creditd price book ' || $1))", &[&book_id])
            .await
            .map_err(db)?;
        let have = books_of(rows(&tx, Some(book_id)).await?)?.pop().map(|b| b.versions).unwrap_or_default();
        let (v, new) = next_version(book_id, have, draft, now)?;
        if !new {
            return Ok(v);
        }
        let row = VersionRow::of(&v)?;
        tx.execute(
            &format!("INSERT INTO price_book_versions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
            &[&row.book_id, &row.version, &row.effective_from_us, &row.created_at_us, &row.prices],
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        self.catalogue.add(v.clone());
        Ok(v)
    }

    async fn book(&self, book_id: &str) -> Result<Option<PriceBook>, StoreError> {
        check_book_id(book_id)?;
        let c = self.pool.get().await.map_err(StoreError::backend)?;
        let book = books_of(rows(&c, Some(book_id)).await?)?.pop();
        for v in book.iter().flat_map(|b| &b.versions) {
            self.catalogue.add(v.clone());
        }
        Ok(book)
    }

    async fn books(&self) -> Result<Vec<PriceBook>, StoreError> {
        let c = self.pool.get().await.map_err(StoreError::backend)?;
        let books = books_of(rows(&c, None).await?)?;
        self.catalogue.replace(books.clone());
        Ok(books)
    }

    fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue.clone()
    }
}
