//! Sending one operation: the URL, the headers, the retry policy.
//!
//! The policy is the one the Python and TypeScript clients follow, so a
//! write is applied once however often it is retried:
//!
//! - every write carries an `Idempotency-Key` (a fresh random one when the
//!   caller gives none), and every retry of it sends the same key;
//! - answers 429, 500, 502, 503 and 504 are retried (creditd answers 5xx
//!   only when it stored nothing, and 429 asks the caller to slow down);
//! - a connection that could not be opened is retried for any operation
//!   (the request never left); a connection that broke after the request
//!   may have arrived is retried only for reads, PUTs and operations the
//!   document marks idempotent (the server answers the same key with the
//!   first result), never for the other writes;
//! - the wait before try `n + 1` is `backoff × 2ⁿ`, capped at `max_backoff`,
//!   with jitter (between half and all of it); a `Retry-After` in seconds
//!   wins, up to [`MAX_RETRY_AFTER`].
//!
//! **Home nodes.** Nodes that know each other name an org's home node (the
//! one its writes go through) in [`HOME_NODE_HEADER`] on the answers to
//! that org's writes. A client built
//! with the deployment's other nodes ([`crate::ClientBuilder::nodes`])
//! sends that org's next writes to the named node itself, if it is one of
//! them (a key never goes to a host the caller did not name), and back to
//! its base URL when that node fails to answer (a connection error or a
//! retryable status) or names another. It remembers at most
//! [`MAX_REMEMBERED_HOMES`] orgs. Reads always go to the base URL.

use std::time::Duration;

use reqwest::{StatusCode, Url};

use crate::error::{Error, from_answer};
use crate::operations::{Method, Operation};

/// Statuses worth another try (see the module's doc).
pub const RETRY_STATUSES: &[u16] = &[429, 500, 502, 503, 504];

/// Longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The answer header that names an org's home node.
pub const HOME_NODE_HEADER: &str = "creditd-home-node";

/// Most orgs whose home node a client remembers; past it, it starts over.
pub const MAX_REMEMBERED_HOMES: usize = 10_000;

/// Whether two node URLs name the same node: same origin, same path
/// (a trailing `/` aside).
pub fn same_node(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin() && a.path().trim_end_matches('/') == b.path().trim_end_matches('/')
}

/// The org a write is for, when it is one an org's home node takes: the
/// first path argument of a non-GET operation on `/api/organizations/{org_id}`
/// or under it.
pub fn org_of_write<'a>(op: &Operation, args: &[&'a str]) -> Option<&'a str> {
    (op.method != Method::Get && op.path.starts_with("/api/organizations/{")).then(|| args.first().copied()).flatten()
}

/// The deployment's other nodes, and the home node each org's writes go to.
#[derive(Default)]
pub(crate) struct Homes {
    nodes: Vec<Url>,
    by_org: std::sync::Mutex<std::collections::HashMap<String, Url>>,
}

impl Homes {
    pub fn new(nodes: Vec<Url>) -> Homes {
        Homes { nodes, by_org: Default::default() }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Url>> {
        self.by_org.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where `org`'s writes go, if not to the base URL.
    pub fn of(&self, org: &str) -> Option<Url> {
        if self.nodes.is_empty() {
            return None;
        }
        self.map().get(org).cloned()
    }

    /// Takes an answer's [`HOME_NODE_HEADER`] for `org`: one of the nodes
    /// is remembered; anything else (the base URL, a host not listed, not
    /// a URL) is forgotten.
    pub fn learn(&self, org: &str, named: Option<&str>) {
        if self.nodes.is_empty() {
            return;
        }
        let Some(named) = named else { return };
        let node = Url::parse(named).ok().and_then(|u| self.nodes.iter().find(|n| same_node(n, &u)).cloned());
        let mut map = self.map();
        match node {
            Some(node) => {
                if map.len() >= MAX_REMEMBERED_HOMES && !map.contains_key(org) {
                    map.clear();
                }
                map.insert(org.to_owned(), node);
            }
            None => {
                map.remove(org);
            }
        }
    }

    /// `org`'s home failed to answer: its writes go to the base URL again.
    pub fn forget(&self, org: &str) {
        self.map().remove(org);
    }

    pub fn nodes(&self) -> &[Url] {
        &self.nodes
    }
}

/// A fresh idempotency key for one logical write: a random (version 4)
/// UUID, 36 characters.
pub fn new_idempotency_key() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Whether a request that may have reached the server can go again: reads,
/// PUTs (they set a value) and operations with an `Idempotency-Key`.
pub fn may_resend(op: &Operation) -> bool {
    matches!(op.method, Method::Get | Method::Put) || op.idempotent
}

/// How long to wait before try `attempt + 1` (`attempt` from 0).
pub fn backoff(attempt: u32, base: Duration, cap: Duration, retry_after: Option<&str>) -> Duration {
    if let Some(secs) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Duration::from_secs(secs).min(MAX_RETRY_AFTER);
    }
    let full = base.saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX)).min(cap);
    // Jitter only spreads the waits of many clients: a float is fine here.
    full.mul_f64(0.5 + rand::random::<f64>() / 2.0)
}

/// The URL of `op` with its path parameters filled in, each as one
/// percent-encoded segment.
pub fn url_for(base: &Url, op: &Operation, args: &[&str]) -> Result<Url, Error> {
    let mut url = base.clone();
    let mut args = args.iter();
    {
        let mut segs =
            url.path_segments_mut().map_err(|()| Error::InvalidArgument(format!("{base} cannot be a base URL")))?;
        segs.pop_if_empty();
        for seg in op.path.trim_start_matches('/').split('/') {
            if seg.starts_with('{') && seg.ends_with('}') {
                let name = &seg[1..seg.len() - 1];
                let value =
                    args.next().ok_or_else(|| Error::InvalidArgument(format!("{}: {name} is required", op.id)))?;
                if value.is_empty() {
                    return Err(Error::InvalidArgument(format!("{}: {name} must not be empty", op.id)));
                }
                segs.push(value);
            } else {
                segs.push(seg);
            }
        }
    }
    if args.next().is_some() {
        return Err(Error::InvalidArgument(format!("{}: too many path arguments", op.id)));
    }
    Ok(url)
}

/// An answer the client read whole (every JSON answer and every error
/// answer, not an export's download), as an [`Observer`] sees it.
#[derive(Debug)]
pub struct Answer<'a> {
    /// The operation.
    pub operation: &'a Operation,
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: &'a str,
    /// The raw body.
    pub body: &'a [u8],
}

/// Called with every [`Answer`] before it is decoded: for logs, metrics,
/// or a test that holds every answer against the API document.
pub type Observer = std::sync::Arc<dyn Fn(&Answer<'_>) + Send + Sync>;

/// The settings a client sends with.
#[derive(Clone)]
pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub base: Url,
    pub authorization: String,
    pub max_retries: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub observer: Option<Observer>,
    pub homes: std::sync::Arc<Homes>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Transport")
            .field("base", &self.base.as_str())
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field("max_backoff", &self.max_backoff)
            .field("observer", &self.observer.is_some())
            .field("nodes", &self.homes.nodes().iter().map(Url::as_str).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One request to send (and perhaps send again).
pub(crate) struct Request<'a> {
    pub op: &'a Operation,
    pub args: &'a [&'a str],
    pub query: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub idempotency_key: Option<String>,
}

impl Transport {
    /// Sends `req` under the retry policy and returns the first answer
    /// below 400; an error answer becomes [`Error::Api`].
    pub async fn send(&self, req: Request<'_>) -> Result<reqwest::Response, Error> {
        let op = req.op;
        let base_url = url_for(&self.base, op, req.args)?;
        let org = org_of_write(op, req.args);
        // Every write carries a key; every retry below reuses it.
        let key = match op.method {
            Method::Get => None,
            _ => Some(req.idempotency_key.unwrap_or_else(new_idempotency_key)),
        };
        let mut attempt = 0u32;
        // A home that refuses the connection sends the request straight on
        // to the base URL, once per call; after that it counts as a try.
        let mut fell_back = false;
        loop {
            let home = org.and_then(|o| self.homes.of(o));
            let url = match &home {
                Some(node) => url_for(node, op, req.args)?,
                None => base_url.clone(),
            };
            let mut b = self
                .http
                .request(op.method.to_reqwest(), url)
                .header(reqwest::header::AUTHORIZATION, &self.authorization)
                .header(reqwest::header::ACCEPT, "application/json");
            if !req.query.is_empty() {
                b = b.query(&req.query);
            }
            if let Some(k) = &key {
                b = b.header("idempotency-key", k);
            }
            if let Some(body) = &req.body {
                b = b.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
            }
            let response = match b.send().await {
                Ok(r) => r,
                Err(e) => {
                    if let (Some(org), Some(_)) = (org, &home) {
                        self.homes.forget(org);
                        if e.is_connect() && !fell_back {
                            // It never left: straight on to the base URL.
                            fell_back = true;
                            continue;
                        }
                    }
                    let again = attempt < self.max_retries && (e.is_connect() || may_resend(op));
                    if !again {
                        return Err(Error::Connection { operation: op.id, source: e });
                    }
                    tokio::time::sleep(backoff(attempt, self.backoff, self.max_backoff, None)).await;
                    attempt += 1;
                    continue;
                }
            };
            let status = response.status();
            if let Some(org) = org {
                if home.is_some() && RETRY_STATUSES.contains(&status.as_u16()) {
                    self.homes.forget(org);
                } else {
                    self.homes.learn(org, response.headers().get(HOME_NODE_HEADER).and_then(|v| v.to_str().ok()));
                }
            }
            if status.as_u16() < 400 {
                return Ok(response);
            }
            if attempt < self.max_retries && RETRY_STATUSES.contains(&status.as_u16()) {
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // Read the answer so the connection can be reused.
                let _ = response.bytes().await;
                tokio::time::sleep(backoff(attempt, self.backoff, self.max_backoff, retry_after.as_deref())).await;
                attempt += 1;
                continue;
            }
            return Err(self.error_of(op, status, response).await);
        }
    }

    /// Reads a whole answer and shows it to the observer.
    pub async fn read(
        &self,
        op: &Operation,
        response: reqwest::Response,
    ) -> Result<(u16, Option<String>, Vec<u8>), Error> {
        let status = response.status().as_u16();
        let rid = request_id(&response);
        let ctype = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.bytes().await.map_err(|e| Error::Connection { operation: op.id, source: e })?;
        if let Some(observe) = &self.observer {
            observe(&Answer { operation: op, status, content_type: &ctype, body: &body });
        }
        Ok((status, rid, body.to_vec()))
    }

    async fn error_of(&self, op: &Operation, status: StatusCode, response: reqwest::Response) -> Error {
        match self.read(op, response).await {
            Ok((_, rid, body)) => from_answer(op.id, status.as_u16(), rid, &body),
            Err(e) => e,
        }
    }
}

/// The `x-request-id` of an answer.
pub(crate) fn request_id(r: &reqwest::Response) -> Option<String> {
    r.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations;

    #[test]
    fn keys_are_version_4_uuids_and_differ() {
        let a = new_idempotency_key();
        let b = new_idempotency_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_honours_retry_after() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        for (attempt, full) in [(0, 100), (1, 200), (2, 400), (3, 800), (4, 1000), (40, 1000)] {
            let d = backoff(attempt, base, cap, None);
            assert!(d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full), "{attempt}: {d:?}");
        }
        assert_eq!(backoff(0, base, cap, Some("3")), Duration::from_secs(3));
        assert_eq!(backoff(0, base, cap, Some("3600")), MAX_RETRY_AFTER);
        // A date form is not understood: the usual back-off applies.
        assert!(backoff(0, base, cap, Some("Wed, 21 Oct 2015 07:28:00 GMT")) <= base);
    }

    #[test]
    fn urls_encode_each_path_argument_as_one_segment() {
        let base = Url::parse("http://127.0.0.1:8080/").unwrap();
        let u = url_for(&base, &operations::DEBIT_HOLD, &["acme", "h/1 ?"]).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/api/organizations/acme/holds/h%2F1%20%3F/debit");
        let prefixed = Url::parse("http://h/creditd").unwrap();
        let u = url_for(&prefixed, &operations::GET_HEALTH, &[]).unwrap();
        assert_eq!(u.as_str(), "http://h/creditd/healthz");
        assert!(matches!(url_for(&base, &operations::GET_BALANCE, &[""]), Err(Error::InvalidArgument(_))));
        assert!(matches!(url_for(&base, &operations::GET_BALANCE, &[]), Err(Error::InvalidArgument(_))));
        assert!(matches!(url_for(&base, &operations::GET_HEALTH, &["x"]), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn homes_are_learnt_only_for_listed_nodes_and_forgotten() {
        let a = Url::parse("http://10.0.0.1:8080").unwrap();
        let b = Url::parse("https://b.internal/creditd/").unwrap();
        let h = Homes::new(vec![a.clone(), b.clone()]);
        h.learn("o", Some("http://10.0.0.1:8080/"));
        assert_eq!(h.of("o").as_ref(), Some(&a));
        h.learn("p", Some("https://b.internal/creditd"));
        assert_eq!(h.of("p").as_ref(), Some(&b));
        // No header: what was learnt stays.
        h.learn("o", None);
        assert_eq!(h.of("o").as_ref(), Some(&a));
        // A host not listed, another port, not a URL: never followed.
        for named in ["http://evil.example/", "http://10.0.0.1:9090/", "https://10.0.0.1:8080/", "x"] {
            h.learn("o", Some(named));
            assert_eq!(h.of("o"), None, "{named}");
            h.learn("o", Some("http://10.0.0.1:8080"));
        }
        h.forget("o");
        assert_eq!(h.of("o"), None);
        // Bounded: past the bound it starts over.
        h.forget("p");
        for i in 0..MAX_REMEMBERED_HOMES + 1 {
            h.learn(&format!("org-{i}"), Some("http://10.0.0.1:8080"));
        }
        assert_eq!(h.map().len(), 1);
        // Without nodes nothing is learnt.
        let none = Homes::new(Vec::new());
        none.learn("o", Some("http://10.0.0.1:8080"));
        assert_eq!(none.of("o"), None);
    }

    #[test]
    fn writes_under_an_org_have_a_home_and_nothing_else_does() {
        assert_eq!(org_of_write(&operations::RECORD_USAGE, &["acme"]), Some("acme"));
        assert_eq!(org_of_write(&operations::DEBIT_HOLD, &["acme", "h1"]), Some("acme"));
        assert_eq!(org_of_write(&operations::GET_BALANCE, &["acme"]), None);
        assert_eq!(org_of_write(&operations::UPDATE_ORGANIZATION, &["acme"]), Some("acme"));
        assert_eq!(org_of_write(&operations::CREATE_ORGANIZATION, &[]), None);
    }

    #[test]
    fn what_may_be_resent() {
        assert!(may_resend(&operations::GET_BALANCE));
        assert!(may_resend(&operations::SET_CAP));
        assert!(may_resend(&operations::CREATE_HOLD));
        assert!(!may_resend(&operations::CREATE_ORGANIZATION));
        assert!(!may_resend(&operations::RUN_BATCH));
    }
}
