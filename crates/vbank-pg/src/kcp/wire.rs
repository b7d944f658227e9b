//! NHN KCP's own messages (pg.md §3.2, pg-samples.md §2).
//!
//! [C]: the mod (cancel) API `POST /gw/mod/v1/cancel` and its fields (`site_cd`, `tno`,
//! `kcp_cert_info`, `kcp_sign_data`, `mod_type`, `mod_desc`, `mod_mny`/`rem_mny`), the
//! signature `kcp_sign_data = b64(SHA256withRSA(site_cd^tno^mod_type))`, `mod_type` STSC,
//! `res_cd` "0000" as success, the inquiry URL `/std/inquery`, the common_return
//! notification fields (`tx_cd` TX00, `op_cd` 13) and its HTML `result=0000` acknowledgement.
//! [C3]: the approval answer's field names (`tno`, `bankname`, `depositor`, `account`,
//! `va_date`); that a VA issuance may answer `res_cd` "V000".
//! [I] and [P]: everything else, kept and marked here so it can be corrected in one place.

use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The issuance call [P]: KCP has no public server-side issuance (accounts come from the
/// payment window plus an approval); this is an approval-like JSON call in KCP's style.
pub const ISSUE_PATH: &str = "/gw/hub/v1/payment";
/// The mod API: pre-deposit cancel, and refunds of deposited accounts [C].
pub const CANCEL_PATH: &str = "/gw/mod/v1/cancel";
/// Transaction inquiry [C URL `developer.kcp.co.kr/page/document/inquery`; body I/P].
pub const INQUIRY_PATH: &str = "/std/inquery";

/// Full cancel: voids an unpaid account [C3 gnuboard].
pub const MOD_TYPE_CANCEL: &str = "STSC";
/// Partial cancel [C].
pub const MOD_TYPE_PARTIAL_CANCEL: &str = "STPC";
/// Escrow account issuance cancel [C3]; the simulator treats it as STSC.
pub const MOD_TYPE_ESCROW_CANCEL: &str = "STE5";
/// Refund of a deposited virtual account to the buyer's account [P: recalled from KCP's
/// legacy PayPlus vbank refund, not verified against a current KCP document].
pub const MOD_TYPE_REFUND: &str = "STHD";
/// `mod_sub_type` of a full refund [P].
pub const MOD_SUB_TYPE_FULL_REFUND: &str = "MDSC00";
/// `mod_sub_type` of a partial refund, which carries `mod_mny` and `rem_mny` [P].
pub const MOD_SUB_TYPE_PARTIAL_REFUND: &str = "MDSC03";

/// `pay_method` of the issuance call [P].
pub const PAY_METHOD_VCNT: &str = "VCNT";
/// KCP's `pay_type` of a virtual account [I: the docs' inquiry example signs `...^PACA`,
/// the card pay_type; PAVC is KCP's virtual-account pay_type].
pub const PAY_TYPE_VACCT: &str = "PAVC";

/// `res_cd` of success [C].
pub const RES_OK: &str = "0000";
/// `res_cd` of a successful virtual-account issuance on the legacy path [C3 gnuboard].
pub const RES_VA_ISSUED: &str = "V000";
/// The account was cancelled before [P: pg-samples.md 2.2 placeholder].
pub const RES_ALREADY_CANCELLED: &str = "8133";
/// The account was deposited into; STSC does not apply [P].
pub const RES_ALREADY_DEPOSITED: &str = "8134";
/// No such transaction for this site [P].
pub const RES_NOT_FOUND: &str = "8128";
/// A field is missing or malformed [P].
pub const RES_BAD_REQUEST: &str = "8101";
/// `kcp_cert_info` is not the certificate KCP issued to the site [P].
pub const RES_CERT_MISMATCH: &str = "8105";
/// `kcp_sign_data` does not verify [P].
pub const RES_SIGN_MISMATCH: &str = "8106";
/// A refund of an account that was never deposited [P].
pub const RES_NOT_DEPOSITED: &str = "8137";
/// A refund larger than the refundable balance, or a wrong `rem_mny` [P].
pub const RES_BAD_AMOUNT: &str = "8140";

/// Inquiry `va_stat` [P]: issued, waiting for the deposit.
pub const VA_STAT_WAITING: &str = "00";
/// Inquiry `va_stat` [P]: deposited.
pub const VA_STAT_DEPOSITED: &str = "01";
/// Inquiry `va_stat` [P]: voided before a deposit.
pub const VA_STAT_CANCELLED: &str = "02";
/// Inquiry `va_stat` [P]: deposited, then refunded in full.
pub const VA_STAT_REFUNDED: &str = "03";

/// common_return `tx_cd` of a deposit [C].
pub const TX_DEPOSIT: &str = "TX00";
/// common_return `tx_cd` of a voided issued account ("발급계좌해지") [C code; sent at all I].
pub const TX_ACCOUNT_VOIDED: &str = "TX07";
/// TX00 `op_cd` of a deposit-cancel notice ("입금취소 노티") [C].
pub const OP_CD_DEPOSIT_CANCEL: &str = "13";

/// The acknowledgement KCP waits for [C sample]; any other `result` makes it re-notify.
pub const NOTI_ACK: &str = r#"<html><body><form><input type="hidden" name="result" value="0000"></form></body></html>"#;
/// The acknowledgement that asks KCP to re-notify [P: any value but 0000 does].
pub const NOTI_NACK: &str =
    r#"<html><body><form><input type="hidden" name="result" value="9999"></form></body></html>"#;

/// The string KCP signs for the mod API: `site_cd^tno^mod_type` [C].
pub fn mod_sign_string(site_cd: &str, tno: &str, mod_type: &str) -> String {
    format!("{site_cd}^{tno}^{mod_type}")
}

/// The string signed for an inquiry: `site_cd^tno^pay_type` [I: the inquiry page's example
/// `T0000^20210719000000^PACA`].
pub fn inquiry_sign_string(site_cd: &str, tno: &str, pay_type: &str) -> String {
    format!("{site_cd}^{tno}^{pay_type}")
}

/// The string signed for the issuance call: `site_cd^ordr_idxx^good_mny` [P].
pub fn issue_sign_string(site_cd: &str, ordr_idxx: &str, good_mny: &str) -> String {
    format!("{site_cd}^{ordr_idxx}^{good_mny}")
}

/// `kcp_cert_info`: the certificate's PEM text serialised to one line (line breaks
/// removed, the BEGIN/END lines kept) [C developer.kcp.co.kr/page/refer/server].
pub fn cert_info(pem: &str) -> String {
    pem.chars().filter(|c| *c != '\r' && *c != '\n').collect()
}

/// Why a signature could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable KCP private key: {0}")]
pub struct KeyError(pub String);

/// `b64(SHA256withRSA(message))` with the merchant's private key, PKCS#1 v1.5 [C].
///
/// KCP ships its keys as *encrypted* PKCS#8 (test password `changeit`); vbank takes the
/// key as unencrypted PKCS#8 PEM (`openssl pkey -in key.pem -passin pass:changeit -out plain.pem`)
/// [P: a deployment choice, not KCP's].
pub fn sign(private_key_pem: &str, message: &str) -> Result<String, KeyError> {
    let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem.trim()).map_err(|error| KeyError(error.to_string()))?;
    let signature = SigningKey::<Sha256>::new(key).sign(message.as_bytes());
    Ok(base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()))
}

/// Whether `signature_b64` is `message` signed by the key whose public half is
/// `public_key_pem` (SPKI PEM, the form of the sandbox's test certificate).
pub fn verify(public_key_pem: &str, message: &str, signature_b64: &str) -> bool {
    let Ok(key) = RsaPublicKey::from_public_key_pem(public_key_pem.trim()) else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key)
        .verify(message.as_bytes(), &signature)
        .is_ok()
}

/// The issuance request [P: approval-like; field names in KCP's style].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IssueRequest {
    pub site_cd: String,
    pub kcp_cert_info: String,
    /// `b64(SHA256withRSA(site_cd^ordr_idxx^good_mny))` [P].
    pub kcp_sign_data: String,
    pub pay_method: String,
    pub ordr_idxx: String,
    pub good_name: String,
    pub good_mny: String,
    pub buyr_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyr_mail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyr_tel2: Option<String>,
    /// KCP bank code, `BK` + 2 digits.
    pub bankcode: String,
    /// The holder name shown to the buyer.
    pub va_name: String,
    /// Deposit deadline, `YYYYMMDDhhmmss` KST.
    pub va_date: String,
}

/// The issuance answer: the approval fields [C3 names, `bankcode` I].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueResponse {
    pub res_cd: String,
    pub res_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tno: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bankname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bankcode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The account holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depositor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub va_name: Option<String>,
    /// Deposit deadline, `YYYYMMDDhhmmss` KST [I].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub va_date: Option<String>,
}

/// The mod API request [C fields; refund fields P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModRequest {
    pub site_cd: String,
    pub tno: String,
    pub kcp_cert_info: String,
    pub kcp_sign_data: String,
    pub mod_type: String,
    pub mod_desc: String,
    /// Refunds only [P].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mod_sub_type: Option<String>,
    /// Partial cancels and refunds: the amount of this modification [C3].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mod_mny: Option<String>,
    /// Partial cancels and refunds: the balance left after it [C3].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rem_mny: Option<String>,
    /// Refunds only: the buyer's bank (`BK` + 2 digits) [P].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mod_bankcode: Option<String>,
    /// Refunds only: the buyer's account number [P].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mod_account: Option<String>,
    /// Refunds only: the buyer's account holder [P].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mod_depositor: Option<String>,
}

/// The mod API answer [C `res_cd`/`res_msg`; the rest I/P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModResponse {
    pub res_cd: String,
    pub res_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tno: Option<String>,
    /// When KCP cancelled, `YYYYMMDDhhmmss` KST [I].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canc_time: Option<String>,
    /// A refund's own transaction number [P].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mod_tno: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mod_mny: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rem_mny: Option<String>,
}

/// The inquiry request [C `site_cd`, `kcp_cert_info`, `kcp_sign_data`; the rest I].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InquiryRequest {
    pub site_cd: String,
    pub kcp_cert_info: String,
    /// `b64(SHA256withRSA(site_cd^tno^pay_type))` [I].
    pub kcp_sign_data: String,
    pub tno: String,
    pub pay_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordr_idxx: Option<String>,
}

/// The inquiry answer [P].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquiryResponse {
    pub res_cd: String,
    pub res_msg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tno: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_type: Option<String>,
    /// One of the `VA_STAT_*` values [P].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub va_stat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The deposited amount and time (`YYYYMMDDhhmmss` KST), once deposited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipgm_mnyx: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipgm_time: Option<String>,
    /// When the account was voided, `YYYYMMDDhhmmss` KST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canc_time: Option<String>,
}

/// The common_return fields vbank reads [C `gnuboard/gnuboard5: shop/settle_kcp_common.php`].
pub mod noti {
    pub const SITE_CD: &str = "site_cd";
    pub const TNO: &str = "tno";
    pub const ORDER_NO: &str = "order_no";
    pub const TX_CD: &str = "tx_cd";
    pub const TX_TM: &str = "tx_tm";
    pub const DEPOSITOR: &str = "ipgm_name";
    pub const AMOUNT: &str = "ipgm_mnyx";
    pub const TOTAL: &str = "totl_mnyx";
    pub const TIME: &str = "ipgm_time";
    pub const BANK_CODE: &str = "bank_code";
    pub const ACCOUNT: &str = "account";
    pub const OP_CD: &str = "op_cd";
    pub const NOTI_ID: &str = "noti_id";
    pub const REMITTER: &str = "remitter";
}
