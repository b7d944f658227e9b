//! `POST /notifications/{pg_provider}`: where each PG sends its deposit notifications.
//! Not behind a token: the PG's own authentication (or a confirming query) applies.

use crate::app::AppState;
use crate::edge::client_address::ClientAddress;
use crate::edge::ApiError;
use crate::services::notices;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::str::FromStr;
use std::sync::Arc;
use vbank_core::PgProvider;

pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/notifications/{pg_provider}", post(receive))
}

/// Where a PG notifies a deposit, in that PG's own format (EUC-KR forms, JSON, ...); answered
/// with the acknowledgement that PG expects. Not behind a token: the PG's signature, or a
/// confirming query to the PG, decides.
#[utoipa::path(post, path = "/notifications/{pg_provider}", tag = "vbank",
    params(("pg_provider" = String, Path, description = "`html5_inicis`, `tosspayments`, `kcp`, `nice`, `nice_v2`, `kicc`, `settle`, `smartro_v2`.")),
    request_body(description = "The PG's notification, as the PG sends it: a form (most PGs, some in EUC-KR) or JSON (Toss Payments, NICE v2).",
        content((std::collections::HashMap<String, String> = "application/x-www-form-urlencoded"), (serde_json::Value = "application/json"))),
    responses(
        (status = 200, description = "The PG's acknowledgement (`OK`, `{\"resCd\":\"0000\"}`, ...), positive or negative.", content_type = "text/plain"),
        (status = 404, description = "Unknown PG (code -1).", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn receive(
    State(state): State<Arc<AppState>>,
    Path(pg_provider): Path<String>,
    ClientAddress(source): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(provider) = PgProvider::from_str(&pg_provider) else {
        return ApiError::RouteNotFound.into_response();
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let ack = notices::receive(&state, provider, source, content_type, &body).await;
    (
        StatusCode::from_u16(ack.status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, ack.content_type)],
        ack.body,
    )
        .into_response()
}
