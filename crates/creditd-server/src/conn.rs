//! Connections: how long a client may take, and how many may be open.
//!
//! axum's own `serve` keeps a connection open for as long as the client
//! likes: one that sends half a request line, half a body or nothing at all
//! holds a socket and a task forever, and enough of them exhaust the
//! process's file descriptors. [`serve`] accepts connections itself so that
//! every phase has a deadline ([`Limits`]):
//!
//! - **header**: a request's head (request line and headers) must arrive
//!   within `header_timeout` of the connection opening or of its first byte;
//! - **body**: a request body must arrive within `body_timeout` of the
//!   request starting ([`with_body_deadline`], a 408 `request_timeout` that closes
//!   the connection);
//! - **idle**: a kept-alive connection with no request for `idle_timeout` is
//!   closed.
//!
//! At most `max_connections` are open at once; beyond that new connections
//! are not accepted (they wait in the listen backlog) until one closes.

use creditd_core::ErrorCode;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::error::ApiError;

/// Deadlines and the connection limit. Defaults: 10 s header, 30 s body,
/// 60 s idle, 4,096 connections.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops
/// accepting, lets requests in flight finish (idle connections close at
/// once) and returns when every connection has closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the limit, connections wait in the backlog.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        tasks.spawn(connection(tcp, router.clone(), limits, stop_rx.clone(), permit));
        // Reap finished connections so the set stays as small as the open ones.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

async fn connection(
    tcp: TcpStream,
    router: Router,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
    _permit: tokio::sync::OwnedSemaphorePermit,
) {
    let phase = Arc::new(Phase::new());
    let io = TokioIo::new(Watched {
        inner: tcp,
        phase: phase.clone(),
        limits,
        sleep: Box::pin(tokio::time::sleep(limits.header_timeout)),
    });
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        phase.request_started();
        let phase = phase.clone();
        let router = router.clone();
        async move {
            let response = router.oneshot(req.map(axum::body::Body::new)).await.unwrap_or_else(|e| match e {});
            Ok::<_, Infallible>(response.map(|inner| Tracked { inner, phase }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own deadlines (in `Watched`) replace hyper's header timeout, which
    // would also close idle keep-alive connections after the header time.
    builder.timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection closed with an error");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Where a connection is: waiting for a request head (since when, and
/// since its first byte) or serving a request.
struct Phase {
    state: Mutex<PhaseState>,
}

struct PhaseState {
    awaiting_head: bool,
    served_any: bool,
    /// The connection opened, or the last response was sent.
    since: Instant,
    /// The first byte of the head being awaited.
    first_byte: Option<Instant>,
    /// The connection's task, if a read went pending while a request was
    /// being served (no deadline then): woken when the response has been
    /// sent, so the read is polled again and its idle timer armed. Without
    /// it a kept-alive connection whose client read its answer and went
    /// quiet was never polled again, and never closed.
    parked: Option<Waker>,
}

impl Phase {
    fn new() -> Phase {
        Phase {
            state: Mutex::new(PhaseState {
                awaiting_head: true,
                served_any: false,
                since: Instant::now(),
                first_byte: None,
                parked: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PhaseState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn request_started(&self) {
        let mut s = self.lock();
        s.awaiting_head = false;
        s.first_byte = None;
    }

    fn response_sent(&self) {
        let parked = {
            let mut s = self.lock();
            s.awaiting_head = true;
            s.served_any = true;
            s.since = Instant::now();
            s.first_byte = None;
            s.parked.take()
        };
        if let Some(w) = parked {
            w.wake();
        }
    }

    fn bytes_read(&self) {
        let mut s = self.lock();
        if s.awaiting_head && s.first_byte.is_none() {
            s.first_byte = Some(Instant::now());
        }
    }

    /// When a read still pending must give up; `None` while a request is
    /// being served (its body has [`with_body_deadline`], its handler no
    /// limit), and then `waker` is kept to be woken once the response has
    /// been sent (in the same lock: no wake is lost in between).
    fn read_deadline(&self, limits: &Limits, waker: &Waker) -> Option<Instant> {
        let mut s = self.lock();
        if !s.awaiting_head {
            if !s.parked.as_ref().is_some_and(|w| w.will_wake(waker)) {
                s.parked = Some(waker.clone());
            }
            return None;
        }
        Some(match s.first_byte {
            Some(t) => t + limits.header_timeout,
            None if s.served_any => s.since + limits.idle_timeout,
            None => s.since + limits.header_timeout,
        })
    }
}

/// The socket, failing a read that waits past the phase's deadline.
struct Watched {
    inner: TcpStream,
    phase: Arc<Phase>,
    limits: Limits,
    sleep: Pin<Box<Sleep>>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.phase.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let Some(deadline) = this.phase.read_deadline(&this.limits, cx.waker()) else { return Poll::Pending };
                // The timer is moved only to an earlier deadline. Each
                // answer pushes the idle deadline later, and moving a
                // registered timer on every request was a measurable part
                // of a node's CPU (perf); a timer that fires before the
                // deadline is re-armed instead (at most once per idle
                // period).
                loop {
                    if deadline < this.sleep.deadline() {
                        this.sleep.as_mut().reset(deadline);
                    }
                    match this.sleep.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        // Set at (or after) the deadline and fired: too slow.
                        Poll::Ready(()) if this.sleep.deadline() >= deadline => {
                            return Poll::Ready(Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "client too slow sending a request",
                            )));
                        }
                        // Set for an earlier deadline: re-armed for this one.
                        Poll::Ready(()) => this.sleep.as_mut().reset(deadline),
                    }
                }
            }
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A response body that marks the connection idle once hyper has sent it
/// (and dropped it), which starts the idle deadline.
struct Tracked {
    inner: axum::body::Body,
    phase: Arc<Phase>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.phase.response_sent();
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The error a request body gives once its deadline has passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimedOut;

/// A request body that fails once `deadline` has passed while waiting for
/// more of it. The timer is made only when the body is not all there at
/// once (most requests arrive whole in one read): no timer and no extra
/// allocation per request otherwise.
struct DeadlineBody {
    inner: axum::body::Body,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    fired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(r) => Poll::Ready(r.map(|f| f.map_err(Into::into))),
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.fired.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(BodyTimedOut.into())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Whether a request's body missed its deadline ([`with_body_deadline`]);
/// `None` for a request without a body.
pub struct BodyDeadline(Option<Arc<AtomicBool>>);

/// The request body must have arrived `body_timeout` after the request
/// started: `req` with its body wrapped so, and the flag
/// [`body_deadline_answer`] reads once the handler has answered. An empty
/// body (a GET) cannot be late and is left as it is.
pub fn with_body_deadline(limits: &Limits, req: Request) -> (Request, BodyDeadline) {
    if http_body::Body::is_end_stream(req.body()) {
        return (req, BodyDeadline(None));
    }
    let fired = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + limits.body_timeout;
    let req =
        req.map(|inner| axum::body::Body::new(DeadlineBody { inner, deadline, sleep: None, fired: fired.clone() }));
    (req, BodyDeadline(Some(fired)))
}

/// A 413 closes its connection, and says so: the refused body was not
/// read to its end, so the connection cannot carry another request, and a
/// client told `Connection: close` does not send its next request on it
/// (one that pooled it would otherwise see it closed under that request).
pub fn close_after_refused_body(mut response: Response) -> Response {
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The handler's `response`, unless the body missed its deadline: then
/// the answer is 408 `request_timeout` (whatever the handler made of the
/// broken body) and the connection is closed, since the rest of the body
/// may still be on its way. Run by [`crate::ops::per_request`].
pub fn body_deadline_answer(limits: &Limits, late: &BodyDeadline, response: Response) -> Response {
    if !late.0.as_ref().is_some_and(|f| f.load(Ordering::Relaxed)) {
        return response;
    }
    let mut response = ApiError::new(
        ErrorCode::RequestTimeout,
        format!("the request body did not arrive within {} s", limits.body_timeout.as_secs_f64()),
    )
    .into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
