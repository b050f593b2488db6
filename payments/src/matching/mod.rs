//! Matching deposits to open invoices, in memory and without side effects: the service loads a
//! [`Book`] (who owns which virtual account, which invoices are open), runs [`match_deposits`]
//! and stores the [`Matching`] it returns in one transaction.
//!
//! The rules, in order, for each deposit (deposits taken by the time they were paid, then by
//! serial, so that an earlier payment settles an older invoice):
//! 1. a serial already imported (the caller's `seen`) or met earlier in this run is a
//!    **duplicate**: nothing is credited twice;
//! 2. a deposit of zero or less, or into a virtual account that the layout refuses or that no
//!    customer owns, goes to the **unmatched** queue with its reason, for the accountant;
//! 3. the customer's open invoices **issued on or before the day of payment** are candidates: an
//!    invoice whose balance equals the amount exactly takes it all (the oldest such invoice);
//!    otherwise the amount pays the candidates oldest first (issue date, then number), the last
//!    one touched perhaps in part (a **partial payment**: the invoice keeps a balance);
//! 4. what is left is a **credit** of the customer on that deposit (an over-payment, or money
//!    paid before any invoice), kept visible for the accountant to apply or refund.
//!
//! Invariants (property-tested): no balance goes below zero; a deposit's allocations never
//! exceed it; allocated + credited + unmatched = deposited (duplicates aside); the same input
//! gives the same output. Cost: O((D + I) log I) for D deposits and I invoices (a hash index by
//! account, one cursor per customer, an index of balances for exact matches).

use crate::statement::Deposit;
use crate::virtual_account::{self, Layout, VirtualAccountError};
use chrono::NaiveDate;
use einvoice::money::Ntd;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A customer of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId(pub i64);

/// An invoice of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InvoiceId(pub i64);

/// An invoice with money still owed on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenInvoice {
    /// The invoice.
    pub id: InvoiceId,
    /// Its number (e.g. `AB12345678`), the tie-break between invoices of one day.
    pub number: String,
    /// Whose it is.
    pub customer: CustomerId,
    /// The day it was issued (Taipei).
    pub issued: NaiveDate,
    /// What is still owed; more than zero.
    pub balance: Ntd,
}

/// Why a book was refused. [`BookError::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    /// The same invoice twice.
    #[error("invoice {0:?} is listed twice")]
    DuplicateInvoice(InvoiceId),
    /// An open invoice must owe something.
    #[error("invoice {0:?} has a balance of zero or less")]
    NotOpen(InvoiceId),
    /// The same virtual account twice.
    #[error("virtual account {0} is listed twice")]
    DuplicateAccount(String),
}

impl BookError {
    /// A stable code for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            BookError::DuplicateInvoice(_) => "matching.duplicate_invoice",
            BookError::NotOpen(_) => "matching.invoice_not_open",
            BookError::DuplicateAccount(_) => "matching.duplicate_account",
        }
    }
}

/// What matching works on: the bank's layout, who owns which account, the open invoices. Read
/// only once built; [`match_deposits`] works on a copy of the balances.
#[derive(Clone, Debug)]
pub struct Book {
    layout: Layout,
    /// Account → customer index.
    accounts: HashMap<String, u32>,
    /// Customer index → id.
    customers: Vec<CustomerId>,
    /// Invoices sorted by (customer index, issue date, number, id): a customer's invoices are a
    /// contiguous run, oldest first.
    invoices: Vec<OpenInvoice>,
    /// Customer index → its run `start..end` in `invoices`.
    runs: Vec<(u32, u32)>,
    /// Invoice index in `invoices` → its position in the caller's list (to report balances in it).
    input_order: Vec<u32>,
}

impl Book {
    /// A book of `accounts` (virtual account, owner) and `invoices`, for deposits into accounts
    /// of `layout`.
    pub fn new(layout: Layout, accounts: Vec<(String, CustomerId)>, invoices: Vec<OpenInvoice>) -> Result<Book, BookError> {
        let mut index: HashMap<CustomerId, u32> = HashMap::new();
        let mut customers = Vec::new();
        let mut intern = |c: CustomerId| {
            *index.entry(c).or_insert_with(|| {
                customers.push(c);
                (customers.len() - 1) as u32
            })
        };
        let mut by_account = HashMap::with_capacity(accounts.len());
        for (account, customer) in accounts {
            let c = intern(customer);
            if by_account.insert(account.clone(), c).is_some() {
                return Err(BookError::DuplicateAccount(account));
            }
        }
        let mut ids = HashSet::with_capacity(invoices.len());
        let mut keyed = Vec::with_capacity(invoices.len());
        for (i, invoice) in invoices.into_iter().enumerate() {
            if !ids.insert(invoice.id) {
                return Err(BookError::DuplicateInvoice(invoice.id));
            }
            if invoice.balance <= Ntd::ZERO {
                return Err(BookError::NotOpen(invoice.id));
            }
            keyed.push((intern(invoice.customer), i as u32, invoice));
        }
        keyed.sort_by(|(ca, _, a), (cb, _, b)| (ca, a.issued, &a.number, a.id).cmp(&(cb, b.issued, &b.number, b.id)));
        let mut runs = vec![(0u32, 0u32); customers.len()];
        for (i, (c, _, _)) in keyed.iter().enumerate() {
            let run = &mut runs[*c as usize];
            if run.1 == 0 {
                run.0 = i as u32;
            }
            run.1 = i as u32 + 1;
        }
        let input_order = keyed.iter().map(|(_, i, _)| *i).collect();
        let invoices = keyed.into_iter().map(|(_, _, inv)| inv).collect();
        Ok(Book { layout, accounts: by_account, customers, invoices, runs, input_order })
    }

    /// The open invoices, grouped by customer, oldest first.
    pub fn invoices(&self) -> &[OpenInvoice] {
        &self.invoices
    }
}

/// How an allocation was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The invoice's balance equalled the deposit.
    ExactAmount,
    /// The deposit paid the customer's invoices oldest first.
    OldestFirst,
}

/// Money of one deposit applied to one invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// The deposit's serial.
    pub serial: String,
    /// The invoice.
    pub invoice: InvoiceId,
    /// How much, more than zero.
    pub amount: Ntd,
    /// Why this invoice.
    pub rule: Rule,
}

/// Why money was left on a deposit as the customer's credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CreditReason {
    /// The deposit paid more than the open invoices issued by its day.
    Overpaid,
    /// The customer had no open invoice issued by the deposit's day.
    NoOpenInvoice,
}

/// A customer's money not applied to any invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    /// The deposit's serial.
    pub serial: String,
    /// Whose credit it is.
    pub customer: CustomerId,
    /// How much, more than zero.
    pub amount: Ntd,
    /// Why.
    pub reason: CreditReason,
}

/// Why a deposit waits in the unmatched queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnmatchedReason {
    /// The account is not a valid number of the layout.
    InvalidAccount(VirtualAccountError),
    /// A valid number that no customer owns.
    UnknownAccount,
    /// An amount of zero or less (a statement never has one; another source might).
    NotPositive,
}

/// A deposit for the accountant to match, split, refund or write off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmatched {
    /// The deposit's serial.
    pub serial: String,
    /// The account paid into.
    pub account: String,
    /// The amount.
    pub amount: Ntd,
    /// Why it was not matched.
    pub reason: UnmatchedReason,
}

/// The outcome of a run, in the order the deposits were taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matching {
    /// Money applied to invoices.
    pub allocations: Vec<Allocation>,
    /// Money left as customers' credit.
    pub credits: Vec<Credit>,
    /// Deposits for the accountant.
    pub unmatched: Vec<Unmatched>,
    /// Serials skipped as already imported or repeated.
    pub duplicates: Vec<String>,
    /// Every invoice of the book with its balance after the run, in the caller's order.
    pub balances: Vec<(InvoiceId, Ntd)>,
}

/// Matches `deposits` against `book`; `seen` holds the serials imported before (see the module
/// docs for the rules).
pub fn match_deposits(book: &Book, deposits: &[Deposit], seen: &HashSet<String>) -> Matching {
    let invoices = &book.invoices;
    let mut balance: Vec<i64> = invoices.iter().map(|i| i.balance.0).collect();
    // (customer, balance) → indices of the customer's invoices with that balance, oldest first.
    let mut exact: HashMap<(u32, i64), BTreeSet<u32>> = HashMap::with_capacity(invoices.len());
    for (c, (start, end)) in book.runs.iter().enumerate() {
        for i in *start..*end {
            exact.entry((c as u32, balance[i as usize])).or_default().insert(i);
        }
    }
    // Customer → first invoice of its run that may still owe something.
    let mut cursor: Vec<u32> = book.runs.iter().map(|r| r.0).collect();

    let mut order: Vec<usize> = (0..deposits.len()).collect();
    order.sort_by(|a, b| (deposits[*a].paid_at, &deposits[*a].serial, *a).cmp(&(deposits[*b].paid_at, &deposits[*b].serial, *b)));

    let mut out = Matching { allocations: Vec::new(), credits: Vec::new(), unmatched: Vec::new(), duplicates: Vec::new(), balances: Vec::new() };
    let mut taken: HashSet<&str> = HashSet::with_capacity(deposits.len());
    for d in order.into_iter().map(|i| &deposits[i]) {
        if seen.contains(&d.serial) || !taken.insert(&d.serial) {
            out.duplicates.push(d.serial.clone());
            continue;
        }
        let unmatched = |reason| Unmatched { serial: d.serial.clone(), account: d.account.clone(), amount: d.amount, reason };
        if d.amount <= Ntd::ZERO {
            out.unmatched.push(unmatched(UnmatchedReason::NotPositive));
            continue;
        }
        let Some(&c) = book.accounts.get(&d.account) else {
            let reason = match virtual_account::parse(&book.layout, &d.account) {
                Err(e) => UnmatchedReason::InvalidAccount(e),
                Ok(_) => UnmatchedReason::UnknownAccount,
            };
            out.unmatched.push(unmatched(reason));
            continue;
        };
        let day = d.paid_at.date();
        let mut left = d.amount.0;
        let mut pay = |i: u32, amount: i64, rule: Rule, balance: &mut Vec<i64>, exact: &mut HashMap<(u32, i64), BTreeSet<u32>>| {
            let old = balance[i as usize];
            if let Some(set) = exact.get_mut(&(c, old)) {
                set.remove(&i);
                if set.is_empty() {
                    exact.remove(&(c, old));
                }
            }
            balance[i as usize] = old - amount;
            if old > amount {
                exact.entry((c, old - amount)).or_default().insert(i);
            }
            out.allocations.push(Allocation { serial: d.serial.clone(), invoice: invoices[i as usize].id, amount: Ntd(amount), rule });
        };
        let exact_hit = exact.get(&(c, left)).and_then(|set| set.first().copied()).filter(|i| invoices[*i as usize].issued <= day);
        if let Some(i) = exact_hit {
            pay(i, left, Rule::ExactAmount, &mut balance, &mut exact);
            left = 0;
        } else {
            let end = book.runs[c as usize].1;
            let mut i = cursor[c as usize];
            while i < end && balance[i as usize] == 0 {
                i += 1;
            }
            cursor[c as usize] = i;
            while left > 0 && i < end && invoices[i as usize].issued <= day {
                let take = left.min(balance[i as usize]);
                if take > 0 {
                    pay(i, take, Rule::OldestFirst, &mut balance, &mut exact);
                    left -= take;
                }
                i += 1;
            }
        }
        if left > 0 {
            let reason = if left == d.amount.0 { CreditReason::NoOpenInvoice } else { CreditReason::Overpaid };
            out.credits.push(Credit { serial: d.serial.clone(), customer: book.customers[c as usize], amount: Ntd(left), reason });
        }
    }
    let mut balances = vec![(InvoiceId(0), Ntd::ZERO); invoices.len()];
    for (i, inv) in invoices.iter().enumerate() {
        balances[book.input_order[i] as usize] = (inv.id, Ntd(balance[i]));
    }
    out.balances = balances;
    out
}

#[cfg(test)]
mod tests;
