//! Toss Payments (`tosspayments`): JSON over HTTP Basic auth with the secret key;
//! deposit notifications (DEPOSIT_CALLBACK) authenticated by the per-payment `secret`.

pub mod wire;

use crate::{
    classify_send_error, Acknowledgement, Authenticity, Connector, IssueRequest, IssuedAccount, Notice, NoticeError,
    NoticeEvent, NoticeReference, PgError, PgRefusal, PgState, RefundRequest, Refunded, RevokeOutcome, SignedContent,
    Target,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, TimeZone};
use serde::de::DeserializeOwned;
use serde::Serialize;
use vbank_core::time::{kst, to_kst};
use vbank_core::{BankCode, Channel, PgProvider, UnixSeconds, Won};

pub struct Toss {
    http: reqwest::Client,
}

impl Toss {
    pub fn new(http: reqwest::Client) -> Toss {
        Toss { http }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        target: &Target<'_>,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, PgError> {
        let secret_key = target
            .channel
            .secrets
            .secret_key
            .as_deref()
            .ok_or(PgError::MissingCredential("Toss secret key"))?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", target.base_url))
            .header("authorization", wire::basic_auth(secret_key));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(classify_send_error)?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| PgError::Unknown(error.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|error| PgError::Unknown(format!("HTTP {status} with an unreadable body ({error})")));
        }
        match serde_json::from_slice::<wire::Failure>(&bytes) {
            // A 5xx may come after the change was made: Toss does not promise otherwise.
            Ok(failure) if status.is_server_error() => {
                Err(PgError::Unknown(format!("[{}] {}", failure.code, failure.message)))
            }
            Ok(failure) => Err(PgError::Refused(PgRefusal {
                code: failure.code,
                message: failure.message,
            })),
            Err(_) => Err(PgError::Unknown(format!("HTTP {status} with an unreadable body"))),
        }
    }
}

/// ISO 8601 with an offset (`2025-01-08T12:00:00+09:00`), or Toss' zone-less KST form.
pub fn parse_time(text: &str) -> Option<UnixSeconds> {
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Some(moment.timestamp());
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    kst()
        .from_local_datetime(&local)
        .single()
        .map(|moment| moment.timestamp())
}

pub fn format_time(seconds: UnixSeconds) -> String {
    to_kst(seconds).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

fn unreadable(field: &str) -> PgError {
    PgError::Unknown(format!("Toss answered without a readable {field}"))
}

/// The one mapping of Toss' status to what vbank records.
fn state_of(payment: &wire::Payment, now: UnixSeconds) -> Result<PgState, PgError> {
    use wire::PaymentStatus as S;
    match payment.status {
        // An expired account stays unpaid and revocable (api.md A5).
        S::Ready | S::InProgress | S::WaitingForDeposit | S::Expired => Ok(PgState::AwaitingDeposit),
        S::Done | S::PartialCanceled => Ok(PgState::Deposited {
            amount: Won::new(payment.total_amount).map_err(|_| unreadable("totalAmount"))?,
            at: payment.approved_at.as_deref().and_then(parse_time).unwrap_or(now),
        }),
        S::Canceled | S::Aborted => {
            let last_cancel = payment.cancels.as_ref().and_then(|cancels| cancels.last());
            Ok(PgState::Cancelled {
                cancel_tid: last_cancel
                    .map(|cancel| cancel.transaction_key.clone())
                    .unwrap_or_else(|| payment.payment_key.clone()),
                at: last_cancel
                    .and_then(|cancel| parse_time(&cancel.canceled_at))
                    .unwrap_or(now),
            })
        }
    }
}

#[async_trait]
impl Connector for Toss {
    fn provider(&self) -> PgProvider {
        PgProvider::Tosspayments
    }

    fn missing_credential(&self, _target: &Target<'_>) -> Option<&'static str> {
        None
    }

    fn live_base_url(&self) -> &'static str {
        "https://api.tosspayments.com"
    }

    fn offers_bank(&self, bank: BankCode) -> bool {
        bank.bank().toss.is_some()
    }

    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str> {
        // Toss shows the merchant's name as holder; it needs the buyer's (api.md B3.1).
        request.buyer.name.is_none().then_some("buyer_name")
    }

    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError> {
        let bank = request.bank.bank().toss.ok_or_else(|| {
            PgError::Refused(PgRefusal {
                code: wire::INVALID_BANK.into(),
                message: format!("bank {} is not available at Toss Payments", request.bank),
            })
        })?;
        let body = wire::IssueRequest {
            amount: request.amount.get(),
            // The imp_uid fits Toss' orderId rules and is unique, as Toss requires.
            order_id: request.imp_uid.to_string(),
            order_name: request.order_name.to_owned(),
            customer_name: request.buyer.name.clone().unwrap_or_default(),
            bank: bank.to_owned(),
            due_date: Some(format_time(request.due)),
            valid_hours: None,
            customer_email: request.buyer.email.clone(),
            customer_mobile_phone: request.buyer.tel.clone(),
        };
        let payment: wire::Payment = self
            .call(&target, reqwest::Method::POST, "/v1/virtual-accounts", Some(&body))
            .await?;
        let account = payment.virtual_account.ok_or_else(|| unreadable("virtualAccount"))?;
        let bank = account
            .bank_code
            .as_deref()
            .and_then(BankCode::from_toss)
            .ok_or_else(|| unreadable("virtualAccount.bankCode"))?;
        Ok(IssuedAccount {
            pg_tid: payment.payment_key,
            account_number: account.account_number,
            bank,
            // Toss reports no holder (i'mport documents vbank_holder as null).
            holder: None,
            due: parse_time(&account.due_date).ok_or_else(|| unreadable("virtualAccount.dueDate"))?,
            pg_secret: Some(payment.secret.ok_or_else(|| unreadable("secret"))?),
            receipt_url: payment.receipt.map(|receipt| receipt.url),
        })
    }

    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome {
        let body = wire::CancelRequest {
            cancel_reason: reason.to_owned(),
            ..Default::default()
        };
        let path = format!("/v1/payments/{pg_tid}/cancel");
        match self
            .call::<wire::Payment>(&target, reqwest::Method::POST, &path, Some(&body))
            .await
        {
            Ok(payment) => match state_of(&payment, now) {
                Ok(PgState::Cancelled { cancel_tid, at }) => RevokeOutcome::Revoked {
                    cancel_tid,
                    at,
                    receipt_url: payment.receipt.map(|receipt| receipt.url).unwrap_or_default(),
                },
                Ok(PgState::Deposited { .. }) => RevokeOutcome::AlreadyDeposited,
                Ok(PgState::AwaitingDeposit) => {
                    RevokeOutcome::Unknown("Toss answered the cancel with a payment still waiting".into())
                }
                Err(error) => RevokeOutcome::Unknown(error.to_string()),
            },
            Err(PgError::Refused(refusal)) => match refusal.code.as_str() {
                wire::ALREADY_CANCELED_PAYMENT => RevokeOutcome::AlreadyCancelled,
                // A deposited account cannot be cancelled without a refund account; the
                // caller confirms with a query which of the two it is.
                wire::NOT_CANCELABLE_PAYMENT => RevokeOutcome::AlreadyDeposited,
                _ => RevokeOutcome::Refused(refusal),
            },
            Err(PgError::NotSent(reason)) => RevokeOutcome::NotSent(reason),
            Err(PgError::MissingCredential(name)) => RevokeOutcome::NotSent(format!("missing {name}")),
            Err(PgError::Unknown(reason)) => RevokeOutcome::Unknown(reason),
        }
    }

    async fn query(
        &self,
        target: Target<'_>,
        pg_tid: &str,
        _merchant_uid: &str,
        now: UnixSeconds,
    ) -> Result<PgState, PgError> {
        let payment: wire::Payment = self
            .call(
                &target,
                reqwest::Method::GET,
                &format!("/v1/payments/{pg_tid}"),
                None::<&()>,
            )
            .await?;
        state_of(&payment, now)
    }

    fn refund_bank(&self, code: &str) -> Option<BankCode> {
        // i'mport takes Toss refund banks as KFTC codes (api.md B6.3); Toss' own API
        // wants its 2-digit codes, translated below.
        BankCode::from_kftc(code)
    }

    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError> {
        let bank = request.account.bank.bank().toss.ok_or_else(|| {
            PgError::Refused(PgRefusal {
                code: wire::INVALID_BANK.into(),
                message: format!("bank {} is not available at Toss Payments", request.account.bank),
            })
        })?;
        let body = wire::CancelRequest {
            cancel_reason: request.reason.to_owned(),
            cancel_amount: (!request.full).then_some(request.amount.get()),
            refund_receive_account: Some(wire::RefundReceiveAccount {
                bank: bank.to_owned(),
                account_number: request.account.number.to_owned(),
                holder_name: request.account.holder.to_owned(),
            }),
        };
        let path = format!("/v1/payments/{}/cancel", request.pg_tid);
        let payment: wire::Payment = self.call(&target, reqwest::Method::POST, &path, Some(&body)).await?;
        let cancel = payment
            .cancels
            .as_ref()
            .and_then(|cancels| cancels.last())
            .ok_or_else(|| unreadable("cancels"))?;
        Ok(Refunded {
            cancel_tid: cancel.transaction_key.clone(),
            at: parse_time(&cancel.canceled_at).unwrap_or(request.now),
            receipt_url: payment.receipt.map(|receipt| receipt.url).unwrap_or_default(),
        })
    }

    fn parse_notice(&self, _content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError> {
        let callback: wire::DepositCallback =
            serde_json::from_slice(body).map_err(|error| NoticeError(error.to_string()))?;
        let at = parse_time(&callback.created_at).ok_or_else(|| NoticeError("unreadable createdAt".into()))?;
        use wire::PaymentStatus as S;
        let event = match callback.status {
            S::Done => NoticeEvent::Deposited { amount: None, at },
            S::Canceled => NoticeEvent::Cancelled { at },
            S::WaitingForDeposit => NoticeEvent::AwaitingDeposit,
            S::Ready | S::InProgress | S::PartialCanceled | S::Aborted | S::Expired => {
                return Err(NoticeError(format!(
                    "status {:?} is not a DEPOSIT_CALLBACK status",
                    callback.status
                )))
            }
        };
        Ok(Notice {
            reference: NoticeReference::OrderId(callback.order_id),
            event,
            secret: Some(callback.secret),
            account_number: None,
            signed: SignedContent::None,
        })
    }

    fn authenticate(&self, notice: &Notice, _channel: &Channel, pg_secret: Option<&str>) -> Authenticity {
        match (notice.secret.as_deref(), pg_secret) {
            (Some(given), Some(expected)) if constant_time_eq(given.as_bytes(), expected.as_bytes()) => {
                Authenticity::Verified
            }
            _ => Authenticity::Forged("secret does not match the one Toss gave at issuance"),
        }
    }

    fn acknowledge(&self, accepted: bool) -> Acknowledgement {
        Acknowledgement {
            status: if accepted { 200 } else { 400 },
            content_type: "text/plain; charset=utf-8",
            body: String::new(),
        }
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
