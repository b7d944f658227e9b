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
    /// Run the PG simulators and the sandbox bank alone; or, with a subcommand, use a running
    /// server's sandbox (`vbank sandbox deposit`, `vbank sandbox clock`).
    Sandbox(SandboxCommandArgs),
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Virtual accounts on a running server: issue, revoke, get.
    #[command(subcommand)]
    Vbank(VbankCommand),
    /// Webhook deliveries on a running server: list, resend.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

/// Where the running server is, who is asking, and how to show the answer.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The vbank server.
    #[arg(long, env = "VBANK_URL", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The merchant's REST API key (`vbank serve` prints the demo merchant's on its first start).
    #[arg(long, env = "VBANK_IMP_KEY")]
    pub imp_key: Option<String>,
    /// The merchant's REST API secret.
    #[arg(long, env = "VBANK_IMP_SECRET", hide_env_values = true)]
    pub imp_secret: Option<String>,
    /// Print JSON (the API's own objects) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Messages from the server in English instead of Korean.
    #[arg(long)]
    pub english: bool,
}

#[derive(Debug, Subcommand)]
pub enum VbankCommand {
    /// Issue a virtual account (`POST /vbanks`).
    Issue(IssueArgs),
    /// Revoke an unpaid virtual account (`DELETE /vbanks/{imp_uid}`).
    Revoke(RevokeArgs),
    /// Show a payment (`GET /payments/{imp_uid}`), with `--history` its events and webhooks.
    Get(GetArgs),
}

#[derive(Debug, Clone, Args)]
pub struct IssueArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Amount to deposit, won.
    #[arg(long)]
    pub amount: i64,
    /// The account's bank, a 3-digit KFTC code (004 KB국민, 088 신한, 020 우리, ...).
    #[arg(long, default_value = "004")]
    pub bank: String,
    /// How long the buyer has to pay, from now.
    #[arg(long, default_value = "1d", value_parser = duration)]
    pub due_in: Duration,
    /// The order id; a fresh `cli-...` one when not given.
    #[arg(long)]
    pub merchant_uid: Option<String>,
    /// The channel (`tosspayments`, `html5_inicis.INIpayTest`, `kcp`, ...); the merchant's default when not given.
    #[arg(long)]
    pub pg: Option<String>,
    /// KG INICIS's INIAPI key (the sandbox's INIpayTest has ItEQKi3rY7uvDS8l).
    #[arg(long)]
    pub pg_api_key: Option<String>,
    #[arg(long)]
    pub buyer_name: Option<String>,
    /// The holder name the buyer sees.
    #[arg(long)]
    pub holder: Option<String>,
    /// Order name.
    #[arg(long)]
    pub name: Option<String>,
    /// Send it again with the same key and get the first answer, not a second account.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    pub imp_uid: String,
    /// KG INICIS's INIAPI key.
    #[arg(long)]
    pub pg_api_key: Option<String>,
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    pub imp_uid: String,
    /// Also the payment's history (state changes, PG calls) and its webhook deliveries.
    #[arg(long)]
    pub history: bool,
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SandboxCommandArgs {
    #[command(subcommand)]
    pub command: Option<SandboxCommand>,
    #[command(flatten)]
    pub run: SandboxArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SandboxCommand {
    /// Deposit into a virtual account at the sandbox bank, as the buyer would.
    Deposit(DepositArgs),
    /// Move the sandbox clock forward.
    Clock(ClockArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DepositArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The payment: its account, bank and amount are looked up (needs the merchant's credentials).
    #[arg(required_unless_present = "account")]
    pub imp_uid: Option<String>,
    /// The account number, instead of an imp_uid.
    #[arg(long, requires = "amount")]
    pub account: Option<String>,
    /// The account's bank (with --account).
    #[arg(long, default_value = "004")]
    pub bank: String,
    /// Won to deposit (the payment's amount by default).
    #[arg(long)]
    pub amount: Option<i64>,
    #[arg(long)]
    pub depositor: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ClockArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// How far to move it, such as 1h or 2d.
    #[arg(long, value_parser = duration)]
    pub advance: Duration,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// A payment's webhook deliveries and their attempts.
    List(WebhooksListArgs),
    /// Send a delivery again now.
    Resend(WebhooksResendArgs),
}

#[derive(Debug, Clone, Args)]
pub struct WebhooksListArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    pub imp_uid: String,
}

#[derive(Debug, Clone, Args)]
pub struct WebhooksResendArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The delivery's id, from `vbank webhooks list`.
    pub id: i64,
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
    /// Failed getToken attempts allowed per imp_key per minute before 429 (0: no limit).
    #[arg(long, env = "VBANK_TOKEN_FAILURES_PER_KEY", default_value_t = 10)]
    pub token_failures_per_key: u32,
    /// Failed getToken attempts allowed per client address per minute before 429 (0: no
    /// limit). Behind a load balancer, add --trust-forwarded-for.
    #[arg(long, env = "VBANK_TOKEN_FAILURES_PER_ADDRESS", default_value_t = 30)]
    pub token_failures_per_address: u32,
    /// Take the client's address from the last X-Forwarded-For entry (only behind a load
    /// balancer that sets it; a client could forge it otherwise).
    #[arg(long, env = "VBANK_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// File holding the key PG credentials are sealed with (base64 of 32 bytes). Default:
    /// VBANK_SECRETS_KEY, or on SQLite the file `<database>.key`, created on first start.
    /// Every PostgreSQL node needs the same key.
    #[arg(long, env = "VBANK_SECRETS_KEY_FILE")]
    pub secrets_key_file: Option<std::path::PathBuf>,
    /// Time limit of every PG call; past it the outcome is unknown and reconciled later.
    #[arg(long, env = "VBANK_PG_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub pg_timeout: Duration,
    /// A request's time limit, body included; past it the answer is 503 while its work
    /// (a PG call, a commit) still finishes. Keep it above twice --pg-timeout.
    #[arg(long, env = "VBANK_REQUEST_TIMEOUT", default_value = "60s", value_parser = duration)]
    pub request_timeout: Duration,
    /// A request's headers must arrive within this; an idle keep-alive connection is
    /// closed after it too.
    #[arg(long, env = "VBANK_HEADER_READ_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub header_read_timeout: Duration,
    /// Request line and headers, in bytes (at least 8192); larger gets 431.
    #[arg(long, env = "VBANK_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
    /// Open connections at most; past it, new ones wait until one closes.
    #[arg(long, env = "VBANK_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// A token the metrics scraper must send (`Authorization: Bearer TOKEN`) for /metrics;
    /// without it /metrics is open: keep it behind the proxy.
    #[arg(long, env = "VBANK_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// On SIGTERM or Ctrl-C, how long in-flight requests may take to finish.
    #[arg(long, env = "VBANK_SHUTDOWN_GRACE", default_value = "30s", value_parser = duration)]
    pub shutdown_grace: Duration,
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
    /// Set the addresses a channel's PG notifications may come from (the PG publishes
    /// them); without --allow, any address.
    NoticeSources(NoticeSourcesArgs),
}

#[derive(Debug, Clone, Args)]
pub struct NoticeSourcesArgs {
    #[arg(long, env = "VBANK_IMP_KEY")]
    pub imp_key: String,
    /// The channel, as i'mport's `pg` parameter names it (`tosspayments`, `html5_inicis.MID`).
    #[arg(long)]
    pub pg: String,
    /// An address (`203.0.113.7`) or range (`203.0.113.0/24`); repeat for more.
    #[arg(long = "allow", value_name = "ADDRESS_OR_RANGE")]
    pub allow: Vec<String>,
    #[arg(long, env = "VBANK_DATABASE_URL", default_value = "sqlite://vbank.db")]
    pub database_url: String,
    /// File holding the key PG credentials are sealed with; as for `vbank serve`.
    #[arg(long, env = "VBANK_SECRETS_KEY_FILE")]
    pub secrets_key_file: Option<std::path::PathBuf>,
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
    /// File holding the key PG credentials are sealed with; as for `vbank serve`.
    #[arg(long, env = "VBANK_SECRETS_KEY_FILE")]
    pub secrets_key_file: Option<std::path::PathBuf>,
}
