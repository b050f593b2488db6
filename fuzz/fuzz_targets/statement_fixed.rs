//! The fixed-width deposit statement arrives from a bank over SFTP: `parse` must return `Ok` or
//! `Err` on any bytes, never panic, and a statement it accepts must write back, in either
//! layout and either encoding, to a file that reads as the same statement.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payments::statement::{parse, parse_as, write, Encoding, Format};

fuzz_target!(|data: &[u8]| {
    match parse(Format::FixedWidth, "fuzz.txt", data) {
        Ok(statement) => {
            for format in [Format::FixedWidth, Format::Csv] {
                for encoding in [Encoding::Utf8, Encoding::Big5] {
                    let bytes = write(format, &statement, encoding).unwrap_or_else(|e| panic!("a parsed statement does not write: {e}"));
                    assert_eq!(parse_as(format, encoding, "again.txt", &bytes).as_ref(), Ok(&statement), "{format:?} {encoding:?}");
                }
            }
        }
        Err(e) => {
            assert!(e.line >= 1);
            let _ = e.to_string();
        }
    }
});
