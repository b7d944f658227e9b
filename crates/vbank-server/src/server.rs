//! Starting the server: the store, the connectors, the sandbox, the router.

use crate::app::{AppState, Settings};
use crate::edge::envelope::{language_layer, method_not_allowed, route_not_found};
use crate::listener::{request_deadline, Limits};
use crate::observability::{request_layer, Metrics};
use crate::services::merchants::{add_sandbox_merchant, random_text, MerchantSpec};
use crate::services::tokens::{FailureLimits, TokenService};
use anyhow::Context;
use axum::extract::Request;
use axum::{middleware, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower::util::{MapRequest, MapRequestLayer};
use tower::Layer;
use vbank_core::lifecycle::RevokedStatus;
use vbank_core::time::SystemClock;
use vbank_pg::Connectors;
use vbank_sandbox::{Sandbox, SandboxConfig};

/// Where sandbox channels find their PG simulators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxMode {
    /// The simulators run inside this server, on its own port.
    InProcess,
    /// An external `vbank sandbox` at this base URL.
    External(String),
    Off,
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub database_url: String,
    pub sandbox: SandboxMode,
    pub token_ttl: Duration,
    pub pg_timeout: Duration,
    pub revoked_status: RevokedStatus,
    pub client_ip: String,
    pub reconcile_interval: Duration,
    pub webhook_retry_schedule: Vec<Duration>,
    pub job_lease: Duration,
    /// Let webhooks go to loopback or private addresses outside sandbox mode.
    pub allow_private_webhooks: bool,
    /// Failed getToken attempts allowed per minute, per imp_key and per client address.
    pub token_failure_limits: FailureLimits,
    /// The key PG credentials are sealed with; `None`: from the environment or, on SQLite,
    /// the key file beside the database (`vbank_store::SecretsKey::resolve`).
    pub secrets_key: Option<vbank_store::SecretsKey>,
    /// Take the client's address from the last `X-Forwarded-For` entry (set by a load
    /// balancer in front) instead of the TCP peer.
    pub trust_forwarded_for: bool,
    /// Connections, header size, timeouts, shutdown grace.
    pub limits: Limits,
    /// The bearer token `/metrics` requires; `None`: open (keep it behind the proxy).
    pub metrics_token: Option<String>,
}

/// i'mport's retry schedule for webhooks (api.md A7): about a day in all.
pub fn default_webhook_retry_schedule() -> Vec<Duration> {
    [
        60, 300, 300, 600, 600, 600, 600, 600, 3600, 3600, 3600, 3600, 3600, 21600, 21600, 21600,
    ]
    .map(Duration::from_secs)
    .to_vec()
}

impl ServeConfig {
    /// The defaults of `vbank serve`, on another address and database.
    pub fn new(addr: SocketAddr, database_url: impl Into<String>) -> ServeConfig {
        ServeConfig {
            addr,
            database_url: database_url.into(),
            sandbox: SandboxMode::InProcess,
            token_ttl: Duration::from_secs(30 * 60),
            pg_timeout: Duration::from_secs(10),
            revoked_status: RevokedStatus::Cancelled,
            client_ip: "127.0.0.1".into(),
            reconcile_interval: Duration::from_secs(60),
            webhook_retry_schedule: default_webhook_retry_schedule(),
            job_lease: Duration::from_secs(120),
            allow_private_webhooks: false,
            token_failure_limits: FailureLimits::default(),
            trust_forwarded_for: false,
            secrets_key: None,
            limits: Limits::default(),
            metrics_token: None,
        }
    }
}

/// The demo merchant created on a first start.
#[derive(Debug, Clone)]
pub struct DemoMerchant {
    pub imp_key: String,
    pub imp_secret: String,
}

pub struct RunningServer {
    pub addr: SocketAddr,
    pub demo_merchant: Option<DemoMerchant>,
    pub sandbox: Option<Arc<Sandbox>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    stop_jobs: watch::Sender<bool>,
    jobs: Vec<JoinHandle<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish (within the shutdown
    /// grace), stops the background jobs and returns. Later calls do nothing.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        let _ = self.stop_jobs.send(true);
        for job in self.jobs.drain(..) {
            let _ = job.await;
        }
        Ok(())
    }

    /// Runs until the process is asked to stop (Ctrl-C or SIGTERM).
    pub async fn run_until_signal(mut self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        self.shutdown().await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// i'mport's clients add trailing slashes (`/payments/findAll/{m}/`); they are trimmed before
/// routing. Swagger UI's index is the one exception: it lives at `/docs/` so that its
/// relative asset paths resolve under `/docs/`.
fn trim_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.len() <= 1 || !path.ends_with('/') || path == "/docs/" {
        return request;
    }
    let trimmed = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The layers every answer of the server passes through: the request's own task and its
/// deadline, the request id and metrics, the language of messages, and trailing slashes
/// (`/payments/findAll/{m}/`) trimmed before routing.
pub fn with_edge_layers(
    router: Router,
    metrics: Arc<Metrics>,
    request_timeout: Duration,
) -> MapRequest<Router, fn(Request) -> Request> {
    // Per route (so that the route template is known), outermost last: the deadline wraps
    // everything; the request id and metrics wrap the language of the answer.
    let router = router
        .layer(middleware::from_fn(language_layer))
        .layer(middleware::from_fn_with_state(metrics, request_layer))
        .layer(middleware::from_fn_with_state(request_timeout, request_deadline));
    MapRequestLayer::new(trim_trailing_slash as fn(Request) -> Request).layer(router)
}

/// Opens the store, binds the address and serves in the background.
pub async fn start(config: ServeConfig) -> anyhow::Result<RunningServer> {
    // Pending migrations run here; on a large database that can take a while, so say so.
    tracing::info!("opening the database and applying any pending migrations");
    let store = vbank_store::open_with_key(&config.database_url, config.secrets_key.clone())
        .await
        .with_context(|| format!("cannot open the database {}", config.database_url))?;
    let listener = TcpListener::bind(config.addr).await.with_context(|| {
        format!(
            "cannot listen on {}; is another server running there? Try --addr",
            config.addr
        )
    })?;
    let addr = listener.local_addr()?;
    let own_url = format!("http://{addr}");

    let (sandbox, sandbox_url) = match &config.sandbox {
        SandboxMode::InProcess => (
            Some(Sandbox::new(SandboxConfig::new(own_url.clone()))),
            Some(own_url.clone()),
        ),
        SandboxMode::External(url) => (None, Some(url.clone())),
        SandboxMode::Off => (None, None),
    };

    let demo_merchant = if sandbox_url.is_some() && store.merchant_count().await? == 0 {
        let demo = DemoMerchant {
            imp_key: format!("imp_{}", random_text(12).to_lowercase()),
            imp_secret: random_text(48),
        };
        let spec = MerchantSpec {
            name: "Demo shop".into(),
            imp_key: demo.imp_key.clone(),
            imp_secret: demo.imp_secret.clone(),
            ..MerchantSpec::default()
        };
        add_sandbox_merchant(store.as_ref(), spec).await?;
        Some(demo)
    } else {
        None
    };

    let clock: Arc<dyn vbank_core::time::Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::new().context("cannot set up the metrics registry")?);
    let state = Arc::new(AppState {
        tokens: TokenService::new(
            store.clone(),
            clock.clone(),
            config.token_ttl.as_secs() as i64,
            config.token_failure_limits,
        )
        .await?,
        store,
        connectors: Connectors::new(config.pg_timeout, config.client_ip.clone()),
        clock,
        settings: Settings {
            revoked_status: config.revoked_status,
            sandbox_url,
            reconcile_interval: config.reconcile_interval,
            webhook_retry_schedule: config.webhook_retry_schedule.clone(),
            pg_timeout: config.pg_timeout,
            job_lease: config.job_lease,
            // Sandbox mode delivers to the developer's own machine.
            allow_private_webhooks: config.allow_private_webhooks || config.sandbox != SandboxMode::Off,
            trust_forwarded_for: config.trust_forwarded_for,
            metrics_token: config.metrics_token.clone(),
        },
        webhook_wakeup: Arc::new(tokio::sync::Notify::new()),
        metrics: metrics.clone(),
    });
    state.store.listen_outbox(state.webhook_wakeup.clone()).await?;
    let (stop_jobs, stop_receiver) = watch::channel(false);
    let jobs = vec![
        tokio::spawn(crate::jobs::reconciler::run(state.clone(), stop_receiver.clone())),
        tokio::spawn(crate::jobs::webhooks::run(state.clone(), stop_receiver)),
    ];

    let mut router: Router = crate::routes::router()
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    if let Some(sandbox) = &sandbox {
        router = router.merge(sandbox.router());
    }
    let app = with_edge_layers(router, metrics, config.limits.request_timeout);

    let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
    let limits = config.limits;
    let task = tokio::spawn(crate::listener::serve(listener, app, limits, async {
        let _ = shutdown_receiver.await;
    }));
    Ok(RunningServer {
        addr,
        demo_merchant,
        sandbox,
        shutdown: Some(shutdown_sender),
        task: Some(task),
        stop_jobs,
        jobs,
    })
}
