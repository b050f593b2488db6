use super::*;
use crate::big5;
use crate::codes::{CustomerKind, DeliveryResult, OrderSource, OrderStatus, Payment, Schedule, TimePref};
use crate::record::{Customer, Delivery, LatLon, Order, OrderLine, Quantities, Stamp};
use chrono::{NaiveDate, NaiveTime};
use einvoice::money::Ntd;
use proptest::prelude::*;
use std::io::{BufReader, Read as _};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn stamp() -> Stamp {
    Stamp { date: day(2026, 12, 4), time: NaiveTime::from_hms_opt(9, 30, 15).unwrap(), user: "MEI".into() }
}

fn customer() -> Customer {
    Customer {
        code: "C0001".into(),
        name: "許功蓋小吃".into(),
        kind: CustomerKind::Commercial,
        tel1: "(02)2345-6789".into(),
        tel2: "０９１２３４５６７８".into(),
        city: "臺北市".into(),
        area: "信義區".into(),
        address: "忠孝東路四段123號5樓, 後門".into(),
        position: Some(LatLon { lat_e6: 25_033_012, lon_e6: 121_568_000 }),
        schedule: Schedule::Weekly,
        schedule_day: 5,
        usual: Quantities([0, 0, 0, 2, 1]),
        time_pref: TimePref::Morning,
        payment: Payment::Monthly,
        memo: "請按\"後門\"門鈴".into(),
        stopped: false,
        created: day(2014, 3, 1),
        updated: stamp(),
    }
}

fn order() -> Order {
    Order {
        number: "11512040001".into(),
        ordered: day(2026, 12, 3),
        customer: "C0001".into(),
        delivery_date: day(2026, 12, 4),
        time_pref: TimePref::Morning,
        source: OrderSource::Schedule,
        urgent: false,
        status: OrderStatus::Delivered,
        total: Ntd(3500),
        memo: String::new(),
        updated: stamp(),
    }
}

fn line(seq: u16, size_kg: u16, quantity: u16, price: i64) -> OrderLine {
    OrderLine { order: "11512040001".into(), seq, size_kg, quantity, unit_price: Ntd(price), amount: Ntd(price * i64::from(quantity)) }
}

fn delivery() -> Delivery {
    Delivery {
        number: "11512040007".into(),
        order: "11512040001".into(),
        customer: "C0001".into(),
        date: day(2026, 12, 4),
        time: NaiveTime::from_hms_opt(10, 5, 0).unwrap(),
        driver: "D003".into(),
        result: DeliveryResult::Delivered,
        delivered: Quantities([0, 0, 0, 2, 1]),
        collected: Ntd(0),
        updated: stamp(),
    }
}

fn text(bytes: &[u8]) -> String {
    let (t, _, bad) = encoding_rs::BIG5.decode(bytes);
    assert!(!bad);
    t.into_owned()
}

/// The customers export with the second row's fields edited.
fn customers_with(edit: impl FnOnce(&mut Vec<String>)) -> Vec<u8> {
    let mut second = customer();
    second.code = "C0002".into();
    let mut fields = second.to_fields();
    edit(&mut fields);
    write_rows(&crate::schema::CUST_MST, &[customer().to_fields(), fields]).unwrap()
}

fn refusal<T: Record>(bytes: &[u8]) -> ExportError {
    read::<T, _>("customers.csv", bytes).expect_err("refused")
}

#[test]
fn writes_big5_with_crlf_and_the_legacy_header_and_reads_it_back() {
    let bytes = write(&[customer()]).unwrap();
    let t = text(&bytes);
    assert!(t.starts_with("CUST_NO,CUST_NM,CUST_TYP,TEL1,TEL2,CITY,AREA,ADDR,LAT,LON,SCHED,SCHED_DAY,USU_04,"), "{t}");
    assert_eq!(t.matches("\r\n").count(), 2);
    assert_eq!(t.lines().nth(1).unwrap(), "C0001,許功蓋小吃,2,(02)2345-6789,０９１２３４５６７８,臺北市,信義區,\"忠孝東路四段123號5樓, 後門\",25.033012,121.568000,W,5,0,0,0,2,1,A,3,\"請按\"\"後門\"\"門鈴\",N,1030301,1151204,093015,MEI");
    // 許 and 功 end in 0x5C, a backslash: nothing special in CSV.
    assert!(bytes.windows(2).any(|w| w == [0xB3, 0x5C]));
    assert_eq!(read::<Customer, _>("customers.csv", &bytes[..]), Ok(vec![customer()]));

    let lines = vec![line(1, 20, 2, 800), line(2, 50, 1, 1900)];
    assert_eq!(read::<OrderLine, _>("order_lines.csv", &write(&lines).unwrap()[..]), Ok(lines));
    assert_eq!(read::<Order, _>("orders.csv", &write(&[order()]).unwrap()[..]), Ok(vec![order()]));
    assert_eq!(read::<Delivery, _>("deliveries.csv", &write(&[delivery()]).unwrap()[..]), Ok(vec![delivery()]));
}

#[test]
fn the_documented_sample_lines_read() {
    let readme = include_str!("../../README.md");
    let sample: Vec<&str> = readme.lines().skip_while(|l| !l.starts_with("CUST_NO,CUST_NM")).take(3).collect();
    assert_eq!(sample.len(), 3, "the README shows a customers.csv header and two rows");
    let bytes = big5::encode(&(sample.join("\r\n") + "\r\n"));
    let customers = read::<Customer, _>("customers.csv", &bytes[..]).unwrap();
    assert_eq!(customers[0].code, "C0001");
    assert_eq!(customers[1].position, None);
}

#[test]
fn tolerates_padding_lf_trailing_blank_lines_and_a_dos_end_of_file_mark() {
    let padded = customers_with(|f| {
        f[1] = format!("{}    ", f[1]);
        f[0] = " C0002".into();
    });
    let mut t = text(&padded).replace("\r\n", "\n");
    t.push_str("\r\n\n");
    let mut bytes = big5::encode(&t);
    bytes.push(0x1A);
    let read = read::<Customer, _>("customers.csv", &bytes[..]).unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!((read[1].code.as_str(), read[1].name.as_str()), ("C0002", "許功蓋小吃"));
}

#[test]
fn an_impossible_roc_date_names_file_line_column_and_field() {
    let bytes = customers_with(|f| f[21] = "1150230".into());
    let e = refusal::<Customer>(&bytes);
    assert_eq!((e.line, e.field, e.code()), (3, Some("CRT_DT"), "legacy.date"));
    let row = text(&bytes).lines().nth(2).unwrap().to_owned();
    let column = e.column.unwrap();
    assert_eq!(big5::encode(&row)[column - 1..column + 6], *b"1150230");
    assert!(e.to_string().starts_with(&format!("customers.csv line 3, column {column} (CRT_DT): \"1150230\"")), "{e}");

    // Row by row: the first row is read, the second rejected.
    let each = read_each::<Customer, _>("customers.csv", &bytes[..]).unwrap();
    assert_eq!(each.len(), 2);
    assert!(each[0].is_ok());
    assert_eq!(each[1].as_ref().unwrap_err().code(), "legacy.date");
}

#[test]
fn value_problems_are_row_rejects_with_stable_codes() {
    let long_name = "王".repeat(21);
    let cases: [(usize, &str, &str, &str); 14] = [
        (15, "-1", "USU_20", "legacy.negative"),
        (15, "1000", "USU_20", "legacy.range"),
        (15, "two", "USU_20", "legacy.format"),
        (10, "X", "SCHED", "legacy.code"),
        (11, "9", "SCHED_DAY", "legacy.range"),
        (1, "", "CUST_NM", "legacy.required"),
        (1, &long_name, "CUST_NM", "legacy.too_long"),
        (8, "", "LAT", "legacy.coordinates"),
        (9, "181.0", "LON", "legacy.coordinates"),
        (0, "c0002", "CUST_NO", "legacy.format"),
        (0, "C0001", "CUST_NO", "legacy.duplicate_key"),
        (22, "11512", "UPD_DT", "legacy.format"),
        (23, "256000", "UPD_TM", "legacy.time"),
        (20, "y", "STOP_FG", "legacy.code"),
    ];
    for (index, value, field, code) in cases {
        let bytes = customers_with(|f| f[index] = value.to_owned());
        let e = refusal::<Customer>(&bytes);
        assert_eq!((e.line, e.field, e.code()), (3, Some(field), code), "{e}");
        assert!(e.problem.is_row_level());
        let each = read_each::<Customer, _>("customers.csv", &bytes[..]).unwrap();
        assert!(each[0].is_ok() && each[1].is_err());
    }
    // The writer refuses a tab, so put one in by hand.
    let bytes = big5::encode(&text(&customers_with(|f| f[19] = "TABHERE".into())).replace("TABHERE", "a\tb"));
    let e = refusal::<Customer>(&bytes);
    assert_eq!((e.line, e.field, e.code()), (3, Some("MEMO"), "legacy.control_character"));
}

#[test]
fn bad_big5_bytes_refuse_the_file_naming_the_byte() {
    let mut bytes = write(&[customer()]).unwrap();
    let at = bytes.len() - 10;
    bytes.insert(at, 0xFF);
    let e = refusal::<Customer>(&bytes);
    assert_eq!((e.line, e.code()), (2, "legacy.encoding"));
    let line_start = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    assert_eq!(e.column, Some(at - line_start + 1));
    // A UTF-8 export is not the old program's.
    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend(text(&write(&[customer()]).unwrap()).into_bytes());
    assert_eq!(refusal::<Customer>(&utf8).code(), "legacy.encoding");
    assert!(!refusal::<Customer>(&utf8).problem.is_row_level());
}

#[test]
fn structure_problems_refuse_the_whole_file() {
    let good = text(&write(&[customer()]).unwrap());
    let row = good.lines().nth(1).unwrap();
    let header = good.lines().next().unwrap();
    let cases = [
        (String::new(), 1, "legacy.empty_file"),
        (format!("{header}\r\n{row},extra\r\n"), 2, "legacy.field_count"),
        (format!("{header}\r\nC0002,王家\r\n"), 2, "legacy.field_count"),
        (format!("{header}\r\n{}\r\n", row.replacen("許功蓋小吃", "\"許功蓋小吃", 1)), 2, "legacy.quoting"),
        (format!("{header}\r\n{}\r\n", row.replacen("許功蓋小吃", "許\"功\"蓋", 1)), 2, "legacy.quoting"),
        (format!("{}\r\n{row}\r\n", header.replacen("TEL2", "TEL_2", 1)), 1, "legacy.header"),
        (format!("{}\r\n{row}\r\n", header.replacen(",UPD_USER", "", 1)), 1, "legacy.header"),
        (format!("{header}\r\n\r\n{row}\r\n"), 2, "legacy.blank_line"),
        (format!("{header}\r\n{}\r\n", "x".repeat(MAX_LINE_BYTES + 1)), 2, "legacy.line_too_long"),
    ];
    for (file, line, code) in cases {
        let e = refusal::<Customer>(&big5::encode(&file));
        assert_eq!((e.line, e.code()), (line, code), "{e}");
        assert!(!e.problem.is_row_level());
        assert_eq!(read_each::<Customer, _>("customers.csv", &big5::encode(&file)[..]).unwrap_err(), e);
    }
    let renamed = header.replacen("TEL2", "TEL_2", 1);
    let e = refusal::<Customer>(&big5::encode(&format!("{renamed}\r\n")));
    assert_eq!(e.column, Some(renamed.find("TEL_2").unwrap() + 1));
    assert_eq!(e.problem, Problem::Header { expected: "TEL2", found: "TEL_2".into() });
}

#[test]
fn memory_per_line_is_bounded_even_for_an_endless_line() {
    let endless = BufReader::new(std::io::repeat(b'x').take(1 << 40));
    let e = read::<Customer, _>("endless.csv", endless).unwrap_err();
    assert_eq!((e.line, e.code()), (1, "legacy.line_too_long"));
}

#[test]
fn a_small_read_buffer_reads_the_same() {
    let rows = vec![customer(), Customer { code: "C0002".into(), position: None, ..customer() }];
    let bytes = write(&rows).unwrap();
    assert_eq!(read::<Customer, _>("c.csv", BufReader::with_capacity(3, &bytes[..])), Ok(rows));
}

#[test]
fn the_writer_refuses_what_the_reader_would_refuse() {
    let cases: Vec<(Customer, &str, &str)> = vec![
        (Customer { name: "王".repeat(21), ..customer() }, "CUST_NM", "legacy.too_long"),
        (Customer { name: "😀".into(), ..customer() }, "CUST_NM", "legacy.not_big5"),
        (Customer { name: " 王家".into(), ..customer() }, "CUST_NM", "legacy.not_preserved"),
        (Customer { memo: "a\r\nb".into(), ..customer() }, "MEMO", "legacy.control_character"),
        (Customer { schedule_day: 0, ..customer() }, "SCHED_DAY", "legacy.range"),
        (Customer { created: day(1900, 1, 1), ..customer() }, "CRT_DT", "legacy.date"),
    ];
    for (c, field, code) in cases {
        let e = write(&[c]).unwrap_err();
        assert_eq!((e.table, e.record, e.field, e.problem.code()), ("CUST_MST", 0, Some(field), code), "{e}");
    }
    let e = write(&[Delivery { time: NaiveTime::from_hms_opt(10, 5, 30).unwrap(), ..delivery() }]).unwrap_err();
    // The text is the same (`1005`), so no field can be named.
    assert_eq!((e.field, e.problem.code()), (None, "legacy.not_preserved"));
    let e = write(&[customer(), customer()]).unwrap_err();
    assert_eq!((e.record, e.problem.code()), (1, "legacy.duplicate_key"));
    let e = write_rows(&crate::schema::ORD_DTL, &[vec!["1".into()]]).unwrap_err();
    assert_eq!(e.problem, Problem::FieldCount { expected: 6, found: 1 });
}

/// Text of up to `max_chars` characters from a pool with Chinese (許 and 功 among them), ASCII
/// punctuation that CSV quotes, and full-width forms; no surrounding spaces.
fn any_text(max_chars: usize) -> impl Strategy<Value = String> {
    let pool: Vec<char> = "王林許功蓋臺台北市區路段巷弄號樓之０９１Ｆ AZaz09,\"'#-()".chars().collect();
    proptest::collection::vec(proptest::sample::select(pool), 0..=max_chars).prop_map(|cs| cs.into_iter().collect::<String>().trim_matches(' ').to_owned())
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    (0i64..40_000).prop_map(|d| day(1950, 1, 1) + chrono::Days::new(d as u64))
}

fn any_stamp() -> impl Strategy<Value = Stamp> {
    (any_date(), 0u32..86_400, "[A-Z0-9]{0,10}").prop_map(|(date, s, user)| Stamp {
        date,
        time: NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap(),
        user,
    })
}

fn any_quantities() -> impl Strategy<Value = Quantities> {
    proptest::array::uniform5(0u16..=999).prop_map(Quantities)
}

fn any_customer() -> impl Strategy<Value = Customer> {
    (
        (1u32..=9999, any_text(20).prop_filter("a name", |t| !t.is_empty()), 0usize..3, any_text(10), any_text(10)),
        (any_text(3), any_text(3), any_text(40), proptest::option::of((-90_000_000i32..=90_000_000, -180_000_000i32..=180_000_000))),
        (0usize..4, 0u8..=31, any_quantities(), 0usize..3, 0usize..3),
        (any_text(30), any::<bool>(), any_date(), any_stamp()),
    )
        .prop_map(
            |((n, name, kind, tel1, tel2), (city, area, address, position), (schedule, day, usual, time_pref, payment), (memo, stopped, created, updated))| {
                let schedule = Schedule::ALL[schedule];
                let days = schedule.days();
                Customer {
                    code: format!("C{n:04}"),
                    name,
                    kind: CustomerKind::ALL[kind],
                    tel1,
                    tel2,
                    city,
                    area,
                    address,
                    position: position.map(|(lat_e6, lon_e6)| LatLon { lat_e6, lon_e6 }),
                    schedule,
                    schedule_day: day.clamp(*days.start(), *days.end()),
                    usual,
                    time_pref: TimePref::ALL[time_pref],
                    payment: Payment::ALL[payment],
                    memo,
                    stopped,
                    created,
                    updated,
                }
            },
        )
}

fn any_delivery() -> impl Strategy<Value = Delivery> {
    ("[0-9]{11}", "[0-9]{11}", 1u32..=9999, any_date(), 0u32..1440, "[A-Z0-9]{0,4}", 0usize..3, any_quantities(), 0i64..=99_999_999, any_stamp()).prop_map(
        |(number, order, c, date, minute, driver, result, delivered, collected, updated)| Delivery {
            number,
            order,
            customer: format!("C{c:04}"),
            date,
            time: NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap(),
            driver,
            result: DeliveryResult::ALL[result],
            delivered,
            collected: Ntd(collected),
            updated,
        },
    )
}

fn unique_by_key<T: Record>(mut records: Vec<T>) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    records.retain(|r| seen.insert(r.key()));
    records
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn customers_written_read_back_the_same(customers in proptest::collection::vec(any_customer(), 0..12)) {
        let customers = unique_by_key(customers);
        let bytes = write(&customers).unwrap();
        prop_assert_eq!(read::<Customer, _>("c.csv", &bytes[..]), Ok(customers));
    }

    #[test]
    fn deliveries_and_order_lines_written_read_back_the_same(
        deliveries in proptest::collection::vec(any_delivery(), 0..12),
        lines in proptest::collection::vec(("[0-9]{11}", 1u16..=999, 0usize..5, 0u16..=999, 0i64..=99_999_999), 0..12),
    ) {
        let deliveries = unique_by_key(deliveries);
        prop_assert_eq!(read::<Delivery, _>("d.csv", &write(&deliveries).unwrap()[..]), Ok(deliveries));
        let lines = unique_by_key(lines.into_iter().map(|(order, seq, size, quantity, price)| OrderLine {
            order, seq, size_kg: crate::SIZES_KG[size], quantity, unit_price: Ntd(price), amount: Ntd(price),
        }).collect());
        prop_assert_eq!(read::<OrderLine, _>("l.csv", &write(&lines).unwrap()[..]), Ok(lines));
    }

    #[test]
    fn reading_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = read_each::<Customer, _>("x.csv", &bytes[..]);
        let _ = read_each::<Delivery, _>("x.csv", &bytes[..]);
    }

    #[test]
    fn a_damaged_export_is_refused_or_reads_consistently(customers in proptest::collection::vec(any_customer(), 1..6), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = write(&unique_by_key(customers)).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        match read::<Customer, _>("c.csv", &bytes[..]) {
            Ok(read_back) => {
                let again = write(&read_back).unwrap();
                prop_assert_eq!(read::<Customer, _>("c.csv", &again[..]), Ok(read_back));
            }
            Err(e) => {
                prop_assert!(e.line >= 1);
                prop_assert!(e.code().starts_with("legacy."));
            }
        }
    }
}
