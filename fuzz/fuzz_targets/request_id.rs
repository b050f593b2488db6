//! Request ids (`luckygas_wire::request_id`): an id is kept exactly when it is 1 to 64 bytes of
//! `A-Z a-z 0-9 - _ . :` (spelt out here on its own), so a kept id is visible ASCII without
//! spaces, safe to echo in a header and to write into a log line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luckygas_wire::request_id::{is_valid, MAX_LEN};

const ALLOWED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:";

fuzz_target!(|data: &[u8]| {
    let kept = is_valid(data);
    let expected = !data.is_empty() && data.len() <= MAX_LEN && data.iter().all(|b| ALLOWED.contains(b));
    assert_eq!(kept, expected, "{data:?}");
    assert_eq!(MAX_LEN, 64);
    if kept {
        assert!(data.iter().all(|b| (0x21..=0x7e).contains(b)), "visible ASCII only");
        assert!(std::str::from_utf8(data).is_ok());
    }
});
