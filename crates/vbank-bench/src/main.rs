//! `cargo run --release -p vbank-bench -- [--quick] [--database-url URL] [--sweep]`
//!
//! Starts `vbank serve` (in a child process, with its in-process PG simulators) on a
//! database pre-loaded with N payments, drives it over loopback HTTP with many clients,
//! and measures, in the same run, the baselines it is judged against: the store's bare
//! one-commit-per-revoke rate and a fixed-JSON endpoint of the same server stack.
//! Prints `metric <name> <value>` and `ratio <name> <value>` lines (docs/benchmarks.md).

mod ceiling;
mod child;
mod fixture;
mod http;
mod load;
mod plot;
mod run;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(about = "vbank's benchmark: revoke, lookup and issue against same-run baselines")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A short run (10,000 payments, 3 s per phase) that finishes in under a minute.
    #[arg(long)]
    quick: bool,
    /// Where to run: a SQLite file (default: a fresh one in a temporary folder) or a
    /// PostgreSQL server URL, on which a fresh database is created and dropped after.
    #[arg(long)]
    database_url: Option<String>,
    /// Payments pre-loaded before measuring.
    #[arg(long)]
    payments: Option<i64>,
    /// Concurrent clients.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Seconds each measured phase lasts.
    #[arg(long)]
    seconds: Option<f64>,
    /// Runs the matrix of docs/benchmarks.md on one database: every --sweep-clients at
    /// the first of --sweep-sizes, then each larger size at --concurrency, loading more
    /// payments in between; writes CSV and SVG plots to --out. Takes a long while.
    #[arg(long)]
    sweep: bool,
    #[arg(long, value_delimiter = ',', default_value = "10000,1000000,10000000")]
    sweep_sizes: Vec<i64>,
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64,256")]
    sweep_clients: Vec<usize>,
    /// Instead of measuring: a steady mixed load for this many seconds (scripts/soak.sh),
    /// failing on any error or on memory that keeps growing.
    #[arg(long)]
    soak: Option<u64>,
    /// Where --sweep writes its CSV and plots.
    #[arg(long, default_value = "docs/benchmarks")]
    out: std::path::PathBuf,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// (internal) The server under test, started by the bench itself.
    #[command(hide = true)]
    ServeChild {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        sandbox_url: String,
    },
    /// (internal) The PG simulators, in a process of their own.
    #[command(hide = true)]
    SandboxChild {
        #[arg(long)]
        addr: std::net::SocketAddr,
        #[arg(long)]
        notify_url: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Some(Command::ServeChild {
            database_url,
            addr,
            sandbox_url,
        }) => return runtime.block_on(child::serve(database_url, addr, sandbox_url)),
        Some(Command::SandboxChild { addr, notify_url }) => return runtime.block_on(child::sandbox(addr, notify_url)),
        None => {}
    }
    let plan = run::Plan {
        database_url: cli.database_url.clone(),
        payments: cli.payments.unwrap_or(if cli.quick { 10_000 } else { 100_000 }),
        concurrency: cli.concurrency.unwrap_or(64),
        seconds: cli.seconds.unwrap_or(if cli.quick { 3.0 } else { 10.0 }),
    };
    runtime.block_on(async {
        if let Some(seconds) = cli.soak {
            run::soak(&plan, seconds).await
        } else if cli.sweep {
            run::sweep(&plan, &cli.sweep_sizes, &cli.sweep_clients, &cli.out).await
        } else {
            let summary = run::once(&plan).await?;
            summary.print();
            summary.check()
        }
    })
}
