//! KG INICIS' own messages (INIAPI v1, pg.md §3.1, pg-samples.md §1).
//!
//! [C]/[C3]: field names, the three hashData formulas, `resultCode` "00" as success,
//! the Noti field set and its `OK` acknowledgement.
//! [P] (INICIS publishes no code table; keep every guess here, in one place):
//! the non-"00" result codes below, the inquiry `status` values and the inquiry's
//! deposit time fields.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

pub const TYPE_PAY: &str = "Pay";
pub const TYPE_REFUND: &str = "Refund";
pub const TYPE_EXTRA: &str = "Extra";
pub const TYPE_PARTIAL_REFUND: &str = "PartialRefund";
pub const PAYMETHOD_VACCT: &str = "Vacct";
/// "가상계좌 (입금전, 채번취소 시 사용)": the pre-deposit revoke.
pub const PAYMETHOD_GVACCT: &str = "GVacct";
pub const PAYMETHOD_INQUIRY: &str = "Inquiry";

/// `resultCode` of success [C].
pub const RESULT_OK: &str = "00";
/// hashData did not verify (wrong INIAPI key) [P code, message from the sample].
pub const RESULT_HASH_MISMATCH: &str = "01";
pub const MESSAGE_HASH_MISMATCH: &str = "[V808]해시데이터 불일치";
/// The account was voided already [P].
pub const RESULT_ALREADY_CANCELLED: &str = "02";
/// The account was deposited into; GVacct applies only before a deposit [P].
pub const RESULT_ALREADY_DEPOSITED: &str = "03";
/// No such transaction for this MID [P].
pub const RESULT_NOT_FOUND: &str = "04";
/// A request field is missing or malformed [P].
pub const RESULT_BAD_REQUEST: &str = "05";

/// A refund asked of an account that was never deposited [P].
pub const RESULT_NOT_DEPOSITED: &str = "06";
/// A refund larger than the refundable balance, or a wrong `confirmPrice` [P].
pub const RESULT_BAD_AMOUNT: &str = "07";

/// The INIAPI IV of the public test MID `INIpayTest` [C gnuboard].
pub const TEST_IV: &str = "HYb3yQ4f65QL89==";

/// Inquiry `status`: issued, waiting for the deposit [P].
pub const STATUS_WAITING: &str = "0";
/// Inquiry `status`: deposited [P].
pub const STATUS_DEPOSITED: &str = "2";
/// Inquiry `status` values Gnuboard treats as cancelled or refunded [C3].
pub const STATUS_CANCELLED: [&str; 6] = ["1", "9", "C", "CANCEL", "REFUND_COMPLETED", "DEPOSIT_CANCELED"];

/// The acknowledgement INICIS expects to its Noti; anything else makes it resend [C3].
pub const NOTI_ACK: &str = "OK";
/// `type_msg` of a normal deposit [I].
pub const TYPE_MSG_DEPOSIT: &str = "0200";

/// hashData = hex(SHA-512(concatenation of the parts)) [C].
pub fn hash_data(parts: &[&str]) -> String {
    let mut hasher = Sha512::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Issue: SHA-512(INIAPIKey+type+paymethod+timestamp+clientIp+mid+moid+price).
pub fn issue_hash(key: &str, timestamp: &str, client_ip: &str, mid: &str, moid: &str, price: &str) -> String {
    hash_data(&[key, TYPE_PAY, PAYMETHOD_VACCT, timestamp, client_ip, mid, moid, price])
}

/// Pre-deposit cancel: SHA-512(INIAPIKey+type+paymethod+timestamp+clientIp+mid+tid).
pub fn revoke_hash(key: &str, timestamp: &str, client_ip: &str, mid: &str, tid: &str) -> String {
    hash_data(&[key, TYPE_REFUND, PAYMETHOD_GVACCT, timestamp, client_ip, mid, tid])
}

/// Inquiry: SHA-512(INIAPIKey+type+paymethod+timestamp+clientIp+mid); tid/oid are not hashed.
pub fn inquiry_hash(key: &str, timestamp: &str, client_ip: &str, mid: &str) -> String {
    hash_data(&[key, TYPE_EXTRA, PAYMETHOD_INQUIRY, timestamp, client_ip, mid])
}

/// Refund after deposit (paymethod Vacct): the hash appends the encrypted
/// `refundAcctNum` after `tid` [C3]; a partial refund hashes `price` and
/// `confirmPrice` before it [C gnuboard for the fields, I for their order].
#[allow(clippy::too_many_arguments)] // one argument per field of the PG's formula
pub fn refund_hash(
    key: &str,
    kind: &str,
    timestamp: &str,
    client_ip: &str,
    mid: &str,
    tid: &str,
    partial_prices: Option<(&str, &str)>,
    encrypted_account: &str,
) -> String {
    match partial_prices {
        Some((price, confirm_price)) => hash_data(&[
            key,
            kind,
            PAYMETHOD_VACCT,
            timestamp,
            client_ip,
            mid,
            tid,
            price,
            confirm_price,
            encrypted_account,
        ]),
        None => hash_data(&[
            key,
            kind,
            PAYMETHOD_VACCT,
            timestamp,
            client_ip,
            mid,
            tid,
            encrypted_account,
        ]),
    }
}

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// `refundAcctNum`: AES-128-CBC (PKCS#7) under the INIAPI key and IV, then Base64 [C3].
pub fn encrypt_account(key: &str, iv: &str, account: &str) -> Option<String> {
    use aes::cipher::{BlockEncryptMut, KeyIvInit};
    use base64::Engine;
    let cipher = Aes128CbcEnc::new_from_slices(key.as_bytes(), iv.as_bytes()).ok()?;
    let encrypted = cipher.encrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(account.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(encrypted))
}

pub fn decrypt_account(key: &str, iv: &str, encrypted: &str) -> Option<String> {
    use aes::cipher::{BlockDecryptMut, KeyIvInit};
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encrypted).ok()?;
    let cipher = Aes128CbcDec::new_from_slices(key.as_bytes(), iv.as_bytes()).ok()?;
    let plain = cipher
        .decrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(&bytes)
        .ok()?;
    String::from_utf8(plain).ok()
}

/// The answer to `formpay` (paymethod Vacct).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueResponse {
    pub result_code: String,
    pub result_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacct: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacct_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacct_bank_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
}

/// The answer to `refund` (paymethod GVacct or Vacct).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundResponse {
    pub result_code: String,
    pub result_msg: String,
    /// The refund's own tid (refunds after deposit) [I].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
}

/// The answer to `extra` (paymethod Inquiry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InquiryResponse {
    pub result_code: String,
    pub result_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// [P] when the deposit was made, YYYYMMDD / hhmmss KST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit_time: Option<String>,
}

/// The Noti fields vbank reads [C3 `shop/settle_inicis_common.php`].
pub mod noti {
    pub const TID: &str = "no_tid";
    pub const ORDER_ID: &str = "no_oid";
    pub const MID: &str = "id_merchant";
    pub const ACCOUNT: &str = "no_vacct";
    pub const AMOUNT: &str = "amt_input";
    pub const TYPE_MSG: &str = "type_msg";
    pub const DATE: &str = "dt_trans";
    pub const TIME: &str = "tm_trans";
    pub const BANK_NAME: &str = "nm_inputbank";
    pub const DEPOSITOR: &str = "nm_input";
}
