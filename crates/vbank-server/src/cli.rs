//! The commands for people that talk to a running server (`vbank vbank ...`,
//! `vbank sandbox deposit|clock`, `vbank webhooks ...`), through `vbank-client`.
//! Tables by default, the API's JSON with `--json`; a call that takes a while says so.

use crate::config::{
    ClientArgs, ClockArgs, DepositArgs, GetArgs, IssueArgs, RevokeArgs, SandboxCommand, VbankCommand, WebhooksCommand,
    WebhooksListArgs, WebhooksResendArgs,
};
use anyhow::Context;
use serde::Serialize;
use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};
use vbank_client::{Client, IssueRequest, Payment, SandboxDeposit};

fn client(args: &ClientArgs) -> Client {
    let mut client = Client::new(&args.server);
    if let (Some(imp_key), Some(imp_secret)) = (&args.imp_key, &args.imp_secret) {
        client = client.with_credentials(imp_key, imp_secret);
    }
    if args.english {
        client = client.in_english();
    }
    client
}

/// Runs `call`, and if it takes more than a second, tells the person what it is waiting for.
async fn with_progress<T>(what: &str, call: impl Future<Output = T>) -> T {
    tokio::pin!(call);
    let started = Instant::now();
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(2),
    );
    let mut said = false;
    loop {
        tokio::select! {
            result = &mut call => {
                if said {
                    eprintln!();
                }
                return result;
            }
            _ = ticks.tick() => {
                eprint!("\r{what}... {} s", started.elapsed().as_secs());
                let _ = std::io::stderr().flush();
                said = true;
            }
        }
    }
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Unix seconds as UTC, or `-` for 0 (i'mport's "did not happen").
fn time(seconds: i64) -> String {
    if seconds == 0 {
        return "-".into();
    }
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// Columns padded to their widest cell (counting characters, so Korean lines up roughly).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            widths[column] = widths[column].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(column, cell)| format!("{cell:<width$}", width = widths[column]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push('\n');
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

fn payment_table(payment: &Payment) -> String {
    let rows = [
        ("imp_uid", payment.imp_uid.clone()),
        ("merchant_uid", payment.merchant_uid.clone()),
        ("status", payment.status.clone()),
        ("pg", format!("{} ({})", payment.pg_provider, payment.pg_id)),
        ("amount", format!("{} KRW", payment.amount)),
        ("cancelled", format!("{} KRW", payment.cancel_amount)),
        (
            "account",
            format!("{} {} ({})", payment.vbank_name, payment.vbank_num, payment.vbank_code),
        ),
        ("holder", payment.vbank_holder.clone().unwrap_or_default()),
        ("due", time(payment.vbank_date)),
        ("issued", time(payment.vbank_issued_at)),
        ("paid", time(payment.paid_at)),
        ("cancelled at", time(payment.cancelled_at)),
        ("failed at", time(payment.failed_at)),
    ];
    rows.iter()
        .map(|(name, value)| format!("{name:<13} {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub async fn vbank(command: VbankCommand) -> anyhow::Result<()> {
    match command {
        VbankCommand::Issue(args) => issue(args).await,
        VbankCommand::Revoke(args) => revoke(args).await,
        VbankCommand::Get(args) => get(args).await,
    }
}

async fn issue(args: IssueArgs) -> anyhow::Result<()> {
    let client = client(&args.client);
    let now = chrono::Utc::now().timestamp();
    let merchant_uid = args
        .merchant_uid
        .clone()
        .unwrap_or_else(|| format!("cli-{now}-{:04x}", rand::random::<u16>()));
    let mut request = IssueRequest::new(merchant_uid, args.amount, args.bank, now + args.due_in.as_secs() as i64);
    request.pg = args.pg;
    request.pg_api_key = args.pg_api_key;
    request.buyer_name = args.buyer_name;
    request.vbank_holder = args.holder;
    request.name = args.name;
    let payment = with_progress(
        "waiting for the PG to issue the account",
        client.issue(&request, args.idempotency_key.as_deref()),
    )
    .await?;
    if args.client.json {
        return print_json(&payment);
    }
    println!("{}", payment_table(&payment));
    println!(
        "\nThe buyer deposits {} KRW into {} {}. In the sandbox: vbank sandbox deposit {}",
        payment.amount, payment.vbank_name, payment.vbank_num, payment.imp_uid
    );
    Ok(())
}

async fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let client = client(&args.client);
    let payment = with_progress(
        "waiting for the PG to revoke the account",
        client.revoke(&args.imp_uid, args.pg_api_key.as_deref(), args.reason.as_deref()),
    )
    .await?;
    if args.client.json {
        return print_json(&payment);
    }
    println!("{}", payment_table(&payment));
    Ok(())
}

async fn get(args: GetArgs) -> anyhow::Result<()> {
    let client = client(&args.client);
    let payment = client.payment(&args.imp_uid).await?;
    if !args.history {
        if args.client.json {
            return print_json(&payment);
        }
        println!("{}", payment_table(&payment));
        return Ok(());
    }
    let events = client.events(&args.imp_uid).await?;
    let webhooks = client.webhooks(&args.imp_uid).await?;
    if args.client.json {
        return print_json(&serde_json::json!({"payment": payment, "events": events, "webhooks": webhooks}));
    }
    println!("{}\n", payment_table(&payment));
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| vec![time(event.at), event.kind.clone(), event.detail.clone()])
        .collect();
    println!("{}\n", table(&["at", "kind", "detail"], &rows));
    println!("{}", webhook_table(&webhooks));
    Ok(())
}

fn webhook_table(deliveries: &[vbank_client::WebhookDelivery]) -> String {
    let rows: Vec<Vec<String>> = deliveries
        .iter()
        .map(|delivery| {
            let last = delivery.attempts.last();
            vec![
                delivery.id.to_string(),
                delivery.status.clone(),
                delivery.state.clone(),
                delivery.attempts.len().to_string(),
                last.and_then(|attempt| attempt.http_status)
                    .map_or_else(|| "-".into(), |status| status.to_string()),
                last.and_then(|attempt| attempt.error.clone()).unwrap_or_default(),
                delivery.url.clone(),
            ]
        })
        .collect();
    table(
        &["id", "event", "state", "attempts", "last HTTP", "last error", "url"],
        &rows,
    )
}

pub async fn sandbox(command: SandboxCommand) -> anyhow::Result<()> {
    match command {
        SandboxCommand::Deposit(args) => deposit(args).await,
        SandboxCommand::Clock(args) => clock(args).await,
    }
}

async fn deposit(args: DepositArgs) -> anyhow::Result<()> {
    let client = client(&args.client);
    let deposit = match (&args.imp_uid, &args.account) {
        (_, Some(account)) => SandboxDeposit {
            bank_code: args.bank.clone(),
            account_number: account.clone(),
            amount: args.amount.context("--account needs --amount")?,
            depositor_name: args.depositor.clone(),
        },
        (Some(imp_uid), None) => {
            let payment = client.payment(imp_uid).await?;
            let mut deposit = SandboxDeposit::for_payment(&payment);
            if let Some(amount) = args.amount {
                deposit.amount = amount;
            }
            if args.depositor.is_some() {
                deposit.depositor_name = args.depositor.clone();
            }
            deposit
        }
        (None, None) => anyhow::bail!("name the payment (an imp_uid) or the account (--account and --amount)"),
    };
    let outcome = with_progress("waiting for the bank and the PG", client.sandbox_deposit(&deposit)).await?;
    if args.client.json {
        print_json(&outcome)?;
    } else if outcome.accepted {
        println!(
            "Deposited {} KRW into {} ({}); the PG notified vbank.",
            deposit.amount, deposit.account_number, deposit.bank_code
        );
    } else {
        println!("The bank refused the deposit: {}", outcome.reason);
    }
    if !outcome.accepted {
        anyhow::bail!(
            "the deposit was refused ({}); check the account with `vbank vbank get IMP_UID`",
            outcome.reason
        );
    }
    Ok(())
}

async fn clock(args: ClockArgs) -> anyhow::Result<()> {
    let client = client(&args.client);
    let now = client.sandbox_advance_clock(args.advance.as_secs() as i64).await?;
    if args.client.json {
        return print_json(&serde_json::json!({ "now": now }));
    }
    println!("The sandbox clock now reads {}.", time(now));
    Ok(())
}

pub async fn webhooks(command: WebhooksCommand) -> anyhow::Result<()> {
    match command {
        WebhooksCommand::List(args) => webhooks_list(args).await,
        WebhooksCommand::Resend(args) => webhooks_resend(args).await,
    }
}

async fn webhooks_list(args: WebhooksListArgs) -> anyhow::Result<()> {
    let deliveries = client(&args.client).webhooks(&args.imp_uid).await?;
    if args.client.json {
        return print_json(&deliveries);
    }
    if deliveries.is_empty() {
        println!(
            "No webhook deliveries for {} (does the merchant have a webhook URL?).",
            args.imp_uid
        );
        return Ok(());
    }
    println!("{}", webhook_table(&deliveries));
    Ok(())
}

async fn webhooks_resend(args: WebhooksResendArgs) -> anyhow::Result<()> {
    let resent = client(&args.client).resend_webhook(args.id).await?;
    if args.client.json {
        return print_json(&resent);
    }
    println!(
        "Delivery {} is queued to be sent again now; see `vbank webhooks list IMP_UID`.",
        resent.id
    );
    Ok(())
}
