//! Applying what a PG said to a payment: the one path every state change takes,
//! whether the news came from a call's answer, a notification or a query. The
//! same fact applied twice is recorded once.

use crate::app::AppState;
use crate::edge::ApiResult;
use vbank_core::lifecycle::{self, PgFact};
use vbank_core::{CancellationId, ImpUid};
use vbank_pg::PgState;
use vbank_store::{HistoryNote, TransitionOutcome};

/// Commits the change `fact` makes to the payment, deciding on the row as stored
/// under the write lock (not on an earlier read).
pub async fn apply_fact(state: &AppState, imp_uid: &ImpUid, fact: PgFact, audit: &str) -> ApiResult<TransitionOutcome> {
    apply_fact_noted(state, imp_uid, fact, audit, Vec::new()).await
}

/// As [`apply_fact`], with history lines (the PG call that brought the fact) written in
/// the same transaction, applied or not.
pub async fn apply_fact_noted(
    state: &AppState,
    imp_uid: &ImpUid,
    fact: PgFact,
    audit: &str,
    notes: Vec<HistoryNote>,
) -> ApiResult<TransitionOutcome> {
    let now = state.clock.now();
    let revoked_status = state.settings.revoked_status;
    let cancellation_id = CancellationId::generate(&mut rand::thread_rng());
    let decide = Box::new(move |stored: &vbank_core::Payment| {
        lifecycle::apply(stored, fact, now, revoked_status, cancellation_id)
    });
    let outcome = state.store.transition(imp_uid, now, audit, notes, decide).await?;
    if matches!(outcome, TransitionOutcome::Applied(_)) {
        state.webhook_wakeup.notify_one();
    }
    if let TransitionOutcome::Unchanged(_, lifecycle::Decision::Anomaly(anomaly)) = &outcome {
        tracing::warn!(%imp_uid, ?anomaly, audit, "PG fact contradicts vbank's record; recorded, not applied");
    }
    Ok(outcome)
}

/// As [`apply_fact`], for a caller that has just read the payment: when that read
/// already holds the fact in a final status (paid, cancelled, failed), which no later
/// write undoes, there is nothing to write and the writer is not asked. A PG's repeat
/// of news vbank has (a callback after a revoke it answered, a resent notice) is common.
pub async fn apply_fact_to_seen(
    state: &AppState,
    seen: &vbank_core::Payment,
    fact: PgFact,
    audit: &str,
) -> ApiResult<TransitionOutcome> {
    let settled = matches!(
        seen.status,
        vbank_core::VbankStatus::Paid | vbank_core::VbankStatus::Cancelled | vbank_core::VbankStatus::Failed
    );
    if settled {
        let decision = lifecycle::apply(
            seen,
            fact.clone(),
            state.clock.now(),
            state.settings.revoked_status,
            CancellationId::generate(&mut rand::thread_rng()),
        );
        if decision == lifecycle::Decision::AlreadyRecorded {
            return Ok(TransitionOutcome::Unchanged(seen.clone(), decision));
        }
    }
    apply_fact(state, &seen.imp_uid, fact, audit).await
}

/// The fact a PG's answer to a query states.
pub fn fact_of(pg_state: PgState, cancel_reason: &str) -> PgFact {
    match pg_state {
        PgState::AwaitingDeposit => PgFact::AwaitingDeposit,
        PgState::Deposited { amount, at } => PgFact::Deposited { amount, at },
        PgState::Cancelled { cancel_tid, at } => PgFact::Revoked {
            cancel_tid,
            at,
            reason: cancel_reason.to_owned(),
            receipt_url: String::new(),
        },
    }
}

/// A credential the channel's PG needs that neither the request nor the channel has.
/// Nothing was sent to the PG.
pub fn missing_credential(provider: vbank_core::PgProvider, credential: &'static str) -> crate::edge::ApiError {
    let hint_ko = if credential == "pg_api_key" {
        "쿼리 파라미터 pg_api_key 또는 "
    } else {
        ""
    };
    let hint_en = if credential == "pg_api_key" {
        "the pg_api_key query parameter or "
    } else {
        ""
    };
    crate::edge::ApiError::bad_input(
        credential,
        format!("{provider} 호출에 필요합니다. {hint_ko}채널 설정에 지정하세요."),
        format!("is required to call {provider}: give it in {hint_en}the channel's configuration."),
    )
}
