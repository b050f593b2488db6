//! An SFTP client for fetching bank deposit statements: OpenSSH's `ssh` runs as a subprocess in
//! subsystem mode (`ssh … -s user@host sftp`) and this crate speaks SFTP version 3
//! (draft-ietf-secsh-filexfer-02) over its stdin and stdout.
//!
//! Transport, authentication (one private key, no agent, no prompt) and host-key checking are
//! OpenSSH's. The server's host key is pinned: `ssh` checks it against a known_hosts file,
//! written for each connection into a private temporary directory, that holds exactly the
//! configured key, with strict checking, so a server presenting any other key is refused
//! ([`SftpError::HostKeyRejected`]) before our key is offered.
//!
//! Features: `client` (default) is [`Session`] and [`SftpConfig`] over tokio; without it the crate
//! is the packet codec, [`HostKey`] and [`SftpError`]. `test-server` adds `testing::TestSshd`, a
//! real sshd for tests.
//!
//! ```no_run
//! # async fn fetch() -> Result<(), luckygas_sftp::SftpError> {
//! use luckygas_sftp::{HostKey, Session, SftpConfig};
//! let key = HostKey::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINzCYJQ/GkXXjfSh4ftRISO10VUXX9/s6FVav+aFFD2t")?;
//! let config = SftpConfig::new("sftp.bank.example", 22, "luckygas", "/etc/luckygas/bank_ed25519", key);
//! let mut session = Session::connect(&config).await?;
//! session.mkdir_all("processed").await?;
//! for entry in session.list("inbox").await?.into_iter().filter(|e| e.is_file) {
//!     let bytes = session.read(&format!("inbox/{}", entry.name), 16 << 20).await?;
//!     // … import `bytes` and commit, then:
//!     session.rename(&format!("inbox/{}", entry.name), &format!("processed/{}", entry.name)).await?;
//! }
//! session.close().await
//! # }
//! ```

#[cfg(feature = "client")]
mod config;
mod error;
mod host_key;
pub mod packet;
#[cfg(feature = "client")]
mod session;
#[cfg(feature = "test-server")]
pub mod testing;

#[cfg(feature = "client")]
pub use config::SftpConfig;
pub use error::SftpError;
pub use host_key::HostKey;
#[cfg(feature = "client")]
pub use session::{Entry, Session, CHUNK, DEFAULT_REQUEST_TIMEOUT};
