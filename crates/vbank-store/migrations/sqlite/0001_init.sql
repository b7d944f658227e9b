-- vbank schema, SQLite dialect. Times are UNIX seconds; money is integer won.

CREATE TABLE merchants (
    id              INTEGER PRIMARY KEY,
    imp_key         TEXT    NOT NULL UNIQUE,
    imp_secret_hash TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);

-- A merchant's PG contracts. `position` orders them: the first is the default channel.
CREATE TABLE channels (
    id          INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    pg_provider TEXT    NOT NULL,
    mid         TEXT    NOT NULL,
    sandbox     INTEGER NOT NULL,
    secrets     TEXT    NOT NULL,
    position    INTEGER NOT NULL,
    UNIQUE (merchant_id, pg_provider, mid)
);

-- Keys the server derives tokens with; shared by every node through the database.
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- Access tokens, stored as a hash of the token. The token is re-derived from
-- `token_id` with a server key, so a repeat getToken can answer the same token.
CREATE TABLE tokens (
    token_hash  BLOB    PRIMARY KEY,
    token_id    BLOB    NOT NULL,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX tokens_by_merchant ON tokens (merchant_id, expires_at);

CREATE TABLE payments (
    imp_uid         TEXT    PRIMARY KEY,
    merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
    channel_id      INTEGER NOT NULL REFERENCES channels (id),
    merchant_uid    TEXT    NOT NULL,
    pg_provider     TEXT    NOT NULL,
    pg_id           TEXT    NOT NULL,
    pg_tid          TEXT    NOT NULL,
    pg_secret       TEXT,
    sandbox         INTEGER NOT NULL,
    name            TEXT,
    amount          INTEGER NOT NULL CHECK (amount >= 0),
    cancel_amount   INTEGER NOT NULL CHECK (cancel_amount >= 0 AND cancel_amount <= amount),
    buyer_name      TEXT,
    buyer_email     TEXT,
    buyer_tel       TEXT,
    buyer_addr      TEXT,
    buyer_postcode  TEXT,
    custom_data     TEXT,
    vbank_code      TEXT    NOT NULL,
    vbank_num       TEXT    NOT NULL,
    vbank_holder    TEXT,
    vbank_date      INTEGER NOT NULL,
    vbank_issued_at INTEGER NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('ready', 'revoke_in_doubt', 'paid', 'cancelled', 'failed')),
    started_at      INTEGER NOT NULL,
    paid_at         INTEGER NOT NULL,
    failed_at       INTEGER NOT NULL,
    cancelled_at    INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    fail_reason     TEXT,
    cancel_reason   TEXT,
    receipt_url     TEXT,
    notice_urls     TEXT    NOT NULL,
    -- Never both paid and cancelled by a revoke: a paid account has paid_at set and
    -- can only be cancelled by a refund, which keeps paid_at.
    CHECK (NOT (status = 'paid' AND cancelled_at <> 0))
);
CREATE UNIQUE INDEX payments_by_pg_tid ON payments (pg_provider, pg_tid);
CREATE INDEX payments_by_merchant_uid ON payments (merchant_id, merchant_uid, started_at);
CREATE INDEX payments_by_status_started ON payments (merchant_id, status, started_at);
CREATE INDEX payments_by_merchant_started ON payments (merchant_id, started_at);

CREATE TABLE cancel_history (
    cancellation_id TEXT    PRIMARY KEY,
    imp_uid         TEXT    NOT NULL REFERENCES payments (imp_uid),
    pg_tid          TEXT    NOT NULL,
    amount          INTEGER NOT NULL,
    cancelled_at    INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    receipt_url     TEXT    NOT NULL
);
CREATE INDEX cancel_history_by_payment ON cancel_history (imp_uid, cancelled_at);

-- The merchant webhooks to send: written in the same transaction as the state change.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
    imp_uid         TEXT    NOT NULL REFERENCES payments (imp_uid),
    merchant_uid    TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    cancellation_id TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX outbox_by_payment ON outbox (imp_uid);
CREATE INDEX outbox_pending ON outbox (delivered_at, id);

-- What happened to a payment, for operators: state changes, PG calls, anomalies.
CREATE TABLE payment_events (
    id      INTEGER PRIMARY KEY,
    imp_uid TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
CREATE INDEX payment_events_by_payment ON payment_events (imp_uid, id);
