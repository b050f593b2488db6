//! Packets from the bank's SFTP server (`luckygas_sftp::packet::decode`): any bytes decode to a
//! packet or a protocol error, never a panic or an allocation beyond the input; a decoded packet
//! takes no more than the input holds, and encodes to bytes that decode to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luckygas_sftp::packet::{decode, MAX_PACKET};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    // A stream of packets, as they arrive from `ssh`: decode one after another.
    while let Ok((response, used)) = decode(rest) {
        assert!(used >= 5 && used <= rest.len() && used <= 4 + MAX_PACKET, "took {used} of {} bytes", rest.len());
        let again = response.encode();
        let (decoded, again_used) = decode(&again).unwrap_or_else(|e| panic!("{response:?} encodes to bytes that do not decode: {e}"));
        assert_eq!(decoded, response);
        assert_eq!(again_used, again.len());
        let _ = response.id();
        rest = &rest[used..];
    }
    if let Err(e) = decode(rest) {
        let _ = e.to_string();
    }
});
