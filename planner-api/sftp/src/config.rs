//! Where and as whom to connect, and the `ssh` command line that does it with the host key
//! pinned: OpenSSH checks the server against a known_hosts file holding exactly that one key.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{HostKey, SftpError};

/// The settings of one SFTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpConfig {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (22 for most servers).
    pub port: u16,
    /// The user to log in as.
    pub user: String,
    /// The private key file (OpenSSH format, no passphrase: `ssh` runs in batch mode).
    pub identity_file: PathBuf,
    /// The server's pinned public host key; a server presenting any other key is refused.
    pub host_key: HostKey,
    /// Limit on setting up a connection: TCP, key exchange, authentication and the SFTP handshake.
    pub connect_timeout: Duration,
    /// The OpenSSH client to run (found on `PATH` unless a path is given).
    pub ssh_program: PathBuf,
}

impl SftpConfig {
    /// A configuration with a 15-second connect timeout and `ssh` from `PATH`.
    pub fn new(host: impl Into<String>, port: u16, user: impl Into<String>, identity_file: impl Into<PathBuf>, host_key: HostKey) -> SftpConfig {
        SftpConfig {
            host: host.into(),
            port,
            user: user.into(),
            identity_file: identity_file.into(),
            host_key,
            connect_timeout: Duration::from_secs(15),
            ssh_program: PathBuf::from("ssh"),
        }
    }

    /// The arguments of `ssh` for an SFTP session, with `known_hosts` the file holding
    /// [`HostKey::known_hosts_line`]. Nothing comes from the user's or the system's ssh
    /// configuration (`-F /dev/null`), no agent, no other key, no prompt.
    pub(crate) fn ssh_args(&self, known_hosts: &Path) -> Result<Vec<OsString>, SftpError> {
        check_host(&self.host)?;
        check_user(&self.user)?;
        let known_hosts = config_path(known_hosts, "the known_hosts file")?;
        let identity = config_path(&self.identity_file, "the identity file")?;
        let connect_secs = self.connect_timeout.as_secs_f64().ceil().max(1.0) as u64;
        let options = [
            "BatchMode=yes".to_owned(),
            "StrictHostKeyChecking=yes".to_owned(),
            format!("UserKnownHostsFile=\"{known_hosts}\""),
            "GlobalKnownHostsFile=/dev/null".to_owned(),
            format!("HostKeyAlgorithms={}", self.host_key.host_key_algorithms()),
            "UpdateHostKeys=no".to_owned(),
            "CheckHostIP=no".to_owned(),
            "VerifyHostKeyDNS=no".to_owned(),
            "IdentitiesOnly=yes".to_owned(),
            "IdentityAgent=none".to_owned(),
            "PreferredAuthentications=publickey".to_owned(),
            format!("ConnectTimeout={connect_secs}"),
            "ServerAliveInterval=15".to_owned(),
            "ServerAliveCountMax=3".to_owned(),
            "ControlMaster=no".to_owned(),
            "ControlPath=none".to_owned(),
            "ClearAllForwardings=yes".to_owned(),
            "ForwardAgent=no".to_owned(),
            "ForwardX11=no".to_owned(),
            "RequestTTY=no".to_owned(),
        ];
        let mut args: Vec<OsString> = vec!["-F".into(), "/dev/null".into()];
        for option in options {
            args.push("-o".into());
            args.push(option.into());
        }
        // -e none: no escape character, the stream is binary; -s: "sftp" names a subsystem.
        args.extend(["-e", "none", "-i"].map(OsString::from));
        args.push(identity.into());
        args.extend(["-p".into(), self.port.to_string().into(), "-s".into(), "--".into()]);
        args.push(format!("{}@{}", self.user, self.host).into());
        args.push("sftp".into());
        Ok(args)
    }
}

/// A host name or address: letters, digits, `.`, `-`, `_` and `:` (IPv6), not starting with `-`.
fn check_host(host: &str) -> Result<(), SftpError> {
    let fine = !host.is_empty()
        && host.len() <= 253
        && !host.starts_with('-')
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if fine {
        Ok(())
    } else {
        Err(SftpError::Connect(format!("refusing to connect: the SFTP host {host:?} is not a host name or IP address")))
    }
}

/// A user name: letters, digits, `.`, `-`, `_`, `+` and `@`, not starting with `-`.
fn check_user(user: &str) -> Result<(), SftpError> {
    let fine = !user.is_empty()
        && user.len() <= 256
        && !user.starts_with('-')
        && user.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '@'));
    if fine {
        Ok(())
    } else {
        Err(SftpError::Connect(format!("refusing to connect: the SFTP user {user:?} may hold only letters, digits, '.', '-', '_', '+' and '@'")))
    }
}

/// A path as `ssh` reads it in an option: `%` doubled (ssh expands `%` tokens in these paths);
/// refused when it holds what cannot be quoted or escaped there (`"`, `\`, `${`, control
/// characters) or is not UTF-8.
fn config_path(path: &Path, what: &str) -> Result<String, SftpError> {
    let refuse = |why: &str| SftpError::Connect(format!("refusing to pass {what} {} to ssh: {why}", path.display()));
    let text = path.to_str().ok_or_else(|| refuse("the path is not UTF-8"))?;
    if text.chars().any(|c| c.is_control() || c == '"' || c == '\\') || text.contains("${") {
        return Err(refuse("the path holds a quote, a backslash, '${' or a control character"));
    }
    Ok(text.replace('%', "%%"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SftpConfig {
        let key = HostKey::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINzCYJQ/GkXXjfSh4ftRISO10VUXX9/s6FVav+aFFD2t").unwrap();
        SftpConfig::new("sftp.bank.example", 2222, "luckygas", "/etc/luckygas/id 100%", key)
    }

    fn args(config: &SftpConfig, known_hosts: &str) -> Result<Vec<String>, SftpError> {
        Ok(config.ssh_args(Path::new(known_hosts))?.into_iter().map(|a| a.into_string().unwrap()).collect())
    }

    #[test]
    fn defaults_to_15_seconds_and_ssh_on_the_path() {
        let c = config();
        assert_eq!(c.connect_timeout, Duration::from_secs(15));
        assert_eq!(c.ssh_program, PathBuf::from("ssh"));
    }

    #[test]
    fn pins_the_key_and_ends_with_the_subsystem_request() {
        let a = args(&config(), "/tmp/luckygas sftp/known_hosts").unwrap();
        let joined = a.join(" ");
        for expected in [
            "-F /dev/null",
            "-o StrictHostKeyChecking=yes",
            "-o UserKnownHostsFile=\"/tmp/luckygas sftp/known_hosts\"",
            "-o GlobalKnownHostsFile=/dev/null",
            "-o HostKeyAlgorithms=ssh-ed25519",
            "-o IdentityAgent=none",
            "-o ConnectTimeout=15",
            "-i /etc/luckygas/id 100%%",
        ] {
            assert!(joined.contains(expected), "{expected} missing from {joined}");
        }
        assert_eq!(a[a.len() - 6..], ["-p", "2222", "-s", "--", "luckygas@sftp.bank.example", "sftp"]);
    }

    #[test]
    fn refuses_hosts_users_and_paths_that_ssh_would_read_as_something_else() {
        for host in ["-oProxyCommand=x", "bank host", "", "a;b"] {
            let c = SftpConfig { host: host.into(), ..config() };
            assert!(matches!(args(&c, "/tmp/k"), Err(SftpError::Connect(m)) if m.contains("not a host name")), "{host}");
        }
        for user in ["-l", "a b", "", "x'y"] {
            let c = SftpConfig { user: user.into(), ..config() };
            assert!(matches!(args(&c, "/tmp/k"), Err(SftpError::Connect(m)) if m.contains("SFTP user")), "{user}");
        }
        assert!(args(&config(), "/tmp/${HOME}/k").is_err());
        assert!(args(&config(), "/tmp/\"/k").is_err());
        assert!(args(&SftpConfig { host: "::1".into(), ..config() }, "/tmp/k").is_ok());
    }
}
