//! KICC EasyPay's own messages (pg.md §3.7, pg-samples.md §6).
//!
//! [C3] (four merchant copies of KICC's REST sample): the revise call
//! `POST /api/trades/revise`, its fields, `reviseTypeCode` values, `refundInfo`, and
//! `msgAuthValue = hex(HMAC-SHA256(secretKey, pgCno + "|" + shopTransactionId))`;
//! `resCd` "0000" as success.
//! [C] (developer.easypay.co.kr): the JSON notification's common fields (`resCd`, `resMsg`,
//! `mallId`, `notiType`, `pgCno`) and its acknowledgement; [C3] the legacy EP8 form.
//! [I] and [P]: everything else, kept and marked here so it can be corrected in one place.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The issuance call [P]: KICC has no public server-side issuance (accounts come from the
/// EasyPay window plus approval); this is an approval-like JSON call in KICC's style.
pub const ISSUE_PATH: &str = "/api/trades/approval";
/// 거래변경: cancels and refunds [C3].
pub const REVISE_PATH: &str = "/api/trades/revise";
/// Transaction status inquiry [P: name in KICC's style; body P].
pub const RETRIEVE_PATH: &str = "/api/trades/retrieveTransaction";

/// The banks KICC issues virtual accounts at, by KFTC code [P: KICC publishes no list
/// here; these are the banks the other PGs' lists agree on (banks.md "VA" column)].
pub const VA_BANKS: &[&str] = &[
    "003", "004", "011", "020", "023", "031", "032", "034", "039", "045", "071", "081", "088", "089",
];

/// `payMethodTypeCode` of a virtual account [P].
pub const PAY_METHOD_VACCT: &str = "22";
/// `reviseTypeCode` of a full/immediate cancel, used for an unpaid account [C3 code; I use].
pub const REVISE_CANCEL: &str = "40";
/// `reviseTypeCode` of a refund of a deposited account [C3].
pub const REVISE_REFUND: &str = "60";
/// `reviseTypeCode` of a partial refund [C3].
pub const REVISE_PARTIAL_REFUND: &str = "62";
/// `reviseSubTypeCode` sent with refunds to an account [P: one of the values the copies show].
pub const REVISE_SUB_REFUND: &str = "RF01";

/// `resCd` of success [C3].
pub const RES_OK: &str = "0000";
/// Already cancelled [P: pg-samples.md 6.2 placeholder].
pub const RES_ALREADY_CANCELLED: &str = "R102";
/// Deposited; a cancel does not apply, a refund does [P].
pub const RES_ALREADY_DEPOSITED: &str = "R103";
/// No such transaction for this mall [P].
pub const RES_NOT_FOUND: &str = "R101";
/// A refund of an account that was never deposited [P].
pub const RES_NOT_DEPOSITED: &str = "R104";
/// A refund larger than the refundable balance, or a wrong `remainAmount` [P].
pub const RES_BAD_AMOUNT: &str = "R105";
/// `msgAuthValue` does not verify [P].
pub const RES_MAC_MISMATCH: &str = "V001";
pub const MESSAGE_MAC_MISMATCH: &str = "메시지 인증값(msgAuthValue) 불일치";
/// A field is missing or malformed, or the mall is unknown [P].
pub const RES_BAD_REQUEST: &str = "V002";

/// Retrieve `statusCode` [P]: issued, waiting for the deposit.
pub const STATUS_WAITING: &str = "TS07";
/// Retrieve `statusCode` [P]: deposited.
pub const STATUS_DEPOSITED: &str = "TS08";
/// Retrieve `statusCode` [P]: voided before a deposit.
pub const STATUS_CANCELLED: &str = "TS02";
/// Retrieve `statusCode` [P]: deposited, then refunded in full.
pub const STATUS_REFUNDED: &str = "TS10";

/// `notiType` of a deposit [P: legacy EP8 `noti_type` 30 = 입금; the new code table was
/// not retrieved].
pub const NOTI_TYPE_DEPOSIT: &str = "30";

/// The JSON acknowledgement KICC waits for [C].
pub const NOTI_ACK: &str = r#"{"resCd":"0000","resMsg":"Success"}"#;
/// The JSON answer that asks KICC to resend [C].
pub const NOTI_NACK: &str = r#"{"resCd":"5001","resMsg":"FAIL"}"#;
/// The legacy EP8 acknowledgement: `res_cd=0000` 0x1F `res_msg=SUCCESS` [C3].
pub const LEGACY_NOTI_ACK: &str = "res_cd=0000\x1fres_msg=SUCCESS";

/// `hex(HMAC-SHA256(key, message))`.
pub fn hmac_hex(key: &str, message: &str) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Revise (and retrieve [P]): `hex(HMAC-SHA256(secretKey, pgCno + "|" + shopTransactionId))` [C3].
pub fn msg_auth_value(secret_key: &str, pg_cno: &str, shop_transaction_id: &str) -> String {
    hmac_hex(secret_key, &format!("{pg_cno}|{shop_transaction_id}"))
}

/// The issuance request's MAC [P]: `shopTransactionId|shopOrderNo|amount`.
pub fn issue_auth_value(secret_key: &str, shop_transaction_id: &str, shop_order_no: &str, amount: i64) -> String {
    hmac_hex(secret_key, &format!("{shop_transaction_id}|{shop_order_no}|{amount}"))
}

/// The approval answer's MAC [I: EasyPay's approval answer, `pgCno|amount|transactionDate`].
pub fn approval_auth_value(secret_key: &str, pg_cno: &str, amount: i64, transaction_date: &str) -> String {
    hmac_hex(secret_key, &format!("{pg_cno}|{amount}|{transaction_date}"))
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerInfo {
    pub customer_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_mail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_contact_no: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderInfo {
    pub goods_name: String,
    pub customer_info: CustomerInfo,
}

/// The account asked for, or the account issued [P shape per pg.md §3.7].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PaymentInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay_method_type_code: Option<String>,
    /// KFTC 3-digit bank code.
    pub bank_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_no: Option<String>,
    /// The holder name the buyer sees.
    pub deposit_name: String,
    /// Deposit deadline, `yyyyMMddHHmmss` KST [P].
    pub expiry_date: String,
}

/// The issuance request [P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IssueRequest {
    pub mall_id: String,
    pub shop_transaction_id: String,
    pub shop_order_no: String,
    pub amount: i64,
    pub pay_method_type_code: String,
    pub approval_req_date: String,
    pub client_ip: String,
    pub order_info: OrderInfo,
    pub payment_info: PaymentInfo,
    pub msg_auth_value: String,
}

/// The issuance answer [P; `pgCno` and `paymentInfo` names per pg.md §3.7].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueResponse {
    pub res_cd: String,
    pub res_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mall_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_cno: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// `yyyyMMddHHmmss` KST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_date: Option<String>,
    /// `approval_auth_value` [I], checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_auth_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_info: Option<PaymentInfo>,
}

/// Where a refund is paid [C3].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RefundInfo {
    /// KFTC 3-digit bank code.
    pub refund_bank_code: String,
    pub refund_account_no: String,
    pub refund_deposit_name: String,
}

/// The revise request [C3].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviseRequest {
    pub mall_id: String,
    pub shop_transaction_id: String,
    pub pg_cno: String,
    pub revise_type_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revise_sub_type_code: Option<String>,
    /// Partial refunds only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Partial refunds only: the balance left after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remain_amount: Option<i64>,
    pub revise_message: String,
    pub client_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `yyyyMMdd` KST.
    pub cancel_req_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_info: Option<RefundInfo>,
    pub msg_auth_value: String,
}

/// What the revise made [pg-samples.md 6.2: `pgCno`, `amount`; `cancelDate` P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviseInfo {
    /// The revise's own KICC transaction number.
    pub pg_cno: String,
    #[serde(default)]
    pub amount: i64,
    /// `yyyyMMddHHmmss` KST [P].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
}

/// The revise answer [C3 `resCd`/`resMsg`; the rest P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviseResponse {
    pub res_cd: String,
    pub res_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mall_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_cno: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revise_info: Option<ReviseInfo>,
}

/// The retrieve request [P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RetrieveRequest {
    pub mall_id: String,
    pub shop_transaction_id: String,
    pub pg_cno: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shop_order_no: Option<String>,
    /// `yyyyMMdd` KST.
    pub transaction_date: String,
    /// `msg_auth_value(secretKey, pgCno, shopTransactionId)` [P].
    pub msg_auth_value: String,
}

/// The retrieve answer [P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrieveResponse {
    pub res_cd: String,
    pub res_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_cno: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_order_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// One of the `STATUS_*` values [P].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// When the deposit arrived, `yyyyMMddHHmmss` KST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_date: Option<String>,
    /// When the account was voided, `yyyyMMddHHmmss` KST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
}

/// The new JSON notification [C `resCd`, `resMsg`, `mallId`, `notiType`, `pgCno`; rest P].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub res_cd: String,
    #[serde(default)]
    pub res_msg: String,
    #[serde(default)]
    pub mall_id: String,
    pub noti_type: String,
    pub pg_cno: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_order_no: Option<String>,
    /// A number in the sample; text is accepted too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_name: Option<String>,
    /// When the deposit arrived, `yyyyMMddHHmmss` KST [P].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_date: Option<String>,
    /// pg-samples.md 6.3's time field [P]; read when `depositDate` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_date: Option<String>,
}

/// The legacy EP8 notification's form fields [C3 KICC sample].
pub mod legacy {
    pub const RES_CD: &str = "res_cd";
    pub const CNO: &str = "cno";
    pub const MALL_ID: &str = "memb_id";
    pub const AMOUNT: &str = "amount";
    pub const ORDER_NO: &str = "order_no";
    pub const NOTI_TYPE: &str = "noti_type";
    pub const TRAN_DATE: &str = "tran_date";
    pub const BANK_CODE: &str = "bank_cd";
    pub const ACCOUNT: &str = "account_no";
    pub const DEPOSITOR: &str = "deposit_nm";
}
