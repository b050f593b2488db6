-- Legacy sync, the other direction (PostgreSQL); see the SQLite twin for the design.
ALTER TABLE legacy_links ADD COLUMN base TEXT;

CREATE TABLE legacy_pickup (
    tbl        TEXT PRIMARY KEY,
    upd_dt     TEXT NOT NULL,
    upd_tm     TEXT NOT NULL,
    rec_no     TEXT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE legacy_conflicts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    entity       TEXT NOT NULL,
    legacy_no    TEXT NOT NULL,
    entity_id    BIGINT,
    field        TEXT NOT NULL,
    base_value   TEXT,
    legacy_value TEXT NOT NULL,
    new_value    TEXT NOT NULL,
    winner       TEXT NOT NULL CHECK (winner IN ('legacy', 'new')),
    rule         TEXT NOT NULL,
    legacy_user  TEXT NOT NULL,
    legacy_stamp TEXT NOT NULL
);
CREATE INDEX legacy_conflicts_entity ON legacy_conflicts (entity, legacy_no, id);

CREATE TABLE legacy_reconciliations (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    scope       TEXT NOT NULL,
    drift       BIGINT NOT NULL,
    repaired    BIGINT NOT NULL,
    direction   TEXT,
    report      TEXT NOT NULL
);
