//! Toss Payments' own messages (core API version 2022-11-16, pg.md §3.3, pg-samples.md §3).
//!
//! [C]: endpoints, Basic auth, field names, error codes, DEPOSIT_CALLBACK's body and
//! its authentication by `secret`. [I]: that DEPOSIT_CALLBACK `DONE` means the full
//! amount arrived (Toss accounts take exactly the billed amount).

use base64::Engine;
use serde::{Deserialize, Serialize};

/// `Authorization: Basic b64(secretKey + ":")` [C].
pub fn basic_auth(secret_key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:"))
    )
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRequest {
    pub amount: i64,
    pub order_id: String,
    pub order_name: String,
    pub customer_name: String,
    /// Toss' 2-digit bank code (KB = "06").
    pub bank: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_hours: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_mobile_phone: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    pub cancel_reason: String,
    /// Partial refunds only; absent means the whole balance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_amount: Option<i64>,
    /// Deposited virtual accounts only: where the refund is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_receive_account: Option<RefundReceiveAccount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundReceiveAccount {
    /// Toss' 2-digit bank code.
    pub bank: String,
    pub account_number: String,
    pub holder_name: String,
}

/// Every status a Toss payment can have [C].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatus {
    Ready,
    InProgress,
    WaitingForDeposit,
    Done,
    Canceled,
    PartialCanceled,
    Aborted,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccount {
    pub account_number: String,
    #[serde(default)]
    pub account_type: Option<String>,
    /// 2022-11-16: the Toss 2-digit code. The v1.4 sample has `bank` (a name) instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    #[serde(default)]
    pub customer_name: Option<String>,
    pub due_date: String,
    #[serde(default)]
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancel {
    pub transaction_key: String,
    pub cancel_reason: String,
    pub canceled_at: String,
    pub cancel_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub url: String,
}

/// Toss' Payment object, with the fields vbank reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_key: String,
    pub order_id: String,
    pub status: PaymentStatus,
    pub total_amount: i64,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub requested_at: Option<String>,
    #[serde(default)]
    pub approved_at: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub virtual_account: Option<VirtualAccount>,
    #[serde(default)]
    pub cancels: Option<Vec<Cancel>>,
    #[serde(default)]
    pub receipt: Option<Receipt>,
}

/// Toss' error body, sent with a 4xx/5xx status [C].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

pub const ALREADY_CANCELED_PAYMENT: &str = "ALREADY_CANCELED_PAYMENT";
pub const NOT_CANCELABLE_PAYMENT: &str = "NOT_CANCELABLE_PAYMENT";
pub const NOT_FOUND_PAYMENT: &str = "NOT_FOUND_PAYMENT";
pub const UNAUTHORIZED_KEY: &str = "UNAUTHORIZED_KEY";
pub const INVALID_REQUEST: &str = "INVALID_REQUEST";
pub const INVALID_BANK: &str = "INVALID_BANK";
pub const NOT_CANCELABLE_AMOUNT: &str = "NOT_CANCELABLE_AMOUNT";
pub const EXCEED_MAX_DUE_DATE: &str = "EXCEED_MAX_DUE_DATE";
pub const DUPLICATED_ORDER_ID: &str = "DUPLICATED_ORDER_ID";

/// The DEPOSIT_CALLBACK body: no eventType wrapper [C].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepositCallback {
    pub created_at: String,
    pub secret: String,
    pub status: PaymentStatus,
    pub transaction_key: String,
    pub order_id: String,
}
