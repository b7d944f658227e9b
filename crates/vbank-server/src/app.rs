//! The state every handler shares.

use crate::edge::envelope::Text;
use crate::edge::ApiError;
use crate::services::tokens::TokenService;
use std::sync::Arc;
use std::time::Duration;
use vbank_core::lifecycle::RevokedStatus;
use vbank_core::time::Clock;
use vbank_core::Channel;
use vbank_pg::Connectors;
use vbank_store::Store;

/// Server settings that shape behaviour (the rest of the configuration is start-up only).
#[derive(Debug, Clone)]
pub struct Settings {
    pub revoked_status: RevokedStatus,
    /// Base URL of the PG simulators, when sandbox channels can be used.
    pub sandbox_url: Option<String>,
    /// The reconciler's base interval (see `vbank_core::reconcile`).
    pub reconcile_interval: Duration,
    /// Delays between webhook delivery attempts; after the last, a delivery has failed.
    pub webhook_retry_schedule: Vec<Duration>,
    /// The limit of every PG call.
    pub pg_timeout: Duration,
    /// Whether webhooks may go to loopback or private addresses (sandbox mode, or
    /// `--allow-private-webhooks`).
    pub allow_private_webhooks: bool,
    /// Whether the client's address is the last `X-Forwarded-For` entry (behind a load
    /// balancer) rather than the TCP peer.
    pub trust_forwarded_for: bool,
    /// How long a node holds a claimed job (a webhook delivery, a reconcile check)
    /// before another node may take it over.
    pub job_lease: Duration,
    /// The bearer token `/metrics` requires, if any.
    pub metrics_token: Option<String>,
}

impl Settings {
    pub fn pg_timeout_seconds(&self) -> i64 {
        self.pg_timeout.as_secs_f64().ceil() as i64
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub connectors: Connectors,
    pub clock: Arc<dyn Clock>,
    pub tokens: TokenService,
    pub settings: Settings,
    /// Wakes the webhook dispatcher when an event was committed.
    pub webhook_wakeup: Arc<tokio::sync::Notify>,
    pub metrics: Arc<crate::observability::Metrics>,
}

impl AppState {
    /// Where a channel's PG is: the sandbox simulator, or the real PG.
    pub fn pg_base_url(&self, channel: &Channel) -> Result<String, ApiError> {
        if !channel.sandbox {
            return Ok(self.connectors.get(channel.provider).live_base_url().to_owned());
        }
        match &self.settings.sandbox_url {
            Some(sandbox_url) => Ok(format!(
                "{}{}",
                sandbox_url.trim_end_matches('/'),
                vbank_sandbox::path_prefix(channel.provider)
            )),
            None => Err(ApiError::PgFailure(Text::new(
                "[SANDBOX] 샌드박스 채널이지만 서버가 --no-sandbox 로 실행 중입니다. --sandbox-url 을 지정하세요.",
                "[SANDBOX] This is a sandbox channel but the server runs with --no-sandbox; start it with --sandbox-url.",
            ))),
        }
    }
}
