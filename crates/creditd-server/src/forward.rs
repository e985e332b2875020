//! Home nodes: each organisation's writes go through one node.
//!
//! Several nodes on one PostgreSQL database may all write one organisation;
//! the org's row lock then passes from node to node, and each hand-over
//! costs a round trip to the node while the row is held (docs/scaling.md,
//! "Nodes on one hot org"). With `--peer-listen` and `--peer`, every node
//! computes the same **home** for each org (rendezvous hashing of the org id
//! over the nodes' peer addresses, [`Ring::home`]), and a node forwards the
//! writes of orgs whose home is another node to that node, over one kept-open
//! peer connection: requests that arrive together leave in one write, and
//! the home node runs them through its own router, so they join its flights.
//!
//! **Only hot orgs.** A hop costs the forwarding node about what serving
//! the request costs, and an org written a few times a second is rarely
//! handed over, so by default only an org this node writes at least
//! [`DEFAULT_HOT_WRITES_PER_SECOND`] times in a second goes to its home
//! ([`Ring::with_hot_rate`]; 0 forwards every write). It stays hot while
//! its callers keep that rate here, forwarded or not.
//!
//! **Clients can go to the home themselves.** The answer to a write of an
//! org whose home is another node carries [`HOME_NODE_HEADER`]
//! (`Creditd-Home-Node`), the home node's URL as its clients reach it
//! (`--advertise-url`; by default `http://` and the address it listens on,
//! when that is not a wildcard): a forwarded write's answer because the
//! home node adds it, a write served here (a cold org, or a peer that is
//! down) because each node tells its peers its URL when they connect (an
//! answer frame with id 0) and [`keep_links`] connects to every peer from
//! the start. A client that knows the deployment's nodes sends that org's
//! next writes there, so the hop and the row's hand-over go away; the
//! clients in `clients/` and `creditd-client` do, for URLs in their list of
//! nodes only (a key is never sent to a host the caller did not name).
//!
//! Correctness never rests on it: the home node's writer locks the org's row
//! and checks its version as for any write, so two nodes that disagree about
//! a home (a node list that differs, a node that just restarted) hand the
//! row over as before, and nothing is applied twice.
//!
//! **When the home node cannot be reached** the node writes itself:
//! - a request that never left (no connection; the peer is then left alone
//!   for [`PEER_RETRY_AFTER`]) runs here;
//! - a request sent but not answered (the connection broke, or
//!   [`FORWARD_TIMEOUT`] passed) may or may not have been applied: with an
//!   `Idempotency-Key` it runs here (the key answers it once either way),
//!   without one the caller gets 503 `peer_unavailable` and retries.
//!
//! **The peer protocol** (one TCP connection each way, loopback or a private
//! network; every forwarded request carries its caller's own credentials and
//! is authenticated by the home node, so the port grants nothing a caller of
//! the API does not have). Frames are a big-endian `u32` length, then:
//! - request: `u64` id, method (`u8` length), target (`u16` length),
//!   headers (`u16` count, each `u16` name length, name, `u32` value length,
//!   value), body (`u32` length);
//! - response: `u64` id, `u16` status, headers, body, as above; id 0 is
//!   the hello a node sends first on each connection it accepts (status
//!   200, its [`HOME_NODE_HEADER`], no body), never an answer.
//!
//! Limits: a frame of at most [`MAX_FRAME_BYTES`], [`MAX_HEADERS`] headers,
//! [`MAX_IN_FLIGHT`] requests in flight per connection, answers of at most
//! [`MAX_ANSWER_BYTES`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header, request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use creditd_core::ErrorCode;
use sha2_hmac::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tower::ServiceExt as _;

use crate::AppState;
use crate::error::ApiError;

/// Largest frame either way: a largest body and its headers.
pub const MAX_FRAME_BYTES: usize = crate::MAX_BODY_BYTES + 256 * 1024;
/// Most headers in a forwarded request or answer.
pub const MAX_HEADERS: usize = 128;
/// Most forwarded requests a home node runs at once for one connection;
/// more wait, unread, in the socket.
pub const MAX_IN_FLIGHT: usize = 4096;
/// Largest answer a home node sends back (write answers are small).
pub const MAX_ANSWER_BYTES: usize = 16 << 20;
/// How long a forwarded request may wait for its answer.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a peer that could not be reached is left alone.
pub const PEER_RETRY_AFTER: Duration = Duration::from_secs(1);
/// How long connecting to a peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Most bytes gathered into one write on a peer connection.
const WRITE_GATHER_BYTES: usize = 1 << 20;

/// The answer header naming the home node's URL (see the module docs).
pub const HOME_NODE_HEADER: &str = "creditd-home-node";
/// Longest `--advertise-url`.
pub const MAX_URL_BYTES: usize = 2048;

/// Writes per second through this node at which an org's writes go to its
/// home node.
pub const DEFAULT_HOT_WRITES_PER_SECOND: u32 = 100;
/// Most orgs whose writes are counted in one second; further orgs are not
/// counted (not hot) until the next second.
pub const MAX_COUNTED_ORGS: usize = 100_000;

/// Marks a request that came over the peer protocol: it is served here,
/// never forwarded again.
#[derive(Clone, Copy, Debug)]
pub struct Forwarded;

/// This node and the others, by peer address.
pub struct Ring {
    me: String,
    peers: Vec<Arc<Peer>>,
    hot_rate: u32,
    rates: Mutex<Rates>,
    url: Option<HeaderValue>,
}

/// Writes per org through this node: the current second's counts, and the
/// orgs that were hot in the second before.
#[derive(Default)]
struct Rates {
    second: u64,
    counts: HashMap<Box<str>, u32>,
    hot: std::collections::HashSet<Box<str>>,
}

impl Rates {
    /// Counts one write of `org` in `second`; whether the org is hot.
    fn count(&mut self, org: &str, second: u64, hot_rate: u32) -> bool {
        if second != self.second {
            let was = std::mem::take(&mut self.counts);
            self.hot = if second == self.second + 1 {
                was.into_iter().filter(|(_, n)| *n >= hot_rate).map(|(o, _)| o).collect()
            } else {
                Default::default()
            };
            self.second = second;
        }
        let room = self.counts.len() < MAX_COUNTED_ORGS;
        let n = match self.counts.get_mut(org) {
            Some(n) => {
                *n = n.saturating_add(1);
                *n
            }
            None if room => {
                self.counts.insert(org.into(), 1);
                1
            }
            None => 0,
        };
        n >= hot_rate || self.hot.contains(org)
    }
}

impl Ring {
    /// `me`: this node's peer address as the others name it; `peers`: the
    /// other nodes' peer addresses (`host:port`).
    pub fn new(me: impl Into<String>, peers: impl IntoIterator<Item = String>) -> Ring {
        let me = me.into();
        let mut names: Vec<String> = peers.into_iter().filter(|p| *p != me).collect();
        names.sort();
        names.dedup();
        Ring {
            me,
            peers: names.into_iter().map(|addr| Arc::new(Peer::new(addr))).collect(),
            hot_rate: DEFAULT_HOT_WRITES_PER_SECOND,
            rates: Mutex::default(),
            url: None,
        }
    }

    /// The URL this node's clients reach it at, sent in
    /// [`HOME_NODE_HEADER`] with the answers to writes forwarded to it: an
    /// absolute `http` or `https` URL without query or fragment, at most
    /// [`MAX_URL_BYTES`] long.
    pub fn with_url(mut self, url: &str) -> Result<Ring, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(format!("{url:?} must be an http:// or https:// URL with a host"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
            return Err(format!("{url:?} must not have a query, a fragment or credentials"));
        }
        if parsed.as_str().len() > MAX_URL_BYTES {
            return Err(format!("the URL is longer than {MAX_URL_BYTES} bytes"));
        }
        self.url = Some(HeaderValue::from_str(parsed.as_str()).map_err(|e| format!("{url:?}: {e}"))?);
        Ok(self)
    }

    /// The URL sent in [`HOME_NODE_HEADER`], if any.
    pub fn url(&self) -> Option<&str> {
        self.url.as_ref().and_then(|u| u.to_str().ok())
    }

    /// [`Ring::url`] as the header's value.
    pub fn url_header(&self) -> Option<HeaderValue> {
        self.url.clone()
    }

    /// Forwards an org's writes once this node writes it `per_second`
    /// times in a second (0: every write).
    pub fn with_hot_rate(mut self, per_second: u32) -> Ring {
        self.hot_rate = per_second;
        self
    }

    /// Counts a write of `org` through this node; whether it is hot.
    fn hot(&self, org: &str) -> bool {
        if self.hot_rate == 0 {
            return true;
        }
        let second = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.rates.lock().unwrap_or_else(|e| e.into_inner()).count(org, second, self.hot_rate)
    }

    /// This node's name in the ring.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// The home of `org`: `None` when it is this node. Every node with the
    /// same names computes the same home (highest SHA-256 of name and org).
    pub fn home(&self, org: &str) -> Option<&Arc<Peer>> {
        let mine = (score(&self.me, org), self.me.as_str());
        let best = self.peers.iter().map(|p| ((score(&p.addr, org), p.addr.as_str()), p)).max_by(|a, b| a.0.cmp(&b.0));
        match best {
            Some((theirs, peer)) if theirs > mine => Some(peer),
            _ => None,
        }
    }
}

fn score(node: &str, org: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((node.len() as u32).to_be_bytes());
    h.update(node.as_bytes());
    h.update(org.as_bytes());
    h.finalize().into()
}

/// The id of the hello frame (requests count from 1).
const HELLO: u64 = 0;

/// Connects to every peer from the start and again after a connection
/// ends (at most every [`PEER_RETRY_AFTER`]), so each node knows the
/// others' URLs (their hellos) before it first forwards to them.
pub async fn keep_links(ring: Arc<Ring>) {
    let mut every = tokio::time::interval(PEER_RETRY_AFTER);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        for peer in &ring.peers {
            if peer.open_link().is_none() {
                let _ = peer.link().await;
            }
        }
    }
}

/// Why a forwarded request has no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// It never left this node: running it here is safe.
    NotSent,
    /// It left and no answer came: it may have been applied.
    Lost,
}

/// Another node, reached over one kept-open connection.
pub struct Peer {
    addr: String,
    /// Its URL for API clients, from the hello it sends on connecting.
    url: Arc<Mutex<Option<HeaderValue>>>,
    link: Mutex<Option<Arc<Link>>>,
    connecting: tokio::sync::Mutex<()>,
    down_until: Mutex<Option<Instant>>,
    next_id: AtomicU64,
}

struct Link {
    queue: mpsc::UnboundedSender<Outgoing>,
    closed: Arc<AtomicBool>,
}

struct Outgoing {
    id: u64,
    frame: Bytes,
    answer: oneshot::Sender<Result<Response, Failed>>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Response, Failed>>>>>;

impl Peer {
    fn new(addr: String) -> Peer {
        Peer {
            addr,
            url: Arc::default(),
            link: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            down_until: Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    /// Its peer address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Its URL for API clients, once it has said it.
    pub fn url(&self) -> Option<HeaderValue> {
        self.url.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether it is being left alone after a failed connection.
    pub fn is_down(&self) -> bool {
        let mut down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        match *down {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *down = None;
                false
            }
            None => false,
        }
    }

    fn mark_down(&self) {
        *self.down_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + PEER_RETRY_AFTER);
    }

    fn open_link(&self) -> Option<Arc<Link>> {
        let link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        link.as_ref().filter(|l| !l.closed.load(Ordering::Acquire)).cloned()
    }

    async fn link(&self) -> Option<Arc<Link>> {
        if let Some(l) = self.open_link() {
            return Some(l);
        }
        let _one = self.connecting.lock().await;
        if let Some(l) = self.open_link() {
            return Some(l);
        }
        if self.is_down() {
            return None;
        }
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.addr)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                tracing::warn!(peer = %self.addr, error = %e, "cannot reach the peer; writing its orgs here for now");
                self.mark_down();
                return None;
            }
            Err(_) => {
                tracing::warn!(peer = %self.addr, "connecting to the peer timed out; writing its orgs here for now");
                self.mark_down();
                return None;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (read, write) = tcp.into_split();
        let (queue, rx) = mpsc::unbounded_channel();
        let closed = Arc::new(AtomicBool::new(false));
        let pending: Pending = Arc::default();
        tokio::spawn(send_requests(write, rx, pending.clone(), closed.clone()));
        tokio::spawn(read_answers(read, pending, closed.clone(), self.addr.clone(), self.url.clone()));
        let link = Arc::new(Link { queue, closed });
        *self.link.lock().unwrap_or_else(|e| e.into_inner()) = Some(link.clone());
        Some(link)
    }

    /// Sends a request to this peer and waits for its answer.
    pub async fn forward(&self, parts: &request::Parts, body: &Bytes) -> Result<Response, Failed> {
        let Some(link) = self.link().await else {
            return Err(Failed::NotSent);
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let Some(frame) = encode_request(id, &parts.method, &parts.uri, &parts.headers, body) else {
            return Err(Failed::NotSent);
        };
        let (answer, rx) = oneshot::channel();
        if link.queue.send(Outgoing { id, frame, answer }).is_err() {
            return Err(Failed::NotSent);
        }
        match tokio::time::timeout(FORWARD_TIMEOUT, rx).await {
            Ok(Ok(answer)) => answer,
            // The link ended without answering, or the answer is late.
            Ok(Err(_)) | Err(_) => Err(Failed::Lost),
        }
    }
}

/// Writes queued requests, as many as are waiting in one write.
async fn send_requests(
    mut write: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    pending: Pending,
    closed: Arc<AtomicBool>,
) {
    let mut buf = BytesMut::new();
    while let Some(first) = rx.recv().await {
        // Let the requests being served at this moment queue theirs, so
        // they leave in this write rather than one write each.
        tokio::task::yield_now().await;
        let mut next = Some(first);
        {
            let mut waiting = pending.lock().unwrap_or_else(|e| e.into_inner());
            // Checked under the lock the reader empties the map in when the
            // connection ends: a request put there after that would never
            // be answered.
            if closed.load(Ordering::Acquire) {
                if let Some(out) = next.take() {
                    let _ = out.answer.send(Err(Failed::NotSent));
                }
                break;
            }
            while let Some(out) = next.take() {
                buf.extend_from_slice(&out.frame);
                waiting.insert(out.id, out.answer);
                if buf.len() < WRITE_GATHER_BYTES {
                    next = rx.try_recv().ok();
                }
            }
        }
        if let Err(e) = write.write_all(&buf).await {
            tracing::warn!(error = %e, "a peer connection failed while sending");
            break;
        }
        buf.clear();
    }
    // Whatever is still queued never left; what was being written may have.
    closed.store(true, Ordering::Release);
    rx.close();
    while let Ok(out) = rx.try_recv() {
        let _ = out.answer.send(Err(Failed::NotSent));
    }
    let lost: Vec<_> = pending.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
    for (_, w) in lost {
        let _ = w.send(Err(Failed::Lost));
    }
}

/// Reads answers and hands each to its request; when the connection ends,
/// every request still waiting is lost.
async fn read_answers(
    read: OwnedReadHalf,
    pending: Pending,
    closed: Arc<AtomicBool>,
    peer: String,
    url: Arc<Mutex<Option<HeaderValue>>>,
) {
    let mut read = BufReader::with_capacity(64 * 1024, read);
    loop {
        match read_frame(&mut read).await {
            Ok(Some(frame)) => match decode_answer(frame) {
                Ok((HELLO, hello)) => {
                    if let Some(said) = hello.headers().get(HOME_NODE_HEADER) {
                        *url.lock().unwrap_or_else(|e| e.into_inner()) = Some(said.clone());
                    }
                }
                Ok((id, answer)) => {
                    let waiting = pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    if let Some(w) = waiting {
                        let _ = w.send(Ok(answer));
                    }
                }
                Err(e) => {
                    tracing::warn!(%peer, error = e, "a peer sent an unreadable answer; closing its connection");
                    break;
                }
            },
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "a peer connection failed while reading");
                break;
            }
        }
    }
    closed.store(true, Ordering::Release);
    let lost: Vec<_> = pending.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
    for (_, w) in lost {
        let _ = w.send(Err(Failed::Lost));
    }
}

/// The org a write is for: the segment after `/api/organizations/`.
pub fn org_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api/organizations/")?;
    let org = rest.split('/').next()?;
    (!org.is_empty()).then_some(org)
}

/// Forwards writes of orgs whose home is another node (see the module
/// docs); everything else runs here.
pub async fn layer(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let Some(ring) = app.ring.as_deref() else {
        return next.run(req).await;
    };
    if req.extensions().get::<Forwarded>().is_some() {
        // Served here, the home; the caller's client may come here itself.
        return naming_home(next.run(req).await, ring.url.clone());
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some((org, peer)) = org_of(req.uri().path()).and_then(|org| ring.home(org).map(|p| (org, p))) else {
        return next.run(req).await;
    };
    let (hot, down) = (ring.hot(org), peer.is_down());
    if !hot || down {
        if hot {
            count("down");
        }
        // Served here; a client that knows the nodes goes to the home next
        // time (only while this node is connected to it).
        let url = peer.open_link().and_then(|_| peer.url());
        return naming_home(next.run(req).await, url);
    }
    let (parts, body) = req.into_parts();
    let body = match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, crate::MAX_BODY_BYTES)).await {
        Ok(b) => b.to_bytes(),
        Err(e) => return body_refused(e).into_response(),
    };
    match peer.forward(&parts, &body).await {
        Ok(answer) => {
            count("forwarded");
            answer
        }
        Err(Failed::NotSent) => {
            count("not_sent");
            next.run(Request::from_parts(parts, Body::from(body))).await
        }
        Err(Failed::Lost) if parts.headers.contains_key(crate::extract::IDEMPOTENCY_KEY) => {
            count("lost_retried");
            next.run(Request::from_parts(parts, Body::from(body))).await
        }
        Err(Failed::Lost) => {
            count("lost");
            let mut r = ApiError::new(
                ErrorCode::PeerUnavailable,
                format!(
                    "the node that writes this organisation ({}) did not answer; the write may or may not have been \
                     applied: retry it with an Idempotency-Key",
                    peer.addr()
                ),
            )
            .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    }
}

/// `answer`, naming the org's home node when its URL is known.
fn naming_home(mut answer: Response, url: Option<HeaderValue>) -> Response {
    if let Some(url) = url {
        answer.headers_mut().insert(HOME_NODE_HEADER, url);
    }
    answer
}

fn count(outcome: &'static str) {
    metrics::counter!("creditd_forwarded_requests_total", "outcome" => outcome).increment(1);
}

fn body_refused(e: Box<dyn std::error::Error + Send + Sync>) -> ApiError {
    if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
        crate::extract::body_too_large()
    } else {
        ApiError::new(ErrorCode::InvalidBody, format!("could not read the request body: {e}"))
    }
}

/// Serves forwarded requests on `listener` through `router` until `stop`
/// turns true; then reads no more, answers what it took and closes.
pub async fn listen(
    listener: TcpListener,
    router: Router,
    hello: Option<HeaderValue>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    let mut stopping = stop.clone();
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait_for(|s| *s) => break,
        };
        let tcp = match tcp {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                tracing::warn!(error = %e, "could not accept a peer connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        conns.spawn(serve_peer(tcp, router.clone(), hello.clone(), stop.clone()));
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

async fn serve_peer(
    tcp: TcpStream,
    router: Router,
    hello: Option<HeaderValue>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let (read, write) = tcp.into_split();
    let (answers, rx) = mpsc::unbounded_channel::<Bytes>();
    if let Some(url) = hello {
        let mut hi = StatusCode::OK.into_response();
        hi.headers_mut().insert(HOME_NODE_HEADER, url);
        let _ = answers.send(encode_answer(HELLO, hi).await);
    }
    let writer = tokio::spawn(send_answers(write, rx));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut read = BufReader::with_capacity(64 * 1024, read);
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut read) => f,
            _ = stop.wait_for(|s| *s) => Ok(None),
        };
        let frame = match frame {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "a peer connection failed while reading");
                break;
            }
        };
        let (id, req) = match decode_request(frame) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = e, "a peer sent an unreadable request; closing its connection");
                break;
            }
        };
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let router = router.clone();
        let answers = answers.clone();
        tokio::spawn(async move {
            let response = router.oneshot(req).await.unwrap_or_else(|e| match e {});
            let _ = answers.send(encode_answer(id, response).await);
            drop(slot);
        });
    }
    // The writer ends once every request taken has been answered.
    drop(answers);
    let _ = writer.await;
}

async fn send_answers(mut write: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Bytes>) {
    let mut buf = BytesMut::new();
    while let Some(first) = rx.recv().await {
        // As for requests: answers finished together leave together.
        tokio::task::yield_now().await;
        buf.extend_from_slice(&first);
        while buf.len() < WRITE_GATHER_BYTES {
            match rx.try_recv() {
                Ok(more) => buf.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if let Err(e) = write.write_all(&buf).await {
            tracing::warn!(error = %e, "a peer connection failed while answering");
            return;
        }
        buf.clear();
    }
    let _ = write.shutdown().await;
}

/// One frame's payload; `None` at a clean end between frames.
async fn read_frame(read: &mut BufReader<OwnedReadHalf>) -> std::io::Result<Option<Bytes>> {
    let len = match read.read_u32().await {
        Ok(n) => n as usize,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    if len > MAX_FRAME_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes (at most {MAX_FRAME_BYTES})"),
        ));
    }
    let mut payload = BytesMut::zeroed(len);
    read.read_exact(&mut payload).await?;
    Ok(Some(payload.freeze()))
}

fn put_headers(out: &mut BytesMut, headers: &HeaderMap) -> Option<()> {
    let kept: Vec<_> = headers.iter().filter(|(name, _)| !hop_by_hop(name)).collect();
    if kept.len() > MAX_HEADERS {
        return None;
    }
    out.put_u16(kept.len() as u16);
    for (name, value) in kept {
        out.put_u16(u16::try_from(name.as_str().len()).ok()?);
        out.put_slice(name.as_str().as_bytes());
        out.put_u32(u32::try_from(value.len()).ok()?);
        out.put_slice(value.as_bytes());
    }
    Some(())
}

/// Headers about one connection, not the request.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade" | "content-length"
    )
}

/// A framed request, or `None` when it cannot be framed (the caller then
/// runs it here).
fn encode_request(id: u64, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Option<Bytes> {
    let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut out = BytesMut::with_capacity(64 + target.len() + body.len() + 48 * headers.len());
    out.put_u32(0);
    out.put_u64(id);
    out.put_u8(u8::try_from(method.as_str().len()).ok()?);
    out.put_slice(method.as_str().as_bytes());
    out.put_u16(u16::try_from(target.len()).ok()?);
    out.put_slice(target.as_bytes());
    put_headers(&mut out, headers)?;
    out.put_u32(u32::try_from(body.len()).ok()?);
    out.put_slice(body);
    finish(out)
}

async fn encode_answer(id: u64, response: Response) -> Bytes {
    let (parts, body) = response.into_parts();
    let (status, headers, body) = match axum::body::to_bytes(body, MAX_ANSWER_BYTES).await {
        Ok(b) => (parts.status, parts.headers, b),
        Err(e) => {
            let e = ApiError::new(ErrorCode::PeerUnavailable, format!("the home node could not send its answer: {e}"));
            let (p, b) = e.into_response().into_parts();
            (p.status, p.headers, axum::body::to_bytes(b, MAX_ANSWER_BYTES).await.unwrap_or_default())
        }
    };
    let mut out = BytesMut::with_capacity(64 + body.len() + 48 * headers.len());
    out.put_u32(0);
    out.put_u64(id);
    out.put_u16(status.as_u16());
    if put_headers(&mut out, &headers).is_none() {
        out.truncate(14);
        out.put_u16(0);
    }
    out.put_u32(body.len() as u32);
    out.put_slice(&body);
    finish(out).unwrap_or_default()
}

fn finish(mut out: BytesMut) -> Option<Bytes> {
    let len = u32::try_from(out.len() - 4).ok().filter(|n| *n as usize <= MAX_FRAME_BYTES)?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Some(out.freeze())
}

/// Bounds-checked reads from a frame.
struct Frame(Bytes);

impl Frame {
    const SHORT: &'static str = "a frame ends early";
    fn u8(&mut self) -> Result<u8, &'static str> {
        self.0.try_get_u8().map_err(|_| Self::SHORT)
    }
    fn u16(&mut self) -> Result<u16, &'static str> {
        self.0.try_get_u16().map_err(|_| Self::SHORT)
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        self.0.try_get_u32().map_err(|_| Self::SHORT)
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        self.0.try_get_u64().map_err(|_| Self::SHORT)
    }
    fn take(&mut self, n: usize) -> Result<Bytes, &'static str> {
        if self.0.remaining() < n {
            return Err(Self::SHORT);
        }
        Ok(self.0.split_to(n))
    }
    fn headers(&mut self) -> Result<HeaderMap, &'static str> {
        let n = self.u16()? as usize;
        if n > MAX_HEADERS {
            return Err("too many headers");
        }
        let mut map = HeaderMap::with_capacity(n);
        for _ in 0..n {
            let len = self.u16()? as usize;
            let name = HeaderName::from_bytes(&self.take(len)?).map_err(|_| "a bad header name")?;
            let len = self.u32()? as usize;
            let value = HeaderValue::from_maybe_shared(self.take(len)?).map_err(|_| "a bad header value")?;
            map.append(name, value);
        }
        Ok(map)
    }
    fn end(&self) -> Result<(), &'static str> {
        if self.0.has_remaining() { Err("a frame has bytes after its end") } else { Ok(()) }
    }
}

fn decode_request(frame: Bytes) -> Result<(u64, Request), &'static str> {
    let mut f = Frame(frame);
    let id = f.u64()?;
    let len = f.u8()? as usize;
    let method = Method::from_bytes(&f.take(len)?).map_err(|_| "a bad method")?;
    let len = f.u16()? as usize;
    let uri = Uri::from_maybe_shared(f.take(len)?).map_err(|_| "a bad target")?;
    let headers = f.headers()?;
    let len = f.u32()? as usize;
    let body = f.take(len)?;
    f.end()?;
    let mut req = Request::new(Body::from(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    req.extensions_mut().insert(Forwarded);
    Ok((id, req))
}

fn decode_answer(frame: Bytes) -> Result<(u64, Response), &'static str> {
    let mut f = Frame(frame);
    let id = f.u64()?;
    let status = StatusCode::from_u16(f.u16()?).map_err(|_| "a bad status")?;
    let headers = f.headers()?;
    let len = f.u32()? as usize;
    let body = f.take(len)?;
    f.end()?;
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    Ok((id, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_computes_the_same_home_and_orgs_spread() {
        let names = ["10.0.0.1:7001", "10.0.0.2:7001", "10.0.0.3:7001"];
        let rings: Vec<Ring> = names.iter().map(|me| Ring::new(*me, names.iter().map(|n| n.to_string()))).collect();
        assert!(rings.iter().all(|r| r.hot_rate == DEFAULT_HOT_WRITES_PER_SECOND));
        let mut homes = HashMap::new();
        for i in 0..3000 {
            let org = format!("org-{i}");
            let seen: Vec<&str> = rings.iter().map(|r| r.home(&org).map(|p| p.addr()).unwrap_or(r.me())).collect();
            assert!(seen.iter().all(|h| *h == seen[0]), "{org}: {seen:?}");
            *homes.entry(seen[0].to_string()).or_insert(0) += 1;
        }
        assert_eq!(homes.len(), 3);
        for (node, n) in &homes {
            assert!((800..1200).contains(n), "{node} is home to {n} of 3,000 orgs");
        }
    }

    #[test]
    fn a_node_leaving_moves_only_its_own_orgs() {
        let all = ["a:1", "b:1", "c:1"];
        let three = Ring::new("a:1", all.iter().map(|n| n.to_string()));
        let two = Ring::new("a:1", ["b:1".to_string()]);
        for i in 0..1000 {
            let org = format!("o{i}");
            let before = three.home(&org).map(|p| p.addr().to_string()).unwrap_or("a:1".into());
            let after = two.home(&org).map(|p| p.addr().to_string()).unwrap_or("a:1".into());
            if before != "c:1" {
                assert_eq!(before, after, "{org} moved though its home stayed");
            }
        }
    }

    #[test]
    fn an_org_is_hot_from_its_rate_in_this_second_or_the_last() {
        let mut r = Rates::default();
        let hot = |r: &mut Rates, org: &str, second: u64| r.count(org, second, 3);
        assert!(!hot(&mut r, "a", 10));
        assert!(!hot(&mut r, "a", 10));
        assert!(hot(&mut r, "a", 10), "the third write in a second");
        assert!(!hot(&mut r, "b", 10));
        // The next second: `a` is hot from its first write, `b` is not.
        assert!(hot(&mut r, "a", 11));
        assert!(!hot(&mut r, "b", 11));
        // A second with no writes in between: nothing carries over.
        assert!(!hot(&mut r, "a", 13));
        // Counting stops at the bound.
        let mut r = Rates::default();
        for i in 0..MAX_COUNTED_ORGS {
            r.count(&format!("o{i}"), 1, 2);
        }
        assert!(!r.count("late", 1, 1), "an org past the bound is not counted");
        assert_eq!(r.counts.len(), MAX_COUNTED_ORGS);
    }

    #[test]
    fn an_advertised_url_is_an_absolute_http_url() {
        let r = Ring::new("a:1", ["b:1".to_string()]);
        assert_eq!(r.url(), None);
        let r = r.with_url("http://10.0.0.1:8080").unwrap();
        assert_eq!(r.url(), Some("http://10.0.0.1:8080/"));
        let r = Ring::new("a:1", []).with_url("https://creditd-1.internal/base").unwrap();
        assert_eq!(r.url(), Some("https://creditd-1.internal/base"));
        for bad in ["10.0.0.1:8080", "ftp://h/", "http://h/?x=1", "http://h/#f", "http://u:p@h/", "http://"] {
            assert!(Ring::new("a:1", []).with_url(bad).is_err(), "{bad} was taken");
        }
        let long = format!("http://h/{}", "a".repeat(MAX_URL_BYTES));
        assert!(Ring::new("a:1", []).with_url(&long).is_err());
    }

    #[test]
    fn the_org_of_a_path() {
        assert_eq!(org_of("/api/organizations/acme/usage"), Some("acme"));
        assert_eq!(org_of("/api/organizations/acme"), Some("acme"));
        assert_eq!(org_of("/api/organizations"), None);
        assert_eq!(org_of("/api/organizations/"), None);
        assert_eq!(org_of("/organizations/acme/usage"), None);
    }

    #[tokio::test]
    async fn frames_round_trip_and_bad_ones_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k"));
        headers.insert("idempotency-key", HeaderValue::from_static("abc"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        let uri: Uri = "/api/organizations/o/usage?x=1".parse().unwrap();
        let frame = encode_request(7, &Method::POST, &uri, &headers, &Bytes::from_static(b"{\"a\":1}")).unwrap();
        let (id, req) = decode_request(frame.slice(4..)).unwrap();
        assert_eq!(id, 7);
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), &uri);
        assert_eq!(req.headers()["idempotency-key"], "abc");
        assert!(req.headers().get(header::CONNECTION).is_none(), "hop-by-hop headers stay behind");
        assert!(req.extensions().get::<Forwarded>().is_some());
        let body = axum::body::to_bytes(req.into_body(), 100).await.unwrap();
        assert_eq!(&body[..], b"{\"a\":1}");

        // Every truncation of a frame is refused, never a panic.
        for cut in 0..frame.len() - 4 {
            assert!(decode_request(frame.slice(4..4 + cut)).is_err(), "cut at {cut}");
        }
        let mut longer = BytesMut::from(&frame[4..]);
        longer.put_u8(0);
        assert!(decode_request(longer.freeze()).is_err());

        let answer = Response::builder().status(201).header("x-a", "b").body(Body::from("ok")).unwrap();
        let frame = encode_answer(9, answer).await;
        let (id, r) = decode_answer(frame.slice(4..)).unwrap();
        assert_eq!((id, r.status().as_u16(), r.headers()["x-a"].to_str().unwrap()), (9, 201, "b"));
        for cut in 0..frame.len() - 4 {
            assert!(decode_answer(frame.slice(4..4 + cut)).is_err(), "cut at {cut}");
        }
    }
}

#[cfg(test)]
mod peer_tests {
    use super::*;

    fn usage() -> (request::Parts, Bytes) {
        let req = Request::post("/api/organizations/o/usage").body(()).unwrap();
        (req.into_parts().0, Bytes::from_static(b"{}"))
    }

    #[tokio::test]
    async fn a_peer_answers_and_failures_say_whether_the_request_left() {
        let (parts, body) = usage();

        // Nobody listens: the request never left, and the peer is left alone.
        let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = gone.local_addr().unwrap().to_string();
        drop(gone);
        let peer = Peer::new(addr);
        assert_eq!(peer.forward(&parts, &body).await.err(), Some(Failed::NotSent));
        assert!(peer.is_down());
        assert_eq!(peer.forward(&parts, &body).await.err(), Some(Failed::NotSent));

        // A peer that takes the request and closes: it may have been applied.
        let rude = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = Peer::new(rude.local_addr().unwrap().to_string());
        tokio::spawn(async move {
            let (mut tcp, _) = rude.accept().await.unwrap();
            let mut buf = [0u8; 16];
            let _ = tcp.read(&mut buf).await;
        });
        assert_eq!(peer.forward(&parts, &body).await.err(), Some(Failed::Lost));

        // A home node: its router's answer comes back whole.
        let home = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = Arc::new(Peer::new(home.local_addr().unwrap().to_string()));
        let router = Router::new().route(
            "/api/organizations/{org}/usage",
            axum::routing::post(|req: Request| async move {
                let forwarded = req.extensions().get::<Forwarded>().is_some();
                (StatusCode::CREATED, format!("forwarded={forwarded}"))
            }),
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let said = HeaderValue::from_static("http://10.0.0.9:8080/");
        let served = tokio::spawn(listen(home, router, Some(said.clone()), stopped));
        assert_eq!(peer.url(), None);
        let mut all = tokio::task::JoinSet::new();
        for _ in 0..50 {
            let peer = peer.clone();
            all.spawn(async move {
                let (parts, body) = usage();
                peer.forward(&parts, &body).await
            });
        }
        while let Some(answer) = all.join_next().await {
            let r = answer.unwrap().expect("answered");
            assert_eq!(r.status(), StatusCode::CREATED);
            let text = axum::body::to_bytes(r.into_body(), 100).await.unwrap();
            assert_eq!(&text[..], b"forwarded=true");
        }
        // Its hello said its URL.
        assert_eq!(peer.url(), Some(said));
        // A stopped home node closes; the next request does not leave.
        stop.send(true).unwrap();
        served.await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(peer.forward(&parts, &body).await.err(), Some(Failed::NotSent));
    }
}
