//! The crate's one error type: what went wrong, said so that an operator can act on it.

use crate::packet::status_name;

/// Everything that can fail while talking to an SFTP server.
#[derive(Debug, thiserror::Error)]
pub enum SftpError {
    /// OpenSSH refused the server: the host key it presented is not the pinned one.
    #[error(
        "the SFTP server {host} did not present the pinned host key (ssh: host key verification failed); \
         compare the configured host key with the one the bank published before changing it"
    )]
    HostKeyRejected {
        /// The host as configured.
        host: String,
    },
    /// The server refused our key.
    #[error(
        "the SFTP server refused key authentication for user {user} (ssh: permission denied); \
         check the identity file and that its public key is authorised for that user on the server"
    )]
    AuthFailed {
        /// The user as configured.
        user: String,
    },
    /// `ssh` could not be started, could not reach the server, or the connection broke (carries
    /// the end of ssh's error output); also a host, user or path in the configuration that cannot
    /// be passed to `ssh` safely.
    #[error("SFTP connection failed: {0}")]
    Connect(String),
    /// An operation (named) took longer than its time limit; the session is unusable afterwards.
    #[error("SFTP {0} timed out")]
    Timeout(&'static str),
    /// The server answered a request with an error status.
    #[error("the SFTP server refused {path}: {message} (status {code}, {name})", name = status_name(*code))]
    Status {
        /// The SSH_FX_* status code (2 = no such file, 3 = permission denied, 4 = failure).
        code: u32,
        /// The server's message.
        message: String,
        /// The path (or `from -> to` of a rename) the request was about.
        path: String,
    },
    /// The server sent something that is not SFTP version 3, or the session is unusable.
    #[error("SFTP protocol error: {0}")]
    Protocol(String),
    /// A file is larger than the caller's limit; nothing of it is returned.
    #[error("{path} on the SFTP server is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading from or writing to the `ssh` process, or a local file, failed.
    #[error("I/O error in the SFTP client: {0}")]
    Io(#[from] std::io::Error),
    /// The configured host key is not a usable public key line.
    #[error("invalid pinned SFTP host key: {0}")]
    InvalidHostKey(String),
}

impl SftpError {
    /// The SSH_FX_* status code when the server refused the request, else `None`.
    pub fn status_code(&self) -> Option<u32> {
        match self {
            SftpError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}
