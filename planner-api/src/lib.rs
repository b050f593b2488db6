//! The LuckyGas planning service and its command line.
//!
//! For now this crate holds the `luckygas` command line ([`cli`]): solving benchmark instances,
//! checking solutions, and planning a delivery day described in the JSON problem format.

pub mod cli;
