-- Drivers (SQLite). Skills are JSON text.
CREATE TABLE drivers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    phone      TEXT,
    skills     TEXT NOT NULL,
    active     BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
