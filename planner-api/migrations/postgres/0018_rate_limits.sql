-- Rate-limit counters shared by the replicas (planner-api/src/http/ratelimit.rs): requests per
-- key (`a:<address>` or `u:<user id>`) and one-minute window (`window_start`, Unix seconds).
-- UNLOGGED: counters need no crash safety and should cost no WAL; past windows are deleted by the
-- processes once a minute, so the table holds about one row per active client.
CREATE UNLOGGED TABLE rate_limit_windows (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
