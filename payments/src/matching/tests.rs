use super::*;
use crate::virtual_account::generate;
use proptest::prelude::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::TimeDelta::days(i64::from(d))
}

fn layout() -> Layout {
    Layout::cathay_16("9527").unwrap()
}

/// The account of customer `c` (due 2026-12-10 18:00).
fn account(c: u64) -> String {
    generate(&layout(), c, day(39).and_hms_opt(18, 0, 0).unwrap()).unwrap().to_string()
}

fn invoice(id: i64, customer: i64, issued: u32, balance: i64) -> OpenInvoice {
    OpenInvoice { id: InvoiceId(id), number: format!("AB{id:08}"), customer: CustomerId(customer), issued: day(issued), balance: Ntd(balance) }
}

fn deposit(serial: &str, account: &str, paid: u32, amount: i64) -> Deposit {
    Deposit {
        serial: serial.into(),
        paid_at: day(paid).and_hms_opt(10, 0, 0).unwrap(),
        value_date: day(paid),
        account: account.into(),
        amount: Ntd(amount),
        payer_name: String::new(),
        payer_bank: String::new(),
        payer_account: String::new(),
        memo: String::new(),
    }
}

fn book(invoices: Vec<OpenInvoice>) -> Book {
    Book::new(layout(), vec![(account(1), CustomerId(1)), (account(2), CustomerId(2))], invoices).unwrap()
}

fn paid(m: &Matching) -> Vec<(&str, i64, i64, Rule)> {
    m.allocations.iter().map(|a| (a.serial.as_str(), a.invoice.0, a.amount.0, a.rule)).collect()
}

#[test]
fn an_exact_balance_wins_over_the_oldest_invoice() {
    let b = book(vec![invoice(10, 1, 0, 500), invoice(11, 1, 5, 1380), invoice(12, 1, 6, 1380)]);
    let m = match_deposits(&b, &[deposit("S1", &account(1), 20, 1380)], &HashSet::new());
    assert_eq!(paid(&m), [("S1", 11, 1380, Rule::ExactAmount)]);
    assert_eq!(m.balances, [(InvoiceId(10), Ntd(500)), (InvoiceId(11), Ntd(0)), (InvoiceId(12), Ntd(1380))]);
}

#[test]
fn otherwise_pays_oldest_first_leaving_a_partial_balance() {
    let b = book(vec![invoice(11, 1, 5, 300), invoice(10, 1, 0, 500), invoice(12, 1, 6, 1200)]);
    let m = match_deposits(&b, &[deposit("S1", &account(1), 20, 1000)], &HashSet::new());
    assert_eq!(paid(&m), [("S1", 10, 500, Rule::OldestFirst), ("S1", 11, 300, Rule::OldestFirst), ("S1", 12, 200, Rule::OldestFirst)]);
    // Balances come back in the caller's order.
    assert_eq!(m.balances, [(InvoiceId(11), Ntd(0)), (InvoiceId(10), Ntd(0)), (InvoiceId(12), Ntd(1000))]);
    assert!(m.credits.is_empty() && m.unmatched.is_empty());
}

#[test]
fn an_over_payment_is_a_visible_credit_and_a_prepayment_too() {
    let b = book(vec![invoice(10, 1, 0, 500), invoice(11, 1, 30, 700)]);
    let m = match_deposits(&b, &[deposit("S1", &account(1), 10, 800), deposit("S2", &account(2), 10, 50)], &HashSet::new());
    // Invoice 11 was issued after the payment: not a candidate.
    assert_eq!(paid(&m), [("S1", 10, 500, Rule::OldestFirst)]);
    assert_eq!(
        m.credits,
        [
            Credit { serial: "S1".into(), customer: CustomerId(1), amount: Ntd(300), reason: CreditReason::Overpaid },
            Credit { serial: "S2".into(), customer: CustomerId(2), amount: Ntd(50), reason: CreditReason::NoOpenInvoice },
        ]
    );
}

#[test]
fn earlier_payments_settle_older_invoices_whatever_the_file_order() {
    let b = book(vec![invoice(10, 1, 0, 500), invoice(11, 1, 1, 500)]);
    let m = match_deposits(&b, &[deposit("LATE", &account(1), 20, 400), deposit("EARLY", &account(1), 10, 400)], &HashSet::new());
    assert_eq!(paid(&m), [("EARLY", 10, 400, Rule::OldestFirst), ("LATE", 10, 100, Rule::OldestFirst), ("LATE", 11, 300, Rule::OldestFirst)]);
}

#[test]
fn unknown_and_invalid_accounts_wait_with_their_reason() {
    let b = book(vec![invoice(10, 1, 0, 500)]);
    let good = account(1);
    let last = good.as_bytes()[15] - b'0';
    let typo = format!("{}{}", &good[..15], (last + 1) % 10);
    let m = match_deposits(&b, &[deposit("S1", &account(3), 5, 500), deposit("S2", &typo, 5, 500), deposit("S3", "12", 5, 500)], &HashSet::new());
    let reasons: Vec<_> = m.unmatched.iter().map(|u| (u.serial.as_str(), u.reason.clone())).collect();
    assert_eq!(reasons[0], ("S1", UnmatchedReason::UnknownAccount));
    assert!(matches!(reasons[1], ("S2", UnmatchedReason::InvalidAccount(VirtualAccountError::CheckDigit { .. }))), "{reasons:?}");
    assert!(matches!(reasons[2], ("S3", UnmatchedReason::InvalidAccount(VirtualAccountError::Length { .. }))));
    assert!(m.allocations.is_empty());
}

#[test]
fn a_serial_seen_before_or_twice_is_credited_once() {
    let b = book(vec![invoice(10, 1, 0, 5000)]);
    let seen: HashSet<String> = ["OLD".to_owned()].into();
    let m = match_deposits(&b, &[deposit("OLD", &account(1), 5, 100), deposit("NEW", &account(1), 5, 100), deposit("NEW", &account(1), 6, 100)], &seen);
    assert_eq!(paid(&m), [("NEW", 10, 100, Rule::OldestFirst)]);
    assert_eq!(m.duplicates, ["OLD", "NEW"]);
}

#[test]
fn refuses_books_that_do_not_hold_together() {
    let l = layout();
    assert_eq!(Book::new(l.clone(), vec![], vec![invoice(1, 1, 0, 5), invoice(1, 2, 0, 5)]).unwrap_err(), BookError::DuplicateInvoice(InvoiceId(1)));
    assert_eq!(Book::new(l.clone(), vec![], vec![invoice(1, 1, 0, 0)]).unwrap_err().code(), "matching.invoice_not_open");
    let twice = vec![(account(1), CustomerId(1)), (account(1), CustomerId(2))];
    assert_eq!(Book::new(l, twice, vec![]).unwrap_err(), BookError::DuplicateAccount(account(1)));
}

/// A random book of up to 6 customers (accounts 1..=6; customer 7 has no account) and deposits
/// into their accounts, unknown ones and broken ones, with serials that repeat.
fn any_case() -> impl Strategy<Value = (Book, Vec<Deposit>, HashSet<String>)> {
    let invoices = proptest::collection::vec((1i64..=7, 0u32..40, 1i64..3000), 0..30);
    let deposits = proptest::collection::vec((0u32..30, 0u64..9, 0u32..50, 1i64..5000), 0..40);
    (invoices, deposits, proptest::collection::hash_set(0u32..30, 0..5)).prop_map(|(invoices, deposits, seen)| {
        let invoices = invoices.into_iter().enumerate().map(|(i, (c, issued, b))| invoice(i as i64, c, issued, b)).collect();
        let accounts = (1..=6).map(|c| (account(c), CustomerId(c as i64))).collect();
        let book = Book::new(layout(), accounts, invoices).unwrap();
        let deposits = deposits
            .into_iter()
            .map(|(s, c, paid, amount)| {
                let to = match c {
                    0 => "1234".to_owned(),
                    c => account(c),
                };
                deposit(&format!("S{s}"), &to, paid, amount)
            })
            .collect();
        (book, deposits, seen.into_iter().map(|s| format!("S{s}")).collect())
    })
}

proptest! {
    #[test]
    fn matching_keeps_its_invariants((book, deposits, seen) in any_case()) {
        let m = match_deposits(&book, &deposits, &seen);
        prop_assert_eq!(&m, &match_deposits(&book, &deposits, &seen), "deterministic");

        let before: HashMap<InvoiceId, i64> = book.invoices().iter().map(|i| (i.id, i.balance.0)).collect();
        let mut to_invoice: HashMap<InvoiceId, i64> = HashMap::new();
        let mut by_serial: HashMap<&str, i64> = HashMap::new();
        for a in &m.allocations {
            prop_assert!(a.amount.0 > 0);
            *to_invoice.entry(a.invoice).or_default() += a.amount.0;
            *by_serial.entry(&a.serial).or_default() += a.amount.0;
        }
        for (id, after) in &m.balances {
            prop_assert!(after.0 >= 0, "negative balance");
            prop_assert_eq!(before[id] - to_invoice.get(id).copied().unwrap_or(0), after.0);
        }
        prop_assert_eq!(m.balances.len(), before.len());

        // Each deposit taken is allocated, credited or unmatched, and its money adds up.
        let duplicates: HashSet<&str> = m.duplicates.iter().map(String::as_str).collect();
        // The deposit taken for each serial: the first by time of payment, then file order.
        let mut taken: HashMap<&str, &Deposit> = HashMap::new();
        for d in &deposits {
            if seen.contains(&d.serial) {
                prop_assert!(duplicates.contains(d.serial.as_str()));
                continue;
            }
            let t = taken.entry(&d.serial).or_insert(d);
            if d.paid_at < t.paid_at {
                *t = d;
            }
        }
        let deposited: i64 = taken.values().map(|d| d.amount.0).sum();
        let credited: i64 = m.credits.iter().map(|c| c.amount.0).sum();
        let waiting: i64 = m.unmatched.iter().map(|u| u.amount.0).sum();
        let allocated: i64 = by_serial.values().sum();
        prop_assert_eq!(allocated + credited + waiting, deposited, "money conserved");
        for (serial, total) in &by_serial {
            prop_assert!(*total <= taken[serial].amount.0, "allocations over the payment");
        }
        for a in &m.allocations {
            let inv = book.invoices().iter().find(|i| i.id == a.invoice).unwrap();
            prop_assert!(inv.issued <= taken[a.serial.as_str()].paid_at.date(), "paid an invoice issued after the payment");
        }
    }

    // Matching the same deposits again, as imported, against the book after the first run,
    // allocates nothing.
    #[test]
    fn a_second_import_of_the_same_deposits_allocates_nothing((book, deposits, seen) in any_case()) {
        let m = match_deposits(&book, &deposits, &seen);
        let still_open: Vec<OpenInvoice> = book
            .invoices()
            .iter()
            .filter_map(|i| {
                let after = m.balances.iter().find(|(id, _)| *id == i.id).unwrap().1;
                (after > Ntd::ZERO).then(|| OpenInvoice { balance: after, ..i.clone() })
            })
            .collect();
        let accounts = (1..=6).map(|c| (account(c), CustomerId(c as i64))).collect();
        let after = Book::new(layout(), accounts, still_open).unwrap();
        let mut imported = seen.clone();
        imported.extend(deposits.iter().map(|d| d.serial.clone()));
        let again = match_deposits(&after, &deposits, &imported);
        prop_assert!(again.allocations.is_empty() && again.credits.is_empty() && again.unmatched.is_empty());
        prop_assert_eq!(again.duplicates.len(), deposits.len());
    }
}
