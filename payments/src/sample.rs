//! Synthetic but realistic data for benchmarks, examples and tests of the services that use this
//! crate (e.g. files to publish on a test SFTP server): a month of monthly-account invoices and a
//! bank statement of deposits against them. Deterministic for a seed (a xorshift generator, no
//! dependency); nothing here is used by the rules themselves.

use crate::matching::{Book, CustomerId, InvoiceId, OpenInvoice};
use crate::statement::{Deposit, Statement};
use crate::virtual_account::{generate, Layout};
use chrono::{NaiveDate, TimeDelta};
use einvoice::money::Ntd;

/// A month to match: the layout, who owns which account, the open invoices, a statement.
#[derive(Clone, Debug)]
pub struct SampleMonth {
    /// Cathay's layout with the company code `9527`.
    pub layout: Layout,
    /// Each customer's virtual account.
    pub accounts: Vec<(String, CustomerId)>,
    /// Open invoices, issued in November 2026.
    pub invoices: Vec<OpenInvoice>,
    /// Deposits of 1–10 December 2026: about 60 % pay one invoice exactly, 20 % pay part of a
    /// customer's debt, 10 % more than it, 5 % go to a valid account that nobody owns and 5 %
    /// to a mistyped one.
    pub statement: Statement,
}

impl SampleMonth {
    /// The matching book of this month.
    pub fn book(&self) -> Book {
        Book::new(self.layout.clone(), self.accounts.clone(), self.invoices.clone()).expect("sample books are consistent")
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SURNAMES: [&str; 12] = ["王", "陳", "林", "黃", "張", "李", "吳", "劉", "蔡", "楊", "許", "鄭"];
const GIVEN: [&str; 10] = ["小明", "美玲", "志強", "淑芬", "建宏", "雅婷", "家豪", "怡君", "俊傑", "瓦斯行"];

/// `invoices` open invoices of `invoices / 2` customers (at least one; at most 99,999, the
/// layout's customer digits) and a statement of `deposits` deposits, from `seed`.
pub fn month(seed: u64, invoices: usize, deposits: usize) -> SampleMonth {
    let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let layout = Layout::cathay_16("9527").expect("Cathay's layout is valid");
    let customers = (invoices / 2).clamp(1, 99_998) as u64;
    let due = NaiveDate::from_ymd_opt(2026, 12, 10).and_then(|d| d.and_hms_opt(23, 0, 0)).expect("a valid due date");
    let account = |c: u64| generate(&layout, c, due).expect("customer numbers fit").to_string();
    let accounts: Vec<(String, CustomerId)> = (1..=customers).map(|c| (account(c), CustomerId(c as i64))).collect();
    let november = NaiveDate::from_ymd_opt(2026, 11, 1).expect("a valid date");
    let open: Vec<OpenInvoice> = (0..invoices)
        .map(|i| {
            let customer = (i as u64 % customers) + 1;
            OpenInvoice {
                id: InvoiceId(i as i64 + 1),
                number: format!("AB{:08}", i + 1),
                customer: CustomerId(customer as i64),
                issued: november + TimeDelta::days(rng.below(30) as i64),
                balance: Ntd(500 + 10 * rng.below(2_000) as i64),
            }
        })
        .collect();
    let december = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a valid date");
    let list: Vec<Deposit> = (0..deposits)
        .map(|n| {
            let kind = rng.below(100);
            let inv = &open[rng.below(open.len() as u64) as usize];
            let owner = inv.customer.0 as u64;
            let (to, amount) = match kind {
                0..60 => (account(owner), inv.balance.0),
                60..80 => (account(owner), 100 + 10 * rng.below(inv.balance.0 as u64 / 10) as i64),
                80..90 => (account(owner), inv.balance.0 + 100 + 10 * rng.below(500) as i64),
                90..95 => (account(customers + 1), inv.balance.0),
                _ => {
                    let mut typo = account(owner).into_bytes();
                    typo[15] = b'0' + (typo[15] - b'0' + 1) % 10;
                    (String::from_utf8(typo).unwrap_or_default(), inv.balance.0)
                }
            };
            let paid_at = (december + TimeDelta::days(rng.below(10) as i64)).and_hms_opt(0, 0, 0).expect("midnight exists")
                + TimeDelta::seconds(rng.below(86_400) as i64);
            Deposit {
                serial: format!("TX{:014}", n + 1),
                paid_at,
                value_date: paid_at.date(),
                account: to,
                amount: Ntd(amount),
                payer_name: format!("{}{}", SURNAMES[rng.below(12) as usize], GIVEN[rng.below(10) as usize]),
                payer_bank: format!("{:03}{:04}", rng.below(1000), rng.below(10_000)),
                payer_account: format!("********{:04}", rng.below(10_000)),
                memo: if rng.below(3) == 0 { "瓦斯費".to_owned() } else { String::new() },
            }
        })
        .collect();
    let statement = Statement {
        bank_code: "013".into(),
        bank_name: "國泰世華商業銀行".into(),
        account: "001234567890".into(),
        date: december + TimeDelta::days(9),
        deposits: list,
    };
    SampleMonth { layout, accounts, invoices: open, statement }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::match_deposits;
    use crate::statement::{parse, write, Encoding, Format};
    use std::collections::HashSet;

    #[test]
    fn a_sample_month_writes_parses_and_matches_every_way() {
        let m = month(7, 200, 500);
        assert_eq!(m.statement.deposits.len(), 500);
        for format in [Format::FixedWidth, Format::Csv] {
            let bytes = write(format, &m.statement, Encoding::Big5).unwrap();
            assert_eq!(parse(format, "sample", &bytes).unwrap(), m.statement);
        }
        let out = match_deposits(&m.book(), &m.statement.deposits, &HashSet::new());
        assert!(out.allocations.iter().any(|a| a.rule == crate::matching::Rule::ExactAmount));
        assert!(out.allocations.iter().any(|a| a.rule == crate::matching::Rule::OldestFirst));
        assert!(!out.credits.is_empty() && !out.unmatched.is_empty());
        assert_eq!(month(7, 200, 500).statement, m.statement, "deterministic");
    }
}
