//! Fetching the bank's statement files over SFTP ([`luckygas_sftp`]): key-based authentication,
//! the server's host key pinned in configuration (any other key is refused before anything is
//! read), every file of the inbox imported in name order, and each moved to the processed folder
//! only after its import committed. A process killed between the commit and the move leaves the
//! file in the inbox: the next fetch finds its bytes imported already, credits nothing, and
//! moves it then. A file that is not a valid statement stays in the inbox, reported with its
//! line, and nothing of it is applied.

use super::{ImportError, ImportReport, Receivables};
use luckygas_sftp::{HostKey, Session, SftpConfig, SftpError};
use std::path::PathBuf;
use std::time::Duration;

/// Where the bank's statements are and how to reach them.
#[derive(Clone, Debug)]
pub struct FetchConfig {
    /// The connection (host, port, user, key file, pinned host key).
    pub sftp: SftpConfig,
    /// The folder the bank puts statements in.
    pub inbox: String,
    /// The folder imported files are moved to.
    pub processed: String,
    /// How often the recurring fetch runs.
    pub every: Duration,
    /// The largest file read.
    pub max_file_bytes: u64,
}

impl FetchConfig {
    /// Reads `LUCKYGAS_BANK_SFTP_HOST` (none: no fetching), `LUCKYGAS_BANK_SFTP_PORT` (22),
    /// `LUCKYGAS_BANK_SFTP_USER`, `LUCKYGAS_BANK_SFTP_KEY_FILE` (the private key, mounted from a
    /// secret), `LUCKYGAS_BANK_SFTP_HOST_KEY` (the server's public key as `ssh-ed25519 AAAA…`) or
    /// `LUCKYGAS_BANK_SFTP_HOST_KEY_FILE`, `LUCKYGAS_BANK_SFTP_INBOX` (`outbound`),
    /// `LUCKYGAS_BANK_SFTP_PROCESSED` (`processed`), `LUCKYGAS_BANK_FETCH_EVERY_SECS` (900).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<FetchConfig>, String> {
        let var = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some(host) = var("LUCKYGAS_BANK_SFTP_HOST") else { return Ok(None) };
        let port = match var("LUCKYGAS_BANK_SFTP_PORT") {
            None => 22,
            Some(p) => p.parse::<u16>().map_err(|_| format!("LUCKYGAS_BANK_SFTP_PORT must be a port number, not {p:?}"))?,
        };
        let user = var("LUCKYGAS_BANK_SFTP_USER").ok_or("LUCKYGAS_BANK_SFTP_USER must be set with LUCKYGAS_BANK_SFTP_HOST")?;
        let key = var("LUCKYGAS_BANK_SFTP_KEY_FILE").ok_or("LUCKYGAS_BANK_SFTP_KEY_FILE must be set with LUCKYGAS_BANK_SFTP_HOST")?;
        let host_key = match (var("LUCKYGAS_BANK_SFTP_HOST_KEY"), var("LUCKYGAS_BANK_SFTP_HOST_KEY_FILE")) {
            (Some(line), _) => line,
            (None, Some(file)) => std::fs::read_to_string(&file).map_err(|e| format!("LUCKYGAS_BANK_SFTP_HOST_KEY_FILE {file}: {e}"))?,
            (None, None) => return Err("LUCKYGAS_BANK_SFTP_HOST_KEY (or _FILE) must pin the server's host key".into()),
        };
        let host_key = HostKey::parse(host_key.trim()).map_err(|e| format!("LUCKYGAS_BANK_SFTP_HOST_KEY: {e}"))?;
        let every = match var("LUCKYGAS_BANK_FETCH_EVERY_SECS") {
            None => Duration::from_secs(900),
            Some(s) => Duration::from_secs(
                s.parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("LUCKYGAS_BANK_FETCH_EVERY_SECS must be a whole number of seconds, not {s:?}"))?,
            ),
        };
        Ok(Some(FetchConfig {
            sftp: SftpConfig::new(host, port, user, PathBuf::from(key), host_key),
            inbox: var("LUCKYGAS_BANK_SFTP_INBOX").unwrap_or_else(|| "outbound".into()),
            processed: var("LUCKYGAS_BANK_SFTP_PROCESSED").unwrap_or_else(|| "processed".into()),
            every,
            max_file_bytes: 64 * 1024 * 1024,
        }))
    }
}

/// A file of the inbox that was not imported.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FailedFile {
    /// Its name.
    pub file: String,
    /// Why (for a malformed statement: the file, line and field).
    pub error: String,
    /// A stable code (`statement.amount_cents`, `sftp.read`, …).
    pub code: String,
}

/// What a fetch did.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct FetchReport {
    /// Files imported now, or found imported before, and moved to the processed folder.
    pub imported: Vec<ImportReport>,
    /// Files left in the inbox.
    pub failed: Vec<FailedFile>,
}

/// Why a fetch did not run.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The SFTP server: unreachable, refused our key, or showed a host key other than the pinned one.
    #[error("bank SFTP: {0}")]
    Sftp(#[from] SftpError),
    /// The database.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Fetches and imports every statement of the inbox (see the module docs), and records the fetch
/// (the metric of the last good fetch reads it).
pub async fn fetch(receivables: &Receivables, config: &FetchConfig) -> Result<FetchReport, FetchError> {
    let outcome = fetch_inbox(receivables, config).await;
    let recorded = match &outcome {
        Ok(r) => receivables.store().record_fetch(true, r.imported.len(), r.failed.len(), None).await,
        Err(FetchError::Sftp(e)) => receivables.store().record_fetch(false, 0, 0, Some(&e.to_string())).await,
        Err(FetchError::Store(_)) => Ok(()),
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "cannot record the bank fetch");
    }
    outcome
}

async fn fetch_inbox(receivables: &Receivables, config: &FetchConfig) -> Result<FetchReport, FetchError> {
    let mut session = Session::connect(&config.sftp).await?;
    let entries = session.list(&config.inbox).await?;
    let mut report = FetchReport::default();
    let mut processed_ready = false;
    for entry in entries.into_iter().filter(|e| e.is_file) {
        let path = format!("{}/{}", config.inbox.trim_end_matches('/'), entry.name);
        let bytes = match session.read(&path, config.max_file_bytes).await {
            Ok(b) => b,
            Err(e @ SftpError::TooLarge { .. }) => {
                report.failed.push(FailedFile { file: entry.name.clone(), error: e.to_string(), code: "sftp.too_large".into() });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let imported = match receivables.import(&entry.name, &bytes, "sftp", crate::store::payments::SYSTEM).await {
            Ok(r) => r,
            Err(ImportError::Malformed(e)) => {
                report.failed.push(FailedFile { file: entry.name.clone(), code: e.problem.code().to_owned(), error: e.to_string() });
                continue;
            }
            Err(ImportError::Store(e)) => return Err(e.into()),
            Err(e @ (ImportError::NoLayout | ImportError::Conflict)) => {
                report.failed.push(FailedFile { file: entry.name.clone(), error: e.to_string(), code: "payments.import".into() });
                continue;
            }
        };
        // Committed: now, and only now, the file leaves the inbox.
        if !processed_ready {
            session.mkdir_all(&config.processed).await?;
            processed_ready = true;
        }
        let target = format!("{}/{}", config.processed.trim_end_matches('/'), entry.name);
        if let Err(e) = session.rename(&path, &target).await {
            // A file of the same name was processed before (a bank re-sending a day under the
            // same name with other bytes): keep both, this one under its digest.
            let alternative = format!("{}.{}", target, &imported.file.sha256[..12]);
            session.rename(&path, &alternative).await.map_err(|_| e)?;
        }
        report.imported.push(imported);
    }
    session.close().await?;
    Ok(report)
}
