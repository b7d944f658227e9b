-- vbank schema, PostgreSQL dialect: the SQLite migrations 0001 and 0002 in one.
-- Times are UNIX seconds; money is integer won.

CREATE TABLE merchants (
    id              BIGSERIAL PRIMARY KEY,
    imp_key         TEXT    NOT NULL UNIQUE,
    imp_secret_hash TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    webhook_url     TEXT,
    webhook_format  TEXT    NOT NULL DEFAULT 'json' CHECK (webhook_format IN ('json', 'form')),
    webhook_secret  TEXT
);

CREATE TABLE channels (
    id          BIGSERIAL PRIMARY KEY,
    merchant_id BIGINT  NOT NULL REFERENCES merchants (id),
    pg_provider TEXT    NOT NULL,
    mid         TEXT    NOT NULL,
    sandbox     BOOLEAN NOT NULL,
    secrets     TEXT    NOT NULL,
    position    BIGINT  NOT NULL,
    UNIQUE (merchant_id, pg_provider, mid)
);

CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE tokens (
    token_hash  BYTEA  PRIMARY KEY,
    token_id    BYTEA  NOT NULL,
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX tokens_by_merchant ON tokens (merchant_id, expires_at);

CREATE TABLE payments (
    imp_uid         TEXT    PRIMARY KEY,
    merchant_id     BIGINT  NOT NULL REFERENCES merchants (id),
    channel_id      BIGINT  NOT NULL REFERENCES channels (id),
    merchant_uid    TEXT    NOT NULL,
    pg_provider     TEXT    NOT NULL,
    pg_id           TEXT    NOT NULL,
    pg_tid          TEXT    NOT NULL,
    pg_secret       TEXT,
    sandbox         BOOLEAN NOT NULL,
    name            TEXT,
    amount          BIGINT  NOT NULL CHECK (amount >= 0),
    cancel_amount   BIGINT  NOT NULL CHECK (cancel_amount >= 0 AND cancel_amount <= amount),
    buyer_name      TEXT,
    buyer_email     TEXT,
    buyer_tel       TEXT,
    buyer_addr      TEXT,
    buyer_postcode  TEXT,
    custom_data     TEXT,
    vbank_code      TEXT    NOT NULL,
    vbank_num       TEXT    NOT NULL,
    vbank_holder    TEXT,
    vbank_date      BIGINT  NOT NULL,
    vbank_issued_at BIGINT  NOT NULL,
    status          TEXT    NOT NULL
        CHECK (status IN ('ready', 'revoke_in_doubt', 'paid', 'cancelled', 'failed')),
    started_at      BIGINT  NOT NULL,
    paid_at         BIGINT  NOT NULL,
    failed_at       BIGINT  NOT NULL,
    cancelled_at    BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    fail_reason     TEXT,
    cancel_reason   TEXT,
    receipt_url     TEXT,
    notice_urls     TEXT    NOT NULL,
    reconcile_at    BIGINT,
    reconcile_step  BIGINT  NOT NULL DEFAULT 0,
    CHECK (NOT (status = 'paid' AND cancelled_at <> 0))
);
CREATE UNIQUE INDEX payments_by_pg_tid ON payments (pg_provider, pg_tid);
CREATE INDEX payments_by_merchant_uid ON payments (merchant_id, merchant_uid, started_at);
CREATE INDEX payments_by_status_started ON payments (merchant_id, status, started_at);
CREATE INDEX payments_by_merchant_started ON payments (merchant_id, started_at);
CREATE INDEX payments_reconcile_due ON payments (reconcile_at) WHERE reconcile_at IS NOT NULL;

CREATE TABLE cancel_history (
    cancellation_id TEXT   PRIMARY KEY,
    imp_uid         TEXT   NOT NULL REFERENCES payments (imp_uid),
    pg_tid          TEXT   NOT NULL,
    amount          BIGINT NOT NULL,
    cancelled_at    BIGINT NOT NULL,
    reason          TEXT   NOT NULL,
    receipt_url     TEXT   NOT NULL
);
CREATE INDEX cancel_history_by_payment ON cancel_history (imp_uid, cancelled_at);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    merchant_id     BIGINT  NOT NULL REFERENCES merchants (id),
    imp_uid         TEXT    NOT NULL REFERENCES payments (imp_uid),
    merchant_uid    TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    cancellation_id TEXT,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT,
    expanded        BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX outbox_by_payment ON outbox (imp_uid);
CREATE INDEX outbox_unexpanded ON outbox (expanded, id);

CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    outbox_id       BIGINT NOT NULL REFERENCES outbox (id),
    merchant_id     BIGINT NOT NULL REFERENCES merchants (id),
    imp_uid         TEXT   NOT NULL,
    url             TEXT   NOT NULL,
    state           TEXT   NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    leased_until    BIGINT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_payment ON webhook_deliveries (merchant_id, imp_uid, id);

CREATE TABLE webhook_attempts (
    id          BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id),
    at          BIGINT NOT NULL,
    http_status BIGINT,
    latency_ms  BIGINT NOT NULL,
    error       TEXT
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

CREATE TABLE idempotency_keys (
    merchant_id  BIGINT NOT NULL REFERENCES merchants (id),
    key          TEXT   NOT NULL,
    request_hash TEXT   NOT NULL,
    status_code  BIGINT,
    body         BYTEA,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, key)
);

CREATE TABLE payment_events (
    id      BIGSERIAL PRIMARY KEY,
    imp_uid TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT   NOT NULL,
    detail  TEXT   NOT NULL
);
CREATE INDEX payment_events_by_payment ON payment_events (imp_uid, id);
