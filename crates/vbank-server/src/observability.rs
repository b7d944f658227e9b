//! What operators see of a running server: Prometheus metrics, a request id on every
//! answer (and in the logs), and the timing of every PG call.
//!
//! Metrics live in a registry per server (not a process-wide one), so that several servers
//! in one process (the tests, a multi-node test) count separately.

use crate::app::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;
use vbank_core::{ImpUid, PgProvider};
use vbank_pg::{PgError, RevokeOutcome};
use vbank_store::HistoryNote;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, if any (`X-Request-Id`).
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    pg_calls: HistogramVec,
    webhook_attempts: IntCounterVec,
    pg_notices: IntCounterVec,
    webhook_backlog: IntGauge,
    revokes_in_doubt: IntGauge,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "vbank_http_requests_total",
                "HTTP requests answered, by route template and status.",
            ),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("vbank_http_request_duration_seconds", "Time to answer an HTTP request."),
            &["method", "route"],
        )?;
        let pg_calls = HistogramVec::new(
            HistogramOpts::new(
                "vbank_pg_call_duration_seconds",
                "PG calls by PG, operation and outcome, with their latency.",
            )
            .buckets(vec![0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["pg", "operation", "outcome"],
        )?;
        let webhook_attempts = IntCounterVec::new(
            Opts::new(
                "vbank_webhook_attempts_total",
                "Merchant webhook delivery attempts, by what became of the delivery (delivered, retry, failed).",
            ),
            &["outcome"],
        )?;
        let pg_notices = IntCounterVec::new(
            Opts::new(
                "vbank_pg_notices_total",
                "PG notifications received, by PG and outcome: applied; forged (signature, secret, source \
                 address or the PG's own answer says no), unreadable and unknown_payment (unauthenticated \
                 attempts); unconfirmed and failed (the PG resends).",
            ),
            &["pg", "outcome"],
        )?;
        let webhook_backlog = IntGauge::new(
            "vbank_webhook_backlog",
            "Webhook deliveries waiting to be delivered (all merchants, all nodes).",
        )?;
        let revokes_in_doubt = IntGauge::new(
            "vbank_revokes_in_doubt",
            "Payments whose revoke may or may not have reached the PG; the reconciler asks the PG.",
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(pg_calls.clone()))?;
        registry.register(Box::new(webhook_attempts.clone()))?;
        registry.register(Box::new(pg_notices.clone()))?;
        registry.register(Box::new(webhook_backlog.clone()))?;
        registry.register(Box::new(revokes_in_doubt.clone()))?;
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            pg_calls,
            webhook_attempts,
            pg_notices,
            webhook_backlog,
            revokes_in_doubt,
        })
    }

    /// Counts a webhook attempt: `delivered`, `retry` or `failed`.
    pub fn webhook_attempt(&self, outcome: &str) {
        self.webhook_attempts.with_label_values(&[outcome]).inc();
    }

    /// Counts a PG notification by what became of it.
    pub fn pg_notice(&self, pg: &str, outcome: &str) {
        self.pg_notices.with_label_values(&[pg, outcome]).inc();
    }

    /// The Prometheus text format, with the gauges read from the database now.
    pub async fn render(&self, store: &dyn vbank_store::Store) -> Result<String, vbank_store::StoreError> {
        let backlog = store.backlog().await?;
        self.webhook_backlog.set(backlog.pending_webhook_deliveries);
        self.revokes_in_doubt.set(backlog.revokes_in_doubt);
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail short of a metric with invalid UTF-8, which ours are not.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        Ok(String::from_utf8_lossy(&buffer).into_owned())
    }
}

/// An incoming `X-Request-Id` worth keeping (a proxy's), or a fresh one.
/// Makes sure the request carries a usable `X-Request-Id` (the client's, or a new one), so
/// that every layer, and the answer, name the same id.
pub fn ensure_request_id(request: &mut Request) -> String {
    let request_id = request_id_for(request);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    request_id
}

fn request_id_for(request: &Request) -> String {
    request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()))
}

/// Gives every request an id (logs, `X-Request-Id`, the message of a 500) and counts it
/// by route template, so that `/payments/imp_1` and `/payments/imp_2` are one series.
pub async fn request_layer(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let request_id = request_id_for(&request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!("request", id = %request_id, %method, path = %request.uri().path());
    let started = Instant::now();
    let mut response = REQUEST_ID
        .scope(request_id.clone(), next.run(request).instrument(span.clone()))
        .await;
    let elapsed = started.elapsed();
    let status = response.status();
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                elapsed_ms = elapsed.as_millis() as u64,
                "answered"
            );
        } else {
            tracing::info!(
                status = status.as_u16(),
                elapsed_ms = elapsed.as_millis() as u64,
                "answered"
            );
        }
    });
    metrics
        .http_requests
        .with_label_values(&[&method, &route, status.as_str()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[&method, &route])
        .observe(elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// How a PG call ended, as a metric label.
pub trait PgCallOutcome {
    fn outcome(&self) -> &'static str;
}

impl<T> PgCallOutcome for Result<T, PgError> {
    fn outcome(&self) -> &'static str {
        match self {
            Ok(_) => "ok",
            Err(PgError::Refused(_)) => "refused",
            Err(PgError::MissingCredential(_)) => "missing_credential",
            Err(PgError::NotSent(_)) => "not_sent",
            Err(PgError::Unknown(_)) => "unknown",
        }
    }
}

impl PgCallOutcome for RevokeOutcome {
    fn outcome(&self) -> &'static str {
        match self {
            RevokeOutcome::Revoked { .. } => "ok",
            RevokeOutcome::AlreadyCancelled => "already_cancelled",
            RevokeOutcome::AlreadyDeposited => "already_deposited",
            RevokeOutcome::Refused(_) => "refused",
            RevokeOutcome::NotSent(_) => "not_sent",
            RevokeOutcome::Unknown(_) => "unknown",
        }
    }
}

/// Times a call to a PG: the latency and outcome go to `/metrics` and, when the call is
/// about a payment, to its history (`GET /payments/{imp_uid}/events`).
pub async fn pg_call<T: PgCallOutcome>(
    state: &AppState,
    provider: PgProvider,
    operation: &'static str,
    imp_uid: Option<&ImpUid>,
    call: impl Future<Output = T>,
) -> T {
    let (result, note) = pg_call_noted(state, provider, operation, call).await;
    if let Some(imp_uid) = imp_uid {
        // History is a convenience for operators; a failure to write it must not fail the call.
        if let Err(error) = state
            .store
            .record_event(imp_uid, state.clock.now(), note.kind, &note.detail)
            .await
        {
            tracing::warn!(%error, "could not record a PG call in the payment's history");
        }
    }
    result
}

/// As [`pg_call`], but the history line is handed back, for the caller to write in the
/// transition that follows the call (one commit fewer on the hot path).
pub async fn pg_call_noted<T: PgCallOutcome>(
    state: &AppState,
    provider: PgProvider,
    operation: &'static str,
    call: impl Future<Output = T>,
) -> (T, HistoryNote) {
    let started = Instant::now();
    let result = call.await;
    let elapsed = started.elapsed();
    let outcome = result.outcome();
    state
        .metrics
        .pg_calls
        .with_label_values(&[provider.code(), operation, outcome])
        .observe(elapsed.as_secs_f64());
    tracing::info!(
        pg = provider.code(),
        operation,
        outcome,
        elapsed_ms = elapsed.as_millis() as u64,
        "PG call"
    );
    let note = HistoryNote {
        kind: "pg_call",
        detail: format!(
            "{} {operation}: {outcome} ({} ms)",
            provider.code(),
            elapsed.as_millis()
        ),
    };
    (result, note)
}
