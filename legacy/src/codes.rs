//! The old program's one-character codes and what they mean. Each enum reads its code with
//! `from_code` (exactly one character, upper case) and writes it with `code`; `ALLOWED` lists the
//! codes for error messages.

/// The cylinder sizes the old program knows, in kg of gas, in the order of its quantity columns
/// (`USU_04` … `USU_50`, `DLV_04` … `DLV_50`).
pub const SIZES_KG: [u16; 5] = [4, 10, 16, 20, 50];

use chrono::{Datelike, NaiveDate};

/// `CUST_TYP` 客戶類別.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomerKind {
    /// `1` 家庭: a household.
    Household,
    /// `2` 營業: a restaurant, food stall or shop.
    Commercial,
    /// `3` 工業: a factory or workshop.
    Industrial,
}

impl CustomerKind {
    /// Every kind.
    pub const ALL: [CustomerKind; 3] = [CustomerKind::Household, CustomerKind::Commercial, CustomerKind::Industrial];
    /// The codes, for messages.
    pub const ALLOWED: &'static str = "1 (家庭), 2 (營業) or 3 (工業)";

    /// The code.
    pub fn code(self) -> char {
        match self {
            CustomerKind::Household => '1',
            CustomerKind::Commercial => '2',
            CustomerKind::Industrial => '3',
        }
    }

    /// The kind of `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        CustomerKind::ALL.into_iter().find(|k| is_code(code, k.code()))
    }
}

/// `SCHED` 送貨週期: how often a customer is delivered without calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Schedule {
    /// `W` 每週: weekly, on weekday `SCHED_DAY` (1 Monday … 7 Sunday).
    Weekly,
    /// `B` 隔週: every other week, on weekday `SCHED_DAY`, in the weeks the old program calls even
    /// (an even number of weeks since Monday 2001-01-01, ROC 90/01/01; see [`Schedule::is_due`]).
    Biweekly,
    /// `M` 每月: monthly, on day `SCHED_DAY` (1 … 31; the last day in shorter months).
    Monthly,
    /// `N` 不定期: no schedule, the customer calls (`SCHED_DAY` 0).
    OnCall,
}

impl Schedule {
    /// Every schedule.
    pub const ALL: [Schedule; 4] = [Schedule::Weekly, Schedule::Biweekly, Schedule::Monthly, Schedule::OnCall];
    /// The codes, for messages.
    pub const ALLOWED: &'static str = "W (每週), B (隔週), M (每月) or N (不定期)";

    /// The code.
    pub fn code(self) -> char {
        match self {
            Schedule::Weekly => 'W',
            Schedule::Biweekly => 'B',
            Schedule::Monthly => 'M',
            Schedule::OnCall => 'N',
        }
    }

    /// The schedule of `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Schedule::ALL.into_iter().find(|k| is_code(code, k.code()))
    }

    /// The values `SCHED_DAY` may take with this schedule.
    pub fn days(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Schedule::Weekly | Schedule::Biweekly => 1..=7,
            Schedule::Monthly => 1..=31,
            Schedule::OnCall => 0..=0,
        }
    }

    /// Whether a customer on this schedule with `SCHED_DAY` `day` is due on `date`. A monthly day
    /// past the month's end falls on its last day; on-call customers are never due.
    pub fn is_due(self, day: u8, date: NaiveDate) -> bool {
        let weekday = date.weekday().number_from_monday();
        match self {
            Schedule::Weekly => weekday == u32::from(day),
            Schedule::Biweekly => {
                // Days since Monday 2001-01-01; dates before it count weeks backwards alike.
                let days = (date - BIWEEKLY_EPOCH).num_days();
                weekday == u32::from(day) && days.div_euclid(7).rem_euclid(2) == 0
            }
            Schedule::Monthly => {
                let last = last_day_of_month(date);
                date.day() == u32::from(day).min(last).max(1)
            }
            Schedule::OnCall => false,
        }
    }
}

/// The Monday from which biweekly weeks are counted: 2001-01-01 (ROC 90/01/01).
const BIWEEKLY_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2001, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The number of days in `date`'s month.
fn last_day_of_month(date: NaiveDate) -> u32 {
    (28..=31).rev().find(|d| date.with_day(*d).is_some()).unwrap_or(28)
}

/// `TIME_PREF` 送貨時段: when the customer wants the delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimePref {
    /// `A` 上午: morning.
    Morning,
    /// `P` 下午: afternoon.
    Afternoon,
    /// `N` 不限: any time.
    Any,
}

impl TimePref {
    /// Every preference.
    pub const ALL: [TimePref; 3] = [TimePref::Morning, TimePref::Afternoon, TimePref::Any];
    /// The codes, for messages.
    pub const ALLOWED: &'static str = "A (上午), P (下午) or N (不限)";

    /// The code.
    pub fn code(self) -> char {
        match self {
            TimePref::Morning => 'A',
            TimePref::Afternoon => 'P',
            TimePref::Any => 'N',
        }
    }

    /// The preference of `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        TimePref::ALL.into_iter().find(|k| is_code(code, k.code()))
    }
}

/// `PAY_TYPE` 付款方式.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Payment {
    /// `1` 現金: cash at the door.
    Cash,
    /// `2` 轉帳: bank transfer.
    Transfer,
    /// `3` 月結: a monthly account.
    Monthly,
}

impl Payment {
    /// Every payment method.
    pub const ALL: [Payment; 3] = [Payment::Cash, Payment::Transfer, Payment::Monthly];
    /// The codes, for messages.
    pub const ALLOWED: &'static str = "1 (現金), 2 (轉帳) or 3 (月結)";

    /// The code.
    pub fn code(self) -> char {
        match self {
            Payment::Cash => '1',
            Payment::Transfer => '2',
            Payment::Monthly => '3',
        }
    }

    /// The method of `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        Payment::ALL.into_iter().find(|k| is_code(code, k.code()))
    }
}

/// `ORD_SRC` 訂單來源: how an order came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderSource {
    /// `S` 排程: made from the customer's schedule.
    Schedule,
    /// `T` 電話: the customer phoned.
    Phone,
}

impl OrderSource {
    /// Every source.
    pub const ALL: [OrderSource; 2] = [OrderSource::Schedule, OrderSource::Phone];
    /// The codes, for messages.
    pub const ALLOWED: &'static str = "S (排程) or T (電話)";

    /// The code.
    pub fn code(self) -> char {
        match self {
            OrderSource::Schedule => 'S',
            OrderSource::Phone => 'T',
        }
    }

    /// The source of `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        OrderSource::ALL.into_iter().find(|k| is_code(code, k.code()))
    }
}

/// `STATUS` 狀態 of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    /// `O` 未送: not delivered yet.
    Open,
    /// `D` 已送: delivered.
    Delivered,
    /// `X` 取消: cancelled.
    Cancelled,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 3] = [OrderStatus::Open, OrderStatus::Delivered, OrderStatus::Cancelled];
    /// The codes, for messages.
    pub const ALLOWED: &'static str = "O (未送), D (已送) or X (取消)";

    /// The code.
    pub fn code(self) -> char {
        match self {
            OrderStatus::Open => 'O',
            OrderStatus::Delivered => 'D',
            OrderStatus::Cancelled => 'X',
        }
    }

    /// The status of `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        OrderStatus::ALL.into_iter().find(|k| is_code(code, k.code()))
    }
}

/// `RESULT` 送貨結果 of a delivery attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryResult {
    /// `1` 送達: delivered (full cylinders left, empties taken back).
    Delivered,
    /// `2` 未遇: nobody there; the order stays open for another attempt.
    NotHome,
    /// `3` 取消: cancelled at the door.
    Cancelled,
}

impl DeliveryResult {
    /// Every result.
    pub const ALL: [DeliveryResult; 3] = [DeliveryResult::Delivered, DeliveryResult::NotHome, DeliveryResult::Cancelled];
    /// The codes, for messages.
    pub const ALLOWED: &'static str = "1 (送達), 2 (未遇) or 3 (取消)";

    /// The code.
    pub fn code(self) -> char {
        match self {
            DeliveryResult::Delivered => '1',
            DeliveryResult::NotHome => '2',
            DeliveryResult::Cancelled => '3',
        }
    }

    /// The result of `code`.
    pub fn from_code(code: &str) -> Option<Self> {
        DeliveryResult::ALL.into_iter().find(|k| is_code(code, k.code()))
    }
}

/// Whether `text` is exactly the one character `code`.
fn is_code(text: &str, code: char) -> bool {
    let mut chars = text.chars();
    chars.next() == Some(code) && chars.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_and_nothing_else_does() {
        for k in CustomerKind::ALL {
            assert_eq!(CustomerKind::from_code(&k.code().to_string()), Some(k));
        }
        for k in Schedule::ALL {
            assert_eq!(Schedule::from_code(&k.code().to_string()), Some(k));
        }
        for k in TimePref::ALL {
            assert_eq!(TimePref::from_code(&k.code().to_string()), Some(k));
        }
        for k in Payment::ALL {
            assert_eq!(Payment::from_code(&k.code().to_string()), Some(k));
        }
        for k in OrderSource::ALL {
            assert_eq!(OrderSource::from_code(&k.code().to_string()), Some(k));
        }
        for k in OrderStatus::ALL {
            assert_eq!(OrderStatus::from_code(&k.code().to_string()), Some(k));
        }
        for k in DeliveryResult::ALL {
            assert_eq!(DeliveryResult::from_code(&k.code().to_string()), Some(k));
        }
        for bad in ["", "w", "WW", "X", " W"] {
            assert_eq!(Schedule::from_code(bad), None, "{bad:?}");
        }
        assert_eq!(Schedule::Monthly.days(), 1..=31);
    }

    #[test]
    fn schedules_fall_due_on_their_days() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // 2026-12-04 is a Friday (weekday 5).
        assert!(Schedule::Weekly.is_due(5, d(2026, 12, 4)));
        assert!(!Schedule::Weekly.is_due(4, d(2026, 12, 4)));
        let fridays: Vec<bool> = (0..4).map(|w| Schedule::Biweekly.is_due(5, d(2026, 12, 4) + chrono::Days::new(7 * w))).collect();
        assert!(fridays == [true, false, true, false] || fridays == [false, true, false, true], "{fridays:?}");
        assert!(Schedule::Biweekly.is_due(1, d(2001, 1, 1)));
        assert!(!Schedule::Biweekly.is_due(1, d(2001, 1, 8)));
        assert!(Schedule::Monthly.is_due(31, d(2026, 2, 28)));
        assert!(Schedule::Monthly.is_due(15, d(2026, 2, 15)));
        assert!(!Schedule::Monthly.is_due(31, d(2026, 3, 30)));
        assert!(!Schedule::OnCall.is_due(0, d(2026, 3, 30)));
    }
}
