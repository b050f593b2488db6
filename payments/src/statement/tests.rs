use super::*;
use chrono::NaiveDate;
use proptest::prelude::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn deposit(serial: &str, amount: i64) -> Deposit {
    Deposit {
        serial: serial.into(),
        paid_at: day(2026, 12, 4).and_hms_opt(9, 30, 15).unwrap(),
        value_date: day(2026, 12, 4),
        account: "9527120418000421".into(),
        amount: Ntd(amount),
        payer_name: "王小明".into(),
        payer_bank: "0081234".into(),
        payer_account: "****5678".into(),
        memo: "十二月瓦斯費".into(),
    }
}

fn sample() -> Statement {
    Statement {
        bank_code: "013".into(),
        bank_name: "國泰世華商業銀行".into(),
        account: "001234567890".into(),
        date: day(2026, 12, 4),
        deposits: vec![
            deposit("TX20261204000001", 1380),
            Deposit { payer_name: "陳, \"大\" 華".into(), memo: String::new(), ..deposit("TX20261204000002", 2760) },
        ],
    }
}

const FORMATS: [Format; 2] = [Format::FixedWidth, Format::Csv];
const ENCODINGS: [Encoding; 2] = [Encoding::Utf8, Encoding::Big5];

#[test]
fn writes_and_reads_both_layouts_in_both_encodings() {
    let s = sample();
    for format in FORMATS {
        for encoding in ENCODINGS {
            let bytes = write(format, &s, encoding).unwrap();
            assert_eq!(Encoding::detect(&bytes), encoding);
            assert_eq!(parse(format, "f", &bytes), Ok(s.clone()), "{format:?} {encoding:?}");
        }
    }
}

#[test]
fn fixed_width_records_are_150_big5_bytes_in_both_encodings() {
    let big5 = write(Format::FixedWidth, &sample(), Encoding::Big5).unwrap();
    for line in big5.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        assert_eq!(line.len(), fixed::RECORD_BYTES + 1, "CR included");
    }
    let utf8 = String::from_utf8(write(Format::FixedWidth, &sample(), Encoding::Utf8).unwrap()).unwrap();
    let detail = utf8.lines().nth(1).unwrap();
    // 王小明 is 3 characters, 6 Big5 bytes, 9 UTF-8 bytes: the UTF-8 line is longer by one byte
    // per Chinese character (3 in the name, 6 in the memo).
    assert_eq!(detail.len(), fixed::RECORD_BYTES + 9);
    assert!(detail.starts_with("211512040930151151204"), "{detail}");
    assert_eq!(&detail[21..38], "9527120418000421+");
    assert_eq!(&detail[38..51], "0000000138000");
}

#[test]
fn the_documented_sample_lines_parse() {
    let csv = "H,013,國泰世華商業銀行,001234567890,2026/12/04\r\n\
               D,2026/12/04 09:30:15,2026/12/04,9527120418000421,1380,王小明,0081234,****5678,TX20261204000001,十二月瓦斯費\r\n\
               T,1,\"1,380.00\"\r\n";
    let s = parse(Format::Csv, "d.csv", csv.as_bytes()).unwrap();
    assert_eq!(s.deposits, [deposit("TX20261204000001", 1380)]);
    let fixed = write(Format::FixedWidth, &Statement { deposits: vec![deposit("TX20261204000001", 1380)], ..sample() }, Encoding::Utf8).unwrap();
    let text = String::from_utf8(fixed).unwrap();
    let documented = include_str!("fixed.rs").lines().find(|l| l.starts_with("//! 2115")).unwrap().trim_start_matches("//! ");
    assert_eq!(text.lines().nth(1).unwrap(), format!("{documented}{}", " ".repeat(8)));
}

fn error(format: Format, text: &str) -> StatementError {
    parse(format, "deposits.txt", text.as_bytes()).unwrap_err()
}

/// The sample in `format` as UTF-8 text, with `edit` applied to its lines.
fn edited(format: Format, edit: impl FnOnce(&mut Vec<String>)) -> String {
    let text = String::from_utf8(write(format, &sample(), Encoding::Utf8).unwrap()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    edit(&mut lines);
    lines.join("\r\n")
}

#[test]
fn a_bad_line_refuses_the_file_naming_the_file_line_and_field() {
    let e = error(Format::Csv, &edited(Format::Csv, |l| l[2] = l[2].replace(",2760,", ",2760.50,")));
    assert_eq!((e.file.as_str(), e.line, e.field, e.problem.code()), ("deposits.txt", 3, Some("amount"), "statement.amount_cents"));
    assert_eq!(e.to_string(), "deposits.txt line 3, column 51 (amount): amount \"2760.50\" has cents; amounts are whole NT$");
    let e = error(Format::Csv, &edited(Format::Csv, |l| l[1] = l[1].replace(",1380,", ",-1380,")));
    assert_eq!((e.line, e.problem.code()), (2, "statement.amount_negative"));
    let e = error(Format::Csv, &edited(Format::Csv, |l| l[1] = l[1].replace(",1380,", ",123456789012,")));
    assert_eq!((e.line, e.problem.code()), (2, "statement.amount_range"));
    let e = error(Format::Csv, &edited(Format::Csv, |l| l[1] = l[1].replace("2026/12/04 09", "2026/02/30 09")));
    assert_eq!((e.line, e.field, e.problem.code()), (2, Some("paid_at"), "statement.date"));

    let e = error(Format::FixedWidth, &edited(Format::FixedWidth, |l| l[2].replace_range(49..51, "50")));
    assert_eq!((e.line, e.column, e.field, e.problem.code()), (3, Some(39), Some("amount"), "statement.amount_cents"));
    let e = error(Format::FixedWidth, &edited(Format::FixedWidth, |l| l[1].replace_range(37..38, "-")));
    assert_eq!((e.line, e.field, e.problem.code()), (2, Some("sign"), "statement.amount_negative"));
    let e = error(Format::FixedWidth, &edited(Format::FixedWidth, |l| l[1].push(' ')));
    assert_eq!((e.line, e.problem), (2, Problem::RecordLength { expected: 150, found: 151 }));
    let e = error(Format::FixedWidth, &edited(Format::FixedWidth, |l| l[1] = l[1].replacen("王小明 ", "王小明😀", 1)));
    assert_eq!((e.line, e.problem.clone()), (2, Problem::NotBig5('😀')), "{e}");
}

#[test]
fn a_character_across_a_column_boundary_is_refused() {
    let text = edited(Format::FixedWidth, |l| {
        let prefix: String = l[1].chars().take(74).collect();
        l[1] = format!("{prefix}{} 王X1{}", "王".repeat(19), " ".repeat(33));
    });
    let e = error(Format::FixedWidth, &text);
    assert_eq!((e.line, e.column, e.field, e.problem.clone()), (2, Some(114), Some("payer_name"), Problem::SplitCharacter), "{e}");
}

#[test]
fn reads_utf8_with_a_byte_order_mark() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(write(Format::Csv, &sample(), Encoding::Utf8).unwrap());
    assert_eq!(parse(Format::Csv, "bom.csv", &bytes), Ok(sample()));
}

#[test]
fn header_trailer_count_and_total_must_agree() {
    for format in FORMATS {
        let e = error(format, &edited(format, |l| drop(l.pop())));
        assert_eq!((e.line, e.problem.code()), (3, "statement.structure"), "{format:?}");
        let e = error(format, &edited(format, |l| drop(l.remove(0))));
        assert_eq!((e.line, e.problem.code()), (1, "statement.structure"), "{format:?}");
        let e = error(format, &edited(format, |l| drop(l.remove(1))));
        assert_eq!((e.line, e.problem), (3, Problem::Count { stated: 2, found: 1 }), "{format:?}");
        let e = error(format, &edited(format, |l| l.push(l[0].clone())));
        assert_eq!((e.line, e.problem.code()), (5, "statement.structure"), "{format:?}");
        let e = error(format, &edited(format, |l| l.insert(2, String::new())));
        assert_eq!((e.line, e.problem.code()), (3, "statement.structure"), "{format:?}");
        let e = error(format, &edited(format, |l| l[2] = l[1].clone()));
        assert_eq!((e.line, e.problem), (3, Problem::DuplicateSerial { serial: "TX20261204000001".into(), first_line: 2 }), "{format:?}");
    }
    let e = error(Format::Csv, &edited(Format::Csv, |l| l[3] = "T,2,4000".into()));
    assert_eq!((e.line, e.field, e.problem), (4, Some("total"), Problem::Total { stated: Ntd(4000), found: Ntd(4140) }));
    assert_eq!(error(Format::Csv, "").problem, Problem::EmptyFile);
}

#[test]
fn a_line_neither_utf8_nor_big5_is_named() {
    let mut bytes = write(Format::Csv, &sample(), Encoding::Big5).unwrap();
    let second = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    bytes[second + 2] = 0x80;
    let e = parse(Format::Csv, "x.csv", &bytes).unwrap_err();
    assert_eq!((e.line, e.column, e.problem), (2, Some(3), Problem::NotText { encoding: Encoding::Big5 }));
}

#[test]
fn a_named_encoding_is_not_guessed() {
    let bytes = write(Format::Csv, &sample(), Encoding::Utf8).unwrap();
    assert!(parse_as(Format::Csv, Encoding::Utf8, "f", &bytes).is_ok());
    // UTF-8 Chinese read as Big5 either fails or is not the same statement.
    assert_ne!(parse_as(Format::Csv, Encoding::Big5, "f", &bytes).ok(), Some(sample()));
}

#[test]
fn the_writer_refuses_what_the_parser_would_refuse() {
    let mut s = sample();
    s.deposits[0].payer_name = "名".repeat(21);
    let e = write(Format::Csv, &s, Encoding::Utf8).unwrap_err();
    assert_eq!((e.record.as_str(), e.field, e.problem), ("deposit 0", "payer_name", Problem::TooLong { max: 40, found: 42 }));
    let mut s = sample();
    s.deposits[1].serial = s.deposits[0].serial.clone();
    assert_eq!(write(Format::FixedWidth, &s, Encoding::Utf8).unwrap_err().problem.code(), "statement.duplicate_serial");
    let mut s = sample();
    s.deposits[0].memo = " padded".into();
    assert_eq!(write(Format::FixedWidth, &s, Encoding::Utf8).unwrap_err().field, "memo");
    let mut s = sample();
    s.deposits[0].amount = Ntd(0);
    assert_eq!(write(Format::Csv, &s, Encoding::Big5).unwrap_err().problem, Problem::Zero);
    let mut s = sample();
    s.deposits[0].memo = "a\tb".into();
    assert_eq!(write(Format::Csv, &s, Encoding::Big5).unwrap_err().problem, Problem::ControlCharacter('\t'));
}

/// Chinese names from a pool of common characters, ASCII letters and punctuation a CSV must quote.
fn any_text(max_chars: usize) -> impl Strategy<Value = String> {
    let pool: Vec<char> = "王陳林黃張李吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高潘簡朱鍾游彭詹胡施沈余盧梁趙顏柯翁魏孫戴范方宋鄧杜傅侯曹薛丁卓阮馬董唐藍蔣石古紀姚連馮歐程湯田康姜白汪鄒尤巫鐘黎涂龔嚴韓袁金童陸夏柳邵錢伍倪溫于譚駱熊任甘秦顧毛章史官萬俞雷粘饒張簡瓦斯費行號店餐廳公司有限股份月號樓巷弄路段區市縣ABCxyz019,\"'- ()（）、。".chars().collect();
    proptest::collection::vec(proptest::sample::select(pool), 0..=max_chars).prop_map(|cs| cs.into_iter().collect::<String>().trim_matches(' ').to_owned())
}

fn any_deposit() -> impl Strategy<Value = Deposit> {
    (
        ("[A-Z0-9]{1,16}", (0i64..3_000_000_000).prop_map(|s| chrono::DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap().naive_utc())),
        (0i64..40, "[0-9]{1,16}", 1i64..=MAX_AMOUNT),
        (any_text(20), "([0-9]{3}|[0-9]{7})?", "[0-9*]{0,16}", any_text(10)),
    )
        .prop_map(|((serial, paid_at), (lag, account, amount), (payer_name, payer_bank, payer_account, memo))| Deposit {
            serial,
            paid_at,
            value_date: paid_at.date() + chrono::TimeDelta::days(lag),
            account,
            amount: Ntd(amount),
            payer_name,
            payer_bank,
            payer_account,
            memo,
        })
}

fn any_statement() -> impl Strategy<Value = Statement> {
    (proptest::collection::vec(any_deposit(), 0..20), any_text(10), "[0-9]{1,14}").prop_map(|(mut deposits, bank_name, account)| {
        // Serials are unique in a file.
        let mut seen = std::collections::HashSet::new();
        deposits.retain(|d| seen.insert(d.serial.clone()));
        Statement { bank_code: "013".into(), bank_name, account, date: day(2026, 12, 4), deposits }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    // Written in a named encoding and read back in it, any statement is the same.
    #[test]
    fn write_then_parse_gives_the_same_statement(s in any_statement()) {
        for format in FORMATS {
            for encoding in ENCODINGS {
                let bytes = write(format, &s, encoding).unwrap();
                prop_assert_eq!(parse_as(format, encoding, "f", &bytes), Ok(s.clone()), "{:?} {:?}", format, encoding);
            }
        }
    }

    // With the bank's name in Chinese in the header, as banks write it, detection needs no hint.
    #[test]
    fn detection_reads_real_headers_in_either_encoding(s in any_statement()) {
        let s = Statement { bank_name: "國泰世華商業銀行".into(), ..s };
        for format in FORMATS {
            for encoding in ENCODINGS {
                let bytes = write(format, &s, encoding).unwrap();
                prop_assert_eq!(parse(format, "f", &bytes), Ok(s.clone()), "{:?} {:?}", format, encoding);
            }
        }
    }

    #[test]
    fn parse_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for format in FORMATS {
            let _ = parse(format, "f", &bytes);
        }
    }

    // Damage to one byte of a valid file is refused or yields a statement that writes back in
    // every layout and encoding (what the fuzz targets assert, on arbitrary bytes).
    #[test]
    fn a_damaged_file_is_refused_or_consistent(s in any_statement(), from in 0usize..4, at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (format, encoding) = (FORMATS[from % 2], ENCODINGS[from / 2]);
        let mut bytes = write(format, &s, encoding).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(read) = parse(format, "f", &bytes) {
            for to_format in FORMATS {
                for to_encoding in ENCODINGS {
                    let again = write(to_format, &read, to_encoding).unwrap();
                    prop_assert_eq!(parse_as(to_format, to_encoding, "f", &again), Ok(read.clone()));
                }
            }
        }
    }
}
