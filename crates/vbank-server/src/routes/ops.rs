//! For operators and orchestrators: `GET /healthz` (the process answers), `GET /readyz`
//! (the database answers and its migrations are current) and `GET /metrics` (Prometheus).
//! No merchant token: they reveal no merchant's data. `/metrics` shows volumes, so
//! `--metrics-token` can require `Authorization: Bearer TOKEN` of the scraper.

use crate::app::AppState;
use crate::edge::envelope::json_response;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use utoipa::ToSchema;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The answer of `/healthz` and `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthJson {
    /// `ok`, or `unavailable`.
    pub status: &'static str,
    /// What was checked and found wrong, and what to do about it; absent when all is well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The process is up and serving HTTP.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process answers.", body = HealthJson)))]
pub async fn healthz() -> Response {
    json_response(
        StatusCode::OK,
        &HealthJson {
            status: "ok",
            problem: None,
        },
    )
}

/// Ready for traffic: the database answers and has every migration this binary knows.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready.", body = HealthJson),
    (status = 503, description = "The database is unreachable or behind this binary's migrations.", body = HealthJson),
))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let problem = match state.store.pending_migrations().await {
        Ok(pending) if pending.is_empty() => None,
        Ok(pending) => Some(format!(
            "the database lacks migrations {pending:?}: restart `vbank serve` (it migrates on start) or run the newer binary once"
        )),
        Err(error) => Some(format!("the database does not answer ({error}); check --database-url and that the database runs")),
    };
    match problem {
        None => json_response(
            StatusCode::OK,
            &HealthJson {
                status: "ok",
                problem: None,
            },
        ),
        Some(problem) => {
            tracing::warn!(%problem, "not ready");
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &HealthJson {
                    status: "unavailable",
                    problem: Some(problem),
                },
            )
        }
    }
}

/// Prometheus metrics: `vbank_http_requests_total`, `vbank_http_request_duration_seconds`,
/// `vbank_pg_call_duration_seconds` (by PG, operation, outcome), `vbank_webhook_attempts_total`,
/// `vbank_webhook_backlog`, `vbank_revokes_in_doubt`, `vbank_pg_notices_total` (by PG and outcome).
/// With `--metrics-token`, only for `Authorization: Bearer TOKEN`.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "The Prometheus text exposition format.", content_type = "text/plain; version=0.0.4", body = String),
    (status = 401, description = "The server has a --metrics-token and the request did not bear it.", body = HealthJson),
    (status = 503, description = "The database does not answer, so the backlog gauges cannot be read.", body = HealthJson),
))]
pub async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests compared, so the time taken says nothing about the token.
        if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.as_bytes()) {
            let mut answer = json_response(
                StatusCode::UNAUTHORIZED,
                &HealthJson {
                    status: "unauthorized",
                    problem: Some("send Authorization: Bearer with the server's --metrics-token".into()),
                },
            );
            answer
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return answer;
        }
    }
    match state.metrics.render(state.store.as_ref()).await {
        Ok(text) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &HealthJson {
                status: "unavailable",
                problem: Some(format!(
                    "the database does not answer ({error}); check --database-url and that the database runs"
                )),
            },
        ),
    }
}
