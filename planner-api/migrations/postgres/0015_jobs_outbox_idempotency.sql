-- Shared mechanisms of the service's modules (PostgreSQL). See the SQLite twin for the design.
CREATE TABLE jobs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL,
    dedupe_key       TEXT UNIQUE,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at_ms        BIGINT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms BIGINT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
CREATE INDEX jobs_claim ON jobs (status, run_at_ms);

CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel          TEXT NOT NULL,
    destination      TEXT NOT NULL UNIQUE,
    body             BYTEA NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    delivered_at     TIMESTAMPTZ,
    attempts         BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms BIGINT,
    last_error       TEXT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, id);

CREATE TABLE idempotency_keys (
    user_id       BIGINT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER,
    content_type  TEXT,
    location      TEXT,
    body          BYTEA,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, key)
);
