//! The command line. Every flag is also an environment variable.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "vbank",
    version,
    about = "A self-hostable, i'mport-compatible virtual-account payment server"
)]
pub struct Cli {
    /// Log lines for people (`pretty`, the default) or for log collectors (`json`, one object a line).
    #[arg(long, global = true, env = "VBANK_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (with the PG simulators in-process unless told otherwise).
    Serve(ServeArgs),
    /// Run the PG simulators and the sandbox bank alone.
    Sandbox(SandboxArgs),
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
}

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("{error} (use a duration such as 30s, 10m or 1h)"))
}

/// A comma-separated list of durations, such as `1s,1s,2s`.
#[derive(Debug, Clone)]
pub struct DurationList(pub Vec<Duration>);

fn duration_list(text: &str) -> Result<DurationList, String> {
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| duration(part.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map(DurationList)
}

/// What a revoked virtual account becomes (api.md A3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RevokedStatusArg {
    Cancelled,
    Failed,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VBANK_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Database URL: sqlite://PATH (created if missing).
    #[arg(long, env = "VBANK_DATABASE_URL", default_value = "sqlite://vbank.db")]
    pub database_url: String,
    /// Use an external `vbank sandbox` at this URL instead of the in-process one.
    #[arg(long, env = "VBANK_SANDBOX_URL", conflicts_with = "no_sandbox")]
    pub sandbox_url: Option<String>,
    /// Run without any sandbox: only live PG channels work.
    #[arg(long, env = "VBANK_NO_SANDBOX")]
    pub no_sandbox: bool,
    /// Lifetime of access tokens.
    #[arg(long, env = "VBANK_TOKEN_TTL", default_value = "30m", value_parser = duration)]
    pub token_ttl: Duration,
    /// Time limit of every PG call; past it the outcome is unknown and reconciled later.
    #[arg(long, env = "VBANK_PG_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub pg_timeout: Duration,
    /// Status a revoked virtual account gets.
    #[arg(long, env = "VBANK_REVOKED_VBANK_STATUS", value_enum, default_value = "cancelled")]
    pub revoked_vbank_status: RevokedStatusArg,
    /// Base interval of the reconciler, which re-queries the PG for unpaid accounts
    /// (after one interval, then doubling up to an hour, and once more at the due time)
    /// and for revokes in doubt.
    #[arg(long, env = "VBANK_RECONCILE_INTERVAL", default_value = "1m", value_parser = duration)]
    pub reconcile_interval: Duration,
    /// Delays between webhook delivery attempts, comma-separated (i'mport's schedule by default).
    #[arg(long, env = "VBANK_WEBHOOK_RETRY_SCHEDULE", value_parser = duration_list)]
    pub webhook_retry_schedule: Option<DurationList>,
    /// How long a node holds a claimed background job (webhook delivery, reconcile check)
    /// before another node may take it over; longer than a webhook attempt (30 s).
    #[arg(long, env = "VBANK_JOB_LEASE", default_value = "2m", value_parser = duration)]
    pub job_lease: Duration,
    /// Let webhooks go to loopback or private addresses (always allowed in sandbox mode).
    #[arg(long, env = "VBANK_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,
    /// This server's address as PGs see it (INICIS signs it into every request).
    #[arg(long, env = "VBANK_CLIENT_IP", default_value = "127.0.0.1")]
    pub client_ip: String,
}

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, env = "VBANK_SANDBOX_ADDR", default_value = "127.0.0.1:8090")]
    pub addr: SocketAddr,
    /// The vbank server that receives deposit notifications.
    #[arg(long, env = "VBANK_NOTIFY_URL", default_value = "http://127.0.0.1:8080")]
    pub notify_url: String,
}

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Add a merchant with sandbox channels for every PG vbank has.
    Add(MerchantAddArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MerchantAddArgs {
    #[arg(long, env = "VBANK_IMP_KEY")]
    pub imp_key: String,
    #[arg(long, env = "VBANK_IMP_SECRET")]
    pub imp_secret: String,
    /// The merchant's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Default webhook URL, for payments without a `notice_url` of their own.
    #[arg(long, env = "VBANK_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Webhook body: `json` or `form` (application/x-www-form-urlencoded).
    #[arg(long, env = "VBANK_WEBHOOK_FORMAT", default_value = "json", value_parser = ["json", "form"])]
    pub webhook_format: String,
    /// Standard Webhooks signing secret (`whsec_...`); generated and printed when not given.
    #[arg(long, env = "VBANK_WEBHOOK_SECRET")]
    pub webhook_secret: Option<String>,
    /// KG INICIS INIAPI key for the INIpayTest channel; without it callers pass `pg_api_key`.
    #[arg(long, env = "VBANK_INICIS_API_KEY")]
    pub inicis_api_key: Option<String>,
    #[arg(long, env = "VBANK_DATABASE_URL", default_value = "sqlite://vbank.db")]
    pub database_url: String,
}
