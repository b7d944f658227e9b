//! NICE Payments, old web API module (`nice`): form bodies (EUC-KR unless told otherwise)
//! signed with SHA-256 `SignData` over the MerchantKey; JSON answers; deposit notices
//! ("결제데이터통보") that sign nothing, so each is confirmed by an inquiry.
//!
//! NICE's cancel signs the amount (`CancelAmt`, the full amount for a virtual account),
//! which the `Connector` interface does not hand to `revoke`. So a revoke first asks NICE
//! for the transaction (the status inquiry), which also tells an account that was
//! cancelled or deposited already; only an account still waiting is then cancelled.

pub mod wire;

use crate::{
    classify_send_error, form, Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Notice,
    NoticeError, NoticeEvent, NoticeReference, PgError, PgRefusal, PgState, RefundRequest, Refunded, RevokeOutcome,
    SignedContent, Target,
};
use async_trait::async_trait;
use chrono::{NaiveDateTime, TimeZone};
use rand::Rng;
use serde::de::DeserializeOwned;
use vbank_core::time::{kst, to_kst};
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct Nice {
    http: reqwest::Client,
}

impl Nice {
    pub fn new(http: reqwest::Client) -> Nice {
        Nice { http }
    }

    fn merchant_key<'a>(target: &'a Target<'_>) -> Option<&'a str> {
        target
            .channel
            .secrets
            .merchant_key
            .as_deref()
            .filter(|key| !key.is_empty())
    }

    /// Posts an EUC-KR form (NICE's default charset) and reads the JSON answer.
    async fn post<T: DeserializeOwned>(
        &self,
        target: &Target<'_>,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<T, PgError> {
        let body = form::encode(fields.iter().copied(), encoding_rs::EUC_KR);
        let response = self
            .http
            .post(format!("{}{path}", target.base_url))
            .header("content-type", "application/x-www-form-urlencoded; charset=euc-kr")
            .body(body)
            .send()
            .await
            .map_err(classify_send_error)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PgError::Unknown(error.to_string()))?;
        let text = decode_text(&bytes, content_type.as_deref());
        serde_json::from_str(text.trim())
            .map_err(|error| PgError::Unknown(format!("HTTP {status} with an unreadable body ({error})")))
    }

    /// The status inquiry (`trans_status.jsp`); a refusal or an unknown TID is `Refused`.
    async fn inquire(
        &self,
        target: &Target<'_>,
        tid: &str,
        now: UnixSeconds,
    ) -> Result<wire::InquiryResponse, PgError> {
        let key = Self::merchant_key(target).ok_or(PgError::MissingCredential("NICE MerchantKey"))?;
        let mid = target.channel.mid.as_str();
        let edi_date = wire::edi_date(now);
        let sign_data = wire::inquiry_sign_data(tid, mid, &edi_date, key);
        let answer: wire::InquiryResponse = self
            .post(
                target,
                wire::PATH_INQUIRY,
                &[
                    (wire::field::TID, tid),
                    (wire::field::MID, mid),
                    (wire::field::EDI_DATE, &edi_date),
                    (wire::field::CHARSET, wire::CHARSET_UTF8),
                    (wire::field::EDI_TYPE, wire::EDI_TYPE_JSON),
                    (wire::field::SIGN_DATA, &sign_data),
                ],
            )
            .await?;
        if answer.result_code != wire::RESULT_INQUIRY_OK {
            return Err(refusal(answer.result_code, answer.result_msg));
        }
        if answer.status.as_deref() == Some(wire::STATUS_NONE) {
            return Err(refusal(
                wire::STATUS_NONE.to_owned(),
                format!("승인 거래 없음: NICE knows no transaction {tid}"),
            ));
        }
        Ok(answer)
    }
}

/// Decodes an answer in the charset its content type names; without one, UTF-8 when it
/// is valid UTF-8 and EUC-KR (NICE's default) otherwise.
pub fn decode_text(bytes: &[u8], content_type: Option<&str>) -> String {
    let named = content_type.is_some_and(|value| value.to_ascii_lowercase().contains("charset="));
    if named {
        return form::charset_of(content_type)
            .decode_without_bom_handling(bytes)
            .0
            .into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::EUC_KR.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// A KST `yyyyMMdd` + `HHmmss` pair as UNIX seconds.
pub fn parse_kst(date: &str, time: &str) -> Option<UnixSeconds> {
    let time = format!("{time:0<6}");
    parse_local(&format!("{date}{time}"), "%Y%m%d%H%M%S")
}

/// A NICE date-time: `yyMMddHHmmss` (AuthDate), `yyyyMMddHHmmss` or `yyyyMMdd`, in KST.
pub fn parse_nice_time(text: &str) -> Option<UnixSeconds> {
    if !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    match text.len() {
        12 => parse_local(text, "%y%m%d%H%M%S"),
        14 => parse_local(text, "%Y%m%d%H%M%S"),
        8 => parse_kst(text, "000000"),
        _ => None,
    }
}

fn parse_local(text: &str, format: &str) -> Option<UnixSeconds> {
    let local = NaiveDateTime::parse_from_str(text, format).ok()?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|moment| moment.timestamp())
}

fn refusal(code: String, message: String) -> PgError {
    PgError::Refused(PgRefusal { code, message })
}

fn unreadable(field: &str) -> PgError {
    PgError::Unknown(format!("NICE answered without a readable {field}"))
}

/// The one mapping of NICE's inquiry to what vbank records.
pub fn state_of(answer: &wire::InquiryResponse, tid: &str, now: UnixSeconds) -> Result<PgState, PgError> {
    let deposited = || -> Result<PgState, PgError> {
        let amount = answer
            .amount
            .as_deref()
            .and_then(|amount| Won::parse(amount).ok())
            .ok_or_else(|| unreadable("Amt"))?;
        let at = answer.auth_date.as_deref().and_then(parse_nice_time).unwrap_or(now);
        Ok(PgState::Deposited { amount, at })
    };
    match (answer.status.as_deref(), answer.vbank_state.as_deref()) {
        (Some(wire::STATUS_APPROVED), Some(wire::VBANK_WAITING)) => Ok(PgState::AwaitingDeposit),
        // A deposited account stays deposited, refunded or not: refunds are their own story.
        (Some(wire::STATUS_APPROVED | wire::STATUS_CANCELLED), Some(wire::VBANK_DEPOSITED)) => deposited(),
        (Some(wire::STATUS_CANCELLED), _) => Ok(PgState::Cancelled {
            cancel_tid: tid.to_owned(),
            at: match (answer.cancel_date.as_deref(), answer.cancel_time.as_deref()) {
                (Some(date), Some(time)) => parse_kst(date, time).unwrap_or(now),
                _ => now,
            },
        }),
        (status, vbank_state) => Err(PgError::Unknown(format!(
            "NICE inquiry Status {status:?} / VbankState {vbank_state:?} is not one vbank knows"
        ))),
    }
}

/// Reads a "결제데이터통보" form (EUC-KR unless the content type names a charset).
/// Shared with `nice_v2`, whose notices may come in this legacy format too (pg.md §3.5).
pub fn parse_form_notice(content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
    let encoding = match content_type {
        Some(value) if value.to_ascii_lowercase().contains("charset=") => form::charset_of(content_type),
        _ => encoding_rs::EUC_KR,
    };
    let pairs = form::parse(body, encoding);
    let get = |name: &str| {
        form::field(&pairs, name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let required = |name: &'static str| get(name).ok_or_else(|| NoticeError(format!("missing {name}")));
    let pay_method = required(wire::noti::PAY_METHOD)?;
    if !pay_method.eq_ignore_ascii_case(wire::PAY_METHOD_VBANK) {
        return Err(NoticeError(format!("PayMethod {pay_method} is not a virtual account")));
    }
    let tid = required(wire::noti::TID)?;
    let amount =
        Won::parse(required(wire::noti::AMT)?).map_err(|error| NoticeError(format!("{} {error}", wire::noti::AMT)))?;
    let result_code = required(wire::noti::RESULT_CODE)?;
    let state = get(wire::noti::STATE_CD).unwrap_or(wire::STATE_APPROVED);
    let event = match state {
        wire::STATE_CANCELLED_BEFORE | wire::STATE_CANCELLED_AFTER => {
            let at = get(wire::noti::CANCEL_DATE)
                .or(get(wire::noti::AUTH_DATE))
                .and_then(parse_nice_time)
                .ok_or_else(|| NoticeError("unreadable CancelDate".into()))?;
            NoticeEvent::Cancelled { at }
        }
        wire::STATE_APPROVED => match result_code {
            wire::RESULT_DEPOSITED => NoticeEvent::Deposited {
                amount: Some(amount),
                at: parse_nice_time(required(wire::noti::AUTH_DATE)?)
                    .ok_or_else(|| NoticeError("unreadable AuthDate".into()))?,
            },
            wire::RESULT_ISSUED => NoticeEvent::AwaitingDeposit,
            other => {
                return Err(NoticeError(format!(
                    "ResultCode {other} is not a virtual-account event"
                )))
            }
        },
        other => return Err(NoticeError(format!("StateCd {other} is not one vbank knows"))),
    };
    Ok(Notice {
        reference: NoticeReference::PgTid(tid.to_owned()),
        event,
        secret: None,
        account_number: get(wire::noti::VBANK_NUM).map(str::to_owned),
        signed: SignedContent::None,
    })
}

/// The acknowledgement of a "결제데이터통보": `OK`, or `FAIL` so that NICE resends.
pub fn form_acknowledgement(accepted: bool) -> Acknowledgement {
    Acknowledgement {
        status: 200,
        content_type: "text/html; charset=euc-kr",
        body: if accepted { wire::NOTI_ACK } else { wire::NOTI_NACK }.to_owned(),
    }
}

#[async_trait]
impl Connector for Nice {
    fn provider(&self) -> PgProvider {
        PgProvider::Nice
    }

    fn missing_credential(&self, _target: &Target<'_>) -> Option<&'static str> {
        // The MerchantKey is the channel's configuration, not something a caller passes.
        None
    }

    fn live_base_url(&self) -> &'static str {
        "https://webapi.nicepay.co.kr"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        wire::VBANK_BANKS.contains(&bank.kftc())
    }

    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str> {
        // i'mport requires the holder shown on the account for NICE (api.md B3.1).
        request.holder.is_none().then_some("vbank_holder")
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let key = Self::merchant_key(&target).ok_or(PgError::MissingCredential("NICE MerchantKey"))?;
        if !self.offers_bank(request.bank) {
            return Err(refusal(
                wire::RESULT_ISSUE_FAILED.into(),
                format!("bank {} is not available at NICE", request.bank),
            ));
        }
        let mid = target.channel.mid.as_str();
        let edi_date = wire::edi_date(request.now);
        let tid = wire::make_tid(mid, request.now, rand::thread_rng().gen_range(0..10_000));
        let amount = request.amount.to_string();
        let moid = request.merchant_uid.as_str();
        let due = to_kst(request.due).format("%Y%m%d%H%M").to_string();
        let sign_data = wire::issue_sign_data(mid, &amount, &edi_date, moid, key);
        let mut fields = vec![
            (wire::field::TID, tid.as_str()),
            (wire::field::MID, mid),
            (wire::field::EDI_DATE, edi_date.as_str()),
            (wire::field::MOID, moid),
            (wire::field::AMT, amount.as_str()),
            (wire::field::GOODS_NAME, request.order_name),
            (wire::field::BANK_CODE, request.bank.kftc()),
            (wire::field::VBANK_EXP_DATE, due.as_str()),
            (wire::field::VBANK_ACCOUNT_NAME, request.holder.unwrap_or_default()),
        ];
        for (name, value) in [
            (wire::field::BUYER_NAME, &request.buyer.name),
            (wire::field::BUYER_EMAIL, &request.buyer.email),
            (wire::field::BUYER_TEL, &request.buyer.tel),
        ] {
            if let Some(value) = value.as_deref() {
                fields.push((name, value));
            }
        }
        fields.extend([
            (wire::field::CHARSET, wire::CHARSET_UTF8),
            (wire::field::EDI_TYPE, wire::EDI_TYPE_JSON),
            (wire::field::SIGN_DATA, sign_data.as_str()),
        ]);
        let answer: wire::IssueResponse = self.post(&target, wire::PATH_ISSUE, &fields).await?;
        if answer.result_code != wire::RESULT_ISSUED {
            return Err(refusal(answer.result_code, answer.result_msg));
        }
        let bank = answer
            .vbank_bank_code
            .as_deref()
            .and_then(BankCode::from_kftc)
            .ok_or_else(|| unreadable("VbankBankCode"))?;
        let due = match answer.vbank_exp_date.as_deref() {
            Some(date) => parse_kst(date, answer.vbank_exp_time.as_deref().unwrap_or("235959"))
                .ok_or_else(|| unreadable("VbankExpDate"))?,
            None => request.due,
        };
        Ok(IssuedAccount {
            pg_tid: answer.tid.filter(|tid| !tid.is_empty()).unwrap_or(tid),
            account_number: answer
                .vbank_num
                .filter(|number| !number.is_empty())
                .ok_or_else(|| unreadable("VbankNum"))?,
            bank,
            // NICE shows the name it was given (VbankAccountName); its answer does not repeat it.
            holder: request.holder.map(str::to_owned),
            due: due.max(request.due),
            pg_secret: None,
            receipt_url: None,
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome {
        let Some(key) = Self::merchant_key(&target) else {
            return RevokeOutcome::NotSent("missing NICE MerchantKey".into());
        };
        // The inquiry is read-only: if it fails, no cancel was sent and NICE did nothing.
        let info = match self.inquire(&target, pg_tid, now).await {
            Ok(info) => info,
            Err(PgError::Refused(refusal)) => return RevokeOutcome::Refused(refusal),
            Err(error) => {
                return RevokeOutcome::NotSent(format!("the inquiry before the cancel failed ({error})"));
            }
        };
        match state_of(&info, pg_tid, now) {
            Ok(PgState::AwaitingDeposit) => {}
            Ok(PgState::Cancelled { .. }) => return RevokeOutcome::AlreadyCancelled,
            Ok(PgState::Deposited { .. }) => return RevokeOutcome::AlreadyDeposited,
            Err(error) => {
                return RevokeOutcome::NotSent(format!("the inquiry before the cancel was unreadable ({error})"));
            }
        }
        let Some(amount) = info.amount.as_deref().filter(|amount| Won::parse(amount).is_ok()) else {
            return RevokeOutcome::NotSent("the inquiry before the cancel gave no readable Amt".into());
        };
        let mid = target.channel.mid.as_str();
        let edi_date = wire::edi_date(now);
        let sign_data = wire::cancel_sign_data(mid, amount, &edi_date, key);
        let fields = [
            (wire::field::TID, pg_tid),
            (wire::field::MID, mid),
            (wire::field::MOID, info.moid.as_deref().unwrap_or_default()),
            (wire::field::CANCEL_AMT, amount),
            (wire::field::CANCEL_MSG, reason),
            (wire::field::PARTIAL_CANCEL_CODE, wire::CANCEL_FULL),
            (wire::field::EDI_DATE, edi_date.as_str()),
            (wire::field::CHARSET, wire::CHARSET_UTF8),
            (wire::field::EDI_TYPE, wire::EDI_TYPE_JSON),
            (wire::field::SIGN_DATA, sign_data.as_str()),
        ];
        let answer = match self
            .post::<wire::CancelResponse>(&target, wire::PATH_CANCEL, &fields)
            .await
        {
            Ok(answer) => answer,
            Err(PgError::NotSent(reason)) => return RevokeOutcome::NotSent(reason),
            Err(PgError::Refused(refusal)) => return RevokeOutcome::Refused(refusal),
            Err(PgError::Unknown(reason)) => return RevokeOutcome::Unknown(reason),
            Err(PgError::MissingCredential(name)) => return RevokeOutcome::NotSent(format!("missing {name}")),
        };
        match answer.result_code.as_str() {
            wire::RESULT_CANCELLED | wire::RESULT_REFUNDED => RevokeOutcome::Revoked {
                cancel_tid: answer
                    .cancel_num
                    .or(answer.tid)
                    .filter(|tid| !tid.is_empty())
                    .unwrap_or_else(|| pg_tid.to_owned()),
                at: match (answer.cancel_date.as_deref(), answer.cancel_time.as_deref()) {
                    (Some(date), Some(time)) => parse_kst(date, time).unwrap_or(now),
                    _ => now,
                },
                receipt_url: String::new(),
            },
            wire::RESULT_ALREADY_CANCELLED | wire::RESULT_CANCEL_REQUESTED => RevokeOutcome::AlreadyCancelled,
            // [I] "취소 불가능 거래" is generic: a deposit that won the race since the
            // inquiry is told apart from other refusals by asking again.
            wire::RESULT_NOT_CANCELLABLE => match self
                .inquire(&target, pg_tid, now)
                .await
                .and_then(|info| state_of(&info, pg_tid, now))
            {
                Ok(PgState::Deposited { .. }) => RevokeOutcome::AlreadyDeposited,
                Ok(PgState::Cancelled { .. }) => RevokeOutcome::AlreadyCancelled,
                _ => RevokeOutcome::Refused(PgRefusal {
                    code: answer.result_code,
                    message: answer.result_msg,
                }),
            },
            _ => RevokeOutcome::Refused(PgRefusal {
                code: answer.result_code,
                message: answer.result_msg,
            }),
        }
    }

    async fn query(
        &self,
        target: Target<'_>,
        pg_tid: &str,
        _merchant_uid: &str,
        now: UnixSeconds,
    ) -> Result<PgState, PgError> {
        let answer = self.inquire(&target, pg_tid, now).await?;
        state_of(&answer, pg_tid, now)
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        // NICE takes KFTC 3-digit codes (banks.md).
        BankCode::from_kftc(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let key = Self::merchant_key(&target).ok_or(PgError::MissingCredential("NICE MerchantKey"))?;
        let mid = target.channel.mid.as_str();
        let edi_date = wire::edi_date(request.now);
        let amount = request.amount.to_string();
        let sign_data = wire::cancel_sign_data(mid, &amount, &edi_date, key);
        // [I] "0" cancels all that is left; a refund that leaves a balance is partial.
        let partial_code = if request.full {
            wire::CANCEL_FULL
        } else {
            wire::CANCEL_PARTIAL
        };
        let fields = [
            (wire::field::TID, request.pg_tid),
            (wire::field::MID, mid),
            (wire::field::CANCEL_AMT, amount.as_str()),
            (wire::field::CANCEL_MSG, request.reason),
            (wire::field::PARTIAL_CANCEL_CODE, partial_code),
            (wire::field::EDI_DATE, edi_date.as_str()),
            (wire::field::REFUND_ACCT_NO, request.account.number),
            (wire::field::REFUND_BANK_CD, request.account.bank.kftc()),
            (wire::field::REFUND_ACCT_NM, request.account.holder),
            (wire::field::CHARSET, wire::CHARSET_UTF8),
            (wire::field::EDI_TYPE, wire::EDI_TYPE_JSON),
            (wire::field::SIGN_DATA, sign_data.as_str()),
        ];
        let answer: wire::CancelResponse = self.post(&target, wire::PATH_CANCEL, &fields).await?;
        match answer.result_code.as_str() {
            wire::RESULT_CANCELLED | wire::RESULT_REFUNDED => Ok(Refunded {
                cancel_tid: answer
                    .cancel_num
                    .or(answer.tid)
                    .filter(|tid| !tid.is_empty())
                    .ok_or_else(|| unreadable("CancelNum"))?,
                at: match (answer.cancel_date.as_deref(), answer.cancel_time.as_deref()) {
                    (Some(date), Some(time)) => parse_kst(date, time).unwrap_or(request.now),
                    _ => request.now,
                },
                receipt_url: String::new(),
            }),
            _ => Err(refusal(answer.result_code, answer.result_msg)),
        }
    }

    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        parse_form_notice(content_type, body)
    }

    fn authenticate(&self, _notice: &Notice, _channel: &Channel, _pg_secret: Option<&str>) -> Authenticity {
        // NICE signs nothing ("암호화 전송" is off); only its source IPs are known. Ask NICE.
        Authenticity::NeedsConfirmation
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        form_acknowledgement(accepted)
    }
}
