//! The distributor's old system as the new one meets it (issue 18), without any database or
//! network of its own:
//!
//! - [`schema`]: the old tables (`CUST_MST`, `ORD_HDR`, `ORD_DTL`, `DLV_REC`, and our `SYNC_KEY`)
//!   described as data, with DDL text for SQLite and PostgreSQL;
//! - [`record`] and [`codes`]: what a valid row means, as typed values;
//! - [`export`]: the old program's Big5 CSV exports, read all or nothing (or row by row with
//!   each reject named, for an import's dry run) and written;
//! - [`sql`]: `INSERT` text that loads rows into a legacy database;
//! - [`clean`]: the rules an import needs: phones, addresses, duplicate customers;
//! - [`districts`]: centroids of the districts of Taipei and New Taipei, for customers without
//!   coordinates (an approximate position);
//! - [`big5`]: Big5 widths, as the old fixed-width columns count them.
//!
//! Money is [`einvoice::money::Ntd`] (whole NT$) and ROC dates go through
//! [`einvoice::calendar`].

pub mod big5;
pub mod clean;
pub mod codes;
pub mod districts;
pub mod export;
pub mod record;
pub mod schema;
pub mod sql;

pub use codes::SIZES_KG;
pub use export::{read, read_each, write, ExportError, Problem, Record};
pub use record::{Customer, Delivery, LatLon, Order, OrderLine, Quantities, Stamp};
pub use schema::{ddl, Dialect};
