//! NICE Payments' new module (`nice_v2`, "Start API"): its own messages, codes and
//! signatures (pg.md §3.5, pg-samples.md §5).
//!
//! [C `nicepayments/nicepay-manual`], implemented exactly:
//! - `Authorization: Basic b64(clientKey:secretKey)`; 401 when it fails (U304).
//! - `POST /v1/payments/{tid}/cancel` with `reason`, `orderId` (required), `cancelAmt`
//!   (omitted for a full cancel), `ediDate` (ISO 8601) and
//!   signData = hex(SHA-256(tid + ediDate + SecretKey)); `refundAccount`, `refundBankCode`,
//!   `refundHolder` for deposited accounts.
//! - `GET /v1/payments/{tid}` and the payment object every answer and webhook carries, with
//!   signature = hex(SHA-256(tid + amount + ediDate + SecretKey)); `resultCode` "0000" is
//!   success; the status set paid/ready/failed/cancelled/partialCancelled/expired; the
//!   `vbank{vbankCode, vbankName, vbankNumber, vbankExpDate, vbankHolder}` object.
//! - The webhook: the payment object as JSON, acknowledged by HTTP 200 with body `OK`
//!   (text/html); anything else is a failure and NICE resends.
//! - The U-codes of the API code table (U100, U107, U112, U122, U123, U304, U312, ...).
//!
//! Guesses, kept here and marked where they are used:
//! - [P] server-side issuance: `POST /v1/vbank` with `orderId`, `amount`, `goodsName`,
//!   `vbankCode`, `vbankHolder`, `vbankExpDate` (the JS SDK's field names, [C]),
//!   `buyerName`/`buyerEmail`/`buyerTel`, `ediDate` and
//!   signData = hex(SHA-256(orderId + amount + ediDate + SecretKey)) (the netcancel's shape,
//!   with the amount). It answers the payment object with `status` "ready".
//! - [I] that v2 cancels answer the old 4-digit codes: 2013/2015 already cancelled, and
//!   2014 ("취소 불가능 거래") for an account that was deposited into. 2014 is generic, so the
//!   connector confirms with a query before it reports `AlreadyDeposited`.
//! - [I] a `cancelled` payment with a `paidAt` was refunded after its deposit: it counts
//!   as deposited, not as a revoked account.
//! - The webhook's `signature` is checked with the channel's SecretKey
//!   ([`webhook_signature_matches`]): a bad one is forged outright. A good one proves only
//!   that the sender holds the merchant's key, so the server still asks NICE
//!   (`GET /v1/payments/{tid}`, whose answer is checked against the SecretKey) before anything
//!   changes.
//! - [I] the legacy "결제데이터통보" form is accepted on the same route (pg.md §3.5 conflict).
//! - [I] the rejection acknowledgement: HTTP 400 with body `FAIL`.

use base64::Engine;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vbank_core::time::to_kst;
use vbank_core::UnixSeconds;

/// The documentation keys [C `common/api.md`].
pub const TEST_CLIENT_KEY: &str = "af0d116236df437f831483ee9c500bc4";
pub const TEST_SECRET_KEY: &str = "433a8421be754b34989048cf148a5ffc";
/// The sandbox's MID for them (v2 calls do not carry the MID; 10 characters as NICE's).
pub const TEST_MID: &str = "nicev2test";

/// [P] server-side issuance.
pub const PATH_ISSUE: &str = "/v1/vbank";

// resultCode [C code table; use for v2 cancels I].
pub const RESULT_OK: &str = "0000";
/// 취소 완료 거래.
pub const RESULT_ALREADY_CANCELLED: &str = "2013";
/// 취소 불가능 거래; [I] what NICE answers to a void of a deposited account.
pub const RESULT_NOT_CANCELLABLE: &str = "2014";
/// 기 취소 요청.
pub const RESULT_CANCEL_REQUESTED: &str = "2015";
/// {0} 필수입력항목이 누락되었습니다.
pub const RESULT_MISSING_FIELD: &str = "U100";
/// 거래내역이 존재 하지 않습니다.
pub const RESULT_NOT_FOUND: &str = "U107";
/// 이미 사용된 OrderId 입니다.
pub const RESULT_ORDER_ID_USED: &str = "U112";
/// 취소 해당거래 없음.
pub const RESULT_CANCEL_NOT_FOUND: &str = "U122";
/// 취소금액이 취소가능금액보다 큼.
pub const RESULT_CANCEL_EXCEEDS: &str = "U123";
/// 잘못된 요청 입니다.
pub const RESULT_BAD_REQUEST: &str = "U125";
/// orderId가 존재 하지 않습니다.
pub const RESULT_ORDER_ID_UNKNOWN: &str = "U126";
/// 요청 금액이 올바르지 않습니다.
pub const RESULT_BAD_AMOUNT: &str = "U127";
/// 허용된 Date형식이 아닙니다.
pub const RESULT_BAD_DATE: &str = "U130";
/// BASIC AUTHENTICATION 실패 (HTTP 401).
pub const RESULT_BASIC_AUTH_FAILED: &str = "U304";
/// SIGN DATA 검증에 실패하였습니다.
pub const RESULT_SIGN_FAILED: &str = "U312";
pub const MESSAGE_SIGN_FAILED: &str = "SIGN DATA 검증에 실패하였습니다.";
/// 취소 금액 불일치.
pub const RESULT_CANCEL_AMOUNT_MISMATCH: &str = "U318";
/// 가상계좌 유효시간 지정 오류 입니다.
pub const RESULT_BAD_VALIDITY: &str = "P031";
/// 가상계좌 발급 실패 (a bank NICE does not issue at).
pub const RESULT_ISSUE_FAILED: &str = "4117";

// status [C].
pub const STATUS_PAID: &str = "paid";
pub const STATUS_READY: &str = "ready";
pub const STATUS_FAILED: &str = "failed";
pub const STATUS_CANCELLED: &str = "cancelled";
pub const STATUS_PARTIAL_CANCELLED: &str = "partialCancelled";
pub const STATUS_EXPIRED: &str = "expired";

/// `payMethod` of a virtual account (the manual writes both cases) [C].
pub const PAY_METHOD_VBANK: &str = "vbank";

/// The webhook acknowledgement [C] and vbank's refusal [I].
pub const NOTI_ACK: &str = "OK";
pub const NOTI_NACK: &str = "FAIL";

/// Banks the new module issues virtual accounts at [C banks.md, N2].
pub const VBANK_BANKS: [&str; 12] = [
    "003", "004", "011", "020", "023", "031", "032", "034", "071", "081", "088", "089",
];

/// `Authorization: Basic b64(clientKey + ":" + secretKey)` [C].
pub fn basic_auth(client_key: &str, secret_key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_key}:{secret_key}"))
    )
}

/// hex(SHA-256(concatenation of the parts)).
pub fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Cancel `signData` = hex(SHA-256(tid + ediDate + SecretKey)) [C].
pub fn cancel_sign_data(tid: &str, edi_date: &str, secret_key: &str) -> String {
    sha256_hex(&[tid, edi_date, secret_key])
}

/// Answer and webhook `signature` = hex(SHA-256(tid + amount + ediDate + SecretKey)) [C].
pub fn signature(tid: &str, amount: i64, edi_date: &str, secret_key: &str) -> String {
    sha256_hex(&[tid, &amount.to_string(), edi_date, secret_key])
}

/// [P] issue `signData` = hex(SHA-256(orderId + amount + ediDate + SecretKey)).
pub fn issue_sign_data(order_id: &str, amount: i64, edi_date: &str, secret_key: &str) -> String {
    sha256_hex(&[order_id, &amount.to_string(), edi_date, secret_key])
}

/// Whether text has the shape of a signature: 64 hex digits.
pub fn is_signature_shaped(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Constant-time comparison of two signatures, case-insensitive in the hex digits.
pub fn signatures_equal(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left.bytes().zip(right.bytes()).fold(0u8, |acc, (a, b)| {
            acc | (a.to_ascii_lowercase() ^ b.to_ascii_lowercase())
        }) == 0
}

/// Whether a payment object's `signature` is NICE's over its tid, amount and ediDate.
/// An object without the three fields or the signature does not match.
pub fn signature_matches(payment: &Payment, secret_key: &str) -> bool {
    match (&payment.tid, payment.amount, &payment.edi_date, &payment.signature) {
        (Some(tid), Some(amount), Some(edi_date), Some(given)) => {
            signatures_equal(given, &signature(tid, amount, edi_date, secret_key))
        }
        _ => false,
    }
}

/// The full check of a webhook body, given the channel's SecretKey.
pub fn webhook_signature_matches(body: &[u8], secret_key: &str) -> bool {
    serde_json::from_slice::<Payment>(body).is_ok_and(|payment| signature_matches(&payment, secret_key))
}

/// `ediDate`: ISO 8601 in KST with milliseconds, as the manual's samples write it
/// (`2025-01-01T12:00:00.000+0900`).
pub fn edi_date(now: UnixSeconds) -> String {
    to_kst(now).format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// An ISO 8601 time (`+0900` or `+09:00`); NICE's "0" (never) and anything unreadable are `None`.
pub fn parse_time(text: &str) -> Option<UnixSeconds> {
    if text.is_empty() || text == "0" {
        return None;
    }
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|moment| moment.timestamp())
}

/// [P] the issue request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueRequest {
    pub order_id: String,
    pub amount: i64,
    pub goods_name: String,
    /// KFTC 3-digit code.
    pub vbank_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbank_holder: Option<String>,
    /// ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbank_exp_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbank_valid_hours: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_tel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edi_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_data: Option<String>,
}

/// The cancel request [C].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelRequest {
    pub reason: String,
    pub order_id: String,
    /// Omitted for a full cancel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_amt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edi_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_data: Option<String>,
    /// Deposited accounts only: where the refund is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_account: Option<String>,
    /// KFTC 3-digit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_bank_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_holder: Option<String>,
}

/// The `vbank` object [C].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vbank {
    pub vbank_code: String,
    #[serde(default)]
    pub vbank_name: String,
    pub vbank_number: String,
    /// ISO 8601.
    pub vbank_exp_date: String,
    #[serde(default)]
    pub vbank_holder: Option<String>,
}

/// One entry of `cancels` [C].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancel {
    pub tid: String,
    pub amount: i64,
    pub cancelled_at: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub receipt_url: Option<String>,
}

/// NICE's payment object: every answer (failures carry only the first fields) and the
/// webhook body [C].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub result_code: String,
    #[serde(default)]
    pub result_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edi_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_amt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_escrow: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vbank: Option<Vbank>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancels: Option<Vec<Cancel>>,
}
