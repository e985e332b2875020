//! Price books in storage: versions numbered in order, never changed,
//! shared by every organisation, kept across a restart, visible to a second
//! node, and refused (nothing written) when a draft breaks a rule.

use creditd_core::ErrorCode;
use creditd_core::prices::PriceBookDraft;
use serde_json::json;

use super::secs;
use crate::*;

/// The book the price cases use: a flat, a tiered and a per-model price.
pub fn example_book(effective_from: Option<Timestamp>) -> PriceBookDraft {
    let mut body = json!({"prices": [
        {"key": "image_generation", "service": "images", "activity": "generate", "unit": "image",
         "credits_per_unit": 2.5},
        {"key": "enrichment", "service": "crm", "activity": "enrich", "unit": "row",
         "tiers": [{"up_to": 1000, "credits_per_unit": 1}, {"credits_per_unit": "0.5"}]},
        {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
         "credits_per_unit": 0.1},
        {"key": "tokens_in", "service": "llm", "activity": "input", "unit": "1k tokens",
         "dimensions": {"model": "large"}, "credits_per_unit": 0.3},
    ]});
    if let Some(t) = effective_from {
        body["effective_from"] = json!(t.to_string());
    }
    serde_json::from_value(body).expect("example book")
}

pub async fn price_books_are_versioned(ctx: &mut Ctx) {
    let books = ctx.store.price_books();
    assert!(books.book("standard").await.unwrap().is_none());
    assert!(books.books().await.unwrap().is_empty());
    let now = ctx.clock.now();
    let v1 = books.put("standard", example_book(None)).await.unwrap();
    assert_eq!((v1.version, v1.effective_from, v1.created_at), (1, now, now));
    ctx.clock.advance(secs(60));
    let later = ctx.clock.now() + secs(3600);
    let v2 = books.put("standard", example_book(Some(later))).await.unwrap();
    assert_eq!((v2.version, v2.effective_from), (2, later));
    books.put("other", example_book(None)).await.unwrap();
    // A retried PUT (same prices, same or no effective_from) writes nothing.
    ctx.clock.advance(secs(5));
    assert_eq!(books.put("standard", example_book(Some(later))).await.unwrap(), v2);
    assert_eq!(books.put("standard", example_book(None)).await.unwrap(), v2);

    // Refusals write nothing.
    let past = Some(ctx.clock.now() - secs(1));
    let err = books.put("standard", example_book(past)).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationError);
    assert!(err.to_string().contains("is in the past"), "{err}");
    let dup: PriceBookDraft = serde_json::from_value(json!({"prices": [
        {"key": "k", "service": "s", "activity": "a", "unit": "u", "credits_per_unit": 1},
        {"key": "k", "service": "s", "activity": "a", "unit": "u", "credits_per_unit": 2},
    ]}))
    .unwrap();
    let err = books.put("standard", dup).await.unwrap_err();
    assert!(err.to_string().contains("prices[1] (k): duplicate of prices[0]"), "{err}");
    let err = books.put("../etc", example_book(None)).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationError);

    let check = |store: Arc<dyn Store>| async move {
        let b = store.price_books().book("standard").await.unwrap().expect("book");
        assert_eq!(b.versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(b.versions[1].effective_from, later);
        assert_eq!(b.versions[0].prices, example_book(None).prices);
        let all = store.price_books().books().await.unwrap();
        assert_eq!(all.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), vec!["other", "standard"]);
        let cat = store.price_books().catalogue();
        assert_eq!(cat.book("standard").map(|b| b.versions.len()), Some(2));
        assert_eq!(cat.book("standard").and_then(|b| b.in_force(later).map(|v| v.version)), Some(2));
    };
    check(ctx.store.clone()).await;
    ctx.reopen().await;
    check(ctx.store.clone()).await;
}

/// A database of the schema before price books (`downgrade` takes this
/// engine's schema back one migration: no `price_book_versions`, the
/// version counter one lower) opens, migrates and keeps its ledger; books
/// can then be written and are read back after a restart.
pub async fn price_books_migrate_from_previous_schema(ctx: &mut Ctx, downgrade: &str) {
    new_org(ctx.store.as_ref(), "old").await;
    ok(ctx.store.as_ref(), "old", grant("10")).await;
    if !ctx.raw_sql(downgrade).await {
        return;
    }
    ctx.reopen().await;
    assert_eq!(ctx.store.balance("old").await.unwrap().available, m("10"));
    assert!(ctx.store.price_books().books().await.unwrap().is_empty());
    ctx.store.price_books().put("standard", example_book(None)).await.unwrap();
    ctx.reopen().await;
    assert_eq!(ctx.store.price_books().book("standard").await.unwrap().map(|b| b.versions.len()), Some(1));
    ok(ctx.store.as_ref(), "old", grant("1")).await;
}
