//! One SFTP session: OpenSSH's `ssh` in subsystem mode as a child process, SFTP packets over its
//! stdin and stdout, one request at a time, each with a time limit.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::packet::{self, Attrs, Request, Response};
use crate::{SftpConfig, SftpError};

/// Bytes asked for by each READ (and sent by each WRITE): what every SFTP server accepts.
pub const CHUNK: u32 = 32 * 1024;
/// The time limit of one request and its answer, unless [`Session::set_request_timeout`] says
/// otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of ssh's error output is kept for messages.
const STDERR_TAIL: usize = 8 * 1024;
/// How long to wait for `ssh` to exit (and its error output to end) once it is done or told to.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// A directory entry, as [`Session::list`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name (without the directory). A name that is not UTF-8 has its bad bytes
    /// replaced by U+FFFD and cannot be opened by this name.
    pub name: String,
    /// Size in bytes, when the server says.
    pub size: Option<u64>,
    /// Modification time, seconds since 1970, when the server says.
    pub modified: Option<u32>,
    /// Whether it is a regular file (not a directory, symbolic link or device).
    pub is_file: bool,
}

/// An open SFTP session. Dropping it kills `ssh`; [`Session::close`] ends it cleanly.
#[derive(Debug)]
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr: StderrTail,
    next_id: u32,
    request_timeout: Duration,
    /// Why the session can no longer be used: a request timed out, was abandoned half-way (its
    /// future dropped), or the connection broke; a later answer could be taken for another's.
    broken: Option<String>,
    host: String,
    user: String,
    /// Holds the known_hosts file for as long as `ssh` may read it; removed on drop.
    _known_hosts_dir: tempfile::TempDir,
}

impl Session {
    /// Starts `ssh`, lets OpenSSH check the pinned host key and authenticate with the identity
    /// file, then runs the SFTP INIT/VERSION handshake, all within `config.connect_timeout`.
    pub async fn connect(config: &SftpConfig) -> Result<Session, SftpError> {
        let identity = &config.identity_file;
        std::fs::File::open(identity).map_err(|e| SftpError::Connect(format!("cannot read the SFTP identity file {}: {e}", identity.display())))?;
        let dir = tempfile::Builder::new().prefix("luckygas-sftp-").tempdir()?;
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(&known_hosts, config.host_key.known_hosts_line(&config.host, config.port))?;
        let args = config.ssh_args(&known_hosts)?;
        let program = &config.ssh_program;
        let mut child =
            Command::new(program).args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).spawn().map_err(|e| {
                let hint = if e.kind() == std::io::ErrorKind::NotFound { "; install the OpenSSH client (Debian package openssh-client)" } else { "" };
                SftpError::Connect(format!("cannot start {}: {e}{hint}", program.display()))
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take()) else {
            return Err(SftpError::Connect("ssh was started without its pipes".into()));
        };
        let mut session = Session {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            stderr: StderrTail::collect(stderr),
            next_id: 0,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            broken: None,
            host: config.host.clone(),
            user: config.user.clone(),
            _known_hosts_dir: dir,
        };
        match tokio::time::timeout(config.connect_timeout, session.handshake()).await {
            Ok(Ok(())) => Ok(session),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(SftpError::Timeout("connect")),
        }
    }

    /// Sets the time limit of each later request (one READ, WRITE, READDIR, …, and its answer).
    pub fn set_request_timeout(&mut self, limit: Duration) {
        self.request_timeout = limit;
    }

    /// The entries of `dir`, without `.` and `..`, sorted by name.
    pub async fn list(&mut self, dir: &str) -> Result<Vec<Entry>, SftpError> {
        let id = self.id();
        let handle = self.expect_handle("list", Request::Opendir { id, path: dir }, dir).await?;
        let listed = self.read_dir(&handle, dir).await;
        let closed = self.close_handle(&handle, dir).await;
        let mut entries = listed?;
        closed?;
        entries.retain(|e| e.name != "." && e.name != "..");
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// The whole file at `path`, read in [`CHUNK`]-byte requests; [`SftpError::TooLarge`] as soon
    /// as it holds more than `max_bytes`.
    pub async fn read(&mut self, path: &str, max_bytes: u64) -> Result<Vec<u8>, SftpError> {
        let id = self.id();
        let handle = self.expect_handle("read", Request::Open { id, path, pflags: packet::SSH_FXF_READ, attrs: Attrs::default() }, path).await?;
        let read = self.read_open(&handle, path, max_bytes).await;
        let closed = self.close_handle(&handle, path).await;
        let bytes = read?;
        closed?;
        Ok(bytes)
    }

    /// Renames `from` to `to`. Version 3 refuses to replace an existing `to`: the server answers
    /// with a [`SftpError::Status`] (OpenSSH: code 4, FAILURE).
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), SftpError> {
        let id = self.id();
        self.expect_ok("rename", Request::Rename { id, from, to }, &format!("{from} -> {to}")).await
    }

    /// Creates `dir` and every missing directory above it; fine when it exists already.
    pub async fn mkdir_all(&mut self, dir: &str) -> Result<(), SftpError> {
        let mut prefix = if dir.starts_with('/') { String::from("/") } else { String::new() };
        for part in dir.split('/').filter(|p| !p.is_empty() && *p != ".") {
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            prefix.push_str(part);
            match self.stat(&prefix).await {
                Ok(attrs) if attrs.is_dir() => continue,
                Ok(_) => return Err(not_a_directory(&prefix)),
                Err(SftpError::Status { code: packet::SSH_FX_NO_SUCH_FILE, .. }) => {}
                Err(e) => return Err(e),
            }
            let id = self.id();
            if let Err(e) = self.expect_ok("mkdir", Request::Mkdir { id, path: &prefix, attrs: Attrs::default() }, &prefix).await {
                // Someone else may have made it in between.
                match self.stat(&prefix).await {
                    Ok(attrs) if attrs.is_dir() => {}
                    _ => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Writes `bytes` to `path`, creating the file or truncating it first.
    pub async fn write(&mut self, path: &str, bytes: &[u8]) -> Result<(), SftpError> {
        let id = self.id();
        let pflags = packet::SSH_FXF_WRITE | packet::SSH_FXF_CREAT | packet::SSH_FXF_TRUNC;
        let handle = self.expect_handle("write", Request::Open { id, path, pflags, attrs: Attrs::default() }, path).await?;
        let mut written = Ok(());
        for (i, chunk) in bytes.chunks(CHUNK as usize).enumerate() {
            let id = self.id();
            let offset = i as u64 * u64::from(CHUNK);
            written = self.expect_ok("write", Request::Write { id, handle: &handle, offset, data: chunk }, path).await;
            if written.is_err() {
                break;
            }
        }
        let closed = self.close_handle(&handle, path).await;
        written?;
        closed
    }

    /// Removes the file at `path`.
    pub async fn remove(&mut self, path: &str) -> Result<(), SftpError> {
        let id = self.id();
        self.expect_ok("remove", Request::Remove { id, path }, path).await
    }

    /// Ends the session: closes ssh's input, which ends the channel, and waits for `ssh` to exit.
    pub async fn close(mut self) -> Result<(), SftpError> {
        drop(self.stdin.take());
        match tokio::time::timeout(EXIT_WAIT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(SftpError::Connect(format!("ssh exited with {status} on close: {}", self.stderr.text().await))),
            Ok(Err(e)) => Err(SftpError::Io(e)),
            Err(_) => Err(SftpError::Timeout("close")),
        }
    }

    /// SSH_FXP_INIT, then the server's SSH_FXP_VERSION, which must be 3.
    async fn handshake(&mut self) -> Result<(), SftpError> {
        match self.round_trip("connect", Request::Init).await {
            Ok(Response::Version { version: packet::VERSION, .. }) => Ok(()),
            Ok(Response::Version { version, .. }) => Err(SftpError::Protocol(format!("the server speaks SFTP version {version}, this client version 3"))),
            Ok(other) => Err(SftpError::Protocol(format!("the server answered INIT with {}", other.kind()))),
            Err(e) => Err(e),
        }
    }

    fn id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Attributes of `path`, symbolic links followed.
    async fn stat(&mut self, path: &str) -> Result<Attrs, SftpError> {
        let id = self.id();
        match self.round_trip("stat", Request::Stat { id, path }).await? {
            Response::Attrs { attrs, .. } => Ok(attrs),
            other => Err(unexpected("stat", other, path)),
        }
    }

    async fn read_dir(&mut self, handle: &[u8], dir: &str) -> Result<Vec<Entry>, SftpError> {
        let mut entries = Vec::new();
        loop {
            let id = self.id();
            match self.round_trip("list", Request::Readdir { id, handle }).await? {
                Response::Name { entries: names, .. } => entries.extend(names.into_iter().map(entry)),
                Response::Status { code: packet::SSH_FX_EOF, .. } => return Ok(entries),
                other => return Err(unexpected("list", other, dir)),
            }
        }
    }

    async fn read_open(&mut self, handle: &[u8], path: &str, max_bytes: u64) -> Result<Vec<u8>, SftpError> {
        let mut bytes = Vec::new();
        loop {
            let id = self.id();
            let offset = bytes.len() as u64;
            match self.round_trip("read", Request::Read { id, handle, offset, len: CHUNK }).await? {
                Response::Data { data, .. } if data.len() > CHUNK as usize => {
                    return Err(self.fail(SftpError::Protocol(format!("the server sent {} bytes of {path} for a read of {CHUNK}", data.len()))));
                }
                // An empty read would never end the loop; servers say EOF instead.
                Response::Data { data, .. } if data.is_empty() => return Ok(bytes),
                Response::Data { data, .. } => {
                    if offset + data.len() as u64 > max_bytes {
                        return Err(SftpError::TooLarge { path: path.to_owned(), limit: max_bytes });
                    }
                    bytes.extend_from_slice(&data);
                }
                Response::Status { code: packet::SSH_FX_EOF, .. } => return Ok(bytes),
                other => return Err(unexpected("read", other, path)),
            }
        }
    }

    async fn close_handle(&mut self, handle: &[u8], path: &str) -> Result<(), SftpError> {
        let id = self.id();
        self.expect_ok("close", Request::Close { id, handle }, path).await
    }

    async fn expect_handle(&mut self, op: &'static str, request: Request<'_>, path: &str) -> Result<Vec<u8>, SftpError> {
        match self.round_trip(op, request).await? {
            Response::Handle { handle, .. } => Ok(handle),
            other => Err(unexpected(op, other, path)),
        }
    }

    async fn expect_ok(&mut self, op: &'static str, request: Request<'_>, path: &str) -> Result<(), SftpError> {
        match self.round_trip(op, request).await? {
            Response::Status { code: packet::SSH_FX_OK, .. } => Ok(()),
            other => Err(unexpected(op, other, path)),
        }
    }

    /// Sends one request and reads its answer within the request time limit. Afterwards the
    /// session is broken unless an answer with the request's id arrived.
    async fn round_trip(&mut self, op: &'static str, request: Request<'_>) -> Result<Response, SftpError> {
        if let Some(why) = &self.broken {
            return Err(SftpError::Protocol(format!("the SFTP session cannot be used after an earlier failure ({why}); connect again")));
        }
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(SftpError::Protocol("the SFTP session is closed".into()));
        };
        self.broken = Some(format!("a {op} request was abandoned before its answer arrived"));
        let expected_id = request_id(&request);
        let bytes = request.encode();
        let stdout = &mut self.stdout;
        let exchange = async {
            stdin.write_all(&bytes).await?;
            stdin.flush().await?;
            read_packet(stdout).await
        };
        let answer = match tokio::time::timeout(self.request_timeout, exchange).await {
            Err(_) => {
                self.broken = Some(format!("{op} timed out"));
                return Err(SftpError::Timeout(op));
            }
            Ok(Err(Failure::Closed(e))) => {
                let err = self.connection_lost(op, e).await;
                self.broken = Some(err.to_string());
                return Err(err);
            }
            Ok(Err(Failure::Bad(e))) => return Err(self.fail(e)),
            Ok(Ok(answer)) => answer,
        };
        if answer.id() != expected_id {
            let e = SftpError::Protocol(format!("the server answered {op} request {expected_id:?} with {} for {:?}", answer.kind(), answer.id()));
            return Err(self.fail(e));
        }
        self.broken = None;
        Ok(answer)
    }

    /// Marks the session unusable for `e`'s reason and returns `e`.
    fn fail(&mut self, e: SftpError) -> SftpError {
        self.broken = Some(e.to_string());
        e
    }

    /// The error for a connection that ended (or a pipe that broke) during `op`: ssh's own
    /// explanation, once it has exited.
    async fn connection_lost(&mut self, op: &'static str, e: std::io::Error) -> SftpError {
        drop(self.stdin.take());
        let status = match tokio::time::timeout(EXIT_WAIT, self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            _ => "no exit status".to_owned(),
        };
        let stderr = self.stderr.text().await;
        if op == "connect" {
            if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || stderr.contains("Host key verification failed") {
                return SftpError::HostKeyRejected { host: self.host.clone() };
            }
            if stderr.contains("Permission denied") {
                return SftpError::AuthFailed { user: self.user.clone() };
            }
        }
        let said = if stderr.is_empty() { "it printed nothing".to_owned() } else { stderr };
        SftpError::Connect(format!("ssh ended during {op} ({e}; {status}): {said}"))
    }
}

/// How an exchange with `ssh` failed.
enum Failure {
    /// The pipes closed or broke: `ssh` is gone.
    Closed(std::io::Error),
    /// A packet that does not decode.
    Bad(SftpError),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        Failure::Closed(e)
    }
}

/// Reads one packet: the length first, refused over the limit before the body is read.
async fn read_packet(stdout: &mut BufReader<ChildStdout>) -> Result<Response, Failure> {
    let mut prefix = [0u8; 4];
    stdout.read_exact(&mut prefix).await?;
    let len = packet::body_length(prefix).map_err(Failure::Bad)?;
    let mut bytes = vec![0u8; 4 + len];
    bytes[..4].copy_from_slice(&prefix);
    stdout.read_exact(&mut bytes[4..]).await?;
    packet::decode(&bytes).map(|(response, _)| response).map_err(Failure::Bad)
}

fn request_id(request: &Request<'_>) -> Option<u32> {
    match request {
        Request::Init => None,
        Request::Open { id, .. }
        | Request::Close { id, .. }
        | Request::Read { id, .. }
        | Request::Write { id, .. }
        | Request::Lstat { id, .. }
        | Request::Stat { id, .. }
        | Request::Opendir { id, .. }
        | Request::Readdir { id, .. }
        | Request::Remove { id, .. }
        | Request::Mkdir { id, .. }
        | Request::Rename { id, .. } => Some(*id),
    }
}

/// A STATUS answer as an error naming `path`; any other packet as a protocol error.
fn unexpected(op: &str, answer: Response, path: &str) -> SftpError {
    match answer {
        Response::Status { code, message, .. } => SftpError::Status { code, message, path: path.to_owned() },
        other => SftpError::Protocol(format!("the server answered {op} of {path} with {}", other.kind())),
    }
}

fn not_a_directory(path: &str) -> SftpError {
    SftpError::Status { code: packet::SSH_FX_FAILURE, message: "exists and is not a directory".into(), path: path.to_owned() }
}

fn entry(name: packet::NameEntry) -> Entry {
    // Without a mode, the `ls -l` line's first character tells a regular file.
    let is_file = if name.attrs.permissions.is_some() { name.attrs.is_file() } else { name.longname.first() == Some(&b'-') };
    Entry {
        name: String::from_utf8_lossy(&name.filename).into_owned(),
        size: name.attrs.size,
        modified: name.attrs.atime_mtime.map(|(_, mtime)| mtime),
        is_file,
    }
}

/// The last [`STDERR_TAIL`] bytes ssh wrote to its error output, read as it goes so that ssh
/// never blocks on a full pipe.
#[derive(Debug)]
struct StderrTail {
    tail: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl StderrTail {
    fn collect(mut stderr: tokio::process::ChildStderr) -> StderrTail {
        let tail = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&tail);
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf).await {
                let mut tail = sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                tail.extend_from_slice(&buf[..n]);
                let excess = tail.len().saturating_sub(STDERR_TAIL);
                tail.drain(..excess);
            }
        });
        StderrTail { tail, reader: Some(reader) }
    }

    /// What ssh wrote, trimmed, once its error output has ended (or after [`EXIT_WAIT`]).
    async fn text(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(EXIT_WAIT, reader).await;
        }
        let tail = self.tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        String::from_utf8_lossy(&tail).split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_a_file_by_its_mode_or_else_by_its_ls_line() {
        let with_mode =
            |mode| packet::NameEntry { filename: b"a".to_vec(), longname: b"d".to_vec(), attrs: Attrs { permissions: Some(mode), ..Attrs::default() } };
        assert!(entry(with_mode(0o100_600)).is_file);
        assert!(!entry(with_mode(0o040_755)).is_file);
        assert!(!entry(with_mode(0o120_777)).is_file);
        let without_mode = |ls: &[u8]| packet::NameEntry { filename: b"\xa5\xbf.csv".to_vec(), longname: ls.to_vec(), attrs: Attrs::default() };
        let e = entry(without_mode(b"-rw-r--r-- 1 a b 3 Dec 1 x"));
        assert!(e.is_file);
        assert_eq!(e.name, "\u{fffd}\u{fffd}.csv");
        assert!(!entry(without_mode(b"drwx")).is_file);
    }

    #[test]
    fn turns_a_status_answer_into_an_error_naming_the_path() {
        let status = Response::Status { id: 1, code: 2, message: "No such file".into(), language: String::new() };
        let e = unexpected("read", status, "inbox/x.csv");
        assert_eq!(e.status_code(), Some(2));
        assert_eq!(e.to_string(), "the SFTP server refused inbox/x.csv: No such file (status 2, NO_SUCH_FILE)");
    }
}
