//! PLACEHOLDER Kcp simulator: to be replaced.

use crate::ledger::Account;
use crate::Sandbox;
use std::sync::Arc;
use vbank_core::ChannelSecrets;

/// The Kcp routes, under `/kcp`.
pub fn router() -> axum::Router<Arc<Sandbox>> {
    axum::Router::new()
}

pub fn deposit_notice(_account: &Account) -> Option<crate::notify::Message> {
    None
}

pub fn acknowledged(_status: reqwest::StatusCode, _body: &str) -> bool {
    false
}

/// The sandbox's test merchant at this PG: its id and credentials.
pub fn test_channel() -> (String, ChannelSecrets) {
    ("PLACEHOLDER".into(), ChannelSecrets::default())
}
