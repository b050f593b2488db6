-- Feature flags (SQLite): one row per flag an admin has written; a built-in flag that was never
-- written answers its built-in default. `definition` is the flag's JSON (the `flags` crate's
-- FlagDefinition, normalised); `version` starts at 1 and grows by one at every change, so
-- SUM(version) over the table grows at every change (rows are never deleted), which other
-- processes on the file poll for. The audit log keeps who changed what, with the definitions
-- before and after.
CREATE TABLE feature_flags (
    key        TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
