//! The CSV layout: comma-separated records (RFC 4180 quoting, one record per line), Western dates,
//! amounts with or without thousands separators.
//!
//! | record | fields |
//! | --- | --- |
//! | header `H` | bank code · bank name · collection account · statement date `2026/12/04` |
//! | detail `D` | paid at `2026/12/04 09:30:15` · value date · virtual account · amount · payer name · payer bank · payer account (masked) · serial · memo |
//! | trailer `T` | count · total |
//!
//! Amounts are whole dollars: `1380`, `1,380` (quoted, as spreadsheets write it), `1380.00`;
//! cents other than zero, a minus sign, or more than [`super::MAX_AMOUNT`] are refused. A quoted
//! field may hold commas and doubled quotes, not line breaks. A detail line:
//!
//! ```text
//! D,2026/12/04 09:30:15,2026/12/04,9527120418000421,1380,王小明,0081234,****5678,TX20261204000001,十二月瓦斯費
//! ```

use super::encoding::Line;
use super::fields::{self, DetailText, MAX_TOTAL};
use super::{Problem, Record, Records, Statement, WriteError};
use einvoice::money::Ntd;

type Fail = (usize, Option<usize>, Option<&'static str>, Problem);

/// Splits a line into its fields with each one's 1-based byte column.
fn split(line: &str) -> Result<Vec<(String, usize)>, (usize, Problem)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let column = i + 1;
        if b.get(i) == Some(&b'"') {
            let mut value = String::new();
            let mut j = i + 1;
            loop {
                // Find the next quote; everything before it is the field's (UTF-8 boundaries are
                // safe: '"' is ASCII).
                let Some(q) = line[j..].find('"') else { return Err((column, Problem::Quoting)) };
                value.push_str(&line[j..j + q]);
                j += q + 1;
                if b.get(j) == Some(&b'"') {
                    value.push('"');
                    j += 1;
                } else {
                    break;
                }
            }
            out.push((value, column));
            match b.get(j) {
                None => return Ok(out),
                Some(b',') => i = j + 1,
                Some(_) => return Err((j + 1, Problem::Quoting)),
            }
        } else {
            let end = line[i..].find(',').map_or(line.len(), |k| i + k);
            let value = &line[i..end];
            if let Some(k) = value.find('"') {
                return Err((i + k + 1, Problem::Quoting));
            }
            out.push((value.to_owned(), column));
            if end == line.len() {
                return Ok(out);
            }
            i = end + 1;
        }
    }
}

/// Reads every line into a record.
pub(crate) fn records(lines: &[Line]) -> Records {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        out.push((line.number, record(line)?));
    }
    Ok(out)
}

const HEADER: [&str; 5] = ["record_type", "bank_code", "bank_name", "account", "date"];
const DETAIL: [&str; 10] = ["record_type", "paid_at", "value_date", "account", "amount", "payer_name", "payer_bank", "payer_account", "serial", "memo"];
const TRAILER: [&str; 3] = ["record_type", "count", "total"];

fn record(line: &Line) -> Result<Record, Fail> {
    let n = line.number;
    if line.text.is_empty() {
        return Err((n, None, None, Problem::Structure("an empty line")));
    }
    let parts = split(&line.text).map_err(|(column, p)| (n, Some(column), None, p))?;
    let names: &[&'static str] = match parts[0].0.as_str() {
        "H" => &HEADER,
        "D" => &DETAIL,
        "T" => &TRAILER,
        other => return Err((n, Some(1), Some("record_type"), Problem::RecordType(other.to_owned()))),
    };
    if parts.len() != names.len() {
        return Err((n, None, None, Problem::FieldCount { expected: names.len(), found: parts.len() }));
    }
    let columns: Vec<usize> = parts.iter().map(|(_, c)| *c).collect();
    let columns = &columns;
    let fail = |i: usize| move |p: Problem| (n, Some(columns[i]), Some(names[i]), p);
    let at = |i: usize| parts[i].0.as_str();
    match names.len() {
        5 => Ok(Record::Header {
            bank_code: fields::fixed_digits(at(1), 3, "a bank code of 3 digits").map_err(fail(1))?.to_owned(),
            bank_name: fields::text(at(2), super::BANK_NAME_BYTES).map_err(fail(2))?,
            account: fields::some_digits(at(3), 14, "an account of 1 to 14 digits").map_err(fail(3))?,
            date: fields::western_date(at(4)).map_err(fail(4))?,
        }),
        3 => {
            let count = fields::some_digits(at(1), 7, "a count of up to 7 digits").map_err(fail(1))?;
            Ok(Record::Trailer { count: count.parse().unwrap_or(0), total: amount(at(2), true).map_err(fail(2))? })
        }
        _ => {
            let paid_at = at(1);
            let (date, time) =
                paid_at.split_once(' ').ok_or_else(|| fail(1)(Problem::Format { expected: "a time like 2026/12/04 09:30:15", found: paid_at.to_owned() }))?;
            let paid_at = fields::western_date(date).and_then(|d| Ok(d.and_time(fields::colon_time(time)?))).map_err(fail(1))?;
            let value_date = fields::western_date(at(2)).map_err(fail(2))?;
            let amount = amount(at(4), false).map_err(fail(4))?;
            let text = DetailText { serial: at(8), account: at(3), payer_name: at(5), payer_bank: at(6), payer_account: at(7), memo: at(9) };
            let deposit = text.deposit(paid_at, value_date, amount).map_err(|(field, p)| {
                let i = names.iter().position(|x| *x == field).unwrap_or(0);
                (n, Some(parts[i].1), Some(field), p)
            })?;
            Ok(Record::Detail(deposit))
        }
    }
}

/// An amount: digits, optionally grouped by commas in threes, optionally `.` and zeros. A trailer
/// total (`total`) may be zero and be up to 13 digits.
fn amount(text: &str, total: bool) -> Result<Ntd, Problem> {
    let bad = || Problem::Format { expected: "an amount like 1380, 1,380 or 1380.00", found: text.to_owned() };
    if text.starts_with('-') {
        return Err(Problem::Negative(text.to_owned()));
    }
    let (whole, cents) = text.split_once('.').unwrap_or((text, ""));
    if text.contains('.') && (cents.is_empty() || cents.len() > 2 || !cents.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped_ok = groups.len() == 1 || ((1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|g| g.len() == 3));
    if whole.is_empty() || !grouped_ok || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    if cents.bytes().any(|b| b != b'0') {
        return Err(Problem::Cents(text.to_owned()));
    }
    let digits: String = groups.concat();
    if !total {
        return fields::dollars(&digits, text);
    }
    let significant = digits.trim_start_matches('0');
    match significant.parse::<i64>() {
        _ if significant.is_empty() => Ok(Ntd::ZERO),
        Ok(v) if v <= MAX_TOTAL => Ok(Ntd(v)),
        _ => Err(Problem::TooLarge(text.to_owned())),
    }
}

/// A field, quoted when it holds a comma or a quote.
fn field(out: &mut String, value: &str) {
    out.push(',');
    if value.contains([',', '"']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

/// Writes a checked statement (see [`super::write`]).
pub(crate) fn write(s: &Statement) -> Result<String, WriteError> {
    let mut out = String::with_capacity((s.deposits.len() + 2) * 120);
    out.push('H');
    field(&mut out, &s.bank_code);
    field(&mut out, &s.bank_name);
    field(&mut out, &s.account);
    field(&mut out, &s.date.format("%Y/%m/%d").to_string());
    out.push_str("\r\n");
    for d in &s.deposits {
        out.push('D');
        field(&mut out, &d.paid_at.format("%Y/%m/%d %H:%M:%S").to_string());
        field(&mut out, &d.value_date.format("%Y/%m/%d").to_string());
        field(&mut out, &d.account);
        field(&mut out, &d.amount.0.to_string());
        field(&mut out, &d.payer_name);
        field(&mut out, &d.payer_bank);
        field(&mut out, &d.payer_account);
        field(&mut out, &d.serial);
        field(&mut out, &d.memo);
        out.push_str("\r\n");
    }
    out.push('T');
    field(&mut out, &s.deposits.len().to_string());
    field(&mut out, &s.total().unwrap_or(Ntd::ZERO).0.to_string());
    out.push_str("\r\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_fields_with_commas_and_doubled_quotes() {
        let got = split(r#"D,"1,380","say ""hi""",,x"#).unwrap();
        let values: Vec<&str> = got.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(values, ["D", "1,380", r#"say "hi""#, "", "x"]);
        assert_eq!(got.iter().map(|(_, c)| *c).collect::<Vec<_>>(), [1, 3, 11, 24, 25]);
        assert_eq!(split(r#"a,"open"#), Err((3, Problem::Quoting)));
        assert_eq!(split(r#"a,"x"y"#), Err((6, Problem::Quoting)));
        assert_eq!(split(r#"a,b"c"#), Err((4, Problem::Quoting)));
    }

    #[test]
    fn amounts_are_whole_dollars() {
        assert_eq!(amount("1380", false), Ok(Ntd(1380)));
        assert_eq!(amount("1,380", false), Ok(Ntd(1380)));
        assert_eq!(amount("1,234,567.00", false), Ok(Ntd(1_234_567)));
        assert_eq!(amount("1380.0", false), Ok(Ntd(1380)));
        assert_eq!(amount("1380.50", false), Err(Problem::Cents("1380.50".into())));
        assert_eq!(amount("-5", false), Err(Problem::Negative("-5".into())));
        assert_eq!(amount("0", false), Err(Problem::Zero));
        assert_eq!(amount("0", true), Ok(Ntd::ZERO));
        assert_eq!(amount("100000000000", false), Err(Problem::TooLarge("100000000000".into())));
        assert_eq!(amount("99999999999999999999999", false), Err(Problem::TooLarge("99999999999999999999999".into())));
        for bad in ["", "1,38", "12,3456", ",123", "1.", "1.000", "1e3", "+5", " 5", "1_000", "１"] {
            assert!(matches!(amount(bad, false), Err(Problem::Format { .. })), "{bad:?} -> {:?}", amount(bad, false));
        }
    }
}
