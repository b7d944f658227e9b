//! PG notifications (`POST /notifications/{pg_provider}`): parsed and authenticated by
//! the PG's connector, confirmed with a query where the PG signs nothing, then applied
//! through the same path as every other PG fact. The answer is the acknowledgement
//! that PG expects; a refused notification changes nothing.

use crate::app::AppState;
use crate::edge::ApiResult;
use crate::observability::pg_call;
use crate::services::payments::{apply_fact_to_seen, fact_of};
use std::net::IpAddr;
use vbank_core::lifecycle::{PgFact, DEFAULT_REVOKE_REASON};
use vbank_core::{Channel, ImpUid, Payment, PgProvider};
use vbank_pg::{Acknowledgement, Authenticity, Notice, NoticeEvent, NoticeReference, Target};
use vbank_store::NoticeKey;

/// Why a notification was not applied.
#[derive(Debug)]
pub enum NoticeRejection {
    Unreadable(String),
    UnknownPayment,
    Forged(&'static str),
    /// The PG could not confirm it (yet): the PG will resend.
    Unconfirmed(String),
}

impl NoticeRejection {
    /// The metric label.
    fn outcome(&self) -> &'static str {
        match self {
            NoticeRejection::Unreadable(_) => "unreadable",
            NoticeRejection::UnknownPayment => "unknown_payment",
            NoticeRejection::Forged(_) => "forged",
            NoticeRejection::Unconfirmed(_) => "unconfirmed",
        }
    }
}

/// Handles one notification from `source` and returns the acknowledgement to answer with.
pub async fn receive(
    state: &AppState,
    provider: PgProvider,
    source: Option<IpAddr>,
    content_type: Option<&str>,
    body: &[u8],
) -> Acknowledgement {
    let connector = state.connectors.get(provider);
    let (outcome, acknowledgement) = match handle(state, provider, source, content_type, body).await {
        Ok(Ok(())) => ("applied", connector.acknowledge(true)),
        Ok(Err(rejection)) => {
            tracing::warn!(%provider, ?source, ?rejection, "PG notification refused; nothing changed");
            (rejection.outcome(), connector.acknowledge(false))
        }
        Err(error) => {
            tracing::error!(%provider, ?error, "PG notification failed; the PG will resend");
            ("failed", connector.acknowledge(false))
        }
    };
    state.metrics.pg_notice(provider.code(), outcome);
    acknowledgement
}

/// The payment the notice names, with its channel, if it is this PG's.
async fn find_payment(
    state: &AppState,
    provider: PgProvider,
    notice: &Notice,
) -> ApiResult<Option<(Payment, Channel)>> {
    let found = match &notice.reference {
        NoticeReference::PgTid(tid) => state.store.payment_for_notice(NoticeKey::PgTid(provider, tid)).await?,
        NoticeReference::OrderId(order_id) => match ImpUid::parse(order_id) {
            Some(imp_uid) => state.store.payment_for_notice(NoticeKey::ImpUid(&imp_uid)).await?,
            None => None,
        },
    };
    Ok(found.filter(|(payment, _)| payment.pg_provider == provider))
}

/// Refuses a notice as forged, keeping why in the payment's history.
async fn refuse_forged(
    state: &AppState,
    payment: &Payment,
    now: vbank_core::UnixSeconds,
    why: &'static str,
) -> ApiResult<Result<(), NoticeRejection>> {
    state
        .store
        .record_event(&payment.imp_uid, now, "notice_refused", why)
        .await?;
    Ok(Err(NoticeRejection::Forged(why)))
}

async fn handle(
    state: &AppState,
    provider: PgProvider,
    source: Option<IpAddr>,
    content_type: Option<&str>,
    body: &[u8],
) -> ApiResult<Result<(), NoticeRejection>> {
    let connector = state.connectors.get(provider);
    let notice = match connector.parse_notice(content_type, body) {
        Ok(notice) => notice,
        Err(error) => return Ok(Err(NoticeRejection::Unreadable(error.0))),
    };
    let Some((payment, channel)) = find_payment(state, provider, &notice).await? else {
        return Ok(Err(NoticeRejection::UnknownPayment));
    };
    let now = state.clock.now();
    if let Some(number) = &notice.account_number {
        if *number != payment.account.number {
            return refuse_forged(state, &payment, now, "account number does not match").await;
        }
    }
    let cancel_reason = payment
        .cancel_reason
        .clone()
        .unwrap_or_else(|| DEFAULT_REVOKE_REASON.to_owned());
    let allowed =
        channel.notice_sources.allows_any() || source.is_some_and(|source| channel.notice_sources.allows(source));
    if !allowed {
        let why = "the notification came from an address this channel does not allow";
        return refuse_forged(state, &payment, now, why).await;
    }
    let fact = match connector.authenticate(&notice, &channel, payment.pg_secret.as_deref()) {
        Authenticity::Forged(why) => return refuse_forged(state, &payment, now, why).await,
        Authenticity::Verified => match notice.event {
            NoticeEvent::Deposited { amount, at } => PgFact::Deposited {
                amount: amount.unwrap_or(payment.amount),
                at,
            },
            NoticeEvent::Cancelled { at } => PgFact::Revoked {
                cancel_tid: payment.pg_tid.clone(),
                at,
                reason: cancel_reason,
                receipt_url: String::new(),
            },
            NoticeEvent::AwaitingDeposit => PgFact::AwaitingDeposit,
        },
        Authenticity::NeedsConfirmation => {
            // The notice is only a hint: what the PG answers to a query is the fact.
            let base_url = match state.pg_base_url(&channel) {
                Ok(base_url) => base_url,
                Err(_) => return Ok(Err(NoticeRejection::Unconfirmed("sandbox is off".into()))),
            };
            let target = Target {
                channel: &channel,
                base_url: &base_url,
                api_key: None,
            };
            match pg_call(
                state,
                provider,
                "query",
                Some(&payment.imp_uid),
                connector.query(target, &payment.pg_tid, payment.merchant_uid.as_str(), now),
            )
            .await
            {
                Ok(pg_state) => {
                    let mut fact = fact_of(pg_state, &cancel_reason);
                    let confirmed = match (&notice.event, &fact) {
                        (NoticeEvent::Deposited { amount, .. }, PgFact::Deposited { amount: pg_amount, .. }) => {
                            amount.is_none_or(|amount| amount == *pg_amount)
                        }
                        (NoticeEvent::Cancelled { .. }, PgFact::Revoked { .. })
                        | (NoticeEvent::AwaitingDeposit, PgFact::AwaitingDeposit) => true,
                        _ => false,
                    };
                    if !confirmed {
                        let why = "the PG does not confirm what the notice says";
                        return refuse_forged(state, &payment, now, why).await;
                    }
                    // Keep the deposit time the notice gave when the PG's query has none.
                    if let (PgFact::Deposited { at, .. }, NoticeEvent::Deposited { at: noticed_at, .. }) =
                        (&mut fact, &notice.event)
                    {
                        if *at == now {
                            *at = *noticed_at;
                        }
                    }
                    fact
                }
                Err(error) => {
                    state
                        .store
                        .record_event(&payment.imp_uid, now, "notice_unconfirmed", &error.to_string())
                        .await?;
                    return Ok(Err(NoticeRejection::Unconfirmed(error.to_string())));
                }
            }
        }
    };
    let audit = format!("notification from {provider}: {:?}", notice.event);
    apply_fact_to_seen(state, &payment, fact, &audit).await?;
    Ok(Ok(()))
}
