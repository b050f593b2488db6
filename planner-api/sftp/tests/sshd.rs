//! The client against a real OpenSSH server (`testing::TestSshd`: /usr/sbin/sshd with
//! internal-sftp on 127.0.0.1), through the real `ssh` client, on real files.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use luckygas_sftp::packet::{SSH_FX_FAILURE, SSH_FX_NO_SUCH_FILE};
use luckygas_sftp::testing::TestSshd;
use luckygas_sftp::{Entry, HostKey, Session, SftpConfig, SftpError};

fn sshd() -> TestSshd {
    TestSshd::start().unwrap_or_else(|e| panic!("cannot start the test sshd: {e}"))
}

fn publish(root: &Path, relative: &str, bytes: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

async fn connect(config: &SftpConfig) -> Session {
    Session::connect(config).await.unwrap_or_else(|e| panic!("cannot connect: {e}"))
}

fn names(entries: &[Entry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

/// A 200 KiB statement: not a whole number of 32 KiB chunks, no repeating 256-byte period.
fn statement_bytes() -> Vec<u8> {
    (0..200 * 1024u32).map(|i| (i.wrapping_mul(7) ^ (i / 251)) as u8).collect()
}

#[tokio::test]
async fn lists_reads_and_moves_a_statement_into_processed() {
    let sshd = sshd();
    let statement = statement_bytes();
    publish(&sshd.root, "inbox/2026-12-01.csv", &statement);
    publish(&sshd.root, "inbox/2026-12-02.csv", b"second\r\n");
    std::fs::create_dir(sshd.root.join("inbox/archive")).unwrap();
    let mut session = connect(&sshd.config()).await;

    let entries = session.list("inbox").await.unwrap();
    assert_eq!(names(&entries), ["2026-12-01.csv", "2026-12-02.csv", "archive"]);
    let mtime = std::fs::metadata(sshd.root.join("inbox/2026-12-01.csv")).unwrap().mtime();
    assert_eq!(entries[0], Entry { name: "2026-12-01.csv".into(), size: Some(200 * 1024), modified: Some(mtime as u32), is_file: true });
    assert_eq!(entries[1].size, Some(8));
    assert!(!entries[2].is_file);
    // An absolute path lists the same directory.
    let absolute = sshd.root.join("inbox");
    assert_eq!(session.list(absolute.to_str().unwrap()).await.unwrap(), entries);

    let read = session.read("inbox/2026-12-01.csv", 1 << 20).await.unwrap();
    assert_eq!(read.len(), statement.len());
    assert!(read == statement, "the 200 KiB file came back changed");

    session.mkdir_all("processed/2026/12").await.unwrap();
    assert!(sshd.root.join("processed/2026/12").is_dir());
    session.mkdir_all("processed/2026/12/").await.unwrap();
    session.mkdir_all("processed").await.unwrap();

    session.rename("inbox/2026-12-01.csv", "processed/2026/12/2026-12-01.csv").await.unwrap();
    assert!(!sshd.root.join("inbox/2026-12-01.csv").exists());
    assert_eq!(std::fs::read(sshd.root.join("processed/2026/12/2026-12-01.csv")).unwrap(), statement);
    assert_eq!(names(&session.list("inbox").await.unwrap()), ["2026-12-02.csv", "archive"]);
    session.close().await.unwrap();
}

#[tokio::test]
async fn renaming_onto_an_existing_file_fails_with_the_servers_status_and_changes_nothing() {
    let sshd = sshd();
    publish(&sshd.root, "inbox/a.csv", b"new");
    publish(&sshd.root, "processed/a.csv", b"imported yesterday");
    let mut session = connect(&sshd.config()).await;

    let err = session.rename("inbox/a.csv", "processed/a.csv").await.unwrap_err();
    match &err {
        SftpError::Status { code, path, .. } => {
            assert_eq!(*code, SSH_FX_FAILURE, "{err}");
            assert_eq!(path, "inbox/a.csv -> processed/a.csv");
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert_eq!(std::fs::read(sshd.root.join("inbox/a.csv")).unwrap(), b"new");
    assert_eq!(std::fs::read(sshd.root.join("processed/a.csv")).unwrap(), b"imported yesterday");
    // A refused request leaves the session usable.
    assert_eq!(session.read("inbox/a.csv", 10).await.unwrap(), b"new");
    session.close().await.unwrap();
}

#[tokio::test]
async fn reading_a_missing_file_is_no_such_file_naming_the_path() {
    let sshd = sshd();
    let mut session = connect(&sshd.config()).await;
    let err = session.read("inbox/missing.csv", 1024).await.unwrap_err();
    assert!(matches!(&err, SftpError::Status { code: SSH_FX_NO_SUCH_FILE, path, .. } if path == "inbox/missing.csv"), "{err:?}");
    assert!(err.to_string().contains("inbox/missing.csv") && err.to_string().contains("NO_SUCH_FILE"), "{err}");
    let err = session.list("no-such-dir").await.unwrap_err();
    assert_eq!(err.status_code(), Some(SSH_FX_NO_SUCH_FILE), "{err}");
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_server_without_the_pinned_host_key_is_refused_before_our_key_is_offered() {
    let sshd = sshd();
    publish(&sshd.root, "inbox/a.csv", b"secret");
    let other = HostKey::parse(&sshd.other_host_key_line().unwrap()).unwrap();
    let config = SftpConfig { host_key: other, ..sshd.config() };

    let err = Session::connect(&config).await.unwrap_err();
    assert!(matches!(&err, SftpError::HostKeyRejected { host } if host == "127.0.0.1"), "{err:?}");
    assert!(err.to_string().contains("pinned host key"), "{err}");
    // sshd saw the connection end before authentication: no key was offered, no login happened.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sshd.log_text().contains("[preauth]") {
        assert!(Instant::now() < deadline, "sshd never logged the refused connection:\n{}", sshd.log_text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = sshd.log_text();
    assert!(!log.contains("Accepted publickey") && !log.contains("authenticating user"), "{log}");
}

#[tokio::test]
async fn a_client_key_the_server_does_not_know_fails_authentication() {
    let sshd = sshd();
    let config = SftpConfig { identity_file: sshd.other_client_key().unwrap(), ..sshd.config() };
    let err = Session::connect(&config).await.unwrap_err();
    assert!(matches!(&err, SftpError::AuthFailed { user } if *user == sshd.user), "{err:?}");
    assert!(err.to_string().contains("refused key authentication"), "{err}");
}

#[tokio::test]
async fn a_file_over_the_limit_is_too_large_and_one_at_the_limit_is_read() {
    let sshd = sshd();
    publish(&sshd.root, "inbox/big.csv", &vec![b'9'; 100 * 1024]);
    publish(&sshd.root, "inbox/empty.csv", b"");
    let mut session = connect(&sshd.config()).await;

    let err = session.read("inbox/big.csv", 64 * 1024).await.unwrap_err();
    assert!(matches!(&err, SftpError::TooLarge { path, limit: 65536 } if path == "inbox/big.csv"), "{err:?}");
    assert!(matches!(session.read("inbox/big.csv", 100 * 1024 - 1).await, Err(SftpError::TooLarge { .. })));
    assert_eq!(session.read("inbox/big.csv", 100 * 1024).await.unwrap().len(), 100 * 1024);
    assert_eq!(session.read("inbox/empty.csv", 0).await.unwrap(), b"");
    session.close().await.unwrap();
}

#[tokio::test]
async fn big5_bytes_and_names_with_spaces_and_chinese_survive_exactly() {
    let sshd = sshd();
    // Big5 for 中文 and 許 (whose second byte is a backslash), a CRLF, a NUL and every high byte.
    let mut big5 = vec![0xa4, 0xa4, 0xa4, 0xe5, b',', 0xb3, 0x5c, b'\r', b'\n', 0];
    big5.extend(0x80..=0xffu8);
    assert!(String::from_utf8(big5.clone()).is_err());
    publish(&sshd.root, "inbox/對帳單 2026-12-01.txt", &big5);
    publish(&sshd.root, "inbox/with space.csv", b"x");
    let mut session = connect(&sshd.config()).await;

    assert_eq!(names(&session.list("inbox").await.unwrap()), ["with space.csv", "對帳單 2026-12-01.txt"]);
    assert_eq!(session.read("inbox/對帳單 2026-12-01.txt", 1024).await.unwrap(), big5);

    let err = session.write("outbox/回覆 檔.txt", &big5).await.unwrap_err();
    assert_eq!(err.status_code(), Some(SSH_FX_NO_SUCH_FILE), "no outbox yet: {err}");
    session.mkdir_all("outbox").await.unwrap();
    session.write("outbox/回覆 檔.txt", &big5).await.unwrap();
    assert_eq!(std::fs::read(sshd.root.join("outbox/回覆 檔.txt")).unwrap(), big5);
    session.close().await.unwrap();
}

#[tokio::test]
async fn write_creates_and_truncates_and_remove_deletes() {
    let sshd = sshd();
    let mut session = connect(&sshd.config()).await;
    let long = statement_bytes();
    session.write("report.bin", &long).await.unwrap();
    assert!(std::fs::read(sshd.root.join("report.bin")).unwrap() == long);
    session.write("report.bin", b"abc").await.unwrap();
    assert_eq!(std::fs::read(sshd.root.join("report.bin")).unwrap(), b"abc");

    session.remove("report.bin").await.unwrap();
    assert!(!sshd.root.join("report.bin").exists());
    let err = session.remove("report.bin").await.unwrap_err();
    assert_eq!(err.status_code(), Some(SSH_FX_NO_SUCH_FILE), "{err}");

    publish(&sshd.root, "plain", b"file");
    let err = session.mkdir_all("plain/sub").await.unwrap_err();
    assert!(matches!(&err, SftpError::Status { path, .. } if path == "plain"), "{err:?}");
    let absolute = sshd.root.join("a/b");
    session.mkdir_all(absolute.to_str().unwrap()).await.unwrap();
    assert!(absolute.is_dir());
    session.close().await.unwrap();
}

#[tokio::test]
async fn a_port_without_a_server_is_a_connect_error_with_sshs_reason() {
    let sshd = sshd();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = Session::connect(&SftpConfig { port: free, ..sshd.config() }).await.unwrap_err();
    assert!(matches!(&err, SftpError::Connect(m) if m.contains("Connection refused")), "{err:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_connect_timeout() {
    let sshd = sshd();
    // Accepted by the kernel, never answered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let config = SftpConfig { port, connect_timeout: Duration::from_millis(1500), ..sshd.config() };
    let started = Instant::now();
    let err = Session::connect(&config).await.unwrap_err();
    assert!(matches!(err, SftpError::Timeout("connect")), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_missing_ssh_program_says_which_package_to_install() {
    let sshd = sshd();
    let config = SftpConfig { ssh_program: "/nonexistent/ssh".into(), ..sshd.config() };
    let err = Session::connect(&config).await.unwrap_err();
    assert!(matches!(&err, SftpError::Connect(m) if m.contains("/nonexistent/ssh") && m.contains("openssh-client")), "{err:?}");
}
