//! `POST /vbanks` and `DELETE /vbanks/{imp_uid}`.

use crate::app::AppState;
use crate::edge::auth::Authenticated;
use crate::edge::body::{missing, Fields};
use crate::edge::payment_json::PaymentJson;
use crate::edge::{envelope, idempotency, query, ApiError, ApiResult};
use crate::services::holders;
use crate::services::vbanks::{self, IssueInput};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use std::sync::Arc;
use vbank_core::payment::Buyer;
use vbank_core::{BankCode, ImpUid, MerchantUid};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/vbanks", post(issue))
        .route("/vbanks/{imp_uid}", delete(revoke).put(modify))
        .route("/vbanks/holder", get(holder))
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

async fn issue(
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

async fn revoke(
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

async fn modify(
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

async fn holder(
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
