-- Depots and customers (PostgreSQL). Lists of time windows, usual cylinders and access
-- restrictions are JSON text, validated by the service before they are written; the SQLite
-- schema stores them the same way so both backends share one row mapping.
CREATE TABLE depots (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    address    TEXT NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE customers (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    phone               TEXT,
    address             TEXT NOT NULL,
    district            TEXT NOT NULL,
    lat                 DOUBLE PRECISION NOT NULL,
    lon                 DOUBLE PRECISION NOT NULL,
    time_windows        TEXT NOT NULL,
    usual_cylinders     TEXT NOT NULL,
    access_restrictions TEXT NOT NULL,
    payment_method      TEXT NOT NULL CHECK (payment_method IN ('cash', 'transfer', 'monthly')),
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

CREATE INDEX customers_district ON customers (district);
