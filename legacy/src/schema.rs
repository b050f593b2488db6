//! The old system's schema as its desktop program created it, described once as data
//! ([`Table`], [`Column`]) and written out as DDL text for SQLite or PostgreSQL ([`ddl`]).
//!
//! Naming: the old program's English-ish abbreviations in capitals — tables `CUST_MST` (客戶主檔),
//! `ORD_HDR` (訂單主檔), `ORD_DTL` (訂單明細), `DLV_REC` (送貨紀錄); columns such as `CUST_NO`,
//! `DLV_DT`, `UPD_USER`. One table is ours, not the old program's: `SYNC_KEY`, where the new
//! service records the idempotency key of every change it applies to the legacy side.
//!
//! What the old database is like, and why the import must be careful:
//! - text columns are `CHAR(n)` whose width `n` the old program counts in **Big5 bytes** (a Chinese
//!   character takes two); a database created from this DDL in UTF-8 counts characters instead,
//!   so the width is enforced by [`crate::export`] (reading and writing), not by the database, and
//!   PostgreSQL reads `CHAR(n)` values back padded with spaces (trim them);
//! - dates are ROC dates in `CHAR(7)` (`1151204` is 2026-12-04), times `CHAR(6)` `HHMMSS` or
//!   `CHAR(4)` `HHMM`; money is integer NT$; codes are single characters ([`crate::codes`]);
//! - coordinates are `NUMERIC(9,6)` in PostgreSQL (read them as `LAT::float8` or as text) and
//!   `REAL` in SQLite, both nullable;
//! - primary keys, a few indexes, and **no foreign keys and no checks**: an order may name a
//!   customer that does not exist, a quantity may be negative, a date may be `1150230`. That is
//!   how the dirt got in, and why [`crate::export`] validates every row.
//!
//! Every `UPD_DT`/`UPD_TM`/`UPD_USER` triple is the old program's "last changed" stamp: the new
//! service picks up changes made in the old program by it, and writes [`SYNC_USER`] as `UPD_USER`
//! itself so that a change it applied is never picked up again (no echo).

use std::fmt::Write as _;

/// The SQL dialect of the emitted text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3 (the embedded default).
    Sqlite,
    /// PostgreSQL 13 or later.
    Postgres,
}

/// A column type as the old program declared it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Fixed-width text of at most this many Big5 bytes (space-padded by the database).
    Char(usize),
    /// Variable-width text of at most this many bytes (ASCII only: `SYNC_KEY`).
    VarChar(usize),
    /// A 16-bit integer (quantities, sequence numbers, days).
    SmallInt,
    /// A 32-bit integer (NT$ amounts).
    Integer,
    /// Degrees with six decimals (about 0.1 m): `NUMERIC(9,6)` / `REAL`.
    Coordinate,
}

impl ColumnType {
    /// The type as written in `dialect`'s DDL.
    pub fn sql(self, dialect: Dialect) -> String {
        match (self, dialect) {
            (ColumnType::Char(n), _) => format!("CHAR({n})"),
            (ColumnType::VarChar(n), _) => format!("VARCHAR({n})"),
            (ColumnType::SmallInt, _) => "SMALLINT".into(),
            (ColumnType::Integer, _) => "INTEGER".into(),
            (ColumnType::Coordinate, Dialect::Postgres) => "NUMERIC(9,6)".into(),
            (ColumnType::Coordinate, Dialect::Sqlite) => "REAL".into(),
        }
    }

    /// Whether values are written as quoted SQL strings.
    pub fn is_text(self) -> bool {
        matches!(self, ColumnType::Char(_) | ColumnType::VarChar(_))
    }
}

/// A column: its legacy name, type, whether it may be NULL, its Chinese label as the old program
/// shows it, and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// The legacy name, e.g. `CUST_NO`.
    pub name: &'static str,
    /// The declared type.
    pub ty: ColumnType,
    /// Whether the column may be NULL (only the coordinates); all others are `NOT NULL` with a
    /// default of `''` or `0`.
    pub nullable: bool,
    /// The label on the old program's screen, e.g. `客戶編號`.
    pub label: &'static str,
}

const fn col(name: &'static str, ty: ColumnType, label: &'static str) -> Column {
    Column { name, ty, nullable: false, label }
}

const fn coordinate(name: &'static str, label: &'static str) -> Column {
    Column { name, ty: ColumnType::Coordinate, nullable: true, label }
}

/// A table: its legacy name and label, columns in the old program's order (also the order of
/// its export's columns), primary key, and the export file the old program writes for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// The legacy name, e.g. `CUST_MST`.
    pub name: &'static str,
    /// The old program's label, e.g. `客戶主檔`.
    pub label: &'static str,
    /// The columns, in order.
    pub columns: &'static [Column],
    /// The primary key's columns.
    pub primary_key: &'static [&'static str],
    /// The export's file name (`customers.csv`), or `None` for a table the old program does not
    /// export.
    pub export_file: Option<&'static str>,
}

impl Table {
    /// The position of the column `name`, if the table has it.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The column names, in order: the export's header row.
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }
}

use ColumnType::{Char, Integer, SmallInt, VarChar};

/// Width of names (`CUST_NM`): 40 Big5 bytes, 20 Chinese characters.
pub const NAME_BYTES: usize = 40;
/// Width of addresses (`ADDR`): 80 Big5 bytes.
pub const ADDRESS_BYTES: usize = 80;
/// Width of phone numbers as typed (`TEL1`, `TEL2`): 20 Big5 bytes.
pub const PHONE_BYTES: usize = 20;
/// Width of memos (`MEMO`): 60 Big5 bytes.
pub const MEMO_BYTES: usize = 60;
/// Width of the user of the last change (`UPD_USER`): 10 bytes.
pub const USER_BYTES: usize = 10;

/// `UPD_USER` of every row the new service writes: changes carrying it are the service's own
/// and are not picked up again.
pub const SYNC_USER: &str = "LUCKYGAS";

/// 客戶主檔: one row per customer (export `customers.csv`).
pub const CUST_MST: Table = Table {
    name: "CUST_MST",
    label: "客戶主檔",
    columns: &[
        col("CUST_NO", Char(5), "客戶編號"),
        col("CUST_NM", Char(NAME_BYTES), "客戶名稱"),
        col("CUST_TYP", Char(1), "客戶類別"),
        col("TEL1", Char(PHONE_BYTES), "電話一"),
        col("TEL2", Char(PHONE_BYTES), "電話二"),
        col("CITY", Char(6), "縣市"),
        col("AREA", Char(6), "區別"),
        col("ADDR", Char(ADDRESS_BYTES), "地址"),
        coordinate("LAT", "緯度"),
        coordinate("LON", "經度"),
        col("SCHED", Char(1), "送貨週期"),
        col("SCHED_DAY", SmallInt, "送貨日"),
        col("USU_04", SmallInt, "常用量4公斤"),
        col("USU_10", SmallInt, "常用量10公斤"),
        col("USU_16", SmallInt, "常用量16公斤"),
        col("USU_20", SmallInt, "常用量20公斤"),
        col("USU_50", SmallInt, "常用量50公斤"),
        col("TIME_PREF", Char(1), "送貨時段"),
        col("PAY_TYPE", Char(1), "付款方式"),
        col("MEMO", Char(MEMO_BYTES), "備註"),
        col("STOP_FG", Char(1), "停用"),
        col("CRT_DT", Char(7), "建檔日期"),
        col("UPD_DT", Char(7), "異動日期"),
        col("UPD_TM", Char(6), "異動時間"),
        col("UPD_USER", Char(USER_BYTES), "異動人員"),
    ],
    primary_key: &["CUST_NO"],
    export_file: Some("customers.csv"),
};

/// 訂單主檔: one row per order (export `orders.csv`).
pub const ORD_HDR: Table = Table {
    name: "ORD_HDR",
    label: "訂單主檔",
    columns: &[
        col("ORD_NO", Char(11), "訂單編號"),
        col("ORD_DT", Char(7), "訂貨日期"),
        col("CUST_NO", Char(5), "客戶編號"),
        col("DLV_DT", Char(7), "送貨日期"),
        col("TIME_PREF", Char(1), "送貨時段"),
        col("ORD_SRC", Char(1), "訂單來源"),
        col("URGENT", Char(1), "急件"),
        col("STATUS", Char(1), "狀態"),
        col("TOT_AMT", Integer, "總金額"),
        col("MEMO", Char(MEMO_BYTES), "備註"),
        col("UPD_DT", Char(7), "異動日期"),
        col("UPD_TM", Char(6), "異動時間"),
        col("UPD_USER", Char(USER_BYTES), "異動人員"),
    ],
    primary_key: &["ORD_NO"],
    export_file: Some("orders.csv"),
};

/// 訂單明細: the lines of an order, one per cylinder size (export `order_lines.csv`).
pub const ORD_DTL: Table = Table {
    name: "ORD_DTL",
    label: "訂單明細",
    columns: &[
        col("ORD_NO", Char(11), "訂單編號"),
        col("SEQ", SmallInt, "項次"),
        col("CYL_KG", SmallInt, "鋼瓶規格"),
        col("QTY", SmallInt, "數量"),
        col("PRICE", Integer, "單價"),
        col("AMT", Integer, "金額"),
    ],
    primary_key: &["ORD_NO", "SEQ"],
    export_file: Some("order_lines.csv"),
};

/// 送貨紀錄: one row per delivery attempt (export `deliveries.csv`).
pub const DLV_REC: Table = Table {
    name: "DLV_REC",
    label: "送貨紀錄",
    columns: &[
        col("DLV_NO", Char(11), "送貨單號"),
        col("ORD_NO", Char(11), "訂單編號"),
        col("CUST_NO", Char(5), "客戶編號"),
        col("DLV_DT", Char(7), "送貨日期"),
        col("DLV_TM", Char(4), "送達時間"),
        col("DRV_NO", Char(4), "司機編號"),
        col("RESULT", Char(1), "送貨結果"),
        col("DLV_04", SmallInt, "送達4公斤"),
        col("DLV_10", SmallInt, "送達10公斤"),
        col("DLV_16", SmallInt, "送達16公斤"),
        col("DLV_20", SmallInt, "送達20公斤"),
        col("DLV_50", SmallInt, "送達50公斤"),
        col("COLL_AMT", Integer, "收現金額"),
        col("UPD_DT", Char(7), "異動日期"),
        col("UPD_TM", Char(6), "異動時間"),
        col("UPD_USER", Char(USER_BYTES), "異動人員"),
    ],
    primary_key: &["DLV_NO"],
    export_file: Some("deliveries.csv"),
};

/// 同步紀錄: the idempotency keys of the changes the new service applied to this database, each
/// inserted in the same transaction as its change, so that a change is never applied twice. The
/// old program neither reads nor writes it.
pub const SYNC_KEY: Table = Table {
    name: "SYNC_KEY",
    label: "同步紀錄",
    columns: &[
        col("SYNC_KEY", VarChar(64), "同步鍵"),
        col("TBL_NM", Char(8), "資料表"),
        col("REC_NO", Char(16), "資料鍵"),
        col("APPLY_DT", Char(7), "套用日期"),
        col("APPLY_TM", Char(6), "套用時間"),
    ],
    primary_key: &["SYNC_KEY"],
    export_file: None,
};

/// Every table, in creation order.
pub const TABLES: [&Table; 5] = [&CUST_MST, &ORD_HDR, &ORD_DTL, &DLV_REC, &SYNC_KEY];

/// The secondary indexes: name, table, columns. The `UPD` indexes serve the pick-up of changes
/// made in the old program.
pub const INDEXES: &[(&str, &str, &[&str])] = &[
    ("IX_CUST_UPD", "CUST_MST", &["UPD_DT", "UPD_TM"]),
    ("IX_ORD_CUST", "ORD_HDR", &["CUST_NO"]),
    ("IX_ORD_DLV", "ORD_HDR", &["DLV_DT"]),
    ("IX_ORD_UPD", "ORD_HDR", &["UPD_DT", "UPD_TM"]),
    ("IX_DLV_ORD", "DLV_REC", &["ORD_NO"]),
    ("IX_DLV_UPD", "DLV_REC", &["UPD_DT", "UPD_TM"]),
];

/// The DDL creating every table and index in `dialect`. PostgreSQL gets the old program's
/// labels as `COMMENT ON` statements, SQLite as SQL comments. Statements end with `;` and a
/// newline; the text runs as one script (`psql -f`, `sqlite3 < file`).
pub fn ddl(dialect: Dialect) -> String {
    let mut out = String::new();
    for table in TABLES {
        let _ = writeln!(out, "CREATE TABLE {} ( -- {}", table.name, table.label);
        for column in table.columns {
            let default = match column.ty {
                _ if column.nullable => String::new(),
                ColumnType::Char(_) | ColumnType::VarChar(_) => " NOT NULL DEFAULT ''".into(),
                _ => " NOT NULL DEFAULT 0".into(),
            };
            let comment = match dialect {
                Dialect::Sqlite => format!(" -- {}", column.label),
                Dialect::Postgres => String::new(),
            };
            let _ = writeln!(out, "    {} {}{default},{comment}", column.name, column.ty.sql(dialect));
        }
        let _ = writeln!(out, "    PRIMARY KEY ({})\n);", table.primary_key.join(", "));
        if dialect == Dialect::Postgres {
            let _ = writeln!(out, "COMMENT ON TABLE {} IS '{}';", table.name, table.label);
            for column in table.columns {
                let _ = writeln!(out, "COMMENT ON COLUMN {}.{} IS '{}';", table.name, column.name, column.label);
            }
        }
    }
    for (name, table, columns) in INDEXES {
        let _ = writeln!(out, "CREATE INDEX {name} ON {table} ({});", columns.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_its_key_columns_and_unique_column_names() {
        for table in TABLES {
            for key in table.primary_key {
                assert!(table.index_of(key).is_some(), "{}.{key}", table.name);
            }
            let mut names: Vec<_> = table.column_names().collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), table.columns.len(), "{}", table.name);
        }
        for (name, table, columns) in INDEXES {
            let t = TABLES.iter().find(|t| t.name == *table).unwrap_or_else(|| panic!("{name}: no table {table}"));
            assert!(columns.iter().all(|c| t.index_of(c).is_some()), "{name}");
        }
    }

    #[test]
    fn ddl_names_every_column_with_its_dialects_type() {
        let pg = ddl(Dialect::Postgres);
        let lite = ddl(Dialect::Sqlite);
        assert!(pg.contains("    LAT NUMERIC(9,6),\n"), "{pg}");
        assert!(lite.contains("    LAT REAL, -- 緯度\n"), "{lite}");
        assert!(pg.contains("    CUST_NO CHAR(5) NOT NULL DEFAULT '',\n"));
        assert!(pg.contains("COMMENT ON COLUMN CUST_MST.CUST_NM IS '客戶名稱';"));
        assert!(lite.contains("    PRIMARY KEY (ORD_NO, SEQ)\n);"));
        assert!(!lite.contains("COMMENT ON"));
        assert_eq!(pg.matches("CREATE TABLE").count(), 5);
        assert_eq!(lite.matches("CREATE INDEX").count(), INDEXES.len());
    }

    #[test]
    fn the_readme_documents_every_table_and_column() {
        let readme = include_str!("../README.md");
        for table in TABLES {
            assert!(readme.contains(&format!("`{}`", table.name)), "README lacks table {}", table.name);
            for column in table.columns {
                assert!(readme.contains(&format!("`{}`", column.name)), "README lacks {}.{}", table.name, column.name);
            }
        }
    }
}
