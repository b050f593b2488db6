//! The `.sol` reader must return `Ok` or `Err` on any text, never panic. Solutions are read
//! against one fixed small CVRP instance (a depot and four clients), parsed once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use solver::io::{sol, vrplib, Instance, Rounding};
use std::path::Path;
use std::sync::OnceLock;

const INSTANCE: &str = "\
NAME : fuzz-n5-k2
TYPE : CVRP
DIMENSION : 5
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 -3 4
4 6 0
5 0 -7
DEMAND_SECTION
1 0
2 4
3 5
4 3
5 6
DEPOT_SECTION
1
-1
EOF
";

fn instance() -> &'static Instance {
    static CELL: OnceLock<Instance> = OnceLock::new();
    CELL.get_or_init(|| {
        // A valid instance that the reader rejects is a bug to report, not an input to skip.
        vrplib::parse(INSTANCE, Path::new("fuzz-n5-k2.vrp"), Rounding::Auto)
            .unwrap_or_else(|e| panic!("the fixed fuzz instance must parse: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let instance = instance();
    let text = String::from_utf8_lossy(data);
    let _ = sol::read(&text, Path::new("fuzz.sol"), instance);
});
