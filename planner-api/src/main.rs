//! The `luckygas` command line.
fn main() {}
