//! The sandbox: a simulator of each PG and of the buyer's bank, over real HTTP.
//!
//! Architecture invariant: the sandbox knows nothing of vbank's database or domain
//! rules. It plays the outside world: it speaks each PG's protocol exactly as the
//! connectors expect the real PG to (checking signatures and keys the way the PG
//! does), keeps the PG's own record of every account in the [`ledger`], and sends
//! deposit notifications to vbank over HTTP. vbank reaches it only through a base URL,
//! so it runs inside `vbank serve` or alone (`vbank sandbox`) alike.
//!
//! Paths: `/inicis/api/v1/*` (KG INICIS INIAPI), `/toss/v1/*` (Toss Payments core
//! API), `/sandbox/bank/deposits` (the buyer's bank), `/sandbox/clock`,
//! `/sandbox/accounts/{account_number}` (what the PG recorded, for tests and operators),
//! `/sandbox/faults` (make the next calls fail, see [`faults`]).

mod bank;
pub mod clock;
pub mod faults;
mod inicis;
mod kcp;
mod kicc;
pub mod ledger;
mod nice;
mod nice_v2;
mod notify;
mod settle;
mod smartro;
mod toss;

use axum::routing::{get, post};
use axum::Router;
use clock::SandboxClock;
use ledger::Ledger;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use vbank_core::PgProvider;

/// The INIAPI key and IV the INICIS simulator holds for each test MID (pg-samples.md §1;
/// the escrow MID's IV is not published, so it takes no refunds here).
pub const INICIS_TEST_KEYS: &[(&str, &str, Option<&str>)] = &[
    ("INIpayTest", "ItEQKi3rY7uvDS8l", Some("HYb3yQ4f65QL89==")),
    ("iniescrow0", "yERbIlJ3NhTeObsA", None),
];

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// vbank's base URL, where deposit notifications go (`{notify_url}/notifications/{pg}`).
    pub notify_url: String,
    /// Delays between resends of a notification that was not acknowledged as the PG expects.
    pub notify_retry_delays: Vec<Duration>,
    /// How long an injected timeout keeps the caller waiting.
    pub fault_delay: Duration,
}

impl SandboxConfig {
    pub fn new(notify_url: impl Into<String>) -> SandboxConfig {
        SandboxConfig {
            notify_url: notify_url.into(),
            notify_retry_delays: [1, 2, 5, 10, 30, 60, 120, 300].map(Duration::from_secs).to_vec(),
            fault_delay: Duration::from_secs(60),
        }
    }
}

/// The simulators' shared state.
pub struct Sandbox {
    pub clock: SandboxClock,
    ledger: Mutex<Ledger>,
    notify_url: RwLock<String>,
    notify_retry_delays: Vec<Duration>,
    faults: Mutex<Vec<faults::Armed>>,
    fault_delay: Duration,
    http: reqwest::Client,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Arc<Sandbox> {
        Arc::new(Sandbox {
            clock: SandboxClock::default(),
            ledger: Mutex::new(Ledger::default()),
            notify_url: RwLock::new(config.notify_url),
            notify_retry_delays: config.notify_retry_delays,
            faults: Mutex::new(Vec::new()),
            fault_delay: config.fault_delay,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        })
    }

    /// Points notifications at vbank, once its address is known.
    pub fn set_notify_url(&self, url: impl Into<String>) {
        *self.notify_url.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = url.into();
    }

    fn notify_url(&self) -> String {
        self.notify_url
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Runs `change` on the ledger. The lock is never held across an await, so every
    /// PG decision (issue, revoke, deposit) is atomic: the race between a deposit and a
    /// revoke has exactly one winner, as at a real PG.
    fn ledger<T>(&self, change: impl FnOnce(&mut Ledger) -> T) -> T {
        change(&mut self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    pub fn router(self: &Arc<Sandbox>) -> Router {
        let mut router = Router::new();
        for provider in PgProvider::ALL {
            router = router.nest(path_prefix(provider), pg_router(provider));
        }
        router
            .route("/sandbox/bank/deposits", post(bank::deposit))
            .route("/sandbox/bank/holder", get(bank::holder))
            .route("/sandbox/faults", post(faults::arm))
            .route("/sandbox/clock", get(clock::get_clock).post(clock::advance_clock))
            .route("/sandbox/accounts/{account_number}", get(bank::account))
            .with_state(self.clone())
    }
}

/// Where each PG's simulator lives under the sandbox's base URL.
/// A control request the sandbox cannot take: `400 {"error": ...}`, saying what to send instead.
pub(crate) fn bad_request(message: impl Into<String>) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    (
        axum::http::StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "error": message.into() })),
    )
}

pub fn path_prefix(provider: PgProvider) -> &'static str {
    match provider {
        PgProvider::Html5Inicis => "/inicis",
        PgProvider::Tosspayments => "/toss",
        PgProvider::Kcp => "/kcp",
        PgProvider::Nice => "/nice",
        PgProvider::NiceV2 => "/nice_v2",
        PgProvider::Kicc => "/kicc",
        PgProvider::Settle => "/settle",
        PgProvider::SmartroV2 => "/smartro",
    }
}

/// Each PG simulator's routes, relative to its prefix.
fn pg_router(provider: PgProvider) -> Router<Arc<Sandbox>> {
    match provider {
        PgProvider::Html5Inicis => inicis::router(),
        PgProvider::Tosspayments => toss::router(),
        PgProvider::Kcp => kcp::router(),
        PgProvider::Nice => nice::router(),
        PgProvider::NiceV2 => nice_v2::router(),
        PgProvider::Kicc => kicc::router(),
        PgProvider::Settle => settle::router(),
        PgProvider::SmartroV2 => smartro::router(),
    }
}

/// The sandbox's test merchant at a PG: the MID (site, mall) and the credentials a
/// channel needs to talk to that PG's simulator. Toss keys are drawn per merchant.
pub fn test_channel(provider: PgProvider) -> (String, vbank_core::ChannelSecrets) {
    match provider {
        PgProvider::Html5Inicis => inicis::test_channel(),
        PgProvider::Tosspayments => toss::test_channel(),
        PgProvider::Kcp => kcp::test_channel(),
        PgProvider::Nice => nice::test_channel(),
        PgProvider::NiceV2 => nice_v2::test_channel(),
        PgProvider::Kicc => kicc::test_channel(),
        PgProvider::Settle => settle::test_channel(),
        PgProvider::SmartroV2 => smartro::test_channel(),
    }
}
