-- Orders, their status history, and planning jobs (PostgreSQL).
--
-- A planning job reserves the received orders of its day (orders.plan_id) when it is created, so
-- no order is ever in two plans; a finished job marks the orders it routed `planned` and releases
-- the rest. Leases are epoch milliseconds so both backends compare plain integers.
CREATE TABLE plan_jobs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_date        DATE NOT NULL,
    request          TEXT NOT NULL,
    order_ids        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    attempts         BIGINT NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_ms BIGINT,
    progress         TEXT NOT NULL DEFAULT '[]',
    problem          TEXT,
    result           TEXT,
    error            TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ
);

CREATE INDEX plan_jobs_claim ON plan_jobs (status, id);

CREATE TABLE orders (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id       BIGINT NOT NULL REFERENCES customers (id),
    delivery_date     DATE NOT NULL,
    cylinders         TEXT NOT NULL,
    time_window_start TEXT,
    time_window_end   TEXT,
    preference        TEXT CHECK (preference IN ('morning', 'afternoon')),
    priority          TEXT NOT NULL CHECK (priority IN ('normal', 'urgent')),
    status            TEXT NOT NULL CHECK (status IN ('received', 'planned', 'dispatched', 'delivered', 'failed', 'cancelled')),
    note              TEXT,
    plan_id           BIGINT REFERENCES plan_jobs (id),
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);

CREATE INDEX orders_date_status ON orders (delivery_date, status);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE INDEX orders_plan ON orders (plan_id);

CREATE TABLE order_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    BIGINT NOT NULL REFERENCES orders (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    note        TEXT,
    plan_id     BIGINT,
    at          TIMESTAMPTZ NOT NULL
);

CREATE INDEX order_events_order ON order_events (order_id, id);
