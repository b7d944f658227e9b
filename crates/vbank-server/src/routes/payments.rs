//! Payment lookups: `GET /payments/{imp_uid}`, `GET /payments`,
//! `GET /payments/find/...`, `GET /payments/findAll/...`, `GET /payments/status/...`.

use crate::app::AppState;
use crate::edge::auth::Authenticated;
use crate::edge::body::Fields;
use crate::edge::payment_json::PaymentJson;
use crate::edge::{envelope, idempotency, query, ApiError, ApiResult, Envelope};
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
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/payments", get(by_uids))
        .route("/payments/{imp_uid}", get(by_imp_uid))
        .route("/payments/{imp_uid}/events", get(events))
        .route("/payments/find/{merchant_uid}", get(find_one))
        .route("/payments/find/{merchant_uid}/{status}", get(find_one_with_status))
        .route("/payments/findAll/{merchant_uid}", get(find_all))
        .route("/payments/findAll/{merchant_uid}/{status}", get(find_all_with_status))
        .route("/payments/status/{status}", get(by_status))
        .route("/payments/cancel", post(cancel))
}

/// A page of payments.
#[derive(Serialize, ToSchema)]
pub struct PageJson {
    total: u64,
    previous: u32,
    next: u32,
    list: Vec<PaymentJson>,
}

/// `?sorting=&page=&limit=` of the listings.
#[derive(IntoParams)]
#[allow(dead_code)] // documents what the handler reads from the query
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `-started` (default), `started`, `-paid`, `paid`, `-updated`, `updated`.
    pub sorting: Option<String>,
    /// Page, from 1.
    pub page: Option<i64>,
    /// Page size (20 unless given; at most 1000).
    pub limit: Option<i64>,
}

/// `GET /payments/status/{status}`'s query.
#[derive(IntoParams)]
#[allow(dead_code)] // documents what the handler reads from the query
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// From, Unix seconds (on the status' own time axis).
    pub from: Option<i64>,
    /// To, Unix seconds.
    pub to: Option<i64>,
    /// `-started` (default), `started`, `-paid`, `paid`, `-updated`, `updated`.
    pub sorting: Option<String>,
    pub page: Option<i64>,
    pub limit: Option<i64>,
}

/// `GET /payments`'s query: repeated keys, as i'mport has them.
#[derive(IntoParams)]
#[allow(dead_code)] // documents what the handler reads from the query
#[into_params(parameter_in = Query)]
pub struct UidsQuery {
    /// `imp_uid[]=...&imp_uid[]=...` (at most 100 ids in all).
    #[param(rename = "imp_uid[]")]
    pub imp_uid: Option<Vec<String>>,
    /// `merchant_uid[]=...`.
    #[param(rename = "merchant_uid[]")]
    pub merchant_uid: Option<Vec<String>>,
}

/// `POST /payments/cancel`'s body: a refund after deposit.
#[derive(ToSchema)]
#[allow(dead_code)] // documents what `edge::body::Fields` reads
pub struct RefundRequest {
    /// The payment (or `merchant_uid`).
    pub imp_uid: Option<String>,
    pub merchant_uid: Option<String>,
    /// Won to refund; all that is left when absent.
    pub amount: Option<i64>,
    /// What the merchant believes is still refundable; a mismatch is refused.
    pub checksum: Option<i64>,
    pub reason: Option<String>,
    /// The buyer's refund account: holder, bank (in the PG's own code system) and number.
    pub refund_holder: Option<String>,
    pub refund_bank: Option<String>,
    pub refund_account: Option<String>,
    /// KG INICIS only: the INIAPI key (also accepted in the query).
    pub pg_api_key: Option<String>,
}

/// One line of a payment's history.
#[derive(Serialize, ToSchema)]
pub struct EventJson {
    /// Unix seconds.
    pub at: i64,
    /// `transition`, `pg_call`, `notice_refused`, `reconcile_failed`, `anomaly`, ...
    pub kind: String,
    pub detail: String,
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

/// One payment.
#[utoipa::path(get, path = "/payments/{imp_uid}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("imp_uid" = String, Path, description = "The payment.")),
    responses((status = 200, description = "The payment.", body = Envelope<PaymentJson>), (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn by_imp_uid(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(imp_uid): Path<String>,
) -> ApiResult<Response> {
    let payment = lookups::by_imp_uid(&state, merchant.merchant_id, &imp_uid).await?;
    Ok(envelope::ok(PaymentJson::new(&payment)))
}

/// Several payments by `imp_uid[]` and `merchant_uid[]`; 207 when only some were found.
#[utoipa::path(get, path = "/payments", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])), params(UidsQuery),
    responses(
        (status = 200, description = "All found.", body = Envelope<Vec<PaymentJson>>),
        (status = 207, description = "Some found.", body = Envelope<Vec<PaymentJson>>),
        (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn by_uids(
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

/// The latest payment of an order.
#[utoipa::path(get, path = "/payments/find/{merchant_uid}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("merchant_uid" = String, Path, description = "The order."), ListQuery),
    responses((status = 200, description = "The payment.", body = Envelope<PaymentJson>), (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn find_one(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(merchant_uid): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    find(&state, merchant.merchant_id, &merchant_uid, None, raw_query.as_deref()).await
}

/// The latest payment of an order with this status.
#[utoipa::path(get, path = "/payments/find/{merchant_uid}/{status}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("merchant_uid" = String, Path, description = "The order."),
        ("status" = String, Path, description = "`ready`, `paid`, `cancelled`, `failed` (or `undefined`: any).")),
    responses((status = 200, description = "The payment.", body = Envelope<PaymentJson>), (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn find_one_with_status(
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

/// Every payment of an order, a page at a time.
#[utoipa::path(get, path = "/payments/findAll/{merchant_uid}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("merchant_uid" = String, Path, description = "The order."), ListQuery),
    responses((status = 200, description = "A page.", body = Envelope<PageJson>), (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn find_all(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(merchant_uid): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    list_all(&state, merchant.merchant_id, &merchant_uid, None, raw_query.as_deref()).await
}

/// Every payment of an order with this status, a page at a time.
#[utoipa::path(get, path = "/payments/findAll/{merchant_uid}/{status}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("merchant_uid" = String, Path, description = "The order."),
        ("status" = String, Path, description = "`ready`, `paid`, `cancelled`, `failed` (or `undefined`: any)."), ListQuery),
    responses((status = 200, description = "A page.", body = Envelope<PageJson>), (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn find_all_with_status(
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

/// The merchant's payments with a status (`all` for any), within 90 days, a page at a time.
#[utoipa::path(get, path = "/payments/status/{status}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("status" = String, Path, description = "`all`, `ready`, `paid`, `cancelled`, `failed`."), StatusQuery),
    responses((status = 200, description = "A page.", body = Envelope<PageJson>)))]
pub(crate) async fn by_status(
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

/// A refund after deposit, whole or partial. Takes `Idempotency-Key`.
#[utoipa::path(post, path = "/payments/cancel", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key: 1 to 255 visible ASCII characters.", pattern = r"^[!-~]{1,255}$")),
    request_body(content((RefundRequest = "application/json"), (RefundRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Refunded (code 0); refused by a rule (code 1, e.g. `취소할 결제건이 존재하지 않습니다.`) or by the PG (code -1).", body = Envelope<PaymentJson>),
        (status = 409, description = "A request with this Idempotency-Key is still in flight (code 1).", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn cancel(
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

/// vbank: a payment's history: state changes, PG calls (with outcome and latency), refused
/// notifications and anomalies, oldest first.
#[utoipa::path(get, path = "/payments/{imp_uid}/events", tag = "vbank", security(("bearer" = []), ("imp_token_header" = [])),
    params(("imp_uid" = String, Path, description = "The payment.")),
    responses((status = 200, description = "The history.", body = Envelope<Vec<EventJson>>), (status = 404, description = "No matching payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope)))]
pub(crate) async fn events(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(imp_uid): Path<String>,
) -> ApiResult<Response> {
    let events = lookups::events(&state, merchant.merchant_id, &imp_uid).await?;
    let events: Vec<EventJson> = events
        .into_iter()
        .map(|event| EventJson {
            at: event.at,
            kind: event.kind,
            detail: event.detail,
        })
        .collect();
    Ok(envelope::ok(events))
}
