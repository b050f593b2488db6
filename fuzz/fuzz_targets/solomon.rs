//! The Solomon instance reader must return `Ok` or `Err` on any text, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solver::io::{solomon, Rounding};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = solomon::parse(&text, Path::new("fuzz.txt"), Rounding::Auto);
});
