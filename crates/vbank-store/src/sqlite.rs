//! The embedded default: one SQLite file in WAL mode with `synchronous=FULL`, so that
//! a commit acknowledged to a client survives a power cut.
//!
//! Writes go through a single connection (SQLite has one writer anyway), owned by the
//! group committer's thread (`group_commit.rs`): each write runs in a savepoint of a
//! shared `BEGIN IMMEDIATE` transaction, the SQLite form of a row lock, and is answered
//! after the commit that holds it. Reads use reader threads of their own (`read_pool.rs`)
//! and never wait for writers. Statements are prepared once per connection and cached.
//!
//! Migrations run through sqlx's migrator, as on PostgreSQL; queries use rusqlite, which
//! runs a statement on the calling thread instead of handing each one to a worker.

use crate::group_commit::GroupCommitter;
use crate::read_pool::ReadPool;
use crate::rows::{
    cancel_entry_from_row, channel_from_row, corrupt, may_have_history, merchant_from_row, order_clause,
    payment_from_row, push_filter, token_from_row, Positional, SqlBuilder, ABANDONED_AFTER_SECONDS, MERCHANT_COLUMNS,
    PAYMENT_COLUMNS, PAYMENT_COLUMN_NAMES,
};
use crate::{
    channel_gone, missing_versions, Backlog, Decide, DeliveryAttempt, DeliveryJob, DeliveryRecord, DeliveryState,
    HistoryNote, IdempotencyClaim, NewMerchant, NoticeKey, PaymentEvent, PaymentFilter, SecretsKey, Store, StoreError,
    StoreResult, TokenRecord, TransitionOutcome,
};
use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Params};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection as _};
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use vbank_core::lifecycle::{Decision, Transition};
use vbank_core::{
    CancellationId, Channel, ChannelSecrets, ImpUid, Merchant, NoticeSources, Payment, PgProvider, UnixSeconds,
    WebhookFormat,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Read connections: two per core, so that the cores stay busy while a read waits on the disk.
fn readers() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from).clamp(1, 16) * 2
}
/// Prepared statements kept per connection (the listings' texts vary).
const STATEMENT_CACHE: usize = 64;

pub struct SqliteStore {
    /// Seals and opens channel secrets (`secrets.rs`).
    secrets_key: Arc<SecretsKey>,
    writer: GroupCommitter,
    readers: ReadPool,
    _checkpointer: Checkpointer,
}

/// Copies committed pages from the WAL into the database file, off the writer's path:
/// with `synchronous=FULL` a checkpoint waits for the disk twice, and inside a commit it
/// would hold up every writer of the batch. A passive checkpoint every quarter second
/// keeps up with any load this machine can commit; one that cannot finish (readers
/// still on old pages) is retried, and a WAL grown past `WAL_RESTART_PAGES` is restarted
/// (briefly waiting for writers). Stops when the store is dropped.
struct Checkpointer {
    _stop: std::sync::mpsc::Sender<()>,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
const WAL_RESTART_PAGES: i64 = 65_536;

impl Checkpointer {
    fn start(open: impl FnOnce() -> rusqlite::Result<Connection> + Send + 'static) -> StoreResult<Checkpointer> {
        let connection = open()?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("vbank-sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                    let checkpoint = |mode: &str| {
                        connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
                            row.get::<_, i64>(1)
                        })
                    };
                    match checkpoint("PASSIVE") {
                        Ok(wal_pages) if wal_pages > WAL_RESTART_PAGES => {
                            if let Err(error) = checkpoint("RESTART") {
                                tracing::warn!(%error, wal_pages, "the WAL could not be restarted; retrying");
                            }
                        }
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "a WAL checkpoint failed; retrying"),
                    }
                }
                // A last one, so that a clean stop leaves the database file whole.
                let _ = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            })
            .map_err(|error| StoreError::Unavailable(format!("cannot start the checkpoint thread: {error}")))?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// The file a `sqlite://PATH` (or `sqlite:PATH`) URL names; query options are sqlx's.
fn path_of(url: &str) -> PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite://PATH` URL and migrates it.
    pub async fn open(url: &str, secrets_key: SecretsKey) -> StoreResult<SqliteStore> {
        let mut migrations = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10))
            .connect()
            .await?;
        MIGRATOR.run(&mut migrations).await?;
        migrations.close().await?;

        let path = path_of(url);
        let writer_path = path.clone();
        let secrets_key = Arc::new(secrets_key);
        let sealer = secrets_key.clone();
        let writer = tokio::task::spawn_blocking(move || -> StoreResult<Connection> {
            let connection = Connection::open(writer_path)?;
            seal_plain_secrets(&connection, &sealer)?;
            configure(&connection)?;
            // Checkpoints run on their own thread (`Checkpointer`), not inside a commit.
            connection.pragma_update(None, "wal_autocheckpoint", 0)?;
            // One process owns a SQLite file: leases held by a process that died are void.
            connection.execute(
                "UPDATE webhook_deliveries SET leased_until = NULL WHERE leased_until IS NOT NULL",
                [],
            )?;
            Ok(connection)
        })
        .await
        .map_err(|error| StoreError::Unavailable(error.to_string()))??;
        let reader_path = path.clone();
        let readers = ReadPool::start(readers(), move || {
            let connection = Connection::open_with_flags(
                &reader_path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            configure(&connection)?;
            Ok(connection)
        })?;
        let checkpoint_path = path.clone();
        let checkpointer = Checkpointer::start(move || {
            let connection = Connection::open(&checkpoint_path)?;
            configure(&connection)?;
            Ok(connection)
        })?;
        Ok(SqliteStore {
            secrets_key,
            writer: GroupCommitter::start(writer).map_err(|error| StoreError::Unavailable(error.to_string()))?,
            readers,
            _checkpointer: checkpointer,
        })
    }

    async fn read<T, F>(&self, body: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.readers.read(body).await
    }

    /// A point read (one row by its key) on the caller's thread: cheaper than the hand-off
    /// to a reader thread, and short enough not to hold up the runtime.
    async fn read_now<T, F>(&self, body: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        self.readers.read_now(body)
    }
}

/// A query text with its parameters, for listings whose shape depends on the filter.
#[derive(Default)]
struct Query {
    text: String,
    values: Vec<SqlValue>,
}

impl SqlBuilder for Query {
    fn sql(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn bind_int(&mut self, value: i64) {
        self.text.push('?');
        self.values.push(SqlValue::Integer(value));
    }

    fn bind_text(&mut self, value: String) {
        self.text.push('?');
        self.values.push(SqlValue::Text(value));
    }
}

static PAYMENT_BY_IMP_UID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE imp_uid = ?"));
static MERCHANTS_PAYMENT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE imp_uid = ? AND merchant_id = ?"));
static PAYMENT_BY_PG_TID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE pg_provider = ? AND pg_tid = ?"));
static INSERT_PAYMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ({})",
        vec!["?"; 35].join(", ")
    )
});
static RECONCILE_DUE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE reconcile_at IS NOT NULL AND reconcile_at <= ? \
         AND status IN ('ready', 'revoke_in_doubt') ORDER BY reconcile_at LIMIT ?"
    )
});
const CHANNEL_BY_ID: &str =
    "SELECT id, merchant_id, pg_provider, mid, sandbox, secrets, notice_sources FROM channels WHERE id = ?";
static MERCHANT_BY_IMP_KEY: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE imp_key = ?"));

/// Loads payments with their cancel histories: one query for the rows, and one for the
/// histories of those that can have one.
fn load_payments(connection: &Connection, sql: &str, parameters: impl Params) -> StoreResult<Vec<Payment>> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(parameters)?;
    let mut payments = Vec::new();
    let mut with_history = Vec::new();
    while let Some(row) = rows.next()? {
        let row = Positional {
            row,
            names: &PAYMENT_COLUMN_NAMES,
        };
        if may_have_history(&row)? {
            with_history.push(payments.len());
        }
        payments.push(payment_from_row(&row, Vec::new())?);
    }
    if with_history.is_empty() {
        return Ok(payments);
    }
    let by_imp_uid: HashMap<String, usize> = with_history
        .iter()
        .map(|&index| (payments[index].imp_uid.as_str().to_owned(), index))
        .collect();
    let sql = format!(
        "SELECT cancellation_id, imp_uid, pg_tid, amount, cancelled_at, reason, receipt_url \
         FROM cancel_history WHERE imp_uid IN ({}) ORDER BY cancelled_at, rowid",
        vec!["?"; by_imp_uid.len()].join(", ")
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut rows = statement.query(params_from_iter(by_imp_uid.keys()))?;
    while let Some(row) = rows.next()? {
        let imp_uid: String = row.get("imp_uid")?;
        if let Some(&index) = by_imp_uid.get(&imp_uid) {
            payments[index].cancel_history.push(cancel_entry_from_row(row)?);
        }
    }
    Ok(payments)
}

fn insert_outbox(
    connection: &Connection,
    payment: &Payment,
    status: &str,
    cancellation_id: Option<&str>,
    at: UnixSeconds,
) -> StoreResult<()> {
    connection
        .prepare_cached(
            "INSERT INTO outbox (merchant_id, imp_uid, merchant_uid, status, cancellation_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![
            payment.merchant_id,
            payment.imp_uid.as_str(),
            payment.merchant_uid.as_str(),
            status,
            cancellation_id,
            at
        ])?;
    Ok(())
}

fn insert_event(
    connection: &Connection,
    imp_uid: &ImpUid,
    at: UnixSeconds,
    kind: &str,
    detail: &str,
) -> StoreResult<()> {
    connection
        .prepare_cached("INSERT INTO payment_events (imp_uid, at, kind, detail) VALUES (?, ?, ?, ?)")?
        .execute(params![imp_uid.as_str(), at, kind, detail])?;
    Ok(())
}

/// Writes a decided transition. The `status = ?` guard makes a write based on a stale
/// read impossible, even though the write lock already excludes one.
fn write_transition(connection: &Connection, transition: &Transition) -> StoreResult<()> {
    let after = &transition.payment;
    let updated = connection
        .prepare_cached(
            "UPDATE payments SET status = ?, cancel_amount = ?, paid_at = ?, failed_at = ?, cancelled_at = ?, \
             updated_at = ?, fail_reason = ?, cancel_reason = ?, reconcile_at = ?, amount = ?, vbank_date = ? \
             WHERE imp_uid = ? AND status = ?",
        )?
        .execute(params![
            after.status.as_str(),
            after.cancel_amount.get(),
            after.paid_at,
            after.failed_at,
            after.cancelled_at,
            after.updated_at,
            after.fail_reason.as_deref(),
            after.cancel_reason.as_deref(),
            after.reconcile_at,
            after.amount.get(),
            after.account.due,
            after.imp_uid.as_str(),
            transition.from.as_str(),
        ])?;
    if updated != 1 {
        return Err(StoreError::Conflict(format!(
            "payment {} changed under a transition from {}",
            after.imp_uid,
            transition.from.as_str()
        )));
    }
    if let Some(entry) = &transition.cancel_entry {
        connection
            .prepare_cached(
                "INSERT INTO cancel_history (cancellation_id, imp_uid, pg_tid, amount, cancelled_at, reason, \
                 receipt_url) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )?
            .execute(params![
                entry.cancellation_id.as_str(),
                after.imp_uid.as_str(),
                entry.pg_tid,
                entry.amount.get(),
                entry.cancelled_at,
                entry.reason,
                entry.receipt_url,
            ])?;
    }
    if let Some(event) = &transition.event {
        insert_outbox(
            connection,
            after,
            event.status.as_str(),
            event.cancellation_id.as_ref().map(CancellationId::as_str),
            after.updated_at,
        )?;
    }
    Ok(())
}

/// Seals the channel secrets of rows written before sealing existed.
fn seal_plain_secrets(connection: &Connection, key: &SecretsKey) -> StoreResult<()> {
    let plain = connection
        .prepare("SELECT id, secrets FROM channels")?
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, stored) in plain.into_iter().filter(|(_, stored)| !SecretsKey::is_sealed(stored)) {
        let sealed = key.seal(&key.open(&stored)?)?;
        connection.execute("UPDATE channels SET secrets = ? WHERE id = ?", params![sealed, id])?;
    }
    Ok(())
}

/// `sealed`: each channel's secrets, sealed, in order.
fn create_merchant(
    connection: &Connection,
    merchant: NewMerchant,
    sealed: Vec<String>,
) -> StoreResult<(Merchant, Vec<Channel>)> {
    let now = chrono::Utc::now().timestamp();
    let merchant_id: Option<i64> = connection
        .prepare_cached(
            "INSERT INTO merchants (imp_key, imp_secret_hash, name, created_at, webhook_url, webhook_format, \
             webhook_secret) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (imp_key) DO NOTHING RETURNING id",
        )?
        .query_row(
            params![
                merchant.imp_key,
                merchant.imp_secret_hash,
                merchant.name,
                now,
                merchant.webhook.url.as_deref(),
                merchant.webhook.format.as_str(),
                merchant.webhook.secret.as_deref(),
            ],
            |row| row.get(0),
        )
        .optional()?;
    let Some(merchant_id) = merchant_id else {
        return Err(StoreError::Conflict(format!(
            "a merchant with imp_key {} exists already; choose another --imp-key",
            merchant.imp_key
        )));
    };
    let mut channels = Vec::with_capacity(merchant.channels.len());
    for ((position, channel), secrets) in merchant.channels.iter().enumerate().zip(sealed) {
        let id: i64 = connection
            .prepare_cached(
                "INSERT INTO channels (merchant_id, pg_provider, mid, sandbox, secrets, position) \
                 VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            )?
            .query_row(
                params![
                    merchant_id,
                    channel.provider.code(),
                    channel.mid,
                    channel.sandbox,
                    secrets,
                    position as i64
                ],
                |row| row.get(0),
            )?;
        channels.push(Channel {
            id,
            merchant_id,
            provider: channel.provider,
            mid: channel.mid.clone(),
            sandbox: channel.sandbox,
            secrets: channel.secrets.clone(),
            notice_sources: vbank_core::NoticeSources::any(),
        });
    }
    Ok((
        Merchant {
            id: merchant_id,
            imp_key: merchant.imp_key,
            imp_secret_hash: merchant.imp_secret_hash,
            name: merchant.name,
            webhook: merchant.webhook,
        },
        channels,
    ))
}

fn insert_payment(connection: &Connection, payment: &Payment) -> StoreResult<()> {
    let notice_urls = serde_json::to_string(&payment.notice_urls).map_err(corrupt)?;
    connection.prepare_cached(&INSERT_PAYMENT)?.execute(params![
        payment.imp_uid.as_str(),
        payment.merchant_id,
        payment.channel_id,
        payment.merchant_uid.as_str(),
        payment.pg_provider.code(),
        payment.pg_id,
        payment.pg_tid,
        payment.pg_secret.as_deref(),
        payment.sandbox,
        payment.name.as_deref(),
        payment.amount.get(),
        payment.cancel_amount.get(),
        payment.buyer.name.as_deref(),
        payment.buyer.email.as_deref(),
        payment.buyer.tel.as_deref(),
        payment.buyer.addr.as_deref(),
        payment.buyer.postcode.as_deref(),
        payment.custom_data.as_deref(),
        payment.account.bank.kftc(),
        payment.account.number,
        payment.account.holder.as_deref(),
        payment.account.due,
        payment.account.issued_at,
        payment.status.as_str(),
        payment.started_at,
        payment.paid_at,
        payment.failed_at,
        payment.cancelled_at,
        payment.updated_at,
        payment.fail_reason.as_deref(),
        payment.cancel_reason.as_deref(),
        payment.receipt_url.as_deref(),
        notice_urls,
        payment.reconcile_at,
        payment.reconcile_step,
    ])?;
    insert_outbox(
        connection,
        payment,
        payment.status.wire().as_str(),
        None,
        payment.started_at,
    )?;
    insert_event(
        connection,
        &payment.imp_uid,
        payment.started_at,
        "issued",
        &payment.pg_tid,
    )
}

/// The payment with the channel it was issued on, read on the same connection.
fn with_channel(db: &Connection, payment: Payment, key: &SecretsKey) -> StoreResult<(Payment, Channel)> {
    let mut statement = db.prepare_cached(CHANNEL_BY_ID)?;
    let mut rows = statement.query([payment.channel_id])?;
    let channel = match rows.next()? {
        Some(row) => channel_from_row(row, key)?,
        None => return Err(channel_gone(&payment)),
    };
    Ok((payment, channel))
}

fn transition(
    connection: &Connection,
    imp_uid: &ImpUid,
    now: UnixSeconds,
    audit: &str,
    notes: &[HistoryNote],
    decide: Decide,
) -> StoreResult<TransitionOutcome> {
    let Some(payment) = load_payments(connection, &PAYMENT_BY_IMP_UID, [imp_uid.as_str()])?.pop() else {
        return Ok(TransitionOutcome::NotFound);
    };
    for note in notes {
        insert_event(connection, imp_uid, now, note.kind, &note.detail)?;
    }
    match decide(&payment) {
        Decision::Apply(transition) => {
            write_transition(connection, &transition)?;
            let detail = format!(
                "{} -> {}: {audit}",
                transition.from.as_str(),
                transition.payment.status.as_str()
            );
            insert_event(connection, imp_uid, now, "transition", &detail)?;
            Ok(TransitionOutcome::Applied(transition.payment))
        }
        unchanged @ Decision::AlreadyRecorded => Ok(TransitionOutcome::Unchanged(payment, unchanged)),
        Decision::Anomaly(anomaly) => {
            insert_event(connection, imp_uid, now, "anomaly", &format!("{anomaly:?}: {audit}"))?;
            Ok(TransitionOutcome::Unchanged(payment, Decision::Anomaly(anomaly)))
        }
    }
}

fn claim_for_reconcile(
    connection: &Connection,
    now: UnixSeconds,
    lease_until: UnixSeconds,
    limit: u32,
) -> StoreResult<Vec<Payment>> {
    let payments = load_payments(connection, &RECONCILE_DUE, params![now, i64::from(limit)])?;
    let mut lease = connection.prepare_cached("UPDATE payments SET reconcile_at = ? WHERE imp_uid = ?")?;
    for payment in &payments {
        // The lease: no other worker takes it until then; a worker that died frees it then.
        lease.execute(params![lease_until, payment.imp_uid.as_str()])?;
    }
    Ok(payments)
}

fn expand_outbox(connection: &Connection, now: UnixSeconds, limit: u32) -> StoreResult<usize> {
    let mut select = connection.prepare_cached(
        "SELECT o.id, o.merchant_id, o.imp_uid, p.notice_urls, m.webhook_url FROM outbox o \
         JOIN payments p ON p.imp_uid = o.imp_uid JOIN merchants m ON m.id = o.merchant_id \
         WHERE o.expanded = 0 ORDER BY o.id LIMIT ?",
    )?;
    let events = select
        .query_map([i64::from(limit)], |row| {
            Ok((
                row.get::<_, i64>("id")?,
                row.get::<_, i64>("merchant_id")?,
                row.get::<_, String>("imp_uid")?,
                row.get::<_, String>("notice_urls")?,
                row.get::<_, Option<String>>("webhook_url")?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut deliver = connection.prepare_cached(
        "INSERT INTO webhook_deliveries (outbox_id, merchant_id, imp_uid, url, state, next_attempt_at, created_at) \
         VALUES (?, ?, ?, ?, 'pending', ?, ?)",
    )?;
    let mut expanded = connection.prepare_cached("UPDATE outbox SET expanded = 1 WHERE id = ?")?;
    for (event_id, merchant_id, imp_uid, notice_urls, default_url) in &events {
        let notice_urls: Vec<String> = serde_json::from_str(notice_urls).map_err(corrupt)?;
        let urls = if notice_urls.is_empty() {
            default_url.iter().cloned().collect()
        } else {
            notice_urls
        };
        for url in urls {
            deliver.execute(params![event_id, merchant_id, imp_uid, url, now, now])?;
        }
        expanded.execute([event_id])?;
    }
    Ok(events.len())
}

fn claim_deliveries(
    connection: &Connection,
    now: UnixSeconds,
    lease_until: UnixSeconds,
    limit: u32,
) -> StoreResult<Vec<DeliveryJob>> {
    let mut select = connection.prepare_cached(
        "SELECT d.id, d.outbox_id, d.url, d.attempts, o.imp_uid, o.merchant_uid, o.status, o.cancellation_id, \
         m.webhook_format, m.webhook_secret FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id \
         JOIN merchants m ON m.id = d.merchant_id \
         WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.leased_until IS NULL OR d.leased_until <= ?) \
         ORDER BY d.next_attempt_at, d.id LIMIT ?",
    )?;
    let mut rows = select.query(params![now, now, i64::from(limit)])?;
    let mut jobs = Vec::new();
    while let Some(row) = rows.next()? {
        let format: String = row.get("webhook_format")?;
        jobs.push(DeliveryJob {
            delivery_id: row.get("id")?,
            event_id: row.get("outbox_id")?,
            url: row.get("url")?,
            attempts: row.get("attempts")?,
            imp_uid: row.get("imp_uid")?,
            merchant_uid: row.get("merchant_uid")?,
            status: row.get("status")?,
            cancellation_id: row.get("cancellation_id")?,
            format: WebhookFormat::parse(&format).ok_or_else(|| corrupt(format!("webhook_format {format}")))?,
            secret: row.get("webhook_secret")?,
        });
    }
    let mut lease = connection.prepare_cached("UPDATE webhook_deliveries SET leased_until = ? WHERE id = ?")?;
    for job in &jobs {
        // The lease: nobody else picks it up until then; a crash frees it by then.
        lease.execute(params![lease_until, job.delivery_id])?;
    }
    Ok(jobs)
}

fn record_attempt(
    connection: &Connection,
    delivery_id: i64,
    attempt: &DeliveryAttempt,
    state: DeliveryState,
) -> StoreResult<()> {
    connection
        .prepare_cached(
            "INSERT INTO webhook_attempts (delivery_id, at, http_status, latency_ms, error) VALUES (?, ?, ?, ?, ?)",
        )?
        .execute(params![
            delivery_id,
            attempt.at,
            attempt.http_status.map(i64::from),
            attempt.latency_ms,
            attempt.error.as_deref()
        ])?;
    let (state_name, next_attempt_at, delivered_at) = match state {
        DeliveryState::Delivered => ("delivered", None, Some(attempt.at)),
        DeliveryState::RetryAt(at) => ("pending", Some(at), None),
        DeliveryState::Failed => ("failed", None, None),
    };
    connection
        .prepare_cached(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?, next_attempt_at = ?, delivered_at = ?, \
             leased_until = NULL WHERE id = ?",
        )?
        .execute(params![state_name, next_attempt_at, delivered_at, delivery_id])?;
    Ok(())
}

fn claim_idempotency_key(
    connection: &Connection,
    merchant_id: i64,
    key: &str,
    request_hash: &str,
    now: UnixSeconds,
) -> StoreResult<IdempotencyClaim> {
    let existing = connection
        .prepare_cached(
            "SELECT request_hash, status_code, body, created_at FROM idempotency_keys WHERE merchant_id = ? AND key = ?",
        )?
        .query_row(params![merchant_id, key], |row| {
            Ok((
                row.get::<_, String>("request_hash")?,
                row.get::<_, Option<i64>>("status_code")?,
                row.get::<_, Option<Vec<u8>>>("body")?,
                row.get::<_, i64>("created_at")?,
            ))
        })
        .optional()?;
    Ok(match existing {
        None => {
            connection
                .prepare_cached(
                    "INSERT INTO idempotency_keys (merchant_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)",
                )?
                .execute(params![merchant_id, key, request_hash, now])?;
            IdempotencyClaim::Claimed
        }
        // A first request that never finished (its process died) is abandoned.
        Some((_, None, _, created_at)) if created_at < now - ABANDONED_AFTER_SECONDS => {
            connection
                .prepare_cached(
                    "UPDATE idempotency_keys SET request_hash = ?, created_at = ? WHERE merchant_id = ? AND key = ?",
                )?
                .execute(params![request_hash, now, merchant_id, key])?;
            IdempotencyClaim::Claimed
        }
        Some((_, None, _, _)) => IdempotencyClaim::InFlight,
        Some((request_hash, Some(status), body, _)) => IdempotencyClaim::Done {
            request_hash,
            status: status as u16,
            body: body.unwrap_or_default(),
        },
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_merchant(&self, merchant: NewMerchant) -> StoreResult<(Merchant, Vec<Channel>)> {
        let sealed = merchant
            .channels
            .iter()
            .map(|channel| self.secrets_key.seal(&channel.secrets))
            .collect::<StoreResult<Vec<_>>>()?;
        self.writer.write(move |tx| create_merchant(tx, merchant, sealed)).await
    }

    async fn merchant_count(&self) -> StoreResult<i64> {
        self.read(|db| Ok(db.query_row("SELECT COUNT(*) FROM merchants", [], |row| row.get(0))?))
            .await
    }

    async fn merchant_by_imp_key(&self, imp_key: &str) -> StoreResult<Option<Merchant>> {
        self.read_now(|db| {
            let mut statement = db.prepare_cached(&MERCHANT_BY_IMP_KEY)?;
            let mut rows = statement.query([imp_key])?;
            rows.next()?.map(merchant_from_row).transpose()
        })
        .await
    }

    async fn channels(&self, merchant_id: i64) -> StoreResult<Vec<Channel>> {
        let key = self.secrets_key.clone();
        self.read(move |db| {
            let mut statement = db.prepare_cached(
                "SELECT id, merchant_id, pg_provider, mid, sandbox, secrets, notice_sources FROM channels \
                 WHERE merchant_id = ? ORDER BY position",
            )?;
            let mut rows = statement.query([merchant_id])?;
            let mut channels = Vec::new();
            while let Some(row) = rows.next()? {
                channels.push(channel_from_row(row, &key)?);
            }
            Ok(channels)
        })
        .await
    }

    async fn channel(&self, channel_id: i64) -> StoreResult<Option<Channel>> {
        self.read_now(|db| {
            let mut statement = db.prepare_cached(CHANNEL_BY_ID)?;
            let mut rows = statement.query([channel_id])?;
            rows.next()?
                .map(|row| channel_from_row(row, &self.secrets_key))
                .transpose()
        })
        .await
    }

    async fn update_channel_secrets(&self, channel_id: i64, secrets: &ChannelSecrets) -> StoreResult<()> {
        let secrets = self.secrets_key.seal(secrets)?;
        self.writer
            .write(move |tx| {
                tx.prepare_cached("UPDATE channels SET secrets = ? WHERE id = ?")?
                    .execute(params![secrets, channel_id])?;
                Ok(())
            })
            .await
    }

    async fn set_notice_sources(&self, channel_id: i64, sources: &NoticeSources) -> StoreResult<()> {
        let sources = sources.to_string();
        self.writer
            .write(move |tx| {
                tx.prepare_cached("UPDATE channels SET notice_sources = ? WHERE id = ?")?
                    .execute(params![sources, channel_id])?;
                Ok(())
            })
            .await
    }

    async fn server_key(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let (name, candidate) = (name.to_owned(), candidate.to_vec());
        self.writer
            .write(move |tx| {
                tx.prepare_cached("INSERT INTO server_keys (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")?
                    .execute(params![name, candidate])?;
                Ok(tx
                    .prepare_cached("SELECT value FROM server_keys WHERE name = ?")?
                    .query_row([name], |row| row.get(0))?)
            })
            .await
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        let token = token.clone();
        self.writer
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO tokens (token_hash, token_id, merchant_id, issued_at, expires_at) \
                     VALUES (?, ?, ?, ?, ?)",
                )?
                .execute(params![
                    token.token_hash,
                    token.token_id,
                    token.merchant_id,
                    token.issued_at,
                    token.expires_at
                ])?;
                Ok(())
            })
            .await
    }

    async fn token_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<TokenRecord>> {
        self.read_now(|db| {
            let mut statement = db.prepare_cached(
                "SELECT token_hash, token_id, merchant_id, issued_at, expires_at FROM tokens WHERE token_hash = ?",
            )?;
            let mut rows = statement.query([token_hash])?;
            rows.next()?.map(token_from_row).transpose()
        })
        .await
    }

    async fn live_token(&self, merchant_id: i64, now: UnixSeconds) -> StoreResult<Option<TokenRecord>> {
        // Read in the writer's order, so that a token committed a moment ago is seen.
        self.writer
            .write(move |tx| {
                let mut statement = tx.prepare_cached(
                    "SELECT token_hash, token_id, merchant_id, issued_at, expires_at FROM tokens \
                     WHERE merchant_id = ? AND expires_at > ? ORDER BY issued_at DESC, expires_at DESC LIMIT 1",
                )?;
                let mut rows = statement.query(params![merchant_id, now])?;
                rows.next()?.map(token_from_row).transpose()
            })
            .await
    }

    async fn extend_token(&self, token_hash: &[u8], expires_at: UnixSeconds) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.writer
            .write(move |tx| {
                tx.prepare_cached("UPDATE tokens SET expires_at = MAX(expires_at, ?) WHERE token_hash = ?")?
                    .execute(params![expires_at, token_hash])?;
                Ok(())
            })
            .await
    }

    async fn insert_payment(&self, payment: &Payment) -> StoreResult<()> {
        let payment = payment.clone();
        self.writer.write(move |tx| insert_payment(tx, &payment)).await
    }

    async fn payment(&self, merchant_id: i64, imp_uid: &ImpUid) -> StoreResult<Option<Payment>> {
        self.read_now(|db| Ok(load_payments(db, &MERCHANTS_PAYMENT, params![imp_uid.as_str(), merchant_id])?.pop()))
            .await
    }

    async fn payment_with_channel(
        &self,
        merchant_id: i64,
        imp_uid: &ImpUid,
    ) -> StoreResult<Option<(Payment, Channel)>> {
        // Both rows in one read transaction.
        self.read_now(|db| {
            load_payments(db, &MERCHANTS_PAYMENT, params![imp_uid.as_str(), merchant_id])?
                .pop()
                .map(|payment| with_channel(db, payment, &self.secrets_key))
                .transpose()
        })
        .await
    }

    async fn payment_for_pg(&self, imp_uid: &ImpUid) -> StoreResult<Option<Payment>> {
        self.read_now(|db| Ok(load_payments(db, &PAYMENT_BY_IMP_UID, [imp_uid.as_str()])?.pop()))
            .await
    }

    async fn payment_for_notice(&self, key: NoticeKey<'_>) -> StoreResult<Option<(Payment, Channel)>> {
        // Both rows in one read transaction: a notice follows nearly every revoke.
        self.read_now(|db| {
            let payment = match key {
                NoticeKey::ImpUid(imp_uid) => load_payments(db, &PAYMENT_BY_IMP_UID, [imp_uid.as_str()])?.pop(),
                NoticeKey::PgTid(provider, pg_tid) => {
                    load_payments(db, &PAYMENT_BY_PG_TID, params![provider.code(), pg_tid])?.pop()
                }
            };
            payment
                .map(|payment| with_channel(db, payment, &self.secrets_key))
                .transpose()
        })
        .await
    }

    async fn payment_by_pg_tid(&self, provider: PgProvider, pg_tid: &str) -> StoreResult<Option<Payment>> {
        self.read_now(|db| Ok(load_payments(db, &PAYMENT_BY_PG_TID, params![provider.code(), pg_tid])?.pop()))
            .await
    }

    async fn payments_by_uids(
        &self,
        merchant_id: i64,
        imp_uids: &[String],
        merchant_uids: &[String],
    ) -> StoreResult<Vec<Payment>> {
        if imp_uids.is_empty() && merchant_uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = Query::default();
        query.sql(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE merchant_id = "));
        query.bind_int(merchant_id);
        for (column, values) in [("imp_uid", imp_uids), ("merchant_uid", merchant_uids)] {
            query.sql(if column == "imp_uid" {
                " AND (imp_uid IN ("
            } else {
                ") OR merchant_uid IN ("
            });
            // An empty string matches nothing and keeps `IN ()` valid.
            query.bind_text(String::new());
            for value in values {
                query.sql(", ");
                query.bind_text(value.clone());
            }
        }
        query.sql(")) ORDER BY started_at DESC, imp_uid DESC");
        self.read(move |db| load_payments(db, &query.text, params_from_iter(query.values)))
            .await
    }

    async fn merchant_uid_is_paid(&self, merchant_id: i64, merchant_uid: &str) -> StoreResult<bool> {
        self.read_now(|db| {
            let paid: i64 = db
                .prepare_cached(
                    "SELECT COUNT(*) FROM payments WHERE merchant_id = ? AND merchant_uid = ? AND status = 'paid'",
                )?
                .query_row(params![merchant_id, merchant_uid], |row| row.get(0))?;
            Ok(paid > 0)
        })
        .await
    }

    async fn list_payments(&self, merchant_id: i64, filter: &PaymentFilter) -> StoreResult<(u64, Vec<Payment>)> {
        let mut count = Query::default();
        count.sql("SELECT COUNT(*) FROM payments");
        push_filter(&mut count, merchant_id, filter);
        let mut page = Query::default();
        page.sql(&format!("SELECT {PAYMENT_COLUMNS} FROM payments"));
        push_filter(&mut page, merchant_id, filter);
        page.sql(&order_clause(filter.sorting));
        page.sql(" LIMIT ");
        page.bind_int(i64::from(filter.limit));
        page.sql(" OFFSET ");
        page.bind_int(filter.offset as i64);
        self.read(move |db| {
            let total: i64 = db
                .prepare_cached(&count.text)?
                .query_row(params_from_iter(count.values), |row| row.get(0))?;
            Ok((
                total as u64,
                load_payments(db, &page.text, params_from_iter(page.values))?,
            ))
        })
        .await
    }

    async fn transition(
        &self,
        imp_uid: &ImpUid,
        now: UnixSeconds,
        audit: &str,
        notes: Vec<HistoryNote>,
        decide: Decide,
    ) -> StoreResult<TransitionOutcome> {
        let (imp_uid, audit) = (imp_uid.clone(), audit.to_owned());
        self.writer
            .write(move |tx| transition(tx, &imp_uid, now, &audit, &notes, decide))
            .await
    }

    async fn claim_for_reconcile(
        &self,
        now: UnixSeconds,
        lease_until: UnixSeconds,
        limit: u32,
    ) -> StoreResult<Vec<Payment>> {
        self.writer
            .write(move |tx| claim_for_reconcile(tx, now, lease_until, limit))
            .await
    }

    async fn reschedule(&self, imp_uid: &ImpUid, reconcile_at: Option<UnixSeconds>, step: u32) -> StoreResult<()> {
        let imp_uid = imp_uid.clone();
        self.writer
            .write(move |tx| {
                tx.prepare_cached(
                    "UPDATE payments SET reconcile_at = ?, reconcile_step = ? \
                     WHERE imp_uid = ? AND status IN ('ready', 'revoke_in_doubt')",
                )?
                .execute(params![reconcile_at, step, imp_uid.as_str()])?;
                Ok(())
            })
            .await
    }

    async fn expand_outbox(&self, now: UnixSeconds, limit: u32) -> StoreResult<usize> {
        self.writer.write(move |tx| expand_outbox(tx, now, limit)).await
    }

    async fn claim_deliveries(
        &self,
        now: UnixSeconds,
        lease_until: UnixSeconds,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        self.writer
            .write(move |tx| claim_deliveries(tx, now, lease_until, limit))
            .await
    }

    async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &DeliveryAttempt,
        state: DeliveryState,
    ) -> StoreResult<()> {
        let attempt = attempt.clone();
        self.writer
            .write(move |tx| record_attempt(tx, delivery_id, &attempt, state))
            .await
    }

    async fn deliveries(&self, merchant_id: i64, imp_uid: &str) -> StoreResult<Vec<DeliveryRecord>> {
        let imp_uid = imp_uid.to_owned();
        self.read(move |db| {
            let mut select = db.prepare_cached(
                "SELECT d.id, d.outbox_id, d.imp_uid, o.status, o.cancellation_id, d.url, d.state, \
                 d.next_attempt_at, d.created_at, d.delivered_at FROM webhook_deliveries d \
                 JOIN outbox o ON o.id = d.outbox_id WHERE d.merchant_id = ? AND d.imp_uid = ? ORDER BY d.id",
            )?;
            let mut attempts_of = db.prepare_cached(
                "SELECT at, http_status, latency_ms, error FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
            )?;
            let mut rows = select.query(params![merchant_id, imp_uid])?;
            let mut records = Vec::new();
            while let Some(row) = rows.next()? {
                let id: i64 = row.get("id")?;
                let attempts = attempts_of
                    .query_map([id], |attempt| {
                        Ok(DeliveryAttempt {
                            at: attempt.get("at")?,
                            http_status: attempt
                                .get::<_, Option<i64>>("http_status")?
                                .map(|status| status as u16),
                            latency_ms: attempt.get("latency_ms")?,
                            error: attempt.get("error")?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                records.push(DeliveryRecord {
                    id,
                    event_id: row.get("outbox_id")?,
                    imp_uid: row.get("imp_uid")?,
                    status: row.get("status")?,
                    cancellation_id: row.get("cancellation_id")?,
                    url: row.get("url")?,
                    state: row.get("state")?,
                    next_attempt_at: row.get("next_attempt_at")?,
                    created_at: row.get("created_at")?,
                    delivered_at: row.get("delivered_at")?,
                    attempts,
                });
            }
            Ok(records)
        })
        .await
    }

    async fn resend_delivery(&self, merchant_id: i64, delivery_id: i64, now: UnixSeconds) -> StoreResult<bool> {
        self.writer
            .write(move |tx| {
                let updated = tx
                    .prepare_cached(
                        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ? \
                         WHERE id = ? AND merchant_id = ?",
                    )?
                    .execute(params![now, delivery_id, merchant_id])?;
                Ok(updated == 1)
            })
            .await
    }

    async fn claim_idempotency_key(
        &self,
        merchant_id: i64,
        key: &str,
        request_hash: &str,
        now: UnixSeconds,
    ) -> StoreResult<IdempotencyClaim> {
        let (key, request_hash) = (key.to_owned(), request_hash.to_owned());
        self.writer
            .write(move |tx| claim_idempotency_key(tx, merchant_id, &key, &request_hash, now))
            .await
    }

    async fn finish_idempotency_key(
        &self,
        merchant_id: i64,
        key: &str,
        answer: Option<(u16, &[u8])>,
    ) -> StoreResult<()> {
        let key = key.to_owned();
        let answer = answer.map(|(status, body)| (status, body.to_vec()));
        self.writer
            .write(move |tx| {
                match answer {
                    Some((status, body)) => tx
                        .prepare_cached(
                            "UPDATE idempotency_keys SET status_code = ?, body = ? WHERE merchant_id = ? AND key = ?",
                        )?
                        .execute(params![i64::from(status), body, merchant_id, key])?,
                    None => tx
                        .prepare_cached(
                            "DELETE FROM idempotency_keys WHERE merchant_id = ? AND key = ? AND status_code IS NULL",
                        )?
                        .execute(params![merchant_id, key])?,
                };
                Ok(())
            })
            .await
    }

    async fn record_event(&self, imp_uid: &ImpUid, at: UnixSeconds, kind: &str, detail: &str) -> StoreResult<()> {
        let (imp_uid, kind, detail) = (imp_uid.clone(), kind.to_owned(), detail.to_owned());
        self.writer
            .write(move |tx| insert_event(tx, &imp_uid, at, &kind, &detail))
            .await
    }

    async fn rate_hits(&self, key: &str, window_start: UnixSeconds) -> StoreResult<u32> {
        self.read_now(|db| {
            let hits: Option<i64> = db
                .prepare_cached("SELECT hits FROM rate_limits WHERE key = ? AND window_start = ?")?
                .query_row(params![key, window_start], |row| row.get(0))
                .optional()?;
            Ok(hits.unwrap_or(0) as u32)
        })
        .await
    }

    async fn record_rate_hit(
        &self,
        key: &str,
        window_start: UnixSeconds,
        forget_before: UnixSeconds,
    ) -> StoreResult<u32> {
        let key = key.to_owned();
        self.writer
            .write(move |tx| {
                let hits: i64 = tx
                    .prepare_cached(
                        "INSERT INTO rate_limits (key, window_start, hits) VALUES (?, ?, 1) \
                         ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits",
                    )?
                    .query_row(params![key, window_start], |row| row.get(0))?;
                if hits == 1 {
                    tx.prepare_cached("DELETE FROM rate_limits WHERE window_start < ?")?
                        .execute([forget_before])?;
                }
                Ok(hits as u32)
            })
            .await
    }

    fn group_commits(&self) -> Option<u64> {
        Some(self.writer.commits())
    }

    async fn payment_events(&self, imp_uid: &ImpUid) -> StoreResult<Vec<PaymentEvent>> {
        let imp_uid = imp_uid.clone();
        self.read(move |db| {
            Ok(db
                .prepare_cached("SELECT at, kind, detail FROM payment_events WHERE imp_uid = ? ORDER BY id")?
                .query_map([imp_uid.as_str()], |row| {
                    Ok(PaymentEvent {
                        at: row.get(0)?,
                        kind: row.get(1)?,
                        detail: row.get(2)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn pending_migrations(&self) -> StoreResult<Vec<i64>> {
        let applied = self
            .read(|db| {
                Ok(db
                    .prepare_cached("SELECT version FROM _sqlx_migrations WHERE success")?
                    .query_map([], |row| row.get::<_, i64>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        Ok(missing_versions(&MIGRATOR, &applied))
    }

    async fn backlog(&self) -> StoreResult<Backlog> {
        self.read(|db| {
            Ok(db.query_row(
                "SELECT (SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'), \
                        (SELECT COUNT(*) FROM payments WHERE status = 'revoke_in_doubt')",
                [],
                |row| {
                    Ok(Backlog {
                        pending_webhook_deliveries: row.get(0)?,
                        revokes_in_doubt: row.get(1)?,
                    })
                },
            )?)
        })
        .await
    }

    async fn outbox_events(&self, imp_uid: &ImpUid) -> StoreResult<Vec<(String, Option<String>)>> {
        let imp_uid = imp_uid.clone();
        self.read(move |db| {
            Ok(db
                .prepare_cached("SELECT status, cancellation_id FROM outbox WHERE imp_uid = ? ORDER BY id")?
                .query_map([imp_uid.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}
