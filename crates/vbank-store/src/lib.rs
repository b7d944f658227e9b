//! Where vbank keeps its records.
//!
//! Architecture invariant: the store knows SQL and nothing of HTTP or PGs. It never
//! decides a state change itself: [`Store::transition`] loads the payment inside a
//! write transaction, hands it to a pure decision from `vbank-core`, and writes what
//! that returns (the row, its `cancel_history` entry, its outbox event and an audit
//! line) in the same commit, or nothing.

mod group_commit;
mod postgres;
mod read_pool;
mod rows;
mod secrets;
mod sqlite;

pub use postgres::{pool_size as postgres_pool_size, PostgresStore};
pub use secrets::SecretsKey;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use vbank_core::lifecycle::Decision;
use vbank_core::{
    Channel, ChannelSecrets, ImpUid, Merchant, NoticeSources, Payment, PgProvider, UnixSeconds, VbankStatus,
    WebhookFormat, WebhookSettings,
};

pub type StoreResult<T> = Result<T, StoreError>;

/// A pure decision over the payment as stored (see `vbank_core::lifecycle::apply`).
pub type Decide = Box<dyn for<'p> FnOnce(&'p Payment) -> Decision + Send + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}; check that the database is one vbank created")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("a stored row is unreadable: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database commit failed: {0}")]
    CommitFailed(String),
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    SecretsKey(String),
    #[error("unsupported database URL {0}: use sqlite://PATH or postgres://USER@HOST/DATABASE")]
    UnsupportedUrl(String),
}

/// A merchant to create, with its channels.
#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub imp_key: String,
    pub imp_secret_hash: String,
    pub name: String,
    pub webhook: WebhookSettings,
    pub channels: Vec<NewChannel>,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    pub provider: PgProvider,
    pub mid: String,
    pub sandbox: bool,
    pub secrets: ChannelSecrets,
}

/// A stored access token. `token_id` is what the token is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_hash: Vec<u8>,
    pub token_id: Vec<u8>,
    pub merchant_id: i64,
    pub issued_at: UnixSeconds,
    pub expires_at: UnixSeconds,
}

/// A line for a payment's history that rides in the transaction of a transition (a PG
/// call's outcome, say), written whether or not the transition applies: one commit
/// fewer than a history row of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryNote {
    pub kind: &'static str,
    pub detail: String,
}

/// How a PG notification names its payment.
#[derive(Debug, Clone, Copy)]
pub enum NoticeKey<'a> {
    /// By the order id vbank gave the PG.
    ImpUid(&'a ImpUid),
    /// By the PG's own transaction id.
    PgTid(PgProvider, &'a str),
}

/// What the store did with a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionOutcome {
    /// The change was committed; here is the payment as it now is.
    Applied(Payment),
    /// The decision wrote nothing; here is the payment as it is.
    Unchanged(Payment, Decision),
    NotFound,
}

/// The time axis a status listing filters and sorts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAxis {
    Started,
    Paid,
    Cancelled,
    Failed,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sorting {
    pub axis: TimeAxis,
    pub descending: bool,
}

/// A merchant-scoped listing of payments.
#[derive(Debug, Clone)]
pub struct PaymentFilter {
    pub merchant_uid: Option<String>,
    /// Internal statuses to match; empty means all.
    pub statuses: Vec<VbankStatus>,
    /// Inclusive window on `window_axis`.
    pub window: Option<(TimeAxis, UnixSeconds, UnixSeconds)>,
    pub sorting: Sorting,
    pub limit: u32,
    pub offset: u64,
}

/// The payment with the channel it was issued on; a channel gone is a corrupt store.
async fn with_channel<S: Store + ?Sized>(store: &S, payment: Payment) -> StoreResult<(Payment, Channel)> {
    match store.channel(payment.channel_id).await? {
        Some(channel) => Ok((payment, channel)),
        None => Err(channel_gone(&payment)),
    }
}

pub(crate) fn channel_gone(payment: &Payment) -> StoreError {
    StoreError::Corrupt(format!("channel {} of {} is gone", payment.channel_id, payment.imp_uid))
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a merchant and its channels in one transaction.
    async fn create_merchant(&self, merchant: NewMerchant) -> StoreResult<(Merchant, Vec<Channel>)>;
    async fn merchant_count(&self) -> StoreResult<i64>;
    async fn merchant_by_imp_key(&self, imp_key: &str) -> StoreResult<Option<Merchant>>;
    /// The merchant's channels, the default first.
    async fn channels(&self, merchant_id: i64) -> StoreResult<Vec<Channel>>;
    async fn channel(&self, channel_id: i64) -> StoreResult<Option<Channel>>;
    async fn update_channel_secrets(&self, channel_id: i64, secrets: &ChannelSecrets) -> StoreResult<()>;
    /// Sets where the channel's PG notifications may come from.
    async fn set_notice_sources(&self, channel_id: i64, sources: &NoticeSources) -> StoreResult<()>;

    /// The named server key, created from `candidate` if it does not exist yet. Every
    /// node gets the same value.
    async fn server_key(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>>;
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    async fn token_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<TokenRecord>>;
    /// The merchant's newest token still valid at `now`.
    async fn live_token(&self, merchant_id: i64, now: UnixSeconds) -> StoreResult<Option<TokenRecord>>;
    async fn extend_token(&self, token_hash: &[u8], expires_at: UnixSeconds) -> StoreResult<()>;

    /// Stores a newly issued payment with its `ready` outbox event, in one commit.
    async fn insert_payment(&self, payment: &Payment) -> StoreResult<()>;
    /// The merchant's payment; another merchant's is `None`, exactly as an unknown one.
    async fn payment(&self, merchant_id: i64, imp_uid: &ImpUid) -> StoreResult<Option<Payment>>;
    /// The merchant's payment with the channel it was issued on (for calls to its PG).
    async fn payment_with_channel(
        &self,
        merchant_id: i64,
        imp_uid: &ImpUid,
    ) -> StoreResult<Option<(Payment, Channel)>> {
        match self.payment(merchant_id, imp_uid).await? {
            Some(payment) => with_channel(self, payment).await.map(Some),
            None => Ok(None),
        }
    }
    /// The payment a PG notification names, with its channel (whose keys and allowed
    /// sources judge the notification), any merchant's.
    async fn payment_for_notice(&self, key: NoticeKey<'_>) -> StoreResult<Option<(Payment, Channel)>> {
        let payment = match key {
            NoticeKey::ImpUid(imp_uid) => self.payment_for_pg(imp_uid).await?,
            NoticeKey::PgTid(provider, pg_tid) => self.payment_by_pg_tid(provider, pg_tid).await?,
        };
        match payment {
            Some(payment) => with_channel(self, payment).await.map(Some),
            None => Ok(None),
        }
    }
    /// Any merchant's payment, for PG notifications that name it by the order id vbank gave.
    async fn payment_for_pg(&self, imp_uid: &ImpUid) -> StoreResult<Option<Payment>>;
    /// The payment a PG transaction id belongs to, for PG notifications.
    async fn payment_by_pg_tid(&self, provider: PgProvider, pg_tid: &str) -> StoreResult<Option<Payment>>;
    async fn payments_by_uids(
        &self,
        merchant_id: i64,
        imp_uids: &[String],
        merchant_uids: &[String],
    ) -> StoreResult<Vec<Payment>>;
    /// Whether the merchant already has a paid payment under this order id.
    async fn merchant_uid_is_paid(&self, merchant_id: i64, merchant_uid: &str) -> StoreResult<bool>;
    /// A page of payments and the total count of the filter.
    async fn list_payments(&self, merchant_id: i64, filter: &PaymentFilter) -> StoreResult<(u64, Vec<Payment>)>;

    /// Loads the payment under the write lock, asks `decide`, and commits what it
    /// returns with its outbox event; `audit` is recorded with it, and `notes` in any case.
    async fn transition(
        &self,
        imp_uid: &ImpUid,
        now: UnixSeconds,
        audit: &str,
        notes: Vec<HistoryNote>,
        decide: Decide,
    ) -> StoreResult<TransitionOutcome>;

    /// Claims payments awaiting a deposit whose reconcile time has come, earliest first,
    /// leasing them until `lease_until` (their reconcile time moves there).
    async fn claim_for_reconcile(
        &self,
        now: UnixSeconds,
        lease_until: UnixSeconds,
        limit: u32,
    ) -> StoreResult<Vec<Payment>>;
    /// Sets when the reconciler next asks the PG, if the payment still awaits its deposit.
    async fn reschedule(&self, imp_uid: &ImpUid, reconcile_at: Option<UnixSeconds>, step: u32) -> StoreResult<()>;

    /// Creates the deliveries of new outbox events: one per `notice_url` of the payment,
    /// else one to the merchant's webhook URL, else none. Returns how many events.
    async fn expand_outbox(&self, now: UnixSeconds, limit: u32) -> StoreResult<usize>;
    /// Claims deliveries due at `now`, leasing them until `lease_until`.
    async fn claim_deliveries(
        &self,
        now: UnixSeconds,
        lease_until: UnixSeconds,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>>;
    async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &DeliveryAttempt,
        state: DeliveryState,
    ) -> StoreResult<()>;
    /// The merchant's deliveries for a payment, with their attempts.
    async fn deliveries(&self, merchant_id: i64, imp_uid: &str) -> StoreResult<Vec<DeliveryRecord>>;
    /// Queues the merchant's delivery for another attempt now; `false` if it is not theirs.
    async fn resend_delivery(&self, merchant_id: i64, delivery_id: i64, now: UnixSeconds) -> StoreResult<bool>;

    /// Claims an idempotency key for a request whose parameters hash to `request_hash`.
    async fn claim_idempotency_key(
        &self,
        merchant_id: i64,
        key: &str,
        request_hash: &str,
        now: UnixSeconds,
    ) -> StoreResult<IdempotencyClaim>;
    /// Stores the answer of a claimed key; `None` releases it (the request may be retried).
    async fn finish_idempotency_key(
        &self,
        merchant_id: i64,
        key: &str,
        answer: Option<(u16, &[u8])>,
    ) -> StoreResult<()>;

    /// Wakes `wake` whenever any node commits an outbox event or queues a resend, so
    /// that idle webhook workers start at once (PostgreSQL `LISTEN/NOTIFY`). With one
    /// process (SQLite) the server's own wake-up suffices and this does nothing.
    async fn listen_outbox(&self, wake: std::sync::Arc<tokio::sync::Notify>) -> StoreResult<()> {
        let _ = wake;
        Ok(())
    }

    /// Appends a line to a payment's history (PG calls, refused notifications, anomalies).
    /// Hits counted against `key` in the window starting at `window_start`.
    async fn rate_hits(&self, key: &str, window_start: UnixSeconds) -> StoreResult<u32>;
    /// Counts one hit against `key` in its window and returns the window's hits; forgets
    /// windows that ended before `forget_before`.
    async fn record_rate_hit(
        &self,
        key: &str,
        window_start: UnixSeconds,
        forget_before: UnixSeconds,
    ) -> StoreResult<u32>;

    /// Durable commits so far, where the backend groups writers' transactions into shared
    /// commits (SQLite); for metrics: with write requests counted, it shows how many
    /// each flush carried.
    fn group_commits(&self) -> Option<u64> {
        None
    }

    async fn record_event(&self, imp_uid: &ImpUid, at: UnixSeconds, kind: &str, detail: &str) -> StoreResult<()>;
    /// The outbox events of a payment, oldest first: `(status, cancellation_id)`.
    async fn outbox_events(&self, imp_uid: &ImpUid) -> StoreResult<Vec<(String, Option<String>)>>;

    /// A payment's history lines (state changes, PG calls, refused notifications), oldest first.
    async fn payment_events(&self, imp_uid: &ImpUid) -> StoreResult<Vec<PaymentEvent>>;
    /// The migrations this binary knows that the database has not applied (empty when it is
    /// current). Fails when the database cannot be reached.
    async fn pending_migrations(&self) -> StoreResult<Vec<i64>>;
    /// Work waiting across all merchants, for `/metrics`.
    async fn backlog(&self) -> StoreResult<Backlog>;
}

/// One line of a payment's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    pub at: UnixSeconds,
    pub kind: String,
    pub detail: String,
}

/// Work waiting across all merchants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Webhook deliveries not yet delivered nor given up.
    pub pending_webhook_deliveries: i64,
    /// Payments whose revoke may or may not have reached the PG.
    pub revokes_in_doubt: i64,
}

/// Versions `migrator` has that `applied` lacks.
fn missing_versions(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<i64> {
    migrator
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration())
        .map(|migration| migration.version)
        .filter(|version| !applied.contains(version))
        .collect()
}

/// A webhook delivery to attempt now: one event to one URL.
#[derive(Debug, Clone)]
pub struct DeliveryJob {
    pub delivery_id: i64,
    /// The event's id; the same on every attempt and resend (`webhook-id`).
    pub event_id: i64,
    pub url: String,
    pub attempts: u32,
    pub imp_uid: String,
    pub merchant_uid: String,
    pub status: String,
    pub cancellation_id: Option<String>,
    pub format: WebhookFormat,
    pub secret: Option<String>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: UnixSeconds,
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Delivered,
    RetryAt(UnixSeconds),
    Failed,
}

/// A delivery with its attempts, as `GET /webhooks` lists it.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: i64,
    pub event_id: i64,
    pub imp_uid: String,
    pub status: String,
    pub cancellation_id: Option<String>,
    pub url: String,
    pub state: String,
    pub next_attempt_at: Option<UnixSeconds>,
    pub created_at: UnixSeconds,
    pub delivered_at: Option<UnixSeconds>,
    pub attempts: Vec<DeliveryAttempt>,
}

/// A stored answer to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new: this request goes ahead and must `finish` it.
    Claimed,
    /// The first request with this key is still running.
    InFlight,
    /// The first request finished; here is its answer and its request's hash.
    Done {
        request_hash: String,
        status: u16,
        body: Vec<u8>,
    },
}

/// Opens the store a database URL names, applying migrations, with the secrets key from
/// the environment or (SQLite) beside the database (see [`SecretsKey::resolve`]).
pub async fn open(database_url: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    open_with_key(database_url, None).await
}

/// As [`open`], with the secrets key given (or resolved when `None`).
pub async fn open_with_key(
    database_url: &str,
    secrets_key: Option<SecretsKey>,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    let is_sqlite = database_url.starts_with("sqlite:");
    let is_postgres = database_url.starts_with("postgres:") || database_url.starts_with("postgresql:");
    if !is_sqlite && !is_postgres {
        return Err(StoreError::UnsupportedUrl(database_url.to_owned()));
    }
    let key = SecretsKey::resolve(database_url, secrets_key)?;
    if is_sqlite {
        Ok(std::sync::Arc::new(SqliteStore::open(database_url, key).await?))
    } else {
        Ok(std::sync::Arc::new(PostgresStore::open(database_url, key).await?))
    }
}
