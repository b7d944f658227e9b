//! NICE Payments, new module (`nice_v2`, "Start API"): JSON over HTTP Basic auth with
//! `clientKey:secretKey`; answers and webhooks carry NICE's payment object, signed with
//! SHA-256 over tid + amount + ediDate + SecretKey.
//!
//! NICE's cancel wants the `orderId`, which the `Connector` interface does not hand to
//! `revoke` or `refund`. So both first read the payment (`GET /v1/payments/{tid}`), which
//! also tells an account that was cancelled or deposited already.

pub mod wire;

use crate::{
    classify_send_error, nice, Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Notice,
    NoticeError, NoticeEvent, NoticeReference, PgError, PgRefusal, PgState, RefundRequest, Refunded, RevokeOutcome,
    SignedContent, Target,
};
use async_trait::async_trait;
use serde::Serialize;
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct NiceV2 {
    http: reqwest::Client,
}

/// The channel's key pair.
struct Keys<'a> {
    client_key: &'a str,
    secret_key: &'a str,
}

impl NiceV2 {
    pub fn new(http: reqwest::Client) -> NiceV2 {
        NiceV2 { http }
    }

    fn keys<'a>(target: &'a Target<'_>) -> Result<Keys<'a>, PgError> {
        let secrets = &target.channel.secrets;
        let client_key = secrets
            .client_key
            .as_deref()
            .filter(|key| !key.is_empty())
            .ok_or(PgError::MissingCredential("NICE v2 clientKey"))?;
        let secret_key = secrets
            .secret_key
            .as_deref()
            .filter(|key| !key.is_empty())
            .ok_or(PgError::MissingCredential("NICE v2 secretKey"))?;
        Ok(Keys { client_key, secret_key })
    }

    /// One call. A successful answer whose `signature` does not verify is not NICE's (or
    /// was altered): its outcome is unknown.
    async fn call(
        &self,
        target: &Target<'_>,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<wire::Payment, PgError> {
        let keys = Self::keys(target)?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", target.base_url))
            .header("authorization", wire::basic_auth(keys.client_key, keys.secret_key));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(classify_send_error)?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PgError::Unknown(error.to_string()))?;
        match serde_json::from_slice::<wire::Payment>(&bytes) {
            // A 5xx may come after the change was made.
            Ok(payment) if status.is_server_error() => Err(PgError::Unknown(format!(
                "HTTP {status} [{}] {}",
                payment.result_code, payment.result_msg
            ))),
            Ok(payment) if payment.result_code == wire::RESULT_OK && payment.signature.is_some() => {
                if wire::signature_matches(&payment, keys.secret_key) {
                    Ok(payment)
                } else {
                    Err(PgError::Unknown(
                        "NICE's answer carries a signature that does not verify with the secretKey".into(),
                    ))
                }
            }
            Ok(payment) => Ok(payment),
            Err(_) if status == reqwest::StatusCode::UNAUTHORIZED => Err(refusal(
                wire::RESULT_BASIC_AUTH_FAILED.into(),
                "BASIC AUTHENTICATION 실패".into(),
            )),
            Err(error) => Err(PgError::Unknown(format!(
                "HTTP {status} with an unreadable body ({error})"
            ))),
        }
    }

    /// `GET /v1/payments/{tid}`; anything but "0000" is a refusal.
    async fn payment(&self, target: &Target<'_>, tid: &str) -> Result<wire::Payment, PgError> {
        let payment = self
            .call(
                target,
                reqwest::Method::GET,
                &format!("/v1/payments/{tid}"),
                None::<&()>,
            )
            .await?;
        if payment.result_code != wire::RESULT_OK {
            return Err(refusal(payment.result_code, payment.result_msg));
        }
        Ok(payment)
    }

    /// `POST /v1/payments/{tid}/cancel`, signed with `signData`.
    async fn cancel(
        &self,
        target: &Target<'_>,
        tid: &str,
        mut body: wire::CancelRequest,
        now: UnixSeconds,
    ) -> Result<wire::Payment, PgError> {
        let keys = Self::keys(target)?;
        let edi_date = wire::edi_date(now);
        body.sign_data = Some(wire::cancel_sign_data(tid, &edi_date, keys.secret_key));
        body.edi_date = Some(edi_date);
        self.call(
            target,
            reqwest::Method::POST,
            &format!("/v1/payments/{tid}/cancel"),
            Some(&body),
        )
        .await
    }
}

fn refusal(code: String, message: String) -> PgError {
    PgError::Refused(PgRefusal { code, message })
}

fn unreadable(field: &str) -> PgError {
    PgError::Unknown(format!("NICE answered without a readable {field}"))
}

/// The cancel that came last, if any.
fn last_cancel(payment: &wire::Payment) -> Option<&wire::Cancel> {
    payment.cancels.as_ref().and_then(|cancels| cancels.last())
}

/// The one mapping of NICE's status to what vbank records.
pub fn state_of(payment: &wire::Payment, now: UnixSeconds) -> Result<PgState, PgError> {
    let status = payment.status.as_deref().unwrap_or_default();
    let paid_at = payment.paid_at.as_deref().and_then(wire::parse_time);
    let deposited = || -> Result<PgState, PgError> {
        Ok(PgState::Deposited {
            amount: payment
                .amount
                .and_then(|amount| Won::new(amount).ok())
                .ok_or_else(|| unreadable("amount"))?,
            at: paid_at.unwrap_or(now),
        })
    };
    match status {
        // An expired account stays unpaid (api.md A5).
        wire::STATUS_READY | wire::STATUS_EXPIRED => Ok(PgState::AwaitingDeposit),
        wire::STATUS_PAID | wire::STATUS_PARTIAL_CANCELLED => deposited(),
        // [I] cancelled after a deposit: a refund, and the account was deposited.
        wire::STATUS_CANCELLED if paid_at.is_some() => deposited(),
        wire::STATUS_CANCELLED => {
            let last = last_cancel(payment);
            Ok(PgState::Cancelled {
                cancel_tid: payment
                    .cancelled_tid
                    .clone()
                    .or_else(|| last.map(|cancel| cancel.tid.clone()))
                    .or_else(|| payment.tid.clone())
                    .unwrap_or_default(),
                at: payment
                    .cancelled_at
                    .as_deref()
                    .and_then(wire::parse_time)
                    .or_else(|| last.and_then(|cancel| wire::parse_time(&cancel.cancelled_at)))
                    .unwrap_or(now),
            })
        }
        other => Err(PgError::Unknown(format!(
            "NICE status {other:?} is not one vbank knows"
        ))),
    }
}

#[async_trait]
impl Connector for NiceV2 {
    fn provider(&self) -> PgProvider {
        PgProvider::NiceV2
    }

    fn missing_credential(&self, _target: &Target<'_>) -> Option<&'static str> {
        // The key pair is the channel's configuration, not something a caller passes.
        None
    }

    fn live_base_url(&self) -> &'static str {
        "https://api.nicepay.co.kr"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        wire::VBANK_BANKS.contains(&bank.kftc())
    }

    fn missing_issue_field(&self, _request: &IssueRequest<'_>) -> Option<&'static str> {
        // i'mport requires no extra field for nice_v2 (api.md B3.1).
        None
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let keys = Self::keys(&target)?;
        if !self.offers_bank(request.bank) {
            return Err(refusal(
                wire::RESULT_ISSUE_FAILED.into(),
                format!("bank {} is not available at NICE", request.bank),
            ));
        }
        let edi_date = wire::edi_date(request.now);
        // The imp_uid is unique, as NICE wants orderId to be (U112).
        let order_id = request.imp_uid.to_string();
        let amount = request.amount.get();
        let body = wire::IssueRequest {
            sign_data: Some(wire::issue_sign_data(&order_id, amount, &edi_date, keys.secret_key)),
            order_id,
            amount,
            goods_name: request.order_name.to_owned(),
            vbank_code: request.bank.kftc().to_owned(),
            vbank_holder: request.holder.map(str::to_owned),
            vbank_exp_date: Some(wire::edi_date(request.due)),
            vbank_valid_hours: None,
            buyer_name: request.buyer.name.clone(),
            buyer_email: request.buyer.email.clone(),
            buyer_tel: request.buyer.tel.clone(),
            edi_date: Some(edi_date),
        };
        let payment = self
            .call(&target, reqwest::Method::POST, wire::PATH_ISSUE, Some(&body))
            .await?;
        if payment.result_code != wire::RESULT_OK {
            return Err(refusal(payment.result_code, payment.result_msg));
        }
        if payment.status.as_deref() != Some(wire::STATUS_READY) {
            return Err(PgError::Unknown(format!(
                "NICE issued with status {:?}, not ready",
                payment.status
            )));
        }
        let vbank = payment.vbank.ok_or_else(|| unreadable("vbank"))?;
        let bank = BankCode::from_kftc(&vbank.vbank_code).ok_or_else(|| unreadable("vbank.vbankCode"))?;
        Ok(IssuedAccount {
            pg_tid: payment
                .tid
                .filter(|tid| !tid.is_empty())
                .ok_or_else(|| unreadable("tid"))?,
            account_number: vbank.vbank_number,
            bank,
            holder: vbank
                .vbank_holder
                .filter(|holder| !holder.is_empty())
                .or(request.holder.map(str::to_owned)),
            due: wire::parse_time(&vbank.vbank_exp_date).ok_or_else(|| unreadable("vbank.vbankExpDate"))?,
            pg_secret: None,
            receipt_url: payment.receipt_url,
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome {
        // A read first: if it fails, no cancel was sent and NICE did nothing.
        let current = match self.payment(&target, pg_tid).await {
            Ok(payment) => payment,
            Err(PgError::Refused(refusal)) => return RevokeOutcome::Refused(refusal),
            Err(error) => {
                return RevokeOutcome::NotSent(format!("the query before the cancel failed ({error})"));
            }
        };
        match state_of(&current, now) {
            Ok(PgState::AwaitingDeposit) => {}
            Ok(PgState::Cancelled { .. }) => return RevokeOutcome::AlreadyCancelled,
            Ok(PgState::Deposited { .. }) => return RevokeOutcome::AlreadyDeposited,
            Err(error) => {
                return RevokeOutcome::NotSent(format!("the query before the cancel was unreadable ({error})"));
            }
        }
        let Some(order_id) = current.order_id.filter(|order_id| !order_id.is_empty()) else {
            return RevokeOutcome::NotSent("the query before the cancel gave no orderId".into());
        };
        let body = wire::CancelRequest {
            reason: reason.to_owned(),
            order_id,
            ..Default::default()
        };
        let answer = match self.cancel(&target, pg_tid, body, now).await {
            Ok(answer) => answer,
            Err(PgError::NotSent(reason)) => return RevokeOutcome::NotSent(reason),
            Err(PgError::Refused(refusal)) => return RevokeOutcome::Refused(refusal),
            Err(PgError::Unknown(reason)) => return RevokeOutcome::Unknown(reason),
            Err(PgError::MissingCredential(name)) => return RevokeOutcome::NotSent(format!("missing {name}")),
        };
        match answer.result_code.as_str() {
            wire::RESULT_OK => match state_of(&answer, now) {
                Ok(PgState::Cancelled { cancel_tid, at }) => RevokeOutcome::Revoked {
                    cancel_tid,
                    at,
                    receipt_url: last_cancel(&answer)
                        .and_then(|cancel| cancel.receipt_url.clone())
                        .or(answer.receipt_url.clone())
                        .unwrap_or_default(),
                },
                Ok(PgState::Deposited { .. }) => RevokeOutcome::AlreadyDeposited,
                Ok(PgState::AwaitingDeposit) => {
                    RevokeOutcome::Unknown("NICE answered the cancel with a payment still waiting".into())
                }
                Err(error) => RevokeOutcome::Unknown(error.to_string()),
            },
            wire::RESULT_ALREADY_CANCELLED | wire::RESULT_CANCEL_REQUESTED => RevokeOutcome::AlreadyCancelled,
            // [I] "취소 불가능 거래" is generic: a deposit that won the race since the read
            // is told apart from other refusals by reading again.
            wire::RESULT_NOT_CANCELLABLE => match self
                .payment(&target, pg_tid)
                .await
                .and_then(|payment| state_of(&payment, now))
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
        let payment = self.payment(&target, pg_tid).await?;
        state_of(&payment, now)
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        // NICE takes KFTC 3-digit codes (banks.md).
        BankCode::from_kftc(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let current = self.payment(&target, request.pg_tid).await?;
        let order_id = current
            .order_id
            .filter(|order_id| !order_id.is_empty())
            .ok_or_else(|| unreadable("orderId"))?;
        let body = wire::CancelRequest {
            reason: request.reason.to_owned(),
            order_id,
            // Omitted, NICE cancels all that is left.
            cancel_amt: (!request.full).then_some(request.amount.get()),
            refund_account: Some(request.account.number.to_owned()),
            refund_bank_code: Some(request.account.bank.kftc().to_owned()),
            refund_holder: Some(request.account.holder.to_owned()),
            ..Default::default()
        };
        let answer = self.cancel(&target, request.pg_tid, body, request.now).await?;
        if answer.result_code != wire::RESULT_OK {
            return Err(refusal(answer.result_code, answer.result_msg));
        }
        let last = last_cancel(&answer);
        Ok(Refunded {
            cancel_tid: answer
                .cancelled_tid
                .clone()
                .or_else(|| last.map(|cancel| cancel.tid.clone()))
                .filter(|tid| !tid.is_empty())
                .ok_or_else(|| unreadable("cancelledTid"))?,
            at: last
                .and_then(|cancel| wire::parse_time(&cancel.cancelled_at))
                .or_else(|| answer.cancelled_at.as_deref().and_then(wire::parse_time))
                .unwrap_or(request.now),
            receipt_url: last.and_then(|cancel| cancel.receipt_url.clone()).unwrap_or_default(),
        })
    }

    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        let is_json = body
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|&byte| byte == b'{');
        if !is_json {
            // [I] the legacy "결제데이터통보" form, which PortOne's nice_v2 route may receive.
            return nice::parse_form_notice(content_type, body);
        }
        let payment: wire::Payment = serde_json::from_slice(body).map_err(|error| NoticeError(error.to_string()))?;
        let tid = payment
            .tid
            .filter(|tid| !tid.is_empty())
            .ok_or_else(|| NoticeError("missing tid".into()))?;
        let signature = payment
            .signature
            .filter(|signature| !signature.is_empty())
            .ok_or_else(|| NoticeError("missing signature".into()))?;
        if let Some(method) = payment.pay_method.as_deref() {
            if !method.eq_ignore_ascii_case(wire::PAY_METHOD_VBANK) {
                return Err(NoticeError(format!("payMethod {method} is not a virtual account")));
            }
        }
        let amount = payment
            .amount
            .and_then(|amount| Won::new(amount).ok())
            .ok_or_else(|| NoticeError("missing or unreadable amount".into()))?;
        let paid_at = payment.paid_at.as_deref().and_then(wire::parse_time);
        let event = match payment.status.as_deref().unwrap_or_default() {
            wire::STATUS_PAID => NoticeEvent::Deposited {
                amount: Some(amount),
                at: paid_at.ok_or_else(|| NoticeError("unreadable paidAt".into()))?,
            },
            wire::STATUS_CANCELLED if paid_at.is_none() => NoticeEvent::Cancelled {
                at: payment
                    .cancelled_at
                    .as_deref()
                    .and_then(wire::parse_time)
                    .ok_or_else(|| NoticeError("unreadable cancelledAt".into()))?,
            },
            wire::STATUS_READY => NoticeEvent::AwaitingDeposit,
            other => return Err(NoticeError(format!("status {other:?} is not a virtual-account event"))),
        };
        Ok(Notice {
            reference: NoticeReference::PgTid(tid),
            event,
            // The signature rides here for `authenticate`.
            secret: Some(signature),
            account_number: payment.vbank.map(|vbank| vbank.vbank_number),
            signed: SignedContent::Json(body.to_vec()),
        })
    }

    fn authenticate(&self, notice: &Notice, channel: &Channel, _pg_secret: Option<&str>) -> Authenticity {
        // signature = hex(SHA-256(tid + amount + ediDate + SecretKey)) [C].
        // A good signature proves the sender holds the merchant's key, not that the PG saw the
        // deposit: a leaked key must not mint payments, so deposits are still confirmed by query.
        match (&notice.signed, channel.secrets.secret_key.as_deref()) {
            (SignedContent::Json(body), Some(key)) if wire::webhook_signature_matches(body, key) => {
                Authenticity::NeedsConfirmation
            }
            (SignedContent::Json(_), Some(_)) => Authenticity::Forged("signature does not verify"),
            // The legacy form notice, or a channel without its key: ask NICE before acting.
            _ => Authenticity::NeedsConfirmation,
        }
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        if accepted {
            Acknowledgement {
                status: 200,
                content_type: "text/html; charset=utf-8",
                body: wire::NOTI_ACK.to_owned(),
            }
        } else {
            Acknowledgement {
                status: 400,
                content_type: "text/html; charset=utf-8",
                body: wire::NOTI_NACK.to_owned(),
            }
        }
    }
}
