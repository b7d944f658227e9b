//! The PGs' own record of every account they issued: the PG side of the story, which
//! vbank's record must come to equal.

use rand::Rng;
use std::collections::HashMap;
use vbank_core::{BankCode, PgProvider, UnixSeconds, Won};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountState {
    Issued,
    Deposited {
        at: UnixSeconds,
        depositor: String,
    },
    Cancelled {
        at: UnixSeconds,
        cancel_tid: String,
        reason: String,
    },
}

impl AccountState {
    pub fn name(&self) -> &'static str {
        match self {
            AccountState::Issued => "issued",
            AccountState::Deposited { .. } => "deposited",
            AccountState::Cancelled { .. } => "cancelled",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub pg: PgProvider,
    pub tid: String,
    /// Whose account it is at the PG: the INICIS MID, or the Toss secret key.
    pub owner: String,
    pub order_id: String,
    pub order_name: String,
    pub amount: Won,
    pub bank: BankCode,
    pub number: String,
    pub holder: Option<String>,
    pub due: UnixSeconds,
    pub issued_at: UnixSeconds,
    /// Toss' per-payment `secret`.
    pub secret: Option<String>,
    pub state: AccountState,
    /// Refunds after the deposit, oldest first.
    pub refunds: Vec<Refund>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub tid: String,
    pub amount: Won,
    pub at: UnixSeconds,
    pub reason: String,
}

impl Account {
    pub fn refunded(&self) -> Won {
        Won::new(self.refunds.iter().map(|refund| refund.amount.get()).sum()).unwrap_or(Won::ZERO)
    }

    /// What the PG shows: `refunded` once every won went back.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            AccountState::Deposited { .. } if self.refunded() == self.amount => "refunded",
            _ => self.state.name(),
        }
    }
}

/// Why a refund is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRefusal {
    NotFound,
    NotDeposited,
    /// More than what is left to refund.
    Exceeds {
        refundable: Won,
    },
}

/// Why a revoke is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeRefusal {
    NotFound,
    AlreadyCancelled,
    AlreadyDeposited,
}

/// Why the bank refuses a deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepositRefusal {
    UnknownAccount,
    Cancelled,
    AlreadyDeposited,
    Expired,
    WrongAmount { expected: Won },
}

impl DepositRefusal {
    pub fn reason(&self) -> String {
        match self {
            DepositRefusal::UnknownAccount => "unknown account".into(),
            DepositRefusal::Cancelled => "account revoked".into(),
            DepositRefusal::AlreadyDeposited => "account already deposited".into(),
            DepositRefusal::Expired => "account expired".into(),
            DepositRefusal::WrongAmount { expected } => format!("amount must be exactly {expected}"),
        }
    }
}

#[derive(Debug, Default)]
pub struct Ledger {
    by_tid: HashMap<String, Account>,
    tid_by_number: HashMap<String, String>,
    tid_by_order: HashMap<(String, String), String>,
}

impl Ledger {
    /// A fresh account number, unique in the ledger.
    pub fn new_account_number(&self, prefix: &str) -> String {
        let mut rng = rand::thread_rng();
        loop {
            let number = format!("{prefix}{:010}", rng.gen_range(0..10_000_000_000u64));
            if !self.tid_by_number.contains_key(&number) {
                return number;
            }
        }
    }

    pub fn order_exists(&self, owner: &str, order_id: &str) -> bool {
        self.tid_by_order.contains_key(&(owner.to_owned(), order_id.to_owned()))
    }

    pub fn insert(&mut self, account: Account) {
        self.tid_by_number.insert(account.number.clone(), account.tid.clone());
        self.tid_by_order
            .insert((account.owner.clone(), account.order_id.clone()), account.tid.clone());
        self.by_tid.insert(account.tid.clone(), account);
    }

    /// The account with this tid, if `owner` may see it.
    pub fn get(&self, owner: &str, tid: &str) -> Option<&Account> {
        self.by_tid.get(tid).filter(|account| account.owner == owner)
    }

    pub fn by_number(&self, number: &str) -> Option<&Account> {
        self.tid_by_number.get(number).and_then(|tid| self.by_tid.get(tid))
    }

    /// Changes an issued account's amount and due (Hecto A1).
    pub fn modify(&mut self, owner: &str, tid: &str, amount: Won, due: UnixSeconds) -> Result<Account, RevokeRefusal> {
        let account = self
            .by_tid
            .get_mut(tid)
            .filter(|account| account.owner == owner)
            .ok_or(RevokeRefusal::NotFound)?;
        match account.state {
            AccountState::Issued => {
                account.amount = amount;
                account.due = due;
                Ok(account.clone())
            }
            AccountState::Cancelled { .. } => Err(RevokeRefusal::AlreadyCancelled),
            AccountState::Deposited { .. } => Err(RevokeRefusal::AlreadyDeposited),
        }
    }

    pub fn revoke(&mut self, owner: &str, tid: &str, reason: &str, now: UnixSeconds) -> Result<Account, RevokeRefusal> {
        let account = self
            .by_tid
            .get_mut(tid)
            .filter(|account| account.owner == owner)
            .ok_or(RevokeRefusal::NotFound)?;
        match account.state {
            AccountState::Issued => {
                account.state = AccountState::Cancelled {
                    at: now,
                    cancel_tid: format!("{tid}C"),
                    reason: reason.to_owned(),
                };
                Ok(account.clone())
            }
            AccountState::Cancelled { .. } => Err(RevokeRefusal::AlreadyCancelled),
            AccountState::Deposited { .. } => Err(RevokeRefusal::AlreadyDeposited),
        }
    }

    pub fn refund(
        &mut self,
        owner: &str,
        tid: &str,
        amount: Option<Won>,
        reason: &str,
        now: UnixSeconds,
    ) -> Result<(Account, Refund), RefundRefusal> {
        let account = self
            .by_tid
            .get_mut(tid)
            .filter(|account| account.owner == owner)
            .ok_or(RefundRefusal::NotFound)?;
        if !matches!(account.state, AccountState::Deposited { .. }) {
            return Err(RefundRefusal::NotDeposited);
        }
        let refundable = Won::new(account.amount.get() - account.refunded().get()).unwrap_or(Won::ZERO);
        let amount = amount.unwrap_or(refundable);
        if amount.is_zero() || amount > refundable {
            return Err(RefundRefusal::Exceeds { refundable });
        }
        let refund = Refund {
            tid: format!("{tid}R{}", account.refunds.len() + 1),
            amount,
            at: now,
            reason: reason.to_owned(),
        };
        account.refunds.push(refund.clone());
        Ok((account.clone(), refund))
    }

    /// The bank's side of a deposit: only into an issued, unexpired account, and only
    /// the amount it was issued for.
    pub fn deposit(
        &mut self,
        bank: BankCode,
        number: &str,
        amount: Won,
        depositor: &str,
        now: UnixSeconds,
    ) -> Result<Account, DepositRefusal> {
        let tid = self.tid_by_number.get(number).ok_or(DepositRefusal::UnknownAccount)?;
        let account = self.by_tid.get_mut(tid).ok_or(DepositRefusal::UnknownAccount)?;
        if account.bank != bank {
            return Err(DepositRefusal::UnknownAccount);
        }
        match account.state {
            AccountState::Cancelled { .. } => return Err(DepositRefusal::Cancelled),
            AccountState::Deposited { .. } => return Err(DepositRefusal::AlreadyDeposited),
            AccountState::Issued => {}
        }
        if now > account.due {
            return Err(DepositRefusal::Expired);
        }
        if amount != account.amount {
            return Err(DepositRefusal::WrongAmount {
                expected: account.amount,
            });
        }
        account.state = AccountState::Deposited {
            at: now,
            depositor: depositor.to_owned(),
        };
        Ok(account.clone())
    }
}
