-- Shared mechanisms of the service's modules (SQLite).
--
-- jobs: the one lease-based background-job queue. A job is claimed by a runner for a lease
-- (owner + lease_expires_ms), done or failed; a job whose lease expired (its runner died) is
-- claimed again. dedupe_key makes enqueueing idempotent (e.g. one invoice job per delivered
-- order). Jobs are enqueued in the same transaction as the write that causes them.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    dedupe_key       TEXT UNIQUE,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at_ms        INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms INTEGER,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    finished_at      TEXT
);
CREATE INDEX jobs_claim ON jobs (status, run_at_ms);

-- outbox: the one transactional outbox. Every effect outside the database (a Turnkey file, later
-- legacy writes and SMS) is a row written in the transaction of the change that causes it, and
-- delivered afterwards, at least once, by the job runner. `destination` names where (a path
-- relative to the configured root for files); delivery is idempotent at the destination.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    channel          TEXT NOT NULL,
    destination      TEXT NOT NULL UNIQUE,
    body             BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms INTEGER,
    last_error       TEXT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, id);

-- idempotency_keys: the one Idempotency-Key mechanism. A request carrying the header is
-- remembered per user and key with a hash of what it asked; a retry gets the first answer again.
CREATE TABLE idempotency_keys (
    user_id       INTEGER NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER,
    content_type  TEXT,
    location      TEXT,
    body          BLOB,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
