-- Legacy sync, the other direction (issue 18): changes made in the old program are picked up
-- here, merged field by field against what both sides last agreed on, and conflicts logged;
-- and both sides are reconciled per entity and day.
--
-- legacy_links.base: the shared fields of the record as both sides last agreed on them (JSON, the
-- merge's base; see planner-api/src/sync/merge.rs), written by the import, by every write of the
-- sync worker and by every pick-up.
ALTER TABLE legacy_links ADD COLUMN base TEXT;

-- legacy_pickup: how far the pick-up has read each old table, by its "last changed" stamp
-- (UPD_DT, UPD_TM) and key: the next read starts after it.
CREATE TABLE legacy_pickup (
    tbl        TEXT PRIMARY KEY,
    upd_dt     TEXT NOT NULL,
    upd_tm     TEXT NOT NULL,
    rec_no     TEXT NOT NULL,
    changed_at TEXT NOT NULL
);

-- legacy_conflicts: every field changed on both sides since they last agreed, with the three
-- values, the rule that decided and which side won. Written in the transaction that applies the
-- merge; never changed.
CREATE TABLE legacy_conflicts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    entity       TEXT NOT NULL,
    legacy_no    TEXT NOT NULL,
    entity_id    INTEGER,
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

-- legacy_reconciliations: each comparison of both sides, with its report (JSON) and what it
-- repaired.
CREATE TABLE legacy_reconciliations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    scope       TEXT NOT NULL,
    drift       INTEGER NOT NULL,
    repaired    INTEGER NOT NULL,
    direction   TEXT,
    report      TEXT NOT NULL
);
