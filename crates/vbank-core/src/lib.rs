//! The domain core of vbank: payments, the virtual-account state machine, money and ids.
//!
//! Architecture invariant: this crate does no I/O. It knows nothing of HTTP, SQL or any
//! PG's wire format; it decides, and the edges carry out. Time and randomness come in
//! as arguments, so every rule here is a plain function that a test (or a seeded
//! simulation) can drive.

pub mod bank;
pub mod ids;
pub mod lifecycle;
pub mod merchant;
pub mod money;
pub mod payment;
pub mod provider;
pub mod reconcile;
pub mod time;

pub use bank::BankCode;
pub use ids::{CancellationId, ImpUid, MerchantUid};
pub use merchant::{Channel, ChannelSecrets, Merchant, NoticeSources, WebhookFormat, WebhookSettings};
pub use money::Won;
pub use payment::{CancelEntry, Payment, VbankStatus, WireStatus};
pub use provider::PgProvider;
pub use time::UnixSeconds;
