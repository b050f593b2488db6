//! The LuckyGas routing engine, in rooms that depend on each other in one direction only
//! (`solver/tests/module_graph.rs` fails on a cycle):
//!
//! - data: [`model`] (the immutable, validated problem: depots, clients, vehicle types,
//!   matrices), [`solution`] (routes, trips and unassigned clients), [`error`];
//! - [`check`]: an independent checker that recomputes costs and lists every violation, and
//!   [`repair`], which takes optional clients out of a solution until the checker accepts it;
//! - [`io`]: VRPLIB, Solomon, `.sol`, JSON and VROOM readers and writers (all rounding happens
//!   there);
//! - [`engine`]: the machinery both metaheuristics share (search state with concatenation-based
//!   route evaluation, neighbours, randomness, construction, the granular local search and its
//!   moves, the run environment), which depends on neither;
//! - the metaheuristics, each built on [`engine`] alone: [`ruin_recreate`] (the default) and
//!   [`hgs`] (the hybrid genetic search);
//! - [`partition`]: set partitioning over a pool of routes;
//! - [`search`]: the driver, [`search::solve`], which runs either metaheuristic on threads;
//! - [`replan`]: replanning a day under way, on top of [`search`].
//!
//! The crate has no async runtime and no database: the service wraps it.

pub mod check;
pub mod cvrp;
pub mod engine;
pub mod error;
pub mod hgs;
pub mod io;
pub mod model;
pub mod partition;
pub mod repair;
pub mod replan;
pub mod ruin_recreate;
pub mod search;
pub mod solution;
pub mod tsp;

#[cfg(test)]
pub(crate) mod test_support;

pub use error::{ModelError, ReadError};
pub use model::Problem;
pub use solution::{Route, Solution, Trip, Unassigned, UnassignedReason};
