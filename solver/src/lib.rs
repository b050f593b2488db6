//! The LuckyGas routing engine.
//!
//! - [`model`]: the immutable, validated problem (depots, clients, vehicle types, matrices);
//! - [`solution`]: routes, trips and unassigned clients;
//! - [`io`]: VRPLIB, Solomon and `.sol` readers and writers (all rounding happens there);
//! - [`check`]: an independent checker that recomputes costs and lists every violation;
//! - [`search`]: construction and local search with concatenation-based move evaluation;
//! - [`hgs`]: the hybrid genetic search built on that local search.
//!
//! The crate has no async runtime and no database: the service wraps it.

pub mod check;
pub mod error;
pub mod hgs;
pub mod io;
pub mod model;
pub mod replan;
pub mod search;
pub mod solution;

#[cfg(test)]
pub(crate) mod test_support;

pub use error::{ModelError, ReadError};
pub use model::Problem;
pub use solution::{Route, Solution, Trip, Unassigned, UnassignedReason};
