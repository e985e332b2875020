//! creditd-server: the HTTP API over any [`Store`].
//!
//! A library so tests start the real app on port 0 and talk to it over
//! loopback; the binary only parses flags and calls [`serve`].

pub mod admin;
pub mod analytics;
pub mod answer;
pub mod api;
pub mod auth;
pub mod charts;
pub mod conn;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod forward;
pub mod history;
pub mod money_in;
pub mod openapi;
pub mod ops;
pub mod permissions;
pub mod plans;
pub mod prices;
pub mod routes;
pub mod statements;
pub mod topup;
pub mod transfers;
pub mod webhooks;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use creditd_store::Store;
use rand::Rng;
use tokio::net::TcpListener;

pub use crate::auth::Principal;
pub use crate::permissions::Action;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What every handler shares: the store, key resolution, limits and
/// settings the operator chose ([`Shared`]), behind one `Arc`. Axum
/// clones the state for every extractor and middleware of a request, so a
/// clone is one reference count, not one per field (the per-field clones
/// and drops were 6% of a node's CPU on a hot org, perf). Reads go
/// through `Deref`; settings are changed before the router is built
/// (`DerefMut`, which copies only if the state is already shared).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The fields of [`AppState`].
#[derive(Clone)]
pub struct Shared {
    /// The ledger, its history and its directory.
    pub store: Arc<dyn Store>,
    /// Resolves keys and sessions; `service_key` is the bootstrap key.
    pub auth: Arc<auth::Auth>,
    /// Exports streaming at once (see [`ops::limit_exports`]).
    pub export_slots: Arc<tokio::sync::Semaphore>,
    /// How the webhook delivery worker runs (see [`webhooks::run`]).
    pub webhooks: webhooks::Config,
    /// When session cookies are `Secure` (see [`auth::HttpsPolicy`]).
    pub https: auth::HttpsPolicy,
    /// Connection deadlines and limit (see [`conn`]).
    pub limits: conn::Limits,
    /// The other nodes, when writes go through each org's home node (see
    /// [`forward`]).
    pub ring: Option<Arc<forward::Ring>>,
}

impl AppState {
    /// The defaults over `store`, with `service_key` as the bootstrap key.
    pub fn new(store: Arc<dyn Store>, service_key: impl Into<Arc<str>>) -> Self {
        AppState(Arc::new(Shared {
            store,
            auth: Arc::new(auth::Auth::new(service_key)),
            export_slots: Arc::new(tokio::sync::Semaphore::new(ops::MAX_CONCURRENT_EXPORTS)),
            webhooks: webhooks::Config::default(),
            https: auth::HttpsPolicy::default(),
            limits: conn::Limits::default(),
            ring: None,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }
}

/// A random URL-safe token of `len` characters.
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// The whole app over `app`: every route of [`routes::table`] with its
/// layers (see [`routes::router`]).
pub fn router(app: AppState) -> Router {
    routes::router(app)
}

/// How often hold timeouts and block expiries are looked for.
pub const TICK_EVERY: Duration = Duration::from_secs(1);

/// Writes keys' `last_used_at` every [`auth::LAST_USED_FLUSH_EVERY`] and
/// drops expired sessions and sign-in links about hourly.
async fn auth_bookkeeping(app: AppState) {
    let mut every = tokio::time::interval(auth::LAST_USED_FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let per_hour = (3600 / auth::LAST_USED_FLUSH_EVERY.as_secs().max(1)).max(1);
    let mut n: u64 = 0;
    loop {
        every.tick().await;
        app.auth.flush(app.store.directory()).await;
        n += 1;
        if n.is_multiple_of(per_hour)
            && let Err(e) = app.store.directory().purge_expired(app.store.now()).await
        {
            tracing::warn!(error = %e, "could not drop expired sessions");
        }
    }
}

/// Serves until `shutdown` resolves, then drains in-flight requests and the
/// store's writer.
pub async fn serve(
    listener: TcpListener,
    app: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_node(listener, None, app, shutdown).await
}

/// [`serve`], and with `peers` the requests other nodes forward to this one
/// (see [`forward`]); those drain after the HTTP requests, before the
/// store stops.
pub async fn serve_node(
    listener: TcpListener,
    peers: Option<TcpListener>,
    app: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = app.store.clone();
    let ticker = tokio::spawn({
        let store = store.clone();
        async move {
            let mut every = tokio::time::interval(TICK_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                match store.tick().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(applied = n, "released timed-out holds and expired blocks"),
                    Err(e) => tracing::warn!(error = %e, "scheduled work failed"),
                }
            }
        }
    });
    let bookkeeper = tokio::spawn(auth_bookkeeping(app.clone()));
    let upkeep = tokio::spawn(ops::upkeep_timer());
    let (stop_webhooks, stopped) = tokio::sync::watch::channel(false);
    let deliverer = tokio::spawn(webhooks::run(store.clone(), app.webhooks.clone(), stopped));
    let auth = app.auth.clone();
    let limits = app.limits;
    let app_ring = app.ring.clone();
    let router = router(app);
    let (stop_peers, peers_stopped) = tokio::sync::watch::channel(false);
    let hello = app_ring.as_ref().and_then(|r| r.url_header());
    let peer_listener = peers.map(|l| tokio::spawn(forward::listen(l, router.clone(), hello, peers_stopped)));
    let links = app_ring.map(|ring| tokio::spawn(forward::keep_links(ring)));
    let result = conn::serve(listener, router, limits, shutdown).await;
    let _ = stop_peers.send(true);
    if let Some(p) = peer_listener {
        let _ = p.await;
    }
    if let Some(l) = links {
        l.abort();
    }
    ticker.abort();
    bookkeeper.abort();
    upkeep.abort();
    let _ = stop_webhooks.send(true);
    let _ = deliverer.await;
    auth.flush(store.directory()).await;
    store.shutdown().await;
    result
}
