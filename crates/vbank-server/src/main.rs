//! The `vbank` binary.

use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;
use vbank_core::lifecycle::RevokedStatus;
use vbank_core::{WebhookFormat, WebhookSettings};
use vbank_sandbox::{Sandbox, SandboxConfig};
use vbank_server::cli;
use vbank_server::config::{
    Cli, Command, LogFormat, MerchantAddArgs, MerchantCommand, NoticeSourcesArgs, RevokedStatusArg, SandboxArgs,
    ServeArgs,
};
use vbank_server::listener::Limits;
use vbank_server::server::{self, SandboxMode, ServeConfig};
use vbank_server::services::merchants::{add_sandbox_merchant, MerchantSpec};
use vbank_server::services::tokens::FailureLimits;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        // Request lines carry the request's span (its id, method and path).
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
        LogFormat::Pretty => logs.init(),
    }
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Sandbox(args) => match args.command {
            Some(command) => cli::sandbox(command).await,
            None => sandbox(args.run).await,
        },
        Command::Vbank(command) => cli::vbank(command).await,
        Command::Webhooks(command) => cli::webhooks(command).await,
        Command::Merchant(MerchantCommand::Add(args)) => merchant_add(args).await,
        Command::Merchant(MerchantCommand::NoticeSources(args)) => notice_sources(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The secrets key a `--secrets-key-file` names; `None` leaves it to the environment or
/// the database's key file.
fn secrets_key(file: Option<&std::path::Path>) -> anyhow::Result<Option<vbank_store::SecretsKey>> {
    file.map(vbank_store::SecretsKey::from_file)
        .transpose()
        .map_err(Into::into)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let sandbox = match (args.no_sandbox, args.sandbox_url) {
        (true, _) => SandboxMode::Off,
        (false, Some(url)) => SandboxMode::External(url),
        (false, None) => SandboxMode::InProcess,
    };
    let config = ServeConfig {
        addr: args.addr,
        database_url: args.database_url,
        sandbox,
        token_ttl: args.token_ttl,
        pg_timeout: args.pg_timeout,
        revoked_status: match args.revoked_vbank_status {
            RevokedStatusArg::Cancelled => RevokedStatus::Cancelled,
            RevokedStatusArg::Failed => RevokedStatus::Failed,
        },
        client_ip: args.client_ip,
        reconcile_interval: args.reconcile_interval,
        webhook_retry_schedule: args
            .webhook_retry_schedule
            .map(|schedule| schedule.0)
            .unwrap_or_else(server::default_webhook_retry_schedule),
        job_lease: args.job_lease,
        allow_private_webhooks: args.allow_private_webhooks,
        token_failure_limits: FailureLimits {
            per_key: args.token_failures_per_key,
            per_address: args.token_failures_per_address,
        },
        trust_forwarded_for: args.trust_forwarded_for,
        secrets_key: secrets_key(args.secrets_key_file.as_deref())?,
        limits: Limits {
            max_connections: args.max_connections,
            header_read_timeout: args.header_read_timeout,
            max_header_bytes: args.max_header_bytes,
            request_timeout: args.request_timeout,
            shutdown_grace: args.shutdown_grace,
        },
        metrics_token: args.metrics_token.filter(|token| !token.is_empty()),
    };
    let running = server::start(config).await?;
    let url = running.url();
    if let Some(demo) = &running.demo_merchant {
        println!("Created a demo merchant with sandbox channels for every PG:");
        println!("  imp_key:    {}", demo.imp_key);
        println!("  imp_secret: {}", demo.imp_secret);
        println!();
        println!("Try it:");
        println!(
            "  TOKEN=$(curl -s -X POST {url}/users/getToken -H 'content-type: application/json' \\\n    -d '{{\"imp_key\":\"{}\",\"imp_secret\":\"{}\"}}' | sed 's/.*\"access_token\":\"\\([0-9a-f]*\\)\".*/\\1/')",
            demo.imp_key, demo.imp_secret
        );
        println!(
            "  curl -s -X POST {url}/vbanks -H \"Authorization: Bearer $TOKEN\" -H 'content-type: application/json' \\\n    -d '{{\"merchant_uid\":\"order-1\",\"amount\":1000,\"vbank_code\":\"004\",\"vbank_due\":'$(($(date +%s)+86400))',\"buyer_name\":\"홍길동\"}}'"
        );
        println!();
    }
    if running.sandbox.is_some() {
        println!("sandbox PGs and bank: in-process at {url}");
    }
    // Last, so that scripts can wait for this line.
    println!("vbank listening on {url}");
    running.run_until_signal().await
}

async fn sandbox(args: SandboxArgs) -> anyhow::Result<()> {
    let sandbox = Sandbox::new(SandboxConfig::new(args.notify_url.clone()));
    let listener = tokio::net::TcpListener::bind(args.addr).await.map_err(|error| {
        anyhow::anyhow!(
            "cannot listen on {}: {error}; is another sandbox running there? Try --addr",
            args.addr
        )
    })?;
    println!("deposit notifications go to {}/notifications/{{pg}}", args.notify_url);
    // Last, so that scripts can wait for this line.
    println!("vbank sandbox listening on http://{}", listener.local_addr()?);
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn merchant_add(args: MerchantAddArgs) -> anyhow::Result<()> {
    let store = vbank_store::open_with_key(&args.database_url, secrets_key(args.secrets_key_file.as_deref())?).await?;
    let spec = MerchantSpec {
        name: args.name.unwrap_or_else(|| args.imp_key.clone()),
        imp_key: args.imp_key,
        imp_secret: args.imp_secret,
        inicis_api_key: args.inicis_api_key,
        webhook: WebhookSettings {
            url: args.webhook_url,
            format: WebhookFormat::parse(&args.webhook_format).unwrap_or_default(),
            secret: args.webhook_secret,
        },
    };
    let secret_given = spec.webhook.secret.is_some();
    let (merchant, channels) = add_sandbox_merchant(store.as_ref(), spec).await?;
    println!(
        "Added merchant {} (imp_key {}) with sandbox channels:",
        merchant.name, merchant.imp_key
    );
    for channel in channels {
        println!("  pg={}.{}", channel.provider.code(), channel.mid);
    }
    // A secret vbank made is shown once, for the merchant to verify signatures with; one
    // the operator gave is not echoed into terminals and logs.
    match &merchant.webhook.secret {
        Some(secret) if !secret_given => println!("Webhook signing secret (Standard Webhooks): {secret}"),
        Some(_) => println!("Webhook signing secret: the one given (--webhook-secret)"),
        None => {}
    }
    Ok(())
}

async fn notice_sources(args: NoticeSourcesArgs) -> anyhow::Result<()> {
    let sources = vbank_core::NoticeSources::parse(&args.allow.join(","))
        .map_err(|problem| anyhow::anyhow!("--allow: {problem}"))?;
    let store = vbank_store::open_with_key(&args.database_url, secrets_key(args.secrets_key_file.as_deref())?).await?;
    let merchant = store.merchant_by_imp_key(&args.imp_key).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no merchant has imp_key {}; check --imp-key and --database-url",
            args.imp_key
        )
    })?;
    let channels = store.channels(merchant.id).await?;
    let channel = vbank_server::services::vbanks::select_channel(channels, Some(&args.pg)).map_err(|_| {
        anyhow::anyhow!(
            "merchant {} has no channel {}; name it as i'mport's pg parameter does (tosspayments, html5_inicis.MID)",
            args.imp_key,
            args.pg
        )
    })?;
    store.set_notice_sources(channel.id, &sources).await?;
    if sources.allows_any() {
        println!(
            "pg={}.{}: notifications from any address",
            channel.provider.code(),
            channel.mid
        );
    } else {
        println!(
            "pg={}.{}: notifications only from {sources}",
            channel.provider.code(),
            channel.mid
        );
    }
    Ok(())
}
