//! The LuckyGas planning service and its command line.
//!
//! - [`auth`]: password hashes, access and refresh tokens, settings from the environment;
//! - [`cli`]: the `luckygas` command line (solve, check, plan, replay, serve, migrate);
//! - [`domain`]: plain types and validation (depots, customers);
//! - [`store`]: persistence on SQLite or PostgreSQL with embedded migrations;
//! - [`http`]: the axum application ([`http::app`]) serving `/v1/…`, `/healthz` and `/readyz`.

pub mod auth;
pub mod cli;
pub mod domain;
pub mod http;
pub mod store;
