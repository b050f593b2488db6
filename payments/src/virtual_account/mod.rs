//! Virtual accounts (虛擬帳號): the account number a bank opens for each customer (and due date)
//! under the company's collection account, so that a deposit names who paid.
//!
//! A number is built by a bank [`Layout`] (data, not code: see [`layout`]) and carries a check
//! digit ([`check`]). [`generate`] builds a customer's number for a due date; [`parse`] validates
//! a typed or imported one and says what is wrong: its length, a character that is not a digit,
//! the company code, the check digit, the due date, in that order.
//!
//! Uniqueness: within a layout a number is a function of (customer, due date) and both are
//! written into it digit for digit, so two different pairs never give the same number; the
//! service keeps the numbers unique across customers by giving each customer its own sequence.

pub mod check;
pub mod layout;

pub use check::CheckScheme;
pub use layout::{DueFormat, Layout, LayoutError, Segment};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use einvoice::calendar::{format_roc, parse_roc, RocStyle};
use std::fmt;

/// The due date a number carries, as far as its layout writes it (Cathay's `MMDDHH` has no year).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DueStamp {
    /// The Gregorian year, for layouts that write one.
    pub year: Option<i32>,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month.
    pub day: u32,
    /// Hour of the deadline, 0..=23, for layouts that write one.
    pub hour: Option<u32>,
}

/// A valid virtual-account number of a layout, with what it says.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualAccount {
    digits: String,
    customer: u64,
    due: Option<DueStamp>,
}

impl VirtualAccount {
    /// The number, digits only.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// The customer's sequence number written into it.
    pub fn customer(&self) -> u64 {
        self.customer
    }

    /// The due date written into it, when the layout has one.
    pub fn due(&self) -> Option<DueStamp> {
        self.due
    }
}

impl fmt::Display for VirtualAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

/// Why a number was not generated or is not valid. [`VirtualAccountError::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VirtualAccountError {
    /// Wrong number of characters.
    #[error("a virtual account of layout {layout} has {expected} digits, this has {found} characters")]
    Length {
        /// The layout's name.
        layout: String,
        /// Digits the layout has.
        expected: usize,
        /// Characters found.
        found: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("a virtual account is digits only; character {position} is {found:?}")]
    NotDigit {
        /// 1-based position.
        position: usize,
        /// The character.
        found: char,
    },
    /// The company code (a fixed segment) is not the layout's.
    #[error("company code {found} is not this company's ({expected})")]
    CompanyCode {
        /// The layout's code.
        expected: String,
        /// The digits found there.
        found: String,
    },
    /// The check fails: a mistyped or made-up number.
    #[error("check digit {found} is wrong for this number (a typing mistake?)")]
    CheckDigit {
        /// The digit found.
        found: u8,
    },
    /// The due-date digits name no date (or hour).
    #[error("due date {found} is not a date in the form {format:?}")]
    Due {
        /// The digits.
        found: String,
        /// The layout's form.
        format: DueFormat,
    },
    /// The customer sequence does not fit the layout's customer digits.
    #[error("customer number {customer} does not fit in {digits} digits")]
    CustomerRange {
        /// The sequence.
        customer: u64,
        /// The layout's width.
        digits: usize,
    },
    /// The due date cannot be written (a ROC year outside 1..=999).
    #[error("due date {0} cannot be written in this layout")]
    DueRange(NaiveDateTime),
    /// Modulo 11 gives this number the check value 10: there is no such number; take another
    /// customer sequence or due hour.
    #[error("this customer number and due date have no check digit under modulus 11")]
    NoCheckDigit,
}

impl VirtualAccountError {
    /// A stable code for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            VirtualAccountError::Length { .. } => "virtual_account.length",
            VirtualAccountError::NotDigit { .. } => "virtual_account.not_digit",
            VirtualAccountError::CompanyCode { .. } => "virtual_account.company_code",
            VirtualAccountError::CheckDigit { .. } => "virtual_account.check_digit",
            VirtualAccountError::Due { .. } => "virtual_account.due",
            VirtualAccountError::CustomerRange { .. } => "virtual_account.customer_range",
            VirtualAccountError::DueRange(_) => "virtual_account.due_range",
            VirtualAccountError::NoCheckDigit => "virtual_account.no_check_digit",
        }
    }
}

/// Removes the spaces and hyphens people type between groups of digits (`9527-120418-00042-3`);
/// [`parse`] itself takes digits only.
pub fn normalize(text: &str) -> String {
    text.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

/// The number of `customer` with the deadline `due` (Taipei time) in `layout`. Layouts without a
/// due segment ignore `due`; `MMDDHH` keeps its hour, the others its date.
pub fn generate(layout: &Layout, customer: u64, due: NaiveDateTime) -> Result<VirtualAccount, VirtualAccountError> {
    let mut text = String::with_capacity(layout.len());
    let mut stamp = None;
    for (_, segment) in layout.placed() {
        match segment {
            Segment::Fixed { digits } => text.push_str(digits),
            Segment::Due { format } => {
                let (m, d, h) = (due.month(), due.day(), due.hour());
                match format {
                    DueFormat::MonthDayHour => text.push_str(&format!("{m:02}{d:02}{h:02}")),
                    DueFormat::MonthDay => text.push_str(&format!("{m:02}{d:02}")),
                    DueFormat::RocDate => text.push_str(&format_roc(due.date(), RocStyle::Compact).map_err(|_| VirtualAccountError::DueRange(due))?),
                }
                stamp = Some(stamp_of(*format, due));
            }
            Segment::Customer { digits } => {
                let written = format!("{customer:0digits$}");
                if written.len() != *digits {
                    return Err(VirtualAccountError::CustomerRange { customer, digits: *digits });
                }
                text.push_str(&written);
            }
            Segment::Check => text.push('0'),
        }
    }
    let mut digits: Vec<u8> = text.bytes().map(|b| b - b'0').collect();
    let at = layout.check_position();
    let c = layout.check().check_digit(&digits, at).ok_or(VirtualAccountError::NoCheckDigit)?;
    digits[at] = c;
    text.replace_range(at..at + 1, &c.to_string());
    Ok(VirtualAccount { digits: text, customer, due: stamp })
}

fn stamp_of(format: DueFormat, due: NaiveDateTime) -> DueStamp {
    let (month, day) = (due.month(), due.day());
    match format {
        DueFormat::MonthDayHour => DueStamp { year: None, month, day, hour: Some(due.hour()) },
        DueFormat::MonthDay => DueStamp { year: None, month, day, hour: None },
        DueFormat::RocDate => DueStamp { year: Some(due.year()), month, day, hour: None },
    }
}

/// Validates `text` as a number of `layout`: exactly the layout's digits, its company code, a
/// check digit that holds and a due date that exists (29 February is accepted where the layout
/// writes no year).
pub fn parse(layout: &Layout, text: &str) -> Result<VirtualAccount, VirtualAccountError> {
    let found = text.chars().count();
    if found != layout.len() {
        return Err(VirtualAccountError::Length { layout: layout.name().to_owned(), expected: layout.len(), found });
    }
    if let Some((i, c)) = text.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(VirtualAccountError::NotDigit { position: i + 1, found: c });
    }
    // All ASCII from here on: byte positions are digit positions.
    for (at, segment) in layout.placed() {
        if let Segment::Fixed { digits } = segment {
            let got = &text[at..at + digits.len()];
            if got != digits {
                return Err(VirtualAccountError::CompanyCode { expected: digits.clone(), found: got.to_owned() });
            }
        }
    }
    let digits: Vec<u8> = text.bytes().map(|b| b - b'0').collect();
    if !layout.check().holds(&digits) {
        return Err(VirtualAccountError::CheckDigit { found: digits[layout.check_position()] });
    }
    let mut customer = 0;
    let mut due = None;
    for (at, segment) in layout.placed() {
        let part = &text[at..at + segment.width()];
        match segment {
            // At most 18 digits: fits in a u64.
            Segment::Customer { .. } => customer = part.parse().unwrap_or(0),
            Segment::Due { format } => {
                due = Some(parse_due(*format, part).ok_or_else(|| VirtualAccountError::Due { found: part.to_owned(), format: *format })?)
            }
            Segment::Fixed { .. } | Segment::Check => {}
        }
    }
    Ok(VirtualAccount { digits: text.to_owned(), customer, due })
}

/// The due-date digits `part` (all ASCII digits, of the format's width) as a stamp, if they name
/// a date (and hour).
fn parse_due(format: DueFormat, part: &str) -> Option<DueStamp> {
    let n = |r: std::ops::Range<usize>| part.get(r).and_then(|s| s.parse::<u32>().ok());
    match format {
        DueFormat::RocDate => {
            let date = parse_roc(part).ok()?;
            Some(stamp_of(format, date.and_hms_opt(0, 0, 0)?))
        }
        DueFormat::MonthDayHour | DueFormat::MonthDay => {
            let (month, day) = (n(0..2)?, n(2..4)?);
            // 2000 is a leap year: 29 February exists where the layout writes no year.
            NaiveDate::from_ymd_opt(2000, month, day)?;
            let hour = match format {
                DueFormat::MonthDayHour => Some(n(4..6).filter(|h| *h <= 23)?),
                _ => None,
            };
            Some(DueStamp { year: None, month, day, hour })
        }
    }
}

#[cfg(test)]
mod tests;
