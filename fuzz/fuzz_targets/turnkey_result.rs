//! Turnkey's result files (ProcessResult, SummaryResult) are read from a folder any program can
//! write to: the parsers must return `Ok` or `Err` on any bytes, never panic, and what they return
//! must hold together.
#![no_main]

use einvoice::turnkey::{parse_process_result, parse_result, parse_summary_result, ResultFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_result(data);
    // The typed entry points agree with the general one.
    assert_eq!(parse_process_result(data).is_ok(), matches!(parsed, Ok(ResultFile::Process(_))));
    assert_eq!(parse_summary_result(data).is_ok(), matches!(parsed, Ok(ResultFile::Summary(_))));
    match parsed {
        Ok(ResultFile::Summary(s)) => {
            for m in &s.messages {
                let _ = m.is_consistent();
            }
        }
        Ok(ResultFile::Process(p)) => {
            for r in &p.results {
                // A rejection's code is only kept for rejections.
                assert!(r.status == einvoice::turnkey::Status::Rejected || r.error_code.is_none());
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
