//! Tests of [`super`]: worked examples, each rule and error, and property tests of the invariants
//! (totals add up, tax never negative, the B2B split, overflow as an error).

use super::*;
use proptest::prelude::*;

fn line(quantity: &str, unit_price: i64, tax_type: TaxType) -> Line {
    Line { description: "20kg 桶裝瓦斯".into(), quantity: Quantity::parse(quantity).unwrap(), unit: "桶".into(), unit_price: Ntd(unit_price), tax_type }
}

#[test]
fn tax_type_codes_are_the_mig_codes() {
    for (t, code) in [(TaxType::Taxable, 1), (TaxType::ZeroRated, 2), (TaxType::Exempt, 3), (TaxType::Special, 4), (TaxType::Mixed, 9)] {
        assert_eq!(t.code(), code);
        assert_eq!(TaxType::from_code(code), Ok(t));
    }
    assert_eq!(TaxType::from_code(5), Err(TaxError::UnknownTaxType(5)));
}

#[test]
fn quantities_parse_and_display_trimmed() {
    for (text, thousandths, shown) in
        [("2.5", 2500, "2.5"), ("20", 20_000, "20"), ("0.125", 125, "0.125"), ("2.50", 2500, "2.5"), ("007", 7000, "7"), ("-0.5", -500, "-0.5"), ("0", 0, "0")]
    {
        let q = Quantity::parse(text).unwrap();
        assert_eq!(q.thousandths(), thousandths, "{text}");
        assert_eq!(q.to_string(), shown);
    }
    for bad in ["", "-", ".5", "1.", "1.2345", "1,5", "+1", " 1", "1 ", "1e3", "--1", "1.-5", "２"] {
        assert_eq!(Quantity::parse(bad), Err(TaxError::Quantity(bad.into())), "{bad:?}");
    }
    assert_eq!(Quantity::parse("9223372036854776"), Err(TaxError::Overflow));
    assert_eq!(Quantity::parse("99999999999999999999999999999999999999999"), Err(TaxError::Overflow));
    assert_eq!(Quantity::whole(3).unwrap().to_string(), "3");
}

#[test]
fn quantity_serde_reads_text_integers_and_exact_decimals() {
    assert_eq!(serde_json::to_string(&Quantity::parse("2.5").unwrap()).unwrap(), "\"2.5\"");
    assert_eq!(serde_json::from_str::<Quantity>("\"2.5\"").unwrap().thousandths(), 2500);
    assert_eq!(serde_json::from_str::<Quantity>("3").unwrap().thousandths(), 3000);
    assert_eq!(serde_json::from_str::<Quantity>("2.5").unwrap().thousandths(), 2500);
    assert_eq!(serde_json::from_str::<Quantity>("0.001").unwrap().thousandths(), 1);
    assert!(serde_json::from_str::<Quantity>("0.0005").is_err());
    assert!(serde_json::from_str::<Quantity>("1e30").is_err());
    assert!(serde_json::from_str::<Quantity>("18446744073709551615").is_err());
    assert!(serde_json::from_str::<Quantity>("\"1.2345\"").is_err());
}

#[test]
fn line_amount_rounds_half_up() {
    assert_eq!(line_amount(&line("2", 690, TaxType::Taxable)), Ok(Ntd(1380)));
    assert_eq!(line_amount(&line("0.5", 3, TaxType::Taxable)), Ok(Ntd(2)));
    assert_eq!(line_amount(&line("0.333", 3, TaxType::Taxable)), Ok(Ntd(1)));
    assert_eq!(line_amount(&line("2.5", 0, TaxType::Taxable)), Ok(Ntd(0)));
    assert_eq!(line_amount(&line("-1", 690, TaxType::Taxable)), Err(TaxError::NegativeQuantity(1)));
    assert_eq!(line_amount(&line("1", -690, TaxType::Taxable)), Err(TaxError::NegativePrice(1)));
    assert_eq!(line_amount(&line("1", 690, TaxType::Mixed)), Err(TaxError::LineTaxType { line: 1, tax_type: TaxType::Mixed }));
    assert_eq!(line_amount(&line("1000", i64::MAX, TaxType::Taxable)), Err(TaxError::Overflow));
}

#[test]
fn b2b_splits_1380_into_1314_and_66() {
    let t = invoice_totals(&[line("2", 690, TaxType::Taxable)], BuyerKind::Business).unwrap();
    assert_eq!((t.sales_amount, t.tax_amount, t.total_amount), (Ntd(1314), Ntd(66), Ntd(1380)));
    assert_eq!((t.tax_type, t.tax_rate), (TaxType::Taxable, "0.05"));
    assert_eq!(t.line_amounts, vec![Ntd(1314)]);
}

#[test]
fn b2c_keeps_tax_inside_the_sales_amount() {
    let t = invoice_totals(&[line("2", 690, TaxType::Taxable), line("1", 50, TaxType::Taxable)], BuyerKind::Consumer).unwrap();
    assert_eq!((t.sales_amount, t.tax_amount, t.total_amount), (Ntd(1430), Ntd(0), Ntd(1430)));
    assert_eq!(t.line_amounts, vec![Ntd(1380), Ntd(50)]);
}

#[test]
fn b2b_line_amounts_share_the_sales_amount_by_largest_remainder() {
    // T = 1430 → sales 1362, tax 68. Exact shares: 1380·1362/1430 = 1314.38…, 50·1362/1430 = 47.62…
    let t = invoice_totals(&[line("2", 690, TaxType::Taxable), line("1", 50, TaxType::Taxable)], BuyerKind::Business).unwrap();
    assert_eq!((t.sales_amount, t.tax_amount), (Ntd(1362), Ntd(68)));
    assert_eq!(t.line_amounts, vec![Ntd(1314), Ntd(48)]);
}

#[test]
fn b2b_ties_go_to_the_earlier_line() {
    // T = 20 → sales 19; shares 9.5 and 9.5: the first line gets the extra dollar.
    let t = invoice_totals(&[line("1", 10, TaxType::Taxable), line("1", 10, TaxType::Taxable)], BuyerKind::Business).unwrap();
    assert_eq!(t.line_amounts, vec![Ntd(10), Ntd(9)]);
}

#[test]
fn zero_rated_and_exempt_lines_carry_no_tax_and_make_the_invoice_mixed() {
    let lines = [line("2", 690, TaxType::Taxable), line("1", 100, TaxType::ZeroRated), line("3", 7, TaxType::Exempt)];
    let b2b = invoice_totals(&lines, BuyerKind::Business).unwrap();
    assert_eq!((b2b.sales_amount, b2b.zero_tax_sales_amount, b2b.free_tax_sales_amount, b2b.tax_amount), (Ntd(1314), Ntd(100), Ntd(21), Ntd(66)));
    assert_eq!(b2b.total_amount, Ntd(1380 + 100 + 21));
    assert_eq!((b2b.tax_type, b2b.tax_rate), (TaxType::Mixed, "0.05"));
    assert_eq!(b2b.line_amounts, vec![Ntd(1314), Ntd(100), Ntd(21)]);
    let exempt_only = invoice_totals(&[line("3", 7, TaxType::Exempt)], BuyerKind::Consumer).unwrap();
    assert_eq!((exempt_only.tax_type, exempt_only.tax_rate, exempt_only.sales_amount), (TaxType::Exempt, "0", Ntd(0)));
}

#[test]
fn rejects_invoices_that_cannot_be_issued() {
    assert_eq!(invoice_totals(&[], BuyerKind::Consumer), Err(TaxError::NoLines));
    let many = vec![line("1", 1, TaxType::Taxable); MAX_LINES + 1];
    assert_eq!(invoice_totals(&many, BuyerKind::Consumer), Err(TaxError::TooManyLines(MAX_LINES + 1)));
    assert!(invoice_totals(&many[..MAX_LINES], BuyerKind::Business).is_ok());
    let bad = [line("1", 10, TaxType::Taxable), line("-1", 10, TaxType::Taxable)];
    assert_eq!(invoice_totals(&bad, BuyerKind::Consumer), Err(TaxError::NegativeQuantity(2)));
    let special = [line("1", 10, TaxType::Taxable), line("1", 10, TaxType::Special)];
    assert_eq!(invoice_totals(&special, BuyerKind::Consumer), Err(TaxError::LineTaxType { line: 2, tax_type: TaxType::Special }));
    assert_eq!(invoice_totals(&[line("0", 690, TaxType::Taxable)], BuyerKind::Business), Err(TaxError::ZeroTotal));
    let free_item = [line("1", 690, TaxType::Taxable), line("1", 0, TaxType::Taxable)];
    assert_eq!(invoice_totals(&free_item, BuyerKind::Business).unwrap().line_amounts, vec![Ntd(657), Ntd(0)]);
    let huge = [line("1", i64::MAX, TaxType::Taxable), line("1", 1, TaxType::Exempt)];
    assert_eq!(invoice_totals(&huge, BuyerKind::Business), Err(TaxError::Overflow));
}

#[test]
fn allowances_split_like_invoices() {
    assert_eq!(allowance_split(Ntd(1380), BuyerKind::Business), Ok(AllowanceSplit { amount: Ntd(1314), tax: Ntd(66) }));
    assert_eq!(allowance_split(Ntd(1380), BuyerKind::Consumer), Ok(AllowanceSplit { amount: Ntd(1380), tax: Ntd(0) }));
    assert_eq!(split_tax_inclusive(Ntd(21)), Ok(AllowanceSplit { amount: Ntd(20), tax: Ntd(1) }));
    assert_eq!(allowance_split(Ntd(-1), BuyerKind::Business), Err(TaxError::NegativeAmount(Ntd(-1))));
    assert_eq!(allowance_split(Ntd(-1), BuyerKind::Consumer), Err(TaxError::NegativeAmount(Ntd(-1))));
    assert_eq!(split_tax_inclusive(Ntd(i64::MAX)).map(|s| s.amount.0 + s.tax.0), Ok(i64::MAX));
}

#[test]
fn remaining_allowable_subtracts_what_was_already_allowed() {
    assert_eq!(remaining_allowable(Ntd(1380), &[]), Ok(Ntd(1380)));
    assert_eq!(remaining_allowable(Ntd(1380), &[Ntd(380), Ntd(1000)]), Ok(Ntd(0)));
    assert_eq!(remaining_allowable(Ntd(1380), &[Ntd(1381)]), Err(TaxError::AllowanceExceedsInvoice { invoice: Ntd(1380), allowed: Ntd(1381) }));
    assert_eq!(remaining_allowable(Ntd(1380), &[Ntd(-1)]), Err(TaxError::NegativeAmount(Ntd(-1))));
    assert_eq!(remaining_allowable(Ntd(1380), &[Ntd(i64::MAX), Ntd(1)]), Err(TaxError::Overflow));
}

fn any_tax_type() -> impl Strategy<Value = TaxType> {
    prop_oneof![Just(TaxType::Taxable), Just(TaxType::ZeroRated), Just(TaxType::Exempt)]
}

fn any_line() -> impl Strategy<Value = Line> {
    (0i64..=50_000, 0i64..=100_000, any_tax_type()).prop_map(|(q, price, tax_type)| Line {
        description: String::new(),
        quantity: Quantity::from_thousandths(q),
        unit: String::new(),
        unit_price: Ntd(price),
        tax_type,
    })
}

fn any_buyer() -> impl Strategy<Value = BuyerKind> {
    prop_oneof![Just(BuyerKind::Business), Just(BuyerKind::Consumer)]
}

proptest! {
    #[test]
    fn totals_always_add_up(lines in prop::collection::vec(any_line(), 1..30), buyer in any_buyer()) {
        let gross: Vec<i64> = lines.iter().map(|l| line_amount(l).unwrap().0).collect();
        let Ok(t) = invoice_totals(&lines, buyer) else {
            prop_assert_eq!(gross.iter().sum::<i64>(), 0);
            return Ok(());
        };
        let of = |kind: TaxType| -> (i64, i64) {
            lines.iter().zip(&t.line_amounts).zip(&gross).filter(|((l, _), _)| l.tax_type == kind).fold((0, 0), |(a, g), ((_, x), y)| (a + x.0, g + y))
        };
        let ((taxable_lines, taxable_gross), (zero_lines, zero_gross), (free_lines, free_gross)) = (of(TaxType::Taxable), of(TaxType::ZeroRated), of(TaxType::Exempt));
        prop_assert_eq!(taxable_lines, t.sales_amount.0);
        prop_assert_eq!((zero_lines, zero_gross), (t.zero_tax_sales_amount.0, t.zero_tax_sales_amount.0));
        prop_assert_eq!((free_lines, free_gross), (t.free_tax_sales_amount.0, t.free_tax_sales_amount.0));
        prop_assert_eq!(t.total_amount.0, t.sales_amount.0 + t.free_tax_sales_amount.0 + t.zero_tax_sales_amount.0 + t.tax_amount.0);
        prop_assert_eq!(t.total_amount.0, gross.iter().sum::<i64>());
        prop_assert!(t.tax_amount.0 >= 0);
        prop_assert!(t.line_amounts.iter().all(|a| a.0 >= 0));
        match buyer {
            BuyerKind::Consumer => {
                prop_assert_eq!(t.tax_amount, Ntd(0));
                prop_assert_eq!(&t.line_amounts.iter().map(|a| a.0).collect::<Vec<_>>(), &gross);
            }
            BuyerKind::Business => {
                let expected_sales = div_round_half_up(i128::from(taxable_gross) * 100, 105) as i64;
                prop_assert_eq!(t.sales_amount.0, expected_sales);
                prop_assert_eq!(t.tax_amount.0, taxable_gross - expected_sales);
                // No taxable line is printed above its tax-inclusive amount.
                for ((l, a), g) in lines.iter().zip(&t.line_amounts).zip(&gross) {
                    if l.tax_type == TaxType::Taxable {
                        prop_assert!(a.0 <= *g);
                    }
                }
            }
        }
    }

    #[test]
    fn any_input_gives_a_result_or_an_error_never_a_panic(
        raw in prop::collection::vec((any::<i64>(), any::<i64>(), prop_oneof![Just(1u8), Just(2), Just(3), Just(4), Just(9)]), 1..6),
        buyer in any_buyer(),
    ) {
        let lines: Vec<Line> = raw.iter().map(|&(q, p, code)| Line {
            description: String::new(),
            quantity: Quantity::from_thousandths(q),
            unit: String::new(),
            unit_price: Ntd(p),
            tax_type: TaxType::from_code(code).unwrap(),
        }).collect();
        let _ = invoice_totals(&lines, buyer);
    }

    #[test]
    fn huge_amounts_overflow_as_errors(price in (i64::MAX / 4)..=i64::MAX, n in 2usize..8, buyer in any_buyer()) {
        let lines = vec![line("2", price, TaxType::Taxable); n];
        prop_assert_eq!(invoice_totals(&lines, buyer), Err(TaxError::Overflow));
    }

    #[test]
    fn b2b_tax_is_the_total_less_its_rounded_net(t in 0i64..=i64::MAX) {
        let split = split_tax_inclusive(Ntd(t)).unwrap();
        prop_assert_eq!(split.amount.0 as i128, div_round_half_up(i128::from(t) * 100, 105));
        prop_assert_eq!(split.amount.0 + split.tax.0, t);
        prop_assert!(split.tax.0 >= 0);
    }

    #[test]
    fn quantities_round_trip(q in any::<i64>()) {
        let quantity = Quantity::from_thousandths(q);
        prop_assert_eq!(Quantity::parse(&quantity.to_string()), Ok(quantity));
        let json = serde_json::to_string(&quantity).unwrap();
        prop_assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), quantity);
    }

    #[test]
    fn quantity_parse_never_panics(text in "\\PC{0,24}") {
        let _ = Quantity::parse(&text);
    }
}
