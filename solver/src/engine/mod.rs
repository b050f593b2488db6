//! The search engine that both metaheuristics run on, and that depends on neither of them:
//!
//! - [`env`](mod@env): what decides when and how a run goes (seed, limits, cancellation, progress
//!   reports) and what a run returns;
//! - [`segment`], [`schedule`], [`state`]: the solution being searched, one route per vehicle,
//!   with cached route segments so that a candidate route is evaluated by concatenating a
//!   handful of them (exact stop-by-stop schedules where breaks or several windows need one);
//! - [`neighbours`], [`rng`], [`three`]: granular neighbourhoods, the seeded random numbers, and
//!   the three best of a stream of candidates;
//! - [`construct`], [`pairs`]: insertion (cheapest, regret, from a warm start), pairs as units;
//! - [`moves`], [`local_search`]: the local-search moves behind one registry, and the granular
//!   local search that tries them to a local optimum.
//!
//! Modules here depend only on `model` and `solution` and on each other, without cycles (the
//! test `solver/tests/module_graph.rs` checks both).

pub mod construct;
pub mod env;
pub mod grid;
pub mod local_search;
pub mod moves;
pub mod neighbours;
pub mod pairs;
pub mod rng;
pub mod schedule;
pub mod segment;
pub mod state;
pub mod three;
