//! The fixed-width text layout: records of 150 bytes counted in Big5, one per line, ROC dates.
//!
//! Columns are Big5 byte positions, as the banks cut them: a Chinese character takes two. A Big5
//! file is cut as it is; a UTF-8 file is cut as if it were in Big5 (each ASCII character one
//! byte, every other character two), so the same statement has the same columns in both
//! encodings and a bank's Big5 file converted to UTF-8 still reads. A boundary that falls inside
//! a character is an error, and so is a character that Big5 lacks.
//!
//! | record | columns (1-based, bytes) |
//! | --- | --- |
//! | header `1` | 1 type · 2–4 bank code · 5–24 bank name · 25–38 collection account · 39–45 statement date (ROC `YYYMMDD`) · 46–150 spaces |
//! | detail `2` | 1 type · 2–8 paid date (ROC) · 9–14 paid time `HHMMSS` · 15–21 value date (ROC) · 22–37 virtual account · 38 sign `+` (`-` is a reversal: refused) · 39–51 amount, 13 digits of which the last two are cents (must be `00`) · 52–58 payer bank (3 or 7 digits, or spaces) · 59–74 payer account (masked) · 75–114 payer name · 115–130 serial · 131–150 memo |
//! | trailer `9` | 1 type · 2–8 count · 9–23 total, 15 digits of which the last two are cents · 24–150 spaces |
//!
//! Text fields are left-aligned and padded with spaces, numbers zero-padded. A detail line (the
//! memo's padding, 8 spaces, cut here):
//!
//! ```text
//! 2115120409301511512049527120418000421+00000001380000081234****5678        王小明                                  TX20261204000001十二月瓦斯費
//! ```

use super::encoding::{big5_len, big5_width, Line};
use super::fields::{self, DetailText};
use super::{Problem, Record, Records, Statement, WriteError};
use chrono::NaiveDate;
use einvoice::calendar::{format_roc, RocStyle};
use einvoice::money::Ntd;

/// Every record's length in Big5 bytes.
pub const RECORD_BYTES: usize = 150;

/// A column: its name, 0-based start and width, in Big5 bytes.
struct Column(&'static str, usize, usize);

const HEADER: [Column; 6] = [
    Column("record_type", 0, 1),
    Column("bank_code", 1, 3),
    Column("bank_name", 4, 20),
    Column("account", 24, 14),
    Column("date", 38, 7),
    Column("filler", 45, 105),
];

const DETAIL: [Column; 12] = [
    Column("record_type", 0, 1),
    Column("paid_date", 1, 7),
    Column("paid_time", 8, 6),
    Column("value_date", 14, 7),
    Column("account", 21, 16),
    Column("sign", 37, 1),
    Column("amount", 38, 13),
    Column("payer_bank", 51, 7),
    Column("payer_account", 58, 16),
    Column("payer_name", 74, 40),
    Column("serial", 114, 16),
    Column("memo", 130, 20),
];

const TRAILER: [Column; 4] = [Column("record_type", 0, 1), Column("count", 1, 7), Column("total", 8, 15), Column("filler", 23, 127)];

type Fail = (usize, Option<usize>, Option<&'static str>, Problem);
/// Where in a record cutting failed: the column and field, where known, and the problem.
type CutFail = (Option<usize>, Option<&'static str>, Problem);

/// Cuts `text` into `columns` (which tile the record), checking its Big5 length.
fn cut<'a>(text: &'a str, columns: &[Column]) -> Result<Vec<&'a str>, CutFail> {
    let found = big5_len(text).map_err(|c| {
        let column = text.chars().take_while(|x| *x != c).map(|x| big5_width(x).unwrap_or(2)).sum::<usize>() + 1;
        (Some(column), None, Problem::NotBig5(c))
    })?;
    if found != RECORD_BYTES {
        return Err((None, None, Problem::RecordLength { expected: RECORD_BYTES, found }));
    }
    if text.is_ascii() {
        return Ok(columns.iter().map(|Column(_, start, width)| &text[*start..start + width]).collect());
    }
    // Walk the characters, with `offset` the Big5 byte position and `at` the UTF-8 one.
    let mut out = Vec::with_capacity(columns.len());
    let mut chars = text.char_indices().peekable();
    let mut offset = 0;
    for Column(name, start, width) in columns {
        let from = chars.peek().map_or(text.len(), |(i, _)| *i);
        debug_assert_eq!(offset, *start);
        while offset < start + width {
            let Some((_, c)) = chars.next() else { break };
            // The whole line has a Big5 form (checked above): two bytes for every non-ASCII one.
            offset += if c.is_ascii() { 1 } else { 2 };
        }
        if offset > start + width {
            // A two-byte character from the field's last byte on: its 1-based column is the
            // field's 0-based end.
            return Err((Some(start + width), Some(name), Problem::SplitCharacter));
        }
        let to = chars.peek().map_or(text.len(), |(i, _)| *i);
        out.push(&text[from..to]);
    }
    Ok(out)
}

fn column_of(columns: &[Column], field: &'static str) -> Option<usize> {
    columns.iter().find(|c| c.0 == field).map(|c| c.1 + 1)
}

/// Reads every line into a record.
pub(crate) fn records(lines: &[Line]) -> Records {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        out.push((line.number, record(line)?));
    }
    Ok(out)
}

fn record(line: &Line) -> Result<Record, Fail> {
    let n = line.number;
    let columns: &[Column] = match line.text.as_bytes().first() {
        Some(b'1') => &HEADER,
        Some(b'2') => &DETAIL,
        Some(b'9') => &TRAILER,
        None => return Err((n, None, None, Problem::Structure("an empty line"))),
        Some(_) => return Err((n, Some(1), Some("record_type"), Problem::RecordType(line.text.chars().take(1).collect()))),
    };
    let parts = cut(&line.text, columns).map_err(|(column, field, p)| (n, column, field, p))?;
    let fail = |field: &'static str, p: Problem| (n, column_of(columns, field), Some(field), p);
    let read = |i: usize| parts[i];
    let filler = |i: usize| {
        if read(i).bytes().all(|b| b == b' ') {
            Ok(())
        } else {
            Err(fail("filler", Problem::Format { expected: "spaces", found: read(i).to_owned() }))
        }
    };
    match columns.len() {
        6 => {
            filler(5)?;
            Ok(Record::Header {
                bank_code: fields::fixed_digits(read(1), 3, "a bank code of 3 digits").map_err(|p| fail("bank_code", p))?.to_owned(),
                bank_name: fields::text(read(2), super::BANK_NAME_BYTES).map_err(|p| fail("bank_name", p))?,
                account: fields::some_digits(read(3).trim_end_matches(' '), 14, "an account of 1 to 14 digits").map_err(|p| fail("account", p))?,
                date: fields::roc_date(read(4)).map_err(|p| fail("date", p))?,
            })
        }
        4 => {
            filler(3)?;
            let count = fields::fixed_digits(read(1), 7, "a count of 7 digits").map_err(|p| fail("count", p))?;
            Ok(Record::Trailer { count: count.parse().unwrap_or(0), total: cents_field(read(2), 15, true).map_err(|p| fail("total", p))? })
        }
        _ => {
            let paid_date = fields::roc_date(read(1)).map_err(|p| fail("paid_date", p))?;
            let paid_time = fields::hhmmss(read(2)).map_err(|p| fail("paid_time", p))?;
            let value_date = fields::roc_date(read(3)).map_err(|p| fail("value_date", p))?;
            match read(5) {
                "+" => {}
                "-" => return Err(fail("sign", Problem::Negative(format!("-{}", read(6))))),
                other => return Err(fail("sign", Problem::Format { expected: "the sign '+'", found: other.to_owned() })),
            }
            let amount = cents_field(read(6), 13, false).map_err(|p| fail("amount", p))?;
            let text = DetailText { serial: read(10), account: read(4), payer_name: read(9), payer_bank: read(7), payer_account: read(8), memo: read(11) };
            Ok(Record::Detail(text.deposit(paid_date.and_time(paid_time), value_date, amount).map_err(|(f, p)| fail(f, p))?))
        }
    }
}

/// A zero-padded amount of `len` digits whose last two are cents, which must be `00`. A total
/// (`total`) may be zero and is limited only by its width.
fn cents_field(text: &str, len: usize, total: bool) -> Result<Ntd, Problem> {
    let expected = if total { "a total of 15 digits (the last two cents)" } else { "an amount of 13 digits (the last two cents)" };
    fields::fixed_digits(text, len, expected)?;
    if &text[len - 2..] != "00" {
        return Err(Problem::Cents(text.to_owned()));
    }
    let whole = &text[..len - 2];
    if total {
        return Ok(Ntd(whole.parse().unwrap_or(0)));
    }
    fields::dollars(whole, text)
}

/// Left-aligns `text` in `width` Big5 bytes (the caller checked it fits).
fn pad(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    let used = big5_len(text).unwrap_or(width);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
}

fn roc(date: NaiveDate, record: &str, field: &'static str) -> Result<String, WriteError> {
    format_roc(date, RocStyle::Compact).map_err(|_| WriteError { record: record.to_owned(), field, problem: Problem::NoSuchDate(date.to_string()) })
}

/// Writes a checked statement (see [`super::write`]).
pub(crate) fn write(s: &Statement) -> Result<String, WriteError> {
    let mut out = String::with_capacity((s.deposits.len() + 2) * (RECORD_BYTES + 2));
    out.push('1');
    out.push_str(&s.bank_code);
    pad(&mut out, &s.bank_name, 20);
    pad(&mut out, &s.account, 14);
    out.push_str(&roc(s.date, "header", "date")?);
    pad(&mut out, "", 105);
    out.push_str("\r\n");
    for (i, d) in s.deposits.iter().enumerate() {
        let record = format!("deposit {i}");
        out.push('2');
        out.push_str(&roc(d.paid_at.date(), &record, "paid_at")?);
        out.push_str(&d.paid_at.format("%H%M%S").to_string());
        out.push_str(&roc(d.value_date, &record, "value_date")?);
        pad(&mut out, &d.account, 16);
        out.push('+');
        out.push_str(&format!("{:011}00", d.amount.0));
        pad(&mut out, &d.payer_bank, 7);
        pad(&mut out, &d.payer_account, 16);
        pad(&mut out, &d.payer_name, 40);
        pad(&mut out, &d.serial, 16);
        pad(&mut out, &d.memo, 20);
        out.push_str("\r\n");
    }
    let total = s.total().unwrap_or(Ntd::ZERO);
    out.push_str(&format!("9{:07}{:013}00", s.deposits.len(), total.0));
    pad(&mut out, "", 127);
    out.push_str("\r\n");
    Ok(out)
}
