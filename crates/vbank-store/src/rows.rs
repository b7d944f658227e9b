//! Reading rows into domain types, and SQL shared by both backends. The backends differ
//! in dialect (placeholders, locks); what a row means is written once, here.

use crate::{Sorting, StoreError, StoreResult, TimeAxis, TokenRecord};
use sqlx::{ColumnIndex, Decode, Row, Type};
use std::str::FromStr;
use vbank_core::payment::{Buyer, VirtualAccount};
use vbank_core::{
    BankCode, CancelEntry, CancellationId, Channel, ChannelSecrets, ImpUid, Merchant, MerchantUid, Payment, PgProvider,
    VbankStatus, WebhookFormat, WebhookSettings, Won,
};

/// An idempotency key in flight for longer than this belongs to a request that died.
pub(crate) const ABANDONED_AFTER_SECONDS: i64 = 300;

pub(crate) const PAYMENT_COLUMNS: &str = "imp_uid, merchant_id, channel_id, merchant_uid, pg_provider, pg_id, pg_tid, \
    pg_secret, sandbox, name, amount, cancel_amount, buyer_name, buyer_email, buyer_tel, buyer_addr, buyer_postcode, \
    custom_data, vbank_code, vbank_num, vbank_holder, vbank_date, vbank_issued_at, status, started_at, \
    paid_at, failed_at, cancelled_at, updated_at, fail_reason, cancel_reason, receipt_url, notice_urls, reconcile_at, reconcile_step";

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(crate) fn provider_from(code: &str) -> StoreResult<PgProvider> {
    PgProvider::from_str(code).map_err(|()| corrupt(format!("unknown pg_provider {code}")))
}

pub(crate) const MERCHANT_COLUMNS: &str =
    "id, imp_key, imp_secret_hash, name, webhook_url, webhook_format, webhook_secret";

pub(crate) fn merchant_from_row<'r, R>(row: &'r R) -> StoreResult<Merchant>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let format: String = row.try_get("webhook_format")?;
    Ok(Merchant {
        id: row.try_get("id")?,
        imp_key: row.try_get("imp_key")?,
        imp_secret_hash: row.try_get("imp_secret_hash")?,
        name: row.try_get("name")?,
        webhook: WebhookSettings {
            url: row.try_get("webhook_url")?,
            format: WebhookFormat::parse(&format).ok_or_else(|| corrupt(format!("webhook_format {format}")))?,
            secret: row.try_get("webhook_secret")?,
        },
    })
}

pub(crate) fn channel_from_row<'r, R>(row: &'r R) -> StoreResult<Channel>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let secrets: String = row.try_get("secrets")?;
    Ok(Channel {
        id: row.try_get("id")?,
        merchant_id: row.try_get("merchant_id")?,
        provider: provider_from(&row.try_get::<String, _>("pg_provider")?)?,
        mid: row.try_get("mid")?,
        sandbox: row.try_get("sandbox")?,
        secrets: serde_json::from_str::<ChannelSecrets>(&secrets).map_err(corrupt)?,
    })
}

pub(crate) fn token_from_row<'r, R>(row: &'r R) -> StoreResult<TokenRecord>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(TokenRecord {
        token_hash: row.try_get("token_hash")?,
        token_id: row.try_get("token_id")?,
        merchant_id: row.try_get("merchant_id")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub(crate) fn won(value: i64) -> StoreResult<Won> {
    Won::new(value).map_err(|error| corrupt(format!("amount {value} {error}")))
}

pub(crate) fn payment_from_row<'r, R>(row: &'r R, cancel_history: Vec<CancelEntry>) -> StoreResult<Payment>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let imp_uid: String = row.try_get("imp_uid")?;
    let merchant_uid: String = row.try_get("merchant_uid")?;
    let vbank_code: String = row.try_get("vbank_code")?;
    let status: String = row.try_get("status")?;
    let notice_urls: String = row.try_get("notice_urls")?;
    Ok(Payment {
        imp_uid: ImpUid::parse(&imp_uid).ok_or_else(|| corrupt(format!("imp_uid {imp_uid}")))?,
        merchant_id: row.try_get("merchant_id")?,
        channel_id: row.try_get("channel_id")?,
        merchant_uid: MerchantUid::parse(&merchant_uid).map_err(corrupt)?,
        pg_provider: provider_from(&row.try_get::<String, _>("pg_provider")?)?,
        pg_id: row.try_get("pg_id")?,
        pg_tid: row.try_get("pg_tid")?,
        pg_secret: row.try_get("pg_secret")?,
        sandbox: row.try_get("sandbox")?,
        name: row.try_get("name")?,
        amount: won(row.try_get("amount")?)?,
        cancel_amount: won(row.try_get("cancel_amount")?)?,
        buyer: Buyer {
            name: row.try_get("buyer_name")?,
            email: row.try_get("buyer_email")?,
            tel: row.try_get("buyer_tel")?,
            addr: row.try_get("buyer_addr")?,
            postcode: row.try_get("buyer_postcode")?,
        },
        custom_data: row.try_get("custom_data")?,
        account: VirtualAccount {
            bank: BankCode::from_kftc(&vbank_code).ok_or_else(|| corrupt(format!("vbank_code {vbank_code}")))?,
            number: row.try_get("vbank_num")?,
            holder: row.try_get("vbank_holder")?,
            due: row.try_get("vbank_date")?,
            issued_at: row.try_get("vbank_issued_at")?,
        },
        status: VbankStatus::parse(&status).ok_or_else(|| corrupt(format!("status {status}")))?,
        started_at: row.try_get("started_at")?,
        paid_at: row.try_get("paid_at")?,
        failed_at: row.try_get("failed_at")?,
        cancelled_at: row.try_get("cancelled_at")?,
        updated_at: row.try_get("updated_at")?,
        fail_reason: row.try_get("fail_reason")?,
        cancel_reason: row.try_get("cancel_reason")?,
        receipt_url: row.try_get("receipt_url")?,
        notice_urls: serde_json::from_str(&notice_urls).map_err(corrupt)?,
        cancel_history,
        reconcile_at: row.try_get("reconcile_at")?,
        reconcile_step: u32::try_from(row.try_get::<i64, _>("reconcile_step")?).map_err(corrupt)?,
    })
}

pub(crate) fn cancel_entry_from_row<'r, R>(row: &'r R) -> StoreResult<CancelEntry>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(CancelEntry {
        cancellation_id: CancellationId::from_stored(row.try_get("cancellation_id")?),
        pg_tid: row.try_get("pg_tid")?,
        amount: won(row.try_get("amount")?)?,
        cancelled_at: row.try_get("cancelled_at")?,
        reason: row.try_get("reason")?,
        receipt_url: row.try_get("receipt_url")?,
    })
}

pub(crate) fn axis_column(axis: TimeAxis) -> &'static str {
    match axis {
        TimeAxis::Started => "started_at",
        TimeAxis::Paid => "paid_at",
        TimeAxis::Cancelled => "cancelled_at",
        TimeAxis::Failed => "failed_at",
        TimeAxis::Updated => "updated_at",
    }
}

pub(crate) fn order_clause(sorting: Sorting) -> String {
    let direction = if sorting.descending { "DESC" } else { "ASC" };
    format!(
        " ORDER BY {} {direction}, imp_uid {direction}",
        axis_column(sorting.axis)
    )
}
