//! The one harness every server test starts from: the real app on a
//! loopback port (port 0, the real port reported) over a fresh SQLite store
//! in a temporary directory, its time driven by a manual clock, stopped the
//! way the binary stops it (in-flight requests and the writer drained).
//!
//! Each test module wraps [`Server`] in an `App` of its own with the request
//! helpers its assertions read best with; starting and stopping are here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use creditd_server::AppState;
use creditd_sqlite::SqliteStore;
use creditd_store::{ManualClock, Store};

/// The bootstrap service key of every test server.
pub const KEY: &str = "test-service-key-0123456789";
/// The clock's start unless a test names another.
pub const NOW: &str = "2026-03-10T12:00:00Z";

/// How to start a [`Server`].
pub struct Start<'a> {
    /// The clock's start (RFC 3339).
    pub at: &'a str,
    /// An existing data directory (a restart); default: a fresh temporary one.
    pub data_dir: Option<&'a Path>,
    /// The client follows no redirects (sign-in links answer 303).
    pub no_redirects: bool,
    /// Changes the app's settings before it serves.
    pub configure: Box<dyn FnOnce(AppState) -> AppState + 'a>,
}

impl Default for Start<'_> {
    fn default() -> Self {
        Start { at: NOW, data_dir: None, no_redirects: false, configure: Box::new(|s| s) }
    }
}

/// A running server and what tests reach behind it.
pub struct Server {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// A client for `base`.
    pub client: reqwest::Client,
    /// The Rust client (`creditd-client`) on `base` with the service key:
    /// tests set up and drive the ledger through it, as a backend would,
    /// and keep `client` for what must be sent raw (bad input, headers,
    /// HTML pages, exact wire shapes).
    pub api: creditd_client::Client,
    /// The store the app serves (for setting up and checking behind the API).
    pub store: Arc<SqliteStore>,
    /// The store's clock.
    pub clock: Arc<ManualClock>,
    /// The app's state as it serves.
    pub state: AppState,
    /// The data directory.
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// The defaults: [`NOW`], a fresh directory, a client that follows redirects.
    pub async fn start() -> Server {
        Server::with(Start::default()).await
    }

    /// As `opts` says.
    pub async fn with(opts: Start<'_>) -> Server {
        let (dir, data_dir) = match opts.data_dir {
            Some(p) => (None, p.to_path_buf()),
            None => {
                let d = tempfile::tempdir().unwrap();
                let p = d.path().to_path_buf();
                (Some(d), p)
            }
        };
        let clock = Arc::new(ManualClock::new(opts.at.parse().unwrap()));
        let store = Arc::new(SqliteStore::open(&data_dir, clock.clone()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = (opts.configure)(AppState::new(store.clone() as Arc<dyn Store>, KEY));
        let server = tokio::spawn(creditd_server::serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        let client = if opts.no_redirects {
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
        } else {
            reqwest::Client::new()
        };
        let api = creditd_client::Client::new(&base, KEY).unwrap();
        Server { base, client, api, store, clock, state, data_dir, _dir: dir, stop: Some(tx), server: Some(server) }
    }

    /// Stops the server and waits until it has drained; the data directory
    /// stays (a test may start another server on it).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.await.unwrap().unwrap();
        }
    }
}

impl Server {
    /// A one-time sign-in URL for `email` of `org` (15 minutes).
    pub async fn login_url(&self, org: &str, email: &str) -> String {
        let token = creditd_server::auth::issue_login_link(
            self.store.directory(),
            org,
            email,
            creditd_store::Clock::now(self.clock.as_ref()),
            jiff::SignedDuration::from_mins(15),
        )
        .await
        .unwrap();
        format!("{}/login/{token}", self.base)
    }

    /// Signs `email` of `org` in through a sign-in link: the session
    /// cookie (`name=value`) and its CSRF token (from `GET …/me`).
    pub async fn sign_in(&self, org: &str, email: &str) -> (String, String) {
        let r = self.client.get(self.login_url(org, email).await).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
        let me = self
            .client
            .get(format!("{}/api/organizations/{org}/me", self.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let me: serde_json::Value = me.json().await.unwrap();
        (cookie, me["csrf_token"].as_str().unwrap().to_string())
    }

    /// Adds `email` (named `name`) to `org` as `role`, now.
    pub async fn add_member(&self, org: &str, name: &str, email: &str, role: creditd_store::directory::Role) {
        let member = creditd_store::directory::Member {
            org_id: org.into(),
            email: email.into(),
            name: name.into(),
            role,
            created_at: creditd_store::Clock::now(self.clock.as_ref()),
        };
        self.store.directory().add_member(member).await.unwrap();
    }

    /// `method path` with `headers` and, if given, a JSON `body`, as sent.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    /// A dashboard form posted as a browser posts it (urlencoded, HTML
    /// accepted, redirects as the client follows them).
    pub async fn post_form(&self, path: &str, cookie: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Everything but the store: the data directory (kept alive while the
    /// guard lives) and the clock, for opening the data again after
    /// [`Server::stop`].
    pub fn into_data(self) -> (Option<tempfile::TempDir>, PathBuf, Arc<ManualClock>) {
        (self._dir, self.data_dir, self.clock)
    }
}

/// `Deref` from a module's `App` to its [`Server`].
#[macro_export]
macro_rules! app_derefs_to_server {
    ($app:ty, $field:tt) => {
        impl std::ops::Deref for $app {
            type Target = $crate::common::Server;
            fn deref(&self) -> &$crate::common::Server {
                &self.$field
            }
        }
        impl std::ops::DerefMut for $app {
            fn deref_mut(&mut self) -> &mut $crate::common::Server {
                &mut self.$field
            }
        }
    };
}
