//! PostgreSQL over TLS with certificate verification (issue 20, point 5): a server of the test's
//! own (`initdb`/`pg_ctl`, another port; the shared one is left as it is) with a certificate
//! signed by a CA the test generates (`openssl`), that refuses connections without TLS
//! (`hostnossl … reject`). The service connects with `sslmode=verify-full&sslrootcert=CA` and its
//! connections are encrypted (`pg_stat_ssl`); a server whose certificate another CA signed, or
//! whose name is not the one dialled, is refused; so is a connection without TLS. The real
//! binary migrates the database over it.

mod support;

use planner_api::store::Store;
use std::path::Path;
use std::process::Command;
use support::own_postgres::OwnPostgres;

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is needed to make the test's certificates (Debian's openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`{name}.crt`, `{name}.key`) in `dir`.
fn make_ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
        ],
    );
}

/// A server certificate for `localhost` only (`server.crt`, `server.key`) signed by CA `ca`.
fn make_server_cert(dir: &Path, ca: &str) {
    std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
        .expect("write ext");
    openssl(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

async fn encrypted(store: &Store) -> bool {
    match store {
        Store::Postgres(pool) => sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(pool).await.expect("pg_stat_ssl"),
        Store::Sqlite(_) => unreachable!("a PostgreSQL URL"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_talks_to_postgresql_over_verified_tls_only() {
    let pg = OwnPostgres::init();
    let certs = pg.dir().join("certs");
    std::fs::create_dir_all(&certs).expect("mkdir");
    make_ca(&certs, "luckygas-test-ca");
    make_ca(&certs, "another-ca");
    make_server_cert(&certs, "luckygas-test-ca");
    for f in ["server.crt", "server.key"] {
        let path = certs.join(f);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        pg.give(&path);
    }
    pg.give(&certs);
    pg.configure(&format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_min_protocol_version = 'TLSv1.2'",
        certs.join("server.crt").display(),
        certs.join("server.key").display()
    ));
    pg.hba("local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n");
    pg.up();

    let ca = certs.join("luckygas-test-ca.crt");
    let url = |host: &str, mode: &str, root: &Path| format!("postgres://postgres@{host}:{}/postgres?sslmode={mode}&sslrootcert={}", pg.port, root.display());

    // Verified: the certificate is the CA's and names `localhost`.
    let store = Store::open(&url("localhost", "verify-full", &ca)).await.expect("verify-full against the test CA connects");
    assert!(encrypted(&store).await, "the connection is encrypted");
    store.ready().await.expect("ready over TLS");
    store.close().await;

    // Refused: another CA, a name the certificate does not carry, no TLS at all.
    let other = certs.join("another-ca.crt");
    let err = Store::open(&url("localhost", "verify-full", &other)).await.expect_err("a certificate of an unknown CA is refused");
    assert!(format!("{err:?}").to_lowercase().contains("certificate") || format!("{err}").to_lowercase().contains("certificate"), "{err:?}");
    let err = Store::open(&url("127.0.0.1", "verify-full", &ca)).await.expect_err("a certificate for another name is refused");
    assert!(format!("{err:?}").to_lowercase().contains("certificate") || format!("{err:?}").contains("NotValidForName"), "{err:?}");
    let err = Store::open(&url("localhost", "disable", &ca)).await.expect_err("the server refuses connections without TLS");
    assert!(format!("{err}").contains("pg_hba.conf"), "{err}");

    // The real binary, configured as in production (ops/k8s: DATABASE_URL with verify-full).
    let out = Command::new(env!("CARGO_BIN_EXE_luckygas"))
        .arg("migrate")
        .env("DATABASE_URL", url("localhost", "verify-full", &ca))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run luckygas");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
