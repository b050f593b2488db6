//! Turnkey files: atomic writes into the outbox, and the result files it leaves for us.

use einvoice::mig::MessageType;
use einvoice::turnkey::{
    outbound_dir, parse_process_result, parse_result, parse_summary_result, scan_inbound, write_atomically, write_staged, ResultError, ResultFile, Route,
    Status, MAX_RESULT_BYTES,
};
use std::fs;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const SUMMARY: &[u8] = include_bytes!("data/SummaryResult.xml");
const REJECTED: &[u8] = include_bytes!("data/ProcessResult-rejected.xml");
const ACCEPTED: &[u8] = include_bytes!("data/ProcessResult-accepted.xml");
const FLAT: &[u8] = include_bytes!("data/ProcessResult-flat.xml");

#[test]
fn write_creates_the_outbox_and_leaves_no_temp_file() {
    let root = tempfile::tempdir().unwrap();
    let dir = outbound_dir(root.path(), MessageType::F0401, Route::Storage);
    let path = write_atomically(&dir, "F0401_FN53067850_001.xml", b"<Invoice/>").unwrap();
    assert_eq!(path, root.path().join("UpCast/B2SSTORAGE/F0401/SRC/F0401_FN53067850_001.xml"));
    assert_eq!(fs::read(&path).unwrap(), b"<Invoice/>");
    let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["F0401_FN53067850_001.xml"]);
}

#[test]
fn identical_rewrite_is_ok_and_different_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_atomically(dir.path(), "a.xml", b"one").unwrap();
    assert_eq!(write_atomically(dir.path(), "a.xml", b"one").unwrap(), first);
    let e = write_atomically(dir.path(), "a.xml", b"two").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let e = write_atomically(dir.path(), "a.xml", b"on").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&first).unwrap(), b"one", "the existing file is untouched");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file left behind");
}

#[test]
fn file_names_must_be_plain() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "../x.xml", "a/b.xml", ".hidden.xml", "a\\b.xml"] {
        let e = write_atomically(dir.path(), bad, b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
}

#[test]
fn staged_write_keeps_the_temp_file_outside_the_outbox() {
    let root = tempfile::tempdir().unwrap();
    let staging = root.path().join("staging");
    let dir = root.path().join("SRC");
    write_staged(&staging, &dir, "b.xml", b"payload").unwrap();
    assert_eq!(fs::read(dir.join("b.xml")).unwrap(), b"payload");
    assert_eq!(fs::read_dir(&staging).unwrap().count(), 0);
}

/// A reader polling the final names while large files are written never sees partial content.
#[test]
fn readers_never_see_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let payload: Arc<Vec<u8>> = Arc::new((0..4 << 20).map(|i: u32| (i % 251) as u8).collect());
    let names: Vec<String> = (0..8).map(|i| format!("F0401_FN{:08}_001.xml", i)).collect();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (dir, payload, names, done) = (dir.path().to_path_buf(), payload.clone(), names.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seen = 0usize;
            while !done.load(Ordering::Acquire) {
                for name in &names {
                    if let Ok(bytes) = fs::read(dir.join(name)) {
                        assert_eq!(bytes.len(), payload.len(), "{name} seen with partial content");
                        assert!(bytes == *payload, "{name} seen with wrong content");
                        seen += 1;
                    }
                }
            }
            seen
        })
    };
    for name in &names {
        write_atomically(dir.path(), name, &payload).unwrap();
    }
    done.store(true, Ordering::Release);
    reader.join().expect("the reader saw only complete files");
    for name in &names {
        assert!(fs::read(dir.path().join(name)).unwrap() == *payload);
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), names.len());
}

#[test]
fn summary_result_lists_accepted_and_rejected_invoices() {
    let s = parse_summary_result(SUMMARY).unwrap();
    assert_eq!(s.party_id.as_deref(), Some("04595252"));
    assert_eq!(s.routing_id.as_deref(), Some("PS04595252"));
    assert_eq!(s.messages.len(), 2);
    assert_eq!((s.messages[0].total, s.messages[0].good, s.messages[0].failed), (3, 2, 1));
    assert!(s.messages.iter().all(|m| m.is_consistent()));
    assert_eq!(s.messages[1].message_type.as_deref(), Some("G0401"));

    let accepted: Vec<_> = s.results.iter().filter(|r| r.status == Status::Accepted).map(|r| r.reference_number.as_deref().unwrap()).collect();
    assert_eq!(accepted, ["FN53067850", "FN53067851", "AL2025031600001"]);
    let rejected: Vec<_> = s.results.iter().filter(|r| r.status == Status::Rejected).collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].reference_number.as_deref(), Some("FN53067852"));
    assert_eq!(rejected[0].message_type.as_deref(), Some("F0401"));
    assert_eq!(rejected[0].invoice_date.as_deref(), Some("20250314"));
    assert!(rejected[0].message_id.as_deref().unwrap().starts_with("4.1-F0401-20250314-"));
}

#[test]
fn process_result_rejection_carries_code_and_message() {
    let p = parse_process_result(REJECTED).unwrap();
    assert_eq!(p.message_type.as_deref(), Some("F0401"));
    assert_eq!(p.results.len(), 1);
    let r = &p.results[0];
    assert_eq!(r.status, Status::Rejected);
    assert_eq!(r.reference_number.as_deref(), Some("FN53067852"));
    assert_eq!(r.error_code.as_deref(), Some("E0401"));
    assert_eq!(r.error_message.as_deref(), Some("發票號碼重複上傳 (duplicate invoice)"));

    let p = parse_process_result(ACCEPTED).unwrap();
    assert_eq!(p.results[0].status, Status::Accepted);
    assert_eq!(p.results[0].error_code, None);
    assert_eq!(p.results[0].reference_number.as_deref(), Some("FN53067850"));
    assert_eq!(p.results[0].message_type.as_deref(), Some("F0501"));
}

#[test]
fn process_result_flat_form() {
    let p = parse_process_result(FLAT).unwrap();
    assert_eq!(p.results.len(), 2);
    assert_eq!(p.results[0].status, Status::Accepted);
    assert_eq!(p.results[0].reference_number.as_deref(), Some("FN53067850"));
    assert_eq!(p.results[0].message_type.as_deref(), Some("F0401"));
    let r = &p.results[1];
    assert_eq!(r.status, Status::Rejected);
    assert_eq!(r.error_code.as_deref(), Some("3002"));
    assert_eq!(r.error_message.as_deref(), Some("重複上傳同一張發票"));

    // A single flat record at the root.
    let one = b"<ProcessResult><ResultCode>0000</ResultCode><InvoiceNumber>FN53067850</InvoiceNumber></ProcessResult>";
    let p = parse_process_result(one).unwrap();
    assert_eq!(p.results.len(), 1);
    assert_eq!(p.results[0].status, Status::Accepted);
}

#[test]
fn malformed_files_give_errors() {
    let truncated = &SUMMARY[..SUMMARY.len() / 2];
    assert!(matches!(parse_result(truncated), Err(ResultError::Xml(_))));
    assert!(matches!(parse_result(b""), Err(ResultError::Xml(_))));
    assert!(matches!(parse_result(b"\xB0\xDA\xA4\xE5"), Err(ResultError::Encoding(_))));
    assert!(matches!(parse_result(b"<?xml version=\"1.0\" encoding=\"Big5\"?><SummaryResult/>"), Err(ResultError::Encoding(_))));
    assert!(matches!(parse_result(b"<Invoice/>"), Err(ResultError::UnknownRoot(r)) if r == "Invoice"));
    assert!(matches!(parse_summary_result(REJECTED), Err(ResultError::UnknownRoot(_))));
    assert!(matches!(parse_process_result(SUMMARY), Err(ResultError::UnknownRoot(_))));
    let dtd = b"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">]><SummaryResult>&a;</SummaryResult>";
    assert!(matches!(parse_result(dtd), Err(ResultError::Xml(_))), "DTDs are refused");
    let bad_count = b"<SummaryResult><DetailList><Message><ResultType><Total><ResultDetailType><Count>x</Count></ResultDetailType></Total></ResultType></Message></DetailList></SummaryResult>";
    assert!(matches!(parse_result(bad_count), Err(ResultError::BadValue { field: "Count", .. })));
    let no_result_type = b"<SummaryResult><DetailList><Message/></DetailList></SummaryResult>";
    assert_eq!(parse_result(no_result_type), Err(ResultError::Missing("ResultType")));
    let huge = vec![b' '; MAX_RESULT_BYTES + 1];
    assert!(matches!(parse_result(&huge), Err(ResultError::TooLarge { .. })));
    // Deep nesting is an error or a result, never a crash.
    let deep = format!("<ProcessResult>{}{}</ProcessResult>", "<a>".repeat(100_000), "</a>".repeat(100_000));
    let _ = parse_result(deep.as_bytes());
}

#[test]
fn scan_finds_results_and_reports_broken_ones() {
    let root = tempfile::tempdir().unwrap();
    let summary_dir = root.path().join("Unpack/B2BEXCHANGE/BAK/SummaryResult/20250315/09");
    let process_dir = root.path().join("Unpack/B2SSTORAGE/F0401/ProcessResult/20250314/10");
    let other_dir = root.path().join("Unpack/B2BEXCHANGE/BAK/E0501/20250301/08");
    for d in [&summary_dir, &process_dir, &other_dir] {
        fs::create_dir_all(d).unwrap();
    }
    fs::write(summary_dir.join("summary.xml"), SUMMARY).unwrap();
    fs::write(process_dir.join("a.xml"), REJECTED).unwrap();
    fs::write(process_dir.join("b.xml"), &REJECTED[..100]).unwrap();
    fs::write(process_dir.join(".partial.tmp"), b"ignored").unwrap();
    fs::write(other_dir.join("envelope.xml"), b"<InvoiceEnvelope/>").unwrap();

    let found = scan_inbound(root.path()).unwrap();
    let names: Vec<_> = found.iter().map(|f| f.path.strip_prefix(root.path()).unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        [
            "Unpack/B2BEXCHANGE/BAK/SummaryResult/20250315/09/summary.xml",
            "Unpack/B2SSTORAGE/F0401/ProcessResult/20250314/10/a.xml",
            "Unpack/B2SSTORAGE/F0401/ProcessResult/20250314/10/b.xml"
        ]
    );
    assert!(matches!(found[0].parsed, Ok(ResultFile::Summary(_))));
    assert_eq!(found[1].parsed.as_ref().unwrap().results()[0].status, Status::Rejected);
    assert!(found[2].parsed.is_err(), "a truncated result is listed with its error");

    let empty = tempfile::tempdir().unwrap();
    assert!(scan_inbound(empty.path()).unwrap().is_empty());
}
