-- Sign-in throttling shared by every replica (SQLite), and the time a refresh token was
-- rotated (as opposed to revoked by sign-out, reuse or a change of the user), which lets a
-- second refresh of the same token within a short grace window succeed (two tabs).
CREATE TABLE login_throttle (
    scope           TEXT NOT NULL CHECK (scope IN ('account', 'address')),
    subject         TEXT NOT NULL,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL,
    PRIMARY KEY (scope, subject)
);

ALTER TABLE refresh_tokens ADD COLUMN rotated_at INTEGER;
