//! NICE Payments' old web API (`nice`): its own messages, codes and signatures
//! (pg.md §3.4, pg-samples.md §4).
//!
//! [C]/[C3], implemented exactly:
//! - `get_vacount.jsp` (issue) and `cancel_process.jsp` (cancel) form fields, and both
//!   `SignData` formulas: hex(SHA-256(MID+Amt+EdiDate+Moid+MerchantKey)) and
//!   hex(SHA-256(MID+CancelAmt+EdiDate+MerchantKey)).
//! - The result codes of NICE's table (4100 issued, 4110 deposited, 2001/2211 cancelled,
//!   2013/2015 already cancelled, A101 signature failure, ...).
//! - The "결제데이터통보" notification fields, EUC-KR, no signature, acknowledged by `OK`.
//! - [C3 NICE's "manual-status" page, copied in a clipping]: the transaction status
//!   inquiry `webapi/inquery/trans_status.jsp` with `TID`, `MID`, `EdiDate`, `CharSet`,
//!   `EdiType` and SignData = hex(SHA-256(TID+MID+EdiDate+MerchantKey)); its answer
//!   `ResultCode` ("0000"), `ResultMsg`, `TID`, `Status` (0 approved, 1 cancelled,
//!   9 no such approval), `AuthCode`, `AuthDate`.
//!
//! Guesses, kept here and marked where they are used:
//! - [I] the merchant-made TID layout: MID + "03" (vbank) + "01" (media) + yyMMddHHmmss + 4 digits.
//! - [I] the refund fields `RefundAcctNo`/`RefundBankCd`/`RefundAcctNm` on `cancel_process.jsp`,
//!   and that "0" in `PartialCancelCode` cancels all that is left.
//! - [I] 2014 ("취소 불가능 거래") as NICE's refusal to void an account that was deposited
//!   into. The code is generic, so the connector confirms with an inquiry before it reports
//!   `AlreadyDeposited`.
//! - [I] `CancelNum` in the cancel answer: the cancel's own number.
//! - [P] the inquiry's virtual-account fields, which NICE's status page does not show:
//!   `Moid`, `Amt`, `VbankState` ("0" waiting for the deposit, "1" deposited), `AuthDate` as
//!   the deposit time, and `CancelDate`/`CancelTime`. A `Status` "9" means NICE knows no
//!   such transaction.
//! - [I] the rejection acknowledgement `FAIL`: anything but `OK` makes NICE resend.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vbank_core::time::to_kst;
use vbank_core::UnixSeconds;

/// NICE's public test MID and its MerchantKey [C sample].
pub const TEST_MID: &str = "nicepay00m";
pub const TEST_MERCHANT_KEY: &str =
    "EYzu8jGGMfqaDEp76gSckuvnaHHu+bC4opsSN6lHv3b2lurNYkVXrZ7Z1AoqQnXI3eLuaUFyoRNC6FkrzVjceg==";

pub const PATH_ISSUE: &str = "/webapi/get_vacount.jsp";
pub const PATH_CANCEL: &str = "/webapi/cancel_process.jsp";
/// The transaction status inquiry [C3; NICE spells it "inquery"].
pub const PATH_INQUIRY: &str = "/webapi/inquery/trans_status.jsp";

/// TID parts [I]: pay method "03" (virtual account) and media "01".
pub const TID_PAY_METHOD: &str = "03";
pub const TID_MEDIA: &str = "01";

/// Answer charset and format the connector asks for [C `CharSet`, `EdiType`].
pub const CHARSET_UTF8: &str = "utf-8";
pub const EDI_TYPE_JSON: &str = "JSON";

/// `PartialCancelCode` [C]: "0" full, "1" partial.
pub const CANCEL_FULL: &str = "0";
pub const CANCEL_PARTIAL: &str = "1";

// Result codes [C `nicepayments/nicepay-manual: common/code.md`].
/// 가상계좌 발급 성공.
pub const RESULT_ISSUED: &str = "4100";
/// 가상계좌 입금 성공 (the notification of a deposit).
pub const RESULT_DEPOSITED: &str = "4110";
/// 가상계좌 입금예정일 오류.
pub const RESULT_BAD_DUE: &str = "4102";
/// 가상계좌 발급 실패.
pub const RESULT_ISSUE_FAILED: &str = "4117";
/// 가상계좌 채번취소(환불) 상태이므로 입금처리 실패: a deposit into a revoked account. The
/// sandbox's bank refuses such deposits itself (its ledger), before any notice.
pub const RESULT_DEPOSIT_INTO_CANCELLED: &str = "4123";
/// 가상계좌 입금내역 기처리 완료: a second deposit, refused by the sandbox's bank as well.
pub const RESULT_DEPOSIT_DUPLICATE: &str = "4124";
/// 취소 성공.
pub const RESULT_CANCELLED: &str = "2001";
/// 환불 성공 ("2001과 함께 취소 성공 처리할 것").
pub const RESULT_REFUNDED: &str = "2211";
/// 취소 요청금액 0원 이하.
pub const RESULT_CANCEL_AMOUNT_ZERO: &str = "2010";
/// 해당결제수단 부분취소 불가: an unpaid account is voided whole.
pub const RESULT_PARTIAL_NOT_ALLOWED: &str = "2030";
/// 취소 금액 불일치.
pub const RESULT_CANCEL_AMOUNT_MISMATCH: &str = "2011";
/// 취소 해당거래 없음.
pub const RESULT_CANCEL_NOT_FOUND: &str = "2012";
/// 취소 완료 거래: cancelled before.
pub const RESULT_ALREADY_CANCELLED: &str = "2013";
/// 취소 불가능 거래; [I] what NICE answers to a void of a deposited account.
pub const RESULT_NOT_CANCELLABLE: &str = "2014";
/// 기 취소 요청: a cancel is already under way.
pub const RESULT_CANCEL_REQUESTED: &str = "2015";
/// 취소 기한 초과.
pub const RESULT_CANCEL_EXPIRED: &str = "2016";
/// 취소금액이 취소가능금액보다 큼.
pub const RESULT_CANCEL_EXCEEDS: &str = "2032";
/// SIGN DATA 검증에 실패하였습니다.
pub const RESULT_SIGN_FAILED: &str = "A101";
pub const MESSAGE_SIGN_FAILED: &str = "SIGN DATA 검증에 실패하였습니다";
/// 날짜 형식이 올바르지 않습니다.
pub const RESULT_BAD_DATE: &str = "A106";
/// 입금예정일을 오늘 이전 날짜로 설정할 수 없습니다.
pub const RESULT_DUE_IN_PAST: &str = "A108";
/// 상점 MID가 유효하지 않습니다.
pub const RESULT_BAD_MID: &str = "A114";
/// TID가 유효하지 않습니다.
pub const RESULT_TID_INVALID: &str = "A115";
/// 요청 금액이 올바르지 않습니다.
pub const RESULT_BAD_AMOUNT: &str = "A116";
/// TID 중복 오류.
pub const RESULT_TID_DUPLICATE: &str = "A225";
/// "누락된 필드명" + 필드값이 누락되었습니다.
pub const RESULT_MISSING_FIELD: &str = "9000";
/// The inquiry's success [C3].
pub const RESULT_INQUIRY_OK: &str = "0000";

/// Inquiry `Status` [C3]: approved (for a virtual account: issued or deposited), cancelled,
/// no such approval.
pub const STATUS_APPROVED: &str = "0";
pub const STATUS_CANCELLED: &str = "1";
pub const STATUS_NONE: &str = "9";

/// Inquiry `VbankState` [P]: waiting for the deposit, deposited.
pub const VBANK_WAITING: &str = "0";
pub const VBANK_DEPOSITED: &str = "1";

/// Notification `PayMethod` of a virtual account [C3].
pub const PAY_METHOD_VBANK: &str = "VBANK";
/// Notification `StateCd` [C3]: 0 승인, 1 전취소, 2 후취소.
pub const STATE_APPROVED: &str = "0";
pub const STATE_CANCELLED_BEFORE: &str = "1";
pub const STATE_CANCELLED_AFTER: &str = "2";

/// The acknowledgement NICE waits for; anything else makes it resend [C3].
pub const NOTI_ACK: &str = "OK";
/// What vbank answers to a notification it refuses, so that NICE resends it [I].
pub const NOTI_NACK: &str = "FAIL";

/// hex(SHA-256(concatenation of the parts)).
pub fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Issue: hex(SHA-256(MID + Amt + EdiDate + Moid + MerchantKey)) [C3].
pub fn issue_sign_data(mid: &str, amount: &str, edi_date: &str, moid: &str, merchant_key: &str) -> String {
    sha256_hex(&[mid, amount, edi_date, moid, merchant_key])
}

/// Cancel: hex(SHA-256(MID + CancelAmt + EdiDate + MerchantKey)) [C].
pub fn cancel_sign_data(mid: &str, cancel_amount: &str, edi_date: &str, merchant_key: &str) -> String {
    sha256_hex(&[mid, cancel_amount, edi_date, merchant_key])
}

/// Inquiry: hex(SHA-256(TID + MID + EdiDate + MerchantKey)) [C3].
pub fn inquiry_sign_data(tid: &str, mid: &str, edi_date: &str, merchant_key: &str) -> String {
    sha256_hex(&[tid, mid, edi_date, merchant_key])
}

/// `EdiDate`: `yyyyMMddHHmmss` in KST.
pub fn edi_date(now: UnixSeconds) -> String {
    to_kst(now).format("%Y%m%d%H%M%S").to_string()
}

/// The TID the merchant makes for an issue [I]: MID + "03" + "01" + yyMMddHHmmss + 4 digits
/// (30 characters with a 10-character MID).
pub fn make_tid(mid: &str, now: UnixSeconds, serial: u16) -> String {
    format!(
        "{mid}{TID_PAY_METHOD}{TID_MEDIA}{}{:04}",
        to_kst(now).format("%y%m%d%H%M%S"),
        serial % 10_000
    )
}

/// The answer to `get_vacount.jsp` [C3 field names].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueResponse {
    #[serde(rename = "ResultCode")]
    pub result_code: String,
    #[serde(rename = "ResultMsg", default)]
    pub result_msg: String,
    #[serde(rename = "TID", default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(rename = "Moid", default, skip_serializing_if = "Option::is_none")]
    pub moid: Option<String>,
    #[serde(rename = "Amt", default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// yyMMddHHmmss.
    #[serde(rename = "AuthDate", default, skip_serializing_if = "Option::is_none")]
    pub auth_date: Option<String>,
    /// The 3-digit KFTC code.
    #[serde(rename = "VbankBankCode", default, skip_serializing_if = "Option::is_none")]
    pub vbank_bank_code: Option<String>,
    #[serde(rename = "VbankBankName", default, skip_serializing_if = "Option::is_none")]
    pub vbank_bank_name: Option<String>,
    #[serde(rename = "VbankNum", default, skip_serializing_if = "Option::is_none")]
    pub vbank_num: Option<String>,
    /// YYYYMMDD.
    #[serde(rename = "VbankExpDate", default, skip_serializing_if = "Option::is_none")]
    pub vbank_exp_date: Option<String>,
    /// HHmmss.
    #[serde(rename = "VbankExpTime", default, skip_serializing_if = "Option::is_none")]
    pub vbank_exp_time: Option<String>,
}

/// The answer to `cancel_process.jsp` [C3 shape].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelResponse {
    #[serde(rename = "ResultCode")]
    pub result_code: String,
    #[serde(rename = "ResultMsg", default)]
    pub result_msg: String,
    #[serde(rename = "TID", default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(rename = "Moid", default, skip_serializing_if = "Option::is_none")]
    pub moid: Option<String>,
    #[serde(rename = "CancelAmt", default, skip_serializing_if = "Option::is_none")]
    pub cancel_amount: Option<String>,
    /// yyyyMMdd.
    #[serde(rename = "CancelDate", default, skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
    /// HHmmss.
    #[serde(rename = "CancelTime", default, skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
    /// [I] the cancel's own number.
    #[serde(rename = "CancelNum", default, skip_serializing_if = "Option::is_none")]
    pub cancel_num: Option<String>,
    /// [I] what is left to cancel.
    #[serde(rename = "RemainAmt", default, skip_serializing_if = "Option::is_none")]
    pub remain_amount: Option<String>,
}

/// The answer to `trans_status.jsp`: [C3] fields, then the [P] virtual-account ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquiryResponse {
    #[serde(rename = "ResultCode")]
    pub result_code: String,
    #[serde(rename = "ResultMsg", default)]
    pub result_msg: String,
    #[serde(rename = "TID", default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(rename = "Status", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "AuthCode", default, skip_serializing_if = "Option::is_none")]
    pub auth_code: Option<String>,
    /// yyMMddHHmmss; for a deposited account, when the deposit came [P].
    #[serde(rename = "AuthDate", default, skip_serializing_if = "Option::is_none")]
    pub auth_date: Option<String>,
    /// [P] the order id given at issue.
    #[serde(rename = "Moid", default, skip_serializing_if = "Option::is_none")]
    pub moid: Option<String>,
    /// [P] the amount the account was issued for.
    #[serde(rename = "Amt", default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// [P] "0" waiting for the deposit, "1" deposited.
    #[serde(rename = "VbankState", default, skip_serializing_if = "Option::is_none")]
    pub vbank_state: Option<String>,
    /// [P] yyyyMMdd / HHmmss of the cancel.
    #[serde(rename = "CancelDate", default, skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
    #[serde(rename = "CancelTime", default, skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
}

/// The form fields of the request bodies [C/C3].
pub mod field {
    pub const TID: &str = "TID";
    pub const MID: &str = "MID";
    pub const EDI_DATE: &str = "EdiDate";
    pub const MOID: &str = "Moid";
    pub const AMT: &str = "Amt";
    pub const GOODS_NAME: &str = "GoodsName";
    pub const SIGN_DATA: &str = "SignData";
    pub const BANK_CODE: &str = "BankCode";
    pub const VBANK_EXP_DATE: &str = "VbankExpDate";
    pub const VBANK_ACCOUNT_NAME: &str = "VbankAccountName";
    pub const BUYER_NAME: &str = "BuyerName";
    pub const BUYER_EMAIL: &str = "BuyerEmail";
    pub const BUYER_TEL: &str = "BuyerTel";
    pub const CHARSET: &str = "CharSet";
    pub const EDI_TYPE: &str = "EdiType";
    pub const CANCEL_AMT: &str = "CancelAmt";
    pub const CANCEL_MSG: &str = "CancelMsg";
    pub const PARTIAL_CANCEL_CODE: &str = "PartialCancelCode";
    /// [I] refunds of deposited accounts only.
    pub const REFUND_ACCT_NO: &str = "RefundAcctNo";
    pub const REFUND_BANK_CD: &str = "RefundBankCd";
    pub const REFUND_ACCT_NM: &str = "RefundAcctNm";
}

/// The "결제데이터통보" fields [C3 payloadcms clipping].
pub mod noti {
    pub const PAY_METHOD: &str = "PayMethod";
    pub const MID: &str = "MID";
    pub const TID: &str = "TID";
    pub const MOID: &str = "MOID";
    pub const AMT: &str = "Amt";
    pub const GOODS_NAME: &str = "GoodsName";
    pub const NAME: &str = "name";
    pub const MALL_USER_ID: &str = "MallUserID";
    pub const RESULT_CODE: &str = "ResultCode";
    pub const RESULT_MSG: &str = "ResultMsg";
    pub const AUTH_CODE: &str = "AuthCode";
    /// yyMMddHHmmss: for a deposit, when it came.
    pub const AUTH_DATE: &str = "AuthDate";
    pub const STATE_CD: &str = "StateCd";
    pub const CANCEL_DATE: &str = "CancelDate";
    pub const TRANS_TYPE: &str = "TransType";
    pub const VBANK_NUM: &str = "VbankNum";
    pub const VBANK_NAME: &str = "VbankName";
    pub const VBANK_INPUT_NAME: &str = "VbankInputName";
    pub const FN_CD: &str = "FnCd";
    pub const FN_NAME: &str = "FnName";
    pub const BUYER_AUTH_NUM: &str = "BuyerAuthNum";
    pub const BUYER_EMAIL: &str = "BuyerEmail";
    pub const RCPT_AUTH_CODE: &str = "RcptAuthCode";
    pub const RCPT_TID: &str = "RcptTID";
    pub const RCPT_TYPE: &str = "RcptType";
}

/// Banks NICE issues virtual accounts at [C code.md "가상계좌발급"]; 005 (외환) is gone.
pub const VBANK_BANKS: [&str; 12] = [
    "003", "004", "011", "020", "023", "031", "032", "034", "071", "081", "088", "089",
];
