//! A seeded, deterministic simulation in TigerBeetle's manner (VOPR): one seed drives
//! every choice (which account, which message is delivered, lost, duplicated or
//! forged, when the server crashes, when the clock jumps), and the invariants are
//! checked after every step. A failing seed is printed and replays exactly.
//!
//! What runs for real: vbank's domain core (`vbank_core::lifecycle`, the state machine
//! and its refusals; `vbank_core::reconcile`, the reconciler's schedule) and the PGs'
//! side (`vbank_sandbox::ledger`, the record that decides races between a deposit and
//! a revoke). What is modelled: the transport between them (every message is a queue
//! entry that may be delayed, lost, duplicated or forged) and vbank's orchestration
//! around the core (the revoke call and its outcomes, notifications confirmed by a
//! query where the PG signs nothing, the reconciler pass, the outbox and the webhook
//! dispatcher), mirroring `vbank-server`'s services. Keep the two in step.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use vbank_core::lifecycle::{self, check_revocable, Decision, PgFact, RevokedStatus};
use vbank_core::payment::{Buyer, VirtualAccount};
use vbank_core::reconcile::{check_time, next_check};
use vbank_core::{
    BankCode, CancellationId, ImpUid, MerchantUid, Payment, PgProvider, UnixSeconds, VbankStatus, WireStatus, Won,
};
use vbank_sandbox::ledger::{Account, AccountState, Ledger, RevokeRefusal};

/// A bug planted on purpose, to show that the simulation catches it. Exists only in
/// test builds (or with the `planted-flaws` feature): a release cannot plant one.
#[cfg(any(test, feature = "planted-flaws"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// vbank records a revoke as soon as it sends it, before the PG answers.
    RecordRevokeBeforeThePgAnswers,
    /// vbank believes a notification the PG does not sign, without asking the PG.
    TrustUnconfirmedNotices,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub steps: usize,
    #[cfg(any(test, feature = "planted-flaws"))]
    pub flaw: Option<Flaw>,
}

impl Config {
    // The update fills the flaw field, which test builds have and others do not.
    #[allow(clippy::needless_update)]
    pub fn with_steps(steps: usize) -> Config {
        Config {
            steps,
            ..Config::default()
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            steps: 200,
            #[cfg(any(test, feature = "planted-flaws"))]
            flaw: None,
        }
    }
}

/// An invariant that broke, with the seed that replays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub seed: u64,
    pub step: usize,
    pub what: String,
    /// The last steps before the violation.
    pub trace: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} broke an invariant at step {}: {}",
            self.seed, self.step, self.what
        )?;
        writeln!(f, "replay: cargo run -p vbank-sim -- --seed {}", self.seed)?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// What one scenario did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub payments: usize,
    pub paid: usize,
    pub cancelled: usize,
    pub doubts: usize,
    pub crashes: usize,
    pub forged: usize,
    pub webhooks: usize,
}

const INTERVAL: i64 = 60;
const TRACE_LENGTH: usize = 40;
/// Settling after the random steps ends within this many rounds, or it is a violation.
const SETTLE_BOUND: usize = 100_000;

#[derive(Debug, Clone)]
enum Reply {
    Revoked,
    AlreadyCancelled,
    AlreadyDeposited,
}

#[derive(Debug, Clone)]
struct Notice {
    imp_uid: String,
    forged: bool,
}

#[derive(Debug, Clone)]
struct Delivery {
    imp_uid: String,
    status: WireStatus,
    delivered: bool,
}

struct World {
    seed: u64,
    rng: StdRng,
    #[cfg(any(test, feature = "planted-flaws"))]
    flaw: Option<Flaw>,
    now: UnixSeconds,
    next_id: u64,
    pg: Ledger,
    /// vbank's committed records.
    vbank: BTreeMap<String, Payment>,
    /// The outbox: one delivery per state change.
    outbox: Vec<Delivery>,
    /// The outbox's events by payment, for the checks.
    events: BTreeMap<String, Vec<WireStatus>>,
    /// PG answers to revokes, on their way back to vbank.
    replies: Vec<(String, Reply)>,
    /// PG notifications not yet acknowledged; the PG resends until they are.
    notices: Vec<Notice>,
    trace: Vec<String>,
    step: usize,
    stats: Stats,
}

fn pg_tid(imp_uid: &str) -> String {
    format!("tid-{imp_uid}")
}

impl World {
    fn new(seed: u64, config: &Config) -> World {
        let _ = config;
        World {
            seed,
            rng: StdRng::seed_from_u64(seed),
            #[cfg(any(test, feature = "planted-flaws"))]
            flaw: config.flaw,
            now: 1_750_000_000,
            next_id: 0,
            pg: Ledger::default(),
            vbank: BTreeMap::new(),
            outbox: Vec::new(),
            events: BTreeMap::new(),
            replies: Vec::new(),
            notices: Vec::new(),
            trace: Vec::new(),
            step: 0,
            stats: Stats::default(),
        }
    }

    fn log(&mut self, line: String) {
        if self.trace.len() == TRACE_LENGTH {
            self.trace.remove(0);
        }
        self.trace.push(format!("[{} t={}] {line}", self.step, self.now));
    }

    fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.seed,
            step: self.step,
            what,
            trace: self.trace.clone(),
        }
    }

    fn pick_payment(&mut self) -> Option<String> {
        if self.vbank.is_empty() {
            return None;
        }
        let index = self.rng.gen_range(0..self.vbank.len());
        self.vbank.keys().nth(index).cloned()
    }

    fn pg_account(&self, imp_uid: &str) -> Option<&Account> {
        self.pg.get("merchant", &pg_tid(imp_uid))
    }

    /// What the store's `transition` does: decide on the stored row, commit with the event.
    fn apply(&mut self, imp_uid: &str, fact: PgFact) -> Result<(), Violation> {
        let Some(stored) = self.vbank.get(imp_uid).cloned() else {
            return Ok(());
        };
        self.next_id += 1;
        let cancellation_id = CancellationId::from_stored(format!("cancel_{}", self.next_id));
        let line = format!("{imp_uid}: {fact:?}");
        let decision = lifecycle::apply(&stored, fact, self.now, RevokedStatus::Cancelled, cancellation_id);
        self.commit(imp_uid, decision, line)
    }

    /// Commits a decision on a stored payment, with its outbox event.
    fn commit(&mut self, imp_uid: &str, decision: Decision, line: String) -> Result<(), Violation> {
        match decision {
            Decision::Apply(transition) => {
                if let Some(event) = &transition.event {
                    self.emit(imp_uid, event.status);
                }
                self.log(format!("{line} -> {}", transition.payment.status.as_str()));
                self.vbank.insert(imp_uid.to_owned(), transition.payment);
                Ok(())
            }
            Decision::AlreadyRecorded => Ok(()),
            Decision::Anomaly(anomaly) => Err(self.violation(format!("{line}: anomaly {anomaly:?}"))),
        }
    }

    fn emit(&mut self, imp_uid: &str, status: WireStatus) {
        self.outbox.push(Delivery {
            imp_uid: imp_uid.to_owned(),
            status,
            delivered: false,
        });
        self.events.entry(imp_uid.to_owned()).or_default().push(status);
    }

    /// The fact a PG query states, as `services::payments::fact_of` makes it.
    fn query(&self, imp_uid: &str) -> Option<PgFact> {
        let account = self.pg_account(imp_uid)?;
        Some(match &account.state {
            AccountState::Issued => PgFact::AwaitingDeposit,
            AccountState::Deposited { at, .. } => PgFact::Deposited {
                amount: account.amount,
                at: *at,
            },
            AccountState::Cancelled { at, cancel_tid, reason } => PgFact::Revoked {
                cancel_tid: cancel_tid.clone(),
                at: *at,
                reason: reason.clone(),
                receipt_url: String::new(),
            },
        })
    }

    fn issue(&mut self) {
        self.next_id += 1;
        let imp_uid = format!("imp_{:012}", self.next_id);
        let provider = if self.rng.gen_bool(0.5) {
            PgProvider::Tosspayments
        } else {
            PgProvider::Html5Inicis
        };
        let due = self.now + self.rng.gen_range(600..3 * 86_400);
        let bank = BankCode::from_kftc("004").expect("KB is a known bank");
        let amount = Won::new(1000).expect("1000 won");
        let number = format!("{:014}", self.next_id);
        self.pg.insert(Account {
            pg: provider,
            tid: pg_tid(&imp_uid),
            owner: "merchant".into(),
            order_id: imp_uid.clone(),
            order_name: "sim".into(),
            amount,
            bank,
            number: number.clone(),
            holder: None,
            due,
            issued_at: self.now,
            secret: None,
            state: AccountState::Issued,
            refunds: Vec::new(),
        });
        let payment = Payment {
            imp_uid: ImpUid::parse(&imp_uid).expect("a generated imp_uid parses"),
            merchant_id: 1,
            channel_id: 1,
            merchant_uid: MerchantUid::parse(&format!("order-{}", self.next_id)).expect("order id"),
            pg_provider: provider,
            pg_id: "mid".into(),
            pg_tid: pg_tid(&imp_uid),
            pg_secret: None,
            sandbox: true,
            name: None,
            amount,
            cancel_amount: Won::ZERO,
            buyer: Buyer::default(),
            custom_data: None,
            account: VirtualAccount {
                bank,
                number,
                holder: None,
                due,
                issued_at: self.now,
            },
            status: VbankStatus::Ready,
            started_at: self.now,
            paid_at: 0,
            failed_at: 0,
            cancelled_at: 0,
            updated_at: self.now,
            fail_reason: None,
            cancel_reason: None,
            receipt_url: None,
            notice_urls: Vec::new(),
            cancel_history: Vec::new(),
            reconcile_at: check_time(self.now, due, 0, INTERVAL),
            reconcile_step: 0,
        };
        self.vbank.insert(imp_uid.clone(), payment);
        self.emit(&imp_uid, WireStatus::Ready);
        self.stats.payments += 1;
        self.log(format!("{imp_uid}: issued via {provider}, due {due}"));
    }

    fn revoke(&mut self) -> Result<(), Violation> {
        let Some(imp_uid) = self.pick_payment() else {
            return Ok(());
        };
        if check_revocable(&self.vbank[&imp_uid]).is_err() {
            return Ok(());
        }
        // Write ahead, as the server does: a crash before the answer leaves it in doubt.
        let check_at = self.now + 10 + INTERVAL;
        let begin = lifecycle::begin_revoke(&self.vbank[&imp_uid], self.now, check_at, "sim");
        self.commit(&imp_uid, begin, format!("{imp_uid}: revoke begins"))?;
        #[cfg(any(test, feature = "planted-flaws"))]
        if self.flaw == Some(Flaw::RecordRevokeBeforeThePgAnswers) {
            self.apply(
                &imp_uid,
                PgFact::Revoked {
                    cancel_tid: "early".into(),
                    at: self.now,
                    reason: "flaw".into(),
                    receipt_url: String::new(),
                },
            )?;
        }
        // The request may be lost before the PG (timeout before commit), or the answer
        // after it (timeout after commit); otherwise the answer travels back later.
        let fate = self.rng.gen_range(0..10);
        let reaches_pg = fate != 0;
        let answer_lost = fate <= 1;
        let reply = if reaches_pg {
            let now = self.now;
            Some(match self.pg.revoke("merchant", &pg_tid(&imp_uid), "revoke", now) {
                Ok(_) => Reply::Revoked,
                Err(RevokeRefusal::AlreadyCancelled) => Reply::AlreadyCancelled,
                Err(RevokeRefusal::AlreadyDeposited) => Reply::AlreadyDeposited,
                Err(RevokeRefusal::NotFound) => return Err(self.violation(format!("{imp_uid} unknown at the PG"))),
            })
        } else {
            None
        };
        self.log(format!(
            "{imp_uid}: revoke sent; reaches PG {reaches_pg}, answer lost {answer_lost}: {reply:?}"
        ));
        match reply {
            Some(reply) if !answer_lost => self.replies.push((imp_uid, reply)),
            _ => {
                self.stats.doubts += 1;
                self.apply(&imp_uid, PgFact::RevokeOutcomeUnknown)?;
            }
        }
        Ok(())
    }

    /// vbank handles a PG answer to a revoke, as `services::vbanks::revoke` does.
    fn deliver_reply(&mut self) -> Result<(), Violation> {
        if self.replies.is_empty() {
            return Ok(());
        }
        let (imp_uid, reply) = self.replies.remove(self.rng.gen_range(0..self.replies.len()));
        let fact = match reply {
            Reply::Revoked => match self.query(&imp_uid) {
                Some(fact @ PgFact::Revoked { .. }) => fact,
                other => return Err(self.violation(format!("{imp_uid}: PG said revoked, then {other:?}"))),
            },
            Reply::AlreadyCancelled | Reply::AlreadyDeposited => match self.query(&imp_uid) {
                Some(fact) => fact,
                None => return Ok(()),
            },
        };
        self.apply(&imp_uid, fact)
    }

    fn deposit(&mut self) {
        let Some(imp_uid) = self.pick_payment() else { return };
        let account = self.vbank[&imp_uid].account.clone();
        let now = self.now;
        match self
            .pg
            .deposit(account.bank, &account.number, self.vbank[&imp_uid].amount, "buyer", now)
        {
            Ok(_) => {
                let dropped = self.rng.gen_bool(0.15);
                let copies = if self.rng.gen_bool(0.2) { 2 } else { 1 };
                if !dropped {
                    for _ in 0..copies {
                        self.notices.push(Notice {
                            imp_uid: imp_uid.clone(),
                            forged: false,
                        });
                    }
                }
                self.log(format!(
                    "{imp_uid}: deposit accepted; notice dropped {dropped}, copies {copies}"
                ));
            }
            Err(refusal) => self.log(format!("{imp_uid}: deposit refused: {}", refusal.reason())),
        }
    }

    fn forge(&mut self) {
        let Some(imp_uid) = self.pick_payment() else { return };
        self.stats.forged += 1;
        self.log(format!("{imp_uid}: a forged deposit notice arrives"));
        self.notices.push(Notice { imp_uid, forged: true });
    }

    /// vbank handles a notification, as `services::notices` does.
    fn deliver_notice(&mut self) -> Result<(), Violation> {
        if self.notices.is_empty() {
            return Ok(());
        }
        let index = self.rng.gen_range(0..self.notices.len());
        // vbank may fail to acknowledge (a crash, a locked database): the PG resends.
        if self.rng.gen_bool(0.2) {
            return Ok(());
        }
        let notice = self.notices.remove(index);
        let provider = self.vbank[&notice.imp_uid].pg_provider;
        let amount = self.vbank[&notice.imp_uid].amount;
        // Which PGs sign their notices, and whether that signature alone is trusted: Toss'
        // is a per-payment secret; the others sign with a merchant-wide key, so a good
        // signature still leads to a confirming query (as `services::notices` does).
        let (signed, trusted_alone) = match provider {
            PgProvider::Tosspayments => (true, true),
            PgProvider::NiceV2 | PgProvider::Settle | PgProvider::SmartroV2 => (true, false),
            PgProvider::Html5Inicis | PgProvider::Kcp | PgProvider::Nice | PgProvider::Kicc => (false, false),
        };
        let fact = match provider {
            // A forged notice fails a PG's signature check outright.
            _ if signed && notice.forged => return Ok(()),
            _ if trusted_alone => PgFact::Deposited { amount, at: self.now },
            #[cfg(any(test, feature = "planted-flaws"))]
            _ if self.flaw == Some(Flaw::TrustUnconfirmedNotices) => PgFact::Deposited { amount, at: self.now },
            // Otherwise the notice counts only if the PG confirms a deposit.
            _ => match self.query(&notice.imp_uid) {
                Some(fact @ PgFact::Deposited { .. }) => fact,
                _ => return Ok(()),
            },
        };
        self.apply(&notice.imp_uid, fact)
    }

    /// One reconciler pass, as `jobs::reconciler` does.
    fn reconcile(&mut self) -> Result<(), Violation> {
        let due: Vec<String> = self
            .vbank
            .iter()
            .filter(|(_, payment)| {
                payment.status.awaits_deposit() && payment.reconcile_at.is_some_and(|at| at <= self.now)
            })
            .map(|(imp_uid, _)| imp_uid.clone())
            .collect();
        for imp_uid in due {
            if let Some(fact) = self.query(&imp_uid) {
                self.apply(&imp_uid, fact)?;
            }
            let now = self.now;
            if let Some(payment) = self.vbank.get_mut(&imp_uid) {
                match payment.status {
                    VbankStatus::RevokeInDoubt => payment.reconcile_at = Some(now + INTERVAL),
                    VbankStatus::Ready => {
                        let (at, step) = next_check(
                            payment.started_at,
                            payment.account.due,
                            payment.reconcile_step,
                            INTERVAL,
                            now,
                        );
                        payment.reconcile_at = at;
                        payment.reconcile_step = step;
                    }
                    VbankStatus::Paid | VbankStatus::Cancelled | VbankStatus::Failed => {}
                }
            }
        }
        Ok(())
    }

    fn crash(&mut self) {
        // Replies in flight die with the process; committed rows and the outbox survive;
        // the PG keeps resending its notifications.
        self.stats.crashes += 1;
        self.log(format!("crash: {} replies lost", self.replies.len()));
        self.replies.clear();
    }

    fn dispatch(&mut self) {
        let pending: Vec<usize> = (0..self.outbox.len()).filter(|&i| !self.outbox[i].delivered).collect();
        if pending.is_empty() {
            return;
        }
        let index = pending[self.rng.gen_range(0..pending.len())];
        // The merchant's endpoint fails now and then; the dispatcher retries.
        if self.rng.gen_bool(0.7) {
            self.outbox[index].delivered = true;
            self.stats.webhooks += 1;
        }
    }

    /// The invariants that hold after every step.
    fn check(&self) -> Result<(), Violation> {
        for (imp_uid, payment) in &self.vbank {
            let pg_state = self
                .pg_account(imp_uid)
                .map(|account| account.state.name())
                .unwrap_or("missing");
            let consistent = match payment.status {
                VbankStatus::Paid => pg_state == "deposited",
                VbankStatus::Cancelled | VbankStatus::Failed => pg_state == "cancelled",
                VbankStatus::Ready | VbankStatus::RevokeInDoubt => true,
            };
            if !consistent {
                return Err(self.violation(format!(
                    "{imp_uid} is {} at vbank but {pg_state} at the PG",
                    payment.status.as_str()
                )));
            }
            if payment.status == VbankStatus::Cancelled && payment.paid_at != 0 {
                return Err(self.violation(format!("{imp_uid} is both cancelled and paid")));
            }
            let events = self.events.get(imp_uid).cloned().unwrap_or_default();
            let expected = match payment.status.wire() {
                WireStatus::Ready => vec![WireStatus::Ready],
                terminal => vec![WireStatus::Ready, terminal],
            };
            if events != expected {
                return Err(self.violation(format!(
                    "{imp_uid} is {} with outbox events {events:?}",
                    payment.status.as_str()
                )));
            }
        }
        Ok(())
    }

    /// Lets every message arrive and the reconciler run until nothing is left to learn,
    /// then checks that vbank shows what the PG has and every event was delivered.
    fn settle(&mut self) -> Result<(), Violation> {
        for _ in 0..SETTLE_BOUND {
            while !self.replies.is_empty() {
                self.deliver_reply()?;
            }
            while !self.notices.is_empty() {
                self.deliver_notice()?;
            }
            let next = self
                .vbank
                .values()
                .filter(|payment| payment.status.awaits_deposit())
                .filter_map(|payment| payment.reconcile_at)
                .min();
            match next {
                Some(at) => {
                    self.now = self.now.max(at);
                    self.reconcile()?;
                }
                None => break,
            }
            self.check()?;
        }
        for (imp_uid, payment) in &self.vbank {
            let expected = match self.pg_account(imp_uid).map(|account| &account.state) {
                Some(AccountState::Issued) => WireStatus::Ready,
                Some(AccountState::Deposited { .. }) => WireStatus::Paid,
                Some(AccountState::Cancelled { .. }) => WireStatus::Cancelled,
                None => return Err(self.violation(format!("{imp_uid} unknown at the PG"))),
            };
            if payment.status.wire() != expected || payment.status == VbankStatus::RevokeInDoubt {
                return Err(self.violation(format!(
                    "after reconciling, {imp_uid} is {} at vbank but {expected:?} at the PG",
                    payment.status.as_str()
                )));
            }
        }
        for _ in 0..SETTLE_BOUND {
            if self.outbox.iter().all(|delivery| delivery.delivered) {
                break;
            }
            self.dispatch();
        }
        if let Some(lost) = self.outbox.iter().find(|delivery| !delivery.delivered) {
            return Err(self.violation(format!(
                "the {:?} webhook of {} was never delivered",
                lost.status, lost.imp_uid
            )));
        }
        Ok(())
    }
}

/// Runs one scenario.
pub fn run(seed: u64, config: &Config) -> Result<Stats, Violation> {
    let mut world = World::new(seed, config);
    for step in 0..config.steps {
        world.step = step;
        match world.rng.gen_range(0..100) {
            0..=14 => world.issue(),
            15..=29 => world.revoke()?,
            30..=44 => world.deposit(),
            45..=59 => world.deliver_notice()?,
            60..=69 => world.deliver_reply()?,
            70..=77 => world.reconcile()?,
            78..=82 => {
                let jump = if world.rng.gen_bool(0.3) {
                    world.rng.gen_range(3_600..2 * 86_400)
                } else {
                    world.rng.gen_range(1..600)
                };
                world.now += jump;
                world.log(format!("clock jumps {jump}s"));
            }
            83..=85 => world.crash(),
            86..=89 => world.forge(),
            _ => world.dispatch(),
        }
        world.check()?;
    }
    world.step = config.steps;
    world.settle()?;
    for payment in world.vbank.values() {
        match payment.status.wire() {
            WireStatus::Paid => world.stats.paid += 1,
            WireStatus::Cancelled => world.stats.cancelled += 1,
            WireStatus::Ready | WireStatus::Failed => {}
        }
    }
    Ok(world.stats)
}

/// Runs `count` scenarios from `first_seed`; the first violation stops the run.
pub fn run_many(first_seed: u64, count: u64, config: &Config) -> Result<Stats, Violation> {
    let mut total = Stats::default();
    for seed in first_seed..first_seed + count {
        let stats = run(seed, config)?;
        total.payments += stats.payments;
        total.paid += stats.paid;
        total.cancelled += stats.cancelled;
        total.doubts += stats.doubts;
        total.crashes += stats.crashes;
        total.forged += stats.forged;
        total.webhooks += stats.webhooks;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_thousand_seeded_scenarios_keep_every_invariant() {
        match run_many(0, 2_000, &Config::default()) {
            Ok(stats) => {
                // The scenarios did exercise what they claim to.
                assert!(stats.paid > 1_000 && stats.cancelled > 1_000, "{stats:?}");
                assert!(
                    stats.doubts > 500 && stats.crashes > 500 && stats.forged > 500,
                    "{stats:?}"
                );
            }
            Err(violation) => panic!("{violation}"),
        }
    }

    #[test]
    fn a_planted_flaw_is_caught_with_a_seed_that_replays_exactly() {
        for flaw in [Flaw::RecordRevokeBeforeThePgAnswers, Flaw::TrustUnconfirmedNotices] {
            let config = Config {
                flaw: Some(flaw),
                ..Config::default()
            };
            let violation = run_many(0, 2_000, &config).expect_err("the flaw is caught");
            println!("{flaw:?} caught:\n{violation}");
            assert!(violation.to_string().contains(&format!("--seed {}", violation.seed)));
            assert_eq!(
                run(violation.seed, &config),
                Err(violation.clone()),
                "the seed replays exactly"
            );
        }
    }
}
