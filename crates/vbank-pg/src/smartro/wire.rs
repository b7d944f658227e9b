//! Smartro's own messages (SmartroPAY, `smartro_v2`; pg.md §3.8, pg-samples.md §8).
//!
//! [C]/[C3]: the `{EncData, Mid}` envelope (AES-256-CBC of the JSON parameters under the first
//! 32 characters of the MerchantKey, zero IV, PKCS5, Base64); `vacct.do` and its parameters, with
//! `ResultCode` "4100"; `cancel.do` and its parameters (`Tid`, `CancelPwd`, `CancelAmt`,
//! `CancelMsg`, `PartialCancelCode`, `CancelSeq`, `HashData` = b64(raw SHA-256(Tid + MerchantKey +
//! CancelAmt + PartialCancelCode))), with "2001" success, "2013" already cancelled, "2211" refund
//! success; the 신통보 form (UTF-8) with `ResultCode` 4110 for a deposit, its `SignValue` formula
//! and its acknowledgement (a body containing `OK`); 9999 system error; the test environment's
//! refusal of banks 004, 037, 034, 031 and 089.
//!
//! Guesses, all kept here:
//! - [conflict] the `SignValue` digest: MD5 hex then Base64 (default) or raw SHA-256 then Base64,
//!   in [`SignDigest`].
//! - [C3 conflict] the cancel path: `/payment/approval/cancel.do` (default) or
//!   `/payment/cancel/cancelApproval.do`, in [`Options::cancel_path`].
//! - [I] a refusal of a deposited account's cancel: [`RESULT_NOT_CANCELLABLE`] "2014".
//! - [I] `Moid` is vbank's imp_uid without its `_` (Smartro takes no special characters;
//!   imp_uids are unique where merchant_uids may repeat).
//! - [I] refunds after deposit: `cancel.do` with `RefundAcctNo`, `RefundBankCd`, `RefundAcctNm`
//!   (as old NICE, whose code family Smartro shares), answered "2211" with `CancelNum` as the
//!   refund's own number.
//! - [P] the transaction inquiry (`/payment/approval/inquiry.do`, same envelope, answer
//!   `ResultCode` "0000" with `StateCode` one of the notification codes 4100/4110/2001/2211).
//!   Smartro documents a receipt API (`api.smilepay.co.kr/receipt`, header `apikey` =
//!   MerchantKey) whose fields were not found; `Connector::revoke`/`refund` get only the tid,
//!   so the connector reads the amount and the refund count from this inquiry first.
//! - [P] the other refusal codes below (3001–3006, 2012, 2016).
//! - The notification's SignValue is checked with the channel's MerchantKey ([`verify_notice`]):
//!   a bad one is forged outright; a good one still leads to a confirming query.

use base64::Engine;
use md5::Md5;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const PATH_ISSUE: &str = "/payment/approval/vacct.do";
pub const PATH_CANCEL: &str = "/payment/approval/cancel.do";
/// The cancel path a third merchant copy uses [C3].
pub const PATH_CANCEL_ALT: &str = "/payment/cancel/cancelApproval.do";
/// [P].
pub const PATH_INQUIRY: &str = "/payment/approval/inquiry.do";

pub const PAY_METHOD_VBANK: &str = "VBANK";
/// `TransType` of a one-off account [C3].
pub const TRANS_TYPE_NORMAL: &str = "00";
pub const PARTIAL_FULL: &str = "0";
pub const PARTIAL_PARTIAL: &str = "1";
/// `SERVICE_MODE` the cancel samples send [C3].
pub const SERVICE_MODE_CANCEL: &str = "CL1";

/// 채번완료 [C3]; also the inquiry's state of a waiting account [P].
pub const RESULT_ISSUED: &str = "4100";
/// 입금완료 (notification) [C].
pub const RESULT_DEPOSITED: &str = "4110";
/// 취소 성공 [C].
pub const RESULT_CANCELLED: &str = "2001";
/// 취소 완료 거래임(기취소) [C].
pub const RESULT_ALREADY_CANCELLED: &str = "2013";
/// 환불 성공 [C].
pub const RESULT_REFUNDED: &str = "2211";
/// 시스템에러 [C3].
pub const RESULT_SYSTEM_ERROR: &str = "9999";
/// 취소 불가: a deposited account is refunded, not cancelled [I].
pub const RESULT_NOT_CANCELLABLE: &str = "2014";
/// 거래 없음 [P].
pub const RESULT_NOT_FOUND: &str = "2012";
/// 환불 불가: not deposited [P].
pub const RESULT_NOT_REFUNDABLE: &str = "2016";
/// Inquiry success [P].
pub const RESULT_INQUIRY_OK: &str = "0000";
/// EncData does not decrypt under the Mid's key, or the Mid is unknown [P].
pub const RESULT_BAD_ENVELOPE: &str = "3001";
/// HashData does not verify [P].
pub const RESULT_HASH_MISMATCH: &str = "3002";
/// A required parameter is missing or malformed [P].
pub const RESULT_BAD_REQUEST: &str = "3003";
/// CancelPwd is wrong [P].
pub const RESULT_WRONG_PASSWORD: &str = "3004";
/// The bank cannot issue accounts (here) [P code; C restriction in the test environment].
pub const RESULT_BANK_UNAVAILABLE: &str = "3005";
/// CancelAmt does not fit what can be cancelled [P].
pub const RESULT_BAD_AMOUNT: &str = "3006";

/// The acknowledgement the official sample prints: a body containing `OK` [C].
pub const NOTI_ACK: &str = "<html><body>OK</body></html>";
pub const NOTI_NACK: &str = "<html><body>FAIL</body></html>";

/// Banks vbank offers through Smartro [I: the common VA list (NICE's, whose code family Smartro
/// shares) plus 037, which the manual names among banks its *test* server cannot issue at].
pub const VA_BANKS: [&str; 13] = [
    "003", "004", "011", "020", "023", "031", "032", "034", "037", "071", "081", "088", "089",
];
/// Banks Smartro's test server cannot issue accounts at (국민, 전북, 광주, 대구, K뱅크) [C].
pub const TEST_UNAVAILABLE_BANKS: [&str; 5] = ["004", "037", "034", "031", "089"];

/// The `SignValue` digest (pg.md §3.8 conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignDigest {
    /// MD5, lowercase hex string, then Base64 (two PHP copies and one Java integration).
    #[default]
    Md5HexBase64,
    /// Raw SHA-256, then Base64 (the pgmate integration).
    Sha256Base64,
}

/// The guesses a deployment may have to correct, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub sign_digest: SignDigest,
    pub cancel_path: &'static str,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            sign_digest: SignDigest::default(),
            cancel_path: PATH_CANCEL,
        }
    }
}

/// Whether vbank offers accounts at this KFTC bank through Smartro.
pub fn offers(kftc: &str) -> bool {
    VA_BANKS.contains(&kftc)
}

/// `Moid` for an imp_uid: alphanumerics only [I].
pub fn moid_of(imp_uid: &str) -> String {
    imp_uid.chars().filter(char::is_ascii_alphanumeric).collect()
}

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
const ZERO_IV: [u8; 16] = [0; 16];

/// The AES key: the MerchantKey's first 32 characters [C3]. `None` when it is shorter.
fn aes_key(merchant_key: &str) -> Option<&[u8]> {
    merchant_key.as_bytes().get(..32)
}

/// `EncData` = b64(AES-256-CBC(text, MerchantKey[0:32], zero IV, PKCS5)) [C3].
pub fn encrypt(merchant_key: &str, text: &str) -> Option<String> {
    use aes::cipher::{BlockEncryptMut, KeyIvInit};
    let cipher = Aes256CbcEnc::new_from_slices(aes_key(merchant_key)?, &ZERO_IV).ok()?;
    let encrypted = cipher.encrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(text.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(encrypted))
}

/// The inverse of [`encrypt`]; `None` for a wrong key or anything that is not its output.
pub fn decrypt(merchant_key: &str, enc_data: &str) -> Option<String> {
    use aes::cipher::{BlockDecryptMut, KeyIvInit};
    let bytes = base64::engine::general_purpose::STANDARD.decode(enc_data).ok()?;
    let cipher = Aes256CbcDec::new_from_slices(aes_key(merchant_key)?, &ZERO_IV).ok()?;
    let plain = cipher
        .decrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(&bytes)
        .ok()?;
    String::from_utf8(plain).ok()
}

/// `HashData` = b64(raw SHA-256(Tid + MerchantKey + CancelAmt + PartialCancelCode)) [C formula, C3 encoding].
pub fn cancel_hash(tid: &str, merchant_key: &str, cancel_amt: &str, partial_cancel_code: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [tid, merchant_key, cancel_amt, partial_cancel_code] {
        hasher.update(part.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

/// `SignValue` = b64(digest(TID[0:10] + ResultCode + TID[10:15] + MerchantKey + TID[15:])) [C3].
/// `None` for a TID shorter than 15 characters.
pub fn sign_value(digest: SignDigest, tid: &str, result_code: &str, merchant_key: &str) -> Option<String> {
    let input = format!(
        "{}{result_code}{}{merchant_key}{}",
        tid.get(..10)?,
        tid.get(10..15)?,
        tid.get(15..)?
    );
    let engine = base64::engine::general_purpose::STANDARD;
    Some(match digest {
        SignDigest::Md5HexBase64 => engine.encode(hex::encode(Md5::digest(input.as_bytes()))),
        SignDigest::Sha256Base64 => engine.encode(Sha256::digest(input.as_bytes())),
    })
}

/// Whether a notification's `SignValue` verifies under the MerchantKey.
pub fn verify_notice(fields: &[(String, String)], merchant_key: &str, digest: SignDigest) -> bool {
    let get = |name: &str| crate::form::field(fields, name).unwrap_or_default();
    let given = get(noti::SIGN_VALUE);
    match sign_value(digest, get(noti::TID), get(noti::RESULT_CODE), merchant_key) {
        Some(expected) => !given.is_empty() && constant_time_eq(expected.as_bytes(), given.as_bytes()),
        None => false,
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// What every call sends [C3].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "EncData")]
    pub enc_data: String,
    #[serde(rename = "Mid")]
    pub mid: String,
}

/// `vacct.do` parameters, inside `EncData` [C3].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IssueParams {
    pub pay_method: String,
    pub goods_cnt: String,
    pub goods_name: String,
    pub amt: String,
    pub moid: String,
    /// yyyyMMddHHmmss.
    pub edi_date: String,
    pub mid: String,
    pub trans_type: String,
    /// A fixed account's number (TransType "04"); not used by vbank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_id: Option<String>,
    pub buyer_name: String,
    /// Digits only.
    pub buyer_tel: String,
    pub buyer_email: String,
    /// yyyyMMdd (12-digit yyyyMMddhhmm is also taken by one bank route).
    pub vbank_exp_date: String,
    pub vbank_bank_code: String,
    #[serde(rename = "VBankAccountName")]
    pub vbank_account_name: String,
    /// 0 none, 1 소득공제, 2 지출증빙, 3 자진발급.
    pub cash_receipt_type: String,
}

/// `vacct.do` answer, plain JSON [C3].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IssueAnswer {
    pub result_code: String,
    pub result_msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbank_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbank_num: Option<String>,
    /// [P] not in the sample answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbank_bank_code: Option<String>,
    /// [P] not in the sample answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbank_exp_date: Option<String>,
}

/// `cancel.do` parameters, inside `EncData` [C manual; the first five in pg-samples §8.1's order].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CancelParams {
    pub mid: String,
    pub tid: String,
    pub cancel_amt: String,
    pub cancel_msg: String,
    pub partial_cancel_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_pwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_seq: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_data: Option<String>,
    #[serde(rename = "SERVICE_MODE", skip_serializing_if = "Option::is_none")]
    pub service_mode: Option<String>,
    /// Refund after deposit [I].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_acct_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_bank_cd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_acct_nm: Option<String>,
}

/// `cancel.do` answer, plain JSON [C3].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CancelAnswer {
    pub result_code: String,
    pub result_msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_amt: Option<String>,
    /// [C3 legacy family].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remain_amt: Option<String>,
    /// [C3 legacy family]; the refund's own number [I].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_num: Option<String>,
    /// yyyyMMdd [P].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
    /// HHmmss [P].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
}

/// Inquiry parameters, inside `EncData` [P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InquiryParams {
    pub mid: String,
    pub tid: String,
    pub edi_date: String,
}

/// Inquiry answer, plain JSON [P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InquiryAnswer {
    pub result_code: String,
    pub result_msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amt: Option<String>,
    /// What was refunded so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_amt: Option<String>,
    /// How many refunds were made so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_cnt: Option<String>,
    /// The account's last event: 4100 waiting, 4110 deposited, 2001 cancelled, 2211 refunded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vbank_num: Option<String>,
    /// yyMMddHHmmss, as the notification's `AuthDate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposit_date: Option<String>,
    /// yyMMddHHmmss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
}

/// The 신통보 fields [C official `inform.jsp`].
pub mod noti {
    pub const PAY_METHOD: &str = "PayMethod";
    pub const MID: &str = "MID";
    pub const MALL_USER_ID: &str = "mallUserID";
    pub const AMT: &str = "Amt";
    pub const NAME: &str = "name";
    pub const GOODS_NAME: &str = "GoodsName";
    pub const TID: &str = "TID";
    pub const OTID: &str = "OTID";
    pub const OID: &str = "OID";
    /// yyMMddHHmmss.
    pub const AUTH_DATE: &str = "AuthDate";
    pub const AUTH_CODE: &str = "AuthCode";
    pub const RESULT_CODE: &str = "ResultCode";
    pub const RESULT_MSG: &str = "ResultMsg";
    pub const STATE_CD: &str = "state_cd";
    pub const FN_CD: &str = "FnCd";
    pub const FN_NAME: &str = "FnName";
    pub const VBANK_NUM: &str = "VbankNum";
    pub const VBANK_NAME: &str = "VbankName";
    pub const SIGN_VALUE: &str = "SignValue";
}
