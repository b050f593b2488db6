//! Reading the text of a row's fields into values, one column after another in the table's
//! order ([`Cursor`]), and writing values back as the old program writes them.

use super::{FieldError, Problem};
use crate::big5;
use crate::record::{LatLon, Stamp, CUSTOMER_NO_LEN, MAX_AMOUNT, SERIAL_LEN};
use crate::schema::{ColumnType, Table};
use chrono::{NaiveDate, NaiveTime, Timelike};
use einvoice::calendar::{format_roc, parse_roc, RocStyle};
use einvoice::money::Ntd;

/// Reads the fields of one row in column order; each read names its column in its error.
pub(crate) struct Cursor<'a, S> {
    table: &'static Table,
    fields: &'a [S],
    next: usize,
}

type Read<T> = Result<T, FieldError>;

fn format(expected: &'static str, found: &str) -> Problem {
    Problem::Format { expected, found: found.to_owned() }
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

impl<'a, S: AsRef<str>> Cursor<'a, S> {
    /// A cursor over `fields`, which must have one field per column of `table`.
    pub(crate) fn new(table: &'static Table, fields: &'a [S]) -> Read<Self> {
        if fields.len() != table.columns.len() {
            return Err(FieldError { index: None, field: None, problem: Problem::FieldCount { expected: table.columns.len(), found: fields.len() } });
        }
        Ok(Cursor { table, fields, next: 0 })
    }

    /// The next field's index and trimmed text.
    fn take(&mut self) -> (usize, &'a str) {
        let i = self.next;
        self.next += 1;
        (i, self.fields.get(i).map_or("", |f| f.as_ref().trim_matches(' ')))
    }

    fn fail(&self, i: usize, problem: Problem) -> FieldError {
        FieldError { index: Some(i), field: self.table.columns.get(i).map(|c| c.name), problem }
    }

    /// Text of at most the column's width in Big5 bytes, without control characters; may be empty.
    pub(crate) fn text(&mut self) -> Read<String> {
        let (i, t) = self.take();
        self.check_text(i, t).map(str::to_owned)
    }

    fn check_text<'t>(&self, i: usize, t: &'t str) -> Read<&'t str> {
        if let Some(c) = t.chars().find(|c| c.is_control()) {
            return Err(self.fail(i, Problem::ControlCharacter(c)));
        }
        let found = big5::len(t).map_err(|c| self.fail(i, Problem::NotBig5(c)))?;
        let max = match self.table.columns.get(i).map(|c| c.ty) {
            Some(ColumnType::Char(n) | ColumnType::VarChar(n)) => n,
            _ => usize::MAX,
        };
        if found > max {
            return Err(self.fail(i, Problem::TooLong { max, found }));
        }
        Ok(t)
    }

    /// Text as [`Cursor::text`], not empty.
    pub(crate) fn required_text(&mut self) -> Read<String> {
        let (i, t) = self.take();
        if t.is_empty() {
            return Err(self.fail(i, Problem::Required));
        }
        self.check_text(i, t).map(str::to_owned)
    }

    /// A one-character code read by `parse`.
    pub(crate) fn code<T>(&mut self, parse: fn(&str) -> Option<T>, allowed: &'static str) -> Read<T> {
        let (i, t) = self.take();
        parse(t).ok_or_else(|| self.fail(i, Problem::UnknownCode { found: t.to_owned(), allowed }))
    }

    /// `Y` or `N`.
    pub(crate) fn flag(&mut self) -> Read<bool> {
        let (i, t) = self.take();
        match t {
            "Y" => Ok(true),
            "N" => Ok(false),
            _ => Err(self.fail(i, Problem::UnknownCode { found: t.to_owned(), allowed: "Y or N" })),
        }
    }

    /// A compact ROC date of exactly seven digits, `1151204`.
    pub(crate) fn date(&mut self) -> Read<NaiveDate> {
        let (i, t) = self.take();
        if t.len() != 7 || !all_digits(t) {
            return Err(self.fail(i, format("a ROC date of 7 digits (YYYMMDD)", t)));
        }
        parse_roc(t).map_err(|_| self.fail(i, Problem::NoSuchDate(t.to_owned())))
    }

    /// A time of exactly six (`HHMMSS`) or four (`HHMM`) digits.
    pub(crate) fn time(&mut self, digits: usize) -> Read<NaiveTime> {
        let (i, t) = self.take();
        let expected = if digits == 6 { "a time of 6 digits (HHMMSS)" } else { "a time of 4 digits (HHMM)" };
        if t.len() != digits || !all_digits(t) {
            return Err(self.fail(i, format(expected, t)));
        }
        let n = |k: usize| t.get(k..k + 2).and_then(|s| s.parse::<u32>().ok()).unwrap_or(99);
        let seconds = if digits == 6 { n(4) } else { 0 };
        NaiveTime::from_hms_opt(n(0), n(2), seconds).ok_or_else(|| self.fail(i, Problem::NoSuchTime(t.to_owned())))
    }

    /// A whole number in `min..=max`: ASCII digits with an optional leading `-`.
    pub(crate) fn number(&mut self, min: i64, max: i64) -> Read<i64> {
        let (i, t) = self.take();
        let digits = t.strip_prefix('-').unwrap_or(t);
        if !all_digits(digits) {
            return Err(self.fail(i, format("a whole number", t)));
        }
        let significant = digits.trim_start_matches('0');
        let magnitude = match significant.len() {
            0 => Some(0),
            1..=12 => significant.parse::<i64>().ok(),
            _ => None,
        };
        let negative = t.starts_with('-') && magnitude != Some(0);
        if negative && min >= 0 {
            return Err(self.fail(i, Problem::Negative(t.to_owned())));
        }
        match magnitude.map(|m| if negative { -m } else { m }) {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(self.fail(i, Problem::OutOfRange { found: t.to_owned(), min, max })),
        }
    }

    /// A count 0..=`max` (`SMALLINT` quantities).
    pub(crate) fn count(&mut self, max: u16) -> Read<u16> {
        self.number(0, i64::from(max)).map(|v| u16::try_from(v).unwrap_or(max))
    }

    /// An amount of whole NT$, 0..=[`MAX_AMOUNT`].
    pub(crate) fn amount(&mut self) -> Read<Ntd> {
        self.number(0, MAX_AMOUNT).map(Ntd)
    }

    /// `C` and four digits.
    pub(crate) fn customer_no(&mut self) -> Read<String> {
        let (i, t) = self.take();
        if t.len() == CUSTOMER_NO_LEN && t.starts_with('C') && all_digits(&t[1..]) {
            Ok(t.to_owned())
        } else {
            Err(self.fail(i, format("a customer number like C0001", t)))
        }
    }

    /// Eleven digits (order and delivery numbers).
    pub(crate) fn serial(&mut self) -> Read<String> {
        let (i, t) = self.take();
        if t.len() == SERIAL_LEN && all_digits(t) {
            Ok(t.to_owned())
        } else {
            Err(self.fail(i, format("a number of 11 digits like 11512040001", t)))
        }
    }

    /// `LAT` then `LON`: both empty, or both degrees with up to six decimals in range.
    pub(crate) fn position(&mut self) -> Read<Option<LatLon>> {
        let lat = self.coordinate(90)?;
        let lon = self.coordinate(180)?;
        match (lat, lon) {
            (Some(lat_e6), Some(lon_e6)) => Ok(Some(LatLon { lat_e6, lon_e6 })),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(self.fail(self.next - 2, Problem::Coordinates("LAT is empty but LON is not"))),
            (Some(_), None) => Err(self.fail(self.next - 1, Problem::Coordinates("LON is empty but LAT is not"))),
        }
    }

    /// Degrees in −`max_degrees`..=`max_degrees` as microdegrees; `None` when empty. Decimals past
    /// the sixth are rounded half away from zero.
    fn coordinate(&mut self, max_degrees: i64) -> Read<Option<i32>> {
        let (i, t) = self.take();
        if t.is_empty() {
            return Ok(None);
        }
        let bad = || self.fail(i, format("degrees like 25.033012", t));
        let (negative, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (whole, decimals) = body.split_once('.').unwrap_or((body, ""));
        if !all_digits(whole) || whole.len() > 3 || decimals.len() > 15 || !decimals.bytes().all(|b| b.is_ascii_digit()) || body.ends_with('.') {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let mut micro: i64 = 0;
        for k in 0..6 {
            micro = micro * 10 + decimals.as_bytes().get(k).map_or(0, |b| i64::from(b - b'0'));
        }
        if decimals.as_bytes().get(6).is_some_and(|b| *b >= b'5') {
            micro += 1;
        }
        let value = whole * 1_000_000 + micro;
        if value > max_degrees * 1_000_000 {
            return Err(self.fail(i, Problem::Coordinates("a coordinate outside the globe")));
        }
        Ok(Some(if negative { -value } else { value } as i32))
    }

    /// `UPD_DT`, `UPD_TM`, `UPD_USER`.
    pub(crate) fn stamp(&mut self) -> Read<Stamp> {
        Ok(Stamp { date: self.date()?, time: self.time(6)?, user: self.text()? })
    }
}

/// A date as the old program writes it, `1151204`; dates outside ROC years 1..=999 cannot be
/// written and give `0000000` (which reads back as an error, so [`super::write`] refuses it).
pub(crate) fn roc(date: NaiveDate) -> String {
    format_roc(date, RocStyle::Compact).unwrap_or_else(|_| "0000000".into())
}

/// `HHMMSS`.
pub(crate) fn hhmmss(time: NaiveTime) -> String {
    format!("{:02}{:02}{:02}", time.hour(), time.minute(), time.second())
}

/// `HHMM`.
pub(crate) fn hhmm(time: NaiveTime) -> String {
    format!("{:02}{:02}", time.hour(), time.minute())
}

/// Microdegrees as degrees with six decimals.
pub(crate) fn degrees(e6: i32) -> String {
    let sign = if e6 < 0 { "-" } else { "" };
    let v = e6.unsigned_abs();
    format!("{sign}{}.{:06}", v / 1_000_000, v % 1_000_000)
}

/// `Y` or `N`.
pub(crate) fn flag(value: bool) -> String {
    if value { "Y" } else { "N" }.into()
}

/// The three stamp fields.
pub(crate) fn stamp(s: &Stamp) -> [String; 3] {
    [roc(s.date), hhmmss(s.time), s.user.clone()]
}
