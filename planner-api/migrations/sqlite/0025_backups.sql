-- Backups (issue 20): every backup `luckygas backup` completed, recorded in the database it
-- copied once the copy is whole, so that every replica's /metrics can say how old the newest is
-- (luckygas_backup_last_success_age_seconds; alert LuckyGasBackupTooOld). Additive only (expand):
-- the previous release neither reads nor needs it.
CREATE TABLE backups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    backend     TEXT NOT NULL,
    location    TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL
);
CREATE INDEX backups_finished ON backups (finished_at);
