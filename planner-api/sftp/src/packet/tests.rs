//! Packet encoding and decoding against bytes written out by hand from draft-02.

use super::*;

fn name_packet() -> Response {
    Response::Name {
        id: 7,
        entries: vec![
            NameEntry {
                filename: "對帳單 2026-12-01.csv".as_bytes().to_vec(),
                longname: b"-rw-r--r--    1 bank bank   120 Dec  1 08:00 x".to_vec(),
                attrs: Attrs {
                    size: Some(120),
                    uid_gid: Some((1000, 1000)),
                    permissions: Some(0o100_644),
                    atime_mtime: Some((1, 1_764_547_200)),
                    extended: vec![],
                },
            },
            NameEntry { filename: b"\xa5\xbf".to_vec(), longname: vec![], attrs: Attrs::default() },
        ],
    }
}

fn every_response() -> Vec<Response> {
    vec![
        Response::Version { version: 3, extensions: vec![(b"posix-rename@openssh.com".to_vec(), b"1".to_vec())] },
        Response::Status { id: 1, code: SSH_FX_NO_SUCH_FILE, message: "No such file".into(), language: "en".into() },
        Response::Handle { id: 2, handle: vec![0, 0, 0, 1] },
        Response::Data { id: 3, data: vec![0xa5, 0xbf, 0, 0xff] },
        name_packet(),
        Response::Attrs { id: 5, attrs: Attrs { extended: vec![(b"a@b".to_vec(), b"x".to_vec())], ..Attrs::default() } },
        Response::ExtendedReply { id: 6, data: b"\0\0\0\x01".to_vec() },
    ]
}

#[test]
fn encodes_init_and_read_as_draft_02_lays_them_out() {
    assert_eq!(Request::Init.encode(), [0, 0, 0, 5, 1, 0, 0, 0, 3]);
    let read = Request::Read { id: 9, handle: b"h1", offset: 0x1_0000_0002, len: 32768 }.encode();
    assert_eq!(read, [0, 0, 0, 23, 5, 0, 0, 0, 9, 0, 0, 0, 2, b'h', b'1', 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x80, 0]);
    let rename = Request::Rename { id: 1, from: "a", to: "b/c" }.encode();
    assert_eq!(rename, [0, 0, 0, 17, 18, 0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 3, b'b', b'/', b'c']);
    let open = Request::Open { id: 2, path: "f", pflags: SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC, attrs: Attrs::default() }.encode();
    assert_eq!(open, [0, 0, 0, 18, 3, 0, 0, 0, 2, 0, 0, 0, 1, b'f', 0, 0, 0, 0x1a, 0, 0, 0, 0]);
}

#[test]
fn decodes_a_status_written_by_hand() {
    let bytes = [0, 0, 0, 0x18, 101, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 7, b'n', b'o', b' ', b'f', b'i', b'l', b'e', 0, 0, 0, 0, 0xff];
    let (response, used) = decode(&bytes).unwrap();
    assert_eq!(used, 28);
    assert_eq!(response, Response::Status { id: 4, code: 2, message: "no file".into(), language: String::new() });
    assert_eq!(response.id(), Some(4));
}

#[test]
fn decodes_what_it_encodes_and_takes_one_packet_at_a_time() {
    let all = every_response();
    let stream: Vec<u8> = all.iter().flat_map(Response::encode).collect();
    let mut rest = &stream[..];
    for expected in &all {
        let (response, used) = decode(rest).unwrap();
        assert_eq!(&response, expected);
        assert_eq!(used, expected.encode().len());
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
}

#[test]
fn accepts_a_version_3_status_without_message_and_language() {
    let bytes = [0, 0, 0, 9, 101, 0, 0, 0, 1, 0, 0, 0, 0];
    assert_eq!(decode(&bytes).unwrap().0, Response::Status { id: 1, code: SSH_FX_OK, message: String::new(), language: String::new() });
}

#[test]
fn replaces_non_utf8_in_status_messages_but_keeps_file_names_as_bytes() {
    let mut bytes = Response::Status { id: 1, code: 4, message: "x".into(), language: String::new() }.encode();
    bytes[13 + 4] = 0xff;
    let (Response::Status { message, .. }, _) = decode(&bytes).unwrap() else { panic!("not a status") };
    assert_eq!(message, "\u{fffd}");
    let (Response::Name { entries, .. }, _) = decode(&name_packet().encode()).unwrap() else { panic!("not a name") };
    assert_eq!(entries[1].filename, b"\xa5\xbf");
    assert!(entries[0].attrs.is_file() && !entries[0].attrs.is_dir());
}

fn protocol_error(bytes: &[u8]) -> String {
    match decode(bytes) {
        Err(SftpError::Protocol(m)) => m,
        other => panic!("{bytes:?} decoded to {other:?}"),
    }
}

#[test]
fn rejects_truncated_packets_at_every_length() {
    for packet in every_response().iter().map(Response::encode) {
        for cut in 0..packet.len() {
            let m = protocol_error(&packet[..cut]);
            assert!(m.contains("truncated"), "{cut}: {m}");
        }
    }
}

#[test]
fn rejects_a_length_over_the_limit_before_reading_the_body() {
    let m = protocol_error(&[0, 4, 0, 1, 103]);
    assert!(m.contains("262145 bytes, more than the limit of 262144"), "{m}");
    assert!(protocol_error(&[0, 0, 0, 0]).contains("empty packet"));
    assert_eq!(body_length([0, 4, 0, 0]).unwrap(), MAX_PACKET);
}

#[test]
fn rejects_a_packet_whose_fields_do_not_fit_its_length() {
    // A body that says its string is longer than the packet.
    let m = protocol_error(&[0, 0, 0, 9, 103, 0, 0, 0, 1, 0, 0, 1, 0]);
    assert!(m.contains("malformed DATA packet") && m.contains("runs past the end"), "{m}");
    // Bytes left over after the last field.
    let m = protocol_error(&[0, 0, 0, 10, 102, 0, 0, 0, 1, 0, 0, 0, 0, 9]);
    assert!(m.contains("1 bytes after the last field"), "{m}");
    assert!(protocol_error(&[0, 0, 0, 1, 99]).contains("unknown type 99"));
}

#[test]
fn rejects_counts_the_packet_cannot_hold_before_allocating() {
    let m = protocol_error(&[0, 0, 0, 21, 104, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert!(m.contains("4294967295 names announced, the packet holds at most 1"), "{m}");
    let m = protocol_error(&[0, 0, 0, 17, 105, 0, 0, 0, 1, 0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    assert!(m.contains("extended attributes announced"), "{m}");
    let m = protocol_error(&[0, 0, 0, 9, 105, 0, 0, 0, 1, 0, 0, 0, 0x10]);
    assert!(m.contains("attribute flags 0x00000010"), "{m}");
}

#[test]
fn rejects_a_handle_longer_than_256_bytes() {
    let m = protocol_error(&Response::Handle { id: 1, handle: vec![7; 257] }.encode());
    assert!(m.contains("a handle of 257 bytes"), "{m}");
}

#[test]
fn survives_every_single_byte_change_of_valid_packets() {
    for packet in every_response().iter().map(Response::encode) {
        for at in 0..packet.len() {
            for value in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut changed = packet.clone();
                changed[at] = value;
                if let Ok((response, used)) = decode(&changed) {
                    assert!(used <= changed.len());
                    assert_eq!(decode(&response.encode()).unwrap().0, response);
                }
            }
        }
    }
}
