//! The LuckyGas planning service and its command line.
//!
//! - [`cli`]: the `luckygas` command line (solve, check, plan, replay, serve, migrate);
//! - [`domain`]: plain types and validation (depots, customers);
//! - [`store`]: persistence on SQLite or PostgreSQL with embedded migrations;
//! - [`osrm`]: the OSRM `table` client (timeout, blocks, circuit breaker) for road matrices;
//! - [`http`]: the axum application ([`http::app`]) serving `/v1/…`, `/healthz` and `/readyz`.

pub mod cli;
pub mod domain;
pub mod http;
pub mod osrm;
pub mod store;
