//! A payment by virtual account, as vbank records it.

use crate::{BankCode, CancellationId, ImpUid, MerchantUid, PgProvider, UnixSeconds, Won};
use serde::{Deserialize, Serialize};

/// Where a virtual account stands, as vbank knows it.
///
/// `RevokeInDoubt` is vbank's own: the PG was asked to revoke and its answer never
/// came. On the wire it is still `ready` (the PG may not have acted), and the
/// reconciler asks the PG until it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VbankStatus {
    Ready,
    RevokeInDoubt,
    Paid,
    Cancelled,
    Failed,
}

/// The status i'mport clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireStatus {
    Ready,
    Paid,
    Cancelled,
    Failed,
}

impl VbankStatus {
    pub fn wire(self) -> WireStatus {
        match self {
            VbankStatus::Ready | VbankStatus::RevokeInDoubt => WireStatus::Ready,
            VbankStatus::Paid => WireStatus::Paid,
            VbankStatus::Cancelled => WireStatus::Cancelled,
            VbankStatus::Failed => WireStatus::Failed,
        }
    }

    /// Whether the buyer may still pay into the account, so the PG can still change it.
    pub fn awaits_deposit(self) -> bool {
        match self {
            VbankStatus::Ready | VbankStatus::RevokeInDoubt => true,
            VbankStatus::Paid | VbankStatus::Cancelled | VbankStatus::Failed => false,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VbankStatus::Ready => "ready",
            VbankStatus::RevokeInDoubt => "revoke_in_doubt",
            VbankStatus::Paid => "paid",
            VbankStatus::Cancelled => "cancelled",
            VbankStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<VbankStatus> {
        [
            VbankStatus::Ready,
            VbankStatus::RevokeInDoubt,
            VbankStatus::Paid,
            VbankStatus::Cancelled,
            VbankStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

impl WireStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WireStatus::Ready => "ready",
            WireStatus::Paid => "paid",
            WireStatus::Cancelled => "cancelled",
            WireStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<WireStatus> {
        [
            WireStatus::Ready,
            WireStatus::Paid,
            WireStatus::Cancelled,
            WireStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    /// The internal statuses shown as this wire status.
    pub fn internal(self) -> &'static [VbankStatus] {
        match self {
            WireStatus::Ready => &[VbankStatus::Ready, VbankStatus::RevokeInDoubt],
            WireStatus::Paid => &[VbankStatus::Paid],
            WireStatus::Cancelled => &[VbankStatus::Cancelled],
            WireStatus::Failed => &[VbankStatus::Failed],
        }
    }
}

/// One entry of `cancel_history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelEntry {
    pub cancellation_id: CancellationId,
    /// The PG's id for the cancel transaction.
    pub pg_tid: String,
    pub amount: Won,
    pub cancelled_at: UnixSeconds,
    pub reason: String,
    pub receipt_url: String,
}

/// The buyer as the merchant described them; every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub tel: Option<String>,
    pub addr: Option<String>,
    pub postcode: Option<String>,
}

/// The account the PG issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualAccount {
    pub bank: BankCode,
    pub number: String,
    /// `None` where the PG does not report a holder (Toss).
    pub holder: Option<String>,
    /// Deposit deadline.
    pub due: UnixSeconds,
    pub issued_at: UnixSeconds,
}

/// A payment by virtual account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub imp_uid: ImpUid,
    /// The owning merchant. Every read and write is scoped by it.
    pub merchant_id: i64,
    /// The merchant's channel (PG contract) that issued it.
    pub channel_id: i64,
    pub merchant_uid: MerchantUid,
    pub pg_provider: PgProvider,
    /// The PG merchant id (MID).
    pub pg_id: String,
    /// The PG's transaction id for the issued account.
    pub pg_tid: String,
    /// A per-payment secret the PG gave (Toss `secret`), used to authenticate its
    /// notifications. Never shown on the wire.
    pub pg_secret: Option<String>,
    /// Issued through a sandbox channel: no real money moves.
    pub sandbox: bool,
    pub name: Option<String>,
    pub amount: Won,
    pub cancel_amount: Won,
    pub buyer: Buyer,
    pub custom_data: Option<String>,
    pub account: VirtualAccount,
    pub status: VbankStatus,
    pub started_at: UnixSeconds,
    pub paid_at: UnixSeconds,
    pub failed_at: UnixSeconds,
    pub cancelled_at: UnixSeconds,
    pub updated_at: UnixSeconds,
    pub fail_reason: Option<String>,
    pub cancel_reason: Option<String>,
    pub receipt_url: Option<String>,
    pub notice_urls: Vec<String>,
    pub cancel_history: Vec<CancelEntry>,
    /// When the reconciler next asks the PG about this payment; `None`: never again.
    pub reconcile_at: Option<UnixSeconds>,
    /// How many scheduled checks were made (see `reconcile::check_time`).
    pub reconcile_step: u32,
}
