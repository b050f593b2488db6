//! A PostgreSQL server of a test's own (`initdb` and `pg_ctl` from `/usr/lib/postgresql/*/bin`,
//! a temporary folder, its own port and socket folder; run as the `postgres` user when the test
//! runs as root, as in CI), for tests that stop, start, reconfigure or restore a server. The
//! shared one at 127.0.0.1:5432 is never touched. PostgreSQL's server binaries are required: a
//! test that asks for one fails loudly without them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// The newest PostgreSQL server binaries on this machine.
pub fn pg_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| Some((e.file_name().to_str()?.parse::<u32>().ok()?, e.path().join("bin"))))
                .filter(|(_, bin)| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("PostgreSQL's server binaries (initdb, pg_ctl) are not under /usr/lib/postgresql/*/bin; this test needs them (apt-get install postgresql)")
    })
}

/// Output of `id` for the `postgres` user (`-u` or `-g`).
fn postgres_id(flag: &str) -> u32 {
    let out = Command::new("id").args([flag, "postgres"]).output().expect("run id");
    assert!(out.status.success(), "running as root, the test runs PostgreSQL as the `postgres` user, which does not exist");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a numeric id")
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL server of this test's own, stopped (and its folder removed) on drop.
pub struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
    as_postgres: bool,
}

impl OwnPostgres {
    /// Initialises a cluster (trust authentication, superuser `postgres`) and starts it.
    pub fn start() -> OwnPostgres {
        let pg = OwnPostgres::init();
        pg.up();
        pg
    }

    /// Initialises a cluster (trust authentication, superuser `postgres`) without starting it,
    /// so that the test can configure it first ([`OwnPostgres::configure`]).
    pub fn init() -> OwnPostgres {
        let pg = OwnPostgres::empty();
        let out = pg.tool("initdb").args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"]).arg(pg.data()).output().expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        pg
    }

    /// A folder (owned by `postgres` when running as root) and a port, with no cluster yet: for
    /// restoring a base backup into [`OwnPostgres::data`].
    pub fn empty() -> OwnPostgres {
        let bin = pg_bin();
        let dir = tempfile::tempdir().expect("temp dir");
        // initdb and the server refuse to run as root: the cluster then belongs to `postgres`.
        let as_postgres = running_as_root();
        let pg = OwnPostgres { bin, dir, port: free_port(), as_postgres };
        pg.give(pg.dir.path());
        pg
    }

    /// Makes `path` the server user's (when running as root), e.g. a key file or an archive.
    pub fn give(&self, path: &Path) {
        if self.as_postgres {
            std::os::unix::fs::chown(path, Some(postgres_id("-u")), Some(postgres_id("-g"))).expect("chown to postgres");
        }
    }

    /// Makes everything under `path` the server user's (when running as root).
    pub fn give_tree(&self, path: &Path) {
        if self.as_postgres {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(path).status().expect("run chown");
            assert!(status.success(), "chown -R postgres {}", path.display());
        }
    }

    /// The cluster's folder (its data directory is [`OwnPostgres::data`]).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Appends settings to `postgresql.conf` (before [`OwnPostgres::up`]).
    pub fn configure(&self, lines: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(self.data().join("postgresql.conf")).expect("open postgresql.conf");
        writeln!(f, "\n{lines}").expect("write postgresql.conf");
    }

    /// Replaces `pg_hba.conf`.
    pub fn hba(&self, content: &str) {
        std::fs::write(self.data().join("pg_hba.conf"), content).expect("write pg_hba.conf");
    }

    /// `tool` of the server binaries, as `postgres` when the test runs as root.
    pub fn tool(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn pg_ctl(&self, args: &[&str]) {
        let out = self.tool("pg_ctl").arg("-D").arg(self.data()).args(args).stdin(Stdio::null()).output().expect("run pg_ctl");
        assert!(out.status.success(), "pg_ctl {args:?} failed: {}\n{}", String::from_utf8_lossy(&out.stderr), self.log());
    }

    /// Starts the server and waits until it accepts connections.
    pub fn up(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.path().display());
        let log = self.dir.path().join("server.log");
        self.pg_ctl(&["-w", "-t", "120", "-l", &log.display().to_string(), "-o", &options, "start"]);
    }

    /// Stops the server at once, as a crash would (the next start recovers from its WAL).
    pub fn down(&self) {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self.tool("pg_ctl").arg("-D").arg(self.data()).args(["-m", "immediate", "stop"]).stderr(Stdio::null()).stdout(Stdio::null()).status();
        }
    }
}
