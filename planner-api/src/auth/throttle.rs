//! Sign-in throttling: when repeated failures lock an account (an email) or a client address,
//! and for how long. The counts live in the database (`login_throttle`, see
//! `Store::record_login_failure`), so every replica on one database sees the same locks.
//!
//! Each failure within the window counts; the failure that reaches `max_failures` locks for
//! `lock`, and each further failure doubles the lock, up to `max_lock`. While locked, attempts
//! are answered 429 with `Retry-After` and no password is checked (no argon2 runs). A success
//! clears the account's count (not the address's: an attacker signing in to their own account
//! must not reset the count of the address they guess from). Failures are forgotten after
//! `window` without one (counted from the end of the last lock).

use std::time::Duration;

/// The limit of one kind of key (account or address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Failures within the window that lock.
    pub max_failures: u32,
    /// Quiet time after which failures are forgotten.
    pub window: Duration,
    /// The first lock.
    pub lock: Duration,
    /// The longest lock.
    pub max_lock: Duration,
}

impl Limit {
    /// How long the `failures`-th failure in a row locks (zero below the limit).
    pub fn lock_after(&self, failures: u32) -> Duration {
        if failures < self.max_failures {
            return Duration::ZERO;
        }
        let doublings = (failures - self.max_failures).min(30);
        self.lock.saturating_mul(1 << doublings).min(self.max_lock)
    }
}

/// The limits of accounts and of client addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Per email (whether or not a user has it, so that locks do not reveal which exist).
    pub account: Limit,
    /// Per client address (many accounts guessed from one place).
    pub address: Limit,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        let limit =
            |max_failures| Limit { max_failures, window: Duration::from_secs(15 * 60), lock: Duration::from_secs(60), max_lock: Duration::from_secs(3600) };
        ThrottlePolicy { account: limit(5), address: limit(50) }
    }
}

/// The two kinds of throttled keys, as stored in `login_throttle.scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// An email.
    Account,
    /// A client address.
    Address,
}

impl Scope {
    /// The stored name (and metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_from_the_limit_on_doubling_up_to_the_cap() {
        let account = ThrottlePolicy::default().account;
        let locks: Vec<u64> = (1..=13).map(|n| account.lock_after(n).as_secs()).collect();
        assert_eq!(locks, [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(account.lock_after(u32::MAX), Duration::from_secs(3600), "no overflow");
        assert_eq!(ThrottlePolicy::default().address.lock_after(49), Duration::ZERO);
    }
}
