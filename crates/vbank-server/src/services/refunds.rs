//! Refunds after deposit (`POST /payments/cancel`): money goes back to the buyer's
//! account through the PG, and `cancel_history` grows. A ready account is revoked,
//! not refunded.

use crate::app::AppState;
use crate::edge::envelope::Text;
use crate::edge::{ApiError, ApiResult};
use crate::observability::pg_call;
use crate::services::lookups;
use crate::services::payments::{apply_fact, missing_credential};
use vbank_core::lifecycle::{check_refundable, PgFact, RefundRefusal};
use vbank_core::{ImpUid, Payment, WireStatus, Won};
use vbank_pg::{PgError, RefundAccount, RefundRequest, Target};
use vbank_store::{Sorting, TimeAxis, TransitionOutcome};

/// A `POST /payments/cancel` request, parsed.
#[derive(Debug, Clone, Default)]
pub struct RefundInput {
    pub imp_uid: Option<String>,
    pub merchant_uid: Option<String>,
    pub amount: Option<Won>,
    pub checksum: Option<Won>,
    pub reason: Option<String>,
    pub refund_holder: Option<String>,
    pub refund_bank: Option<String>,
    pub refund_account: Option<String>,
    /// KG INICIS' INIAPI key, as on `DELETE /vbanks` (query or body).
    pub pg_api_key: Option<String>,
}

fn nothing_to_cancel() -> ApiError {
    ApiError::BusinessRefusal(Text::new(
        "취소할 결제건이 존재하지 않습니다.",
        "There is no payment to cancel.",
    ))
}

fn refusal(refusal: RefundRefusal) -> ApiError {
    match refusal {
        RefundRefusal::AwaitingDeposit => ApiError::Refused(Text::new(
            "입금 전 가상계좌는 환불할 수 없습니다. DELETE /vbanks/{imp_uid} 로 말소하세요.",
            "The virtual account awaits its deposit: revoke it with DELETE /vbanks/{imp_uid} instead.",
        )),
        RefundRefusal::NeverPaid => ApiError::Refused(Text::new(
            "입금되지 않은 결제건은 환불할 수 없습니다.",
            "The payment was never paid, so there is nothing to refund.",
        )),
        RefundRefusal::AlreadyFullyCancelled => ApiError::BusinessRefusal(Text::new(
            "이미 전액취소된 주문입니다.",
            "The payment is already fully cancelled.",
        )),
        RefundRefusal::ChecksumMismatch { cancellable } => ApiError::BusinessRefusal(Text::new(
            format!("checksum 이 취소가능잔액({cancellable}원)과 일치하지 않습니다."),
            format!("checksum does not match the cancellable balance ({cancellable} won)."),
        )),
        RefundRefusal::ExceedsCancellable { cancellable } => ApiError::BusinessRefusal(Text::new(
            format!("취소 요청 금액이 취소가능잔액({cancellable}원)을 초과합니다."),
            format!("amount exceeds the cancellable balance ({cancellable} won)."),
        )),
    }
}

async fn find(state: &AppState, merchant_id: i64, input: &RefundInput) -> ApiResult<Payment> {
    if let Some(imp_uid) = &input.imp_uid {
        let imp_uid = ImpUid::parse(imp_uid).ok_or_else(nothing_to_cancel)?;
        return state
            .store
            .payment(merchant_id, &imp_uid)
            .await?
            .ok_or_else(nothing_to_cancel);
    }
    let merchant_uid = input.merchant_uid.as_deref().ok_or_else(|| {
        ApiError::bad_input(
            "imp_uid",
            "imp_uid 또는 merchant_uid 가 필요합니다.",
            "or merchant_uid is required.",
        )
    })?;
    let newest = Sorting {
        axis: TimeAxis::Started,
        descending: true,
    };
    // The paid payment of the order, else its newest.
    match lookups::find_one(state, merchant_id, merchant_uid, Some(WireStatus::Paid), newest).await {
        Ok(payment) => Ok(payment),
        Err(ApiError::PaymentNotFound) => lookups::find_one(state, merchant_id, merchant_uid, None, newest)
            .await
            .map_err(|_| nothing_to_cancel()),
        Err(other) => Err(other),
    }
}

fn required(value: &Option<String>, field: &'static str) -> ApiResult<String> {
    value.clone().ok_or_else(|| {
        ApiError::bad_input(
            field,
            "입금된 가상계좌를 환불하려면 필요합니다.",
            "is required to refund a deposited virtual account.",
        )
    })
}

/// `POST /payments/cancel` for a paid virtual account.
pub async fn refund(state: &AppState, merchant_id: i64, input: RefundInput) -> ApiResult<Payment> {
    let payment = find(state, merchant_id, &input).await?;
    let amount = check_refundable(&payment, input.amount, input.checksum).map_err(refusal)?;
    let holder = required(&input.refund_holder, "refund_holder")?;
    let bank_code = required(&input.refund_bank, "refund_bank")?;
    let number = required(&input.refund_account, "refund_account")?;
    let channel = state
        .store
        .channel(payment.channel_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("channel {} is gone", payment.channel_id)))?;
    let connector = state.connectors.get(channel.provider);
    let bank = connector.refund_bank(&bank_code).ok_or_else(|| {
        ApiError::bad_input(
            "refund_bank",
            format!("{} 의 은행코드가 아닙니다: {bank_code}", channel.provider),
            format!(
                "{bank_code} is not a bank code of {} (KG INICIS: 04; others: 004).",
                channel.provider
            ),
        )
    })?;
    let base_url = state.pg_base_url(&channel)?;
    let target = Target {
        channel: &channel,
        base_url: &base_url,
        api_key: input.pg_api_key.as_deref(),
    };
    if let Some(credential) = connector.missing_credential(&target) {
        return Err(missing_credential(channel.provider, credential));
    }
    let cancellable = payment.amount.get() - payment.cancel_amount.get();
    let reason = input.reason.clone().unwrap_or_else(|| "환불".to_owned());
    let now = state.clock.now();
    let request = RefundRequest {
        pg_tid: &payment.pg_tid,
        amount,
        full: amount.get() == cancellable,
        remaining_after: Won::new(cancellable - amount.get()).unwrap_or(Won::ZERO),
        reason: &reason,
        account: RefundAccount {
            bank,
            number: &number,
            holder: &holder,
        },
        now,
    };
    let refunded = match pg_call(
        state,
        channel.provider,
        "refund",
        Some(&payment.imp_uid),
        connector.refund(target, &request),
    )
    .await
    {
        Ok(refunded) => refunded,
        Err(error) => {
            let detail = format!("refund via {}: {error}", channel.provider);
            state
                .store
                .record_event(&payment.imp_uid, now, "refund_failed", &detail)
                .await?;
            return Err(match error {
                PgError::Refused(refusal) => {
                    ApiError::PgFailure(Text::same(format!("[{}] {}", refusal.code, refusal.message)))
                }
                PgError::MissingCredential(name) => ApiError::PgFailure(Text::new(
                    format!("[CONFIG] 채널 설정에 {name} 가 없습니다."),
                    format!("[CONFIG] The channel lacks {name}."),
                )),
                PgError::NotSent(reason) => ApiError::PgFailure(Text::new(
                    format!("[NETWORK] PG에 연결할 수 없습니다: {reason}"),
                    format!("[NETWORK] The PG could not be reached: {reason}"),
                )),
                PgError::Unknown(_) => ApiError::PgFailure(Text::new(
                    "PG 응답 지연: 환불 결과를 알 수 없습니다. 결제건을 조회해 cancel_history 를 확인한 뒤 checksum 과 함께 다시 요청하세요.",
                    "The PG did not answer: the refund's outcome is unknown. Check the payment's cancel_history, then retry with checksum.",
                )),
            });
        }
    };
    let fact = PgFact::Refunded {
        amount,
        cancel_tid: refunded.cancel_tid,
        at: refunded.at,
        reason,
        receipt_url: refunded.receipt_url,
    };
    let audit = format!("refund of {amount} via {}", channel.provider);
    match apply_fact(state, &payment.imp_uid, fact, &audit).await? {
        TransitionOutcome::Applied(payment) | TransitionOutcome::Unchanged(payment, _) => Ok(payment),
        TransitionOutcome::NotFound => Err(nothing_to_cancel()),
    }
}
