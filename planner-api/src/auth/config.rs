//! Authentication settings from the environment. Secrets come from a variable or, better, from a
//! file mounted by the orchestrator (`…_FILE`); never from the code.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `LUCKYGAS_JWT_SECRET` / `LUCKYGAS_JWT_SECRET_FILE` | HMAC key of access tokens, ≥ 32 bytes | a random key per start |
//! | `LUCKYGAS_ACCESS_TOKEN_TTL_SECS` | access token lifetime | 900 |
//! | `LUCKYGAS_REFRESH_TOKEN_TTL_SECS` | refresh token lifetime | 1209600 (14 days) |
//! | `LUCKYGAS_ADMIN_EMAIL` + `LUCKYGAS_ADMIN_PASSWORD` / `LUCKYGAS_ADMIN_PASSWORD_FILE` | first admin, created on start if that email is not a user yet | none |

use super::token::JwtKeys;
use std::time::Duration;

/// Shortest accepted JWT secret, in bytes (HS256's key is 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;
/// Default access token lifetime.
pub const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// Default refresh token lifetime.
pub const DEFAULT_REFRESH_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

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
    /// The signing key.
    pub keys: JwtKeys,
    /// Where the key came from.
    pub key_source: KeySource,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
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
    #[error("LUCKYGAS_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)")]
    ShortSecret,
    /// A number of seconds does not parse or is zero.
    #[error("{0} must be a positive number of seconds")]
    BadSeconds(&'static str),
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

fn seconds(lookup: &impl Fn(&str) -> Option<String>, var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    match lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().ok().filter(|s| *s > 0).map(Duration::from_secs).ok_or(ConfigError::BadSeconds(var)),
    }
}

impl AuthConfig {
    /// Settings with the given key and the default lifetimes.
    pub fn with_secret(secret: &[u8], key_source: KeySource) -> AuthConfig {
        AuthConfig { keys: JwtKeys::new(secret), key_source, access_ttl: DEFAULT_ACCESS_TTL, refresh_ttl: DEFAULT_REFRESH_TTL }
    }

    /// Reads the settings through `lookup` (`std::env::var` in the service, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigError> {
        let (secret, source) = match secret(&lookup, "LUCKYGAS_JWT_SECRET")? {
            Some((s, _)) if s.len() < MIN_SECRET_BYTES => return Err(ConfigError::ShortSecret),
            Some((s, source)) => (s.into_bytes(), source),
            None => (super::random_hex(32).into_bytes(), KeySource::Generated),
        };
        let mut config = AuthConfig::with_secret(&secret, source);
        config.access_ttl = seconds(&lookup, "LUCKYGAS_ACCESS_TOKEN_TTL_SECS", DEFAULT_ACCESS_TTL)?;
        config.refresh_ttl = seconds(&lookup, "LUCKYGAS_REFRESH_TOKEN_TTL_SECS", DEFAULT_REFRESH_TTL)?;
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

    #[test]
    fn generates_a_different_key_per_start_when_none_is_given() {
        let (a, b) = (AuthConfig::from_lookup(env(&[])).expect("config"), AuthConfig::from_lookup(env(&[])).expect("config"));
        assert_eq!(a.key_source, KeySource::Generated);
        let token = a.keys.sign(&crate::auth::Claims {
            sub: "1".into(),
            role: crate::domain::Role::Admin,
            driver_id: None,
            iat: 0,
            exp: chrono::Utc::now().timestamp() + 60,
        });
        assert!(a.keys.verify(&token).is_ok());
        assert!(b.keys.verify(&token).is_err(), "two starts do not share a key");
    }

    #[test]
    fn reads_secrets_from_mounted_files_without_the_trailing_newline() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (key, pw) = (dir.path().join("jwt"), dir.path().join("pw"));
        std::fs::write(&key, format!("{}\n", "k".repeat(40))).expect("write key");
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
        assert!(matches!(AuthConfig::from_lookup(env(&[("LUCKYGAS_JWT_SECRET", "short")])), Err(ConfigError::ShortSecret)));
        let both = env(&[("LUCKYGAS_JWT_SECRET", &"k".repeat(40)), ("LUCKYGAS_JWT_SECRET_FILE", "/run/secrets/jwt")]);
        assert!(matches!(AuthConfig::from_lookup(both), Err(ConfigError::Both(_))));
        assert!(matches!(AdminBootstrap::from_lookup(env(&[("LUCKYGAS_ADMIN_EMAIL", "a@b.tw")])), Err(ConfigError::HalfAdmin)));
        let missing = env(&[("LUCKYGAS_JWT_SECRET_FILE", "/nonexistent/luckygas/jwt")]);
        assert!(matches!(AuthConfig::from_lookup(missing), Err(ConfigError::File { .. })));
        assert!(matches!(AuthConfig::from_lookup(env(&[("LUCKYGAS_ACCESS_TOKEN_TTL_SECS", "0")])), Err(ConfigError::BadSeconds(_))));
    }
}
