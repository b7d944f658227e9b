-- Merchant webhooks (delivery, attempts), reconciliation schedule, idempotency keys.

ALTER TABLE merchants ADD COLUMN webhook_url TEXT;
ALTER TABLE merchants ADD COLUMN webhook_format TEXT NOT NULL DEFAULT 'json'
    CHECK (webhook_format IN ('json', 'form'));
ALTER TABLE merchants ADD COLUMN webhook_secret TEXT;

-- When the reconciler next asks the PG about a payment that awaits its deposit, and
-- how many times it asked (the backoff step). NULL: never again.
ALTER TABLE payments ADD COLUMN reconcile_at INTEGER;
ALTER TABLE payments ADD COLUMN reconcile_step INTEGER NOT NULL DEFAULT 0;
CREATE INDEX payments_reconcile_due ON payments (reconcile_at) WHERE reconcile_at IS NOT NULL;

-- Whether the event's deliveries (one per destination URL) were created.
ALTER TABLE outbox ADD COLUMN expanded INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_unexpanded ON outbox (expanded, id);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    outbox_id       INTEGER NOT NULL REFERENCES outbox (id),
    merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
    imp_uid         TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    -- A worker holds the delivery until then; a worker that died frees it by then.
    leased_until    INTEGER,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_payment ON webhook_deliveries (merchant_id, imp_uid, id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    at          INTEGER NOT NULL,
    http_status INTEGER,
    latency_ms  INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

-- Stripe-style idempotency: the first response to a key is replayed.
CREATE TABLE idempotency_keys (
    merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    -- NULL while the first request is in flight.
    status_code  INTEGER,
    body         BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, key)
);
