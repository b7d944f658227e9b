//! `POST /vbanks` and `DELETE /vbanks/{imp_uid}`.

use crate::app::AppState;
use crate::edge::auth::Authenticated;
use crate::edge::body::{missing, Fields};
use crate::edge::payment_json::PaymentJson;
use crate::edge::{envelope, idempotency, query, ApiError, ApiResult, Envelope};
use crate::services::holders;
use crate::services::vbanks::{self, IssueInput};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Serialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use vbank_core::payment::Buyer;
use vbank_core::{BankCode, ImpUid, MerchantUid};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/vbanks", post(issue))
        .route("/vbanks/{imp_uid}", delete(revoke).put(modify))
        .route("/vbanks/holder", get(holder))
}

/// `POST /vbanks`'s body (JSON or form; numbers may be strings).
#[derive(ToSchema)]
#[allow(dead_code)] // documents what `edge::body::Fields` reads
pub struct IssueVbankRequest {
    /// The merchant's order id, unique per merchant among live payments.
    pub merchant_uid: String,
    /// Amount to deposit, won (more than 0).
    pub amount: i64,
    /// The bank of the account, a 3-digit KFTC code (`004` KB국민, `088` 신한, ...).
    pub vbank_code: String,
    /// Deposit due time, Unix seconds, in the future.
    pub vbank_due: i64,
    /// The holder name the buyer sees (at most 16 characters).
    pub vbank_holder: Option<String>,
    /// Order name.
    pub name: Option<String>,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_tel: Option<String>,
    pub buyer_addr: Option<String>,
    pub buyer_postcode: Option<String>,
    /// The channel: `tosspayments`, `html5_inicis.MID`, `kcp`, ... (the merchant's default when absent).
    pub pg: Option<String>,
    /// PortOne channel key, in place of `pg`.
    pub channel_key: Option<String>,
    /// Where this payment's webhooks go (one URL or several), instead of the merchant's default.
    pub notice_url: Option<String>,
    /// The merchant's own data, returned as given.
    pub custom_data: Option<String>,
}

/// `PUT /vbanks/{imp_uid}`'s body: what to change.
#[derive(ToSchema)]
#[allow(dead_code)] // documents what `edge::body::Fields` reads
pub struct ModifyVbankRequest {
    /// The new amount, won.
    pub amount: Option<i64>,
    /// The new due time, Unix seconds.
    pub vbank_due: Option<i64>,
}

/// `?pg_api_key=`: KG INICIS's INIAPI key, which i'mport takes per call.
#[derive(IntoParams)]
#[allow(dead_code)] // documents what the handler reads from the query
#[into_params(parameter_in = Query)]
pub struct PgApiKeyQuery {
    /// KG INICIS only: the INIAPI key of the MID (the sandbox's INIpayTest has `ItEQKi3rY7uvDS8l`).
    pub pg_api_key: Option<String>,
}

/// `DELETE /vbanks/{imp_uid}`'s query.
#[derive(IntoParams)]
#[allow(dead_code)] // documents what the handler reads from the query
#[into_params(parameter_in = Query)]
pub struct RevokeQuery {
    /// KG INICIS only: the INIAPI key of the MID.
    pub pg_api_key: Option<String>,
    /// Why, as the PG records it.
    pub reason: Option<String>,
}

/// `GET /vbanks/holder`'s query.
#[derive(IntoParams)]
#[allow(dead_code)] // documents what the handler reads from the query
#[into_params(parameter_in = Query)]
pub struct HolderQuery {
    /// 3-digit KFTC bank code.
    pub bank_code: String,
    /// Account number.
    pub bank_num: String,
}

/// The holder of a bank account.
#[derive(Serialize, ToSchema)]
pub struct HolderJson {
    pub bank_holder: String,
}

fn parse_issue(fields: &Fields, raw_query: Option<&str>) -> ApiResult<IssueInput> {
    let merchant_uid = MerchantUid::parse(&fields.required_text("merchant_uid")?).map_err(|error| {
        ApiError::bad_input(
            "merchant_uid",
            format!("올바르지 않습니다 ({error})."),
            format!("{error}."),
        )
    })?;
    let amount = fields.won("amount")?.ok_or_else(|| missing("amount"))?;
    if amount.is_zero() {
        return Err(ApiError::bad_input(
            "amount",
            "0보다 커야 합니다.",
            "must be greater than 0.",
        ));
    }
    let vbank_code = fields.required_text("vbank_code")?;
    let bank = BankCode::from_kftc(&vbank_code).ok_or_else(|| {
        ApiError::bad_input(
            "vbank_code",
            format!("알 수 없는 은행코드입니다: {vbank_code} (금융결제원 3자리 코드)"),
            format!("unknown bank code {vbank_code} (use a 3-digit KFTC code such as 004)."),
        )
    })?;
    Ok(IssueInput {
        merchant_uid,
        amount,
        bank,
        due: fields.integer("vbank_due")?.ok_or_else(|| missing("vbank_due"))?,
        holder: fields.short_text("vbank_holder", 16)?,
        name: fields.short_text("name", 40)?,
        buyer: Buyer {
            name: fields.short_text("buyer_name", 16)?,
            email: fields.short_text("buyer_email", 64)?,
            tel: fields.short_text("buyer_tel", 16)?,
            addr: fields.short_text("buyer_addr", 128)?,
            postcode: fields.short_text("buyer_postcode", 8)?,
        },
        pg: match fields.text("pg")? {
            Some(pg) => Some(pg),
            None => fields.text("channel_key")?,
        },
        notice_urls: fields.text_list("notice_url")?,
        custom_data: fields.json_text("custom_data"),
        pg_api_key: query::first(raw_query, "pg_api_key"),
    })
}

/// Issues a virtual account through the PG of `pg`. Takes `Idempotency-Key`.
#[utoipa::path(post, path = "/vbanks", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(PgApiKeyQuery, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for the same key (1 to 255 visible ASCII characters); other parameters with it are a 400.", pattern = r"^[!-~]{1,255}$")),
    request_body(content((IssueVbankRequest = "application/json"), (IssueVbankRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Issued (code 0); or the PG refused (code -1, `[code] message`).", body = Envelope<PaymentJson>),
        (status = 409, description = "A request with this Idempotency-Key is still in flight (code 1).", body = crate::openapi::ErrorEnvelope),
        (status = 413, description = "The body is too large (code 1).", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn issue(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    fields: Fields,
) -> ApiResult<Response> {
    let raw_query = raw_query.as_deref();
    idempotency::once(
        &state,
        merchant.merchant_id,
        &headers,
        "POST /vbanks",
        raw_query,
        &fields,
        || async {
            let input = parse_issue(&fields, raw_query)?;
            let payment = vbanks::issue(&state, merchant.merchant_id, input).await?;
            Ok(envelope::ok(PaymentJson::new(&payment)))
        },
    )
    .await
}

/// Revokes (말소) an unpaid virtual account at its PG. A revoke whose answer was lost answers
/// code -1 and stays `ready` until the reconciler learns the outcome.
#[utoipa::path(delete, path = "/vbanks/{imp_uid}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("imp_uid" = String, Path, description = "The payment."), RevokeQuery),
    responses(
        (status = 200, description = "Revoked (code 0); or the PG refused or did not answer (code -1).", body = Envelope<PaymentJson>),
        (status = 404, description = "No such payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn revoke(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(imp_uid): Path<String>,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    // A malformed imp_uid is as unknown as a well-formed one that does not exist.
    let imp_uid = ImpUid::parse(&imp_uid).ok_or(ApiError::PaymentNotFound)?;
    let pg_api_key = query::first(raw_query.as_deref(), "pg_api_key");
    let reason = query::first(raw_query.as_deref(), "reason");
    let payment = vbanks::revoke(
        &state,
        merchant.merchant_id,
        &imp_uid,
        pg_api_key.as_deref(),
        reason.as_deref(),
    )
    .await?;
    Ok(envelope::ok(PaymentJson::new(&payment)))
}

/// Changes an unpaid account's amount or due time (Settle Bank only, as on i'mport).
#[utoipa::path(put, path = "/vbanks/{imp_uid}", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(("imp_uid" = String, Path, description = "The payment.")),
    request_body(content((ModifyVbankRequest = "application/json"), (ModifyVbankRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Changed (code 0); or the PG refused (code -1).", body = Envelope<PaymentJson>),
        (status = 404, description = "No such payment for this merchant (code -1).", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn modify(
    State(state): State<Arc<AppState>>,
    merchant: Authenticated,
    Path(imp_uid): Path<String>,
    fields: Fields,
) -> ApiResult<Response> {
    let imp_uid = ImpUid::parse(&imp_uid).ok_or(ApiError::PaymentNotFound)?;
    let amount = fields.won("amount")?;
    if amount.is_some_and(|amount| amount.is_zero()) {
        return Err(ApiError::bad_input(
            "amount",
            "0보다 커야 합니다.",
            "must be greater than 0.",
        ));
    }
    let due = fields.integer("vbank_due")?;
    let payment = vbanks::modify(&state, merchant.merchant_id, &imp_uid, amount, due).await?;
    Ok(envelope::ok(PaymentJson::new(&payment)))
}

/// The holder of a bank account (answered by the sandbox bank in sandbox mode).
#[utoipa::path(get, path = "/vbanks/holder", tag = "i'mport", security(("bearer" = []), ("imp_token_header" = [])),
    params(HolderQuery),
    responses(
        (status = 200, description = "The holder.", body = Envelope<HolderJson>),
        (status = 404, description = "No such account (code -1).", body = crate::openapi::ErrorEnvelope),
    ))]
pub(crate) async fn holder(
    State(state): State<Arc<AppState>>,
    _merchant: Authenticated,
    RawQuery(raw_query): RawQuery,
) -> ApiResult<Response> {
    let raw_query = raw_query.as_deref();
    let bank_code = query::first(raw_query, "bank_code").ok_or_else(|| missing("bank_code"))?;
    let bank = BankCode::from_kftc(&bank_code).ok_or_else(|| {
        ApiError::bad_input(
            "bank_code",
            "알 수 없는 은행코드입니다.",
            "is not a known 3-digit KFTC code.",
        )
    })?;
    let bank_num = query::first(raw_query, "bank_num").ok_or_else(|| missing("bank_num"))?;
    let holder = holders::holder(&state, bank, &bank_num).await?;
    Ok(envelope::ok(serde_json::json!({ "bank_holder": holder })))
}
