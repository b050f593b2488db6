//! The old program's exports come from outside (a clerk's export, a file copied over): reading
//! one as any of the four tables must return `Ok` or `Err` on any bytes, never panic; a file read
//! row by row fails only on its structure, each row then a record or a row-level reject; and a
//! file read whole writes back to a file that reads as the same records.
#![no_main]

use legacy::export::{read, read_each, write, Record};
use legacy::{Customer, Delivery, Order, OrderLine};
use libfuzzer_sys::fuzz_target;

fn check<T: Record>(data: &[u8]) {
    match read_each::<T, _>("fuzz.csv", data) {
        Ok(rows) => {
            for row in &rows {
                if let Err(e) = row {
                    assert!(e.problem.is_row_level(), "a structural problem reported per row: {e}");
                    assert!(e.line >= 2);
                }
            }
            let whole = read::<T, _>("fuzz.csv", data);
            assert_eq!(whole.is_ok(), rows.iter().all(Result::is_ok));
            if let Ok(records) = whole {
                let bytes = write(&records).unwrap_or_else(|e| panic!("records read do not write: {e}"));
                assert_eq!(read::<T, _>("again.csv", &bytes[..]), Ok(records));
            }
        }
        Err(e) => {
            assert!(!e.problem.is_row_level(), "a row-level problem refused the file: {e}");
            assert!(e.line >= 1);
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check::<Customer>(data);
    check::<Order>(data);
    check::<OrderLine>(data);
    check::<Delivery>(data);
});
