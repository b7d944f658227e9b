//! The HTTP listener: how many connections, how long and how big a request may be, and a
//! shutdown that finishes what was started.
//!
//! `axum::serve` has no knobs for these, so connections are served here with hyper's own
//! builder. What the edge cannot shape (a header too large, or one sent too slowly) hyper
//! answers or closes before any handler runs; everything after the headers is answered in
//! the i'mport envelope.

use crate::edge::envelope::{error_in, language_of};
use crate::edge::ApiError;
use crate::observability;
use axum::body::Body;
use axum::body::{Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;
use http_body::{Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};
use tracing::Instrument;

/// The limits of the listener. `vbank serve` takes each as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most; past it, new ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// A request's headers must arrive within this (an idle keep-alive connection is closed
    /// after it too); hyper closes the connection otherwise.
    pub header_read_timeout: Duration,
    /// The request line and headers together, in bytes; larger gets 431 from hyper.
    pub max_header_bytes: usize,
    /// From the headers to the answer, body included. A request that runs out of time is
    /// answered 503, and its work still runs to the end: a revoke the PG took is recorded.
    pub request_timeout: Duration,
    /// How long a shutdown waits for in-flight requests before it gives up on them.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(30),
            max_header_bytes: 16 * 1024,
            request_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Runs each request that may change something (anything but GET and HEAD) in its own
/// task, so that a client that leaves, or a request that runs out of time, does not cut a
/// PG call or a commit in half; answers 503 when `request_timeout` passes first, and 500
/// (not a dropped connection) when a handler panics. Reads need no task of their own:
/// dropping one half-way loses nothing, and the hand-off would cost more than the read.
pub async fn request_deadline(State(timeout): State<Duration>, mut request: Request, next: Next) -> Response {
    let request_id = observability::ensure_request_id(&mut request);
    let language = language_of(request.headers());
    let reads_only = matches!(*request.method(), Method::GET | Method::HEAD);
    let answered = if reads_only {
        let work = AssertUnwindSafe(next.run(request)).catch_unwind();
        tokio::time::timeout(timeout, work)
            .await
            .map(|result| result.map_err(|_| "the handler panicked".to_owned()))
    } else {
        // A body still arriving at the deadline fails, so that the request's task ends too.
        let request = request.map(|body| Body::new(DeadlineBody::new(body, timeout)));
        let work = tokio::spawn(next.run(request).in_current_span());
        tokio::time::timeout(timeout, work)
            .await
            .map(|result| result.map_err(|failure| failure.to_string()))
    };
    let error = match answered {
        Ok(Ok(response)) => return response,
        Ok(Err(failure)) => {
            tracing::error!(%request_id, %failure, "a request's handler failed");
            ApiError::Internal {
                request_id: request_id.clone(),
            }
        }
        Err(_) => {
            tracing::warn!(%request_id, timeout_ms = timeout.as_millis() as u64, "request timed out; its work goes on");
            ApiError::TimedOut
        }
    };
    let mut response = error_in(language, error);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(observability::REQUEST_ID_HEADER, value);
    }
    response
}

/// A request body that fails once its deadline passes, however it trickles in. The timer
/// is armed only if the body is not already there when first read (most bodies arrive
/// with their headers), since a timer per request costs under load.
struct DeadlineBody {
    inner: Body,
    deadline: tokio::time::Instant,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl DeadlineBody {
    fn new(inner: Body, timeout: Duration) -> DeadlineBody {
        DeadlineBody {
            inner,
            deadline: tokio::time::Instant::now() + timeout,
            timer: None,
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new("the request body did not arrive in time")))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then stops
/// accepting, lets in-flight requests finish (up to `shutdown_grace`) and returns.
pub async fn serve<A>(
    listener: TcpListener,
    app: A,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    A: Service<Request, Response = Response, Error = std::convert::Infallible> + Clone + Send + 'static,
    A::Future: Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // Backpressure: at the limit, stop accepting; the kernel queues newcomers.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%error, "cannot accept a connection; retrying shortly");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that vanishes or sends garbage is its own problem, not an error here.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_seconds = limits.shutdown_grace.as_secs(),
            "shutdown: some requests were still running after the grace period; the reconciler settles any revoke left in doubt"
        );
    }
    Ok(())
}
