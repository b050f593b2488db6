//! Banks' virtual-account deposit statements (虛擬帳號入帳明細): one file per collection account
//! and day, a header record, one detail record per deposit, a trailer record with the count and
//! total of the details.
//!
//! Two layouts ([`Format`]): a fixed-width text ([`fixed`], columns in Big5 bytes, ROC dates) and
//! a CSV ([`csv`], Western dates), in UTF-8 or Big5 ([`Encoding`]). [`parse`] reads a whole file
//! or refuses it whole with a [`StatementError`] naming the file, line, column or field and what
//! is wrong: a statement is never half imported. [`write()`] writes either layout in either
//! encoding (tests, the benchmark, and publishing files to the SFTP tests).
//!
//! The rules both layouts share (so a statement read in one can be written in the other):
//! amounts are whole NT$ from 1 to [`MAX_AMOUNT`] (decimals only as `.00`, never negative);
//! serials (the bank's transaction number, the key against importing a deposit twice) are 1 to
//! 16 ASCII letters or digits and unique in the file; virtual accounts 1 to 16 digits (the
//! layout check is the matcher's); names and memos at most [`NAME_BYTES`] and [`MEMO_BYTES`] in
//! Big5, with no control characters; text fields are trimmed of surrounding spaces.

pub mod csv;
pub mod encoding;
mod fields;
pub mod fixed;

pub use encoding::Encoding;

use chrono::{NaiveDate, NaiveDateTime};
use einvoice::money::Ntd;
use std::fmt;

/// The largest amount of one deposit: eleven digits of whole dollars (the fixed-width layout's
/// amount is 13 digits with two of cents).
pub const MAX_AMOUNT: i64 = 99_999_999_999;
/// Payer names: at most 40 bytes in Big5 (20 Chinese characters).
pub const NAME_BYTES: usize = 40;
/// Memos: at most 20 bytes in Big5.
pub const MEMO_BYTES: usize = 20;
/// Bank names in the header: at most 20 bytes in Big5.
pub const BANK_NAME_BYTES: usize = 20;

/// One deposit into a virtual account.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Deposit {
    /// The bank's transaction serial: unique per bank, the key against crediting twice.
    pub serial: String,
    /// When the payer paid (Taipei time).
    pub paid_at: NaiveDateTime,
    /// The day the bank credited the collection account (入帳日).
    pub value_date: NaiveDate,
    /// The virtual account paid into, as the bank printed it (digits).
    pub account: String,
    /// Whole NT$, 1..=[`MAX_AMOUNT`].
    pub amount: Ntd,
    /// The payer's name as the bank has it (may be empty: cash at an ATM).
    pub payer_name: String,
    /// The payer's bank: 3 digits, or 7 with the branch; empty when unknown.
    pub payer_bank: String,
    /// The payer's account, masked by the bank (digits and `*`); empty when unknown.
    pub payer_account: String,
    /// The payer's memo (附言).
    pub memo: String,
}

/// A whole statement file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The bank's code (3 digits, e.g. `013` Cathay United).
    pub bank_code: String,
    /// The bank's name, as the header gives it.
    pub bank_name: String,
    /// The company's collection account (1 to 14 digits).
    pub account: String,
    /// The day the statement covers.
    pub date: NaiveDate,
    /// The deposits, in file order.
    pub deposits: Vec<Deposit>,
}

impl Statement {
    /// The sum of the deposits, or `None` if it overflows.
    pub fn total(&self) -> Option<Ntd> {
        Ntd::sum(self.deposits.iter().map(|d| d.amount)).ok()
    }
}

/// A statement layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// 150-byte records counted in Big5 bytes, ROC dates ([`fixed`]).
    FixedWidth,
    /// Comma-separated records, Western dates ([`csv`]).
    Csv,
}

/// What is wrong with a statement, or with a value to be written. [`Problem::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file is empty.
    #[error("the file is empty")]
    EmptyFile,
    /// The line is neither UTF-8 nor Big5 (or not the encoding named).
    #[error("the line is not {encoding:?} text")]
    NotText {
        /// The encoding tried last.
        encoding: Encoding,
    },
    /// A character with no Big5 form (bank systems are Big5).
    #[error("character {0:?} has no Big5 form")]
    NotBig5(char),
    /// A fixed-width column boundary falls inside a double-byte character.
    #[error("a column boundary falls inside a double-byte character")]
    SplitCharacter,
    /// A fixed-width record of the wrong length (in Big5 bytes).
    #[error("the record is {found} bytes long (in Big5), not {expected}")]
    RecordLength {
        /// The layout's length.
        expected: usize,
        /// This record's.
        found: usize,
    },
    /// A CSV record with the wrong number of fields.
    #[error("the record has {found} fields, not {expected}")]
    FieldCount {
        /// The layout's count.
        expected: usize,
        /// This record's.
        found: usize,
    },
    /// Malformed CSV quoting.
    #[error("malformed quotes")]
    Quoting,
    /// An unknown record type.
    #[error("unknown record type {0:?}")]
    RecordType(String),
    /// Header, details and trailer out of order.
    #[error("{0}")]
    Structure(&'static str),
    /// A field of the wrong shape.
    #[error("{found:?} is not {expected}")]
    Format {
        /// The expected shape, in words.
        expected: &'static str,
        /// The text found.
        found: String,
    },
    /// Digits that name no date or time, or a date outside ROC years 1..=999.
    #[error("{0:?} is not a date or time that exists (ROC years 1 to 999)")]
    NoSuchDate(String),
    /// An amount with cents.
    #[error("amount {0:?} has cents; amounts are whole NT$")]
    Cents(String),
    /// A negative amount (a reversal).
    #[error("amount {0:?} is negative; reversals are not deposits")]
    Negative(String),
    /// A zero amount.
    #[error("the amount is zero")]
    Zero,
    /// An amount over [`MAX_AMOUNT`] (or a total over its field).
    #[error("amount {0:?} is too large")]
    TooLarge(String),
    /// Text longer than its field.
    #[error("{found} bytes in Big5, at most {max}")]
    TooLong {
        /// The field's limit.
        max: usize,
        /// The text's Big5 length.
        found: usize,
    },
    /// A control character (tab, CR, …) inside a field.
    #[error("control character {0:?} in a field")]
    ControlCharacter(char),
    /// A serial already seen in this file.
    #[error("serial {serial} already appears on line {first_line}")]
    DuplicateSerial {
        /// The serial.
        serial: String,
        /// Where it appeared first.
        first_line: usize,
    },
    /// The trailer's count disagrees with the details.
    #[error("the trailer counts {stated} deposits, the file has {found}")]
    Count {
        /// The trailer's count.
        stated: i64,
        /// Details found.
        found: usize,
    },
    /// The trailer's total disagrees with the details.
    #[error("the trailer totals {stated}, the deposits add up to {found}")]
    Total {
        /// The trailer's total.
        stated: Ntd,
        /// The sum of the details.
        found: Ntd,
    },
}

impl Problem {
    /// A stable code for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::EmptyFile => "statement.empty_file",
            Problem::NotText { .. } => "statement.encoding",
            Problem::NotBig5(_) => "statement.not_big5",
            Problem::SplitCharacter => "statement.split_character",
            Problem::RecordLength { .. } => "statement.record_length",
            Problem::FieldCount { .. } => "statement.field_count",
            Problem::Quoting => "statement.quoting",
            Problem::RecordType(_) => "statement.record_type",
            Problem::Structure(_) => "statement.structure",
            Problem::Format { .. } => "statement.format",
            Problem::NoSuchDate(_) => "statement.date",
            Problem::Cents(_) => "statement.amount_cents",
            Problem::Negative(_) => "statement.amount_negative",
            Problem::Zero => "statement.amount_zero",
            Problem::TooLarge(_) => "statement.amount_range",
            Problem::TooLong { .. } => "statement.too_long",
            Problem::ControlCharacter(_) => "statement.control_character",
            Problem::DuplicateSerial { .. } => "statement.duplicate_serial",
            Problem::Count { .. } => "statement.count",
            Problem::Total { .. } => "statement.total",
        }
    }
}

/// Why a statement file was refused: the file, the 1-based line, where known the 1-based column
/// (bytes of the line as given; in fixed-width records, Big5 bytes) and field, and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct StatementError {
    /// The file's name, as the caller gave it.
    pub file: String,
    /// The line (1-based).
    pub line: usize,
    /// The column (1-based), where known.
    pub column: Option<usize>,
    /// The field's name, where the problem is in one.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for StatementError {
    /// `deposits-20261204.txt line 12, column 39 (amount): amount "…" has cents; …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.file, self.line)?;
        if let Some(c) = self.column {
            write!(f, ", column {c}")?;
        }
        if let Some(field) = self.field {
            write!(f, " ({field})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

/// Why a statement could not be written: which record (the header, the trailer, or the deposit
/// at an index), which field, and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{record}, {field}: {problem}")]
pub struct WriteError {
    /// `header`, `trailer` or `deposit N` (0-based).
    pub record: String,
    /// The field.
    pub field: &'static str,
    /// What is wrong.
    pub problem: Problem,
}

/// Parses `bytes` of the file `file_name` in `format`, its encoding detected (see [`encoding`]).
pub fn parse(format: Format, file_name: &str, bytes: &[u8]) -> Result<Statement, StatementError> {
    parse_as(format, Encoding::detect(bytes), file_name, bytes)
}

/// Parses `bytes` of the file `file_name` in `format` and the known `encoding`.
pub fn parse_as(format: Format, encoding: Encoding, file_name: &str, bytes: &[u8]) -> Result<Statement, StatementError> {
    let at = |line, column, field, problem| StatementError { file: file_name.to_owned(), line, column, field, problem };
    let lines = encoding::lines(bytes, encoding).map_err(|(line, column, problem)| at(line, column, None, problem))?;
    if lines.is_empty() {
        return Err(at(1, None, None, Problem::EmptyFile));
    }
    let records = match format {
        Format::FixedWidth => fixed::records(&lines),
        Format::Csv => csv::records(&lines),
    };
    let records = records.map_err(|(line, column, field, problem)| at(line, column, field, problem))?;
    fields::assemble(records).map_err(|(line, field, problem)| at(line, None, field, problem))
}

/// Writes `statement` in `format` and `encoding` (no byte-order mark, CRLF line endings), after
/// checking every value against the rules [`parse`] applies: what this writes, parse reads back.
pub fn write(format: Format, statement: &Statement, encoding: Encoding) -> Result<Vec<u8>, WriteError> {
    fields::check(statement)?;
    let text = match format {
        Format::FixedWidth => fixed::write(statement),
        Format::Csv => csv::write(statement),
    }?;
    Ok(encoding.encode(&text))
}

/// One record, its fields parsed, as a layout hands it to the common checks.
pub(crate) enum Record {
    Header { bank_code: String, bank_name: String, account: String, date: NaiveDate },
    Detail(Deposit),
    Trailer { count: i64, total: Ntd },
}

/// A layout's records with their line numbers, or where the first one went wrong.
pub(crate) type Records = Result<Vec<(usize, Record)>, (usize, Option<usize>, Option<&'static str>, Problem)>;

#[cfg(test)]
mod tests;
