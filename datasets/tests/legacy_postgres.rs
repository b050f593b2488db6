//! The generated legacy database script runs on a real PostgreSQL (DATABASE_URL_PG, default
//! `postgres://postgres@127.0.0.1:5432/test`) through `psql`, in a schema of its own that is
//! dropped afterwards, and holds every row, bad ones included.

use datasets::legacy::{generate_legacy, LegacyOptions};
use legacy::schema::Dialect;
use std::process::Command;

fn url() -> String {
    std::env::var("DATABASE_URL_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Runs `psql` with `args`, with `search_path` set to `schema`; the output, or a panic with psql's
/// error.
fn psql(schema: &str, args: &[&str]) -> String {
    let out = Command::new("psql")
        .arg(url())
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-At"])
        .args(args)
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .output()
        .unwrap_or_else(|e| panic!("psql must be installed (PostgreSQL client): {e}"));
    assert!(out.status.success(), "psql {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Drops the test's schema however the test ends.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql").arg(url()).args(["-q", "-c", &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0)]).output();
    }
}

#[test]
fn the_postgres_script_loads_every_row_into_the_old_schema() {
    let data = generate_legacy(5, &LegacyOptions::new(200, 30)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    data.write_to(dir.path()).unwrap();
    let schema = Schema(format!("legacy_gen_{}", std::process::id()));
    psql("public", &["-c", &format!("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema.0)]);
    let script = dir.path().join("legacy-postgres.sql");
    assert_eq!(std::fs::read_to_string(&script).unwrap(), data.sql(Dialect::Postgres).unwrap());
    psql(&schema.0, &["-f", script.to_str().unwrap()]);

    for (table, rows) in data.tables() {
        let count = psql(&schema.0, &["-c", &format!("SELECT count(*) FROM {}", table.name)]);
        assert_eq!(count, rows.len().to_string(), "{}", table.name);
    }
    // The dirt is in the database as the old program let it in.
    let bad = &data.dirt.bad_customers[0];
    let stored = psql(&schema.0, &["-c", &format!("SELECT rtrim({}::text) FROM CUST_MST WHERE CUST_NO = '{}'", bad.field, bad.key)]);
    assert_eq!(stored, data.customers[bad.row][legacy::schema::CUST_MST.index_of(bad.field).unwrap()]);
    let nulls = psql(&schema.0, &["-c", "SELECT count(*) FROM CUST_MST WHERE LAT IS NULL AND LON IS NULL"]);
    assert_eq!(nulls, data.dirt.missing_coordinates.to_string());
    // Names come back as they were written (CHAR padding trimmed), Chinese included.
    let name = psql(&schema.0, &["-c", "SELECT rtrim(CUST_NM) FROM CUST_MST WHERE CUST_NO = 'C0001'"]);
    assert_eq!(name, data.customers[0][1]);
    assert_eq!(psql(&schema.0, &["-c", "SELECT count(*) FROM SYNC_KEY"]), "0");
}
