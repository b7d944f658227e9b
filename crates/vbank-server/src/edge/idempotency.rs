//! `Idempotency-Key` on `POST /vbanks` and `POST /payments/cancel`, with Stripe's
//! semantics: the same key replays the first response; the same key with other
//! parameters is a 400; a key whose first request is still running is a 409.

use super::body::Fields;
use super::envelope::{ApiError, ApiResult, Text};
use crate::app::AppState;
use axum::body::to_bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::future::Future;
use vbank_store::IdempotencyClaim;

const MAX_KEY_LENGTH: usize = 255;
/// A replayed response says so.
const REPLAYED: &str = "idempotent-replayed";

fn key_of(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str().map(str::trim) {
        Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LENGTH => Ok(Some(key.to_owned())),
        _ => Err(ApiError::bad_input(
            "Idempotency-Key",
            format!("1자 이상 {MAX_KEY_LENGTH}자 이하의 문자열이어야 합니다."),
            format!("must be 1 to {MAX_KEY_LENGTH} visible characters."),
        )),
    }
}

/// Runs `handle` at most once per merchant and key.
pub async fn once<F, Fut>(
    state: &AppState,
    merchant_id: i64,
    headers: &HeaderMap,
    operation: &str,
    raw_query: Option<&str>,
    fields: &Fields,
    handle: F,
) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<Response>>,
{
    let Some(key) = key_of(headers)? else {
        return handle().await;
    };
    let request_hash = hex::encode(Sha256::digest(format!(
        "{operation}\n{}\n{}",
        raw_query.unwrap_or_default(),
        fields.canonical()
    )));
    let now = state.clock.now();
    match state
        .store
        .claim_idempotency_key(merchant_id, &key, &request_hash, now)
        .await?
    {
        IdempotencyClaim::InFlight => Err(ApiError::Conflict(Text::new(
            "같은 Idempotency-Key 의 요청이 아직 처리 중입니다. 잠시 후 다시 시도하세요.",
            "A request with this Idempotency-Key is still in progress; retry shortly.",
        ))),
        IdempotencyClaim::Done {
            request_hash: first_hash,
            status,
            body,
        } => {
            if first_hash != request_hash {
                return Err(ApiError::bad_input(
                    "Idempotency-Key",
                    "다른 요청 내용에 이미 사용된 키입니다.",
                    "was already used with other parameters.",
                ));
            }
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=utf-8"),
                )],
                body,
            )
                .into_response();
            response
                .headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotencyClaim::Claimed => {
            let response = match handle().await {
                Ok(response) => response,
                Err(error) => error.into_response(),
            };
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.map_err(ApiError::internal)?;
            // Our own failures are not the request's answer: the key is freed for a retry.
            let stored = (!parts.status.is_server_error()).then_some((parts.status.as_u16(), bytes.as_ref()));
            state.store.finish_idempotency_key(merchant_id, &key, stored).await?;
            Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
        }
    }
}
