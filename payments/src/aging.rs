//! Receivables aging: what each customer owes as of a day, by how long ago it was invoiced.
//!
//! Definition: an invoice's age is the number of days from its **issue date** to the report's
//! day (`as_of − issued`; an invoice issued on the day is 0 days old). Monthly-account invoices
//! are all due on the same terms, so the issue date orders them the same way a due date would
//! and needs no terms table. Buckets: 0–30, 31–60, 61–90 and over 90 days. Invoices issued after
//! the report's day did not exist then and are left out; balances of zero add nothing. Every
//! amount is an exact integer sum: a customer's buckets add up to its total, and the customers'
//! totals to the report's.

use crate::matching::{CustomerId, InvoiceId, OpenInvoice};
use chrono::NaiveDate;
use einvoice::money::{Ntd, Overflow};
use std::collections::BTreeMap;

/// Amounts by age.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Buckets {
    /// 0 to 30 days.
    pub days_0_30: Ntd,
    /// 31 to 60 days.
    pub days_31_60: Ntd,
    /// 61 to 90 days.
    pub days_61_90: Ntd,
    /// Over 90 days.
    pub over_90: Ntd,
}

impl Buckets {
    /// The four buckets' sum.
    pub fn total(&self) -> Result<Ntd, Overflow> {
        Ntd::sum([self.days_0_30, self.days_31_60, self.days_61_90, self.over_90])
    }

    /// The bucket for an age in days (0 or more).
    fn bucket(&mut self, age: i64) -> &mut Ntd {
        match age {
            ..=30 => &mut self.days_0_30,
            31..=60 => &mut self.days_31_60,
            61..=90 => &mut self.days_61_90,
            _ => &mut self.over_90,
        }
    }

    fn add(&mut self, other: &Buckets) -> Result<(), Overflow> {
        self.days_0_30 = self.days_0_30.add(other.days_0_30)?;
        self.days_31_60 = self.days_31_60.add(other.days_31_60)?;
        self.days_61_90 = self.days_61_90.add(other.days_61_90)?;
        self.over_90 = self.over_90.add(other.over_90)?;
        Ok(())
    }
}

/// One customer's line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerAging {
    /// The customer.
    pub customer: CustomerId,
    /// What it owes, by age.
    pub buckets: Buckets,
    /// The sum of its buckets.
    pub total: Ntd,
}

/// The aging report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aging {
    /// The day it is as of.
    pub as_of: NaiveDate,
    /// Customers that owe something, by id.
    pub customers: Vec<CustomerAging>,
    /// All customers' buckets.
    pub buckets: Buckets,
    /// The sum of everything.
    pub total: Ntd,
}

/// Why a report could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgingError {
    /// Balances never go below zero; one that did is a bug upstream, not a credit.
    #[error("invoice {0:?} has a negative balance")]
    Negative(InvoiceId),
    /// The sums do not fit in NT$ of an i64.
    #[error("the amounts add up past the largest amount")]
    Overflow,
}

/// The aging of `invoices` as of `as_of` (see the module docs).
pub fn aging(invoices: &[OpenInvoice], as_of: NaiveDate) -> Result<Aging, AgingError> {
    let mut by_customer: BTreeMap<CustomerId, Buckets> = BTreeMap::new();
    for inv in invoices {
        if inv.balance < Ntd::ZERO {
            return Err(AgingError::Negative(inv.id));
        }
        if inv.issued > as_of || inv.balance == Ntd::ZERO {
            continue;
        }
        let age = (as_of - inv.issued).num_days();
        let slot = by_customer.entry(inv.customer).or_default().bucket(age);
        *slot = slot.add(inv.balance).map_err(|_| AgingError::Overflow)?;
    }
    let mut all = Buckets::default();
    let mut customers = Vec::with_capacity(by_customer.len());
    for (customer, buckets) in by_customer {
        all.add(&buckets).map_err(|_| AgingError::Overflow)?;
        customers.push(CustomerAging { customer, buckets, total: buckets.total().map_err(|_| AgingError::Overflow)? });
    }
    Ok(Aging { as_of, customers, buckets: all, total: all.total().map_err(|_| AgingError::Overflow)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(d: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 31).unwrap() - chrono::TimeDelta::days(d)
    }

    fn inv(id: i64, customer: i64, days_old: i64, balance: i64) -> OpenInvoice {
        OpenInvoice { id: InvoiceId(id), number: format!("AB{id:08}"), customer: CustomerId(customer), issued: day(days_old), balance: Ntd(balance) }
    }

    #[test]
    fn buckets_split_at_30_60_and_90_days() {
        let invoices = [
            inv(1, 1, 0, 1),
            inv(2, 1, 30, 10),
            inv(3, 1, 31, 100),
            inv(4, 1, 60, 1_000),
            inv(5, 1, 61, 10_000),
            inv(6, 1, 90, 100_000),
            inv(7, 1, 91, 1_000_000),
        ];
        let a = aging(&invoices, day(0)).unwrap();
        let b = Buckets { days_0_30: Ntd(11), days_31_60: Ntd(1_100), days_61_90: Ntd(110_000), over_90: Ntd(1_000_000) };
        assert_eq!(a.customers, [CustomerAging { customer: CustomerId(1), buckets: b, total: Ntd(1_111_111) }]);
        assert_eq!((a.buckets, a.total), (b, Ntd(1_111_111)));
    }

    #[test]
    fn leaves_out_later_invoices_and_refuses_negative_balances() {
        let a = aging(&[inv(1, 2, -1, 50), inv(2, 1, 5, 0), inv(3, 3, 5, 7)], day(0)).unwrap();
        assert_eq!(a.customers.iter().map(|c| (c.customer.0, c.total.0)).collect::<Vec<_>>(), [(3, 7)]);
        assert_eq!(aging(&[inv(9, 1, 5, -1)], day(0)), Err(AgingError::Negative(InvoiceId(9))));
        assert_eq!(aging(&[inv(1, 1, 5, i64::MAX), inv(2, 1, 5, 1)], day(0)), Err(AgingError::Overflow));
    }

    proptest! {
        #[test]
        fn totals_add_up_exactly(raw in proptest::collection::vec((1i64..8, -20i64..200, 0i64..1_000_000), 0..60)) {
            let invoices: Vec<OpenInvoice> = raw.iter().enumerate().map(|(i, (c, d, b))| inv(i as i64, *c, *d, *b)).collect();
            let a = aging(&invoices, day(0)).unwrap();
            let owed: i64 = invoices.iter().filter(|i| i.issued <= day(0)).map(|i| i.balance.0).sum();
            prop_assert_eq!(a.total.0, owed);
            prop_assert_eq!(a.customers.iter().map(|c| c.total.0).sum::<i64>(), owed);
            for c in &a.customers {
                prop_assert_eq!(c.buckets.total().unwrap(), c.total);
                let mine: i64 = invoices.iter().filter(|i| i.customer == c.customer && i.issued <= day(0)).map(|i| i.balance.0).sum();
                prop_assert_eq!(c.total.0, mine);
                let over_90: i64 = invoices.iter().filter(|i| i.customer == c.customer && i.issued < day(90)).map(|i| i.balance.0).sum();
                prop_assert_eq!(c.buckets.over_90.0, over_90);
            }
            prop_assert!(a.customers.windows(2).all(|w| w[0].customer < w[1].customer));
        }
    }
}
