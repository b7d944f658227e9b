//! One run of the bench, and the sweep over sizes and concurrency.

use crate::fixture::{self, preloaded_imp_uid, Backend, Fixture, IMP_KEY, IMP_SECRET};
use crate::http::{expect_ok, Http};
use crate::{ceiling, load, plot};
use anyhow::{bail, Context};
use sqlx::Connection;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[derive(Debug, Clone)]
pub struct Plan {
    pub database_url: Option<String>,
    pub payments: i64,
    pub concurrency: usize,
    pub seconds: f64,
}

#[derive(Debug)]
pub struct Summary {
    pub backend: &'static str,
    pub payments: i64,
    pub concurrency: usize,
    pub commit_ceiling: f64,
    pub fixed_json: load::Outcome,
    pub lookup: load::Outcome,
    pub issue: load::Outcome,
    pub revoke: load::Outcome,
    pub peak_rss_mib: f64,
    pub revoked_recorded: i64,
    pub revoke_events: i64,
}

impl Summary {
    pub fn revoke_vs_commit_ceiling(&self) -> f64 {
        self.revoke.per_second() / self.commit_ceiling
    }

    pub fn lookup_vs_fixed_json(&self) -> f64 {
        self.lookup.per_second() / self.fixed_json.per_second()
    }

    pub fn print(&self) {
        println!("metric backend {}", self.backend);
        println!("metric payments {}", self.payments);
        println!("metric concurrency {}", self.concurrency);
        println!("metric commit_ceiling_per_s {:.0}", self.commit_ceiling);
        for (name, outcome) in [
            ("fixed_json", &self.fixed_json),
            ("lookup", &self.lookup),
            ("issue", &self.issue),
            ("revoke", &self.revoke),
        ] {
            println!("metric {name}_per_s {:.0}", outcome.per_second());
            println!("metric {name}_p50_ms {:.2}", outcome.latency_ms(0.50));
            println!("metric {name}_p99_ms {:.2}", outcome.latency_ms(0.99));
            println!("metric {name}_errors {}", outcome.errors);
        }
        println!("metric peak_rss_mib {:.1}", self.peak_rss_mib);
        println!("metric revokes_recorded_cancelled {}", self.revoked_recorded);
        println!("metric revoke_outbox_events {}", self.revoke_events);
        println!("ratio revoke_vs_commit_ceiling {:.2}", self.revoke_vs_commit_ceiling());
        println!("ratio lookup_vs_fixed_json {:.2}", self.lookup_vs_fixed_json());
        println!(
            "ratio issue_vs_commit_ceiling {:.2}",
            self.issue.per_second() / self.commit_ceiling
        );
    }

    /// A figure only counts if every request succeeded and every revoke left its record.
    pub fn check(&self) -> anyhow::Result<()> {
        for (name, outcome) in [
            ("fixed_json", &self.fixed_json),
            ("lookup", &self.lookup),
            ("issue", &self.issue),
            ("revoke", &self.revoke),
        ] {
            if outcome.errors > 0 {
                bail!(
                    "{} {name} requests failed (first: {}); the figures do not count. Rerun with fewer --concurrency \
                     or look at the error above",
                    outcome.errors,
                    outcome.first_error.as_deref().unwrap_or("?")
                );
            }
        }
        if self.revoked_recorded != self.revoke.done as i64 || self.revoke_events != self.revoke.done as i64 {
            bail!(
                "{} revokes were answered but {} payments are cancelled with {} outbox events: a revoke was not \
                 recorded as promised",
                self.revoke.done,
                self.revoked_recorded,
                self.revoke_events
            );
        }
        Ok(())
    }
}

/// A database for one run, removed after it.
struct Scratch {
    url: String,
    /// The key PG credentials are sealed with, for the bench and its server.
    secrets_key: String,
    _folder: Option<tempfile::TempDir>,
    admin: Option<(String, String)>,
}

impl Scratch {
    async fn create(database_url: Option<&str>) -> anyhow::Result<Scratch> {
        match database_url {
            Some(url) if url.starts_with("postgres") => {
                let name = format!("vbank_bench_{}", std::process::id());
                let mut admin = sqlx::PgConnection::connect(url)
                    .await
                    .with_context(|| format!("cannot connect to {url}; is PostgreSQL running?"))?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut admin)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                let (base, _) = url.rsplit_once('/').context("the PostgreSQL URL needs a /DATABASE")?;
                Ok(Scratch {
                    url: format!("{base}/{name}"),
                    secrets_key: vbank_store::SecretsKey::generate().1,
                    _folder: None,
                    admin: Some((url.to_owned(), name)),
                })
            }
            Some(url) => Ok(Scratch {
                url: url.to_owned(),
                secrets_key: vbank_store::SecretsKey::generate().1,
                _folder: None,
                admin: None,
            }),
            None => {
                let folder = tempfile::tempdir()?;
                Ok(Scratch {
                    url: format!("sqlite://{}", folder.path().join("bench.db").display()),
                    secrets_key: vbank_store::SecretsKey::generate().1,
                    _folder: Some(folder),
                    admin: None,
                })
            }
        }
    }

    async fn remove(self) -> anyhow::Result<()> {
        if let Some((url, name)) = self.admin {
            let mut admin = sqlx::PgConnection::connect(&url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        Ok(())
    }
}

pub async fn once(plan: &Plan) -> anyhow::Result<Summary> {
    let scratch = Scratch::create(plan.database_url.as_deref()).await?;
    let result = async {
        let mut fixture = fixture::prepare(&scratch.url, &scratch.secrets_key).await?;
        fixture::load(&scratch.url, &mut fixture, plan.payments).await?;
        measure(plan, &scratch, &fixture, "run").await
    }
    .await;
    scratch.remove().await?;
    result
}

/// Measures on a database holding `fixture`; `tag` names this run's orders.
async fn measure(plan: &Plan, scratch: &Scratch, fixture: &Fixture, tag: &str) -> anyhow::Result<Summary> {
    let url = scratch.url.as_str();
    let backend = match Backend::of(url) {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let stored = stored_payments(url).await?;
    eprintln!(
        "== {backend}: {stored} payments stored ({} pre-loaded), {} clients, {} s per phase",
        fixture.loaded, plan.concurrency, plan.seconds
    );
    let phase = Duration::from_secs_f64(plan.seconds);

    eprintln!("  baseline: bare one-commit-per-revoke loop on the store");
    let commit_ceiling = ceiling::commit_rate(
        url,
        fixture.merchant_id,
        fixture.loaded,
        plan.seconds,
        vbank_store::postgres_pool_size() as usize,
    )
    .await?;

    let server = Server::start(url, &scratch.secrets_key).await?;
    let token = token(&server.url).await?;
    let auth = Arc::new(format!("Bearer {token}"));

    eprintln!("  baseline: fixed JSON of the same stack");
    let fixed = Http::new(&server.fixed_url)?;
    let get_fixed = move |_| {
        let fixed = fixed.clone();
        async move { expect_ok(fixed.get("/fixed", None).await) }
    };
    let fixed_json = warmed_run(plan.concurrency, phase, get_fixed).await;

    eprintln!("  lookup: GET /payments/{{imp_uid}}");
    let api = Http::new(&server.url)?;
    let payments = fixture.loaded.max(1);
    let lookup_one = {
        let (api, auth) = (api.clone(), auth.clone());
        move |i: u64| {
            let (api, auth) = (api.clone(), auth.clone());
            let path = format!(
                "/payments/{}",
                preloaded_imp_uid((i as i64).wrapping_mul(104_729) % payments)
            );
            async move { expect_ok(api.get(&path, Some(&auth)).await) }
        }
    };
    let lookup = warmed_run(plan.concurrency, phase, lookup_one).await;

    eprintln!("  issue: POST /vbanks (Toss sandbox)");
    let issued = Arc::new(Mutex::new(Vec::new()));
    let due = fixture::chrono_now() + 7 * 86_400;
    let order_prefix = Arc::new(format!("bench-issue-{tag}-"));
    let issue_one = {
        let (api, auth, issued) = (api.clone(), auth.clone(), issued.clone());
        let order_prefix = order_prefix.clone();
        move |i: u64| {
            let (api, auth, issued) = (api.clone(), auth.clone(), issued.clone());
            let merchant_uid = format!("{order_prefix}{i}");
            async move {
                let body = serde_json::json!({
                    "merchant_uid": merchant_uid, "amount": 1000, "vbank_code": "004",
                    "vbank_due": due, "buyer_name": "홍길동", "pg": "tosspayments",
                });
                let (status, body) = api.post_json("/vbanks", Some(&auth), &body).await?;
                let body: serde_json::Value = serde_json::from_slice(&body).map_err(|error| error.to_string())?;
                match body["response"]["imp_uid"].as_str() {
                    Some(imp_uid) if status.is_success() => {
                        issued.lock().unwrap().push(imp_uid.to_owned());
                        Ok(())
                    }
                    _ => Err(format!("{status}: {body}")),
                }
            }
        }
    };
    let issue = load::run(plan.concurrency, phase, u64::MAX, issue_one).await;

    eprintln!("  revoke: DELETE /vbanks/{{imp_uid}} of the {} issued", issue.done);
    let to_revoke: Arc<Vec<String>> = Arc::new(std::mem::take(&mut *issued.lock().unwrap()));
    let revoke_one = {
        let (api, auth, to_revoke) = (api.clone(), auth.clone(), to_revoke.clone());
        move |i: u64| {
            let (api, auth) = (api.clone(), auth.clone());
            let path = format!("/vbanks/{}", to_revoke[i as usize]);
            async move { expect_ok(api.delete(&path, Some(&auth)).await) }
        }
    };
    let revoke = load::run(plan.concurrency, phase, to_revoke.len() as u64, revoke_one).await;
    let peak_rss_mib = server.peak_rss_mib()?;
    server.stop().await?;

    let (revoked_recorded, revoke_events) = recorded_revokes(url, &order_prefix).await?;
    Ok(Summary {
        backend,
        payments: stored,
        concurrency: plan.concurrency,
        commit_ceiling,
        fixed_json,
        lookup,
        issue,
        revoke,
        peak_rss_mib,
        revoked_recorded,
        revoke_events,
    })
}

/// This run's cancelled payments, and their `cancelled` outbox events.
async fn recorded_revokes(url: &str, order_prefix: &str) -> anyhow::Result<(i64, i64)> {
    let pattern = format!("{order_prefix}%");
    Ok((
        count(
            url,
            "SELECT COUNT(*) FROM payments WHERE merchant_uid LIKE $1 AND status = 'cancelled'",
            Some(&pattern),
        )
        .await?,
        count(
            url,
            "SELECT COUNT(*) FROM outbox WHERE merchant_uid LIKE $1 AND status = 'cancelled'",
            Some(&pattern),
        )
        .await?,
    ))
}

async fn stored_payments(url: &str) -> anyhow::Result<i64> {
    count(url, "SELECT COUNT(*) FROM payments", None).await
}

/// One count; `$1` is SQLite's numbered parameter too.
async fn count(url: &str, sql: &str, pattern: Option<&str>) -> anyhow::Result<i64> {
    Ok(match Backend::of(url) {
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(url).await?;
            let query = sqlx::query_scalar(sql);
            let query = if pattern.is_some() { query.bind(pattern) } else { query };
            query.fetch_one(&mut connection).await?
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(url).await?;
            let query = sqlx::query_scalar(sql);
            let query = if pattern.is_some() { query.bind(pattern) } else { query };
            query.fetch_one(&mut connection).await?
        }
    })
}

async fn token(base: &str) -> anyhow::Result<String> {
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/users/getToken"))
        .json(&serde_json::json!({ "imp_key": IMP_KEY, "imp_secret": IMP_SECRET }))
        .send()
        .await?
        .json()
        .await?;
    answer["response"]["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("getToken failed: {answer}"))
}

/// `vbank serve` in a child process (this binary's hidden `serve-child`), with the PG
/// simulators in another (`sandbox-child`).
struct Server {
    child: tokio::process::Child,
    sandbox: tokio::process::Child,
    sandbox_url: String,
    url: String,
    fixed_url: String,
}

/// A port nobody listens on now (the child binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts this binary with `args` and waits for its `ready A B` line.
async fn spawn_child(args: &[&str], secrets_key: &str) -> anyhow::Result<(tokio::process::Child, String, String)> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(args)
        .env("VBANK_SECRETS_KEY", secrets_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout from a child")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(rest) = line.strip_prefix("ready ") {
            let (first, second) = rest.split_once(' ').context("bad ready line")?;
            return Ok((child, first.to_owned(), second.to_owned()));
        }
    }
    bail!("{} exited before it was ready; see its error above", args[0])
}

impl Server {
    async fn start(database_url: &str, secrets_key: &str) -> anyhow::Result<Server> {
        let (server_port, sandbox_port) = (free_port()?, free_port()?);
        let server_addr = format!("127.0.0.1:{server_port}");
        let sandbox_addr = format!("127.0.0.1:{sandbox_port}");
        let notify_url = format!("http://{server_addr}");
        let (sandbox, sandbox_url, _) = spawn_child(
            &["sandbox-child", "--addr", &sandbox_addr, "--notify-url", &notify_url],
            secrets_key,
        )
        .await?;
        let (child, url, fixed_url) = spawn_child(
            &[
                "serve-child",
                "--database-url",
                database_url,
                "--addr",
                &server_addr,
                "--sandbox-url",
                &sandbox_url,
            ],
            secrets_key,
        )
        .await?;
        Ok(Server {
            child,
            sandbox,
            sandbox_url,
            url,
            fixed_url,
        })
    }

    /// The most memory the server held at once (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        self.memory_mib("VmHWM")
    }

    /// A memory figure of the server's `/proc/PID/status`, in MiB.
    fn memory_mib(&self, field: &str) -> anyhow::Result<f64> {
        let pid = self.child.id().context("the server under test has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} in /proc/PID/status"))?;
        Ok(kib / 1024.0)
    }

    /// Closes their stdins, which shuts them down gracefully.
    async fn stop(mut self) -> anyhow::Result<()> {
        for child in [&mut self.child, &mut self.sandbox] {
            drop(child.stdin.take());
            match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
                Ok(status) => {
                    status?;
                }
                Err(_) => child.kill().await?,
            }
        }
        Ok(())
    }
}

/// The matrix of docs/benchmarks.md on one database: concurrency at the first size, then
/// each larger size at `plan.concurrency`, loading more payments between runs. Writes
/// `<out>/<backend>.csv` and plots.
pub async fn sweep(plan: &Plan, sizes: &[i64], clients: &[usize], out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    let scratch = Scratch::create(plan.database_url.as_deref()).await?;
    let result = async {
        let mut fixture = fixture::prepare(&scratch.url, &scratch.secrets_key).await?;
        let mut rows = Vec::new();
        let mut run = 0;
        let (first, larger) = sizes.split_first().context("--sweep-sizes is empty")?;
        fixture::load(&scratch.url, &mut fixture, *first).await?;
        for &concurrency in clients {
            run += 1;
            let summary = measure(
                &Plan {
                    concurrency,
                    ..plan.clone()
                },
                &scratch,
                &fixture,
                &format!("r{run}"),
            )
            .await?;
            summary.print();
            summary.check()?;
            rows.push(summary);
        }
        for &payments in larger {
            fixture::load(&scratch.url, &mut fixture, payments).await?;
            run += 1;
            let summary = measure(plan, &scratch, &fixture, &format!("r{run}")).await?;
            summary.print();
            summary.check()?;
            rows.push(summary);
        }
        anyhow::Ok(rows)
    }
    .await;
    scratch.remove().await?;
    let rows = result?;
    let backend = rows[0].backend;
    let csv = out.join(format!("{backend}.csv"));
    plot::write_csv(&csv, &rows)?;
    plot::write_svgs(out, backend, plan.concurrency, &rows)?;
    eprintln!("wrote {} and the plots in {}", csv.display(), out.display());
    Ok(())
}

/// `--soak SECONDS`: a steady mixed load (issue, lookup, revoke, deposit at the sandbox
/// bank) for a long time, sampling the server's memory every `SAMPLE` s. Fails on any
/// failed request, on a revoke or deposit left unrecorded, or on memory that keeps
/// growing (the last sample more than 20% above the one after the first minute).
pub async fn soak(plan: &Plan, seconds: u64) -> anyhow::Result<()> {
    const SAMPLE: Duration = Duration::from_secs(10);
    let scratch = Scratch::create(plan.database_url.as_deref()).await?;
    let result = async {
        let mut fixture = fixture::prepare(&scratch.url, &scratch.secrets_key).await?;
        fixture::load(&scratch.url, &mut fixture, plan.payments).await?;
        let server = Server::start(&scratch.url, &scratch.secrets_key).await?;
        let auth = Arc::new(format!("Bearer {}", token(&server.url).await?));
        let api = Http::new(&server.url)?;
        let bank = Http::new(&server.sandbox_url)?;
        // Accounts issued and not yet revoked or paid: (imp_uid, account number).
        let open: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
        let preloaded = fixture.loaded.max(1);
        let due = fixture::chrono_now() + 30 * 86_400;
        let one = {
            let (api, auth, open, bank) = (api.clone(), auth.clone(), open.clone(), bank.clone());
            move |i: u64| {
                let (api, auth, open, bank) = (api.clone(), auth.clone(), open.clone(), bank.clone());
                async move {
                    // Of ten: four lookups, three issues, two revokes, one deposit.
                    match i % 10 {
                        0 | 3 | 6 => {
                            let body = serde_json::json!({
                                "merchant_uid": format!("soak-{i}"), "amount": 1000, "vbank_code": "004",
                                "vbank_due": due, "buyer_name": "홍길동", "pg": "tosspayments",
                            });
                            let (_, body) = api.post_json("/vbanks", Some(&auth), &body).await?;
                            let body: serde_json::Value =
                                serde_json::from_slice(&body).map_err(|error| error.to_string())?;
                            let response = &body["response"];
                            match (response["imp_uid"].as_str(), response["vbank_num"].as_str()) {
                                (Some(imp_uid), Some(number)) => {
                                    open.lock().unwrap().push((imp_uid.to_owned(), number.to_owned()));
                                    Ok(())
                                }
                                _ => Err(format!("issue: {body}")),
                            }
                        }
                        1 | 7 => {
                            let Some((imp_uid, _)) = open.lock().unwrap().pop() else { return Ok(()) };
                            expect_ok(api.delete(&format!("/vbanks/{imp_uid}"), Some(&auth)).await)
                        }
                        4 => {
                            let Some((_, number)) = open.lock().unwrap().pop() else { return Ok(()) };
                            let deposit = serde_json::json!({
                                "bank_code": "004", "account_number": number, "amount": 1000, "depositor_name": "홍길동",
                            });
                            let (status, _) = bank.post_json("/sandbox/bank/deposits", None, &deposit).await?;
                            if status.is_success() {
                                Ok(())
                            } else {
                                Err(format!("deposit: {status}"))
                            }
                        }
                        _ => {
                            let imp_uid = preloaded_imp_uid((i as i64).wrapping_mul(104_729) % preloaded);
                            expect_ok(api.get(&format!("/payments/{imp_uid}"), Some(&auth)).await)
                        }
                    }
                }
            }
        };
        eprintln!(
            "== soak: {seconds} s of mixed load, {} clients, {} payments pre-loaded",
            plan.concurrency, fixture.loaded
        );
        let load = load::run(plan.concurrency, Duration::from_secs(seconds), u64::MAX, one);
        let samples = async {
            let mut samples = Vec::new();
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(seconds) {
                tokio::time::sleep(SAMPLE).await;
                let rss = server.memory_mib("VmRSS").unwrap_or(0.0);
                eprintln!("  t={:>4}s rss={rss:.1} MiB", started.elapsed().as_secs());
                samples.push(rss);
            }
            samples
        };
        let (outcome, samples) = tokio::join!(load, samples);
        server.stop().await?;
        println!("metric soak_seconds {seconds}");
        println!("metric soak_requests {}", outcome.done);
        println!("metric soak_per_s {:.0}", outcome.per_second());
        println!("metric soak_p99_ms {:.2}", outcome.latency_ms(0.99));
        println!("metric soak_errors {}", outcome.errors);
        // The first minute fills caches and pools; from then on memory must stay level.
        let settled = samples.get(6).or(samples.last()).copied().unwrap_or(0.0);
        let last = samples.last().copied().unwrap_or(0.0);
        let peak = samples.iter().copied().fold(0.0, f64::max);
        println!("metric soak_rss_after_1min_mib {settled:.1}");
        println!("metric soak_rss_end_mib {last:.1}");
        println!("metric soak_rss_peak_mib {peak:.1}");
        if outcome.errors > 0 {
            bail!(
                "{} requests failed in the soak (first: {})",
                outcome.errors,
                outcome.first_error.as_deref().unwrap_or("?")
            );
        }
        if settled > 0.0 && last > settled * 1.2 {
            bail!("memory kept growing: {settled:.1} MiB after a minute, {last:.1} MiB at the end");
        }
        anyhow::Ok(())
    }
    .await;
    scratch.remove().await?;
    result
}

/// Runs `request` half a second unmeasured (connections opened, caches warm), then for
/// `phase`, measured.
async fn warmed_run<F, Fut>(concurrency: usize, phase: Duration, request: F) -> load::Outcome
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    load::run(concurrency, Duration::from_millis(500), u64::MAX, request.clone()).await;
    load::run(concurrency, phase, u64::MAX, request).await
}
