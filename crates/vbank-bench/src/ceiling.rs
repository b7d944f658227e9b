//! The baseline the revoke path is held to: the store's durable commit rate, one
//! transaction per revoke (the payment's row updated and an outbox event inserted), with
//! the same rows and the same durability settings as the server, and no HTTP at all.

use crate::fixture::{preloaded_imp_uid, Backend};
use sqlx::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Committed transactions per second over `seconds`; PostgreSQL with `connections`
/// committing at once (SQLite has one writer, so one loop is its ceiling).
pub async fn commit_rate(
    database_url: &str,
    merchant_id: i64,
    payments: i64,
    seconds: f64,
    connections: usize,
) -> anyhow::Result<f64> {
    let deadline = Duration::from_secs_f64(seconds);
    let committed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    match Backend::of(database_url) {
        Backend::Sqlite => {
            // The store's own driver and settings, on a thread as its writer runs.
            let path = database_url.trim_start_matches("sqlite://").to_owned();
            let commits = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
                let connection = rusqlite::Connection::open(path)?;
                connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
                let mut n = 0;
                while started.elapsed() < deadline {
                    let imp_uid = preloaded_imp_uid(spread(n, payments));
                    connection.execute_batch("BEGIN IMMEDIATE")?;
                    connection
                        .prepare_cached("UPDATE payments SET updated_at = updated_at + 1 WHERE imp_uid = ?")?
                        .execute([&imp_uid])?;
                    connection
                        .prepare_cached(
                            "INSERT INTO outbox (merchant_id, imp_uid, merchant_uid, status, created_at, expanded) \
                             VALUES (?, ?, 'bench', 'cancelled', 0, 1)",
                        )?
                        .execute(rusqlite::params![merchant_id, imp_uid])?;
                    connection.execute_batch("COMMIT")?;
                    n += 1;
                }
                Ok(n as u64)
            })
            .await??;
            committed.store(commits, Ordering::Relaxed);
        }
        Backend::Postgres => {
            let mut workers = Vec::new();
            for worker in 0..connections {
                let url = database_url.to_owned();
                let committed = committed.clone();
                workers.push(tokio::spawn(async move {
                    let mut connection = sqlx::PgConnection::connect(&url).await?;
                    let mut n = worker as i64;
                    while started.elapsed() < deadline {
                        let imp_uid = preloaded_imp_uid(spread(n, payments));
                        let mut tx = connection.begin().await?;
                        sqlx::query("UPDATE payments SET updated_at = updated_at + 1 WHERE imp_uid = $1")
                            .bind(&imp_uid)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(
                            "INSERT INTO outbox (merchant_id, imp_uid, merchant_uid, status, created_at, expanded) \
                             VALUES ($1, $2, 'bench', 'cancelled', 0, TRUE)",
                        )
                        .bind(merchant_id)
                        .bind(&imp_uid)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        committed.fetch_add(1, Ordering::Relaxed);
                        n += connections as i64;
                    }
                    anyhow::Ok(())
                }));
            }
            for worker in workers {
                worker.await??;
            }
        }
    }
    Ok(committed.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// The n-th row of a walk that visits the table all over, not one hot page.
fn spread(n: i64, payments: i64) -> i64 {
    (n.wrapping_mul(7_919) % payments.max(1)).abs()
}
