//! The virtual-account state machine.
//!
//! ```text
//!            revoke sent, answer lost
//!   ready ───────────────────────────▶ revoke_in_doubt
//!     │ ◀──── PG says still waiting ───────┘   │
//!     │                                        │
//!     ├── PG reports deposit ─▶ paid ◀─────────┤
//!     └── PG confirms revoke ─▶ cancelled | failed (server setting)
//! ```
//!
//! Every function here is pure: it takes the payment as stored and what the PG said,
//! and returns what to write. The PG decides races (it accepts a deposit or a revoke,
//! never both); the machine only refuses to record two terminal states.

use crate::{CancelEntry, CancellationId, Payment, UnixSeconds, VbankStatus, WireStatus, Won};

/// What a revoke turns the payment into: `cancelled` (default) or `failed`, which
/// PortOne's console has shown since 2024 (api.md A3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevokedStatus {
    #[default]
    Cancelled,
    Failed,
}

/// The reason recorded on a revoke when the caller gives none.
pub const DEFAULT_REVOKE_REASON: &str = "가상계좌 말소";
/// `fail_reason` of a revoke recorded as `failed`.
pub const REVOKE_FAIL_REASON: &str = "계좌말소";

/// Why a revoke may not be sent to the PG at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeRefusal {
    /// The account was revoked before.
    AlreadyRevoked,
    /// The buyer paid; a refund (`POST /payments/cancel`) is the way back.
    AlreadyPaid,
    /// Cancelled or failed for another reason than a revoke.
    NotReady(WireStatus),
}

/// Checks that a revoke may go to the PG: only an account still awaiting its deposit,
/// including one whose earlier revoke is in doubt (the PG will tell us which).
pub fn check_revocable(payment: &Payment) -> Result<(), RevokeRefusal> {
    match payment.status {
        VbankStatus::Ready | VbankStatus::RevokeInDoubt => Ok(()),
        VbankStatus::Paid => Err(RevokeRefusal::AlreadyPaid),
        VbankStatus::Cancelled | VbankStatus::Failed if was_revoked(payment) => Err(RevokeRefusal::AlreadyRevoked),
        VbankStatus::Cancelled => Err(RevokeRefusal::NotReady(WireStatus::Cancelled)),
        VbankStatus::Failed => Err(RevokeRefusal::NotReady(WireStatus::Failed)),
    }
}

fn was_revoked(payment: &Payment) -> bool {
    payment.paid_at == 0
        && (payment.status == VbankStatus::Cancelled || payment.fail_reason.as_deref() == Some(REVOKE_FAIL_REASON))
}

/// What the PG said about an account, from a call's answer, a query or a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgFact {
    /// The PG voided the account.
    Revoked {
        cancel_tid: String,
        at: UnixSeconds,
        reason: String,
        receipt_url: String,
    },
    /// The buyer's deposit was accepted by the PG.
    Deposited { amount: Won, at: UnixSeconds },
    /// The account is issued and still waits for its deposit.
    AwaitingDeposit,
    /// A revoke was sent and no answer came: it may or may not have happened.
    RevokeOutcomeUnknown,
    /// The PG refused a revoke (or it never reached the PG): the account is as it was.
    RevokeRefused,
    /// The PG refunded part or all of a deposited account.
    Refunded {
        amount: Won,
        cancel_tid: String,
        at: UnixSeconds,
        reason: String,
        receipt_url: String,
    },
}

/// Why a refund (`POST /payments/cancel`) may not be sent to the PG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    /// Not deposited yet: revoke it with `DELETE /vbanks/{imp_uid}` instead.
    AwaitingDeposit,
    /// Revoked or failed before any deposit: there is nothing to refund.
    NeverPaid,
    AlreadyFullyCancelled,
    /// The caller's view of the cancellable balance is not vbank's.
    ChecksumMismatch {
        cancellable: Won,
    },
    ExceedsCancellable {
        cancellable: Won,
    },
}

/// Checks a refund and returns the amount to refund: `requested`, or the whole
/// cancellable balance when it is `None` or zero.
pub fn check_refundable(
    payment: &Payment,
    requested: Option<Won>,
    checksum: Option<Won>,
) -> Result<Won, RefundRefusal> {
    let cancellable = Won::new(payment.amount.get() - payment.cancel_amount.get()).unwrap_or(Won::ZERO);
    match payment.status {
        VbankStatus::Ready | VbankStatus::RevokeInDoubt => return Err(RefundRefusal::AwaitingDeposit),
        VbankStatus::Cancelled | VbankStatus::Failed if payment.paid_at == 0 => return Err(RefundRefusal::NeverPaid),
        VbankStatus::Cancelled | VbankStatus::Failed => return Err(RefundRefusal::AlreadyFullyCancelled),
        VbankStatus::Paid => {}
    }
    if cancellable.is_zero() {
        return Err(RefundRefusal::AlreadyFullyCancelled);
    }
    if checksum.is_some_and(|checksum| checksum != cancellable) {
        return Err(RefundRefusal::ChecksumMismatch { cancellable });
    }
    let amount = requested.filter(|amount| !amount.is_zero()).unwrap_or(cancellable);
    if amount > cancellable {
        return Err(RefundRefusal::ExceedsCancellable { cancellable });
    }
    Ok(amount)
}

/// A webhook-worthy change, to be stored with the state change (the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub status: WireStatus,
    pub cancellation_id: Option<CancellationId>,
}

/// A change to write: the payment as it must become, what it was (to guard the write),
/// a new `cancel_history` entry and the event for the merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: VbankStatus,
    pub payment: Payment,
    pub cancel_entry: Option<CancelEntry>,
    pub event: Option<StatusEvent>,
}

/// The machine's answer to a fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Apply(Box<Transition>),
    /// Nothing to write: the fact is already recorded (a duplicate notification, say).
    AlreadyRecorded,
    /// The fact contradicts what vbank recorded. Nothing is written over it; the
    /// caller logs the anomaly for an operator.
    Anomaly(Anomaly),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A deposit of another amount than the account's (api.md A4: not marked paid).
    AmountMismatch { expected: Won, deposited: Won },
    /// The PG reports a terminal state that differs from vbank's terminal state.
    Conflict {
        recorded: VbankStatus,
        reported: &'static str,
    },
}

/// Applies what the PG said to the payment as stored. `cancellation_id` is used only
/// when the fact is a revoke, and is drawn by the caller so that this stays pure.
pub fn apply(
    payment: &Payment,
    fact: PgFact,
    now: UnixSeconds,
    revoked_status: RevokedStatus,
    cancellation_id: CancellationId,
) -> Decision {
    let from = payment.status;
    match fact {
        PgFact::Revoked {
            cancel_tid,
            at,
            reason,
            receipt_url,
        } => match from {
            VbankStatus::Ready | VbankStatus::RevokeInDoubt => {
                // A revoke vbank sent is recorded with the reason it was sent with, even
                // when the PG's notice of it (which names none) arrives before its answer.
                let reason = match (from, &payment.cancel_reason) {
                    (VbankStatus::RevokeInDoubt, Some(sent_with)) => sent_with.clone(),
                    _ => reason,
                };
                let mut after = payment.clone();
                after.updated_at = now;
                after.reconcile_at = None;
                let (cancel_entry, event) = match revoked_status {
                    RevokedStatus::Cancelled => {
                        let entry = CancelEntry {
                            cancellation_id: cancellation_id.clone(),
                            pg_tid: cancel_tid,
                            amount: payment.amount,
                            cancelled_at: at,
                            reason: reason.clone(),
                            receipt_url,
                        };
                        after.status = VbankStatus::Cancelled;
                        after.cancelled_at = at;
                        after.cancel_amount = payment.amount;
                        after.cancel_reason = Some(reason);
                        after.cancel_history.push(entry.clone());
                        let event = StatusEvent {
                            status: WireStatus::Cancelled,
                            cancellation_id: Some(cancellation_id),
                        };
                        (Some(entry), event)
                    }
                    RevokedStatus::Failed => {
                        after.status = VbankStatus::Failed;
                        after.failed_at = at;
                        after.fail_reason = Some(REVOKE_FAIL_REASON.to_owned());
                        let event = StatusEvent {
                            status: WireStatus::Failed,
                            cancellation_id: None,
                        };
                        (None, event)
                    }
                };
                Decision::Apply(Box::new(Transition {
                    from,
                    payment: after,
                    cancel_entry,
                    event: Some(event),
                }))
            }
            VbankStatus::Cancelled | VbankStatus::Failed => Decision::AlreadyRecorded,
            VbankStatus::Paid => Decision::Anomaly(Anomaly::Conflict {
                recorded: from,
                reported: "revoked",
            }),
        },
        PgFact::Deposited { amount, at } => match from {
            VbankStatus::Ready | VbankStatus::RevokeInDoubt if amount != payment.amount => {
                Decision::Anomaly(Anomaly::AmountMismatch {
                    expected: payment.amount,
                    deposited: amount,
                })
            }
            VbankStatus::Ready | VbankStatus::RevokeInDoubt => {
                let mut after = payment.clone();
                after.status = VbankStatus::Paid;
                after.paid_at = at;
                after.updated_at = now;
                after.reconcile_at = None;
                Decision::Apply(Box::new(Transition {
                    from,
                    payment: after,
                    cancel_entry: None,
                    event: Some(StatusEvent {
                        status: WireStatus::Paid,
                        cancellation_id: None,
                    }),
                }))
            }
            VbankStatus::Paid => Decision::AlreadyRecorded,
            VbankStatus::Cancelled | VbankStatus::Failed => Decision::Anomaly(Anomaly::Conflict {
                recorded: from,
                reported: "deposited",
            }),
        },
        PgFact::AwaitingDeposit => match from {
            VbankStatus::RevokeInDoubt => internal_move(payment, VbankStatus::Ready, now),
            VbankStatus::Ready => Decision::AlreadyRecorded,
            VbankStatus::Paid | VbankStatus::Cancelled | VbankStatus::Failed => Decision::Anomaly(Anomaly::Conflict {
                recorded: from,
                reported: "awaiting deposit",
            }),
        },
        PgFact::Refunded {
            amount,
            cancel_tid,
            at,
            reason,
            receipt_url,
        } => match from {
            _ if payment.cancel_history.iter().any(|entry| entry.pg_tid == cancel_tid) => Decision::AlreadyRecorded,
            VbankStatus::Paid => {
                let cancel_amount = payment.cancel_amount.get() + amount.get();
                if cancel_amount > payment.amount.get() {
                    return Decision::Anomaly(Anomaly::Conflict {
                        recorded: from,
                        reported: "refunded more than was paid",
                    });
                }
                let entry = CancelEntry {
                    cancellation_id: cancellation_id.clone(),
                    pg_tid: cancel_tid,
                    amount,
                    cancelled_at: at,
                    reason: reason.clone(),
                    receipt_url,
                };
                let mut after = payment.clone();
                after.cancel_amount = Won::new(cancel_amount).unwrap_or(payment.amount);
                after.cancel_reason = Some(reason);
                after.cancel_history.push(entry.clone());
                after.updated_at = now;
                // A partial refund keeps the payment paid (i'mport V1 has no partial
                // status) and changes no status, so it sends no webhook.
                let event = if after.cancel_amount == payment.amount {
                    after.status = VbankStatus::Cancelled;
                    after.cancelled_at = at;
                    Some(StatusEvent {
                        status: WireStatus::Cancelled,
                        cancellation_id: Some(cancellation_id),
                    })
                } else {
                    None
                };
                Decision::Apply(Box::new(Transition {
                    from,
                    payment: after,
                    cancel_entry: Some(entry),
                    event,
                }))
            }
            VbankStatus::Ready | VbankStatus::RevokeInDoubt | VbankStatus::Cancelled | VbankStatus::Failed => {
                Decision::Anomaly(Anomaly::Conflict {
                    recorded: from,
                    reported: "refunded",
                })
            }
        },
        PgFact::RevokeOutcomeUnknown => match from {
            VbankStatus::Ready | VbankStatus::RevokeInDoubt => {
                // Ask the PG at once, and until it answers.
                let mut decision = internal_move(payment, VbankStatus::RevokeInDoubt, now);
                if let Decision::Apply(transition) = &mut decision {
                    transition.payment.reconcile_at = Some(now);
                }
                decision
            }
            // The PG's answer arrived by another path first.
            VbankStatus::Paid | VbankStatus::Cancelled | VbankStatus::Failed => Decision::AlreadyRecorded,
        },
        PgFact::RevokeRefused => match from {
            VbankStatus::RevokeInDoubt => {
                let mut decision = internal_move(payment, VbankStatus::Ready, now);
                if let Decision::Apply(transition) = &mut decision {
                    transition.payment.cancel_reason = None;
                }
                decision
            }
            VbankStatus::Ready | VbankStatus::Paid | VbankStatus::Cancelled | VbankStatus::Failed => {
                Decision::AlreadyRecorded
            }
        },
    }
}

/// Records, before a revoke is sent, that its outcome is about to be unknown: if the
/// process dies before the PG's answer is recorded, the payment is left in doubt and
/// the reconciler asks the PG at `check_at`, instead of nobody ever asking. The reason
/// is kept with it, for whichever news of the revoke comes first.
pub fn begin_revoke(payment: &Payment, now: UnixSeconds, check_at: UnixSeconds, reason: &str) -> Decision {
    match payment.status {
        VbankStatus::Ready | VbankStatus::RevokeInDoubt => {
            let mut decision = internal_move(payment, VbankStatus::RevokeInDoubt, now);
            if let Decision::Apply(transition) = &mut decision {
                transition.payment.reconcile_at = Some(check_at);
                transition.payment.cancel_reason = Some(reason.to_owned());
            }
            decision
        }
        VbankStatus::Paid | VbankStatus::Cancelled | VbankStatus::Failed => Decision::AlreadyRecorded,
    }
}

/// Records the amount and due the PG changed an unpaid account to (`PUT /vbanks`). No
/// status changes, so no webhook. Refused unless the account plainly awaits its deposit.
pub fn apply_change(payment: &Payment, amount: Won, due: UnixSeconds, now: UnixSeconds) -> Decision {
    match payment.status {
        VbankStatus::Ready => {
            let mut after = payment.clone();
            after.amount = amount;
            after.account.due = due;
            after.updated_at = now;
            Decision::Apply(Box::new(Transition {
                from: payment.status,
                payment: after,
                cancel_entry: None,
                event: None,
            }))
        }
        VbankStatus::RevokeInDoubt | VbankStatus::Paid | VbankStatus::Cancelled | VbankStatus::Failed => {
            Decision::Anomaly(Anomaly::Conflict {
                recorded: payment.status,
                reported: "changed",
            })
        }
    }
}

/// A change of vbank's own bookkeeping that the merchant does not see (no webhook).
fn internal_move(payment: &Payment, to: VbankStatus, now: UnixSeconds) -> Decision {
    let mut after = payment.clone();
    after.status = to;
    after.updated_at = now;
    Decision::Apply(Box::new(Transition {
        from: payment.status,
        payment: after,
        cancel_entry: None,
        event: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_payment() -> Payment {
        super::tests_support::ready_payment()
    }

    fn revoked_fact() -> PgFact {
        PgFact::Revoked {
            cancel_tid: "ctid".into(),
            at: 500,
            reason: DEFAULT_REVOKE_REASON.into(),
            receipt_url: String::new(),
        }
    }

    fn cid() -> CancellationId {
        CancellationId::from_stored("cancel_1".into())
    }

    fn applied(decision: Decision) -> Transition {
        match decision {
            Decision::Apply(transition) => *transition,
            other => panic!("expected a transition, got {other:?}"),
        }
    }

    #[test]
    fn a_revoke_is_recorded_with_the_reason_it_was_sent_with_whichever_news_comes_first() {
        let in_doubt = applied(begin_revoke(&ready_payment(), 100, 200, "고객 요청")).payment;
        assert_eq!(in_doubt.status, VbankStatus::RevokeInDoubt);
        // The PG's notice of the cancel arrives before the revoke's answer, with no reason.
        let cancelled = applied(apply(&in_doubt, revoked_fact(), 110, RevokedStatus::Cancelled, cid())).payment;
        assert_eq!(cancelled.cancel_reason.as_deref(), Some("고객 요청"));
        assert_eq!(cancelled.cancel_history[0].reason, "고객 요청");
        // A refused revoke leaves no reason behind.
        let back = applied(apply(
            &in_doubt,
            PgFact::RevokeRefused,
            110,
            RevokedStatus::Cancelled,
            cid(),
        ))
        .payment;
        assert_eq!(back.status, VbankStatus::Ready);
        assert_eq!(back.cancel_reason, None);
    }

    #[test]
    fn revoke_cancels_with_one_history_entry_and_full_cancel_amount() {
        let t = applied(apply(
            &ready_payment(),
            revoked_fact(),
            501,
            RevokedStatus::Cancelled,
            cid(),
        ));
        assert_eq!(t.from, VbankStatus::Ready);
        assert_eq!(t.payment.status, VbankStatus::Cancelled);
        assert_eq!(t.payment.cancelled_at, 500);
        assert_eq!(t.payment.cancel_amount, Won::new(1000).unwrap());
        assert_eq!(t.payment.cancel_history.len(), 1);
        assert_eq!(t.payment.reconcile_at, None, "nothing left to reconcile");
        assert_eq!(t.event.unwrap().cancellation_id, Some(cid()));
    }

    #[test]
    fn revoke_can_be_recorded_as_failed() {
        let t = applied(apply(
            &ready_payment(),
            revoked_fact(),
            501,
            RevokedStatus::Failed,
            cid(),
        ));
        assert_eq!(t.payment.status, VbankStatus::Failed);
        assert_eq!(t.payment.failed_at, 500);
        assert_eq!(t.payment.fail_reason.as_deref(), Some(REVOKE_FAIL_REASON));
        assert_eq!(check_revocable(&t.payment), Err(RevokeRefusal::AlreadyRevoked));
    }

    #[test]
    fn a_paid_account_is_never_cancelled_by_a_revoke_fact() {
        let paid = applied(apply(
            &ready_payment(),
            PgFact::Deposited {
                amount: Won::new(1000).unwrap(),
                at: 300,
            },
            300,
            RevokedStatus::Cancelled,
            cid(),
        ))
        .payment;
        assert_eq!(paid.status, VbankStatus::Paid);
        assert!(matches!(
            apply(&paid, revoked_fact(), 400, RevokedStatus::Cancelled, cid()),
            Decision::Anomaly(Anomaly::Conflict { .. })
        ));
        assert_eq!(check_revocable(&paid), Err(RevokeRefusal::AlreadyPaid));
    }

    #[test]
    fn a_cancelled_account_is_never_paid_by_a_deposit_fact() {
        let cancelled = applied(apply(
            &ready_payment(),
            revoked_fact(),
            501,
            RevokedStatus::Cancelled,
            cid(),
        ))
        .payment;
        assert!(matches!(
            apply(
                &cancelled,
                PgFact::Deposited {
                    amount: Won::new(1000).unwrap(),
                    at: 600
                },
                600,
                RevokedStatus::Cancelled,
                cid()
            ),
            Decision::Anomaly(Anomaly::Conflict { .. })
        ));
        assert_eq!(check_revocable(&cancelled), Err(RevokeRefusal::AlreadyRevoked));
    }

    #[test]
    fn duplicates_are_already_recorded() {
        let cancelled = applied(apply(
            &ready_payment(),
            revoked_fact(),
            501,
            RevokedStatus::Cancelled,
            cid(),
        ))
        .payment;
        assert_eq!(
            apply(&cancelled, revoked_fact(), 502, RevokedStatus::Cancelled, cid()),
            Decision::AlreadyRecorded
        );
    }

    #[test]
    fn a_deposit_of_another_amount_is_an_anomaly() {
        assert!(matches!(
            apply(
                &ready_payment(),
                PgFact::Deposited {
                    amount: Won::new(999).unwrap(),
                    at: 300
                },
                300,
                RevokedStatus::Cancelled,
                cid()
            ),
            Decision::Anomaly(Anomaly::AmountMismatch { .. })
        ));
    }

    #[test]
    fn doubt_is_internal_and_resolved_by_the_pg() {
        let doubt = applied(apply(
            &ready_payment(),
            PgFact::RevokeOutcomeUnknown,
            200,
            RevokedStatus::Cancelled,
            cid(),
        ));
        assert_eq!(doubt.event, None);
        assert_eq!(doubt.payment.status.wire(), WireStatus::Ready);
        assert_eq!(doubt.payment.reconcile_at, Some(200), "the reconciler asks at once");
        let back = applied(apply(
            &doubt.payment,
            PgFact::AwaitingDeposit,
            300,
            RevokedStatus::Cancelled,
            cid(),
        ));
        assert_eq!(back.payment.status, VbankStatus::Ready);
        assert_eq!(back.event, None);
        assert_eq!(check_revocable(&doubt.payment), Ok(()));
    }
}

#[cfg(test)]
mod refund_tests {
    use super::*;

    fn paid(amount: i64) -> Payment {
        let mut payment = tests_support::ready_payment();
        payment.amount = Won::new(amount).unwrap();
        payment.status = VbankStatus::Paid;
        payment.paid_at = 300;
        payment
    }

    fn refunded(payment: &Payment, amount: i64, tid: &str) -> Decision {
        apply(
            payment,
            PgFact::Refunded {
                amount: Won::new(amount).unwrap(),
                cancel_tid: tid.into(),
                at: 400,
                reason: "환불".into(),
                receipt_url: String::new(),
            },
            400,
            RevokedStatus::Cancelled,
            CancellationId::from_stored(format!("cancel_{tid}")),
        )
    }

    #[test]
    fn partial_then_full_refund() {
        let first = match refunded(&paid(1000), 300, "r1") {
            Decision::Apply(t) => *t,
            other => panic!("{other:?}"),
        };
        assert_eq!(first.payment.status, VbankStatus::Paid);
        assert_eq!(first.payment.cancel_amount.get(), 300);
        assert_eq!(first.event, None);
        assert_eq!(
            check_refundable(&first.payment, None, Some(Won::new(700).unwrap())),
            Ok(Won::new(700).unwrap())
        );
        assert_eq!(
            check_refundable(&first.payment, None, Some(Won::new(1000).unwrap())),
            Err(RefundRefusal::ChecksumMismatch {
                cancellable: Won::new(700).unwrap()
            })
        );
        assert_eq!(
            refunded(&first.payment, 300, "r1"),
            Decision::AlreadyRecorded,
            "the same PG refund twice"
        );
        let second = match refunded(&first.payment, 700, "r2") {
            Decision::Apply(t) => *t,
            other => panic!("{other:?}"),
        };
        assert_eq!(second.payment.status, VbankStatus::Cancelled);
        assert_eq!(second.payment.cancelled_at, 400);
        assert_eq!(second.payment.paid_at, 300, "a refunded payment was paid");
        assert_eq!(second.payment.cancel_history.len(), 2);
        assert_eq!(second.event.unwrap().status, WireStatus::Cancelled);
        assert_eq!(
            check_refundable(&second.payment, None, None),
            Err(RefundRefusal::AlreadyFullyCancelled)
        );
    }

    #[test]
    fn a_change_applies_only_to_an_account_that_plainly_awaits_its_deposit() {
        let ready = tests_support::ready_payment();
        match apply_change(&ready, Won::new(2500).unwrap(), 9_000, 500) {
            Decision::Apply(t) => {
                assert_eq!(t.payment.amount.get(), 2500);
                assert_eq!(t.payment.account.due, 9_000);
                assert_eq!(t.event, None, "no status changed");
            }
            other => panic!("{other:?}"),
        }
        let mut in_doubt = ready.clone();
        in_doubt.status = VbankStatus::RevokeInDoubt;
        assert!(matches!(
            apply_change(&in_doubt, Won::new(2500).unwrap(), 9_000, 500),
            Decision::Anomaly(_)
        ));
        assert!(matches!(
            apply_change(&paid(1000), Won::new(2500).unwrap(), 9_000, 500),
            Decision::Anomaly(_)
        ));
    }

    #[test]
    fn a_ready_account_is_revoked_not_refunded() {
        let ready = tests_support::ready_payment();
        assert_eq!(
            check_refundable(&ready, None, None),
            Err(RefundRefusal::AwaitingDeposit)
        );
        assert!(matches!(refunded(&ready, 1000, "r"), Decision::Anomaly(_)));
    }

    #[test]
    fn more_than_the_balance_is_refused() {
        assert_eq!(
            check_refundable(&paid(1000), Some(Won::new(1001).unwrap()), None),
            Err(RefundRefusal::ExceedsCancellable {
                cancellable: Won::new(1000).unwrap()
            })
        );
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::payment::{Buyer, VirtualAccount};
    use crate::{BankCode, ImpUid, MerchantUid, Payment, PgProvider, VbankStatus, Won};

    pub fn ready_payment() -> Payment {
        Payment {
            imp_uid: ImpUid::parse("imp_123456789012").unwrap(),
            merchant_id: 1,
            channel_id: 1,
            merchant_uid: MerchantUid::parse("order-1").unwrap(),
            pg_provider: PgProvider::Tosspayments,
            pg_id: "mid".into(),
            pg_tid: "tid".into(),
            pg_secret: None,
            sandbox: true,
            name: None,
            amount: Won::new(1000).unwrap(),
            cancel_amount: Won::ZERO,
            buyer: Buyer::default(),
            custom_data: None,
            account: VirtualAccount {
                bank: BankCode::from_kftc("004").unwrap(),
                number: "123".into(),
                holder: None,
                due: 2_000,
                issued_at: 100,
            },
            status: VbankStatus::Ready,
            started_at: 100,
            paid_at: 0,
            failed_at: 0,
            cancelled_at: 0,
            updated_at: 100,
            fail_reason: None,
            cancel_reason: None,
            receipt_url: None,
            notice_urls: vec![],
            cancel_history: vec![],
            reconcile_at: Some(160),
            reconcile_step: 0,
        }
    }
}
