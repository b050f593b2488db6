-- Invoicing (SQLite): prices, customers' invoice preferences, invoice number blocks (字軌),
-- invoices with their items and the deliveries they bill, allowances (折讓), and the MIG messages
-- exchanged with Turnkey. Amounts are whole NT$ (BIGINT).

-- Prices are tax-inclusive, per cylinder or per kg of gas, effective from a date; a row with a
-- customer is that customer's contract price, without one the list price. Deposits (押金) per
-- loaned cylinder are kept here but are never a taxable sale: no invoice carries them.
CREATE TABLE prices (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id    BIGINT REFERENCES customers (id),
    cylinder_kg    INTEGER NOT NULL CHECK (cylinder_kg > 0),
    basis          TEXT NOT NULL CHECK (basis IN ('cylinder', 'kg')),
    unit_price     BIGINT NOT NULL CHECK (unit_price >= 0),
    deposit        BIGINT NOT NULL CHECK (deposit >= 0),
    effective_from TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE UNIQUE INDEX prices_key ON prices (COALESCE(customer_id, 0), cylinder_kg, effective_from);

CREATE TABLE invoice_preferences (
    customer_id  BIGINT PRIMARY KEY REFERENCES customers (id),
    buyer_ban    TEXT,
    buyer_name   TEXT,
    delivery     TEXT NOT NULL CHECK (delivery IN ('print', 'carrier', 'donate')),
    carrier_type TEXT,
    carrier_id   TEXT,
    npoban       TEXT,
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Numbers are taken in order from the lowest open block of the period and branch: next_no is
-- incremented in the transaction that inserts the invoice, so a rolled-back or killed issue
-- gives its number back and numbers are never skipped.
CREATE TABLE number_blocks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    period     TEXT NOT NULL,
    branch     TEXT NOT NULL,
    track      TEXT NOT NULL,
    first_no   BIGINT NOT NULL,
    last_no    BIGINT NOT NULL,
    next_no    BIGINT NOT NULL,
    closed_at  TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (first_no <= last_no),
    CHECK (next_no >= first_no AND next_no <= last_no + 1),
    UNIQUE (period, track, first_no)
);

CREATE TABLE invoices (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    number                TEXT NOT NULL UNIQUE,
    period                TEXT NOT NULL,
    branch                TEXT NOT NULL,
    block_id              BIGINT NOT NULL REFERENCES number_blocks (id),
    customer_id           BIGINT NOT NULL REFERENCES customers (id),
    source                TEXT NOT NULL CHECK (source IN ('delivery', 'monthly', 'manual')),
    month                 TEXT,
    buyer_ban             TEXT NOT NULL,
    buyer_name            TEXT NOT NULL,
    b2b                   INTEGER NOT NULL,
    print_mark            TEXT NOT NULL,
    carrier_type          TEXT,
    carrier_id            TEXT,
    npoban                TEXT,
    random_code           TEXT NOT NULL,
    issued_at             TEXT NOT NULL,
    sales_amount          BIGINT NOT NULL,
    free_tax_sales_amount BIGINT NOT NULL,
    zero_tax_sales_amount BIGINT NOT NULL,
    tax_type              INTEGER NOT NULL,
    tax_amount            BIGINT NOT NULL,
    total_amount          BIGINT NOT NULL,
    allowed_amount        BIGINT NOT NULL DEFAULT 0,
    status                TEXT NOT NULL CHECK (status IN ('issued', 'voided', 'cancelled')),
    status_reason         TEXT,
    status_at             TEXT,
    created_by            TEXT NOT NULL
);
CREATE INDEX invoices_period ON invoices (period, status);
CREATE INDEX invoices_customer ON invoices (customer_id, id);
CREATE UNIQUE INDEX invoices_monthly ON invoices (customer_id, month) WHERE source = 'monthly' AND status = 'issued';

CREATE TABLE invoice_items (
    invoice_id     BIGINT NOT NULL REFERENCES invoices (id),
    seq            INTEGER NOT NULL,
    order_id       BIGINT REFERENCES orders (id),
    description    TEXT NOT NULL,
    quantity_milli BIGINT NOT NULL,
    unit           TEXT NOT NULL,
    unit_price     BIGINT NOT NULL,
    tax_type       INTEGER NOT NULL,
    amount         BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, seq)
);

-- Each delivered order is billed by exactly one invoice in force; voiding an invoice frees its
-- orders to be billed again.
CREATE TABLE invoice_orders (
    order_id   BIGINT PRIMARY KEY REFERENCES orders (id),
    invoice_id BIGINT NOT NULL REFERENCES invoices (id)
);
CREATE INDEX invoice_orders_invoice ON invoice_orders (invoice_id);

CREATE TABLE allowances (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    number      TEXT NOT NULL UNIQUE,
    invoice_id  BIGINT NOT NULL REFERENCES invoices (id),
    period      TEXT NOT NULL,
    issued_at   TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    tax_amount  BIGINT NOT NULL,
    total       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('issued', 'voided')),
    status_at   TEXT,
    created_by  TEXT NOT NULL
);
CREATE INDEX allowances_invoice ON allowances (invoice_id);
CREATE INDEX allowances_period ON allowances (period);

-- Every MIG message written for Turnkey, with what Turnkey said of it.
CREATE TABLE einvoice_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_type    TEXT NOT NULL,
    reference       TEXT NOT NULL,
    invoice_id      BIGINT REFERENCES invoices (id),
    allowance_id    BIGINT REFERENCES allowances (id),
    file_name       TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'superseded')),
    error_code      TEXT,
    error_message   TEXT,
    created_at      TEXT NOT NULL,
    deadline_at     TEXT NOT NULL,
    acknowledged_at TEXT
);
CREATE INDEX einvoice_messages_ref ON einvoice_messages (message_type, reference);
CREATE INDEX einvoice_messages_status ON einvoice_messages (status, deadline_at);
