//! Virtual-account numbers are typed by accountants and read from bank files: `parse` must return
//! `Ok` or `Err` on any text, never panic, and a number it accepts must be the one `generate`
//! builds from what it says (customer and due date). Cathay's layout and a TOML-described one
//! (modulus 11, a ROC date) are both exercised.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use payments::virtual_account::{generate, parse, Layout};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cathay = Layout::cathay_16("9527").expect("the shipped layout is valid");
    let other = Layout::from_toml(
        r#"
name = "other-14"
segments = [{ kind = "fixed", digits = "88" }, { kind = "customer", digits = 4 }, { kind = "due", format = "YYYMMDD" }, { kind = "check" }]
check = { weights = [2, 3, 4, 5, 6, 7, 8, 9, 10, 1], modulus = 11 }
"#,
    )
    .expect("the fuzzed TOML layout is valid");
    for layout in [&cathay, &other] {
        let Ok(va) = parse(layout, &text) else { continue };
        assert_eq!(va.as_str(), text);
        let due = va.due().expect("both layouts carry a due date");
        // 2000 is a leap year: a yearless 29 February exists in it.
        let date = NaiveDate::from_ymd_opt(due.year.unwrap_or(2000), due.month, due.day).expect("a parsed due date exists");
        let at = date.and_hms_opt(due.hour.unwrap_or(0), 0, 0).expect("a parsed hour exists");
        assert_eq!(generate(layout, va.customer(), at).as_ref(), Ok(&va));
    }
    // Layout descriptions are configuration: any text is refused or gives a usable layout.
    if let Ok(layout) = Layout::from_toml(&text) {
        assert_eq!(Layout::from_toml(&layout.to_toml()).as_ref(), Ok(&layout));
    }
});
