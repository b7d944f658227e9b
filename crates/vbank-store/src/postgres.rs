//! PostgreSQL, for several stateless nodes on one database. Per-payment work is
//! serialized by row locks (`SELECT ... FOR UPDATE`) inside the transaction, as SQLite
//! does with `BEGIN IMMEDIATE`; background jobs claim rows with `FOR UPDATE SKIP LOCKED`
//! and a lease that frees them if a node dies.

use crate::rows::{
    cancel_entry_from_row, channel_from_row, corrupt, may_have_history, merchant_from_row, order_clause,
    payment_from_row, push_filter, token_from_row, ABANDONED_AFTER_SECONDS, MERCHANT_COLUMNS, PAYMENT_COLUMNS,
};
use crate::{
    missing_versions, Backlog, Decide, DeliveryAttempt, DeliveryJob, DeliveryRecord, DeliveryState, HistoryNote,
    IdempotencyClaim, NewMerchant, PaymentEvent, PaymentFilter, SecretsKey, Store, StoreError, StoreResult,
    TokenRecord, TransitionOutcome,
};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;
use vbank_core::lifecycle::{Decision, Transition};
use vbank_core::{
    CancelEntry, CancellationId, Channel, ChannelSecrets, ImpUid, Merchant, NoticeSources, Payment, PgProvider,
    UnixSeconds, WebhookFormat,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per node and pool: `VBANK_PG_POOL_SIZE` if set, else enough to keep this
/// machine's cores busy while others wait on the disk or the network (8 per core), with a
/// floor for small machines. Each node's pools count against PostgreSQL's
/// `max_connections` (docs/deploy.md).
pub fn pool_size() -> u32 {
    if let Some(size) = std::env::var("VBANK_PG_POOL_SIZE")
        .ok()
        .and_then(|size| size.parse::<u32>().ok())
        .filter(|size| *size > 0)
    {
        return size;
    }
    let cores = std::thread::available_parallelism().map_or(2, usize::from) as u32;
    (cores * 8).clamp(8, 64)
}

pub struct PostgresStore {
    /// Seals and opens channel secrets (`secrets.rs`).
    secrets_key: SecretsKey,
    writer: PgPool,
    reader: PgPool,
    outbox_written: OutboxSignal,
}

/// Wakes every node's webhook workers after commits that added outbox events, with a
/// `NOTIFY` sent after the commit and at most one per `NOTIFY_COALESCE`.
///
/// Not inside the transaction: PostgreSQL holds a cluster-wide lock from a notifying
/// transaction's commit until its commit record is on disk, so notifying commits would
/// wait for the disk one after another instead of sharing its flushes. A lost signal
/// costs latency only: the workers also poll.
struct OutboxSignal {
    pending: tokio::sync::mpsc::Sender<()>,
}

const NOTIFY_COALESCE: Duration = Duration::from_millis(5);

impl OutboxSignal {
    fn start(pool: PgPool) -> OutboxSignal {
        let (pending, mut signals) = tokio::sync::mpsc::channel::<()>(1);
        tokio::spawn(async move {
            while signals.recv().await.is_some() {
                tokio::time::sleep(NOTIFY_COALESCE).await;
                if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
                    .bind(OUTBOX_CHANNEL)
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(%error, "NOTIFY vbank_outbox failed; other nodes will find the events by polling");
                }
            }
        });
        OutboxSignal { pending }
    }

    fn raise(&self) {
        // Full means a NOTIFY is already due.
        let _ = self.pending.try_send(());
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open(url: &str, secrets_key: SecretsKey) -> StoreResult<PostgresStore> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size())
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        seal_plain_secrets(&pool, &secrets_key).await?;
        Ok(PostgresStore {
            secrets_key,
            outbox_written: OutboxSignal::start(pool.clone()),
            writer: pool.clone(),
            reader: pool,
        })
    }
}

/// Seals the channel secrets of rows written before sealing existed. Nodes starting at
/// once may race here: the `secrets = $3` guard lets one of them win each row.
async fn seal_plain_secrets(pool: &PgPool, key: &SecretsKey) -> StoreResult<()> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, secrets FROM channels")
        .fetch_all(pool)
        .await?;
    for (id, stored) in rows.into_iter().filter(|(_, stored)| !SecretsKey::is_sealed(stored)) {
        let sealed = key.seal(&key.open(&stored)?)?;
        sqlx::query("UPDATE channels SET secrets = $1 WHERE id = $2 AND secrets = $3")
            .bind(sealed)
            .bind(id)
            .bind(stored)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Loads payments with their cancel histories: one query for the rows, one for the histories.
async fn hydrate<'c, E>(executor: E, rows: Vec<PgRow>) -> StoreResult<Vec<Payment>>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let mut with_history = Vec::new();
    for row in &rows {
        if may_have_history(row)? {
            with_history.push(row.try_get::<String, _>("imp_uid")?);
        }
    }
    let mut histories: HashMap<String, Vec<CancelEntry>> = HashMap::new();
    if with_history.is_empty() {
        return rows.iter().map(|row| payment_from_row(row, Vec::new())).collect();
    }
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT cancellation_id, imp_uid, pg_tid, amount, cancelled_at, reason, receipt_url \
         FROM cancel_history WHERE imp_uid IN (",
    );
    let mut separated = query.separated(", ");
    for imp_uid in with_history {
        separated.push_bind(imp_uid);
    }
    query.push(") ORDER BY cancelled_at, cancellation_id");
    for row in query.build().fetch_all(executor).await? {
        histories
            .entry(row.try_get("imp_uid")?)
            .or_default()
            .push(cancel_entry_from_row(&row)?);
    }
    rows.iter()
        .map(|row| {
            let imp_uid: String = row.try_get("imp_uid")?;
            payment_from_row(row, histories.remove(&imp_uid).unwrap_or_default())
        })
        .collect()
}

/// The channel webhook workers of every node listen on.
const OUTBOX_CHANNEL: &str = "vbank_outbox";

async fn insert_event(
    connection: &mut PgConnection,
    imp_uid: &ImpUid,
    at: UnixSeconds,
    kind: &str,
    detail: &str,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO payment_events (imp_uid, at, kind, detail) VALUES ($1, $2, $3, $4)")
        .bind(imp_uid.as_str())
        .bind(at)
        .bind(kind)
        .bind(detail)
        .execute(connection)
        .await?;
    Ok(())
}

/// Writes a decided transition with its audit line: the row, its `cancel_history`
/// entry, its outbox event and the audit line in one statement (one round trip). The
/// `status = $13` guard makes a write based on a stale read impossible, even though the
/// row lock already excludes one; if it matches nothing, nothing is written.
async fn write_transition(
    connection: &mut PgConnection,
    transition: &Transition,
    now: UnixSeconds,
    audit: &str,
) -> StoreResult<()> {
    let after = &transition.payment;
    let entry = transition.cancel_entry.as_ref();
    let event = transition.event.as_ref();
    let updated: i64 = sqlx::query_scalar(
        "WITH updated AS ( \
           UPDATE payments SET status = $1, cancel_amount = $2, paid_at = $3, failed_at = $4, cancelled_at = $5, \
             updated_at = $6, fail_reason = $7, cancel_reason = $8, reconcile_at = $9, amount = $10, \
             vbank_date = $11 \
           WHERE imp_uid = $12 AND status = $13 RETURNING imp_uid, merchant_id, merchant_uid), \
         history AS ( \
           INSERT INTO cancel_history (cancellation_id, imp_uid, pg_tid, amount, cancelled_at, reason, receipt_url) \
           SELECT $14, imp_uid, $15, $16, $17, $18, $19 FROM updated WHERE $14::text IS NOT NULL), \
         event AS ( \
           INSERT INTO outbox (merchant_id, imp_uid, merchant_uid, status, cancellation_id, created_at) \
           SELECT merchant_id, imp_uid, merchant_uid, $20, $21, $6 FROM updated WHERE $20::text IS NOT NULL), \
         audit AS ( \
           INSERT INTO payment_events (imp_uid, at, kind, detail) \
           SELECT imp_uid, $22, 'transition', $23 FROM updated) \
         SELECT COUNT(*) FROM updated",
    )
    .bind(after.status.as_str())
    .bind(after.cancel_amount.get())
    .bind(after.paid_at)
    .bind(after.failed_at)
    .bind(after.cancelled_at)
    .bind(after.updated_at)
    .bind(after.fail_reason.as_deref())
    .bind(after.cancel_reason.as_deref())
    .bind(after.reconcile_at)
    .bind(after.amount.get())
    .bind(after.account.due)
    .bind(after.imp_uid.as_str())
    .bind(transition.from.as_str())
    .bind(entry.map(|entry| entry.cancellation_id.as_str()))
    .bind(entry.map(|entry| entry.pg_tid.as_str()))
    .bind(entry.map(|entry| entry.amount.get()))
    .bind(entry.map(|entry| entry.cancelled_at))
    .bind(entry.map(|entry| entry.reason.as_str()))
    .bind(entry.map(|entry| entry.receipt_url.as_str()))
    .bind(event.map(|event| event.status.as_str()))
    .bind(event.and_then(|event| event.cancellation_id.as_ref().map(CancellationId::as_str)))
    .bind(now)
    .bind(audit)
    .fetch_one(&mut *connection)
    .await?;
    if updated != 1 {
        return Err(StoreError::Conflict(format!(
            "payment {} changed under a transition from {}",
            after.imp_uid,
            transition.from.as_str()
        )));
    }
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_merchant(&self, merchant: NewMerchant) -> StoreResult<(Merchant, Vec<Channel>)> {
        let mut tx = self.writer.begin().await?;
        let now = chrono::Utc::now().timestamp();
        let inserted = sqlx::query(
            "INSERT INTO merchants (imp_key, imp_secret_hash, name, created_at, webhook_url, webhook_format, \
             webhook_secret) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (imp_key) DO NOTHING RETURNING id",
        )
        .bind(&merchant.imp_key)
        .bind(&merchant.imp_secret_hash)
        .bind(&merchant.name)
        .bind(now)
        .bind(merchant.webhook.url.as_deref())
        .bind(merchant.webhook.format.as_str())
        .bind(merchant.webhook.secret.as_deref())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            return Err(StoreError::Conflict(format!(
                "a merchant with imp_key {} exists already; choose another --imp-key",
                merchant.imp_key
            )));
        };
        let merchant_id: i64 = row.try_get("id")?;
        let mut channels = Vec::with_capacity(merchant.channels.len());
        for (position, channel) in merchant.channels.iter().enumerate() {
            let secrets = self.secrets_key.seal(&channel.secrets)?;
            let row = sqlx::query(
                "INSERT INTO channels (merchant_id, pg_provider, mid, sandbox, secrets, position) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(merchant_id)
            .bind(channel.provider.code())
            .bind(&channel.mid)
            .bind(channel.sandbox)
            .bind(secrets)
            .bind(position as i64)
            .fetch_one(&mut *tx)
            .await?;
            channels.push(Channel {
                id: row.try_get("id")?,
                merchant_id,
                provider: channel.provider,
                mid: channel.mid.clone(),
                sandbox: channel.sandbox,
                secrets: channel.secrets.clone(),
                notice_sources: vbank_core::NoticeSources::any(),
            });
        }
        tx.commit().await?;
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

    async fn merchant_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM merchants")
            .fetch_one(&self.reader)
            .await?)
    }

    async fn merchant_by_imp_key(&self, imp_key: &str) -> StoreResult<Option<Merchant>> {
        sqlx::query(&format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE imp_key = $1"))
            .bind(imp_key)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(merchant_from_row)
            .transpose()
    }

    async fn channels(&self, merchant_id: i64) -> StoreResult<Vec<Channel>> {
        sqlx::query(
            "SELECT id, merchant_id, pg_provider, mid, sandbox, secrets, notice_sources FROM channels \
             WHERE merchant_id = $1 ORDER BY position",
        )
        .bind(merchant_id)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|row| channel_from_row(row, &self.secrets_key))
        .collect()
    }

    async fn channel(&self, channel_id: i64) -> StoreResult<Option<Channel>> {
        sqlx::query(
            "SELECT id, merchant_id, pg_provider, mid, sandbox, secrets, notice_sources FROM channels WHERE id = $1",
        )
        .bind(channel_id)
        .fetch_optional(&self.reader)
        .await?
        .as_ref()
        .map(|row| channel_from_row(row, &self.secrets_key))
        .transpose()
    }

    async fn update_channel_secrets(&self, channel_id: i64, secrets: &ChannelSecrets) -> StoreResult<()> {
        sqlx::query("UPDATE channels SET secrets = $1 WHERE id = $2")
            .bind(self.secrets_key.seal(secrets)?)
            .bind(channel_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn set_notice_sources(&self, channel_id: i64, sources: &NoticeSources) -> StoreResult<()> {
        sqlx::query("UPDATE channels SET notice_sources = $1 WHERE id = $2")
            .bind(sources.to_string())
            .bind(channel_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn server_key(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query("INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(candidate)
            .execute(&self.writer)
            .await?;
        Ok(sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&self.writer)
            .await?)
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO tokens (token_hash, token_id, merchant_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.token_hash)
        .bind(&token.token_id)
        .bind(token.merchant_id)
        .bind(token.issued_at)
        .bind(token.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn token_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<TokenRecord>> {
        sqlx::query("SELECT token_hash, token_id, merchant_id, issued_at, expires_at FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    async fn live_token(&self, merchant_id: i64, now: UnixSeconds) -> StoreResult<Option<TokenRecord>> {
        // Read through the writer so that a token inserted a moment ago is seen.
        sqlx::query(
            "SELECT token_hash, token_id, merchant_id, issued_at, expires_at FROM tokens \
             WHERE merchant_id = $1 AND expires_at > $2 ORDER BY issued_at DESC, expires_at DESC LIMIT 1",
        )
        .bind(merchant_id)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
    }

    async fn extend_token(&self, token_hash: &[u8], expires_at: UnixSeconds) -> StoreResult<()> {
        sqlx::query("UPDATE tokens SET expires_at = GREATEST(expires_at, $1) WHERE token_hash = $2")
            .bind(expires_at)
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn insert_payment(&self, payment: &Payment) -> StoreResult<()> {
        // One statement, so one round trip and its own transaction: the row, its `ready`
        // outbox event and its audit line together or not at all.
        let placeholders = (1..=35).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
        let notice_urls = serde_json::to_string(&payment.notice_urls).map_err(corrupt)?;
        sqlx::query(&format!(
            "WITH inserted AS (INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ({placeholders}) \
               RETURNING imp_uid, merchant_id, merchant_uid, started_at, pg_tid), \
             event AS (INSERT INTO outbox (merchant_id, imp_uid, merchant_uid, status, cancellation_id, created_at) \
               SELECT merchant_id, imp_uid, merchant_uid, $36, NULL, started_at FROM inserted) \
             INSERT INTO payment_events (imp_uid, at, kind, detail) \
               SELECT imp_uid, started_at, 'issued', pg_tid FROM inserted"
        ))
        .bind(payment.imp_uid.as_str())
        .bind(payment.merchant_id)
        .bind(payment.channel_id)
        .bind(payment.merchant_uid.as_str())
        .bind(payment.pg_provider.code())
        .bind(&payment.pg_id)
        .bind(&payment.pg_tid)
        .bind(payment.pg_secret.as_deref())
        .bind(payment.sandbox)
        .bind(payment.name.as_deref())
        .bind(payment.amount.get())
        .bind(payment.cancel_amount.get())
        .bind(payment.buyer.name.as_deref())
        .bind(payment.buyer.email.as_deref())
        .bind(payment.buyer.tel.as_deref())
        .bind(payment.buyer.addr.as_deref())
        .bind(payment.buyer.postcode.as_deref())
        .bind(payment.custom_data.as_deref())
        .bind(payment.account.bank.kftc())
        .bind(&payment.account.number)
        .bind(payment.account.holder.as_deref())
        .bind(payment.account.due)
        .bind(payment.account.issued_at)
        .bind(payment.status.as_str())
        .bind(payment.started_at)
        .bind(payment.paid_at)
        .bind(payment.failed_at)
        .bind(payment.cancelled_at)
        .bind(payment.updated_at)
        .bind(payment.fail_reason.as_deref())
        .bind(payment.cancel_reason.as_deref())
        .bind(payment.receipt_url.as_deref())
        .bind(notice_urls)
        .bind(payment.reconcile_at)
        .bind(i64::from(payment.reconcile_step))
        .bind(payment.status.wire().as_str())
        .execute(&self.writer)
        .await?;
        self.outbox_written.raise();
        Ok(())
    }

    async fn payment(&self, merchant_id: i64, imp_uid: &ImpUid) -> StoreResult<Option<Payment>> {
        let row = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE imp_uid = $1 AND merchant_id = $2"
        ))
        .bind(imp_uid.as_str())
        .bind(merchant_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(hydrate(&self.reader, row.into_iter().collect()).await?.pop())
    }

    async fn payment_for_pg(&self, imp_uid: &ImpUid) -> StoreResult<Option<Payment>> {
        let row = sqlx::query(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE imp_uid = $1"))
            .bind(imp_uid.as_str())
            .fetch_optional(&self.reader)
            .await?;
        Ok(hydrate(&self.reader, row.into_iter().collect()).await?.pop())
    }

    async fn payment_by_pg_tid(&self, provider: PgProvider, pg_tid: &str) -> StoreResult<Option<Payment>> {
        let row = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE pg_provider = $1 AND pg_tid = $2"
        ))
        .bind(provider.code())
        .bind(pg_tid)
        .fetch_optional(&self.reader)
        .await?;
        Ok(hydrate(&self.reader, row.into_iter().collect()).await?.pop())
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
        let mut query =
            QueryBuilder::<Postgres>::new(format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE merchant_id = "));
        query.push_bind(merchant_id).push(" AND (imp_uid IN (");
        let mut separated = query.separated(", ");
        separated.push_bind("");
        for imp_uid in imp_uids {
            separated.push_bind(imp_uid.as_str());
        }
        query.push(") OR merchant_uid IN (");
        let mut separated = query.separated(", ");
        separated.push_bind("");
        for merchant_uid in merchant_uids {
            separated.push_bind(merchant_uid.as_str());
        }
        query.push(")) ORDER BY started_at DESC, imp_uid DESC");
        let rows = query.build().fetch_all(&self.reader).await?;
        hydrate(&self.reader, rows).await
    }

    async fn merchant_uid_is_paid(&self, merchant_id: i64, merchant_uid: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM payments WHERE merchant_id = $1 AND merchant_uid = $2 AND status = 'paid'",
        )
        .bind(merchant_id)
        .bind(merchant_uid)
        .fetch_one(&self.reader)
        .await?
            > 0)
    }

    async fn list_payments(&self, merchant_id: i64, filter: &PaymentFilter) -> StoreResult<(u64, Vec<Payment>)> {
        let mut count = QueryBuilder::<Postgres>::new("SELECT COUNT(*) FROM payments");
        push_filter(&mut count, merchant_id, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&self.reader).await?;

        let mut page = QueryBuilder::<Postgres>::new(format!("SELECT {PAYMENT_COLUMNS} FROM payments"));
        push_filter(&mut page, merchant_id, filter);
        page.push(order_clause(filter.sorting));
        page.push(" LIMIT ").push_bind(i64::from(filter.limit));
        page.push(" OFFSET ").push_bind(filter.offset as i64);
        let rows = page.build().fetch_all(&self.reader).await?;
        Ok((total as u64, hydrate(&self.reader, rows).await?))
    }

    async fn transition(
        &self,
        imp_uid: &ImpUid,
        now: UnixSeconds,
        audit: &str,
        notes: Vec<HistoryNote>,
        decide: Decide,
    ) -> StoreResult<TransitionOutcome> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE imp_uid = $1 FOR UPDATE"
        ))
        .bind(imp_uid.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(payment) = hydrate(&mut *tx, row.into_iter().collect()).await?.pop() else {
            return Ok(TransitionOutcome::NotFound);
        };
        for note in &notes {
            insert_event(&mut tx, imp_uid, now, note.kind, &note.detail).await?;
        }
        match decide(&payment) {
            Decision::Apply(transition) => {
                let detail = format!(
                    "{} -> {}: {audit}",
                    transition.from.as_str(),
                    transition.payment.status.as_str()
                );
                write_transition(&mut tx, &transition, now, &detail).await?;
                tx.commit().await?;
                if transition.event.is_some() {
                    self.outbox_written.raise();
                }
                Ok(TransitionOutcome::Applied(transition.payment))
            }
            unchanged @ Decision::AlreadyRecorded => {
                // Nothing to change; the notes, if any, are kept.
                if notes.is_empty() {
                    tx.rollback().await?;
                } else {
                    tx.commit().await?;
                }
                Ok(TransitionOutcome::Unchanged(payment, unchanged))
            }
            Decision::Anomaly(anomaly) => {
                insert_event(&mut tx, imp_uid, now, "anomaly", &format!("{anomaly:?}: {audit}")).await?;
                tx.commit().await?;
                Ok(TransitionOutcome::Unchanged(payment, Decision::Anomaly(anomaly)))
            }
        }
    }

    async fn claim_for_reconcile(
        &self,
        now: UnixSeconds,
        lease_until: UnixSeconds,
        limit: u32,
    ) -> StoreResult<Vec<Payment>> {
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query(&format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE reconcile_at IS NOT NULL AND reconcile_at <= $1 \
             AND status IN ('ready', 'revoke_in_doubt') ORDER BY reconcile_at LIMIT $2 FOR UPDATE SKIP LOCKED"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let payments = hydrate(&mut *tx, rows).await?;
        for payment in &payments {
            // The lease: no other worker takes it until then; a worker that died frees it then.
            sqlx::query("UPDATE payments SET reconcile_at = $1 WHERE imp_uid = $2")
                .bind(lease_until)
                .bind(payment.imp_uid.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(payments)
    }

    async fn reschedule(&self, imp_uid: &ImpUid, reconcile_at: Option<UnixSeconds>, step: u32) -> StoreResult<()> {
        sqlx::query(
            "UPDATE payments SET reconcile_at = $1, reconcile_step = $2 \
             WHERE imp_uid = $3 AND status IN ('ready', 'revoke_in_doubt')",
        )
        .bind(reconcile_at)
        .bind(i64::from(step))
        .bind(imp_uid.as_str())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn expand_outbox(&self, now: UnixSeconds, limit: u32) -> StoreResult<usize> {
        let mut tx = self.writer.begin().await?;
        let events = sqlx::query(
            "SELECT o.id, o.merchant_id, o.imp_uid, p.notice_urls, m.webhook_url FROM outbox o \
             JOIN payments p ON p.imp_uid = o.imp_uid JOIN merchants m ON m.id = o.merchant_id \
             WHERE o.expanded = FALSE ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        for event in &events {
            let event_id: i64 = event.try_get("id")?;
            let notice_urls: Vec<String> = serde_json::from_str(event.try_get("notice_urls")?).map_err(corrupt)?;
            let default_url: Option<String> = event.try_get("webhook_url")?;
            let urls = if notice_urls.is_empty() {
                default_url.into_iter().collect()
            } else {
                notice_urls
            };
            for url in urls {
                sqlx::query(
                    "INSERT INTO webhook_deliveries (outbox_id, merchant_id, imp_uid, url, state, next_attempt_at, \
                     created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
                )
                .bind(event_id)
                .bind(event.try_get::<i64, _>("merchant_id")?)
                .bind(event.try_get::<String, _>("imp_uid")?)
                .bind(url)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE outbox SET expanded = TRUE WHERE id = $1")
                .bind(event_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(events.len())
    }

    async fn claim_deliveries(
        &self,
        now: UnixSeconds,
        lease_until: UnixSeconds,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>> {
        let mut tx = self.writer.begin().await?;
        let rows = sqlx::query(
            "SELECT d.id, d.outbox_id, d.url, d.attempts, o.imp_uid, o.merchant_uid, o.status, o.cancellation_id, \
             m.webhook_format, m.webhook_secret FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id \
             JOIN merchants m ON m.id = d.merchant_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.leased_until IS NULL OR d.leased_until <= $2) \
             ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED",
        )
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in &rows {
            let delivery_id: i64 = row.try_get("id")?;
            // The lease: nobody else picks it up until then; a crash frees it by then.
            sqlx::query("UPDATE webhook_deliveries SET leased_until = $1 WHERE id = $2")
                .bind(lease_until)
                .bind(delivery_id)
                .execute(&mut *tx)
                .await?;
            let format: String = row.try_get("webhook_format")?;
            jobs.push(DeliveryJob {
                delivery_id,
                event_id: row.try_get("outbox_id")?,
                url: row.try_get("url")?,
                attempts: row.try_get::<i64, _>("attempts")? as u32,
                imp_uid: row.try_get("imp_uid")?,
                merchant_uid: row.try_get("merchant_uid")?,
                status: row.try_get("status")?,
                cancellation_id: row.try_get("cancellation_id")?,
                format: WebhookFormat::parse(&format).ok_or_else(|| corrupt(format!("webhook_format {format}")))?,
                secret: row.try_get("webhook_secret")?,
            });
        }
        tx.commit().await?;
        Ok(jobs)
    }

    async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &DeliveryAttempt,
        state: DeliveryState,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, at, http_status, latency_ms, error) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(delivery_id)
        .bind(attempt.at)
        .bind(attempt.http_status.map(i64::from))
        .bind(attempt.latency_ms)
        .bind(attempt.error.as_deref())
        .execute(&mut *tx)
        .await?;
        let (state_name, next_attempt_at, delivered_at) = match state {
            DeliveryState::Delivered => ("delivered", None, Some(attempt.at)),
            DeliveryState::RetryAt(at) => ("pending", Some(at), None),
            DeliveryState::Failed => ("failed", None, None),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $1, next_attempt_at = $2, delivered_at = $3, \
             leased_until = NULL WHERE id = $4",
        )
        .bind(state_name)
        .bind(next_attempt_at)
        .bind(delivered_at)
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn deliveries(&self, merchant_id: i64, imp_uid: &str) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.id, d.outbox_id, d.imp_uid, o.status, o.cancellation_id, d.url, d.state, d.next_attempt_at, \
             d.created_at, d.delivered_at FROM webhook_deliveries d JOIN outbox o ON o.id = d.outbox_id \
             WHERE d.merchant_id = $1 AND d.imp_uid = $2 ORDER BY d.id",
        )
        .bind(merchant_id)
        .bind(imp_uid)
        .fetch_all(&self.reader)
        .await?;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let attempts = sqlx::query(
                "SELECT at, http_status, latency_ms, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|attempt| {
                Ok(DeliveryAttempt {
                    at: attempt.try_get("at")?,
                    http_status: attempt
                        .try_get::<Option<i64>, _>("http_status")?
                        .map(|status| status as u16),
                    latency_ms: attempt.try_get("latency_ms")?,
                    error: attempt.try_get("error")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
            records.push(DeliveryRecord {
                id,
                event_id: row.try_get("outbox_id")?,
                imp_uid: row.try_get("imp_uid")?,
                status: row.try_get("status")?,
                cancellation_id: row.try_get("cancellation_id")?,
                url: row.try_get("url")?,
                state: row.try_get("state")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                created_at: row.try_get("created_at")?,
                delivered_at: row.try_get("delivered_at")?,
                attempts,
            });
        }
        Ok(records)
    }

    async fn resend_delivery(&self, merchant_id: i64, delivery_id: i64, now: UnixSeconds) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $1 WHERE id = $2 AND merchant_id = $3",
        )
        .bind(now)
        .bind(delivery_id)
        .bind(merchant_id)
        .execute(&self.writer)
        .await?;
        if updated.rows_affected() == 1 {
            self.outbox_written.raise();
        }
        Ok(updated.rows_affected() == 1)
    }

    async fn claim_idempotency_key(
        &self,
        merchant_id: i64,
        key: &str,
        request_hash: &str,
        now: UnixSeconds,
    ) -> StoreResult<IdempotencyClaim> {
        let mut tx = self.writer.begin().await?;
        let existing = sqlx::query(
            "SELECT request_hash, status_code, body, created_at FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 FOR UPDATE",
        )
        .bind(merchant_id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let claim = match existing {
            None => {
                sqlx::query(
                    "INSERT INTO idempotency_keys (merchant_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(merchant_id)
                .bind(key)
                .bind(request_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                IdempotencyClaim::Claimed
            }
            Some(row) => match row.try_get::<Option<i64>, _>("status_code")? {
                // A first request that never finished (its process died) is abandoned.
                None if row.try_get::<i64, _>("created_at")? < now - ABANDONED_AFTER_SECONDS => {
                    sqlx::query(
                        "UPDATE idempotency_keys SET request_hash = $1, created_at = $2 WHERE merchant_id = $3 AND key = $4",
                    )
                    .bind(request_hash)
                    .bind(now)
                    .bind(merchant_id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                    IdempotencyClaim::Claimed
                }
                None => IdempotencyClaim::InFlight,
                Some(status) => IdempotencyClaim::Done {
                    request_hash: row.try_get("request_hash")?,
                    status: status as u16,
                    body: row.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
                },
            },
        };
        tx.commit().await?;
        Ok(claim)
    }

    async fn finish_idempotency_key(
        &self,
        merchant_id: i64,
        key: &str,
        answer: Option<(u16, &[u8])>,
    ) -> StoreResult<()> {
        match answer {
            Some((status, body)) => {
                sqlx::query(
                    "UPDATE idempotency_keys SET status_code = $1, body = $2 WHERE merchant_id = $3 AND key = $4",
                )
                .bind(i64::from(status))
                .bind(body)
                .bind(merchant_id)
                .bind(key)
                .execute(&self.writer)
                .await?
            }
            None => {
                sqlx::query("DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND status_code IS NULL")
                    .bind(merchant_id)
                    .bind(key)
                    .execute(&self.writer)
                    .await?
            }
        };
        Ok(())
    }

    async fn rate_hits(&self, key: &str, window_start: UnixSeconds) -> StoreResult<u32> {
        let hits: Option<i64> = sqlx::query_scalar("SELECT hits FROM rate_limits WHERE key = $1 AND window_start = $2")
            .bind(key)
            .bind(window_start)
            .fetch_optional(&self.reader)
            .await?;
        Ok(hits.unwrap_or(0) as u32)
    }

    async fn record_rate_hit(
        &self,
        key: &str,
        window_start: UnixSeconds,
        forget_before: UnixSeconds,
    ) -> StoreResult<u32> {
        let hits: i64 = sqlx::query_scalar(
            "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
        )
        .bind(key)
        .bind(window_start)
        .fetch_one(&self.writer)
        .await?;
        if hits == 1 {
            sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                .bind(forget_before)
                .execute(&self.writer)
                .await?;
        }
        Ok(hits as u32)
    }

    async fn listen_outbox(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> StoreResult<()> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.writer).await?;
        listener.listen(OUTBOX_CHANNEL).await?;
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(_) => wake.notify_one(),
                    Err(error) => {
                        // Polling covers the gap; PgListener reconnects on the next recv.
                        tracing::warn!(%error, "LISTEN vbank_outbox interrupted; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(())
    }

    async fn record_event(&self, imp_uid: &ImpUid, at: UnixSeconds, kind: &str, detail: &str) -> StoreResult<()> {
        let mut connection = self.writer.acquire().await?;
        insert_event(&mut connection, imp_uid, at, kind, detail).await
    }

    async fn payment_events(&self, imp_uid: &ImpUid) -> StoreResult<Vec<PaymentEvent>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT at, kind, detail FROM payment_events WHERE imp_uid = $1 ORDER BY id")
                .bind(imp_uid.as_str())
                .fetch_all(&self.reader)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(at, kind, detail)| PaymentEvent { at, kind, detail })
            .collect())
    }

    async fn pending_migrations(&self) -> StoreResult<Vec<i64>> {
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&self.reader)
            .await?;
        Ok(missing_versions(&MIGRATOR, &applied))
    }

    async fn backlog(&self) -> StoreResult<Backlog> {
        let (pending_webhook_deliveries, revokes_in_doubt): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'), \
                    (SELECT COUNT(*) FROM payments WHERE status = 'revoke_in_doubt')",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(Backlog {
            pending_webhook_deliveries,
            revokes_in_doubt,
        })
    }

    async fn outbox_events(&self, imp_uid: &ImpUid) -> StoreResult<Vec<(String, Option<String>)>> {
        Ok(
            sqlx::query_as("SELECT status, cancellation_id FROM outbox WHERE imp_uid = $1 ORDER BY id")
                .bind(imp_uid.as_str())
                .fetch_all(&self.writer)
                .await?,
        )
    }
}
