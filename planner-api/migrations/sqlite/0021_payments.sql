-- Payments (SQLite): what was paid, against what was invoiced. Amounts are whole NT$ (BIGINT).
--
-- A payment is money received: a bank deposit into a virtual account (from a statement file) or
-- cash collected at the door. Its money is applied to invoices by allocations; what is left
-- (`unapplied`) is the customer's credit, or waits in the accountant's queue when no customer is
-- known. Refunds and write-offs take money off a payment too, and a split moves parts of it to
-- new payments (parent_id) of other customers. The columns keep
-- amount = allocated + refunded + written_off + split_out + unapplied, every part >= 0, so allocations never
-- exceed a payment; invoices.paid_amount never exceeds what the invoice still asks (trigger below),
-- so an invoice's balance never goes negative.

-- Virtual accounts (虛擬帳號) of monthly-account customers: numbers of the configured bank layout,
-- validated with its check digit; a layout with a due date gives one number per due date.
CREATE TABLE virtual_accounts (
    number      TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    layout      TEXT NOT NULL,
    due_at      TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX virtual_accounts_customer ON virtual_accounts (customer_id, number);

-- Statement files imported, once each (by their bytes' SHA-256).
CREATE TABLE statement_files (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    source         TEXT NOT NULL CHECK (source IN ('sftp', 'upload')),
    file_name      TEXT NOT NULL,
    sha256         TEXT NOT NULL UNIQUE,
    format         TEXT NOT NULL,
    encoding       TEXT NOT NULL,
    bank_code      TEXT NOT NULL,
    account        TEXT NOT NULL,
    statement_date TEXT NOT NULL,
    deposits       INTEGER NOT NULL,
    total          BIGINT NOT NULL,
    new_deposits   INTEGER NOT NULL,
    duplicates     INTEGER NOT NULL,
    imported_by    TEXT NOT NULL,
    imported_at    TEXT NOT NULL
);
CREATE INDEX statement_files_date ON statement_files (statement_date, id);

-- Every fetch from the bank's SFTP server, scheduled or on demand: when, whether it reached the
-- server, what it imported and what it left in the inbox (the metric of the last good fetch).
CREATE TABLE bank_fetches (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    ok         BOOLEAN NOT NULL,
    imported   INTEGER NOT NULL,
    failed     INTEGER NOT NULL,
    error      TEXT
);
CREATE INDEX bank_fetches_ok ON bank_fetches (ok, id);

-- What a driver reported at a delivered stop: how it is paid, the cash taken (net of deposits
-- paid back; may be negative), and the cylinder deposits (押金) moved by cylinders lent and returned.
CREATE TABLE collections (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id       BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    customer_id    BIGINT NOT NULL REFERENCES customers (id),
    driver_id      BIGINT REFERENCES drivers (id),
    delivery_date  TEXT NOT NULL,
    method         TEXT NOT NULL CHECK (method IN ('cash', 'transfer', 'monthly')),
    cash           BIGINT NOT NULL,
    deposit_change BIGINT NOT NULL,
    note           TEXT,
    reported_by    TEXT NOT NULL,
    reported_at    TEXT NOT NULL
);
CREATE INDEX collections_day ON collections (delivery_date, driver_id);
CREATE INDEX collections_customer ON collections (customer_id, id);

CREATE TABLE cylinder_movements (
    collection_id BIGINT NOT NULL REFERENCES collections (id),
    customer_id   BIGINT NOT NULL REFERENCES customers (id),
    cylinder_kg   INTEGER NOT NULL CHECK (cylinder_kg > 0),
    lent          INTEGER NOT NULL CHECK (lent >= 0),
    returned      INTEGER NOT NULL CHECK (returned >= 0),
    deposit_each  BIGINT NOT NULL CHECK (deposit_each >= 0),
    PRIMARY KEY (collection_id, cylinder_kg)
);
CREATE INDEX cylinder_movements_customer ON cylinder_movements (customer_id);

-- The cash a driver handed in at the end of a day's route, against what the route collected.
CREATE TABLE cash_handins (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    driver_id     BIGINT NOT NULL REFERENCES drivers (id),
    delivery_date TEXT NOT NULL,
    amount        BIGINT NOT NULL CHECK (amount >= 0),
    expected      BIGINT NOT NULL,
    difference    BIGINT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('balanced', 'flagged', 'resolved')),
    note          TEXT,
    resolution    TEXT,
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    resolved_by   TEXT,
    resolved_at   TEXT,
    UNIQUE (driver_id, delivery_date)
);
CREATE INDEX cash_handins_day ON cash_handins (delivery_date, id);
CREATE INDEX cash_handins_status ON cash_handins (status, id);

CREATE TABLE payments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL CHECK (kind IN ('deposit', 'cash')),
    customer_id   BIGINT REFERENCES customers (id),
    amount        BIGINT NOT NULL CHECK (amount > 0),
    allocated     BIGINT NOT NULL DEFAULT 0 CHECK (allocated >= 0),
    refunded      BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    written_off   BIGINT NOT NULL DEFAULT 0 CHECK (written_off >= 0),
    split_out     BIGINT NOT NULL DEFAULT 0 CHECK (split_out >= 0),
    unapplied     BIGINT NOT NULL CHECK (unapplied >= 0),
    received_on   TEXT NOT NULL,
    paid_at       TEXT,
    serial        TEXT UNIQUE,
    account       TEXT,
    payer_name    TEXT,
    payer_bank    TEXT,
    payer_account TEXT,
    memo          TEXT,
    reason        TEXT,
    statement_id  BIGINT REFERENCES statement_files (id),
    collection_id BIGINT UNIQUE REFERENCES collections (id),
    parent_id     BIGINT REFERENCES payments (id),
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    CHECK (allocated + refunded + written_off + split_out + unapplied = amount)
);
CREATE INDEX payments_customer ON payments (customer_id, id);
CREATE INDEX payments_received ON payments (received_on, id);
CREATE INDEX payments_statement ON payments (statement_id, id);
CREATE INDEX payments_kind ON payments (kind, id);
-- The accountant's queue (no customer) and customers' credits: payments with money unapplied.
CREATE INDEX payments_open ON payments (customer_id, id) WHERE unapplied > 0;

CREATE TABLE allocations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id BIGINT NOT NULL REFERENCES payments (id),
    invoice_id BIGINT NOT NULL REFERENCES invoices (id),
    amount     BIGINT NOT NULL CHECK (amount > 0),
    rule       TEXT NOT NULL CHECK (rule IN ('exact', 'oldest', 'door', 'credit', 'manual')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX allocations_payment ON allocations (payment_id);
CREATE INDEX allocations_invoice ON allocations (invoice_id);

-- Refunds and write-offs of money on a payment, with why.
CREATE TABLE payment_adjustments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id BIGINT NOT NULL REFERENCES payments (id),
    kind       TEXT NOT NULL CHECK (kind IN ('refund', 'write_off')),
    amount     BIGINT NOT NULL CHECK (amount > 0),
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX payment_adjustments_payment ON payment_adjustments (payment_id);

-- What has been paid of each invoice; its balance is total - allowed - paid and never negative.
ALTER TABLE invoices ADD COLUMN paid_amount BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER invoices_balance_not_negative BEFORE UPDATE OF paid_amount, allowed_amount ON invoices
WHEN NEW.paid_amount < 0 OR NEW.paid_amount > NEW.total_amount - NEW.allowed_amount
BEGIN
    SELECT RAISE(ABORT, 'invoice balance would be negative');
END;
-- Open invoices of a customer, oldest first (matching, aging, statements).
CREATE INDEX invoices_customer_open ON invoices (customer_id, issued_at, id) WHERE status = 'issued';

-- The audit log says what a decision was, not only who made it and where (JSON, optional).
ALTER TABLE audit_log ADD COLUMN detail TEXT;
