//! The value rules both layouts share: reading each kind of field, checking values before they
//! are written, and assembling records into a statement (order, duplicates, count and total).

use super::encoding::big5_len;
use super::{Deposit, Problem, Record, Statement, WriteError, BANK_NAME_BYTES, MAX_AMOUNT, MEMO_BYTES, NAME_BYTES};
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use einvoice::calendar::{parse_roc, MAX_YEAR, MIN_YEAR};
use einvoice::money::Ntd;
use std::collections::HashMap;

/// The largest deposit count a trailer can state (7 digits).
pub(crate) const MAX_COUNT: usize = 9_999_999;
/// The largest total a trailer can state: 13 digits of whole dollars.
pub(crate) const MAX_TOTAL: i64 = 9_999_999_999_999;

fn format(expected: &'static str, found: &str) -> Problem {
    Problem::Format { expected, found: found.to_owned() }
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// Exactly `len` ASCII digits.
pub(crate) fn fixed_digits<'a>(text: &'a str, len: usize, expected: &'static str) -> Result<&'a str, Problem> {
    if text.len() == len && all_digits(text) {
        Ok(text)
    } else {
        Err(format(expected, text))
    }
}

/// 1 to `max` ASCII digits.
pub(crate) fn some_digits(text: &str, max: usize, expected: &'static str) -> Result<String, Problem> {
    if (1..=max).contains(&text.len()) && all_digits(text) {
        Ok(text.to_owned())
    } else {
        Err(format(expected, text))
    }
}

/// The bank's serial: 1 to 16 ASCII letters or digits.
pub(crate) fn serial(text: &str) -> Result<String, Problem> {
    if (1..=16).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(text.to_owned())
    } else {
        Err(format("a serial of 1 to 16 letters or digits", text))
    }
}

/// The payer's bank: empty, 3 digits, or 7 (with the branch).
pub(crate) fn payer_bank(text: &str) -> Result<String, Problem> {
    if text.is_empty() || ((text.len() == 3 || text.len() == 7) && all_digits(text)) {
        Ok(text.to_owned())
    } else {
        Err(format("a bank code of 3 digits, or 7 with the branch", text))
    }
}

/// The payer's masked account: empty, or 1 to 16 digits and `*`.
pub(crate) fn payer_account(text: &str) -> Result<String, Problem> {
    if text.len() <= 16 && text.bytes().all(|b| b.is_ascii_digit() || b == b'*') {
        Ok(text.to_owned())
    } else {
        Err(format("a masked account of up to 16 digits and '*'", text))
    }
}

/// Free text of at most `max` Big5 bytes: trimmed of surrounding spaces, no control characters.
pub(crate) fn text(raw: &str, max: usize) -> Result<String, Problem> {
    let t = raw.trim_matches(' ');
    if let Some(c) = t.chars().find(|c| c.is_control()) {
        return Err(Problem::ControlCharacter(c));
    }
    let found = big5_len(t).map_err(Problem::NotBig5)?;
    if found > max {
        return Err(Problem::TooLong { max, found });
    }
    Ok(t.to_owned())
}

fn check_year(date: NaiveDate, text: &str) -> Result<NaiveDate, Problem> {
    if (MIN_YEAR..=MAX_YEAR).contains(&date.year()) {
        Ok(date)
    } else {
        Err(Problem::NoSuchDate(text.to_owned()))
    }
}

/// A compact ROC date of exactly 7 digits, `1151204`.
pub(crate) fn roc_date(text: &str) -> Result<NaiveDate, Problem> {
    fixed_digits(text, 7, "a ROC date of 7 digits (YYYMMDD)")?;
    parse_roc(text).map_err(|_| Problem::NoSuchDate(text.to_owned()))
}

/// A time of exactly 6 digits, `093015`.
pub(crate) fn hhmmss(text: &str) -> Result<NaiveTime, Problem> {
    fixed_digits(text, 6, "a time of 6 digits (HHMMSS)")?;
    let n = |i: usize| text[i..i + 2].parse::<u32>().unwrap_or(99);
    NaiveTime::from_hms_opt(n(0), n(2), n(4)).ok_or_else(|| Problem::NoSuchDate(text.to_owned()))
}

/// A Western date, `2026/12/04`.
pub(crate) fn western_date(text: &str) -> Result<NaiveDate, Problem> {
    let b = text.as_bytes();
    let shape = b.len() == 10 && b[4] == b'/' && b[7] == b'/' && [0, 1, 2, 3, 5, 6, 8, 9].iter().all(|i| b[*i].is_ascii_digit());
    if !shape {
        return Err(format("a date like 2026/12/04", text));
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<u32>().unwrap_or(0);
    let date = NaiveDate::from_ymd_opt(n(0..4) as i32, n(5..7), n(8..10)).ok_or_else(|| Problem::NoSuchDate(text.to_owned()))?;
    check_year(date, text)
}

/// A time `09:30:15`.
pub(crate) fn colon_time(text: &str) -> Result<NaiveTime, Problem> {
    let b = text.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return Err(format("a time like 09:30:15", text));
    }
    hhmmss(&format!("{}{}{}", &text[0..2], &text[3..5], &text[6..8])).map_err(|_| format("a time like 09:30:15", text))
}

/// An amount of whole dollars from its digits: 1..=`MAX_AMOUNT`.
pub(crate) fn dollars(digits: &str, shown: &str) -> Result<Ntd, Problem> {
    // Leading zeros are allowed; more than 18 significant digits cannot be an i64.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 18 {
        return Err(Problem::TooLarge(shown.to_owned()));
    }
    let value: i64 = if significant.is_empty() { 0 } else { significant.parse().map_err(|_| format("an amount", shown))? };
    match value {
        0 => Err(Problem::Zero),
        v if v > MAX_AMOUNT => Err(Problem::TooLarge(shown.to_owned())),
        v => Ok(Ntd(v)),
    }
}

/// Reads records in order into a statement: the header first, details, the trailer last, serials
/// unique, the trailer's count and total equal to the details'.
pub(crate) fn assemble(records: Vec<(usize, Record)>) -> Result<Statement, (usize, Option<&'static str>, Problem)> {
    let mut records = records.into_iter();
    let Some((_, Record::Header { bank_code, bank_name, account, date })) = records.next() else {
        return Err((1, None, Problem::Structure("the first record must be the header")));
    };
    let mut deposits = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut total = Ntd::ZERO;
    let mut last_line = 1;
    while let Some((line, record)) = records.next() {
        last_line = line;
        match record {
            Record::Header { .. } => return Err((line, None, Problem::Structure("a second header"))),
            Record::Detail(d) => {
                if let Some(first_line) = seen.insert(d.serial.clone(), line) {
                    return Err((line, Some("serial"), Problem::DuplicateSerial { serial: d.serial, first_line }));
                }
                total = total.add(d.amount).map_err(|_| (line, Some("amount"), Problem::TooLarge(total.to_string())))?;
                deposits.push(d);
            }
            Record::Trailer { count, total: stated } => {
                if let Some((after, _)) = records.next() {
                    return Err((after, None, Problem::Structure("a record after the trailer")));
                }
                if count != deposits.len() as i64 {
                    return Err((line, Some("count"), Problem::Count { stated: count, found: deposits.len() }));
                }
                if stated != total {
                    return Err((line, Some("total"), Problem::Total { stated, found: total }));
                }
                return Ok(Statement { bank_code, bank_name, account, date, deposits });
            }
        }
    }
    Err((last_line, None, Problem::Structure("no trailer record at the end")))
}

/// Checks `statement` against the rules the parsers apply, so that what is written reads back
/// the same: every value valid, text already trimmed, times to the second, serials unique, count
/// and total within the trailer's fields.
pub(crate) fn check(statement: &Statement) -> Result<(), WriteError> {
    let fail = |record: &str, field: &'static str, problem: Problem| WriteError { record: record.to_owned(), field, problem };
    let same = |value: &str, read: Result<String, Problem>| -> Result<(), Problem> {
        match read {
            Ok(v) if v == value => Ok(()),
            Ok(_) => Err(format("text without surrounding spaces", value)),
            Err(p) => Err(p),
        }
    };
    let date = |d: NaiveDate| check_year(d, &d.to_string()).map(|_| ());
    fixed_digits(&statement.bank_code, 3, "a bank code of 3 digits").map_err(|p| fail("header", "bank_code", p))?;
    same(&statement.bank_name, text(&statement.bank_name, BANK_NAME_BYTES)).map_err(|p| fail("header", "bank_name", p))?;
    same(&statement.account, some_digits(&statement.account, 14, "an account of 1 to 14 digits")).map_err(|p| fail("header", "account", p))?;
    date(statement.date).map_err(|p| fail("header", "date", p))?;
    let mut seen = HashMap::new();
    for (i, d) in statement.deposits.iter().enumerate() {
        let record = format!("deposit {i}");
        let f = |field, p| fail(&record, field, p);
        same(&d.serial, serial(&d.serial)).map_err(|p| f("serial", p))?;
        if let Some(first) = seen.insert(d.serial.as_str(), i) {
            return Err(f("serial", Problem::DuplicateSerial { serial: d.serial.clone(), first_line: first }));
        }
        date(d.paid_at.date()).map_err(|p| f("paid_at", p))?;
        if d.paid_at.nanosecond() != 0 {
            return Err(f("paid_at", format("a time to the second", &d.paid_at.to_string())));
        }
        date(d.value_date).map_err(|p| f("value_date", p))?;
        same(&d.account, some_digits(&d.account, 16, "a virtual account of 1 to 16 digits")).map_err(|p| f("account", p))?;
        match d.amount.0 {
            0 => return Err(f("amount", Problem::Zero)),
            a if a < 0 => return Err(f("amount", Problem::Negative(a.to_string()))),
            a if a > MAX_AMOUNT => return Err(f("amount", Problem::TooLarge(a.to_string()))),
            _ => {}
        }
        same(&d.payer_name, text(&d.payer_name, NAME_BYTES)).map_err(|p| f("payer_name", p))?;
        same(&d.payer_bank, payer_bank(&d.payer_bank)).map_err(|p| f("payer_bank", p))?;
        same(&d.payer_account, payer_account(&d.payer_account)).map_err(|p| f("payer_account", p))?;
        same(&d.memo, text(&d.memo, MEMO_BYTES)).map_err(|p| f("memo", p))?;
    }
    if statement.deposits.len() > MAX_COUNT {
        return Err(fail("trailer", "count", Problem::TooLarge(statement.deposits.len().to_string())));
    }
    match statement.total() {
        Some(t) if t.0 <= MAX_TOTAL => Ok(()),
        _ => Err(fail("trailer", "total", Problem::TooLarge("the total".into()))),
    }
}

/// A deposit's fields as read from text, shared by both layouts' detail records.
pub(crate) struct DetailText<'a> {
    pub serial: &'a str,
    pub account: &'a str,
    pub payer_name: &'a str,
    pub payer_bank: &'a str,
    pub payer_account: &'a str,
    pub memo: &'a str,
}

impl DetailText<'_> {
    /// The deposit, given its already-read dates and amount; the error names the field.
    pub(crate) fn deposit(self, paid_at: chrono::NaiveDateTime, value_date: NaiveDate, amount: Ntd) -> Result<Deposit, (&'static str, Problem)> {
        Ok(Deposit {
            serial: serial(self.serial.trim_matches(' ')).map_err(|p| ("serial", p))?,
            paid_at,
            value_date,
            account: some_digits(self.account.trim_matches(' '), 16, "a virtual account of 1 to 16 digits").map_err(|p| ("account", p))?,
            amount,
            payer_name: text(self.payer_name, NAME_BYTES).map_err(|p| ("payer_name", p))?,
            payer_bank: payer_bank(self.payer_bank.trim_matches(' ')).map_err(|p| ("payer_bank", p))?,
            payer_account: payer_account(self.payer_account.trim_matches(' ')).map_err(|p| ("payer_account", p))?,
            memo: text(self.memo, MEMO_BYTES).map_err(|p| ("memo", p))?,
        })
    }
}
