-- Sign-in throttling shared by every replica (PostgreSQL), and the time a refresh token was
-- rotated (as opposed to revoked by sign-out, reuse or a change of the user), which lets a
-- second refresh of the same token within a short grace window succeed (two tabs).
CREATE TABLE login_throttle (
    scope           TEXT NOT NULL CHECK (scope IN ('account', 'address')),
    subject         TEXT NOT NULL,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL,
    PRIMARY KEY (scope, subject)
);

ALTER TABLE refresh_tokens ADD COLUMN rotated_at BIGINT;
