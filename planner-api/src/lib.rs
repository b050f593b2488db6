//! The LuckyGas planning service and its command line.
//!
//! - [`auth`]: password hashes, access and refresh tokens, settings from the environment;
//! - [`cli`]: the `luckygas` command line (solve, check, plan, replay, serve, migrate);
//! - [`demo`]: the demo distributor loaded by `luckygas serve --demo`;
//! - [`domain`]: plain types and validation (depots, customers, vehicles, orders, plans);
//! - [`flags`]: feature flags: the snapshot every handler and worker evaluates, kept current;
//! - [`store`]: persistence on SQLite or PostgreSQL with embedded migrations;
//! - [`sync`]: the legacy system: import, dual write through the outbox, the sync worker;
//! - [`http`]: the axum application ([`http::app`]) serving `/v1/…`, `/healthz` and `/readyz`;
//! - [`worker`]: planning jobs claimed from the store's queue and solved off the executor;
//! - [`travel`]: travel matrices (great-circle with detour, cached per H3 cell pair, or OSRM);
//! - [`osrm`]: the OSRM `table` client (blocks, timeout, circuit breaker) for road matrices.

pub mod auth;
pub mod cli;
pub mod demo;
pub mod domain;
pub mod flags;
pub mod http;
pub mod invoicing;
pub mod jobs;
pub mod osrm;
pub mod planning;
pub mod receivables;
pub mod road;
pub mod store;
pub mod sync;
pub mod travel;
pub mod worker;
