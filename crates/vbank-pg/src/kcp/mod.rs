//! NHN KCP (`kcp`): JSON calls authenticated by the site's service certificate
//! (`kcp_cert_info`) and an RSA-SHA256 signature (`kcp_sign_data`) made with the site's
//! private key; deposit notifications ("common_return", TX00) are unsigned forms.

pub mod wire;

use crate::{
    classify_send_error, form, Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Notice,
    NoticeError, NoticeEvent, NoticeReference, PgError, PgRefusal, PgState, RefundRequest, Refunded, RevokeOutcome,
    SignedContent, Target,
};
use async_trait::async_trait;
use chrono::{NaiveDateTime, TimeZone};
use serde::de::DeserializeOwned;
use serde::Serialize;
use vbank_core::bank::BANKS;
use vbank_core::time::{kst, to_kst};
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct Kcp {
    http: reqwest::Client,
}

/// The site's credentials: its id, its certificate (one line) and its private key.
struct Credentials<'a> {
    site_cd: &'a str,
    cert_info: String,
    private_key: &'a str,
}

impl<'a> Credentials<'a> {
    fn of(channel: &'a Channel) -> Result<Credentials<'a>, PgError> {
        let certificate = channel
            .secrets
            .certificate
            .as_deref()
            .filter(|value| !value.trim().is_empty())
            .ok_or(PgError::MissingCredential(CERTIFICATE))?;
        let private_key = channel
            .secrets
            .private_key
            .as_deref()
            .filter(|value| !value.trim().is_empty())
            .ok_or(PgError::MissingCredential(PRIVATE_KEY))?;
        Ok(Credentials {
            site_cd: channel.mid.as_str(),
            cert_info: wire::cert_info(certificate),
            private_key,
        })
    }

    fn sign(&self, message: &str) -> Result<String, PgError> {
        wire::sign(self.private_key, message).map_err(|error| {
            tracing::warn!(site_cd = self.site_cd, %error, "KCP private key unusable");
            PgError::MissingCredential("kcp private key (unencrypted PKCS#8 PEM)")
        })
    }
}

const CERTIFICATE: &str = "kcp certificate";
const PRIVATE_KEY: &str = "kcp private key";

impl Kcp {
    pub fn new(http: reqwest::Client) -> Kcp {
        Kcp { http }
    }

    async fn post<T: DeserializeOwned>(
        &self,
        target: &Target<'_>,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, PgError> {
        let response = self
            .http
            .post(format!("{}{path}", target.base_url))
            .header("content-type", "application/json; charset=utf-8")
            .json(body)
            .send()
            .await
            .map_err(classify_send_error)?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PgError::Unknown(error.to_string()))?;
        if status.is_server_error() {
            return Err(PgError::Unknown(format!("KCP answered HTTP {status}")));
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| PgError::Unknown(format!("HTTP {status} with an unreadable body ({error})")))
    }
}

/// `YYYYMMDDhhmmss` in KST.
pub fn timestamp(seconds: UnixSeconds) -> String {
    to_kst(seconds).format("%Y%m%d%H%M%S").to_string()
}

/// A KST `YYYYMMDD[hh[mm[ss]]]` as UNIX seconds; a bare date means its last second.
pub fn parse_time(text: &str) -> Option<UnixSeconds> {
    let text = text.trim();
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let full = match text.len() {
        8 => format!("{text}235959"),
        10 | 12 | 14 => format!("{text:0<14}"),
        _ => return None,
    };
    let local = NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|moment| moment.timestamp())
}

/// A bank by its KCP code (`BK04`).
pub fn bank_from_kcp(code: &str) -> Option<BankCode> {
    BANKS
        .iter()
        .find(|bank| bank.kcp == Some(code))
        .and_then(|bank| BankCode::from_kftc(bank.kftc))
}

fn refusal(code: String, message: String) -> PgError {
    PgError::Refused(PgRefusal { code, message })
}

fn unreadable(field: &str) -> PgError {
    PgError::Unknown(format!("KCP answered without a readable {field}"))
}

#[async_trait]
impl Connector for Kcp {
    fn provider(&self) -> PgProvider {
        PgProvider::Kcp
    }

    fn missing_credential(&self, target: &Target<'_>) -> Option<&'static str> {
        match Credentials::of(target.channel) {
            Ok(_) => None,
            Err(PgError::MissingCredential(name)) => Some(name),
            Err(_) => Some(CERTIFICATE),
        }
    }

    fn live_base_url(&self) -> &'static str {
        "https://spl.kcp.co.kr"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        bank.bank().kcp.is_some()
    }

    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str> {
        [
            ("vbank_holder", request.holder.is_some()),
            ("buyer_name", request.buyer.name.is_some()),
        ]
        .into_iter()
        .find_map(|(field, present)| (!present).then_some(field))
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let credentials = Credentials::of(target.channel)?;
        let bank = request.bank.bank().kcp.ok_or_else(|| {
            refusal(
                wire::RES_BAD_REQUEST.into(),
                format!("bank {} is not available at NHN KCP", request.bank),
            )
        })?;
        // KCP does not require unique order numbers; the merchant's own id goes through.
        let order_id = request.merchant_uid.as_str();
        let amount = request.amount.to_string();
        let body = wire::IssueRequest {
            site_cd: credentials.site_cd.to_owned(),
            kcp_cert_info: credentials.cert_info.clone(),
            kcp_sign_data: credentials.sign(&wire::issue_sign_string(credentials.site_cd, order_id, &amount))?,
            pay_method: wire::PAY_METHOD_VCNT.into(),
            ordr_idxx: order_id.to_owned(),
            good_name: request.order_name.to_owned(),
            good_mny: amount,
            buyr_name: request.buyer.name.clone().unwrap_or_default(),
            buyr_mail: request.buyer.email.clone(),
            buyr_tel2: request.buyer.tel.clone(),
            bankcode: bank.to_owned(),
            va_name: request.holder.unwrap_or_default().to_owned(),
            va_date: timestamp(request.due),
        };
        let answer: wire::IssueResponse = self.post(&target, wire::ISSUE_PATH, &body).await?;
        if answer.res_cd != wire::RES_OK && answer.res_cd != wire::RES_VA_ISSUED {
            return Err(refusal(answer.res_cd, answer.res_msg));
        }
        let bank = answer
            .bankcode
            .as_deref()
            .and_then(bank_from_kcp)
            .ok_or_else(|| unreadable("bankcode"))?;
        let due = match answer.va_date.as_deref() {
            Some(text) => parse_time(text).ok_or_else(|| unreadable("va_date"))?,
            None => request.due,
        };
        Ok(IssuedAccount {
            pg_tid: answer
                .tno
                .filter(|tno| !tno.is_empty())
                .ok_or_else(|| unreadable("tno"))?,
            account_number: answer
                .account
                .filter(|account| !account.is_empty())
                .ok_or_else(|| unreadable("account"))?,
            bank,
            holder: answer.depositor.or(answer.va_name),
            due: due.max(request.due),
            pg_secret: None,
            receipt_url: None,
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome {
        let credentials = match Credentials::of(target.channel) {
            Ok(credentials) => credentials,
            Err(error) => return RevokeOutcome::NotSent(error.to_string()),
        };
        let sign_data = match credentials.sign(&wire::mod_sign_string(
            credentials.site_cd,
            pg_tid,
            wire::MOD_TYPE_CANCEL,
        )) {
            Ok(sign_data) => sign_data,
            Err(error) => return RevokeOutcome::NotSent(error.to_string()),
        };
        let body = wire::ModRequest {
            site_cd: credentials.site_cd.to_owned(),
            tno: pg_tid.to_owned(),
            kcp_cert_info: credentials.cert_info.clone(),
            kcp_sign_data: sign_data,
            mod_type: wire::MOD_TYPE_CANCEL.into(),
            mod_desc: reason.to_owned(),
            ..Default::default()
        };
        match self.post::<wire::ModResponse>(&target, wire::CANCEL_PATH, &body).await {
            Ok(answer) => match answer.res_cd.as_str() {
                wire::RES_OK => RevokeOutcome::Revoked {
                    cancel_tid: answer
                        .tno
                        .filter(|tno| !tno.is_empty())
                        .unwrap_or_else(|| pg_tid.to_owned()),
                    at: answer.canc_time.as_deref().and_then(parse_time).unwrap_or(now),
                    receipt_url: String::new(),
                },
                wire::RES_ALREADY_CANCELLED => RevokeOutcome::AlreadyCancelled,
                wire::RES_ALREADY_DEPOSITED => RevokeOutcome::AlreadyDeposited,
                _ => RevokeOutcome::Refused(PgRefusal {
                    code: answer.res_cd,
                    message: answer.res_msg,
                }),
            },
            Err(PgError::NotSent(reason)) => RevokeOutcome::NotSent(reason),
            Err(PgError::Refused(refusal)) => RevokeOutcome::Refused(refusal),
            Err(PgError::Unknown(reason)) => RevokeOutcome::Unknown(reason),
            Err(PgError::MissingCredential(name)) => RevokeOutcome::NotSent(format!("missing {name}")),
        }
    }

    async fn query(
        &self,
        target: Target<'_>,
        pg_tid: &str,
        merchant_uid: &str,
        now: UnixSeconds,
    ) -> Result<PgState, PgError> {
        let credentials = Credentials::of(target.channel)?;
        let body = wire::InquiryRequest {
            site_cd: credentials.site_cd.to_owned(),
            kcp_cert_info: credentials.cert_info.clone(),
            kcp_sign_data: credentials.sign(&wire::inquiry_sign_string(
                credentials.site_cd,
                pg_tid,
                wire::PAY_TYPE_VACCT,
            ))?,
            tno: pg_tid.to_owned(),
            pay_type: wire::PAY_TYPE_VACCT.into(),
            ordr_idxx: Some(merchant_uid.to_owned()),
        };
        let answer: wire::InquiryResponse = self.post(&target, wire::INQUIRY_PATH, &body).await?;
        if answer.res_cd != wire::RES_OK {
            return Err(refusal(answer.res_cd, answer.res_msg));
        }
        let status = answer.va_stat.clone().unwrap_or_default();
        match status.as_str() {
            wire::VA_STAT_WAITING => Ok(PgState::AwaitingDeposit),
            // A refunded account was deposited first: the refund is a later fact.
            wire::VA_STAT_DEPOSITED | wire::VA_STAT_REFUNDED => {
                let amount = answer
                    .ipgm_mnyx
                    .as_deref()
                    .or(answer.amount.as_deref())
                    .and_then(|text| Won::parse(text).ok())
                    .ok_or_else(|| unreadable("ipgm_mnyx"))?;
                let at = answer.ipgm_time.as_deref().and_then(parse_time).unwrap_or(now);
                Ok(PgState::Deposited { amount, at })
            }
            wire::VA_STAT_CANCELLED => Ok(PgState::Cancelled {
                cancel_tid: answer
                    .tno
                    .filter(|tno| !tno.is_empty())
                    .unwrap_or_else(|| pg_tid.to_owned()),
                at: answer.canc_time.as_deref().and_then(parse_time).unwrap_or(now),
            }),
            _ => Err(PgError::Unknown(format!(
                "KCP inquiry va_stat {status:?} is not one vbank knows"
            ))),
        }
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        // i'mport takes KCP refund banks in KCP's own codes (BK04) (banks.md).
        bank_from_kcp(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let credentials = Credentials::of(target.channel)?;
        let bank = request.account.bank.bank().kcp.ok_or_else(|| {
            refusal(
                wire::RES_BAD_REQUEST.into(),
                format!("bank {} is not available at NHN KCP", request.account.bank),
            )
        })?;
        let sign_data = credentials.sign(&wire::mod_sign_string(
            credentials.site_cd,
            request.pg_tid,
            wire::MOD_TYPE_REFUND,
        ))?;
        let (sub_type, amounts) = if request.full {
            (wire::MOD_SUB_TYPE_FULL_REFUND, None)
        } else {
            (
                wire::MOD_SUB_TYPE_PARTIAL_REFUND,
                Some((request.amount.to_string(), request.remaining_after.to_string())),
            )
        };
        let body = wire::ModRequest {
            site_cd: credentials.site_cd.to_owned(),
            tno: request.pg_tid.to_owned(),
            kcp_cert_info: credentials.cert_info.clone(),
            kcp_sign_data: sign_data,
            mod_type: wire::MOD_TYPE_REFUND.into(),
            mod_desc: request.reason.to_owned(),
            mod_sub_type: Some(sub_type.into()),
            mod_mny: amounts.as_ref().map(|(amount, _)| amount.clone()),
            rem_mny: amounts.map(|(_, remaining)| remaining),
            mod_bankcode: Some(bank.to_owned()),
            mod_account: Some(request.account.number.to_owned()),
            mod_depositor: Some(request.account.holder.to_owned()),
        };
        let answer: wire::ModResponse = self.post(&target, wire::CANCEL_PATH, &body).await?;
        if answer.res_cd != wire::RES_OK {
            return Err(refusal(answer.res_cd, answer.res_msg));
        }
        Ok(Refunded {
            cancel_tid: answer
                .mod_tno
                .filter(|tno| !tno.is_empty())
                .ok_or_else(|| unreadable("mod_tno"))?,
            at: answer.canc_time.as_deref().and_then(parse_time).unwrap_or(request.now),
            receipt_url: String::new(),
        })
    }

    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        // KCP's common_return is EUC-KR unless the site chose UTF-8 (PortOne does).
        let encoding = match content_type {
            Some(value) if value.to_ascii_lowercase().contains("charset=") => form::charset_of(content_type),
            _ => encoding_rs::EUC_KR,
        };
        let pairs = form::parse(body, encoding);
        let field = |name: &str| {
            form::field(&pairs, name)
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str| field(name).ok_or_else(|| NoticeError(format!("missing {name}")));
        let tno = required(wire::noti::TNO)?;
        let tx_cd = required(wire::noti::TX_CD)?;
        let event = match tx_cd {
            wire::TX_DEPOSIT => {
                let at = field(wire::noti::TIME)
                    .or(field(wire::noti::TX_TM))
                    .ok_or_else(|| NoticeError("missing ipgm_time".into()))?;
                let at = parse_time(at).ok_or_else(|| NoticeError("unreadable ipgm_time".into()))?;
                if field(wire::noti::OP_CD) == Some(wire::OP_CD_DEPOSIT_CANCEL) {
                    // A deposit-cancel notice: the deposit was reversed, the account waits
                    // again [I]. Only the PG's answer to a query can make it count.
                    NoticeEvent::AwaitingDeposit
                } else {
                    let amount = Won::parse(required(wire::noti::AMOUNT)?)
                        .map_err(|error| NoticeError(format!("{} {error}", wire::noti::AMOUNT)))?;
                    NoticeEvent::Deposited {
                        amount: Some(amount),
                        at,
                    }
                }
            }
            wire::TX_ACCOUNT_VOIDED => {
                let at = required(wire::noti::TX_TM)?;
                NoticeEvent::Cancelled {
                    at: parse_time(at).ok_or_else(|| NoticeError("unreadable tx_tm".into()))?,
                }
            }
            other => return Err(NoticeError(format!("tx_cd {other} is not a virtual-account notice"))),
        };
        Ok(Notice {
            reference: NoticeReference::PgTid(tno.to_owned()),
            event,
            secret: None,
            account_number: field(wire::noti::ACCOUNT).map(str::to_owned),
            signed: SignedContent::None,
        })
    }

    fn authenticate(&self, _notice: &Notice, _channel: &Channel, _pg_secret: Option<&str>) -> Authenticity {
        // KCP signs nothing; only its source IPs are known. Ask KCP before acting.
        Authenticity::NeedsConfirmation
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        Acknowledgement {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: if accepted { wire::NOTI_ACK } else { wire::NOTI_NACK }.to_owned(),
        }
    }
}
