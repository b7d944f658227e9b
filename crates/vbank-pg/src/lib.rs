//! Connectors: vbank's side of each PG's own protocol.
//!
//! Architecture invariant: a connector knows one PG's wire (URLs, fields, signatures,
//! charsets, bank codes, status codes) and translates it to and from the neutral types
//! here. It holds no state and writes nothing: it never decides what a payment
//! becomes. It tells what the PG said (a [`RevokeOutcome`], a [`PgState`], a
//! [`Notice`]), and the server applies that through the domain core.
//!
//! Each PG is a folder: `mod.rs` (calls, signing) and `wire.rs` (the PG's own message
//! types, codes and their one exhaustive mapping).

pub mod form;
pub mod inicis;
pub mod kcp;
pub mod kicc;
pub mod nice;
pub mod nice_v2;
pub mod settle;
pub mod smartro;
pub mod toss;

use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use vbank_core::payment::Buyer;
use vbank_core::{BankCode, Channel, ImpUid, MerchantUid, PgProvider, UnixSeconds, Won};

/// Where and how a connector reaches its PG for one call.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub channel: &'a Channel,
    /// The PG's base URL: the real PG, or the sandbox simulator of it.
    pub base_url: &'a str,
    /// A key given with the request (i'mport's `pg_api_key`), which wins over the channel's.
    pub api_key: Option<&'a str>,
}

/// Everything a PG needs to issue an account.
#[derive(Debug, Clone)]
pub struct IssueRequest<'a> {
    pub imp_uid: &'a ImpUid,
    pub merchant_uid: &'a MerchantUid,
    pub amount: Won,
    pub bank: BankCode,
    pub due: UnixSeconds,
    pub holder: Option<&'a str>,
    pub order_name: &'a str,
    pub buyer: &'a Buyer,
    pub now: UnixSeconds,
}

/// An account the PG issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedAccount {
    pub pg_tid: String,
    pub account_number: String,
    pub bank: BankCode,
    pub holder: Option<String>,
    pub due: UnixSeconds,
    /// A value the PG will repeat in its notifications (Toss `secret`).
    pub pg_secret: Option<String>,
    pub receipt_url: Option<String>,
}

/// The account as the PG sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgState {
    AwaitingDeposit,
    Deposited { amount: Won, at: UnixSeconds },
    Cancelled { cancel_tid: String, at: UnixSeconds },
}

/// What a pre-deposit revoke call came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked {
        cancel_tid: String,
        at: UnixSeconds,
        receipt_url: String,
    },
    /// The PG had cancelled it before (from its console, or an earlier call whose answer was lost).
    AlreadyCancelled,
    /// The buyer paid first; the PG refuses to void a deposited account.
    AlreadyDeposited,
    Refused(PgRefusal),
    /// Never sent (connection refused): the PG did nothing.
    NotSent(String),
    /// Sent, and no readable answer: the PG may or may not have acted.
    Unknown(String),
}

/// Where a refund of a deposited account is paid out.
#[derive(Debug, Clone)]
pub struct RefundAccount<'a> {
    pub bank: BankCode,
    pub number: &'a str,
    pub holder: &'a str,
}

/// A refund after deposit (`POST /payments/cancel`).
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    pub pg_tid: &'a str,
    pub amount: Won,
    /// Whether this refund empties the cancellable balance.
    pub full: bool,
    /// The balance left after this refund (INICIS `confirmPrice`).
    pub remaining_after: Won,
    pub reason: &'a str,
    pub account: RefundAccount<'a>,
    pub now: UnixSeconds,
}

/// A refund the PG accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    pub cancel_tid: String,
    pub at: UnixSeconds,
    pub receipt_url: String,
}

/// A change of an unpaid account's amount and due (i'mport's `PUT /vbanks/{imp_uid}`).
#[derive(Debug, Clone)]
pub struct ModifyRequest<'a> {
    pub pg_tid: &'a str,
    pub amount: Won,
    pub due: UnixSeconds,
    pub now: UnixSeconds,
}

/// The account as the PG changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modified {
    pub amount: Won,
    pub due: UnixSeconds,
}

/// A PG's own refusal, passed through as `[code] message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRefusal {
    pub code: String,
    pub message: String,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgError {
    #[error("[{}] {}", .0.code, .0.message)]
    Refused(PgRefusal),
    /// A credential the call needs is absent; nothing was sent.
    #[error("missing credential {0}")]
    MissingCredential(&'static str),
    /// The request could not be sent (connection refused, bad URL); the PG did nothing.
    #[error("PG unreachable: {0}")]
    NotSent(String),
    /// Sent, and no readable answer came back.
    #[error("PG answer unknown: {0}")]
    Unknown(String),
}

/// A PG's deposit notification, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub reference: NoticeReference,
    pub event: NoticeEvent,
    /// A shared secret the PG repeats (Toss `secret`), checked against the payment's.
    pub secret: Option<String>,
    pub account_number: Option<String>,
    /// What the PG signed, kept so that `authenticate` can check it with the channel's key.
    pub signed: SignedContent,
}

/// The signed content of a notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SignedContent {
    /// The PG signs nothing here (or the connector checks something else, like Toss' secret).
    #[default]
    None,
    /// Form fields, decoded.
    Form(Vec<(String, String)>),
    /// A JSON body as received.
    Json(Vec<u8>),
}

/// How a notification names its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeReference {
    PgTid(String),
    /// The order id vbank gave the PG, which is the imp_uid.
    OrderId(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeEvent {
    Deposited { amount: Option<Won>, at: UnixSeconds },
    Cancelled { at: UnixSeconds },
    AwaitingDeposit,
}

/// How far a notification can be trusted on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticity {
    /// Its signature or secret checked out.
    Verified,
    /// The PG signs nothing (INICIS): confirm with a query before acting.
    NeedsConfirmation,
    Forged(&'static str),
}

/// The HTTP answer a PG expects to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable notification: {0}")]
pub struct NoticeError(pub String);

#[async_trait]
pub trait Connector: Send + Sync {
    fn provider(&self) -> PgProvider;
    /// The credential a call through `target` lacks, named as the caller must supply it
    /// (INICIS: `pg_api_key`). Checked before any call, so that nothing is sent without it.
    fn missing_credential(&self, target: &Target<'_>) -> Option<&'static str>;
    /// Whether the PG issues virtual accounts at this bank.
    fn offers_bank(&self, bank: BankCode) -> bool;
    /// The i'mport field this PG requires for issuance that the request lacks
    /// (`vbank_holder`, `buyer_name`, `buyer_email`, `buyer_tel`).
    fn missing_issue_field(&self, request: &IssueRequest<'_>) -> Option<&'static str>;
    async fn issue(&self, target: Target<'_>, request: &IssueRequest<'_>) -> Result<IssuedAccount, PgError>;
    async fn revoke(&self, target: Target<'_>, pg_tid: &str, reason: &str, now: UnixSeconds) -> RevokeOutcome;
    async fn query(
        &self,
        target: Target<'_>,
        pg_tid: &str,
        merchant_uid: &str,
        now: UnixSeconds,
    ) -> Result<PgState, PgError>;
    /// Refunds a deposited account to the buyer's account.
    async fn refund(&self, target: Target<'_>, request: &RefundRequest<'_>) -> Result<Refunded, PgError>;
    /// Whether the PG changes an unpaid account's amount and due (only Settle Bank does, as on
    /// i'mport).
    fn modifies_accounts(&self) -> bool {
        false
    }
    /// Changes an unpaid account's amount and due.
    async fn modify(&self, target: Target<'_>, request: &ModifyRequest<'_>) -> Result<Modified, PgError> {
        let _ = (target, request);
        Err(PgError::Refused(PgRefusal {
            code: "UNSUPPORTED".into(),
            message: format!("{} does not change virtual accounts", self.provider()),
        }))
    }
    /// Reads `refund_bank` in this PG's own code system (api.md B6.3).
    fn refund_bank(&self, code: &str) -> Option<BankCode>;
    fn parse_notice(&self, content_type: Option<&str>, body: &[u8]) -> Result<Notice, NoticeError>;
    /// How far the notice can be trusted: its signature checked with the channel's key,
    /// or its secret with the one the PG gave for this payment (`pg_secret`).
    fn authenticate(&self, notice: &Notice, channel: &Channel, pg_secret: Option<&str>) -> Authenticity;
    fn acknowledge(&self, accepted: bool) -> Acknowledgement;
    /// The real PG's base URL, for channels outside the sandbox.
    fn live_base_url(&self) -> &'static str;
}

/// One connector per PG, sharing one HTTP client.
#[derive(Clone)]
pub struct Connectors {
    inicis: Arc<inicis::Inicis>,
    toss: Arc<toss::Toss>,
    kcp: Arc<kcp::Kcp>,
    nice: Arc<nice::Nice>,
    nice_v2: Arc<nice_v2::NiceV2>,
    kicc: Arc<kicc::Kicc>,
    settle: Arc<settle::Settle>,
    smartro: Arc<smartro::Smartro>,
}

impl Connectors {
    /// `timeout` bounds every PG call; past it the outcome is unknown.
    pub fn new(timeout: Duration, client_ip: String) -> Connectors {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .unwrap_or_default();
        Connectors {
            inicis: Arc::new(inicis::Inicis::new(http.clone(), client_ip.clone())),
            toss: Arc::new(toss::Toss::new(http.clone())),
            kcp: Arc::new(kcp::Kcp::new(http.clone())),
            nice: Arc::new(nice::Nice::new(http.clone())),
            nice_v2: Arc::new(nice_v2::NiceV2::new(http.clone())),
            kicc: Arc::new(kicc::Kicc::new(http.clone(), client_ip.clone())),
            settle: Arc::new(settle::Settle::new(http.clone())),
            smartro: Arc::new(smartro::Smartro::new(http)),
        }
    }

    pub fn get(&self, provider: PgProvider) -> &dyn Connector {
        match provider {
            PgProvider::Html5Inicis => self.inicis.as_ref(),
            PgProvider::Tosspayments => self.toss.as_ref(),
            PgProvider::Kcp => self.kcp.as_ref(),
            PgProvider::Nice => self.nice.as_ref(),
            PgProvider::NiceV2 => self.nice_v2.as_ref(),
            PgProvider::Kicc => self.kicc.as_ref(),
            PgProvider::Settle => self.settle.as_ref(),
            PgProvider::SmartroV2 => self.smartro.as_ref(),
        }
    }
}

/// Sorts a reqwest failure: one that never left this machine is `NotSent`, anything
/// after the request may have reached the PG is `Unknown`.
pub(crate) fn classify_send_error(error: reqwest::Error) -> PgError {
    if error.is_connect() || error.is_builder() {
        PgError::NotSent(error.to_string())
    } else {
        PgError::Unknown(error.to_string())
    }
}
