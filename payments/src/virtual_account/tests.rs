use super::*;
use proptest::prelude::*;

fn cathay() -> Layout {
    Layout::cathay_16("9527").unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
}

#[test]
fn generates_cathay_numbers_with_the_371_check() {
    let va = generate(&cathay(), 42, at(2026, 12, 4, 18)).unwrap();
    // 9527 120418 00042 c: 3·9+7·5+1·2+3·7+7·1+1·2+3·0+7·4+1·1+3·8+7·0+1·0+3·0+7·4+1·2 = 177,
    // so 177 + 3c ≡ 0 (mod 10) and c = 1.
    assert_eq!(va.as_str(), "9527120418000421");
    assert_eq!(va.customer(), 42);
    assert_eq!(va.due(), Some(DueStamp { year: None, month: 12, day: 4, hour: Some(18) }));
    assert_eq!(parse(&cathay(), "9527120418000421"), Ok(va));
}

#[test]
fn says_what_is_wrong_with_a_number() {
    let l = cathay();
    let e = |t: &str| parse(&l, t).unwrap_err();
    assert!(matches!(e("952712041800042"), VirtualAccountError::Length { expected: 16, found: 15, .. }));
    assert!(matches!(e("95271204180004200"), VirtualAccountError::Length { found: 17, .. }));
    assert_eq!(e("95271204180O0420"), VirtualAccountError::NotDigit { position: 12, found: 'O' });
    // A full-width digit is one character, and not an ASCII digit.
    assert_eq!(e("９527120418000421"), VirtualAccountError::NotDigit { position: 1, found: '９' });
    assert_eq!(e("1234120418000421"), VirtualAccountError::CompanyCode { expected: "9527".into(), found: "1234".into() });
    assert_eq!(e("9527120418000420"), VirtualAccountError::CheckDigit { found: 0 });
    // A due date that does not exist, with a check digit that holds.
    let bad_due = "9527133018000420";
    let mut digits: Vec<u8> = bad_due.bytes().map(|b| b - b'0').collect();
    digits[15] = l.check().check_digit(&digits, 15).unwrap();
    let bad_due: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    assert!(matches!(e(&bad_due), VirtualAccountError::Due { .. }), "{bad_due}");
    assert_eq!(e(&bad_due).code(), "virtual_account.due");
}

#[test]
fn refuses_customers_that_do_not_fit_and_accepts_the_widest() {
    let l = cathay();
    assert_eq!(generate(&l, 100_000, at(2026, 1, 1, 0)), Err(VirtualAccountError::CustomerRange { customer: 100_000, digits: 5 }));
    assert!(generate(&l, 99_999, at(2026, 1, 1, 0)).is_ok());
}

#[test]
fn normalizes_typed_separators() {
    assert_eq!(normalize("9527-120418-00042 1"), "9527120418000421");
}

#[test]
fn another_layout_from_toml_with_a_roc_date_and_modulus_11() {
    let l = Layout::from_toml(
        r#"
name = "other-14"
segments = [{ kind = "fixed", digits = "88" }, { kind = "customer", digits = 4 }, { kind = "due", format = "YYYMMDD" }, { kind = "check" }]
check = { weights = [2, 3, 4, 5, 6, 7, 8, 9, 10, 1], modulus = 11 }
"#,
    )
    .unwrap();
    assert_eq!(l.len(), 14);
    let mut issued = 0;
    for customer in 0..50 {
        match generate(&l, customer, at(2026, 12, 4, 0)) {
            Ok(va) => {
                issued += 1;
                assert_eq!(&va.as_str()[6..13], "1151204");
                assert_eq!(parse(&l, va.as_str()), Ok(va.clone()));
                assert_eq!(va.due().unwrap().year, Some(2026));
            }
            Err(e) => assert_eq!(e, VirtualAccountError::NoCheckDigit),
        }
    }
    assert!(issued > 35, "{issued}");
    assert!(matches!(generate(&l, 1, at(1900, 1, 1, 0)), Err(VirtualAccountError::DueRange(_))));
}

fn any_due() -> impl Strategy<Value = NaiveDateTime> {
    (2020i32..2040, 1u32..=12, 1u32..=31, 0u32..24)
        .prop_map(|(y, m, d, h)| (1..=d).rev().find_map(|d| NaiveDate::from_ymd_opt(y, m, d)).unwrap().and_hms_opt(h, 0, 0).unwrap())
}

proptest! {
    #[test]
    fn every_generated_number_validates(customer in 0u64..100_000, due in any_due()) {
        let l = cathay();
        let va = generate(&l, customer, due).unwrap();
        prop_assert_eq!(parse(&l, va.as_str()), Ok(va.clone()));
        prop_assert_eq!(va.customer(), customer);
    }

    #[test]
    fn every_single_digit_change_is_caught(customer in 0u64..100_000, due in any_due(), position in 0usize..16, delta in 1u8..10) {
        let l = cathay();
        let va = generate(&l, customer, due).unwrap();
        let mut bytes = va.as_str().as_bytes().to_vec();
        bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(parse(&l, &changed).is_err(), "{} -> {} passed", va, changed);
    }

    // 3-7-1 modulo 10 guarantees it for digits that do not differ by 5 (the check module); a
    // swap of digits 5 apart passes the check, and is then caught only if it spoils another part.
    #[test]
    fn adjacent_transpositions_are_caught_where_the_scheme_guarantees_it(customer in 0u64..100_000, due in any_due(), i in 0usize..15) {
        let l = cathay();
        let va = generate(&l, customer, due).unwrap();
        let mut bytes = va.as_str().as_bytes().to_vec();
        let (a, b) = (bytes[i] - b'0', bytes[i + 1] - b'0');
        prop_assume!(a != b);
        bytes.swap(i, i + 1);
        let swapped = String::from_utf8(bytes).unwrap();
        let result = parse(&l, &swapped);
        if l.check().catches_transposition(i, a, b) {
            prop_assert!(result.is_err(), "{} -> {} passed", va, swapped);
        } else {
            prop_assert!(!matches!(result, Err(VirtualAccountError::CheckDigit { .. })), "the check should not see {} -> {}", va, swapped);
        }
    }

    #[test]
    fn distinct_customers_or_dues_give_distinct_numbers(c1 in 0u64..100_000, c2 in 0u64..100_000, d1 in any_due(), d2 in any_due()) {
        let l = cathay();
        let (a, b) = (generate(&l, c1, d1).unwrap(), generate(&l, c2, d2).unwrap());
        let same_key = c1 == c2 && stamp_of(DueFormat::MonthDayHour, d1) == stamp_of(DueFormat::MonthDayHour, d2);
        prop_assert_eq!(a == b, same_key);
    }

    #[test]
    fn parse_never_panics(text in "\\PC{0,24}") {
        let _ = parse(&cathay(), &text);
    }
}
