//! `GET /webhooks?imp_uid=...` (deliveries with their attempts) and
//! `POST /webhooks/{id}/resend`, both scoped to the token's merchant.

use crate::app::AppState;
use crate::edge::auth::Authenticated;
use crate::edge::envelope::Text;
use crate::edge::{envelope, query, ApiError, ApiResult};
use crate::services::lookups;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use std::sync::Arc;
use vbank_store::DeliveryRecord;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/webhooks", get(list))
        .route("/webhooks/{id}/resend", post(resend))
}

#[derive(Serialize)]
struct AttemptJson {
    at: i64,
    http_status: Option<u16>,
    latency_ms: i64,
    error: Option<String>,
}

#[derive(Serialize)]
struct DeliveryJson {
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

async fn list(
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

async fn resend(
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
    Ok(envelope::ok(serde_json::json!({ "id": id, "state": "pending" })))
}
