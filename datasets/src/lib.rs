//! Dataset manifests and instance generators.
//!
//! - [`distributor`]: a realistic distributor (depots, fleet, drivers, customers, a day of
//!   orders) as API input, for `luckygas serve --demo`;
//! - [`legacy`]: a year of the distributor's old system (customers, orders, deliveries, with the
//!   dirt real data has) as Big5 CSV exports and SQL scripts, deterministic for a seed;
//! - [`manifest`]: the public benchmark families under `../shared/datasets` and their
//!   conventions (rounding, cost units), for the replay tool;
//! - [`replay`]: solving benchmark instances and comparing the results with their best-known
//!   solutions, per instance and per family (the library behind `luckygas replay` and the
//!   quality gate in `tests/quality_gate.rs`);
//! - [`taipei`]: realistic LPG delivery days in Taipei and New Taipei in the JSON problem format
//!   ([`solver::io::json`]), deterministic for a seed; `examples/taipei-day.json` is
//!   `taipei_day(2026, 40)`.

pub mod distributor;
pub mod legacy;
pub mod manifest;
mod places;
pub mod replay;
mod rng;
pub mod taipei;

pub use rng::SplitMix64;
pub use taipei::{generate, taipei_day, DayOptions};

#[cfg(test)]
mod tests;
