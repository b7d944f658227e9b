//! Payment lookups: `GET /payments/{imp_uid}`, `GET /payments`,
//! `GET /payments/find/...`, `GET /payments/findAll/...`, `GET /payments/status/...`.

use crate::app::AppState;
use crate::edge::auth::Authenticated;
use crate::edge::body::Fields;
use crate::edge::payment_json::PaymentJson;
use crate::edge::{envelope, idempotency, query, ApiError, ApiResult};
use crate::services::lookups::{self, Page, PageRequest};
use crate::services::refunds::{self, RefundInput};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use std::sync::Arc;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/payments", get(by_uids))
        .route("/payments/{imp_uid}", get(by_imp_uid))
        .route("/payments/find/{merchant_uid}", get(find_one))
        .route("/payments/find/{merchant_uid}/{status}", get(find_one_with_status))
        .route("/payments/findAll/{merchant_uid}", get(find_all))
        .route("/payments/findAll/{merchant_uid}/{status}", get(find_all_with_status))
        .route("/payments/status/{status}", get(by_status))
        .route("/payments/cancel", post(cancel))
}

#[derive(Serialize)]
struct PageJson {
    total: u64,
    previous: u32,
    next: u32,
    list: Vec<PaymentJson>,
}

fn page_json(page: Page) -> PageJson {
    PageJson {
        total: page.total,
        previous: page.previous,
        next: page.next,
        list: page.list.iter().map(PaymentJson::new).collect(),
    }
}

fn integer_query(raw_query: Option<&str>, name: &'static str) -> ApiResult<Option<i64>> {
    query::first(raw_query, name)
        .map(|text| {
            text.trim()
                .parse()
                .map_err(|_| ApiError::bad_input(name, "정수여야 합니다.", "must be an integer."))
        })
        .transpose()
}

fn page_request(raw_query: Option<&str>) -> ApiResult<PageRequest> {
    PageRequest::parse(integer_query(raw_query, "page")?, integer_query(raw_query, "limit")?)
}

async fn by_imp_uid(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(imp_uid): Path<String>,
) -> ApiResult<Response> {
    let payment = lookups::by_imp_uid(&state, merchant.merchant_id, &imp_uid).await?;
    Ok(envelope::ok(PaymentJson::new(&payment)))
}

async fn by_uids(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    let imp_uids = query::values(raw_query.as_deref(), "imp_uid");
    let merchant_uids = query::values(raw_query.as_deref(), "merchant_uid");
    let (payments, all_found) = lookups::by_uids(&state, merchant.merchant_id, imp_uids, merchant_uids).await?;
    let status = if all_found {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let list: Vec<PaymentJson> = payments.iter().map(PaymentJson::new).collect();
    Ok(envelope::ok_with_status(status, list))
}

/// `/payments/find/{m}/undefined` (sent by iamport-rest-client-nodejs) means no filter.
fn path_status(status: &str) -> Option<&str> {
    (status != "undefined").then_some(status)
}

async fn find(
    state: &AppState,
    merchant_id: i64,
    merchant_uid: &str,
    status: Option<&str>,
    raw_query: Option<&str>,
) -> ApiResult<Response> {
    let status = lookups::parse_status(status, false)?;
    let sorting = lookups::parse_sorting(query::first(raw_query, "sorting").as_deref())?;
    let payment = lookups::find_one(state, merchant_id, merchant_uid, status, sorting).await?;
    Ok(envelope::ok(PaymentJson::new(&payment)))
}

async fn find_one(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(merchant_uid): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    find(&state, merchant.merchant_id, &merchant_uid, None, raw_query.as_deref()).await
}

async fn find_one_with_status(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path((merchant_uid, status)): Path<(String, String)>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    find(
        &state,
        merchant.merchant_id,
        &merchant_uid,
        path_status(&status),
        raw_query.as_deref(),
    )
    .await
}

async fn list_all(
    state: &AppState,
    merchant_id: i64,
    merchant_uid: &str,
    status: Option<&str>,
    raw_query: Option<&str>,
) -> ApiResult<Response> {
    let status = lookups::parse_status(status, false)?;
    let sorting = lookups::parse_sorting(query::first(raw_query, "sorting").as_deref())?;
    let page = lookups::find_all(
        state,
        merchant_id,
        merchant_uid,
        status,
        sorting,
        page_request(raw_query)?,
    )
    .await?;
    Ok(envelope::ok(page_json(page)))
}

async fn find_all(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(merchant_uid): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    list_all(&state, merchant.merchant_id, &merchant_uid, None, raw_query.as_deref()).await
}

async fn find_all_with_status(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path((merchant_uid, status)): Path<(String, String)>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    list_all(
        &state,
        merchant.merchant_id,
        &merchant_uid,
        path_status(&status),
        raw_query.as_deref(),
    )
    .await
}

async fn by_status(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(status): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    let raw_query = raw_query.as_deref();
    let status = lookups::parse_status(Some(&status), true)?;
    let sorting = lookups::parse_sorting(query::first(raw_query, "sorting").as_deref())?;
    let page = lookups::by_status(
        &state,
        merchant.merchant_id,
        status,
        integer_query(raw_query, "from")?,
        integer_query(raw_query, "to")?,
        sorting,
        page_request(raw_query)?,
    )
    .await?;
    Ok(envelope::ok(page_json(page)))
}

fn parse_refund(fields: &Fields, raw_query: Option<&str>) -> ApiResult<RefundInput> {
    Ok(RefundInput {
        imp_uid: fields.text("imp_uid")?,
        merchant_uid: fields.text("merchant_uid")?,
        amount: fields.won("amount")?,
        checksum: fields.won("checksum")?,
        reason: fields.short_text("reason", 256)?,
        refund_holder: fields.short_text("refund_holder", 16)?,
        refund_bank: fields.short_text("refund_bank", 4)?,
        refund_account: fields.short_text("refund_account", 16)?,
        pg_api_key: match query::first(raw_query, "pg_api_key") {
            Some(key) => Some(key),
            None => fields.text("pg_api_key")?,
        },
    })
}

/// `POST /payments/cancel`: a refund after deposit.
async fn cancel(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    fields: Fields,
) -> ApiResult<Response> {
    let raw_query = raw_query.as_deref();
    let operation = "POST /payments/cancel";
    idempotency::once(
        &state,
        merchant.merchant_id,
        &headers,
        operation,
        raw_query,
        &fields,
        || async {
            let input = parse_refund(&fields, raw_query)?;
            let payment = refunds::refund(&state, merchant.merchant_id, input).await?;
            Ok(envelope::ok(PaymentJson::new(&payment)))
        },
    )
    .await
}
