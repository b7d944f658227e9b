//! The database the bench runs on: one sandbox merchant and N payments of theirs,
//! written in bulk by SQL (the load is set-up, not what is measured).

use anyhow::Context;
use sqlx::{Connection, Executor};
use std::io::Write;
use vbank_server::services::merchants::{add_sandbox_merchant, MerchantSpec};

pub const IMP_KEY: &str = "imp_bench";
pub const IMP_SECRET: &str = "bench-secret-not-for-production";
/// Pre-loaded payments are `imp_9…` followed by their number. An account issued in an
/// earlier run of a sweep may have drawn one of those not loaded yet; loading skips it.
const FIRST_IMP_UID: i64 = 900_000_000_000;
const ROWS_PER_STATEMENT: i64 = 50_000;

pub fn preloaded_imp_uid(n: i64) -> String {
    format!("imp_{:012}", FIRST_IMP_UID + n)
}

pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

pub struct Fixture {
    pub merchant_id: i64,
    channel_id: i64,
    mid: String,
    /// Payments pre-loaded so far.
    pub loaded: i64,
}

/// Creates the schema and the bench merchant.
pub async fn prepare(database_url: &str, secrets_key: &str) -> anyhow::Result<Fixture> {
    let store = vbank_store::open_with_key(database_url, Some(vbank_store::SecretsKey::from_base64(secrets_key)?))
        .await
        .with_context(|| format!("cannot open {database_url}"))?;
    let spec = MerchantSpec {
        name: "Bench shop".into(),
        imp_key: IMP_KEY.into(),
        imp_secret: IMP_SECRET.into(),
        ..MerchantSpec::default()
    };
    let (merchant, channels) = add_sandbox_merchant(store.as_ref(), spec).await?;
    Ok(Fixture {
        merchant_id: merchant.id,
        channel_id: channels[0].id,
        mid: channels[0].mid.clone(),
        loaded: 0,
    })
}

/// Pre-loads payments until `payments` are there.
pub async fn load(database_url: &str, fixture: &mut Fixture, payments: i64) -> anyhow::Result<()> {
    if payments <= fixture.loaded {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let now = chrono_now();
    let first = fixture.loaded;
    match Backend::of(database_url) {
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(database_url).await?;
            // Loading is set-up: the measured paths keep synchronous=FULL.
            connection.execute("PRAGMA synchronous = OFF").await?;
            for (from, to) in batches(first, payments) {
                sqlx::query(SQLITE_LOAD)
                    .bind(from)
                    .bind(to)
                    .bind(fixture.merchant_id)
                    .bind(fixture.channel_id)
                    .bind(&fixture.mid)
                    .bind(now)
                    .execute(&mut connection)
                    .await?;
                progress(to + 1, first, payments, started);
            }
            connection.execute("ANALYZE").await?;
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(database_url).await?;
            connection.execute("SET synchronous_commit = off").await?;
            for (from, to) in batches(first, payments) {
                sqlx::query(POSTGRES_LOAD)
                    .bind(from)
                    .bind(to)
                    .bind(fixture.merchant_id)
                    .bind(fixture.channel_id)
                    .bind(&fixture.mid)
                    .bind(now)
                    .execute(&mut connection)
                    .await?;
                progress(to + 1, first, payments, started);
            }
            connection.execute("VACUUM ANALYZE payments").await?;
            // Needs the server's superuser; without it, the load's WAL is flushed in the background.
            let _ = connection.execute("CHECKPOINT").await;
        }
    }
    eprintln!(
        "  loaded {} payments in {:.1} s",
        payments - first,
        started.elapsed().as_secs_f64()
    );
    fixture.loaded = payments;
    Ok(())
}

pub fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

/// Inclusive ranges of payment numbers, one statement each.
fn batches(first: i64, payments: i64) -> impl Iterator<Item = (i64, i64)> {
    (first..payments)
        .step_by(ROWS_PER_STATEMENT as usize)
        .map(move |from| (from, (from + ROWS_PER_STATEMENT).min(payments) - 1))
}

fn progress(loaded: i64, first: i64, payments: i64, started: std::time::Instant) {
    let rate = (loaded - first) as f64 / started.elapsed().as_secs_f64().max(0.001);
    eprint!(
        "\r  loading payments: {loaded}/{payments} ({:.0}%, {rate:.0} rows/s)   ",
        100.0 * loaded as f64 / payments as f64
    );
    let _ = std::io::stderr().flush();
    if loaded == payments {
        eprintln!();
    }
}

// One in ten paid, one in ten cancelled, the rest awaiting deposit; spread over a year of
// issue times. No reconcile time: the simulators do not know these accounts.
const SQLITE_LOAD: &str = "
WITH RECURSIVE seq(n) AS (SELECT ?1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?2)
INSERT OR IGNORE INTO payments (imp_uid, merchant_id, channel_id, merchant_uid, pg_provider, pg_id, pg_tid, pg_secret, sandbox,
    name, amount, cancel_amount, buyer_name, buyer_email, buyer_tel, buyer_addr, buyer_postcode, custom_data,
    vbank_code, vbank_num, vbank_holder, vbank_date, vbank_issued_at, status, started_at, paid_at, failed_at,
    cancelled_at, updated_at, fail_reason, cancel_reason, receipt_url, notice_urls, reconcile_at, reconcile_step)
SELECT printf('imp_%012d', 900000000000 + n), ?3, ?4, printf('bench-order-%d', n), 'tosspayments', ?5,
    printf('bench_tid_%d', n), NULL, 1, 'bench order', 1000 + (n % 50) * 100, 0, '홍길동', 'buyer@example.com',
    '010-0000-0000', NULL, NULL, NULL, '004', printf('9%013d', n), '벤치상점', ?6 + 86400 * 7,
    ?6 - (n % 31536000), CASE n % 10 WHEN 0 THEN 'paid' WHEN 1 THEN 'cancelled' ELSE 'ready' END,
    ?6 - (n % 31536000), CASE n % 10 WHEN 0 THEN ?6 - (n % 31536000) + 600 ELSE 0 END, 0,
    CASE n % 10 WHEN 1 THEN ?6 - (n % 31536000) + 900 ELSE 0 END, ?6 - (n % 31536000), NULL, NULL, NULL, '[]',
    NULL, 0
FROM seq";

const POSTGRES_LOAD: &str = "
INSERT INTO payments (imp_uid, merchant_id, channel_id, merchant_uid, pg_provider, pg_id, pg_tid, pg_secret, sandbox,
    name, amount, cancel_amount, buyer_name, buyer_email, buyer_tel, buyer_addr, buyer_postcode, custom_data,
    vbank_code, vbank_num, vbank_holder, vbank_date, vbank_issued_at, status, started_at, paid_at, failed_at,
    cancelled_at, updated_at, fail_reason, cancel_reason, receipt_url, notice_urls, reconcile_at, reconcile_step)
SELECT 'imp_' || lpad((900000000000 + n)::text, 12, '0'), $3, $4, 'bench-order-' || n, 'tosspayments', $5,
    'bench_tid_' || n, NULL, TRUE, 'bench order', 1000 + (n % 50) * 100, 0, '홍길동', 'buyer@example.com',
    '010-0000-0000', NULL, NULL, NULL, '004', '9' || lpad(n::text, 13, '0'), '벤치상점', $6 + 86400 * 7,
    $6 - (n % 31536000), CASE n % 10 WHEN 0 THEN 'paid' WHEN 1 THEN 'cancelled' ELSE 'ready' END,
    $6 - (n % 31536000), CASE n % 10 WHEN 0 THEN $6 - (n % 31536000) + 600 ELSE 0 END, 0,
    CASE n % 10 WHEN 1 THEN $6 - (n % 31536000) + 900 ELSE 0 END, $6 - (n % 31536000), NULL, NULL, NULL, '[]',
    NULL, 0
FROM generate_series($1::bigint, $2::bigint) AS n
ON CONFLICT DO NOTHING";
