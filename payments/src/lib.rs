//! The payments core of issue 17, free of any database or network: what the service's payments
//! module (`planner-api`, later) stores, fetches over SFTP and shows, this crate computes.
//!
//! - [`virtual_account`]: virtual-account numbers (虛擬帳號) by bank layouts described as data,
//!   with their check digits; Cathay United Bank's 16 digits shipped;
//! - [`statement`]: banks' deposit statements (虛擬帳號入帳明細) in a fixed-width text layout and a
//!   CSV layout, UTF-8 or Big5: parsed all or nothing, and written (for tests and publishing);
//! - [`matching`]: deposits matched to open invoices (by virtual account, then amount, then date),
//!   with partial payments, credits and an unmatched queue;
//! - [`aging`]: receivables aging per customer as of a date;
//! - [`sample`]: a synthetic month of invoices and deposits for benchmarks, examples and tests.
//!
//! Money is [`einvoice::money::Ntd`] (whole NT$) and dates are Taipei dates
//! ([`einvoice::calendar`]); ROC dates and Big5 appear only in the statement layouts.

pub mod aging;
pub mod matching;
pub mod sample;
pub mod statement;
pub mod virtual_account;
