//! Smartro (`smartro_v2`, SmartroPAY; legacy `smartro` maps here): JSON `{EncData, Mid}`
//! envelopes, AES-256-CBC under the MerchantKey, cancels signed with `HashData`, deposit
//! notifications (신통보, UTF-8 forms) signed with `SignValue` (pg.md §3.8).

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
use vbank_core::time::{kst, to_kst};
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct Smartro {
    http: reqwest::Client,
    options: wire::Options,
}

impl Smartro {
    pub fn new(http: reqwest::Client) -> Smartro {
        Smartro::with_options(http, wire::Options::default())
    }

    /// A connector with other choices for the protocol's unconfirmed parts (see `wire`).
    pub fn with_options(http: reqwest::Client, options: wire::Options) -> Smartro {
        Smartro { http, options }
    }

    fn merchant_key<'a>(target: &'a Target<'_>) -> Result<&'a str, PgError> {
        target
            .channel
            .secrets
            .merchant_key
            .as_deref()
            .filter(|key| key.len() >= 32)
            .ok_or(PgError::MissingCredential("merchant_key"))
    }

    fn cancel_password<'a>(target: &'a Target<'_>) -> Result<&'a str, PgError> {
        target
            .channel
            .secrets
            .cancel_password
            .as_deref()
            .filter(|password| !password.is_empty())
            .ok_or(PgError::MissingCredential("cancel_password"))
    }

    /// Sends `params` in the envelope and reads the plain JSON answer.
    async fn call<P: Serialize + Sync, A: DeserializeOwned>(
        &self,
        target: &Target<'_>,
        merchant_key: &str,
        path: &str,
        params: &P,
    ) -> Result<A, PgError> {
        let text = serde_json::to_string(params).map_err(|error| PgError::NotSent(error.to_string()))?;
        let envelope = wire::Envelope {
            enc_data: wire::encrypt(merchant_key, &text).ok_or(PgError::MissingCredential("merchant_key"))?,
            mid: target.channel.mid.clone(),
        };
        let response = self
            .http
            .post(format!("{}{path}", target.base_url))
            .header("content-type", "application/json; charset=utf-8")
            .json(&envelope)
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

    /// Smartro's record of a transaction [P].
    async fn inquire(
        &self,
        target: &Target<'_>,
        merchant_key: &str,
        tid: &str,
        now: UnixSeconds,
    ) -> Result<wire::InquiryAnswer, PgError> {
        let params = wire::InquiryParams {
            mid: target.channel.mid.clone(),
            tid: tid.to_owned(),
            edi_date: edi_date(now),
        };
        let answer: wire::InquiryAnswer = self.call(target, merchant_key, wire::PATH_INQUIRY, &params).await?;
        if answer.result_code != wire::RESULT_INQUIRY_OK {
            return Err(PgError::Refused(PgRefusal {
                code: answer.result_code,
                message: answer.result_msg,
            }));
        }
        Ok(answer)
    }
}

/// `EdiDate`: yyyyMMddHHmmss, KST.
pub fn edi_date(now: UnixSeconds) -> String {
    to_kst(now).format("%Y%m%d%H%M%S").to_string()
}

/// A KST `yyMMddHHmmss` (`AuthDate`) or `yyyyMMddHHmmss` as UNIX seconds.
pub fn parse_date_time(text: &str) -> Option<UnixSeconds> {
    let full = match text.len() {
        12 => format!("20{text}"),
        14 => text.to_owned(),
        _ => return None,
    };
    let local = NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|moment| moment.timestamp())
}

/// The last second of a `yyyyMMdd` KST day: when an account with that `VbankExpDate` closes [I].
pub fn end_of_day(date: &str) -> Option<UnixSeconds> {
    (date.len() == 8)
        .then(|| parse_date_time(&format!("{date}235959")))
        .flatten()
}

fn unreadable(what: &str) -> PgError {
    PgError::Unknown(format!("Smartro answered without a readable {what}"))
}

fn amount_of(text: Option<&str>, what: &str) -> Result<Won, PgError> {
    text.and_then(|amount| Won::parse(amount).ok())
        .ok_or_else(|| unreadable(what))
}

/// The one mapping of an inquiry's answer to what vbank records [P states].
fn state_of(answer: &wire::InquiryAnswer, tid: &str, now: UnixSeconds) -> Result<PgState, PgError> {
    let deposited = |answer: &wire::InquiryAnswer| -> Result<PgState, PgError> {
        Ok(PgState::Deposited {
            amount: amount_of(answer.amt.as_deref(), "Amt")?,
            at: answer.deposit_date.as_deref().and_then(parse_date_time).unwrap_or(now),
        })
    };
    let cancelled = |answer: &wire::InquiryAnswer| PgState::Cancelled {
        cancel_tid: tid.to_owned(),
        at: answer.cancel_date.as_deref().and_then(parse_date_time).unwrap_or(now),
    };
    match answer.state_code.as_deref() {
        Some(wire::RESULT_ISSUED) => Ok(PgState::AwaitingDeposit),
        Some(wire::RESULT_DEPOSITED) => deposited(answer),
        Some(wire::RESULT_CANCELLED) => Ok(cancelled(answer)),
        Some(wire::RESULT_REFUNDED) => {
            // Partly refunded is still a deposited account; wholly refunded is cancelled.
            let amount = amount_of(answer.amt.as_deref(), "Amt")?;
            let refunded = amount_of(answer.cancel_amt.as_deref(), "CancelAmt")?;
            if refunded >= amount {
                Ok(cancelled(answer))
            } else {
                deposited(answer)
            }
        }
        other => Err(PgError::Unknown(format!(
            "Smartro inquiry state {other:?} is not one vbank knows"
        ))),
    }
}

#[async_trait]
impl Connector for Smartro {
    fn provider(&self) -> PgProvider {
        PgProvider::SmartroV2
    }

    fn missing_credential(&self, target: &Target<'_>) -> Option<&'static str> {
        Self::merchant_key(target).is_err().then_some("merchant_key")
    }

    fn live_base_url(&self) -> &'static str {
        "https://approval.smartropay.co.kr"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        wire::offers(bank.kftc())
    }

    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str> {
        // i'mport requires the holder for smartro_v2 (pg.md §1.2); vacct.do requires the buyer's
        // name, phone and email (manual).
        [
            ("vbank_holder", request.holder.is_some()),
            ("buyer_name", request.buyer.name.is_some()),
            ("buyer_tel", request.buyer.tel.is_some()),
            ("buyer_email", request.buyer.email.is_some()),
        ]
        .into_iter()
        .find_map(|(field, present)| (!present).then_some(field))
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let key = Self::merchant_key(&target)?;
        if !wire::offers(request.bank.kftc()) {
            return Err(PgError::Refused(PgRefusal {
                code: wire::RESULT_BANK_UNAVAILABLE.into(),
                message: format!("bank {} is not available at Smartro", request.bank),
            }));
        }
        let holder = request.holder.unwrap_or_default();
        let params = wire::IssueParams {
            pay_method: wire::PAY_METHOD_VBANK.into(),
            goods_cnt: "1".into(),
            goods_name: request.order_name.chars().take(40).collect(),
            amt: request.amount.to_string(),
            moid: wire::moid_of(request.imp_uid.as_str()),
            edi_date: edi_date(request.now),
            mid: target.channel.mid.clone(),
            trans_type: wire::TRANS_TYPE_NORMAL.into(),
            sub_id: None,
            buyer_name: request.buyer.name.clone().unwrap_or_default(),
            buyer_tel: request
                .buyer
                .tel
                .as_deref()
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .collect(),
            buyer_email: request.buyer.email.clone().unwrap_or_default(),
            vbank_exp_date: to_kst(request.due).format("%Y%m%d").to_string(),
            vbank_bank_code: request.bank.kftc().to_owned(),
            vbank_account_name: holder.to_owned(),
            cash_receipt_type: "0".into(),
        };
        let answer: wire::IssueAnswer = self.call(&target, key, wire::PATH_ISSUE, &params).await?;
        if answer.result_code != wire::RESULT_ISSUED {
            return Err(PgError::Refused(PgRefusal {
                code: answer.result_code,
                message: answer.result_msg,
            }));
        }
        let bank = match answer.vbank_bank_code.as_deref() {
            Some(code) => BankCode::from_kftc(code).ok_or_else(|| unreadable("VbankBankCode"))?,
            None => request.bank,
        };
        let due = answer
            .vbank_exp_date
            .as_deref()
            .or(Some(params.vbank_exp_date.as_str()))
            .and_then(end_of_day)
            .unwrap_or(request.due);
        Ok(IssuedAccount {
            pg_tid: answer
                .tid
                .filter(|tid| !tid.is_empty())
                .ok_or_else(|| unreadable("Tid"))?,
            account_number: answer
                .vbank_num
                .filter(|number| !number.is_empty())
                .ok_or_else(|| unreadable("VbankNum"))?,
            bank,
            holder: Some(holder.to_owned()),
            due: due.max(request.due),
            pg_secret: None,
            receipt_url: None,
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome {
        let (key, password) = match (Self::merchant_key(&target), Self::cancel_password(&target)) {
            (Ok(key), Ok(password)) => (key, password),
            (Err(error), _) | (_, Err(error)) => return RevokeOutcome::NotSent(error.to_string()),
        };
        // CancelAmt (and HashData over it) needs the amount, which the interface does not
        // pass: read Smartro's record first. Nothing is cancelled yet.
        let record = match self.inquire(&target, key, pg_tid, now).await {
            Ok(record) => record,
            Err(PgError::Refused(refusal)) => return RevokeOutcome::Refused(refusal),
            Err(error) => return RevokeOutcome::NotSent(format!("the account could not be read first: {error}")),
        };
        match state_of(&record, pg_tid, now) {
            Ok(PgState::Deposited { .. }) => return RevokeOutcome::AlreadyDeposited,
            Ok(PgState::Cancelled { .. }) => return RevokeOutcome::AlreadyCancelled,
            Ok(PgState::AwaitingDeposit) => {}
            Err(error) => return RevokeOutcome::NotSent(format!("the account could not be read first: {error}")),
        }
        let Some(amount) = record.amt.filter(|amount| Won::parse(amount).is_ok()) else {
            return RevokeOutcome::NotSent("Smartro's record has no readable Amt".into());
        };
        let params = wire::CancelParams {
            mid: target.channel.mid.clone(),
            tid: pg_tid.to_owned(),
            cancel_msg: reason.to_owned(),
            partial_cancel_code: wire::PARTIAL_FULL.into(),
            cancel_pwd: Some(password.to_owned()),
            cancel_seq: Some("1".into()),
            hash_data: Some(wire::cancel_hash(pg_tid, key, &amount, wire::PARTIAL_FULL)),
            service_mode: Some(wire::SERVICE_MODE_CANCEL.into()),
            cancel_amt: amount,
            ..Default::default()
        };
        match self
            .call::<_, wire::CancelAnswer>(&target, key, self.options.cancel_path, &params)
            .await
        {
            Ok(answer) => match answer.result_code.as_str() {
                wire::RESULT_CANCELLED => RevokeOutcome::Revoked {
                    cancel_tid: pg_tid.to_owned(),
                    at: match (answer.cancel_date.as_deref(), answer.cancel_time.as_deref()) {
                        (Some(date), Some(time)) => parse_date_time(&format!("{date}{time}")).unwrap_or(now),
                        _ => now,
                    },
                    receipt_url: String::new(),
                },
                wire::RESULT_ALREADY_CANCELLED => RevokeOutcome::AlreadyCancelled,
                wire::RESULT_NOT_CANCELLABLE => RevokeOutcome::AlreadyDeposited,
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
        _merchant_uid: &str,
        now: UnixSeconds,
    ) -> Result<PgState, PgError> {
        let key = Self::merchant_key(&target)?;
        let record = self.inquire(&target, key, pg_tid, now).await?;
        state_of(&record, pg_tid, now)
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        // Smartro's bank codes are the KFTC ones (banks.md).
        BankCode::from_kftc(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let key = Self::merchant_key(&target)?;
        let password = Self::cancel_password(&target)?;
        // CancelSeq counts the cancels so far: read Smartro's record first (nothing refunded yet).
        let record = match self.inquire(&target, key, request.pg_tid, request.now).await {
            Ok(record) => record,
            Err(PgError::Refused(refusal)) => return Err(PgError::Refused(refusal)),
            Err(error) => {
                return Err(PgError::NotSent(format!(
                    "the account could not be read first: {error}"
                )))
            }
        };
        let cancels_so_far = record
            .cancel_cnt
            .as_deref()
            .and_then(|count| count.parse::<u32>().ok())
            .unwrap_or(0);
        // "0" cancels the whole original amount at once; anything else is partial.
        let partial = if request.full && cancels_so_far == 0 {
            wire::PARTIAL_FULL
        } else {
            wire::PARTIAL_PARTIAL
        };
        let amount = request.amount.to_string();
        let seq = (cancels_so_far + 1).to_string();
        let params = wire::CancelParams {
            mid: target.channel.mid.clone(),
            tid: request.pg_tid.to_owned(),
            cancel_msg: request.reason.to_owned(),
            partial_cancel_code: partial.into(),
            cancel_pwd: Some(password.to_owned()),
            cancel_seq: Some(seq.clone()),
            hash_data: Some(wire::cancel_hash(request.pg_tid, key, &amount, partial)),
            service_mode: Some(wire::SERVICE_MODE_CANCEL.into()),
            refund_acct_no: Some(request.account.number.to_owned()),
            refund_bank_cd: Some(request.account.bank.kftc().to_owned()),
            refund_acct_nm: Some(request.account.holder.to_owned()),
            cancel_amt: amount,
        };
        let answer: wire::CancelAnswer = self.call(&target, key, self.options.cancel_path, &params).await?;
        if answer.result_code != wire::RESULT_REFUNDED {
            return Err(PgError::Refused(PgRefusal {
                code: answer.result_code,
                message: answer.result_msg,
            }));
        }
        Ok(Refunded {
            cancel_tid: answer
                .cancel_num
                .filter(|number| !number.is_empty())
                .unwrap_or_else(|| format!("{}-{seq}", request.pg_tid)),
            at: match (answer.cancel_date.as_deref(), answer.cancel_time.as_deref()) {
                (Some(date), Some(time)) => parse_date_time(&format!("{date}{time}")).unwrap_or(request.now),
                _ => request.now,
            },
            receipt_url: String::new(),
        })
    }

    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        // 신통보 is UTF-8 as PortOne configures it [C]; a charset in the content type wins.
        let pairs = form::parse(body, form::charset_of(content_type));
        let field = |name: &str| form::field(&pairs, name).filter(|value| !value.is_empty());
        let required = |name: &'static str| field(name).ok_or_else(|| NoticeError(format!("missing {name}")));
        if let Some(method) = field(wire::noti::PAY_METHOD) {
            if method != wire::PAY_METHOD_VBANK {
                return Err(NoticeError(format!("PayMethod {method} is not a virtual account")));
            }
        }
        let tid = required(wire::noti::TID)?;
        let at = || {
            parse_date_time(required(wire::noti::AUTH_DATE)?).ok_or_else(|| NoticeError("unreadable AuthDate".into()))
        };
        let event = match required(wire::noti::RESULT_CODE)? {
            wire::RESULT_DEPOSITED => NoticeEvent::Deposited {
                amount: Some(
                    Won::parse(required(wire::noti::AMT)?).map_err(|error| NoticeError(format!("Amt {error}")))?,
                ),
                at: at()?,
            },
            wire::RESULT_ISSUED => NoticeEvent::AwaitingDeposit,
            wire::RESULT_CANCELLED => NoticeEvent::Cancelled { at: at()? },
            other => return Err(NoticeError(format!("ResultCode {other} is not a notice vbank reads"))),
        };
        Ok(Notice {
            reference: NoticeReference::PgTid(tid.to_owned()),
            event,
            secret: None,
            account_number: field(wire::noti::VBANK_NUM).map(str::to_owned),
            signed: SignedContent::Form(pairs.clone()),
        })
    }

    fn authenticate(&self, notice: &Notice, channel: &Channel, _pg_secret: Option<&str>) -> Authenticity {
        // SignValue is keyed by the merchant's MerchantKey [C]; its digest is a guess (wire.rs).
        let digest = self.options.sign_digest;
        // A good signature proves the sender holds the merchant's key, not that the PG saw the
        // deposit: a leaked key must not mint payments, so deposits are still confirmed by query.
        match (&notice.signed, channel.secrets.merchant_key.as_deref()) {
            (SignedContent::Form(fields), Some(key)) if wire::verify_notice(fields, key, digest) => {
                Authenticity::NeedsConfirmation
            }
            (SignedContent::Form(_), Some(_)) => Authenticity::Forged("SignValue does not verify"),
            _ => Authenticity::NeedsConfirmation,
        }
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        Acknowledgement {
            status: 200,
            content_type: "text/html; charset=utf-8",
            body: if accepted { wire::NOTI_ACK } else { wire::NOTI_NACK }.to_owned(),
        }
    }
}
