-- Rate-limit counters (planner-api/src/http/ratelimit.rs), as on PostgreSQL. The service keeps
-- SQLite's counters in process (one process serves a SQLite file); the table keeps the store's
-- functions and the schema the same on both backends.
CREATE TABLE rate_limit_windows (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
