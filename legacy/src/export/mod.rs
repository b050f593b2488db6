//! The old program's exports: one CSV file per table (`customers.csv`, `orders.csv`,
//! `order_lines.csv`, `deliveries.csv`; [`crate::schema::Table::export_file`]), in Big5, CRLF line
//! endings, a header row of the legacy column names in the table's order, then one row per record
//! with ROC dates, integer NT$ and one-character codes as the database holds them.
//!
//! CSV rules: fields separated by commas; a field may be quoted with `"`, and then
//! holds commas and doubled quotes `""`, never a line break; surrounding spaces (the padding of
//! `CHAR(n)` columns) are trimmed; LF alone is accepted as a line ending, blank lines only at the
//! end, and a DOS end-of-file mark (0x1A) as the very last byte is ignored. A line longer than
//! [`MAX_LINE_BYTES`] is refused before anything of it is kept, so memory per line is bounded
//! whatever the input.
//!
//! Two ways to read, with one error type, [`ExportError`], naming the file, the line, the
//! 1-based byte column where known, the field, and the problem with a stable [`Problem::code`]:
//! - [`read`]: all or nothing — any problem refuses the file;
//! - [`read_each`]: the file's structure all or nothing (encoding, quoting, header, field
//!   counts: a file broken there is refused whole), then each row or its reject: what an
//!   import's dry run reports (impossible dates, negative quantities, unknown codes, repeated
//!   keys are per row, [`Problem::is_row_level`]).
//!
//! [`write()`] writes typed records after checking that each reads back as itself; [`write_rows`]
//! writes rows of text as they are (the generator's deliberately bad rows).

mod csv;
mod fields;
mod records;

pub use csv::{Rows, MAX_LINE_BYTES};

use crate::schema::Table;
use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

/// What is wrong with an export or a value. [`Problem::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file has no header row.
    #[error("the file is empty (no header row)")]
    EmptyFile,
    /// Reading the file failed.
    #[error("the file could not be read: {0}")]
    Io(String),
    /// Bytes that are not Big5 (a UTF-8 byte-order mark included).
    #[error("the bytes are not Big5 text")]
    NotBig5Bytes,
    /// A line longer than [`MAX_LINE_BYTES`].
    #[error("the line is longer than {max} bytes")]
    LineTooLong {
        /// The limit.
        max: usize,
    },
    /// A blank line before the end of the file.
    #[error("a blank line before the end of the file")]
    BlankLine,
    /// Malformed CSV quoting.
    #[error("malformed quotes")]
    Quoting,
    /// A row with the wrong number of fields.
    #[error("the row has {found} fields, not {expected}")]
    FieldCount {
        /// The table's column count.
        expected: usize,
        /// This row's.
        found: usize,
    },
    /// The header row does not name the table's columns in order.
    #[error("the header has {found:?} where {expected} is expected")]
    Header {
        /// The column expected.
        expected: &'static str,
        /// What the header has there (empty when it has fewer columns).
        found: String,
    },
    /// A control character (tab, CR, …) inside a field.
    #[error("control character {0:?} in a field")]
    ControlCharacter(char),
    /// A character without a Big5 form (the old system stores Big5).
    #[error("character {0:?} has no Big5 form")]
    NotBig5(char),
    /// Text longer than its `CHAR(n)` column, in Big5 bytes.
    #[error("{found} bytes in Big5, the column holds {max}")]
    TooLong {
        /// The column's width.
        max: usize,
        /// The text's Big5 width.
        found: usize,
    },
    /// An empty field where a value is required.
    #[error("a value is required")]
    Required,
    /// A field of the wrong shape.
    #[error("{found:?} is not {expected}")]
    Format {
        /// The expected shape, in words.
        expected: &'static str,
        /// The text found.
        found: String,
    },
    /// A ROC date that names no day (`1150230`), or outside ROC years 1 to 999.
    #[error("{0:?} is not a ROC date that exists")]
    NoSuchDate(String),
    /// A time that does not exist (`2575`).
    #[error("{0:?} is not a time of day")]
    NoSuchTime(String),
    /// A code the old program does not define.
    #[error("{found:?} is not a code here; expected {allowed}")]
    UnknownCode {
        /// The text found.
        found: String,
        /// The codes allowed, in words.
        allowed: &'static str,
    },
    /// A negative quantity or amount.
    #[error("{0:?} is negative")]
    Negative(String),
    /// A number outside its column's range.
    #[error("{found:?} is outside {min}..={max}")]
    OutOfRange {
        /// The text found.
        found: String,
        /// The least value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// Only one of `LAT` and `LON`, or a coordinate outside the globe.
    #[error("{0}")]
    Coordinates(&'static str),
    /// A primary key already seen in the file.
    #[error("key {key} already appears on line {first_line}")]
    DuplicateKey {
        /// The key (`C0001`, `11512040001`, `11512040001/1`).
        key: String,
        /// Where it appeared first.
        first_line: usize,
    },
    /// A value to be written that would not read back as itself.
    #[error("the value would read back as {0:?}")]
    NotPreserved(String),
}

impl Problem {
    /// A stable code for APIs, logs and import reports.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::EmptyFile => "legacy.empty_file",
            Problem::Io(_) => "legacy.io",
            Problem::NotBig5Bytes => "legacy.encoding",
            Problem::LineTooLong { .. } => "legacy.line_too_long",
            Problem::BlankLine => "legacy.blank_line",
            Problem::Quoting => "legacy.quoting",
            Problem::FieldCount { .. } => "legacy.field_count",
            Problem::Header { .. } => "legacy.header",
            Problem::ControlCharacter(_) => "legacy.control_character",
            Problem::NotBig5(_) => "legacy.not_big5",
            Problem::TooLong { .. } => "legacy.too_long",
            Problem::Required => "legacy.required",
            Problem::Format { .. } => "legacy.format",
            Problem::NoSuchDate(_) => "legacy.date",
            Problem::NoSuchTime(_) => "legacy.time",
            Problem::UnknownCode { .. } => "legacy.code",
            Problem::Negative(_) => "legacy.negative",
            Problem::OutOfRange { .. } => "legacy.range",
            Problem::Coordinates(_) => "legacy.coordinates",
            Problem::DuplicateKey { .. } => "legacy.duplicate_key",
            Problem::NotPreserved(_) => "legacy.not_preserved",
        }
    }

    /// Whether the problem is in one row's values (a reject in [`read_each`]) rather than in the
    /// file's structure (which refuses the file).
    pub fn is_row_level(&self) -> bool {
        !matches!(
            self,
            Problem::EmptyFile
                | Problem::Io(_)
                | Problem::NotBig5Bytes
                | Problem::LineTooLong { .. }
                | Problem::BlankLine
                | Problem::Quoting
                | Problem::FieldCount { .. }
                | Problem::Header { .. }
        )
    }
}

/// Why an export, or one of its rows, was refused: the file, the 1-based line, where known the
/// 1-based byte column (of the Big5 line) and the field, and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ExportError {
    /// The file's name, as the caller gave it.
    pub file: String,
    /// The line (1-based; the header is line 1).
    pub line: usize,
    /// The byte column (1-based), where known.
    pub column: Option<usize>,
    /// The legacy column name, where the problem is in one field.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub problem: Problem,
}

impl ExportError {
    /// The problem's stable code.
    pub fn code(&self) -> &'static str {
        self.problem.code()
    }
}

impl fmt::Display for ExportError {
    /// `customers.csv line 12, column 140 (CRT_DT): "1150230" is not a ROC date that exists`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.file, self.line)?;
        if let Some(c) = self.column {
            write!(f, ", column {c}")?;
        }
        if let Some(field) = self.field {
            write!(f, " ({field})")?;
        }
        write!(f, ": {} [{}]", self.problem, self.problem.code())
    }
}

/// A problem in one field of a row given as text: the field's position in the table's columns
/// and name (none for a wrong field count), and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The 0-based position of the field, where the problem is in one.
    pub index: Option<usize>,
    /// The legacy column name, where the problem is in one field.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub problem: Problem,
}

/// Why records could not be written: the table, the 0-based record (row), the field, the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{table} record {record}{}: {problem}", field.map(|f| format!(" ({f})")).unwrap_or_default())]
pub struct WriteError {
    /// The table.
    pub table: &'static str,
    /// The record's position in what was given (0-based).
    pub record: usize,
    /// The field, where the problem is in one; `None` for a value whose text reads back as
    /// another value (seconds in an `HHMM` time), and for a wrong field count.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub problem: Problem,
}

/// A row of an old table as typed values, read from and written to its fields' text. The same
/// conversion reads rows fetched from the legacy database as text (trim of `CHAR` padding
/// included).
pub trait Record: Sized + Clone + PartialEq + fmt::Debug {
    /// The table the record is a row of.
    const TABLE: &'static Table;

    /// Reads a row given as the text of each column, in the table's order.
    fn from_fields<S: AsRef<str>>(fields: &[S]) -> Result<Self, FieldError>;

    /// The text of each column, in the table's order, as the old program writes it.
    fn to_fields(&self) -> Vec<String>;

    /// The primary key as text (`C0001`; `11512040001/1` for an order line).
    fn key(&self) -> String;
}

/// One data row of an export: its line, its fields' text (unquoted, trimmed), and the 1-based
/// byte column where each field starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The line (1-based; data rows start on line 2).
    pub line: usize,
    /// The fields' text.
    pub fields: Vec<String>,
    /// Where each field starts (1-based byte column of the Big5 line).
    pub columns: Vec<usize>,
}

/// The data rows of the export of `table` read from `reader`, after its header is checked; the
/// first error ends the iteration. Structure only: values are read by a [`Record`].
pub fn rows<R: BufRead>(table: &'static Table, file_name: &str, reader: R) -> Rows<R> {
    Rows::new(table, file_name, reader)
}

/// Reads the export of `T`'s table from `reader`, all or nothing.
pub fn read<T: Record, R: BufRead>(file_name: &str, reader: R) -> Result<Vec<T>, ExportError> {
    read_each(file_name, reader)?.into_iter().collect()
}

/// Reads the export of `T`'s table from `reader`: the file's structure all or nothing, then each
/// row as a record or the reason it is rejected (a repeated primary key rejects the later row).
pub fn read_each<T: Record, R: BufRead>(file_name: &str, reader: R) -> Result<Vec<Result<T, ExportError>>, ExportError> {
    let mut out = Vec::new();
    let mut keys: HashMap<String, usize> = HashMap::new();
    for row in rows(T::TABLE, file_name, reader) {
        let row = row?;
        let at = |index: Option<usize>, field, problem| ExportError {
            file: file_name.to_owned(),
            line: row.line,
            column: index.and_then(|i| row.columns.get(i).copied()),
            field,
            problem,
        };
        let record = T::from_fields(&row.fields).map_err(|e| at(e.index, e.field, e.problem)).and_then(|record| {
            let key = record.key();
            match keys.get(&key) {
                Some(first_line) => Err(at(Some(0), T::TABLE.columns.first().map(|c| c.name), Problem::DuplicateKey { key, first_line: *first_line })),
                None => {
                    keys.insert(key, row.line);
                    Ok(record)
                }
            }
        });
        out.push(record);
    }
    Ok(out)
}

/// Writes `records` as the export of their table (Big5, CRLF, header row), after checking that
/// each one reads back as itself and that no key repeats: what this writes, [`read`] reads.
pub fn write<T: Record>(records: &[T]) -> Result<Vec<u8>, WriteError> {
    let table = T::TABLE;
    let mut rows = Vec::with_capacity(records.len());
    let mut keys: HashMap<String, usize> = HashMap::new();
    for (i, record) in records.iter().enumerate() {
        let fail = |field: Option<&'static str>, problem| WriteError { table: table.name, record: i, field, problem };
        let fields = record.to_fields();
        match T::from_fields(&fields) {
            Err(e) => return Err(fail(e.field, e.problem)),
            Ok(back) if back != *record => {
                let again = back.to_fields();
                let at = fields.iter().zip(&again).position(|(a, b)| a != b);
                let field = at.and_then(|k| table.columns.get(k)).map(|c| c.name);
                return Err(fail(field, Problem::NotPreserved(at.and_then(|k| again.get(k)).cloned().unwrap_or_default())));
            }
            Ok(_) => {}
        }
        if let Some(first) = keys.insert(record.key(), i) {
            return Err(fail(table.columns.first().map(|c| c.name), Problem::DuplicateKey { key: record.key(), first_line: first + 2 }));
        }
        rows.push(fields);
    }
    write_rows(table, &rows)
}

/// Writes rows of text as the export of `table`, without checking their values: each row must
/// have the table's field count, and its text Big5 forms and no control characters (so that the
/// file's structure reads back). For the generator's deliberately bad rows and for tests.
pub fn write_rows(table: &Table, rows: &[Vec<String>]) -> Result<Vec<u8>, WriteError> {
    csv::write(table, rows)
}

#[cfg(test)]
mod tests;
