-- The audit log (SQLite): one row per write the server accepted, written by the server from the
-- signed-in user. Rows are only ever inserted.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    route      TEXT NOT NULL,
    status     INTEGER NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
