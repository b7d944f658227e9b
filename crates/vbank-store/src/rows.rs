//! Reading rows into domain types, and SQL shared by both backends. The backends differ
//! in dialect (placeholders, locks); what a row means is written once, here.

use crate::{PaymentFilter, SecretsKey, Sorting, StoreError, StoreResult, TimeAxis, TokenRecord};
use rusqlite::types::FromSql;
use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, QueryBuilder, Row, Type};
use std::str::FromStr;
use vbank_core::payment::{Buyer, VirtualAccount};
use vbank_core::{
    BankCode, CancelEntry, CancellationId, Channel, ImpUid, Merchant, MerchantUid, NoticeSources, Payment, PgProvider,
    VbankStatus, WebhookFormat, WebhookSettings, Won,
};

/// A column type both backends decode.
pub(crate) trait Value: FromSql + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

impl<T> Value for T where T: FromSql + for<'r> Decode<'r, Postgres> + Type<Postgres> {}

/// A row of either backend, read by column name.
pub(crate) trait StoreRow {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T>;
}

impl StoreRow for rusqlite::Row<'_> {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T> {
        Ok(rusqlite::Row::get(self, column)?)
    }
}

/// A SQLite row whose columns are known in order (`names`), read by position: rusqlite
/// finds a column by name by asking SQLite for every column's name each time, which
/// costs more than decoding a payment's 35 columns.
pub(crate) struct Positional<'a, 'r> {
    pub row: &'a rusqlite::Row<'r>,
    pub names: &'a [&'static str],
}

impl StoreRow for Positional<'_, '_> {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T> {
        match self.names.iter().position(|name| *name == column) {
            Some(index) => Ok(self.row.get(index)?),
            None => Ok(self.row.get(column)?),
        }
    }
}

/// The names of `PAYMENT_COLUMNS`, in order.
pub(crate) static PAYMENT_COLUMN_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| PAYMENT_COLUMNS.split(',').map(str::trim).collect());

impl StoreRow for PgRow {
    fn get<T: Value>(&self, column: &str) -> StoreResult<T> {
        Ok(self.try_get(column)?)
    }
}

/// A query being written, with its parameters: each backend's builder.
pub(crate) trait SqlBuilder {
    fn sql(&mut self, text: &str);
    fn bind_int(&mut self, value: i64);
    fn bind_text(&mut self, value: String);
}

impl SqlBuilder for QueryBuilder<'_, Postgres> {
    fn sql(&mut self, text: &str) {
        self.push(text);
    }

    fn bind_int(&mut self, value: i64) {
        self.push_bind(value);
    }

    fn bind_text(&mut self, value: String) {
        self.push_bind(value);
    }
}

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

pub(crate) fn merchant_from_row(row: &impl StoreRow) -> StoreResult<Merchant> {
    let format: String = row.get("webhook_format")?;
    Ok(Merchant {
        id: row.get("id")?,
        imp_key: row.get("imp_key")?,
        imp_secret_hash: row.get("imp_secret_hash")?,
        name: row.get("name")?,
        webhook: WebhookSettings {
            url: row.get("webhook_url")?,
            format: WebhookFormat::parse(&format).ok_or_else(|| corrupt(format!("webhook_format {format}")))?,
            secret: row.get("webhook_secret")?,
        },
    })
}

pub(crate) fn channel_from_row(row: &impl StoreRow, key: &SecretsKey) -> StoreResult<Channel> {
    let secrets: String = row.get("secrets")?;
    Ok(Channel {
        id: row.get("id")?,
        merchant_id: row.get("merchant_id")?,
        provider: provider_from(&row.get::<String>("pg_provider")?)?,
        mid: row.get("mid")?,
        sandbox: row.get("sandbox")?,
        secrets: key.open(&secrets)?,
        notice_sources: NoticeSources::parse(&row.get::<String>("notice_sources")?).map_err(corrupt)?,
    })
}

pub(crate) fn token_from_row(row: &impl StoreRow) -> StoreResult<TokenRecord> {
    Ok(TokenRecord {
        token_hash: row.get("token_hash")?,
        token_id: row.get("token_id")?,
        merchant_id: row.get("merchant_id")?,
        issued_at: row.get("issued_at")?,
        expires_at: row.get("expires_at")?,
    })
}

pub(crate) fn won(value: i64) -> StoreResult<Won> {
    Won::new(value).map_err(|error| corrupt(format!("amount {value} {error}")))
}

pub(crate) fn payment_from_row(row: &impl StoreRow, cancel_history: Vec<CancelEntry>) -> StoreResult<Payment> {
    let imp_uid: String = row.get("imp_uid")?;
    let merchant_uid: String = row.get("merchant_uid")?;
    let vbank_code: String = row.get("vbank_code")?;
    let status: String = row.get("status")?;
    let notice_urls: String = row.get("notice_urls")?;
    Ok(Payment {
        imp_uid: ImpUid::parse(&imp_uid).ok_or_else(|| corrupt(format!("imp_uid {imp_uid}")))?,
        merchant_id: row.get("merchant_id")?,
        channel_id: row.get("channel_id")?,
        merchant_uid: MerchantUid::parse(&merchant_uid).map_err(corrupt)?,
        pg_provider: provider_from(&row.get::<String>("pg_provider")?)?,
        pg_id: row.get("pg_id")?,
        pg_tid: row.get("pg_tid")?,
        pg_secret: row.get("pg_secret")?,
        sandbox: row.get("sandbox")?,
        name: row.get("name")?,
        amount: won(row.get("amount")?)?,
        cancel_amount: won(row.get("cancel_amount")?)?,
        buyer: Buyer {
            name: row.get("buyer_name")?,
            email: row.get("buyer_email")?,
            tel: row.get("buyer_tel")?,
            addr: row.get("buyer_addr")?,
            postcode: row.get("buyer_postcode")?,
        },
        custom_data: row.get("custom_data")?,
        account: VirtualAccount {
            bank: BankCode::from_kftc(&vbank_code).ok_or_else(|| corrupt(format!("vbank_code {vbank_code}")))?,
            number: row.get("vbank_num")?,
            holder: row.get("vbank_holder")?,
            due: row.get("vbank_date")?,
            issued_at: row.get("vbank_issued_at")?,
        },
        status: VbankStatus::parse(&status).ok_or_else(|| corrupt(format!("status {status}")))?,
        started_at: row.get("started_at")?,
        paid_at: row.get("paid_at")?,
        failed_at: row.get("failed_at")?,
        cancelled_at: row.get("cancelled_at")?,
        updated_at: row.get("updated_at")?,
        fail_reason: row.get("fail_reason")?,
        cancel_reason: row.get("cancel_reason")?,
        receipt_url: row.get("receipt_url")?,
        notice_urls: serde_json::from_str(&notice_urls).map_err(corrupt)?,
        cancel_history,
        reconcile_at: row.get("reconcile_at")?,
        reconcile_step: u32::try_from(row.get::<i64>("reconcile_step")?).map_err(corrupt)?,
    })
}

/// Whether a payment row can have `cancel_history` entries: only a revoke (`cancelled`,
/// or `failed` as some PGs show it) or a refund (`cancel_amount > 0`) writes one, in the
/// same commit as that status or amount. Reads skip the history query for the rest,
/// which is most payments.
pub(crate) fn may_have_history(row: &impl StoreRow) -> StoreResult<bool> {
    let status: String = row.get("status")?;
    let cancel_amount: i64 = row.get("cancel_amount")?;
    Ok(cancel_amount > 0 || status == "cancelled" || status == "failed")
}

pub(crate) fn cancel_entry_from_row(row: &impl StoreRow) -> StoreResult<CancelEntry> {
    Ok(CancelEntry {
        cancellation_id: CancellationId::from_stored(row.get("cancellation_id")?),
        pg_tid: row.get("pg_tid")?,
        amount: won(row.get("amount")?)?,
        cancelled_at: row.get("cancelled_at")?,
        reason: row.get("reason")?,
        receipt_url: row.get("receipt_url")?,
    })
}

fn axis_column(axis: TimeAxis) -> &'static str {
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

/// The `WHERE` of a merchant's payment listing: the same text on both backends, with
/// each backend's placeholders.
pub(crate) fn push_filter(query: &mut impl SqlBuilder, merchant_id: i64, filter: &PaymentFilter) {
    query.sql(" WHERE merchant_id = ");
    query.bind_int(merchant_id);
    if let Some(merchant_uid) = &filter.merchant_uid {
        query.sql(" AND merchant_uid = ");
        query.bind_text(merchant_uid.clone());
    }
    if !filter.statuses.is_empty() {
        query.sql(" AND status IN (");
        for (i, status) in filter.statuses.iter().enumerate() {
            if i > 0 {
                query.sql(", ");
            }
            query.bind_text(status.as_str().to_owned());
        }
        query.sql(")");
    }
    if let Some((axis, from, to)) = filter.window {
        let column = axis_column(axis);
        query.sql(&format!(" AND {column} >= "));
        query.bind_int(from);
        query.sql(&format!(" AND {column} <= "));
        query.bind_int(to);
    }
}
