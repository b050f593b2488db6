//! A real OpenSSH server for tests (feature `test-server`): `/usr/sbin/sshd` on 127.0.0.1 with
//! fresh ed25519 host and client keys, serving SFTP (`internal-sftp`) to the current user,
//! started in a temporary directory and killed on drop.
//!
//! Needs the Debian packages `openssh-server` (sshd) and `openssh-client` (ssh, ssh-keygen);
//! [`TestSshd::start`] fails, naming them, when they are missing.

use std::io::{self, Read as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{HostKey, SftpConfig};

/// OpenSSH's server; sshd re-executes itself and must be started by absolute path.
const SSHD: &str = "/usr/sbin/sshd";
/// How long sshd may take to answer with its banner.
const STARTUP: Duration = Duration::from_secs(15);
/// Ports tried when another process takes the free port first.
const ATTEMPTS: usize = 3;

/// A running sshd serving SFTP to the current user on 127.0.0.1.
#[derive(Debug)]
pub struct TestSshd {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// An empty directory for the test to publish files into; SFTP paths that do not start with
    /// `/` are relative to it (`internal-sftp -d`).
    pub root: PathBuf,
    /// The user the server lets in (the current one).
    pub user: String,
    /// The private key the server accepts.
    pub client_key: PathBuf,
    /// The server's public host key, as in its `.pub` file (`ssh-ed25519 AAAA… comment`).
    pub host_key_line: String,
    host_key: HostKey,
    log: PathBuf,
    child: Child,
    dir: tempfile::TempDir,
}

impl TestSshd {
    /// Generates the keys, writes the configuration and starts sshd; returns once sshd answers
    /// with its `SSH-2.0` banner.
    pub fn start() -> io::Result<TestSshd> {
        if !Path::new(SSHD).exists() {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("{SSHD} is missing: install the Debian package openssh-server")));
        }
        let dir = tempfile::Builder::new().prefix("luckygas-sshd-").tempdir()?;
        let path = checked(dir.path())?;
        let root = dir.path().join("root");
        std::fs::create_dir(&root)?;
        let host_key = dir.path().join("host_ed25519");
        keygen(&host_key, "luckygas-test-host")?;
        let client_key = dir.path().join("client_ed25519");
        keygen(&client_key, "luckygas-test-client")?;
        std::fs::copy(dir.path().join("client_ed25519.pub"), dir.path().join("authorized_keys"))?;
        let host_key_line = std::fs::read_to_string(dir.path().join("host_ed25519.pub"))?.trim().to_owned();
        let pinned = HostKey::parse(&host_key_line).map_err(|e| io::Error::other(format!("ssh-keygen wrote an unreadable host key: {e}")))?;
        let user = current_user()?;
        if is_root() {
            // sshd's privilege separation directory (Debian's service creates it at boot).
            std::fs::create_dir_all("/run/sshd")?;
        }
        let config = dir.path().join("sshd_config");
        let log = dir.path().join("sshd.log");
        let penalties = accepts_option(&config, &path, &user)?;
        let mut attempt = 0;
        let (child, port) = loop {
            attempt += 1;
            let port = free_port()?;
            std::fs::write(&config, sshd_config(&path, port, &user, penalties))?;
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?)
                .spawn()
                .map_err(|e| io::Error::new(e.kind(), format!("cannot start {SSHD}: {e}")))?;
            match wait_ready(&mut child, port, &log) {
                Ok(()) => break (child, port),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Another process may have taken the port between our check and sshd's bind.
                    if attempt == ATTEMPTS || !read_log(&log).contains("Address already in use") {
                        return Err(e);
                    }
                }
            }
        };
        Ok(TestSshd { port, root, user, client_key, host_key_line, host_key: pinned, log, child, dir })
    }

    /// A client configuration for this server: 127.0.0.1, its port, the current user, the client
    /// key and the server's host key pinned.
    pub fn config(&self) -> SftpConfig {
        let mut config = SftpConfig::new("127.0.0.1", self.port, self.user.clone(), self.client_key.clone(), self.host_key.clone());
        config.connect_timeout = Duration::from_secs(10);
        config
    }

    /// The public line of a freshly generated ed25519 key that is not this server's host key.
    pub fn other_host_key_line(&self) -> io::Result<String> {
        let dir = tempfile::tempdir_in(self.dir.path())?;
        let key = dir.path().join("key");
        keygen(&key, "luckygas-test-other-host")?;
        Ok(std::fs::read_to_string(dir.path().join("key.pub"))?.trim().to_owned())
    }

    /// The private key file of a freshly generated ed25519 key that the server does not accept.
    pub fn other_client_key(&self) -> io::Result<PathBuf> {
        let dir = tempfile::tempdir_in(self.dir.path())?.keep();
        let key = dir.join("key");
        keygen(&key, "luckygas-test-other-client")?;
        Ok(key)
    }

    /// sshd's log file (its stderr: `-e`).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What sshd has logged so far.
    pub fn log_text(&self) -> String {
        read_log(&self.log)
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls until sshd sends its banner, it exits, or [`STARTUP`] passes.
fn wait_ready(child: &mut Child, port: u16, log: &Path) -> io::Result<()> {
    let startup_error = |what: String| io::Error::other(format!("{what}; sshd's log {}:\n{}", log.display(), read_log(log)));
    let deadline = Instant::now() + STARTUP;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(startup_error(format!("sshd exited with {status} while starting")));
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            stream.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut banner = [0u8; 7];
            match stream.read_exact(&mut banner) {
                Ok(()) if &banner == b"SSH-2.0" => return Ok(()),
                Ok(()) => return Err(startup_error(format!("port {port} answered {:?}, not an SSH banner", String::from_utf8_lossy(&banner)))),
                Err(_) => {}
            }
        }
        if Instant::now() >= deadline {
            return Err(startup_error(format!("sshd did not answer on port {port} within {STARTUP:?}")));
        }
        // Polling interval, not synchronisation: the loop ends on the banner, an exit or the deadline.
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_log(log: &Path) -> String {
    std::fs::read(log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

/// `ssh-keygen -q -N "" -t ed25519 -f key -C comment`.
fn keygen(key: &Path, comment: &str) -> io::Result<()> {
    let output = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-t", "ed25519", "-C", comment, "-f"])
        .arg(key)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run ssh-keygen: {e}; install the Debian package openssh-client")))?;
    if !output.status.success() {
        return Err(io::Error::other(format!("ssh-keygen -f {} failed with {}: {}", key.display(), output.status, String::from_utf8_lossy(&output.stderr))));
    }
    Ok(())
}

/// The temp directory as it can go into sshd_config: no whitespace, quotes or `%` tokens.
fn checked(dir: &Path) -> io::Result<String> {
    match dir.to_str() {
        Some(text) if !text.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '\\' | '%' | '$')) => Ok(text.to_owned()),
        _ => Err(io::Error::other(format!("TestSshd needs a temporary directory path without spaces, quotes, '%' or '$' (set TMPDIR): {}", dir.display()))),
    }
}

fn sshd_config(dir: &str, port: u16, user: &str, penalties: bool) -> String {
    let mut config = format!(
        "ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {dir}/host_ed25519\n\
         PidFile {dir}/sshd.pid\n\
         AuthorizedKeysFile {dir}/authorized_keys\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         AllowUsers {user}\n\
         Subsystem sftp internal-sftp -d {dir}/root\n"
    );
    if penalties {
        // OpenSSH 9.8+ refuses a source address for a while after failed logins; the tests fail
        // logins on purpose.
        config.push_str("PerSourcePenalties no\n");
    }
    config
}

/// Whether this sshd knows `PerSourcePenalties` (OpenSSH 9.8 and later); checks the rest of the
/// configuration with `sshd -t` on the way.
fn accepts_option(config: &Path, dir: &str, user: &str) -> io::Result<bool> {
    for penalties in [true, false] {
        std::fs::write(config, sshd_config(dir, 22, user, penalties))?;
        let output = Command::new(SSHD).arg("-t").arg("-f").arg(config).stdin(Stdio::null()).output()?;
        if output.status.success() {
            return Ok(penalties);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !(penalties && stderr.contains("PerSourcePenalties")) {
            return Err(io::Error::other(format!("sshd -t refused the test configuration {}: {stderr}", config.display())));
        }
    }
    Ok(false)
}

/// A port that was free a moment ago.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

fn current_user() -> io::Result<String> {
    let output = Command::new("id").arg("-un").output()?;
    let user = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || user.is_empty() {
        return Err(io::Error::other(format!("id -un did not name the current user: {}", String::from_utf8_lossy(&output.stderr))));
    }
    Ok(user)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
