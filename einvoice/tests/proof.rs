//! The printed proof end to end: contents against the specification's examples, the PNG read
//! back (QR codes with `rqrr`, the Code 39 with a small decoder of our own, written from the
//! standard's published module patterns rather than from the encoder's table), the PDF's
//! structure, and no panic on hostile input.

use chrono::{DateTime, FixedOffset, TimeZone};
use einvoice::money::Ntd;
use einvoice::proof::{
    barcode_text, decrypt_verification, period_label, printed_number, qr_left, qr_right, render_pdf, render_png, verification_field, ProofData, ProofError,
    ProofItem, QrKey, PRINT_WIDTH_DOTS, PROOF_HEIGHT_DOTS,
};
use proptest::prelude::*;

fn taipei(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(y, m, d, hh, mm, 0).unwrap()
}

fn item(description: &str, quantity: &str, unit_price: i64) -> ProofItem {
    ProofItem { description: description.into(), quantity: quantity.into(), unit_price: Ntd(unit_price), amount: Ntd(unit_price) }
}

/// A key for tests only.
fn key() -> QrKey {
    QrKey::from_hex("0123456789ABCDEF0123456789ABCDEF").unwrap()
}

/// The specification's QR example: AB11223344 of 民國102年05月23日, random code 9999, sales 324
/// (hex 144), total 340 (hex 154), consumer buyer, seller 01234567, three items.
fn spec_example() -> ProofData {
    ProofData {
        seller_ban: "01234567".into(),
        seller_name: "測試商店".into(),
        buyer_ban: None,
        invoice_number: "AB11223344".into(),
        issued_at: taipei(2013, 5, 23, 12, 30),
        random_code: "9999".into(),
        sales_amount: Ntd(324),
        tax_amount: Ntd(16),
        total_amount: Ntd(340),
        items: vec![item("乾電池", "1", 105), item("口罩", "1", 210), item("牛奶", "1", 25)],
    }
}

fn sample() -> ProofData {
    ProofData {
        seller_ban: "04595257".into(),
        seller_name: "LuckyGas".into(),
        buyer_ban: Some("10458575".into()),
        invoice_number: "AB12345678".into(),
        issued_at: taipei(2026, 11, 5, 14, 30),
        random_code: "1234".into(),
        sales_amount: Ntd(1314),
        tax_amount: Ntd(66),
        total_amount: Ntd(1380),
        items: vec![item("桶裝瓦斯 20kg", "1", 980), item("桶裝瓦斯 16kg", "1", 400)],
    }
}

// ---- contents -------------------------------------------------------------------------------

#[test]
fn barcode_matches_the_specification_example() {
    let data = ProofData { invoice_number: "UZ17690872".into(), issued_at: taipei(2015, 3, 7, 9, 0), random_code: "0122".into(), ..spec_example() };
    assert_eq!(barcode_text(&data), "10404UZ176908720122");
    let s = sample();
    assert_eq!(barcode_text(&s), "11512AB123456781234");
    assert_eq!(barcode_text(&s).len(), 19);
    // An odd month names the period of the following even month.
    let january = ProofData { issued_at: taipei(2026, 1, 31, 23, 59), ..sample() };
    assert_eq!(&barcode_text(&january)[..5], "11502");
}

#[test]
fn issue_time_is_read_in_taipei() {
    // 2026-10-31T17:00Z is 2026-11-01 01:00 in Taipei: the Nov–Dec period.
    let utc = FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(2026, 10, 31, 17, 0, 0).unwrap();
    let data = ProofData { issued_at: utc, ..sample() };
    assert_eq!(&barcode_text(&data)[..5], "11512");
    assert_eq!(&qr_left(&data, &key()).unwrap()[10..17], "1151101");
}

#[test]
fn printed_labels() {
    assert_eq!(period_label(&sample()), "115年11-12月");
    assert_eq!(period_label(&spec_example()), "102年05-06月");
    assert_eq!(printed_number(&sample()), "AB-12345678");
}

#[test]
fn left_qr_fixed_fields_match_the_specification_example() {
    let left = qr_left(&spec_example(), &key()).unwrap();
    assert_eq!(&left[..53], "AB112233441020523999900000144000001540000000001234567");
    assert_eq!(&left[0..10], "AB11223344", "invoice number");
    assert_eq!(&left[10..17], "1020523", "ROC date yyyMMdd");
    assert_eq!(&left[17..21], "9999", "random code");
    assert_eq!(&left[21..29], "00000144", "sales amount, hex");
    assert_eq!(&left[29..37], "00000154", "total amount, hex");
    assert_eq!(&left[37..45], "00000000", "consumer buyer");
    assert_eq!(&left[45..53], "01234567", "seller");
    assert_eq!(&left[53..77], verification_field("AB11223344", "9999", &key()));
    assert_eq!(decrypt_verification(&left[53..77], &key()).unwrap(), "AB112233449999");
}

#[test]
fn items_continue_from_left_to_right_as_in_the_specification_example() {
    let data = spec_example();
    let left = qr_left(&data, &key()).unwrap();
    let right = qr_right(&data);
    assert!(right.starts_with("**"));
    // Wherever the split falls, left + right (without its `**`) is the example's one record.
    let record = format!("{}{}", &left[77..], &right[2..]);
    assert_eq!(record, ":**********:3:3:1:乾電池:1:105:口罩:1:210:牛奶:1:25");
}

#[test]
fn amounts_are_lower_case_hex_and_b2b_buyer_is_recorded() {
    let data = ProofData { sales_amount: Ntd(3000), total_amount: Ntd(3150), buyer_ban: Some("12345678".into()), ..spec_example() };
    let left = qr_left(&data, &key()).unwrap();
    assert_eq!(&left[21..29], "00000bb8");
    assert_eq!(&left[29..37], "00000c4e");
    assert_eq!(&left[37..45], "12345678");
    let max = ProofData { sales_amount: Ntd(0xFFFF_FFFF), total_amount: Ntd(0xFFFF_FFFF), ..spec_example() };
    assert_eq!(&qr_left(&max, &key()).unwrap()[21..37], "ffffffffffffffff");
}

#[test]
fn single_item_stays_whole_and_right_is_only_the_marker_when_left_takes_all() {
    let data = ProofData { items: vec![item("瓦斯", "1", 840)], ..spec_example() };
    let left = qr_left(&data, &key()).unwrap();
    let right = qr_right(&data);
    assert_eq!(format!("{}{}", &left[77..], &right[2..]), ":**********:1:1:1:瓦斯:1:840");
    let none = ProofData { items: vec![], ..spec_example() };
    assert_eq!(&qr_left(&none, &key()).unwrap()[77..], ":**********:0:0:1");
    assert_eq!(qr_right(&none), "**");
}

#[test]
fn colons_in_item_fields_do_not_split_them() {
    let data = ProofData { items: vec![item("A:B", "1:2", 10)], ..spec_example() };
    let record = format!("{}{}", &qr_left(&data, &key()).unwrap()[77..], &qr_right(&data)[2..]);
    assert_eq!(record, ":**********:1:1:1:A：B:1：2:10");
}

#[test]
fn verification_field_matches_openssl_vectors() {
    // openssl enc -aes-128-cbc -K <key> -iv 0edf25c93a28d7b5ff5e45da42f8a1b8 | base64
    assert_eq!(verification_field("AB11223344", "9999", &key()), "qwR3kQVjkG3wm9vRc0OB1Q==");
    let other = QrKey::from_hex("FE05F029154F6AA67A78B338ED2F6601").unwrap();
    assert_eq!(verification_field("UZ17690872", "0122", &other), "RpCLxJVH19Ebb4AoIHGoAw==");
    assert_eq!(decrypt_verification("RpCLxJVH19Ebb4AoIHGoAw==", &other).unwrap(), "UZ176908720122");
    assert!(decrypt_verification("RpCLxJVH19Ebb4AoIHGoAw==", &key()).is_err());
    assert!(decrypt_verification("not base64!", &key()).is_err());
}

#[test]
fn invalid_data_is_an_error() {
    let k = key();
    type Expect = fn(&ProofError) -> bool;
    let cases: Vec<(ProofData, Expect)> = vec![
        (ProofData { invoice_number: "ab12345678".into(), ..sample() }, |e| matches!(e, ProofError::InvoiceNumber(_))),
        (ProofData { invoice_number: "AB-12345678".into(), ..sample() }, |e| matches!(e, ProofError::InvoiceNumber(_))),
        (ProofData { random_code: "12a4".into(), ..sample() }, |e| matches!(e, ProofError::RandomCode(_))),
        (ProofData { seller_ban: "1234".into(), ..sample() }, |e| matches!(e, ProofError::Ban { which: "seller_ban", .. })),
        (ProofData { buyer_ban: Some("00x".into()), ..sample() }, |e| matches!(e, ProofError::Ban { which: "buyer_ban", .. })),
        (ProofData { total_amount: Ntd(0x1_0000_0000), ..sample() }, |e| matches!(e, ProofError::Amount { which: "total_amount", .. })),
        (ProofData { sales_amount: Ntd(-1), ..sample() }, |e| matches!(e, ProofError::Amount { which: "sales_amount", .. })),
        (ProofData { issued_at: taipei(1900, 1, 1, 0, 0), ..sample() }, |e| matches!(e, ProofError::Year(-11))),
    ];
    for (data, expected) in cases {
        for err in [qr_left(&data, &k).unwrap_err(), render_png(&data, &k).unwrap_err(), render_pdf(&data, &k).unwrap_err()] {
            assert!(expected(&err), "{err:?}");
        }
    }
}

// ---- the PNG read back -----------------------------------------------------------------------

/// The PNG as 8-bit luma rows.
fn luma(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

/// All QR codes found in the image, left to right.
fn read_qr_codes(png_bytes: &[u8]) -> Vec<String> {
    let (w, h, px) = luma(png_bytes);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    let mut grids = img.detect_grids();
    grids.sort_by_key(|g| g.bounds[0].x);
    grids.iter().map(|g| g.decode().expect("QR decodes").1).collect()
}

/// Code 39 module strings (1 = bar, 0 = space; narrow = one module, wide = two), as published
/// for USS Code 39 / ISO/IEC 16388.
const CODE39: [(char, &str); 44] = [
    ('0', "101001101101"),
    ('1', "110100101011"),
    ('2', "101100101011"),
    ('3', "110110010101"),
    ('4', "101001101011"),
    ('5', "110100110101"),
    ('6', "101100110101"),
    ('7', "101001011011"),
    ('8', "110100101101"),
    ('9', "101100101101"),
    ('A', "110101001011"),
    ('B', "101101001011"),
    ('C', "110110100101"),
    ('D', "101011001011"),
    ('E', "110101100101"),
    ('F', "101101100101"),
    ('G', "101010011011"),
    ('H', "110101001101"),
    ('I', "101101001101"),
    ('J', "101011001101"),
    ('K', "110101010011"),
    ('L', "101101010011"),
    ('M', "110110101001"),
    ('N', "101011010011"),
    ('O', "110101101001"),
    ('P', "101101101001"),
    ('Q', "101010110011"),
    ('R', "110101011001"),
    ('S', "101101011001"),
    ('T', "101011011001"),
    ('U', "110010101011"),
    ('V', "100110101011"),
    ('W', "110011010101"),
    ('X', "100101101011"),
    ('Y', "110010110101"),
    ('Z', "100110110101"),
    ('-', "100101011011"),
    ('.', "110010101101"),
    (' ', "100110101101"),
    ('$', "100100100101"),
    ('/', "100100101001"),
    ('+', "100101001001"),
    ('%', "101001001001"),
    ('*', "100101101101"),
];

/// Decodes one scanline as Code 39: runs of dark and light dots between the first and last dark
/// dot, each classed narrow or wide by the midpoint of the shortest and longest run, written as
/// modules and read 13 at a time (12 for a character, one for the gap). `None` unless the line is
/// exactly `*…*` of known characters.
fn decode_code39(row: &[u8]) -> Option<String> {
    let dark: Vec<bool> = row.iter().map(|&v| v < 128).collect();
    let first = dark.iter().position(|&d| d)?;
    let last = dark.iter().rposition(|&d| d)?;
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for &d in &dark[first..=last] {
        match runs.last_mut() {
            Some((c, n)) if *c == d => *n += 1,
            _ => runs.push((d, 1)),
        }
    }
    let min = runs.iter().map(|r| r.1).min()?;
    let max = runs.iter().map(|r| r.1).max()?;
    if max < 2 * min {
        return None;
    }
    let mut modules = String::new();
    for (d, n) in runs {
        let count = if 2 * n > min + max { 2 } else { 1 };
        for _ in 0..count {
            modules.push(if d { '1' } else { '0' });
        }
    }
    modules.push('0');
    if !modules.len().is_multiple_of(13) {
        return None;
    }
    let mut text = String::new();
    for chunk in modules.as_bytes().chunks(13) {
        let pattern = std::str::from_utf8(&chunk[..12]).ok()?;
        if chunk[12] != b'0' {
            return None;
        }
        text.push(CODE39.iter().find(|(_, p)| *p == pattern)?.0);
    }
    text.strip_prefix('*')?.strip_suffix('*').map(str::to_string)
}

#[test]
fn png_is_a_384_dot_wide_one_bit_raster() {
    let bytes = render_png(&sample(), &key()).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes[..]));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (PRINT_WIDTH_DOTS, PROOF_HEIGHT_DOTS));
    assert_eq!(info.bit_depth, png::BitDepth::One);
    let dims = info.pixel_dims.unwrap();
    assert_eq!((dims.xppu, dims.unit), (8000, png::Unit::Meter));
}

#[test]
fn qr_codes_read_back_from_the_png() {
    for data in [sample(), spec_example()] {
        let codes = read_qr_codes(&render_png(&data, &key()).unwrap());
        assert_eq!(codes, vec![qr_left(&data, &key()).unwrap(), qr_right(&data)]);
    }
}

#[test]
fn barcode_reads_back_from_a_png_scanline() {
    for data in [sample(), spec_example()] {
        let (w, _, px) = luma(&render_png(&data, &key()).unwrap());
        let decoded: Vec<String> = px.chunks(w).filter_map(decode_code39).collect();
        // The bars are 48 dots (6 mm) high: every scanline through them reads.
        assert!(decoded.len() >= 48, "{} scanlines decoded", decoded.len());
        assert!(decoded.iter().all(|t| *t == barcode_text(&data)), "{decoded:?}");
    }
}

#[test]
fn many_items_fill_both_qr_codes_and_the_rest_is_left_out() {
    let items: Vec<ProofItem> = (0..200).map(|i| item(&format!("液化石油氣 第{i:03}號 20公斤裝"), "1", 800 + i)).collect();
    let data = ProofData { items, ..sample() };
    let left = qr_left(&data, &key()).unwrap();
    let right = qr_right(&data);
    let fields: Vec<&str> = left[78..].split(':').collect();
    let (recorded, total): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    assert_eq!(total, 200);
    assert!(recorded > 0 && recorded < total, "{recorded}");
    let record = format!("{}{}", &left[77..], &right[2..]);
    assert_eq!(record.split(':').count(), 5 + 3 * recorded);
    let codes = read_qr_codes(&render_png(&data, &key()).unwrap());
    assert_eq!(codes, vec![left, right]);
}

// ---- the PDF -----------------------------------------------------------------------------------

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn pdf_has_a_valid_xref_and_a_57_mm_page() {
    let pdf = render_pdf(&sample(), &key()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/MediaBox [0 0 161.57 255.12]"), "57 × 90 mm");

    // Offsets are in bytes: read the tail after `startxref` and the xref table as ASCII.
    let sx = pdf.windows(10).rposition(|w| w == b"startxref\n").unwrap();
    let xref_at: usize = std::str::from_utf8(&pdf[sx + 10..]).unwrap().lines().next().unwrap().parse().unwrap();
    assert!(pdf[xref_at..].starts_with(b"xref\n0 "));
    let table = std::str::from_utf8(&pdf[xref_at..]).unwrap();
    let mut lines = table.lines().skip(1);
    let count: usize = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(lines.next().unwrap(), "0000000000 65535 f ");
    for n in 1..count {
        let entry = lines.next().unwrap();
        assert_eq!(entry.len(), 19, "{entry:?}");
        assert!(entry.ends_with(" 00000 n "));
        let offset: usize = entry[..10].parse().unwrap();
        assert!(pdf[offset..].starts_with(format!("{n} 0 obj").as_bytes()), "object {n} at {offset}");
    }
    assert_eq!(lines.next().unwrap(), "trailer");
    assert!(text.contains(&format!("/Size {count}")));

    // Every stream's /Length is its byte count.
    let mut from = 0;
    while let Some(at) = find(&pdf[from..], b"/Length ") {
        let start = from + at + 8;
        let digits: String = pdf[start..].iter().take_while(|b| b.is_ascii_digit()).map(|&b| b as char).collect();
        let len: usize = digits.parse().unwrap();
        let body = start + find(&pdf[start..], b"stream\n").unwrap() + 7;
        assert_eq!(&pdf[body + len..body + len + 9], b"endstream");
        from = body + len;
    }
}

#[test]
fn pdf_names_standard_fonts_and_carries_the_text() {
    let pdf = render_pdf(&sample(), &key()).unwrap();
    let text = String::from_utf8_lossy(&pdf);
    for needle in ["/BaseFont /Courier-Bold", "/BaseFont /MSung-Light", "/Encoding /UniCNS-UCS2-H", "/Ordering (CNS1)"] {
        assert!(text.contains(needle), "{needle}");
    }
    assert!(!text.contains("/FontFile"), "no embedded font");
    // 電子發票證明聯 in UTF-16BE, the period's 年 and 月, the invoice number and the total.
    for needle in ["<96FB5B50767C79688B49660E806F>", "<5E74>", "<6708>", "(AB-12345678)", "( 1380)", "(LuckyGas)"] {
        assert!(text.contains(needle), "{needle}");
    }
    // Bars and modules are filled rectangles.
    assert!(text.matches(" re f").count() > 100);
}

// ---- no panic ----------------------------------------------------------------------------------

#[test]
fn long_and_odd_names_are_cut_not_fatal() {
    let data =
        ProofData { seller_name: "幸福瓦斯行有限公司\n\u{1F525}(特)\\".repeat(40), items: vec![item(&"長".repeat(2000), "1", 1)], ..sample() };
    let png = render_png(&data, &key()).unwrap();
    let pdf = render_pdf(&data, &key()).unwrap();
    assert!(png.len() > 100 && pdf.len() > 100);
    // The item too long for either QR is left out and counted as such.
    assert_eq!(&qr_left(&data, &key()).unwrap()[77..], ":**********:0:1:1");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn nothing_panics(
        seller_ban in prop_oneof!["[0-9]{8}", "\\PC{0,10}"],
        seller_name in "\\PC{0,60}",
        buyer in proptest::option::of("[0-9]{7,9}"),
        number in prop_oneof![3 => "[A-Z]{2}[0-9]{8}", 1 => "\\PC{0,12}"],
        random in prop_oneof![3 => "[0-9]{4}", 1 => "\\PC{0,5}"],
        amounts in proptest::array::uniform3(prop_oneof![0i64..=0xFFFF_FFFF, any::<i64>()]),
        secs in prop_oneof![1_000_000_000i64..4_000_000_000i64, -70_000_000_000i64..70_000_000_000i64],
        items in proptest::collection::vec(("\\PC{0,30}", "\\PC{0,5}", any::<i64>()), 0..40),
    ) {
        let issued_at = DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap());
        let data = ProofData {
            seller_ban, seller_name, buyer_ban: buyer, invoice_number: number, issued_at, random_code: random,
            sales_amount: Ntd(amounts[0]), tax_amount: Ntd(amounts[1]), total_amount: Ntd(amounts[2]),
            items: items.into_iter().map(|(d, q, p)| ProofItem { description: d, quantity: q, unit_price: Ntd(p), amount: Ntd(p) }).collect(),
        };
        let _ = barcode_text(&data);
        let _ = qr_right(&data);
        let _ = period_label(&data);
        let _ = printed_number(&data);
        let left = qr_left(&data, &key());
        prop_assert_eq!(left.is_ok(), data.validate().is_ok());
        prop_assert_eq!(render_png(&data, &key()).is_ok(), left.is_ok());
        prop_assert_eq!(render_pdf(&data, &key()).is_ok(), left.is_ok());
    }
}
