//! KG INICIS (`html5_inicis`): INIAPI v1 over form bodies, signed with SHA-512
//! `hashData` keyed by the INIAPI key (i'mport's `pg_api_key`).

pub mod wire;

use crate::{
    classify_send_error, form, Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Notice,
    NoticeError, NoticeEvent, NoticeReference, PgError, PgRefusal, PgState, RefundRequest, Refunded, RevokeOutcome,
    SignedContent, Target,
};
use async_trait::async_trait;
use chrono::{NaiveDateTime, TimeZone};
use serde::de::DeserializeOwned;
use vbank_core::time::{kst, to_kst};
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct Inicis {
    http: reqwest::Client,
    /// INIAPI wants the merchant server's IP in every request and its hash.
    client_ip: String,
}

impl Inicis {
    pub fn new(http: reqwest::Client, client_ip: String) -> Inicis {
        Inicis { http, client_ip }
    }

    fn api_key<'a>(target: &'a Target<'_>) -> Option<&'a str> {
        target
            .api_key
            .or(target.channel.secrets.api_key.as_deref())
            .filter(|key| !key.is_empty())
    }

    async fn post<T: DeserializeOwned>(&self, target: &Target<'_>, path: &str, body: String) -> Result<T, PgError> {
        let response = self
            .http
            .post(format!("{}{path}", target.base_url))
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(classify_send_error)?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PgError::Unknown(error.to_string()))?;
        serde_json::from_slice(&bytes)
            .map_err(|error| PgError::Unknown(format!("HTTP {status} with an unreadable body ({error})")))
    }
}

/// `YYYYMMDDhhmmss` in KST.
pub fn timestamp(now: UnixSeconds) -> String {
    to_kst(now).format("%Y%m%d%H%M%S").to_string()
}

/// A KST `YYYYMMDD` + `hhmm[ss]` pair as UNIX seconds.
pub fn parse_kst(date: &str, time: &str) -> Option<UnixSeconds> {
    let time = format!("{time:0<6}");
    let local = NaiveDateTime::parse_from_str(&format!("{date}{time}"), "%Y%m%d%H%M%S").ok()?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|moment| moment.timestamp())
}

fn refusal(code: String, message: String) -> PgError {
    PgError::Refused(PgRefusal { code, message })
}

#[async_trait]
impl Connector for Inicis {
    fn provider(&self) -> PgProvider {
        PgProvider::Html5Inicis
    }

    fn missing_credential(&self, target: &Target<'_>) -> Option<&'static str> {
        Self::api_key(target).is_none().then_some("pg_api_key")
    }

    fn live_base_url(&self) -> &'static str {
        "https://iniapi.inicis.com"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        bank.bank().inicis.is_some()
    }

    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str> {
        // i'mport requires these for KG INICIS (api.md B3.1).
        [
            ("vbank_holder", request.holder.is_some()),
            ("buyer_name", request.buyer.name.is_some()),
            ("buyer_email", request.buyer.email.is_some()),
        ]
        .into_iter()
        .find_map(|(field, present)| (!present).then_some(field))
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let key = Self::api_key(&target).ok_or(PgError::MissingCredential("pg_api_key"))?;
        let bank = request.bank.bank().inicis.ok_or_else(|| {
            refusal(
                wire::RESULT_BAD_REQUEST.into(),
                format!("bank {} is not available at KG INICIS", request.bank),
            )
        })?;
        let timestamp = timestamp(request.now);
        let mid = target.channel.mid.as_str();
        let price = request.amount.to_string();
        let due = to_kst(request.due);
        let (due_date, due_time) = (due.format("%Y%m%d").to_string(), due.format("%H%M").to_string());
        let hash = wire::issue_hash(
            key,
            &timestamp,
            &self.client_ip,
            mid,
            request.merchant_uid.as_str(),
            &price,
        );
        let body = form::encode(
            [
                ("type", wire::TYPE_PAY),
                ("paymethod", wire::PAYMETHOD_VACCT),
                ("timestamp", &timestamp),
                ("clientIp", &self.client_ip),
                ("mid", mid),
                ("url", "https://vbank.invalid"),
                ("moid", request.merchant_uid.as_str()),
                ("goodName", request.order_name),
                ("buyerName", request.buyer.name.as_deref().unwrap_or_default()),
                ("buyerEmail", request.buyer.email.as_deref().unwrap_or_default()),
                ("price", &price),
                ("bankCode", bank),
                ("dtInput", &due_date),
                ("tmInput", &due_time),
                ("nmInput", request.holder.unwrap_or_default()),
                ("flgCash", "0"),
                ("hashData", &hash),
            ],
            encoding_rs::UTF_8,
        );
        let answer: wire::IssueResponse = self.post(&target, "/api/v1/formpay", body).await?;
        if answer.result_code != wire::RESULT_OK {
            return Err(refusal(answer.result_code, answer.result_msg));
        }
        let unreadable = |field: &str| PgError::Unknown(format!("INICIS issued without a readable {field}"));
        let bank = answer
            .vacct_bank_code
            .as_deref()
            .and_then(BankCode::from_inicis)
            .ok_or_else(|| unreadable("vacctBankCode"))?;
        let due = match (answer.valid_date.as_deref(), answer.valid_time.as_deref()) {
            (Some(date), Some(time)) => parse_kst(date, time).ok_or_else(|| unreadable("validDate"))?,
            _ => request.due,
        };
        Ok(IssuedAccount {
            pg_tid: answer.tid.ok_or_else(|| unreadable("tid"))?,
            account_number: answer.vacct.ok_or_else(|| unreadable("vacct"))?,
            bank,
            holder: answer.vacct_name,
            due: due.max(request.due),
            pg_secret: None,
            receipt_url: None,
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome {
        let key = Self::api_key(&target).unwrap_or_default();
        let timestamp = timestamp(now);
        let mid = target.channel.mid.as_str();
        let hash = wire::revoke_hash(key, &timestamp, &self.client_ip, mid, pg_tid);
        let body = form::encode(
            [
                ("type", wire::TYPE_REFUND),
                ("paymethod", wire::PAYMETHOD_GVACCT),
                ("timestamp", &timestamp),
                ("clientIp", &self.client_ip),
                ("mid", mid),
                ("tid", pg_tid),
                ("msg", reason),
                ("hashData", &hash),
            ],
            encoding_rs::UTF_8,
        );
        match self.post::<wire::RefundResponse>(&target, "/api/v1/refund", body).await {
            Ok(answer) => match answer.result_code.as_str() {
                wire::RESULT_OK => RevokeOutcome::Revoked {
                    cancel_tid: pg_tid.to_owned(),
                    at: match (answer.cancel_date.as_deref(), answer.cancel_time.as_deref()) {
                        (Some(date), Some(time)) => parse_kst(date, time).unwrap_or(now),
                        _ => now,
                    },
                    receipt_url: String::new(),
                },
                wire::RESULT_ALREADY_CANCELLED => RevokeOutcome::AlreadyCancelled,
                wire::RESULT_ALREADY_DEPOSITED => RevokeOutcome::AlreadyDeposited,
                _ => RevokeOutcome::Refused(PgRefusal {
                    code: answer.result_code,
                    message: answer.result_msg,
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
        let key = Self::api_key(&target)
            .or(target.channel.secrets.inquiry_api_key.as_deref())
            .ok_or(PgError::MissingCredential("pg_api_key"))?;
        let timestamp = timestamp(now);
        let mid = target.channel.mid.as_str();
        let hash = wire::inquiry_hash(key, &timestamp, &self.client_ip, mid);
        let body = form::encode(
            [
                ("type", wire::TYPE_EXTRA),
                ("paymethod", wire::PAYMETHOD_INQUIRY),
                ("timestamp", &timestamp),
                ("clientIp", &self.client_ip),
                ("mid", mid),
                ("originalTid", pg_tid),
                ("oid", merchant_uid),
                ("hashData", &hash),
            ],
            encoding_rs::UTF_8,
        );
        let answer: wire::InquiryResponse = self.post(&target, "/api/v1/extra", body).await?;
        if answer.result_code != wire::RESULT_OK {
            return Err(refusal(answer.result_code, answer.result_msg));
        }
        let status = answer.status.unwrap_or_default();
        if status == wire::STATUS_WAITING {
            Ok(PgState::AwaitingDeposit)
        } else if status == wire::STATUS_DEPOSITED {
            let amount = answer
                .price
                .as_deref()
                .and_then(|price| Won::parse(price).ok())
                .ok_or_else(|| PgError::Unknown("INICIS inquiry without a readable price".into()))?;
            let at = match (answer.deposit_date.as_deref(), answer.deposit_time.as_deref()) {
                (Some(date), Some(time)) => parse_kst(date, time).unwrap_or(now),
                _ => now,
            };
            Ok(PgState::Deposited { amount, at })
        } else if wire::STATUS_CANCELLED.contains(&status.as_str()) {
            Ok(PgState::Cancelled {
                cancel_tid: pg_tid.to_owned(),
                at: now,
            })
        } else {
            Err(PgError::Unknown(format!(
                "INICIS inquiry status {status:?} is not one vbank knows"
            )))
        }
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        BankCode::from_inicis(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let key = Self::api_key(&target).ok_or(PgError::MissingCredential("pg_api_key"))?;
        let iv = target
            .channel
            .secrets
            .api_iv
            .as_deref()
            .ok_or(PgError::MissingCredential("INIAPI IV"))?;
        let bank = request.account.bank.bank().inicis.ok_or_else(|| {
            refusal(
                wire::RESULT_BAD_REQUEST.into(),
                format!("bank {} is not available at KG INICIS", request.account.bank),
            )
        })?;
        let encrypted = wire::encrypt_account(key, iv, request.account.number)
            .ok_or(PgError::MissingCredential("a 16-byte INIAPI key and IV"))?;
        let timestamp = timestamp(request.now);
        let mid = target.channel.mid.as_str();
        let (price, confirm_price) = (request.amount.to_string(), request.remaining_after.to_string());
        let (kind, partial) = if request.full {
            (wire::TYPE_REFUND, None)
        } else {
            (
                wire::TYPE_PARTIAL_REFUND,
                Some((price.as_str(), confirm_price.as_str())),
            )
        };
        let hash = wire::refund_hash(
            key,
            kind,
            &timestamp,
            &self.client_ip,
            mid,
            request.pg_tid,
            partial,
            &encrypted,
        );
        let mut fields = vec![
            ("type", kind),
            ("paymethod", wire::PAYMETHOD_VACCT),
            ("timestamp", timestamp.as_str()),
            ("clientIp", self.client_ip.as_str()),
            ("mid", mid),
            ("tid", request.pg_tid),
            ("msg", request.reason),
            ("refundAcctNum", encrypted.as_str()),
            ("refundBankCode", bank),
            ("refundAcctName", request.account.holder),
        ];
        if let Some((price, confirm_price)) = partial {
            fields.push(("price", price));
            fields.push(("confirmPrice", confirm_price));
        }
        fields.push(("hashData", hash.as_str()));
        let body = form::encode(fields, encoding_rs::UTF_8);
        let answer: wire::RefundResponse = self.post(&target, "/api/v1/refund", body).await?;
        if answer.result_code != wire::RESULT_OK {
            return Err(refusal(answer.result_code, answer.result_msg));
        }
        Ok(Refunded {
            cancel_tid: answer
                .tid
                .ok_or_else(|| PgError::Unknown("INICIS refunded without a tid".into()))?,
            at: match (answer.cancel_date.as_deref(), answer.cancel_time.as_deref()) {
                (Some(date), Some(time)) => parse_kst(date, time).unwrap_or(request.now),
                _ => request.now,
            },
            receipt_url: String::new(),
        })
    }

    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        // INICIS sends EUC-KR unless the content type says otherwise.
        let encoding = match content_type {
            Some(value) if value.to_ascii_lowercase().contains("charset=") => form::charset_of(content_type),
            _ => encoding_rs::EUC_KR,
        };
        let pairs = form::parse(body, encoding);
        let required = |name: &'static str| {
            form::field(&pairs, name)
                .filter(|value| !value.is_empty())
                .ok_or_else(|| NoticeError(format!("missing {name}")))
        };
        let tid = required(wire::noti::TID)?;
        let amount = Won::parse(required(wire::noti::AMOUNT)?)
            .map_err(|error| NoticeError(format!("{} {error}", wire::noti::AMOUNT)))?;
        let at = parse_kst(required(wire::noti::DATE)?, required(wire::noti::TIME)?)
            .ok_or_else(|| NoticeError("unreadable dt_trans/tm_trans".into()))?;
        let event = match form::field(&pairs, wire::noti::TYPE_MSG) {
            Some(wire::TYPE_MSG_DEPOSIT) | None => NoticeEvent::Deposited {
                amount: Some(amount),
                at,
            },
            Some(other) => return Err(NoticeError(format!("type_msg {other} is not a deposit"))),
        };
        Ok(Notice {
            reference: NoticeReference::PgTid(tid.to_owned()),
            event,
            secret: None,
            account_number: form::field(&pairs, wire::noti::ACCOUNT).map(str::to_owned),
            signed: SignedContent::None,
        })
    }

    fn authenticate(&self, _notice: &Notice, _channel: &Channel, _pg_secret: Option<&str>) -> Authenticity {
        // INICIS signs nothing; only its source IPs are known. Ask INICIS before acting.
        Authenticity::NeedsConfirmation
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        Acknowledgement {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: if accepted { wire::NOTI_ACK } else { "FAIL" }.to_owned(),
        }
    }
}
