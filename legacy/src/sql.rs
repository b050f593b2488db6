//! SQL text for loading rows into a legacy database (the generator's dataset, tests): batched
//! multi-row `INSERT` statements and a whole script (DDL, one transaction of inserts). Values are
//! written as the old database holds them — rows of text in the table's column order, as
//! [`crate::export::Record::to_fields`] gives them or as an export has them, dirt included: a
//! date column holds any seven characters, a `SMALLINT` any 16-bit number. Only what the database
//! itself cannot hold is refused ([`SqlError`]).
//!
//! No I/O here: the service and the tests run the text (`psql -f`, `sqlite3`, sqlx).

use crate::schema::{ddl, ColumnType, Dialect, Table};
use std::fmt::Write as _;

/// Rows per `INSERT` statement: well under SQLite's 1,000,000-byte statement limit and its
/// 500-term compound limit.
pub const BATCH_ROWS: usize = 500;

/// A value the database cannot hold: the table, the 0-based row, the column, the text and what
/// the column holds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{table} row {row} ({column}): {value:?} is not {expected}")]
pub struct SqlError {
    /// The table.
    pub table: &'static str,
    /// The row (0-based).
    pub row: usize,
    /// The column.
    pub column: &'static str,
    /// The text given.
    pub value: String,
    /// What the column holds, in words.
    pub expected: &'static str,
}

/// Appends `value` as a SQL literal for `ty`, or says what the column holds.
fn literal(out: &mut String, ty: ColumnType, value: &str) -> Result<(), &'static str> {
    let integer = |min: i64, max: i64, expected| {
        let digits = value.strip_prefix('-').unwrap_or(value);
        let ok = !digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit());
        match value.parse::<i64>() {
            Ok(v) if ok && (min..=max).contains(&v) => Ok(v),
            _ => Err(expected),
        }
    };
    match ty {
        ColumnType::Char(_) | ColumnType::VarChar(_) => {
            if value.contains('\0') {
                return Err("text without NUL characters");
            }
            out.push('\'');
            for c in value.chars() {
                if c == '\'' {
                    out.push('\'');
                }
                out.push(c);
            }
            out.push('\'');
        }
        ColumnType::SmallInt => {
            let v = integer(i64::from(i16::MIN), i64::from(i16::MAX), "a SMALLINT")?;
            let _ = write!(out, "{v}");
        }
        ColumnType::Integer => {
            let v = integer(i64::from(i32::MIN), i64::from(i32::MAX), "an INTEGER")?;
            let _ = write!(out, "{v}");
        }
        ColumnType::Coordinate if value.is_empty() => out.push_str("NULL"),
        ColumnType::Coordinate => {
            let body = value.strip_prefix('-').unwrap_or(value);
            let (whole, decimals) = body.split_once('.').unwrap_or((body, "0"));
            let digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(whole, 3) || !digits(decimals, 15) {
                return Err("degrees like 25.033012, or empty for NULL");
            }
            out.push_str(value);
        }
    }
    Ok(())
}

/// `INSERT INTO table (columns) VALUES (…), (…);` statements of at most `batch` rows each (at
/// least one), one per line. Every row must have the table's column count.
pub fn inserts(table: &'static Table, rows: &[Vec<String>], batch: usize) -> Result<String, SqlError> {
    let names: Vec<&str> = table.column_names().collect();
    let head = format!("INSERT INTO {} ({}) VALUES\n", table.name, names.join(", "));
    let mut out = String::with_capacity(rows.len() * table.columns.len() * 10);
    for (b, chunk) in rows.chunks(batch.max(1)).enumerate() {
        out.push_str(&head);
        for (k, row) in chunk.iter().enumerate() {
            let r = b * batch.max(1) + k;
            if row.len() != table.columns.len() {
                return Err(SqlError { table: table.name, row: r, column: "*", value: format!("{} fields", row.len()), expected: "one field per column" });
            }
            out.push_str(if k == 0 { "  (" } else { ",\n  (" });
            for (i, (column, value)) in table.columns.iter().zip(row).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                literal(&mut out, column.ty, value).map_err(|expected| SqlError {
                    table: table.name,
                    row: r,
                    column: column.name,
                    value: value.clone(),
                    expected,
                })?;
            }
            out.push(')');
        }
        out.push_str(";\n");
    }
    Ok(out)
}

/// A whole loading script for `dialect`: a comment line, the DDL ([`ddl`]), then every table's
/// rows in one transaction, in the order given.
pub fn script(dialect: Dialect, tables: &[(&'static Table, &[Vec<String>])], batch: usize) -> Result<String, SqlError> {
    let mut out = format!(
        "-- The legacy database ({}): schema and rows. Text is UTF-8 here; the old program counted CHAR widths in Big5 bytes.\n",
        match dialect {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
        }
    );
    out.push_str(&ddl(dialect));
    out.push_str("BEGIN;\n");
    for (table, rows) in tables {
        out.push_str(&inserts(table, rows, batch)?);
    }
    out.push_str("COMMIT;\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CUST_MST, ORD_DTL};

    fn line(seq: &str, qty: &str) -> Vec<String> {
        ["11512040001", seq, "20", qty, "800", "800"].map(String::from).to_vec()
    }

    #[test]
    fn batches_rows_and_quotes_text() {
        let rows = vec![line("1", "1"), line("2", "-1"), line("3", "2")];
        let sql = inserts(&ORD_DTL, &rows, 2).unwrap();
        assert_eq!(sql.matches("INSERT INTO ORD_DTL (ORD_NO, SEQ, CYL_KG, QTY, PRICE, AMT) VALUES").count(), 2);
        assert!(sql.contains("  ('11512040001', 1, 20, 1, 800, 800),\n  ('11512040001', 2, 20, -1, 800, 800);\n"), "{sql}");
        let mut customer = vec![String::new(); CUST_MST.columns.len()];
        customer[1] = "阿美's 小吃".into();
        customer[11] = "0".into();
        for usual in &mut customer[12..17] {
            *usual = "0".into();
        }
        let sql = inserts(&CUST_MST, &[customer], 10).unwrap();
        assert!(sql.contains("'阿美''s 小吃'") && sql.contains(", NULL, NULL, "), "{sql}");
    }

    #[test]
    fn refuses_what_the_database_cannot_hold() {
        let e = inserts(&ORD_DTL, &[line("1", "x")], 10).unwrap_err();
        assert_eq!((e.row, e.column, e.expected), (0, "QTY", "a SMALLINT"));
        assert_eq!(inserts(&ORD_DTL, &[line("1", "40000")], 10).unwrap_err().column, "QTY");
        assert_eq!(inserts(&ORD_DTL, &[line("99999", "1")], 10).unwrap_err().column, "SEQ");
        assert_eq!(inserts(&ORD_DTL, &[vec!["1".into()]], 10).unwrap_err().column, "*");
    }

    #[test]
    fn a_script_wraps_the_rows_in_one_transaction_after_the_ddl() {
        let sql = script(Dialect::Postgres, &[(&ORD_DTL, &[line("1", "1")])], BATCH_ROWS).unwrap();
        let create = sql.find("CREATE TABLE ORD_DTL").unwrap();
        let begin = sql.find("BEGIN;").unwrap();
        assert!(create < begin && begin < sql.find("INSERT INTO ORD_DTL").unwrap());
        assert!(sql.ends_with("COMMIT;\n"));
    }
}
