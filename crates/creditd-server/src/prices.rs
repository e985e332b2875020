//! Price books over HTTP: `PUT /api/price-books/{book_id}` writes a new
//! version, `GET /api/price-books/{book_id}` answers every version,
//! `GET /api/price-books` every book. Books are shared by every
//! organisation, so writing one takes a service key that reaches every
//! organisation; reading them takes any service key.

use axum::Json;
use axum::extract::State;
use creditd_core::prices::{PriceBook, PriceBookDraft, PriceBookVersion};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::answer::Created;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{Body, PathId};
use crate::permissions::Action;

/// `GET /api/price-books`: every book with its versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriceBookList {
    /// In id order.
    pub price_books: Vec<PriceBook>,
}

/// `PUT /api/price-books/{book_id}`: the draft becomes the book's next
/// version (version 1 creates the book). Nothing is written on a refusal,
/// which names the price and what is wrong with it.
pub async fn put_price_book(
    State(app): State<AppState>,
    principal: Principal,
    PathId(book_id): PathId,
    Body(draft): Body<PriceBookDraft>,
) -> Result<Created<PriceBookVersion>, ApiError> {
    principal.require_role(Action::ManagePriceBooks)?;
    if !principal.is_all_orgs_service() {
        return Err(ApiError::forbidden(
            "price books are shared by every organisation: only a service key that reaches every organisation \
             may write one",
        ));
    }
    Ok(Created(app.store.price_books().put(&book_id, draft).await?))
}

/// `GET /api/price-books/{book_id}`: the book and every version.
pub async fn get_price_book(
    State(app): State<AppState>,
    principal: Principal,
    PathId(book_id): PathId,
) -> Result<Json<PriceBook>, ApiError> {
    principal.require_role(Action::ReadPriceBooks)?;
    match app.store.price_books().book(&book_id).await? {
        Some(book) => Ok(Json(book)),
        None => Err(ApiError::not_found(format!("price book {book_id:?} not found"))),
    }
}

/// `GET /api/price-books`: every book.
pub async fn list_price_books(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<Json<PriceBookList>, ApiError> {
    principal.require_role(Action::ReadPriceBooks)?;
    Ok(Json(PriceBookList { price_books: app.store.price_books().books().await? }))
}

/// Refuses (422, nothing written) a plan or setting that names a price book
/// no version of which exists; `None` and `""` (no book) pass.
pub async fn require_book(app: &AppState, book_id: Option<&str>) -> Result<(), ApiError> {
    let Some(id) = book_id.map(str::trim).filter(|b| !b.is_empty()) else { return Ok(()) };
    match app.store.price_books().book(id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::validation(format!(
            "price book {id:?} does not exist; write it first with PUT /api/price-books/{id}"
        ))),
    }
}
