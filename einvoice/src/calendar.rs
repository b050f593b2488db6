//! The one clock and calendar of the product: Asia/Taipei (UTC+8, no daylight saving since 1979,
//! so a fixed offset is exact for every date an invoice can carry), the two-month invoice periods
//! and ROC (民國) dates, used only at the edges that need them.
//!
//! Rules and where they come from:
//! - Invoice periods are two calendar months, Jan–Feb … Nov–Dec (統一發票使用辦法; DOMAIN.md).
//! - The ROC year is the Gregorian year − 1911 (DOMAIN.md, "The legacy system").
//! - Upload deadlines: 48 hours after issue for a consumer (B2C), 7 days when the buyer is a
//!   business (統一發票使用辦法 §7 as summarised by 財政部中區國稅局, <http://fingermedia.tw/?p=296947>;
//!   ECPay's support page <https://support.ecpay.com.tw/6480/> states the same 48 h / 7 days).
//! - Blank unused numbers (E0402) are uploaded within 10 days of the start of the next period,
//!   i.e. by the 10th of January, March, May, July, September or November (same 中區國稅局 text:
//!   「本期空白未使用之發票字軌號碼應於次期(1、3、5、7、9、11月)10日內傳輸至平台」).
//!
//! Periods and ROC dates are limited to ROC years 1..=999 (Gregorian 1912..=2910): the exchange
//! formats write the ROC year in three digits, and a bounded range keeps every operation total.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Taiwan's offset from UTC.
pub fn taipei() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// Now, in Taipei.
pub fn now_taipei() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&taipei())
}

/// Today's date in Taipei.
pub fn today_taipei() -> NaiveDate {
    now_taipei().date_naive()
}

/// The offset between Gregorian and ROC (民國) years: ROC year = Gregorian year − 1911.
pub const ROC_OFFSET: i32 = 1911;
/// The first Gregorian year this module handles (ROC year 1).
pub const MIN_YEAR: i32 = ROC_OFFSET + 1;
/// The last Gregorian year this module handles (ROC year 999, the widest three-digit ROC year).
pub const MAX_YEAR: i32 = ROC_OFFSET + 999;

/// What is wrong with a period or ROC date.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The year is outside ROC years 1..=999 (Gregorian 1912..=2910).
    #[error("year {0} is outside the supported range {MIN_YEAR}..={MAX_YEAR} (ROC years 1..=999)")]
    YearOutOfRange(i32),
    /// A period must start on an odd month (1, 3, 5, 7, 9, 11).
    #[error("month {0} does not start an invoice period (expected 1, 3, 5, 7, 9 or 11)")]
    NotAPeriodStart(u32),
    /// A ROC period code names its period by the even (second) month: 02, 04, …, 12.
    #[error("month {0} does not end an invoice period (expected 2, 4, 6, 8, 10 or 12)")]
    NotAPeriodEnd(u32),
    /// The text has the wrong shape for what was asked; the message names the expected shape.
    #[error("{text:?} is not {expected}")]
    Format {
        /// The text as given.
        text: String,
        /// The shape that was expected, e.g. `a ROC period code like "11512"`.
        expected: &'static str,
    },
    /// Year, month and day have the right shape but name no calendar day (e.g. 115/02/30).
    #[error("{0:?} is not a calendar date")]
    NoSuchDate(String),
}

/// Builds a date the caller has already bounded (year in range, month 1..=12, day ≤ 28 or the
/// month's real last day). Falls back to `NaiveDate::MIN` rather than panic should that ever fail.
fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

fn check_year(year: i32) -> Result<(), CalendarError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(CalendarError::YearOutOfRange(year))
    }
}

/// A two-month invoice period (Jan–Feb, Mar–Apr, …, Nov–Dec), in which invoice numbers are
/// allocated and which the VAT return covers.
///
/// Always valid: the year is within [`MIN_YEAR`]..=[`MAX_YEAR`] and the first month is odd.
/// Orders chronologically.
///
/// Serde: the string `"2026-11"` (Gregorian year, first month; see [`Period::key`]) — readable in a
/// JSON API, sortable as text and unambiguous; the ROC code (`"11512"`) is the exchange format and
/// has its own [`Period::roc_code`] / [`Period::parse_roc_code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i32,
    first_month: u32,
}

impl Period {
    /// The period starting in `first_month` (1, 3, 5, 7, 9 or 11) of the Gregorian `year`.
    pub fn new(year: i32, first_month: u32) -> Result<Period, CalendarError> {
        check_year(year)?;
        if !(1..=11).contains(&first_month) || first_month.is_multiple_of(2) {
            return Err(CalendarError::NotAPeriodStart(first_month));
        }
        Ok(Period { year, first_month })
    }

    /// The period containing `date`; an error for dates outside ROC years 1..=999.
    pub fn of(date: NaiveDate) -> Result<Period, CalendarError> {
        let month = date.month();
        Period::new(date.year(), month - (month + 1) % 2)
    }

    /// The Gregorian year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The first month (1, 3, 5, 7, 9 or 11).
    pub fn first_month(&self) -> u32 {
        self.first_month
    }

    /// The second month (2, 4, 6, 8, 10 or 12).
    pub fn last_month(&self) -> u32 {
        self.first_month + 1
    }

    /// The ROC year (Gregorian − 1911; 1..=999).
    pub fn roc_year(&self) -> i32 {
        roc_year(self.year)
    }

    /// Whether `date` lies in this period.
    pub fn contains(&self, date: NaiveDate) -> bool {
        date.year() == self.year && (date.month() == self.first_month || date.month() == self.last_month())
    }

    /// The first day of the period.
    pub fn first_day(&self) -> NaiveDate {
        ymd(self.year, self.first_month, 1)
    }

    /// The last day of the period (28 or 29 February, 30 April/June, 31 August/October/December).
    pub fn last_day(&self) -> NaiveDate {
        let day = match self.last_month() {
            2 if NaiveDate::from_ymd_opt(self.year, 2, 29).is_some() => 29,
            2 => 28,
            4 | 6 => 30,
            _ => 31,
        };
        ymd(self.year, self.last_month(), day)
    }

    /// The following period; `None` after Nov–Dec of [`MAX_YEAR`].
    pub fn next(&self) -> Option<Period> {
        if self.first_month == 11 {
            Period::new(self.year + 1, 1).ok()
        } else {
            Some(Period { year: self.year, first_month: self.first_month + 2 })
        }
    }

    /// The preceding period; `None` before Jan–Feb of [`MIN_YEAR`].
    pub fn prev(&self) -> Option<Period> {
        if self.first_month == 1 {
            Period::new(self.year - 1, 11).ok()
        } else {
            Some(Period { year: self.year, first_month: self.first_month - 2 })
        }
    }

    /// The ROC period code: three-digit ROC year + the period's even month, e.g. Nov–Dec 2026 →
    /// `"11512"` (DOMAIN.md: "the period `11512` names Nov–Dec 2026").
    pub fn roc_code(&self) -> String {
        format!("{:03}{:02}", self.roc_year(), self.last_month())
    }

    /// Parses a ROC period code: exactly five digits, ROC year (three digits) + even month.
    pub fn parse_roc_code(code: &str) -> Result<Period, CalendarError> {
        let format = || CalendarError::Format { text: code.to_owned(), expected: "a ROC period code like \"11512\" (ROC year + even month)" };
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format());
        }
        let roc: i32 = code[..3].parse().map_err(|_| format())?;
        let month: u32 = code[3..].parse().map_err(|_| format())?;
        if !(2..=12).contains(&month) || !month.is_multiple_of(2) {
            return Err(CalendarError::NotAPeriodEnd(month));
        }
        Period::new(roc + ROC_OFFSET, month - 1)
    }

    /// The serde and sort key: Gregorian year and first month, `"2026-11"`.
    pub fn key(&self) -> String {
        format!("{:04}-{:02}", self.year, self.first_month)
    }

    /// An English label, `"2026-11/12"`.
    pub fn label_en(&self) -> String {
        format!("{:04}-{:02}/{:02}", self.year, self.first_month, self.last_month())
    }

    /// The day by which the period's blank unused numbers must be reported (E0402): the 10th of
    /// the next period's first month (e.g. Nov–Dec 2026 → 2027-01-10). Source: 財政部中區國稅局
    /// (see the module docs); the wording is "within 10 days of the start of the next period",
    /// which we read as "on or before the 10th". Defined for every period, including the last.
    pub fn blank_report_due(&self) -> NaiveDate {
        if self.first_month == 11 {
            ymd(self.year + 1, 1, 10)
        } else {
            ymd(self.year, self.first_month + 2, 10)
        }
    }
}

impl fmt::Display for Period {
    /// As printed on the invoice proof (電子發票證明聯): `115年11-12月`, `115年01-02月` (zero-padded
    /// months as on the Ministry's sample proofs; the padding is *unverified* against the spec text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}年{:02}-{:02}月", self.roc_year(), self.first_month, self.last_month())
    }
}

impl FromStr for Period {
    type Err = CalendarError;

    /// Parses the key form `"2026-11"` (four-digit year, two-digit odd first month).
    fn from_str(text: &str) -> Result<Period, CalendarError> {
        let format = || CalendarError::Format { text: text.to_owned(), expected: "a period like \"2026-11\" (year-first month)" };
        let b = text.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
            return Err(format());
        }
        let year: i32 = text[..4].parse().map_err(|_| format())?;
        let month: u32 = text[5..].parse().map_err(|_| format())?;
        Period::new(year, month)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        crate::serde_str::deserialize(deserializer)
    }
}

/// The ROC (民國) year of a Gregorian year: `year − 1911` (2026 → 115). Not range-checked; years
/// before 1912 give zero or negative numbers.
pub fn roc_year(year: i32) -> i32 {
    year.saturating_sub(ROC_OFFSET)
}

/// How a ROC date is written. Every style writes the ROC year in three digits (099, 115), so
/// the text has a fixed width and sorts by date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RocStyle {
    /// `115/12/04`.
    Slash,
    /// `1151204`.
    Compact,
    /// `115-12-04`.
    Dash,
}

/// Writes `date` as a ROC date in `style` (2026-12-04 → `115/12/04`, `1151204`, `115-12-04`);
/// an error for dates outside ROC years 1..=999.
pub fn format_roc(date: NaiveDate, style: RocStyle) -> Result<String, CalendarError> {
    check_year(date.year())?;
    let (y, m, d) = (roc_year(date.year()), date.month(), date.day());
    Ok(match style {
        RocStyle::Slash => format!("{y:03}/{m:02}/{d:02}"),
        RocStyle::Compact => format!("{y:03}{m:02}{d:02}"),
        RocStyle::Dash => format!("{y:03}-{m:02}-{d:02}"),
    })
}

/// Parses a ROC date in any of the three [`RocStyle`]s. Separated forms take a 1–3 digit year
/// and 1–2 digit month and day (`115/12/04`, `99/1/5`); the compact form takes 6 or 7 digits
/// (`1151204`, `991204`: the last four are month and day). Whitespace, signs, mixed separators,
/// ROC year 0 and impossible days are rejected.
pub fn parse_roc(text: &str) -> Result<NaiveDate, CalendarError> {
    let format = || CalendarError::Format { text: text.to_owned(), expected: "a ROC date like \"115/12/04\", \"1151204\" or \"115-12-04\"" };
    let digits = |s: &str, min: usize, max: usize| -> Result<u32, CalendarError> {
        if (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map_err(|_| format())
        } else {
            Err(format())
        }
    };
    let (y, m, d) = if let Some(sep) = text.chars().find(|c| *c == '/' || *c == '-') {
        let parts: Vec<&str> = text.split(sep).collect();
        let [y, m, d] = parts.as_slice() else { return Err(format()) };
        (digits(y, 1, 3)?, digits(m, 1, 2)?, digits(d, 1, 2)?)
    } else {
        if !(6..=7).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format());
        }
        let split = text.len() - 4;
        (digits(&text[..split], 2, 3)?, digits(&text[split..split + 2], 2, 2)?, digits(&text[split + 2..], 2, 2)?)
    };
    if y == 0 {
        return Err(CalendarError::YearOutOfRange(ROC_OFFSET));
    }
    // y ≤ 999, so the sum cannot overflow.
    NaiveDate::from_ymd_opt(ROC_OFFSET + y as i32, m, d).ok_or_else(|| CalendarError::NoSuchDate(text.to_owned()))
}

/// How long after issue an invoice (and likewise its void or allowance) must reach the platform:
/// 48 hours for a consumer, 7 days (taken as 7 × 24 hours, the stricter reading) for a business buyer.
pub fn upload_window(buyer_is_business: bool) -> TimeDelta {
    if buyer_is_business {
        TimeDelta::days(7)
    } else {
        TimeDelta::hours(48)
    }
}

/// The latest moment to upload an invoice issued at `issued_at` (see [`upload_window`]), in the
/// same offset. Saturates at the latest representable time instead of overflowing.
pub fn upload_deadline(issued_at: DateTime<FixedOffset>, buyer_is_business: bool) -> DateTime<FixedOffset> {
    issued_at.checked_add_signed(upload_window(buyer_is_business)).unwrap_or_else(|| DateTime::<Utc>::MAX_UTC.with_timezone(issued_at.offset()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn period_of_a_date_is_its_two_month_block() {
        let p = Period::of(d(2026, 12, 4)).unwrap();
        assert_eq!((p.year(), p.first_month(), p.last_month()), (2026, 11, 12));
        assert_eq!(Period::of(d(2026, 1, 31)).unwrap().first_month(), 1);
        assert_eq!(Period::of(d(2026, 2, 1)).unwrap().first_month(), 1);
        assert_eq!(Period::of(d(2026, 3, 1)).unwrap().first_month(), 3);
        assert!(p.contains(d(2026, 11, 1)) && p.contains(d(2026, 12, 31)));
        assert!(!p.contains(d(2026, 10, 31)) && !p.contains(d(2025, 12, 1)));
    }

    #[test]
    fn rejects_periods_that_do_not_start_on_an_odd_month_or_leave_the_roc_range() {
        assert_eq!(Period::new(2026, 2), Err(CalendarError::NotAPeriodStart(2)));
        assert_eq!(Period::new(2026, 13), Err(CalendarError::NotAPeriodStart(13)));
        assert_eq!(Period::new(2026, 0), Err(CalendarError::NotAPeriodStart(0)));
        assert_eq!(Period::new(1911, 1), Err(CalendarError::YearOutOfRange(1911)));
        assert_eq!(Period::of(d(2911, 1, 1)), Err(CalendarError::YearOutOfRange(2911)));
    }

    #[test]
    fn first_and_last_days_follow_month_lengths_and_leap_years() {
        assert_eq!(Period::new(2028, 1).unwrap().last_day(), d(2028, 2, 29));
        assert_eq!(Period::new(2026, 1).unwrap().last_day(), d(2026, 2, 28));
        assert_eq!(Period::new(2100, 1).unwrap().last_day(), d(2100, 2, 28));
        assert_eq!(Period::new(2026, 3).unwrap().last_day(), d(2026, 4, 30));
        assert_eq!(Period::new(2026, 5).unwrap().last_day(), d(2026, 6, 30));
        assert_eq!(Period::new(2026, 7).unwrap().last_day(), d(2026, 8, 31));
        assert_eq!(Period::new(2026, 9).unwrap().last_day(), d(2026, 10, 31));
        assert_eq!(Period::new(2026, 11).unwrap().first_day(), d(2026, 11, 1));
        assert_eq!(Period::new(2026, 11).unwrap().last_day(), d(2026, 12, 31));
    }

    #[test]
    fn next_and_prev_cross_years_and_stop_at_the_range_ends() {
        let p = Period::new(2026, 11).unwrap();
        assert_eq!(p.next(), Some(Period::new(2027, 1).unwrap()));
        assert_eq!(Period::new(2027, 1).unwrap().prev(), Some(p));
        assert_eq!(Period::new(MAX_YEAR, 11).unwrap().next(), None);
        assert_eq!(Period::new(MIN_YEAR, 1).unwrap().prev(), None);
    }

    #[test]
    fn roc_code_names_the_even_month() {
        let p = Period::new(2026, 11).unwrap();
        assert_eq!(p.roc_code(), "11512");
        assert_eq!(Period::new(2010, 1).unwrap().roc_code(), "09902");
        assert_eq!(Period::parse_roc_code("11512"), Ok(p));
        assert_eq!(Period::parse_roc_code("11511"), Err(CalendarError::NotAPeriodEnd(11)));
        assert_eq!(Period::parse_roc_code("11500"), Err(CalendarError::NotAPeriodEnd(0)));
        assert_eq!(Period::parse_roc_code("00012"), Err(CalendarError::YearOutOfRange(1911)));
        for bad in ["", "1151", "115120", "11a12", " 11512", "+1512"] {
            assert!(matches!(Period::parse_roc_code(bad), Err(CalendarError::Format { .. })), "{bad:?}");
        }
    }

    #[test]
    fn labels_and_display() {
        let p = Period::new(2026, 11).unwrap();
        assert_eq!(p.to_string(), "115年11-12月");
        assert_eq!(Period::new(2026, 1).unwrap().to_string(), "115年01-02月");
        assert_eq!(p.label_en(), "2026-11/12");
        assert_eq!(p.key(), "2026-11");
    }

    #[test]
    fn blank_report_is_due_on_the_tenth_of_the_next_period() {
        assert_eq!(Period::new(2026, 11).unwrap().blank_report_due(), d(2027, 1, 10));
        assert_eq!(Period::new(2026, 1).unwrap().blank_report_due(), d(2026, 3, 10));
        assert_eq!(Period::new(MAX_YEAR, 11).unwrap().blank_report_due(), d(MAX_YEAR + 1, 1, 10));
    }

    #[test]
    fn period_serde_is_the_key_and_validates() {
        let p = Period::new(2026, 11).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"2026-11\"");
        assert_eq!(serde_json::from_str::<Period>("\"2026-11\"").unwrap(), p);
        assert!(serde_json::from_str::<Period>("\"2026-12\"").is_err());
        assert!(serde_json::from_str::<Period>("\"11512\"").is_err());
        assert!(serde_json::from_str::<Period>("2026").is_err());
    }

    #[test]
    fn roc_dates_in_three_styles() {
        let date = d(2026, 12, 4);
        assert_eq!(roc_year(2026), 115);
        assert_eq!(format_roc(date, RocStyle::Slash).unwrap(), "115/12/04");
        assert_eq!(format_roc(date, RocStyle::Compact).unwrap(), "1151204");
        assert_eq!(format_roc(date, RocStyle::Dash).unwrap(), "115-12-04");
        assert_eq!(format_roc(d(2010, 1, 5), RocStyle::Compact).unwrap(), "0990105");
        assert_eq!(format_roc(d(1911, 12, 31), RocStyle::Slash), Err(CalendarError::YearOutOfRange(1911)));
        for text in ["115/12/04", "1151204", "115-12-04", "115/12/4"] {
            assert_eq!(parse_roc(text), Ok(date), "{text}");
        }
        assert_eq!(parse_roc("99/1/5"), Ok(d(2010, 1, 5)));
        assert_eq!(parse_roc("990105"), Ok(d(2010, 1, 5)));
    }

    #[test]
    fn rejects_garbage_roc_dates() {
        for bad in [
            "",
            "115",
            "115/12",
            "115/12/04/1",
            "115/12-04",
            " 115/12/04",
            "115/12/04 ",
            "1151204x",
            "+15/12/04",
            "1000/01/01",
            "115//04",
            "11512045",
            "12345",
            "一一五/12/04",
        ] {
            assert!(matches!(parse_roc(bad), Err(CalendarError::Format { .. })), "{bad:?} -> {:?}", parse_roc(bad));
        }
        assert_eq!(parse_roc("115/02/29"), Err(CalendarError::NoSuchDate("115/02/29".into())));
        assert_eq!(parse_roc("115/13/01"), Err(CalendarError::NoSuchDate("115/13/01".into())));
        assert_eq!(parse_roc("0/01/01"), Err(CalendarError::YearOutOfRange(1911)));
    }

    #[test]
    fn upload_deadlines_are_48_hours_for_consumers_and_7_days_for_businesses() {
        let issued = DateTime::parse_from_rfc3339("2026-12-04T10:30:00+08:00").unwrap();
        assert_eq!(upload_deadline(issued, false), DateTime::parse_from_rfc3339("2026-12-06T10:30:00+08:00").unwrap());
        assert_eq!(upload_deadline(issued, true), DateTime::parse_from_rfc3339("2026-12-11T10:30:00+08:00").unwrap());
        let last = DateTime::<Utc>::MAX_UTC.with_timezone(&taipei());
        assert_eq!(upload_deadline(last, true), last);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (MIN_YEAR..=MAX_YEAR, 0u32..366).prop_map(|(y, o)| d(y, 1, 1) + TimeDelta::days(o.min(364) as i64))
    }

    proptest! {
        #[test]
        fn roc_dates_round_trip_in_every_style(date in any_date()) {
            for style in [RocStyle::Slash, RocStyle::Compact, RocStyle::Dash] {
                prop_assert_eq!(parse_roc(&format_roc(date, style).unwrap()), Ok(date));
            }
        }

        #[test]
        fn periods_round_trip_and_contain_their_dates(date in any_date()) {
            let p = Period::of(date).unwrap();
            prop_assert!(p.contains(date));
            prop_assert!(p.first_day() <= date && date <= p.last_day());
            prop_assert_eq!(Period::parse_roc_code(&p.roc_code()), Ok(p));
            prop_assert_eq!(p.key().parse::<Period>(), Ok(p));
            if let Some(n) = p.next() {
                prop_assert_eq!(n.first_day(), p.last_day() + TimeDelta::days(1));
                prop_assert_eq!(n.prev(), Some(p));
            }
        }

        #[test]
        fn parse_roc_never_panics(text in "\\PC{0,12}") {
            let _ = parse_roc(&text);
            let _ = Period::parse_roc_code(&text);
            let _ = text.parse::<Period>();
        }
    }
}
