-- Depots and customers (SQLite). Lists of time windows, usual cylinders and access restrictions
-- are JSON text, validated by the service before they are written.
CREATE TABLE depots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    address    TEXT NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE customers (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    phone               TEXT,
    address             TEXT NOT NULL,
    district            TEXT NOT NULL,
    lat                 REAL NOT NULL,
    lon                 REAL NOT NULL,
    time_windows        TEXT NOT NULL,
    usual_cylinders     TEXT NOT NULL,
    access_restrictions TEXT NOT NULL,
    payment_method      TEXT NOT NULL CHECK (payment_method IN ('cash', 'transfer', 'monthly')),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE INDEX customers_district ON customers (district);
