//! The VROOM reader (the `/v1/vroom` request format) must return `Ok` or `Err` on any text,
//! never panic: parsing, converting to the model (with made-up matrices for profiles that have
//! coordinates only), and answering with nothing served.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solver::io::vroom::{self, PointMatrices};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(input) = vroom::parse(&text) else { return };
    // Travel between points: the difference of their positions in the list, as a caller's
    // travel source would give some square matrix.
    let n = input.points().len();
    let m: Vec<Vec<i64>> = (0..n).map(|a| (0..n).map(|b| (a as i64 - b as i64).abs() * 100).collect()).collect();
    let supplied: BTreeMap<String, PointMatrices> = input
        .profiles_without_matrices()
        .into_iter()
        .map(|p| (p.to_owned(), PointMatrices { durations: m.clone(), distances: m.clone() }))
        .collect();
    if let Ok(model) = vroom::build(input, &supplied) {
        let _ = vroom::answer(&model, Default::default());
    }
});
