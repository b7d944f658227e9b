//! Settle Bank / Hecto Financial's own messages (pg.md §3.6, pg-samples.md §7 and §9).
//!
//! [C]: `APIVBank.do` with its `{params, data}` JSON, `ver` "0A19", `method` "VA", `encCd`
//! "23"; bizType A0 (issue) and A2 (pre-deposit cancel); the issue, issue-response and
//! notification `pktHash` formulas; AES-256-ECB/PKCS5 + Base64 of `trdAmt` and `vAcntNo`;
//! `outStatCd` "0021"/"0031" with `outRsltCd` (URL-encoded `outRsltMsg`); the rejection codes
//! 1901, 1902, ST03, ST06, ST25, ST26, ST50, ST09, 9999; the B1 notification fields and its
//! `OK` acknowledgement (EUC-KR form by default); the test merchant and its keys.
//!
//! Guesses, all kept here:
//! - [I] A2's hash composition: pg.md's `trdDt+trdTm+mchtId+mchtTrdNo+"0"+hashKey` is the
//!   default; Hecto's English mirror gives `...+mchtTrdNo+vAcntNo+bankCd+hashKey` (pg-samples §9.1).
//!   Both are in [`RevokeHash`]; A2's `mchtTrdNo` (the original order number or a fresh one) is
//!   [`RevokeOrderNo`].
//! - [I] the mapping ST25 → already cancelled and ST03 → already deposited.
//! - [I] `mchtTrdNo` of an issuance is vbank's imp_uid: unique per account as Hecto requires
//!   (ST50 on reuse), where i'mport's merchant_uid may repeat.
//! - [I] `acntType` "1", `mobileYn` "N", `osType` "W", the 14-digit `expireDate`.
//! - [I] the notification's `trdAmt` and `vAcntNo` are plain, and its `orgTrdNo` (when present)
//!   is the issuance's `trdNo` (pg-samples §7.5: `trdNo` is the deposit's own number).
//! - [C/P] the status query `APITrdcheck.do` (`ver` "0A1M"; `outRsltCd` 0000 deposited, 0001
//!   cancelled or refunded [C]; everything else waiting [I]): its request and answer fields and
//!   its hash (`trdDt+trdTm+mchtId+mchtTrdNo+"0"+hashKey`, the A2 form, since a query knows no
//!   amount) are [P]. `Connector::revoke` and `refund` get only the tid, so the connector reads
//!   `vAcntNo`, the original `mchtTrdNo` and the cancel count from this query first.
//! - [C/conflict] refund C0 (`APIRefund.do`): pg.md names `cnclOrd`, `cnclAmt`, `refundBankCd`,
//!   `refundAcntNo`, `refundDpstrNm` with the plain cancel amount in the hash; the English mirror
//!   §18 names `refundAcctNo`/`refundAcctNm` and hashes `vAcntNo+bankCd+refundAcctNo+refundBankCd`
//!   (pg-samples §9.2). pg.md's names are sent; both hashes are in [`RefundHash`]. That `cnclAmt`
//!   is AES-encrypted and the answer's `trdNo` is the refund's own number are [I].
//! - The notification's pktHash is checked with the channel's hash key ([`verify_notice`]):
//!   a bad one is forged outright; a good one still leads to a confirming query, since it
//!   proves only that the sender holds the merchant's key.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const PATH_VBANK: &str = "/spay/APIVBank.do";
/// [C endpoint name, P fields].
pub const PATH_TRDCHECK: &str = "/spay/APITrdcheck.do";
pub const PATH_REFUND: &str = "/spay/APIRefund.do";

pub const VER: &str = "0A19";
pub const VER_QUERY: &str = "0A1M";
pub const METHOD_VA: &str = "VA";
pub const ENC_CD: &str = "23";

pub const BIZ_ISSUE: &str = "A0";
pub const BIZ_CHANGE: &str = "A1";
pub const BIZ_REVOKE: &str = "A2";
pub const BIZ_DEPOSIT: &str = "B1";
pub const BIZ_REFUND: &str = "C0";
/// [P] the bizType a status query carries.
pub const BIZ_QUERY: &str = "D0";

/// `outStatCd` of a success (and of a deposit notification) [C].
pub const STAT_OK: &str = "0021";
pub const STAT_FAILED: &str = "0031";
/// Notification `outStatCd` of an issued, waiting account [C].
pub const STAT_ISSUED: &str = "0051";

pub const RSLT_OK: &str = "0000";
/// 해쉬값 불일치 오류 [C].
pub const RSLT_HASH_MISMATCH: &str = "1901";
/// 암호화 항목 미처리 오류 [C].
pub const RSLT_ENCRYPTION: &str = "1902";
/// 기 결제건 [C]; read as "already deposited" [I].
pub const RSLT_ALREADY_PAID: &str = "ST03";
/// 거래정보 없음 [C].
pub const RSLT_NOT_FOUND: &str = "ST06";
/// 유효하지 않은 요청전문 [C].
pub const RSLT_BAD_REQUEST: &str = "ST09";
/// 중복 취소 요청 [C]; read as "already cancelled" [I].
pub const RSLT_DUPLICATE_CANCEL: &str = "ST25";
/// 취소 정보 오류 [C].
pub const RSLT_CANCEL_INFO: &str = "ST26";
/// 미등록 상점 [I: Hecto developer site].
pub const RSLT_UNKNOWN_MERCHANT: &str = "ST47";
/// 중복요청 [C].
pub const RSLT_DUPLICATE_REQUEST: &str = "ST50";
/// 내부 시스템 오류 [C].
pub const RSLT_INTERNAL: &str = "9999";

/// Status query `outRsltCd`: deposited ("정상거래") [C].
pub const QUERY_DEPOSITED: &str = "0000";
/// Status query `outRsltCd`: cancelled or refunded [C].
pub const QUERY_CANCELLED: &str = "0001";
/// Status query `outRsltCd`: failed [C]; an unpaid account to vbank [I].
pub const QUERY_FAILED: &str = "0009";
/// Status query `outRsltCd` the simulator gives an issued, waiting account [P]; the connector
/// reads every code but 0000 and 0001 as waiting.
pub const QUERY_WAITING: &str = "0002";

/// The acknowledgement Hecto expects; `FAIL` or anything else makes it resend [C].
pub const NOTI_ACK: &str = "OK";
pub const NOTI_NACK: &str = "FAIL";

/// The banks Hecto issues virtual accounts at (pg.md §3.6; Suhyup 007 ended in 2025 Q2) [C].
pub const VA_BANKS: [&str; 14] = [
    "003", "004", "011", "020", "023", "031", "032", "034", "039", "045", "071", "081", "088", "089",
];

/// The public test merchant [C].
pub const TEST_MCHT_ID: &str = "nx_mid_il";
pub const TEST_HASH_KEY: &str = "ST1009281328226982205";
pub const TEST_AES_KEY: &str = "pgSettle30y739r82jtd709yOfZ2yK5K";

/// Which A2 `pktHash` composition to send (pg-samples §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevokeHash {
    /// `trdDt+trdTm+mchtId+mchtTrdNo+"0"+hashKey` (pg.md; Hecto's Java sample copy) [C3].
    #[default]
    ZeroAmount,
    /// `trdDt+trdTm+mchtId+mchtTrdNo+vAcntNo(plain)+bankCd+hashKey`, with `bankCd` sent
    /// (English guide mirror §17) [weak C].
    AccountAndBank,
}

/// A2's `mchtTrdNo` [I].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevokeOrderNo {
    /// The issuance's order number (pg.md's reading).
    #[default]
    Original,
    /// A new number for the cancel request itself (Hecto developer-site examples).
    Fresh,
}

/// Which C0 `pktHash` composition to send (pg-samples §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefundHash {
    /// `trdDt+trdTm+mchtId+mchtTrdNo+cnclAmt(plain)+hashKey` (pg.md).
    #[default]
    CancelAmount,
    /// `trdDt+trdTm+mchtId+mchtTrdNo+vAcntNo+bankCd+refundAcntNo+refundBankCd+hashKey` (English mirror §18).
    Accounts,
}

/// The guesses a deployment may have to correct, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub revoke_hash: RevokeHash,
    pub revoke_order_no: RevokeOrderNo,
    pub refund_hash: RefundHash,
}

/// hex(SHA-256(concatenation of the parts)) [C].
pub fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// A0 request: `trdDt + trdTm + mchtId + mchtTrdNo + trdAmt(plain) + hashKey` [C].
pub fn issue_hash(trd_dt: &str, trd_tm: &str, mcht_id: &str, mcht_trd_no: &str, amount: &str, key: &str) -> String {
    sha256_hex(&[trd_dt, trd_tm, mcht_id, mcht_trd_no, amount, key])
}

/// A0 response: `outStatCd + trdDt + trdTm + mchtId + mchtTrdNo + trdAmt(plain) + hashKey` [C].
pub fn issue_response_hash(
    out_stat_cd: &str,
    trd_dt: &str,
    trd_tm: &str,
    mcht_id: &str,
    mcht_trd_no: &str,
    amount: &str,
    key: &str,
) -> String {
    sha256_hex(&[out_stat_cd, trd_dt, trd_tm, mcht_id, mcht_trd_no, amount, key])
}

/// What an A2 hash covers besides the common head.
#[derive(Debug, Clone, Copy)]
pub struct RevokeHashInput<'a> {
    pub trd_dt: &'a str,
    pub trd_tm: &'a str,
    pub mcht_id: &'a str,
    pub mcht_trd_no: &'a str,
    /// The account number, plain (only [`RevokeHash::AccountAndBank`] uses it).
    pub account: &'a str,
    pub bank_cd: &'a str,
}

/// A2 `pktHash` in the given composition.
pub fn revoke_hash(composition: RevokeHash, input: &RevokeHashInput<'_>, key: &str) -> String {
    let RevokeHashInput {
        trd_dt,
        trd_tm,
        mcht_id,
        mcht_trd_no,
        account,
        bank_cd,
    } = *input;
    match composition {
        RevokeHash::ZeroAmount => sha256_hex(&[trd_dt, trd_tm, mcht_id, mcht_trd_no, "0", key]),
        RevokeHash::AccountAndBank => sha256_hex(&[trd_dt, trd_tm, mcht_id, mcht_trd_no, account, bank_cd, key]),
    }
}

/// Status query `pktHash` [P]: the A2 form, with "0" in the amount slot.
pub fn query_hash(trd_dt: &str, trd_tm: &str, mcht_id: &str, mcht_trd_no: &str, key: &str) -> String {
    sha256_hex(&[trd_dt, trd_tm, mcht_id, mcht_trd_no, "0", key])
}

/// What a C0 hash may cover.
#[derive(Debug, Clone, Copy)]
pub struct RefundHashInput<'a> {
    pub trd_dt: &'a str,
    pub trd_tm: &'a str,
    pub mcht_id: &'a str,
    pub mcht_trd_no: &'a str,
    /// The cancel amount, plain.
    pub amount: &'a str,
    /// The virtual account and its bank, plain.
    pub account: &'a str,
    pub bank_cd: &'a str,
    /// The buyer's refund account and bank, plain.
    pub refund_account: &'a str,
    pub refund_bank_cd: &'a str,
}

/// C0 `pktHash` in the given composition.
pub fn refund_hash(composition: RefundHash, input: &RefundHashInput<'_>, key: &str) -> String {
    let head = [input.trd_dt, input.trd_tm, input.mcht_id, input.mcht_trd_no];
    match composition {
        RefundHash::CancelAmount => sha256_hex(&[&head[..], &[input.amount, key]].concat()),
        RefundHash::Accounts => sha256_hex(
            &[
                &head[..],
                &[
                    input.account,
                    input.bank_cd,
                    input.refund_account,
                    input.refund_bank_cd,
                    key,
                ],
            ]
            .concat(),
        ),
    }
}

/// Notification: `outStatCd + trdDtm + mchtId + mchtTrdNo + trdAmt + hashKey` [C].
pub fn notice_hash(
    out_stat_cd: &str,
    trd_dtm: &str,
    mcht_id: &str,
    mcht_trd_no: &str,
    amount: &str,
    key: &str,
) -> String {
    sha256_hex(&[out_stat_cd, trd_dtm, mcht_id, mcht_trd_no, amount, key])
}

/// Whether a notification's `pktHash` verifies under the merchant's hash key.
pub fn verify_notice(fields: &[(String, String)], key: &str) -> bool {
    let get = |name: &str| crate::form::field(fields, name).unwrap_or_default();
    let expected = notice_hash(
        get(noti::OUT_STAT_CD),
        get(noti::TRD_DTM),
        get(noti::MCHT_ID),
        get(noti::MCHT_TRD_NO),
        get(noti::TRD_AMT),
        key,
    );
    let given = get(noti::PKT_HASH);
    !given.is_empty() && constant_time_eq(expected.as_bytes(), given.to_ascii_lowercase().as_bytes())
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

type Aes256EcbEnc = ecb::Encryptor<aes::Aes256>;
type Aes256EcbDec = ecb::Decryptor<aes::Aes256>;

/// AES-256-ECB, PKCS5 padding, Base64 [C]. `None` when the key is not 32 bytes.
pub fn encrypt(key: &str, plain: &str) -> Option<String> {
    use aes::cipher::{BlockEncryptMut, KeyInit};
    use base64::Engine;
    let cipher = Aes256EcbEnc::new_from_slice(key.as_bytes()).ok()?;
    let encrypted = cipher.encrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(plain.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(encrypted))
}

/// The inverse of [`encrypt`]; `None` for a wrong key or anything that is not its output.
pub fn decrypt(key: &str, encrypted: &str) -> Option<String> {
    use aes::cipher::{BlockDecryptMut, KeyInit};
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encrypted).ok()?;
    let cipher = Aes256EcbDec::new_from_slice(key.as_bytes()).ok()?;
    let plain = cipher
        .decrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(&bytes)
        .ok()?;
    String::from_utf8(plain).ok()
}

/// `outRsltMsg` is URL-encoded UTF-8 [C].
pub fn encode_message(message: &str) -> String {
    form_urlencoded::byte_serialize(message.as_bytes()).collect()
}

pub fn decode_message(message: &str) -> String {
    let spaced = message.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// Whether Hecto issues accounts at this KFTC bank.
pub fn offers(kftc: &str) -> bool {
    VA_BANKS.contains(&kftc)
}

/// `{params, data}`, the shape of every APIVBank/APIRefund/APITrdcheck message [C].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<D> {
    #[serde(default)]
    pub params: Params,
    pub data: D,
}

/// `params` of a request, and of its answer (which adds the `out*` fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Params {
    pub mcht_id: String,
    pub ver: String,
    pub method: String,
    pub biz_type: String,
    pub enc_cd: String,
    pub mcht_trd_no: String,
    pub trd_dt: String,
    pub trd_tm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_yn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_stat_cd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_rslt_cd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_rslt_msg: Option<String>,
}

impl Params {
    /// A request's `params` [C; `mobileYn`/`osType` values I].
    pub fn request(ver: &str, mcht_id: &str, biz_type: &str, mcht_trd_no: &str, trd_dt: &str, trd_tm: &str) -> Params {
        Params {
            mcht_id: mcht_id.to_owned(),
            ver: ver.to_owned(),
            method: METHOD_VA.to_owned(),
            biz_type: biz_type.to_owned(),
            enc_cd: ENC_CD.to_owned(),
            mcht_trd_no: mcht_trd_no.to_owned(),
            trd_dt: trd_dt.to_owned(),
            trd_tm: trd_tm.to_owned(),
            mobile_yn: Some("N".to_owned()),
            os_type: Some("W".to_owned()),
            ..Default::default()
        }
    }

    /// The answer's `params`: the request's echoed, with its outcome.
    pub fn answer(request: &Params, out_stat_cd: &str, out_rslt_cd: &str, message: &str) -> Params {
        Params {
            mobile_yn: None,
            os_type: None,
            out_stat_cd: Some(out_stat_cd.to_owned()),
            out_rslt_cd: Some(out_rslt_cd.to_owned()),
            out_rslt_msg: Some(encode_message(message)),
            ..request.clone()
        }
    }

    pub fn succeeded(&self) -> bool {
        self.out_stat_cd.as_deref() == Some(STAT_OK)
    }

    pub fn result_code(&self) -> &str {
        self.out_rslt_cd.as_deref().unwrap_or_default()
    }

    pub fn result_message(&self) -> String {
        decode_message(self.out_rslt_msg.as_deref().unwrap_or_default())
    }
}

/// A0 `data` [C; the order follows pg-samples §7.1].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IssueData {
    pub pkt_hash: String,
    pub bank_cd: String,
    pub acnt_type: String,
    /// A fixed account's number, AES (not used by vbank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v_acnt_no: Option<String>,
    pub expire_date: String,
    pub prdt_nm: String,
    pub seller_nm: String,
    pub ord_nm: String,
    /// AES.
    pub trd_amt: String,
    pub dpstr_nm: String,
    /// Absent: Hecto uses the URL registered for the merchant (as PortOne does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noti_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcht_param: Option<String>,
}

/// A0 answer `data` [C].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IssueAnswerData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pkt_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trd_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_cd: Option<String>,
    /// AES.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v_acnt_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    /// AES.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trd_amt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acnt_type: Option<String>,
}

/// A1 `data`: the new `expireDate` and `trdAmt` (AES) [C]; that the account is named by
/// `orgTrdNo` and `vAcntNo` as in A2, and that `pktHash` is A0's over the new amount, are [I].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChangeData {
    pub pkt_hash: String,
    pub org_trd_no: String,
    /// AES.
    pub v_acnt_no: String,
    /// AES.
    pub trd_amt: String,
    pub expire_date: String,
}

/// A1 answer `data` [I].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChangeAnswerData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trd_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
}

/// A2 `data` [C]; `bankCd` only with [`RevokeHash::AccountAndBank`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RevokeData {
    pub pkt_hash: String,
    pub org_trd_no: String,
    /// AES.
    pub v_acnt_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_cd: Option<String>,
}

/// A2 answer `data` [C].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RevokeAnswerData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trd_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_trd_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v_acnt_no: Option<String>,
}

/// Status query `data` [P]: the trade is named by its Hecto `trdNo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryData {
    pub pkt_hash: String,
    pub org_trd_no: String,
}

/// Status query answer `data` [P, except `trdAmt`/`cnclAmt` in plain (Hecto developer site)].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAnswerData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_trd_no: Option<String>,
    /// The issuance's order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_mcht_trd_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trd_amt: Option<String>,
    /// What was refunded so far, plain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cncl_amt: Option<String>,
    /// How many refunds were made so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cncl_cnt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_cd: Option<String>,
    /// AES.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v_acnt_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    /// When the deposit arrived, YYYYMMDDhhmmss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpst_dtm: Option<String>,
    /// When the account was cancelled, YYYYMMDDhhmmss.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cncl_dtm: Option<String>,
    /// The cancel's own trade number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cncl_trd_no: Option<String>,
}

/// C0 `data` [C field names per pg.md; conflict noted above].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RefundData {
    pub pkt_hash: String,
    pub org_trd_no: String,
    /// The refund's sequence number, 1 for the first.
    pub cncl_ord: String,
    /// AES [I].
    pub cncl_amt: String,
    pub refund_bank_cd: String,
    /// AES.
    pub refund_acnt_no: String,
    pub refund_dpstr_nm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cncl_rsn: Option<String>,
}

/// C0 answer `data` [I].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RefundAnswerData {
    /// The refund's own trade number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trd_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_trd_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cncl_amt: Option<String>,
    /// What is left to refund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blc_amt: Option<String>,
}

/// The notification's fields [C §14.5].
pub mod noti {
    pub const OUT_STAT_CD: &str = "outStatCd";
    pub const TRD_NO: &str = "trdNo";
    pub const METHOD: &str = "method";
    pub const BIZ_TYPE: &str = "bizType";
    pub const MCHT_ID: &str = "mchtId";
    pub const MCHT_TRD_NO: &str = "mchtTrdNo";
    pub const TRD_DTM: &str = "trdDtm";
    pub const TRD_AMT: &str = "trdAmt";
    pub const BANK_CD: &str = "bankCd";
    pub const BANK_NM: &str = "bankNm";
    pub const ACNT_TYPE: &str = "acntType";
    pub const V_ACNT_NO: &str = "vAcntNo";
    pub const EXPIRE_DT: &str = "expireDt";
    pub const DPSTR_NM: &str = "dpstrNm";
    pub const ORG_TRD_NO: &str = "orgTrdNo";
    pub const CNCL_TYPE: &str = "cnclType";
    pub const MCHT_PARAM: &str = "mchtParam";
    pub const PKT_HASH: &str = "pktHash";
}
