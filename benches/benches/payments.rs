//! Payments benches (issue 17): importing a bank statement of 50,000 deposits (the fixed-width
//! layout in Big5, about 7.6 MB) and matching it against 20,000 open invoices of 10,000 customers,
//! the data of `payments::sample::month` (60 % of the deposits pay one invoice exactly, the rest
//! pay part, pay too much, or go to accounts nobody owns or that are mistyped). The whole import
//! (parse, then match), and the matching alone.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use payments::matching::match_deposits;
use payments::statement::{parse, write, Encoding, Format};
use std::collections::HashSet;
use std::time::Duration;

const DEPOSITS: usize = 50_000;
const INVOICES: usize = 20_000;

fn import(c: &mut Criterion) {
    let month = payments::sample::month(2026, INVOICES, DEPOSITS);
    let book = month.book();
    let bytes = write(Format::FixedWidth, &month.statement, Encoding::Big5).expect("the sample statement writes");
    let seen = HashSet::new();
    let mut group = c.benchmark_group("payments");
    group.bench_function("import_50000_deposits_20000_invoices", |b| {
        b.iter_with_large_drop(|| {
            let statement = parse(Format::FixedWidth, "deposits.txt", &bytes).expect("the sample statement parses");
            let outcome = match_deposits(&book, &statement.deposits, &seen);
            (statement, outcome)
        })
    });
    group.bench_function("match_50000_deposits_20000_invoices", |b| b.iter_with_large_drop(|| match_deposits(&book, &month.statement.deposits, &seen)));
    group.finish();
    // The bench measured real work: every deposit was taken, none twice.
    let outcome = match_deposits(&book, &month.statement.deposits, &seen);
    assert!(outcome.duplicates.is_empty() && outcome.allocations.len() > DEPOSITS / 2, "the sample month matched too little");
}

criterion_group! {
    name = benches;
    // Defaults that command-line options (`--sample-size`, `--measurement-time`,
    // `--warm-up-time`) override; benches/quick.sh shortens them for CI.
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(15));
    targets = import
}
criterion_main!(benches);
