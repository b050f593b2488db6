//! The VRPLIB instance reader must return `Ok` or `Err` on any text, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solver::io::{vrplib, Rounding};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.vrp");
    let _ = vrplib::parse(&text, path, Rounding::Auto);
    let _ = vrplib::parse(&text, path, Rounding::Dimacs);
});
