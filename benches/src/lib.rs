//! Shared helpers of the benches (where the public instances are, and how to load them) and
//! the bench summary behind the `bench-summary` binary ([`summary`]).

pub mod summary;

mod days;

pub use days::replan_day;
use solver::io::{read_instance, Format, Instance, Rounding};
use std::path::PathBuf;

/// The shared datasets folder (`../shared/datasets` from the project root).
pub fn datasets_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/datasets"))
}

/// Loads a public instance by its path under the datasets folder, panicking with a clear
/// message when it is missing (benches must not silently measure nothing).
pub fn load(relative: &str) -> Instance {
    let path = datasets_dir().join(relative);
    read_instance(&path, Format::Auto, Rounding::Auto).unwrap_or_else(|e| panic!("bench input {}: {e}", path.display()))
}
