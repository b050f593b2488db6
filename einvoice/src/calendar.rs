//! The one clock and calendar of the product: Asia/Taipei (UTC+8, no daylight saving since 1979,
//! so a fixed offset is exact for every date an invoice can carry), the two-month invoice periods
//! and ROC (民國) dates, used only at the edges that need them.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

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
