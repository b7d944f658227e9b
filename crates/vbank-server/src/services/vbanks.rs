//! Issuing (`POST /vbanks`) and revoking (`DELETE /vbanks/{imp_uid}`) virtual accounts.

use crate::app::AppState;
use crate::edge::envelope::Text;
use crate::edge::{ApiError, ApiResult};
use crate::observability::{pg_call, pg_call_noted};
use crate::services::payments::{apply_fact_noted, fact_of, missing_credential};
use vbank_core::lifecycle::{self, PgFact, RevokeRefusal, DEFAULT_REVOKE_REASON};
use vbank_core::payment::{Buyer, VirtualAccount};
use vbank_core::reconcile;
use vbank_core::{
    BankCode, Channel, ChannelSecrets, ImpUid, MerchantUid, Payment, PgProvider, UnixSeconds, VbankStatus, WireStatus,
    Won,
};
use vbank_pg::{IssueRequest, ModifyRequest, PgError, PgRefusal, RevokeOutcome, Target};
use vbank_store::TransitionOutcome;

/// A `POST /vbanks` request, parsed.
#[derive(Debug, Clone)]
pub struct IssueInput {
    pub merchant_uid: MerchantUid,
    pub amount: Won,
    pub bank: BankCode,
    pub due: UnixSeconds,
    pub holder: Option<String>,
    pub name: Option<String>,
    pub buyer: Buyer,
    /// i'mport's `pg` (`{pg}` or `{pg}.{MID}`) or `channel_key`.
    pub pg: Option<String>,
    pub notice_urls: Vec<String>,
    pub custom_data: Option<String>,
    pub pg_api_key: Option<String>,
}

fn pg_failure(refusal: &PgRefusal) -> ApiError {
    ApiError::PgFailure(Text::same(format!("[{}] {}", refusal.code, refusal.message)))
}

fn pg_unreachable(reason: &str) -> ApiError {
    ApiError::PgFailure(Text::new(
        format!("[NETWORK] PG에 연결할 수 없습니다: {reason}"),
        format!("[NETWORK] The PG could not be reached: {reason}"),
    ))
}

/// The merchant's channel that `pg` names, or the default (first) one.
pub fn select_channel(channels: Vec<Channel>, pg: Option<&str>) -> ApiResult<Channel> {
    let no_channel = |pg: &str| {
        ApiError::bad_input(
            "pg",
            format!("{pg} 에 해당하는 PG 설정이 없습니다."),
            format!("no channel of this merchant matches {pg}."),
        )
    };
    let Some(pg) = pg else {
        return channels.into_iter().next().ok_or_else(|| no_channel("(default)"));
    };
    let (code, mid) = match pg.split_once('.') {
        Some((code, mid)) => (code, Some(mid)),
        None => (pg, None),
    };
    let provider = PgProvider::from_pg_param(code).ok_or_else(|| {
        ApiError::bad_input(
            "pg",
            format!("지원하지 않는 PG입니다: {code}"),
            format!("PG {code} is not supported for virtual accounts."),
        )
    })?;
    channels
        .into_iter()
        .find(|channel| channel.provider == provider && mid.is_none_or(|mid| mid == channel.mid))
        .ok_or_else(|| no_channel(pg))
}

/// A random imp_uid no payment has. The PG learns it as the order's reference before
/// the payment is stored, so a collision (one in 10^12 per payment stored) must be
/// found before the PG call, not by the insert after it.
async fn fresh_imp_uid(state: &AppState) -> ApiResult<ImpUid> {
    for _ in 0..8 {
        let candidate = ImpUid::generate(&mut rand::thread_rng());
        if state.store.payment_for_pg(&candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(ApiError::internal(
        "no free imp_uid after 8 draws; is the random source broken?",
    ))
}

/// `POST /vbanks`: asks the PG for an account, then records it `ready` with its webhook.
pub async fn issue(state: &AppState, merchant_id: i64, input: IssueInput) -> ApiResult<Payment> {
    let now = state.clock.now();
    if input.due <= now {
        return Err(ApiError::bad_input(
            "vbank_due",
            "입금기한은 현재 시각 이후여야 합니다.",
            "must be in the future.",
        ));
    }
    let channel = select_channel(state.store.channels(merchant_id).await?, input.pg.as_deref())?;
    let connector = state.connectors.get(channel.provider);
    let imp_uid = fresh_imp_uid(state).await?;
    let order_name = input.name.clone().unwrap_or_else(|| "가상계좌 결제".to_owned());
    let request = IssueRequest {
        imp_uid: &imp_uid,
        merchant_uid: &input.merchant_uid,
        amount: input.amount,
        bank: input.bank,
        due: input.due,
        holder: input.holder.as_deref(),
        order_name: &order_name,
        buyer: &input.buyer,
        now,
    };
    if let Some(field) = connector.missing_issue_field(&request) {
        return Err(ApiError::bad_input(
            field,
            format!("{} 가상계좌 발급에 필요한 항목입니다.", channel.provider),
            format!("is required to issue a virtual account through {}.", channel.provider),
        ));
    }
    if !connector.offers_bank(input.bank) {
        return Err(ApiError::bad_input(
            "vbank_code",
            format!("{} 에서 발급할 수 없는 은행입니다: {}", channel.provider, input.bank),
            format!("bank {} is not offered by {}.", input.bank, channel.provider),
        ));
    }
    if state
        .store
        .merchant_uid_is_paid(merchant_id, input.merchant_uid.as_str())
        .await?
    {
        return Err(ApiError::bad_input(
            "merchant_uid",
            "이미 결제가 완료된 주문번호입니다.",
            "already has a paid payment.",
        ));
    }
    let base_url = state.pg_base_url(&channel)?;
    let target = Target {
        channel: &channel,
        base_url: &base_url,
        api_key: input.pg_api_key.as_deref(),
    };
    if let Some(credential) = connector.missing_credential(&target) {
        return Err(missing_credential(channel.provider, credential));
    }
    let issued = match pg_call(
        state,
        channel.provider,
        "issue",
        None,
        connector.issue(target, &request),
    )
    .await
    {
        Ok(issued) => issued,
        Err(PgError::Refused(refusal)) => return Err(pg_failure(&refusal)),
        Err(PgError::NotSent(reason)) => return Err(pg_unreachable(&reason)),
        Err(PgError::MissingCredential(name)) => return Err(pg_unreachable(&format!("missing {name}"))),
        Err(PgError::Unknown(reason)) => {
            tracing::warn!(%imp_uid, %reason, "issuance outcome unknown; no account recorded");
            return Err(ApiError::PgFailure(Text::new(
                format!("[TIMEOUT] PG 응답 지연: 가상계좌 발급 결과를 알 수 없습니다. 다시 시도하세요. ({reason})"),
                format!("[TIMEOUT] The PG did not answer; the issuance outcome is unknown. Try again. ({reason})"),
            )));
        }
    };
    learn_inquiry_key(state, &channel, input.pg_api_key.as_deref()).await;
    let payment = Payment {
        imp_uid,
        merchant_id,
        channel_id: channel.id,
        merchant_uid: input.merchant_uid,
        pg_provider: channel.provider,
        pg_id: channel.mid.clone(),
        pg_tid: issued.pg_tid,
        pg_secret: issued.pg_secret,
        sandbox: channel.sandbox,
        name: input.name,
        amount: input.amount,
        cancel_amount: Won::ZERO,
        buyer: input.buyer,
        custom_data: input.custom_data,
        account: VirtualAccount {
            bank: issued.bank,
            number: issued.account_number,
            holder: issued.holder,
            // i'mport reports the due the merchant asked for as vbank_date.
            due: input.due,
            issued_at: now,
        },
        status: VbankStatus::Ready,
        started_at: now,
        paid_at: 0,
        failed_at: 0,
        cancelled_at: 0,
        updated_at: now,
        fail_reason: None,
        cancel_reason: None,
        receipt_url: issued.receipt_url,
        notice_urls: input.notice_urls,
        cancel_history: Vec::new(),
        reconcile_at: reconcile::check_time(now, input.due, 0, state.settings.reconcile_interval.as_secs() as i64),
        reconcile_step: 0,
    };
    state.store.insert_payment(&payment).await?;
    state.webhook_wakeup.notify_one();
    Ok(payment)
}

/// Keeps a working INIAPI key a caller passed, for confirming deposit notices only.
async fn learn_inquiry_key(state: &AppState, channel: &Channel, pg_api_key: Option<&str>) {
    let Some(key) = pg_api_key else { return };
    if channel.secrets.api_key.is_some() || channel.secrets.inquiry_api_key.as_deref() == Some(key) {
        return;
    }
    let secrets = ChannelSecrets {
        inquiry_api_key: Some(key.to_owned()),
        ..channel.secrets.clone()
    };
    if let Err(error) = state.store.update_channel_secrets(channel.id, &secrets).await {
        tracing::warn!(%error, channel = channel.id, "could not keep the inquiry key");
    }
}

fn revoke_refusal(refusal: RevokeRefusal) -> ApiError {
    match refusal {
        RevokeRefusal::AlreadyRevoked => ApiError::Refused(Text::new(
            "이미 말소된 가상계좌입니다.",
            "The virtual account was already revoked.",
        )),
        RevokeRefusal::AlreadyPaid => ApiError::Refused(Text::new(
            "입금이 완료된 가상계좌는 말소할 수 없습니다. 환불은 POST /payments/cancel 로 요청하세요.",
            "The virtual account was paid and cannot be revoked; refund it with POST /payments/cancel.",
        )),
        RevokeRefusal::NotReady(status) => ApiError::Refused(Text::new(
            format!("가상계좌가 입금대기(ready) 상태가 아닙니다. (현재 {})", status.as_str()),
            format!("The virtual account is not ready (it is {}).", status.as_str()),
        )),
    }
}

/// `DELETE /vbanks/{imp_uid}`: the PG is asked first; the payment changes only on
/// the PG's answer (api.md A3).
pub async fn revoke(
    state: &AppState,
    merchant_id: i64,
    imp_uid: &ImpUid,
    pg_api_key: Option<&str>,
    reason: Option<&str>,
) -> ApiResult<Payment> {
    let (payment, channel) = state
        .store
        .payment_with_channel(merchant_id, imp_uid)
        .await?
        .ok_or(ApiError::PaymentNotFound)?;
    lifecycle::check_revocable(&payment).map_err(revoke_refusal)?;
    let connector = state.connectors.get(channel.provider);
    let base_url = state.pg_base_url(&channel)?;
    let target = Target {
        channel: &channel,
        base_url: &base_url,
        api_key: pg_api_key,
    };
    if let Some(credential) = connector.missing_credential(&target) {
        return Err(missing_credential(channel.provider, credential));
    }
    let reason = reason
        .filter(|reason| !reason.is_empty())
        .unwrap_or(DEFAULT_REVOKE_REASON);
    let now = state.clock.now();
    // Write ahead: if this process dies between the PG's act and our record of it, the
    // payment is left in doubt and the reconciler asks the PG; nothing waits for luck.
    let check_at = now + state.settings.pg_timeout_seconds() + state.settings.reconcile_interval.as_secs() as i64;
    let sent_with = reason.to_owned();
    let begin = Box::new(move |stored: &Payment| lifecycle::begin_revoke(stored, now, check_at, &sent_with));
    match state
        .store
        .transition(imp_uid, now, "revoke sent", Vec::new(), begin)
        .await?
    {
        TransitionOutcome::Applied(_) => {}
        TransitionOutcome::Unchanged(current, _) => {
            // Paid or revoked since we looked.
            lifecycle::check_revocable(&current).map_err(revoke_refusal)?;
        }
        TransitionOutcome::NotFound => return Err(ApiError::PaymentNotFound),
    }
    // The call's history line rides in the transition that records its answer.
    let (outcome, call_note) = pg_call_noted(
        state,
        channel.provider,
        "revoke",
        connector.revoke(target.clone(), &payment.pg_tid, reason, now),
    )
    .await;
    let notes = vec![call_note];
    let audit = format!("revoke via {}: {outcome:?}", channel.provider);
    let applied = match outcome {
        RevokeOutcome::Revoked {
            cancel_tid,
            at,
            receipt_url,
        } => {
            let fact = PgFact::Revoked {
                cancel_tid,
                at,
                reason: reason.to_owned(),
                receipt_url,
            };
            apply_fact_noted(state, imp_uid, fact, &audit, notes).await?
        }
        RevokeOutcome::AlreadyCancelled => {
            // Cancelled at the PG before (its console, or a call whose answer was lost):
            // record it rather than fail (pg.md §5).
            let fact = match pg_call(
                state,
                channel.provider,
                "query",
                Some(imp_uid),
                connector.query(target, &payment.pg_tid, payment.merchant_uid.as_str(), now),
            )
            .await
            {
                Ok(pg_state) => fact_of(pg_state, reason),
                Err(_) => PgFact::Revoked {
                    cancel_tid: payment.pg_tid.clone(),
                    at: now,
                    reason: reason.to_owned(),
                    receipt_url: String::new(),
                },
            };
            apply_fact_noted(state, imp_uid, fact, &audit, notes).await?
        }
        RevokeOutcome::AlreadyDeposited => {
            // The buyer won the race. Record the deposit as the PG has it, then refuse.
            match pg_call(
                state,
                channel.provider,
                "query",
                Some(imp_uid),
                connector.query(target, &payment.pg_tid, payment.merchant_uid.as_str(), now),
            )
            .await
            {
                Ok(pg_state) => {
                    apply_fact_noted(state, imp_uid, fact_of(pg_state, reason), &audit, notes).await?;
                }
                Err(error) => {
                    tracing::warn!(%imp_uid, %error, "PG says deposited but the query failed; the reconciler will record it");
                    for note in notes {
                        // History only: a failure here must not hide the refusal.
                        let _ = state.store.record_event(imp_uid, now, note.kind, &note.detail).await;
                    }
                }
            }
            return Err(revoke_refusal(RevokeRefusal::AlreadyPaid));
        }
        RevokeOutcome::Refused(refusal) => {
            apply_fact_noted(state, imp_uid, PgFact::RevokeRefused, &audit, notes).await?;
            return Err(pg_failure(&refusal));
        }
        RevokeOutcome::NotSent(reason) => {
            apply_fact_noted(state, imp_uid, PgFact::RevokeRefused, &audit, notes).await?;
            return Err(pg_unreachable(&reason));
        }
        RevokeOutcome::Unknown(_) => {
            apply_fact_noted(state, imp_uid, PgFact::RevokeOutcomeUnknown, &audit, notes).await?;
            return Err(ApiError::PgFailure(Text::new(
                "PG 응답 지연: 말소 결과를 확인 중입니다",
                "The PG did not answer in time: the revoke's outcome is being confirmed",
            )));
        }
    };
    match applied {
        TransitionOutcome::Applied(payment) => Ok(payment),
        TransitionOutcome::Unchanged(payment, _) => match payment.status.wire() {
            // Recorded by another path first (the PG's cancel notification, say).
            WireStatus::Cancelled | WireStatus::Failed if payment.paid_at == 0 => Ok(payment),
            WireStatus::Paid | WireStatus::Cancelled | WireStatus::Failed => {
                Err(revoke_refusal(RevokeRefusal::AlreadyPaid))
            }
            WireStatus::Ready => Err(ApiError::PgFailure(Text::new(
                "PG 응답과 결제 상태가 일치하지 않습니다. 운영자에게 문의하세요.",
                "The PG's answer contradicts the payment's record; contact the operator.",
            ))),
        },
        TransitionOutcome::NotFound => Err(ApiError::PaymentNotFound),
    }
}

/// `PUT /vbanks/{imp_uid}`: changing an unpaid account's amount and/or due, through the
/// PG (i'mport offers it for Settle Bank only; so does vbank).
pub async fn modify(
    state: &AppState,
    merchant_id: i64,
    imp_uid: &ImpUid,
    amount: Option<Won>,
    due: Option<UnixSeconds>,
) -> ApiResult<Payment> {
    let payment = state
        .store
        .payment(merchant_id, imp_uid)
        .await?
        .ok_or(ApiError::PaymentNotFound)?;
    if payment.status != VbankStatus::Ready {
        return Err(ApiError::Refused(Text::new(
            "가상계좌가 입금대기(ready) 상태가 아닙니다.",
            "The virtual account is not ready.",
        )));
    }
    let channel = state
        .store
        .channel(payment.channel_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("channel {} of {imp_uid} is gone", payment.channel_id)))?;
    let connector = state.connectors.get(channel.provider);
    if !connector.modifies_accounts() {
        return Err(ApiError::Refused(Text::new(
            format!(
                "가상계좌 정보 변경은 Settle Bank(settle) 에서만 지원됩니다. (이 결제건: {})",
                payment.pg_provider
            ),
            format!(
                "Changing a virtual account is supported for Settle Bank (settle) only; this payment is {}.",
                payment.pg_provider
            ),
        )));
    }
    if amount.is_none() && due.is_none() {
        return Err(ApiError::bad_input(
            "amount",
            "amount 또는 vbank_due 중 하나는 필요합니다.",
            "or vbank_due is required.",
        ));
    }
    let now = state.clock.now();
    if due.is_some_and(|due| due <= now) {
        return Err(ApiError::bad_input(
            "vbank_due",
            "입금기한은 현재 시각 이후여야 합니다.",
            "must be in the future.",
        ));
    }
    let base_url = state.pg_base_url(&channel)?;
    let target = Target {
        channel: &channel,
        base_url: &base_url,
        api_key: None,
    };
    if let Some(credential) = connector.missing_credential(&target) {
        return Err(missing_credential(channel.provider, credential));
    }
    let request = ModifyRequest {
        pg_tid: &payment.pg_tid,
        amount: amount.unwrap_or(payment.amount),
        due: due.unwrap_or(payment.account.due),
        now,
    };
    let modified = match pg_call(
        state,
        channel.provider,
        "modify",
        Some(imp_uid),
        connector.modify(target, &request),
    )
    .await
    {
        Ok(modified) => modified,
        Err(PgError::Refused(refusal)) => return Err(pg_failure(&refusal)),
        Err(PgError::NotSent(reason)) => return Err(pg_unreachable(&reason)),
        Err(PgError::MissingCredential(name)) => return Err(pg_unreachable(&format!("missing {name}"))),
        Err(PgError::Unknown(reason)) => {
            state
                .store
                .record_event(imp_uid, now, "change_unknown", &reason)
                .await?;
            return Err(ApiError::PgFailure(Text::new(
                "PG 응답 지연: 변경 결과를 알 수 없습니다. 결제건을 조회한 뒤 다시 요청하세요.",
                "The PG did not answer: the change's outcome is unknown. Look the payment up, then ask again.",
            )));
        }
    };
    let audit = format!(
        "changed at {} to {} won, due {}",
        channel.provider, modified.amount, modified.due
    );
    let change = Box::new(move |stored: &Payment| lifecycle::apply_change(stored, modified.amount, modified.due, now));
    match state.store.transition(imp_uid, now, &audit, Vec::new(), change).await? {
        TransitionOutcome::Applied(payment) => Ok(payment),
        TransitionOutcome::Unchanged(_, _) => Err(ApiError::PgFailure(Text::new(
            "PG에서 변경되었으나 그 사이 결제 상태가 바뀌었습니다. 운영자에게 문의하세요.",
            "The PG changed the account, but the payment changed meanwhile; contact the operator.",
        ))),
        TransitionOutcome::NotFound => Err(ApiError::PaymentNotFound),
    }
}
