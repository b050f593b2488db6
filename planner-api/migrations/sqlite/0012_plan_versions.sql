-- Versions of a plan (SQLite). Version 1 is the plan the job made; each replan
-- (`POST /v1/plans/{id}/events`) adds the next one. The primary key makes two replans based on
-- the same version conflict: the second insert fails and its transaction changes nothing.
-- `model` is the solver input of the version (JSON) when it differs from the previous one.
CREATE TABLE plan_versions (
    plan_id    INTEGER NOT NULL REFERENCES plan_jobs (id),
    version    INTEGER NOT NULL,
    based_on   INTEGER,
    at_s       INTEGER,
    events     TEXT NOT NULL,
    execution  TEXT NOT NULL,
    diff       TEXT NOT NULL,
    result     TEXT NOT NULL,
    model      TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (plan_id, version)
);
