-- Orders, their status history, and planning jobs (SQLite).
--
-- A planning job reserves the received orders of its day (orders.plan_id) when it is created, so
-- no order is ever in two plans; a finished job marks the orders it routed `planned` and releases
-- the rest. Leases are epoch milliseconds so both backends compare plain integers.
CREATE TABLE plan_jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_date        TEXT NOT NULL,
    request          TEXT NOT NULL,
    order_ids        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms INTEGER,
    progress         TEXT NOT NULL DEFAULT '[]',
    problem          TEXT,
    result           TEXT,
    error            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT
);

CREATE INDEX plan_jobs_claim ON plan_jobs (status, id);

CREATE TABLE orders (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id       INTEGER NOT NULL REFERENCES customers (id),
    delivery_date     TEXT NOT NULL,
    cylinders         TEXT NOT NULL,
    time_window_start TEXT,
    time_window_end   TEXT,
    preference        TEXT CHECK (preference IN ('morning', 'afternoon')),
    priority          TEXT NOT NULL CHECK (priority IN ('normal', 'urgent')),
    status            TEXT NOT NULL CHECK (status IN ('received', 'planned', 'dispatched', 'delivered', 'failed', 'cancelled')),
    note              TEXT,
    plan_id           INTEGER REFERENCES plan_jobs (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

CREATE INDEX orders_date_status ON orders (delivery_date, status);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_plan ON orders (plan_id);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    note        TEXT,
    plan_id     INTEGER,
    at          TEXT NOT NULL
);

CREATE INDEX order_events_order ON order_events (order_id, id);
