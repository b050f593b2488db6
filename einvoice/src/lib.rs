//! Taiwan e-invoice (電子發票) rules and file formats, free of any database or network.
//!
//! The service's invoicing module (`planner-api/src/invoicing`) stores and issues invoices; this
//! crate knows what a valid invoice is and how it is written down:
//! - [`money`]: the one money type of the product, integer New Taiwan dollars ([`money::Ntd`]);
//! - [`calendar`]: the one clock and calendar (Asia/Taipei), two-month invoice periods, ROC dates,
//!   upload and blank-number report deadlines;
//! - [`ban`]: 統一編號 (Unified Business Number) and its check;
//! - [`carrier`]: how a B2C invoice reaches its buyer: printed, on a carrier, or donated;
//! - [`number`]: invoice numbers, tracks (字軌) and the four-digit random code;
//! - [`tax`]: the amounts of an invoice (B2B and B2C), their tax and the split of allowances;
//! - [`proof`]: the printed invoice proof (電子發票證明聯): barcode and QR contents, PNG and PDF;
//! - [`mig`]: the MIG 4.1 messages (F0401, F0501, F0701, G0401, G0501, E0402) and their XML;
//! - [`turnkey`]: Turnkey's outbox folders, atomic writes into them, and its result files;
//!
//! Sources are cited where a rule is implemented; facts that could not be checked against the
//! Ministry of Finance's published texts are marked *unverified* and kept configurable.

pub mod ban;
pub mod calendar;
pub mod carrier;
pub mod mig;
pub mod money;
pub mod number;
pub mod proof;
mod serde_str;
pub mod tax;
pub mod turnkey;
