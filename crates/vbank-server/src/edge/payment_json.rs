//! The payment object exactly as i'mport's schema has it (api.md B5): every field
//! present, 0 for times that did not happen, `null` for absent strings.

use serde::Serialize;
use vbank_core::{CancelEntry, Payment, WireStatus};

/// `user_agent` of payments made through the API, where no browser was involved.
const API_USER_AGENT: &str = "sorry_not_supported";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CancelHistoryJson {
    pub pg_tid: String,
    pub amount: i64,
    pub cancelled_at: i64,
    pub reason: String,
    pub cancellation_id: String,
    pub receipt_url: String,
}

/// i'mport's `Payment` (PaymentAnnotation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentJson {
    /// i'mport's unique payment id (`imp_` and 12 digits).
    pub imp_uid: String,
    /// The merchant's order id.
    pub merchant_uid: String,
    /// Always `vbank`.
    pub pay_method: &'static str,
    pub channel: &'static str,
    /// The PG (`html5_inicis`, `tosspayments`, `kcp`, `nice`, `nice_v2`, `kicc`, `settle`, `smartro_v2`).
    pub pg_provider: &'static str,
    pub emb_pg_provider: Option<String>,
    /// The PG's transaction id.
    pub pg_tid: String,
    /// The PG's merchant id (MID).
    pub pg_id: String,
    pub escrow: bool,
    pub apply_num: Option<String>,
    pub bank_code: Option<String>,
    pub bank_name: Option<String>,
    pub card_code: Option<String>,
    pub card_name: Option<String>,
    pub card_issuer_code: Option<String>,
    pub card_issuer_name: Option<String>,
    pub card_publisher_code: Option<String>,
    pub card_publisher_name: Option<String>,
    pub card_quota: i64,
    pub card_number: Option<String>,
    pub card_type: Option<i64>,
    /// The bank of the virtual account, a 3-digit KFTC code.
    pub vbank_code: String,
    /// The bank name.
    pub vbank_name: String,
    /// The virtual account number.
    pub vbank_num: String,
    /// The account holder shown to the buyer.
    pub vbank_holder: Option<String>,
    /// Deposit due time, Unix seconds.
    pub vbank_date: i64,
    /// When the account was issued, Unix seconds.
    pub vbank_issued_at: i64,
    pub name: Option<String>,
    /// Amount to deposit, won.
    pub amount: i64,
    /// Amount refunded or cancelled so far, won.
    pub cancel_amount: i64,
    /// Always `KRW`.
    pub currency: &'static str,
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_tel: Option<String>,
    pub buyer_addr: Option<String>,
    pub buyer_postcode: Option<String>,
    /// The merchant's own data, as given at issue.
    pub custom_data: Option<String>,
    pub user_agent: &'static str,
    /// `ready` (issued, not paid), `paid`, `cancelled` or `failed`. A revoke in doubt shows as `ready`.
    pub status: &'static str,
    /// When the payment started, Unix seconds.
    pub started_at: i64,
    /// Deposit time, Unix seconds; 0 if unpaid.
    pub paid_at: i64,
    /// Failure time, Unix seconds; 0 if not failed.
    pub failed_at: i64,
    /// Cancel time, Unix seconds; 0 if not cancelled.
    pub cancelled_at: i64,
    pub fail_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub receipt_url: String,
    /// Cancellations and refunds, oldest first.
    pub cancel_history: Vec<CancelHistoryJson>,
    pub deposit_history: Vec<serde_json::Value>,
    pub cancel_receipt_urls: Vec<String>,
    pub cash_receipt_issued: bool,
    pub customer_uid: Option<String>,
    pub customer_uid_usage: Option<String>,
    pub promotion: Option<serde_json::Value>,
    /// Whether the payment went through a sandbox channel.
    pub sandbox: bool,
}

impl PaymentJson {
    pub fn new(payment: &Payment) -> PaymentJson {
        PaymentJson {
            imp_uid: payment.imp_uid.to_string(),
            merchant_uid: payment.merchant_uid.to_string(),
            pay_method: "vbank",
            channel: "api",
            pg_provider: payment.pg_provider.code(),
            emb_pg_provider: None,
            pg_tid: payment.pg_tid.clone(),
            pg_id: payment.pg_id.clone(),
            escrow: false,
            apply_num: None,
            bank_code: None,
            bank_name: None,
            card_code: None,
            card_name: None,
            card_issuer_code: None,
            card_issuer_name: None,
            card_publisher_code: None,
            card_publisher_name: None,
            card_quota: 0,
            card_number: None,
            card_type: None,
            vbank_code: payment.account.bank.kftc().to_owned(),
            vbank_name: payment.account.bank.name_ko().to_owned(),
            vbank_num: payment.account.number.clone(),
            vbank_holder: payment.account.holder.clone(),
            vbank_date: payment.account.due,
            vbank_issued_at: payment.account.issued_at,
            name: payment.name.clone(),
            amount: payment.amount.get(),
            cancel_amount: payment.cancel_amount.get(),
            currency: "KRW",
            buyer_name: payment.buyer.name.clone(),
            buyer_email: payment.buyer.email.clone(),
            buyer_tel: payment.buyer.tel.clone(),
            buyer_addr: payment.buyer.addr.clone(),
            buyer_postcode: payment.buyer.postcode.clone(),
            custom_data: payment.custom_data.clone(),
            user_agent: API_USER_AGENT,
            status: payment.status.wire().as_str(),
            started_at: payment.started_at,
            paid_at: payment.paid_at,
            failed_at: payment.failed_at,
            cancelled_at: payment.cancelled_at,
            fail_reason: payment.fail_reason.clone(),
            // A revoke in doubt keeps the reason it was sent with; a ready account shows none.
            cancel_reason: payment
                .cancel_reason
                .clone()
                .filter(|_| payment.status.wire() != WireStatus::Ready),
            receipt_url: payment.receipt_url.clone().unwrap_or_default(),
            cancel_history: payment.cancel_history.iter().map(cancel_json).collect(),
            deposit_history: Vec::new(),
            cancel_receipt_urls: payment
                .cancel_history
                .iter()
                .map(|entry| entry.receipt_url.clone())
                .filter(|url| !url.is_empty())
                .collect(),
            cash_receipt_issued: false,
            customer_uid: None,
            customer_uid_usage: None,
            promotion: None,
            sandbox: payment.sandbox,
        }
    }
}

fn cancel_json(entry: &CancelEntry) -> CancelHistoryJson {
    CancelHistoryJson {
        pg_tid: entry.pg_tid.clone(),
        amount: entry.amount.get(),
        cancelled_at: entry.cancelled_at,
        reason: entry.reason.clone(),
        cancellation_id: entry.cancellation_id.as_str().to_owned(),
        receipt_url: entry.receipt_url.clone(),
    }
}
