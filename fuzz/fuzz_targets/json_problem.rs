//! The JSON problem reader (the API's request format) must return `Ok` or `Err` on any text,
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solver::io::json;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = json::parse(&text);
});
