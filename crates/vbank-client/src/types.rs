//! The wire types: what vbank answers (lenient: unknown fields are ignored, absent ones
//! default) and what it is sent.

use serde::{Deserialize, Serialize};

/// `POST /users/getToken`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Token {
    pub access_token: String,
    pub now: i64,
    pub expired_at: i64,
}

/// i'mport's payment object (the fields a virtual account uses).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Payment {
    pub imp_uid: String,
    pub merchant_uid: String,
    pub pay_method: String,
    pub pg_provider: String,
    pub pg_tid: String,
    pub pg_id: String,
    pub vbank_code: String,
    pub vbank_name: String,
    pub vbank_num: String,
    pub vbank_holder: Option<String>,
    /// Deposit due time, Unix seconds.
    pub vbank_date: i64,
    pub vbank_issued_at: i64,
    pub name: Option<String>,
    pub amount: i64,
    pub cancel_amount: i64,
    pub currency: String,
    pub buyer_name: Option<String>,
    /// `ready`, `paid`, `cancelled` or `failed`.
    pub status: String,
    pub started_at: i64,
    pub paid_at: i64,
    pub failed_at: i64,
    pub cancelled_at: i64,
    pub fail_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancel_history: Vec<Cancellation>,
    pub custom_data: Option<String>,
    pub sandbox: bool,
}

/// One entry of `cancel_history`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Cancellation {
    pub pg_tid: String,
    pub amount: i64,
    pub cancelled_at: i64,
    pub reason: String,
    pub cancellation_id: String,
    pub receipt_url: String,
}

/// A page of payments.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Page {
    pub total: u64,
    pub previous: u32,
    pub next: u32,
    pub list: Vec<Payment>,
}

/// One line of a payment's history.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct PaymentEvent {
    pub at: i64,
    /// `transition`, `pg_call`, `notice_refused`, ...
    pub kind: String,
    pub detail: String,
}

/// A webhook delivery with its attempts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: String,
    pub imp_uid: String,
    pub status: String,
    pub cancellation_id: Option<String>,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub delivered_at: i64,
    pub attempts: Vec<WebhookAttempt>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct WebhookAttempt {
    pub at: i64,
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// `POST /webhooks/{id}/resend`'s answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ResentWebhook {
    pub id: i64,
    pub state: String,
}

/// `POST /vbanks`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IssueRequest {
    pub merchant_uid: String,
    pub amount: i64,
    /// 3-digit KFTC bank code.
    pub vbank_code: String,
    /// Unix seconds.
    pub vbank_due: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbank_holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_tel: Option<String>,
    /// The channel (`tosspayments`, `html5_inicis.MID`, ...); the merchant's default if absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    /// KG INICIS's INIAPI key; sent in the query, as i'mport takes it.
    #[serde(skip)]
    pub pg_api_key: Option<String>,
}

impl IssueRequest {
    pub fn new(merchant_uid: impl Into<String>, amount: i64, vbank_code: impl Into<String>, vbank_due: i64) -> Self {
        IssueRequest {
            merchant_uid: merchant_uid.into(),
            amount,
            vbank_code: vbank_code.into(),
            vbank_due,
            ..IssueRequest::default()
        }
    }

    pub fn pg(mut self, pg: impl Into<String>) -> Self {
        self.pg = Some(pg.into());
        self
    }

    pub fn buyer_name(mut self, name: impl Into<String>) -> Self {
        self.buyer_name = Some(name.into());
        self
    }

    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.vbank_holder = Some(holder.into());
        self
    }

    pub fn pg_api_key(mut self, key: impl Into<String>) -> Self {
        self.pg_api_key = Some(key.into());
        self
    }
}

/// `POST /payments/cancel`: a refund after deposit.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RefundRequest {
    pub imp_uid: String,
    /// Won; everything left when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub refund_holder: String,
    /// In the PG's own bank-code system.
    pub refund_bank: String,
    pub refund_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pg_api_key: Option<String>,
}

/// `GET /payments/status/{status}`'s filter.
#[derive(Debug, Clone)]
pub struct StatusQuery {
    /// `all`, `ready`, `paid`, `cancelled` or `failed`.
    pub status: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub page: Option<u32>,
    pub limit: Option<u32>,
    pub sorting: Option<String>,
}

impl StatusQuery {
    pub fn new(status: impl Into<String>) -> Self {
        StatusQuery {
            status: status.into(),
            from: None,
            to: None,
            page: None,
            limit: None,
            sorting: None,
        }
    }

    pub(crate) fn parameters(&self) -> Vec<(&'static str, String)> {
        let mut parameters = Vec::new();
        if let Some(from) = self.from {
            parameters.push(("from", from.to_string()));
        }
        if let Some(to) = self.to {
            parameters.push(("to", to.to_string()));
        }
        if let Some(page) = self.page {
            parameters.push(("page", page.to_string()));
        }
        if let Some(limit) = self.limit {
            parameters.push(("limit", limit.to_string()));
        }
        if let Some(sorting) = &self.sorting {
            parameters.push(("sorting", sorting.clone()));
        }
        parameters
    }
}

/// A deposit at the sandbox bank.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxDeposit {
    pub bank_code: String,
    pub account_number: String,
    pub amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depositor_name: Option<String>,
}

impl SandboxDeposit {
    /// The payment's whole amount into its account.
    pub fn for_payment(payment: &Payment) -> Self {
        SandboxDeposit {
            bank_code: payment.vbank_code.clone(),
            account_number: payment.vbank_num.clone(),
            amount: payment.amount - payment.cancel_amount,
            depositor_name: payment.buyer_name.clone(),
        }
    }
}

/// What the sandbox bank did with a deposit.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct DepositOutcome {
    pub accepted: bool,
    pub reason: String,
    pub notified: Option<bool>,
}

/// What a PG simulator recorded for an account.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct SandboxAccount {
    pub pg: String,
    pub tid: String,
    pub order_id: String,
    pub state: String,
    pub refunded: i64,
    pub amount: i64,
    pub bank_code: String,
    pub account_number: String,
    pub due: i64,
}

/// Makes a PG simulator's next calls fail.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxFault {
    pub pg: String,
    /// `issue`, `revoke`, `query`, `refund` or `notify`.
    pub operation: String,
    /// `timeout_before_commit`, `timeout_after_commit`, `http_500`, `garbage`, `drop`.
    pub fault: String,
    pub count: u32,
}

/// `/healthz` and `/readyz`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    pub problem: Option<String>,
}
