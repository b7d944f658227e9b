//! The reconciler: asks the PG about every revoke in doubt and, on a backoff schedule,
//! every account that awaits its deposit, and applies what the PG says through the
//! same path as a notification (so a fact already recorded is not recorded twice).
//! This is what finds a lost notification, or a revoke whose answer never came.

use crate::app::AppState;
use crate::edge::ApiResult;
use crate::jobs::pause;
use crate::observability::pg_call;
use crate::services::payments::{apply_fact, fact_of};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use vbank_core::lifecycle::DEFAULT_REVOKE_REASON;
use vbank_core::reconcile::next_check;
use vbank_core::{Payment, VbankStatus};
use vbank_pg::Target;
use vbank_store::TransitionOutcome;

/// How many payments one pass takes.
const BATCH: u32 = 64;

pub async fn run(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let tick = (state.settings.reconcile_interval / 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
    while pause(tick, &mut stop).await {
        if let Err(error) = pass(&state).await {
            tracing::warn!(?error, "reconciler pass failed; retrying next tick");
        }
    }
}

/// One pass over the payments whose check is due. Returns how many were checked.
pub async fn pass(state: &AppState) -> ApiResult<usize> {
    let now = state.clock.now();
    let lease_until = now + state.settings.job_lease.as_secs() as i64;
    let due = state.store.claim_for_reconcile(now, lease_until, BATCH).await?;
    for payment in &due {
        if let Err(error) = reconcile(state, payment).await {
            tracing::warn!(imp_uid = %payment.imp_uid, ?error, "could not reconcile; will retry");
            let retry = now + state.settings.reconcile_interval.as_secs().max(1) as i64;
            state
                .store
                .reschedule(&payment.imp_uid, Some(retry), payment.reconcile_step)
                .await?;
        }
    }
    Ok(due.len())
}

async fn reconcile(state: &AppState, payment: &Payment) -> ApiResult<()> {
    let now = state.clock.now();
    let interval = state.settings.reconcile_interval.as_secs().max(1) as i64;
    let channel = state
        .store
        .channel(payment.channel_id)
        .await?
        .ok_or_else(|| crate::edge::ApiError::internal(format!("channel {} is gone", payment.channel_id)))?;
    let base_url = state.pg_base_url(&channel)?;
    let target = Target {
        channel: &channel,
        base_url: &base_url,
        api_key: None,
    };
    let connector = state.connectors.get(channel.provider);
    let still_waiting = match pg_call(
        state,
        channel.provider,
        "query",
        Some(&payment.imp_uid),
        connector.query(target, &payment.pg_tid, payment.merchant_uid.as_str(), now),
    )
    .await
    {
        Ok(pg_state) => {
            let reason = payment.cancel_reason.as_deref().unwrap_or(DEFAULT_REVOKE_REASON);
            let audit = format!("reconciler: {} says {pg_state:?}", channel.provider);
            match apply_fact(state, &payment.imp_uid, fact_of(pg_state, reason), &audit).await? {
                TransitionOutcome::Applied(after) | TransitionOutcome::Unchanged(after, _) => {
                    after.status.awaits_deposit().then_some(after.status)
                }
                TransitionOutcome::NotFound => None,
            }
        }
        Err(error) => {
            let detail = format!("reconciler: query failed: {error}");
            state
                .store
                .record_event(&payment.imp_uid, now, "reconcile_failed", &detail)
                .await?;
            Some(payment.status)
        }
    };
    match still_waiting {
        // Still in doubt: ask again after one interval, until the PG answers.
        Some(VbankStatus::RevokeInDoubt) => {
            state
                .store
                .reschedule(&payment.imp_uid, Some(now + interval), payment.reconcile_step)
                .await?
        }
        Some(_) => {
            let (at, step) = next_check(
                payment.started_at,
                payment.account.due,
                payment.reconcile_step,
                interval,
                now,
            );
            state.store.reschedule(&payment.imp_uid, at, step).await?;
        }
        None => {}
    }
    Ok(())
}
