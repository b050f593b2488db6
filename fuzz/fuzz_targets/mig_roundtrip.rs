//! The MIG writer on arbitrary text: an F0401 whose free texts (names, address, description, unit,
//! remark) and identifiers come from the input must either be refused with a `MigError` or be
//! written as well-formed XML that reads back to the same texts (escaping is complete).
#![no_main]

use chrono::{NaiveDate, NaiveTime};
use einvoice::mig::{Invoice, InvoiceAmount, InvoiceType, MigMessage, Party, ProductItem, TaxType};
use einvoice::money::Ntd;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Up to six fields, split at '|'; missing ones keep a valid value.
    let mut parts = text.split('|');
    let mut next = |default: &str| parts.next().map(str::to_owned).unwrap_or_else(|| default.to_owned());
    let seller_name = next("幸福瓦斯行");
    let address = next("臺北市");
    let description = next("20公斤桶裝瓦斯");
    let unit = next("桶");
    let remark = next("ORD-1");
    let number = next("FN53067850");
    let quantity = i64::from(data.first().copied().unwrap_or(1));
    let price = i64::from(data.last().copied().unwrap_or(1)) * 7;
    let total = quantity * price;
    let invoice = Invoice {
        invoice_number: number.clone(),
        invoice_date: NaiveDate::from_ymd_opt(2025, 3, 14).unwrap(),
        invoice_time: NaiveTime::from_hms_opt(9, 5, 7).unwrap(),
        seller: Party { address: Some(address.clone()), ..Party::new("04595252", seller_name.clone()) },
        buyer: Party::new("0000000000", "消費者"),
        main_remark: None,
        customs_clearance_mark: None,
        relate_number: Some(remark.clone()),
        invoice_type: InvoiceType::General,
        donate_mark: false,
        carrier: None,
        print_mark: true,
        npoban: None,
        random_number: "0427".into(),
        zero_tax_rate_reason: None,
        items: vec![ProductItem {
            description: description.clone(),
            quantity,
            unit: Some(unit.clone()),
            unit_price: Ntd(price),
            tax_type: TaxType::Taxable,
            amount: Ntd(total),
            sequence_number: 1,
            remark: None,
        }],
        amount: InvoiceAmount {
            sales_amount: Ntd(total),
            free_tax_sales_amount: Ntd(0),
            zero_tax_sales_amount: Ntd(0),
            tax_type: TaxType::Taxable,
            tax_rate_percent: 5,
            tax_amount: Ntd(0),
            total_amount: Ntd(total),
        },
    };
    let name = invoice.suggested_file_name(1);
    assert!(!name.contains(['/', '\\']) && name.ends_with(".xml"));
    let Ok(xml) = invoice.to_xml() else { return };
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"));
    let find = |name: &str| -> String {
        let node = doc.descendants().find(|n| n.has_tag_name(name)).unwrap_or_else(|| panic!("no <{name}>"));
        node.text().unwrap_or("").to_owned()
    };
    assert_eq!(find("InvoiceNumber"), number);
    assert_eq!(find("Address"), address);
    assert_eq!(find("Description"), description);
    assert_eq!(find("Unit"), unit);
    assert_eq!(find("RelateNumber"), remark);
    let seller = doc.descendants().find(|n| n.has_tag_name("Seller")).unwrap();
    let seller_name_read = seller.children().find(|n| n.has_tag_name("Name")).and_then(|n| n.text()).unwrap_or("");
    assert_eq!(seller_name_read, seller_name);
});
