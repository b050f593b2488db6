//! Authentication settings from the environment. Secrets come from a variable or, better, from a
//! file mounted by the orchestrator (`…_FILE`); never from the code.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `LUCKYGAS_JWT_SECRET` / `LUCKYGAS_JWT_SECRET_FILE` | HMAC key that signs access tokens: ≥ 32 bytes, not low-entropy (make one with `openssl rand -hex 32`) | a random key per start |
//! | `LUCKYGAS_JWT_PREVIOUS_SECRET` / `LUCKYGAS_JWT_PREVIOUS_SECRET_FILE` | the key before a rotation: signs nothing, still verifies its tokens until removed | none |
//! | `LUCKYGAS_JWT_ISSUER` | `iss` written into and required of access tokens | `luckygas` |
//! | `LUCKYGAS_JWT_AUDIENCE` | `aud` written into and required of access tokens | `luckygas-api` |
//! | `LUCKYGAS_ACCESS_TOKEN_TTL_SECS` | access token lifetime | 900 |
//! | `LUCKYGAS_REFRESH_TOKEN_TTL_SECS` | refresh token lifetime | 1209600 (14 days) |
//! | `LUCKYGAS_REFRESH_GRACE_SECS` | how long a just-rotated refresh token may be presented again (two tabs refreshing at once) before that counts as reuse; 0 turns it off | 30 |
//! | `LUCKYGAS_HASH_CONCURRENCY` | password hashes (19 MiB each) computed at once, process-wide | available CPUs |
//! | `LUCKYGAS_HASH_QUEUE` | sign-ins waiting for a hashing slot before new ones get 503 | 16 per slot |
//! | `LUCKYGAS_HASH_QUEUE_TIMEOUT_MS` | longest wait for a hashing slot before 503 | 5000 |
//! | `LUCKYGAS_LOGIN_ACCOUNT_MAX_FAILURES` | failed sign-ins of one email within the window before it is locked | 5 |
//! | `LUCKYGAS_LOGIN_ADDRESS_MAX_FAILURES` | failed sign-ins from one client address within the window before it is locked | 50 |
//! | `LUCKYGAS_LOGIN_WINDOW_SECS` | quiet time after which failures are forgotten | 900 |
//! | `LUCKYGAS_LOGIN_LOCK_SECS` | first lock; each further failure doubles it | 60 |
//! | `LUCKYGAS_LOGIN_MAX_LOCK_SECS` | longest lock | 3600 |
//! | `LUCKYGAS_ADMIN_EMAIL` + `LUCKYGAS_ADMIN_PASSWORD` / `LUCKYGAS_ADMIN_PASSWORD_FILE` | first admin, created on start if that email is not a user yet | none |

use super::password::HashLimits;
use super::throttle::{Limit, ThrottlePolicy};
use super::token::{JwtKeys, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use std::time::Duration;

/// Shortest accepted JWT secret, in bytes (HS256's key is 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// Fewest distinct bytes a JWT secret must have (random hex has about 16, base64 about 30; 32 ×
/// `a` has one).
pub const MIN_SECRET_DISTINCT_BYTES: usize = 10;
/// Default access token lifetime.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// Default refresh token lifetime.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 3600);
/// Default grace window of a just-rotated refresh token.
pub const DEFAULT_REFRESH_GRACE: Duration = Duration::from_secs(30);

/// Where the signing key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `LUCKYGAS_JWT_SECRET`.
    Env,
    /// `LUCKYGAS_JWT_SECRET_FILE`.
    File,
    /// Generated at start: tokens do not survive a restart, and several replicas do not accept
    /// each other's tokens.
    Generated,
}

/// Token settings of the running service.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// The signing key (and the previous one during a rotation), issuer and audience.
    pub keys: JwtKeys,
    /// Where the key came from.
    pub key_source: KeySource,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
    /// How long a rotated refresh token may still be traded (concurrent refreshes).
    pub refresh_grace: Duration,
    /// When failed sign-ins lock an account or a client address.
    pub throttle: ThrottlePolicy,
    /// The bound on concurrent password hashing (applied process-wide, see
    /// [`super::password::limiter`]).
    pub hash_limits: HashLimits,
}

/// The first admin, from the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminBootstrap {
    /// Email.
    pub email: String,
    /// Password in clear.
    pub password: String,
}

impl std::fmt::Debug for AdminBootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminBootstrap").field("email", &self.email).finish_non_exhaustive()
    }
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Both a variable and its `_FILE` twin are set.
    #[error("set only one of {0} and {0}_FILE")]
    Both(&'static str),
    /// The file named by a `_FILE` variable cannot be read.
    #[error("cannot read {var} file {path}: {source}")]
    File {
        /// The variable.
        var: &'static str,
        /// The path it names.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The JWT secret is too short.
    #[error("{0} must be at least {MIN_SECRET_BYTES} bytes; make one with `openssl rand -hex 32`")]
    ShortSecret(&'static str),
    /// The JWT secret is long enough but guessable: few distinct bytes or a repeated pattern.
    #[error(
        "{0} is too predictable (fewer than {MIN_SECRET_DISTINCT_BYTES} distinct characters, or a repeated pattern); \
         make a random one with `openssl rand -hex 32`"
    )]
    WeakSecret(&'static str),
    /// The previous key is the current key.
    #[error("LUCKYGAS_JWT_PREVIOUS_SECRET is the same as LUCKYGAS_JWT_SECRET; set it to the key being replaced")]
    SamePrevious,
    /// A previous key is set but no current key.
    #[error("LUCKYGAS_JWT_PREVIOUS_SECRET needs LUCKYGAS_JWT_SECRET (the new key) too")]
    PreviousWithoutCurrent,
    /// A number of seconds does not parse or is zero.
    #[error("{0} must be a positive number of seconds")]
    BadSeconds(&'static str),
    /// A count does not parse or is zero.
    #[error("{0} must be a positive whole number")]
    BadCount(&'static str),
    /// A text setting is blank or too long.
    #[error("{0} must be 1 to 200 characters")]
    BadText(&'static str),
    /// Only one half of the admin's email and password is set.
    #[error("set both LUCKYGAS_ADMIN_EMAIL and LUCKYGAS_ADMIN_PASSWORD (or LUCKYGAS_ADMIN_PASSWORD_FILE), or neither")]
    HalfAdmin,
}

/// Reads `var` or the file named by `var_FILE` (trailing line breaks removed, as editors and
/// `echo` add them); `None` when neither is set or the value is empty.
fn secret(lookup: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Option<(String, KeySource)>, ConfigError> {
    let file_var = format!("{var}_FILE");
    let direct = lookup(var).filter(|v| !v.is_empty());
    let file = lookup(&file_var).filter(|v| !v.trim().is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(ConfigError::Both(var)),
        (Some(v), None) => Ok(Some((v, KeySource::Env))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path.trim()).map_err(|source| ConfigError::File { var, path: path.clone(), source })?;
            let text = text.trim_end_matches(['\n', '\r']).to_owned();
            Ok(if text.is_empty() { None } else { Some((text, KeySource::File)) })
        }
        (None, None) => Ok(None),
    }
}

/// Refuses keys an attacker could guess: shorter than [`MIN_SECRET_BYTES`], fewer than
/// [`MIN_SECRET_DISTINCT_BYTES`] distinct bytes, or one short pattern repeated
/// (`0123456789abcdef0123456789abcdef`).
pub fn check_secret_strength(var: &'static str, secret: &[u8]) -> Result<(), ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::ShortSecret(var));
    }
    let mut seen = [false; 256];
    for b in secret {
        seen[usize::from(*b)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    // A period p repeats when every byte equals the one p places before it.
    let repeated = (1..=secret.len() / 2).any(|p| secret.iter().zip(&secret[p..]).all(|(a, b)| a == b));
    if distinct < MIN_SECRET_DISTINCT_BYTES || repeated {
        return Err(ConfigError::WeakSecret(var));
    }
    Ok(())
}

fn number(lookup: &impl Fn(&str) -> Option<String>, var: &'static str) -> Option<String> {
    lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn seconds(lookup: &impl Fn(&str) -> Option<String>, var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match number(lookup, var) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().ok().filter(|s| *s > 0).map(Duration::from_secs).ok_or(ConfigError::BadSeconds(var)),
    }
}

/// A count of at least 1.
pub(crate) fn count(lookup: &impl Fn(&str) -> Option<String>, var: &'static str, default: u32) -> Result<u32, ConfigError> {
    match number(lookup, var) {
        None => Ok(default),
        Some(v) => v.parse::<u32>().ok().filter(|n| *n > 0).ok_or(ConfigError::BadCount(var)),
    }
}

fn text(lookup: &impl Fn(&str) -> Option<String>, var: &'static str, default: &str) -> Result<String, ConfigError> {
    match lookup(var).map(|v| v.trim().to_owned()) {
        None => Ok(default.to_owned()),
        Some(v) if v.is_empty() || v.chars().count() > 200 => Err(ConfigError::BadText(var)),
        Some(v) => Ok(v),
    }
}

impl HashLimits {
    /// Reads the hashing bound through `lookup`: `LUCKYGAS_HASH_CONCURRENCY`,
    /// `LUCKYGAS_HASH_QUEUE`, `LUCKYGAS_HASH_QUEUE_TIMEOUT_MS`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<HashLimits, ConfigError> {
        let defaults = HashLimits::default();
        let permits = count(&lookup, "LUCKYGAS_HASH_CONCURRENCY", defaults.permits)?;
        let queue = count(&lookup, "LUCKYGAS_HASH_QUEUE", permits.saturating_mul(super::password::QUEUE_PER_PERMIT))?;
        let timeout_ms = count(&lookup, "LUCKYGAS_HASH_QUEUE_TIMEOUT_MS", u32::try_from(defaults.queue_timeout.as_millis()).unwrap_or(u32::MAX))?;
        Ok(HashLimits { permits, queue, queue_timeout: Duration::from_millis(u64::from(timeout_ms)) })
    }
}

impl ThrottlePolicy {
    /// Reads the sign-in throttling through `lookup` (the `LUCKYGAS_LOGIN_…` variables).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ThrottlePolicy, ConfigError> {
        let d = ThrottlePolicy::default();
        let window = seconds(&lookup, "LUCKYGAS_LOGIN_WINDOW_SECS", d.account.window)?;
        let lock = seconds(&lookup, "LUCKYGAS_LOGIN_LOCK_SECS", d.account.lock)?;
        let max_lock = seconds(&lookup, "LUCKYGAS_LOGIN_MAX_LOCK_SECS", d.account.max_lock)?.max(lock);
        let limit = |max_failures| Limit { max_failures, window, lock, max_lock };
        Ok(ThrottlePolicy {
            account: limit(count(&lookup, "LUCKYGAS_LOGIN_ACCOUNT_MAX_FAILURES", d.account.max_failures)?),
            address: limit(count(&lookup, "LUCKYGAS_LOGIN_ADDRESS_MAX_FAILURES", d.address.max_failures)?),
        })
    }
}

impl AuthConfig {
    /// Settings with the given key and the defaults for everything else (no strength check:
    /// [`AuthConfig::from_lookup`] checks keys that come from the environment).
    pub fn with_secret(secret: &[u8], key_source: KeySource) -> AuthConfig {
        AuthConfig {
            keys: JwtKeys::new(secret),
            key_source,
            access_ttl: DEFAULT_ACCESS_TTL,
            refresh_ttl: DEFAULT_REFRESH_TTL,
            refresh_grace: DEFAULT_REFRESH_GRACE,
            throttle: ThrottlePolicy::default(),
            hash_limits: HashLimits::default(),
        }
    }

    /// Reads the settings through `lookup` (`std::env::var` in the service, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigError> {
        let current = secret(&lookup, "LUCKYGAS_JWT_SECRET")?;
        let previous = secret(&lookup, "LUCKYGAS_JWT_PREVIOUS_SECRET")?;
        let (secret, source) = match current {
            Some((s, source)) => {
                check_secret_strength("LUCKYGAS_JWT_SECRET", s.as_bytes())?;
                (s.into_bytes(), source)
            }
            None if previous.is_some() => return Err(ConfigError::PreviousWithoutCurrent),
            None => (super::random_hex(32).into_bytes(), KeySource::Generated),
        };
        let mut config = AuthConfig::with_secret(&secret, source);
        if let Some((previous, _)) = previous {
            check_secret_strength("LUCKYGAS_JWT_PREVIOUS_SECRET", previous.as_bytes())?;
            if previous.as_bytes() == secret.as_slice() {
                return Err(ConfigError::SamePrevious);
            }
            config.keys = config.keys.with_previous(previous.as_bytes());
        }
        let issuer = text(&lookup, "LUCKYGAS_JWT_ISSUER", DEFAULT_ISSUER)?;
        let audience = text(&lookup, "LUCKYGAS_JWT_AUDIENCE", DEFAULT_AUDIENCE)?;
        config.keys = config.keys.with_issuer_and_audience(&issuer, &audience);
        config.access_ttl = seconds(&lookup, "LUCKYGAS_ACCESS_TOKEN_TTL_SECS", DEFAULT_ACCESS_TTL)?;
        config.refresh_ttl = seconds(&lookup, "LUCKYGAS_REFRESH_TOKEN_TTL_SECS", DEFAULT_REFRESH_TTL)?;
        config.refresh_grace = match number(&lookup, "LUCKYGAS_REFRESH_GRACE_SECS") {
            None => DEFAULT_REFRESH_GRACE,
            Some(v) => v.parse::<u64>().ok().filter(|s| *s <= 3600).map(Duration::from_secs).ok_or(ConfigError::BadSeconds("LUCKYGAS_REFRESH_GRACE_SECS"))?,
        };
        config.throttle = ThrottlePolicy::from_lookup(&lookup)?;
        config.hash_limits = HashLimits::from_lookup(&lookup)?;
        Ok(config)
    }
}

impl AdminBootstrap {
    /// Reads the first admin through `lookup`; `None` when neither half is set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<AdminBootstrap>, ConfigError> {
        let email = lookup("LUCKYGAS_ADMIN_EMAIL").map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
        match (email, secret(&lookup, "LUCKYGAS_ADMIN_PASSWORD")?) {
            (Some(email), Some((password, _))) => Ok(Some(AdminBootstrap { email, password })),
            (None, None) => Ok(None),
            _ => Err(ConfigError::HalfAdmin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k: &str| map.get(k).cloned()
    }

    fn claims() -> crate::auth::Claims {
        crate::auth::Claims { sub: "1".into(), role: crate::domain::Role::Admin, driver_id: None, iat: 0, exp: chrono::Utc::now().timestamp() + 60 }
    }

    #[test]
    fn generates_a_different_key_per_start_when_none_is_given() {
        let (a, b) = (AuthConfig::from_lookup(env(&[])).expect("config"), AuthConfig::from_lookup(env(&[])).expect("config"));
        assert_eq!(a.key_source, KeySource::Generated);
        let token = a.keys.sign(&claims());
        assert!(a.keys.verify(&token).is_ok());
        assert!(b.keys.verify(&token).is_err(), "two starts do not share a key");
    }

    #[test]
    fn reads_secrets_from_mounted_files_without_the_trailing_newline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (key, pw) = (dir.path().join("jwt"), dir.path().join("pw"));
        std::fs::write(&key, format!("{}\n", crate::auth::random_hex(32))).expect("write key");
        std::fs::write(&pw, "a long admin password\n").expect("write password");
        let lookup = env(&[
            ("LUCKYGAS_JWT_SECRET_FILE", key.to_str().unwrap_or_default()),
            ("LUCKYGAS_ADMIN_EMAIL", "boss@luckygas.tw"),
            ("LUCKYGAS_ADMIN_PASSWORD_FILE", pw.to_str().unwrap_or_default()),
            ("LUCKYGAS_ACCESS_TOKEN_TTL_SECS", "60"),
        ]);
        let config = AuthConfig::from_lookup(&lookup).expect("config");
        assert_eq!((config.key_source, config.access_ttl), (KeySource::File, Duration::from_secs(60)));
        let admin = AdminBootstrap::from_lookup(&lookup).expect("admin");
        assert_eq!(admin.map(|a| a.password), Some("a long admin password".to_owned()));
    }

    #[test]
    fn refuses_short_keys_double_settings_half_admins_and_missing_files() {
        assert!(matches!(AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_SECRET", "short")])), Err(ConfigError::ShortSecret(_))));
        let both = env(&[("LUCKYGAS_JWT_SECRET", &crate::auth::random_hex(32)), ("LUCKYGAS_JWT_SECRET_FILE", "/run/secrets/jwt")]);
        assert!(matches!(AuthConfig::from_lookup(both), Err(ConfigError::Both(_))));
        assert!(matches!(AdminBootstrap::from_lookup(env(&[("LUCKYGAS_ADMIN_EMAIL", "a@b.tw")])), Err(ConfigError::HalfAdmin)));
        let missing = env(&[("LUCKYGAS_JWT_SECRET_FILE", "/nonexistent/luckygas/jwt")]);
        assert!(matches!(AuthConfig::from_lookup(missing), Err(ConfigError::File { .. })));
        assert!(matches!(AuthConfig::from_lookup(env(&[("LUCKYGAS_ACCESS_TOKEN_TTL_SECS", "0")])), Err(ConfigError::BadSeconds(_))));
        assert!(matches!(AuthConfig::from_lookup(env(&[("LUCKYGAS_HASH_CONCURRENCY", "0")])), Err(ConfigError::BadCount(_))));
        assert!(matches!(AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_ISSUER", "  ")])), Err(ConfigError::BadText(_))));
    }

    #[test]
    fn refuses_low_entropy_keys_and_says_how_to_make_one() {
        for weak in ["a".repeat(32), "ab".repeat(20), "0123456789abcdef".repeat(2), "password".repeat(5)] {
            let err = AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_SECRET", &weak)])).err();
            assert!(matches!(err, Some(ConfigError::WeakSecret("LUCKYGAS_JWT_SECRET"))), "{weak}: {err:?}");
            assert!(err.is_some_and(|e| e.to_string().contains("openssl rand -hex 32")));
        }
        let short = AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_SECRET", "x")])).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(short.contains("openssl rand -hex 32"), "{short}");
        for strong in [crate::auth::random_hex(32), "pN3r8Xq+Zt0Lw9Vb2Yc5Hs7Jd1Kf4Mg6Qa=".to_owned()] {
            assert!(check_secret_strength("LUCKYGAS_JWT_SECRET", strong.as_bytes()).is_ok(), "{strong}");
        }
    }

    #[test]
    fn accepts_a_previous_key_for_rotation_with_issuer_and_audience() {
        let (old, new) = (crate::auth::random_hex(32), crate::auth::random_hex(32));
        let before = AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_SECRET", &old)])).expect("config");
        let token = before.keys.sign(&claims());
        let during = AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_SECRET", &new), ("LUCKYGAS_JWT_PREVIOUS_SECRET", &old)])).expect("config");
        assert!(during.keys.verify(&token).is_ok());
        assert_eq!(during.keys.previous_key_id(), Some(before.keys.key_id()));
        let custom = AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_SECRET", &new), ("LUCKYGAS_JWT_ISSUER", "lg-staging"), ("LUCKYGAS_JWT_AUDIENCE", "lg")]))
            .expect("config");
        assert!(custom.keys.verify(&during.keys.sign(&claims())).is_err(), "another issuer and audience");
        assert!(matches!(AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_PREVIOUS_SECRET", &old)])), Err(ConfigError::PreviousWithoutCurrent)));
        let same = env(&[("LUCKYGAS_JWT_SECRET", &new), ("LUCKYGAS_JWT_PREVIOUS_SECRET", &new)]);
        assert!(matches!(AuthConfig::from_lookup(same), Err(ConfigError::SamePrevious)));
        let weak_previous = env(&[("LUCKYGAS_JWT_SECRET", &new), ("LUCKYGAS_JWT_PREVIOUS_SECRET", &"a".repeat(40))]);
        assert!(matches!(AuthConfig::from_lookup(weak_previous), Err(ConfigError::WeakSecret("LUCKYGAS_JWT_PREVIOUS_SECRET"))));
    }

    #[test]
    fn reads_grace_throttling_and_hashing_limits() {
        let config = AuthConfig::from_lookup(env(&[])).expect("config");
        assert_eq!(
            (config.refresh_grace, config.throttle, config.hash_limits.queue_timeout),
            (DEFAULT_REFRESH_GRACE, ThrottlePolicy::default(), Duration::from_secs(5))
        );
        let lookup = env(&[
            ("LUCKYGAS_REFRESH_GRACE_SECS", "0"),
            ("LUCKYGAS_LOGIN_ACCOUNT_MAX_FAILURES", "3"),
            ("LUCKYGAS_LOGIN_LOCK_SECS", "10"),
            ("LUCKYGAS_HASH_CONCURRENCY", "2"),
            ("LUCKYGAS_HASH_QUEUE_TIMEOUT_MS", "250"),
        ]);
        let config = AuthConfig::from_lookup(lookup).expect("config");
        assert_eq!(config.refresh_grace, Duration::ZERO);
        assert_eq!(
            (config.throttle.account.max_failures, config.throttle.account.lock, config.throttle.address.max_failures),
            (3, Duration::from_secs(10), 50)
        );
        assert_eq!((config.hash_limits.permits, config.hash_limits.queue, config.hash_limits.queue_timeout), (2, 32, Duration::from_millis(250)));
    }
}
