//! `GET /webhooks?imp_uid=...` (deliveries with their attempts) and
//! `POST /webhooks/{id}/resend`, both scoped to the token's merchant.

use crate::app::AppState;
use crate::edge::auth::Authenticated;
use crate::edge::envelope::Text;
use crate::edge::{envelope, query, ApiError, ApiResult, Envelope};
use crate::services::lookups;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use vbank_store::DeliveryRecord;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/webhooks", get(list))
        .route("/webhooks/{id}/resend", post(resend))
}

/// One attempt at a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptJson {
    at: i64,
    http_status: Option<u16>,
    latency_ms: i64,
    error: Option<String>,
}

/// A webhook delivery: one state change of a payment to one URL.
#[derive(Serialize, ToSchema)]
pub struct DeliveryJson {
    id: i64,
    webhook_id: String,
    imp_uid: String,
    status: String,
    cancellation_id: Option<String>,
    url: String,
    state: String,
    next_attempt_at: i64,
    created_at: i64,
    delivered_at: i64,
    attempts: Vec<AttemptJson>,
}

/// `GET /webhooks`'s query.
#[derive(IntoParams)]
#[allow(dead_code)] // documents what the handler reads from the query
#[into_params(parameter_in = Query)]
pub struct WebhooksQuery {
    /// The payment whose deliveries to list.
    pub imp_uid: String,
}

/// What a resend did.
#[derive(Serialize, ToSchema)]
pub struct ResendJson {
    pub id: i64,
    /// `pending`: queued to be sent at once.
    pub state: String,
}

fn delivery_json(record: DeliveryRecord) -> DeliveryJson {
    DeliveryJson {
        id: record.id,
        webhook_id: format!("msg_{}", record.event_id),
        imp_uid: record.imp_uid,
        status: record.status,
        cancellation_id: record.cancellation_id,
        url: record.url,
        state: record.state,
        next_attempt_at: record.next_attempt_at.unwrap_or(0),
        created_at: record.created_at,
        delivered_at: record.delivered_at.unwrap_or(0),
        attempts: record
            .attempts
            .into_iter()
            .map(|attempt| AttemptJson {
                at: attempt.at,
                http_status: attempt.http_status,
                latency_ms: attempt.latency_ms,
                error: attempt.error,
            })
            .collect(),
    }
}

/// vbank: a payment's webhook deliveries with every attempt.
#[utoipa::path(get, path = "/webhooks", tag = "vbank", security(("bearer" = []), ("imp_token_header" = [])), params(WebhooksQuery),
    responses((status = 200, description = "The deliveries, oldest first.", body = Envelope<Vec<DeliveryJson>>), (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    let imp_uid = query::first(raw_query.as_deref(), "imp_uid")
        .ok_or_else(|| ApiError::bad_input("imp_uid", "필수 항목입니다.", "is required."))?;
    // Another merchant's payment is as unknown here as everywhere.
    let payment = lookups::by_imp_uid(&state, merchant.merchant_id, &imp_uid).await?;
    let deliveries = state
        .store
        .deliveries(merchant.merchant_id, payment.imp_uid.as_str())
        .await?;
    Ok(envelope::ok(
        deliveries.into_iter().map(delivery_json).collect::<Vec<_>>(),
    ))
}

/// vbank: sends a delivery again now (its `webhook-id` stays the same).
#[utoipa::path(post, path = "/webhooks/{id}/resend", tag = "vbank", security(("bearer" = []), ("imp_token_header" = [])),
    params(("id" = i64, Path, description = "The delivery's `id` from `GET /webhooks`.")),
    responses(
        (status = 200, description = "Queued.", body = Envelope<ResendJson>),
        (status = 404, description = "No such delivery for this merchant (code -1).", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn resend(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let not_found = || {
        ApiError::NotFound(Text::new(
            "존재하지 않는 웹훅 발송건입니다.",
            "The webhook delivery does not exist.",
        ))
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    if !state
        .store
        .resend_delivery(merchant.merchant_id, id, state.clock.now())
        .await?
    {
        return Err(not_found());
    }
    state.webhook_wakeup.notify_one();
    Ok(envelope::ok(ResendJson {
        id,
        state: "pending".into(),
    }))
}
