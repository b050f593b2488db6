//! The MIG writer's XML, read back with an independent parser (roxmltree): root, namespace,
//! values, element order, totals; and every limit the writer enforces gives its `MigError`.

use chrono::{NaiveDate, NaiveTime};
use einvoice::mig::{
    Allowance, AllowanceItem, AllowanceType, BlankRange, BranchTrackBlank, CancelAllowance, CancelInvoice, Carrier, Invoice, InvoiceAmount, InvoiceType,
    MessageType, MigError, MigLimits, MigMessage, Party, ProductItem, TaxType, VoidInvoice,
};
use einvoice::money::Ntd;
use roxmltree::{Document, Node};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn seller() -> Party {
    Party { address: Some("臺北市中正區忠孝西路1段1號".into()), ..Party::new("04595252", "幸福瓦斯行 & Co <LPG>") }
}

fn item(seq: u16, description: &str, quantity: i64, unit_price: i64) -> ProductItem {
    ProductItem {
        description: description.into(),
        quantity,
        unit: Some("桶".into()),
        unit_price: Ntd(unit_price),
        tax_type: TaxType::Taxable,
        amount: Ntd(unit_price * quantity),
        sequence_number: seq,
        remark: None,
    }
}

/// A B2C invoice on a mobile barcode: 2 × 690 = 1380 tax included, TaxAmount 0.
fn b2c() -> Invoice {
    Invoice {
        invoice_number: "FN53067850".into(),
        invoice_date: date(2025, 3, 14),
        invoice_time: NaiveTime::from_hms_opt(9, 5, 7).unwrap(),
        seller: seller(),
        buyer: Party::new("0000000000", "消費者"),
        main_remark: None,
        customs_clearance_mark: None,
        relate_number: Some("ORD-2025-0001".into()),
        invoice_type: InvoiceType::General,
        donate_mark: false,
        carrier: Some(Carrier::mobile_barcode("/ABC+1.2")),
        print_mark: false,
        npoban: None,
        random_number: "0427".into(),
        zero_tax_rate_reason: None,
        items: vec![item(1, "20公斤桶裝瓦斯", 2, 690)],
        amount: InvoiceAmount {
            sales_amount: Ntd(1380),
            free_tax_sales_amount: Ntd(0),
            zero_tax_sales_amount: Ntd(0),
            tax_type: TaxType::Taxable,
            tax_rate_percent: 5,
            tax_amount: Ntd(0),
            total_amount: Ntd(1380),
        },
    }
}

/// A B2B invoice, tax shown separately: items 1314 before tax, 66 tax, 1380 in all.
fn b2b() -> Invoice {
    Invoice {
        buyer: Party { address: Some("新北市板橋區".into()), ..Party::new("10458575", "好客餐廳有限公司") },
        carrier: None,
        print_mark: true,
        items: vec![item(1, "20公斤桶裝瓦斯", 1, 1000), item(2, "安全檢查", 1, 314)],
        amount: InvoiceAmount {
            sales_amount: Ntd(1314),
            free_tax_sales_amount: Ntd(0),
            zero_tax_sales_amount: Ntd(0),
            tax_type: TaxType::Taxable,
            tax_rate_percent: 5,
            tax_amount: Ntd(66),
            total_amount: Ntd(1380),
        },
        ..b2c()
    }
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
    node.children().find(|n| n.has_tag_name(name)).unwrap_or_else(|| panic!("<{}> has no <{name}>", node.tag_name().name()))
}

fn text_at(node: Node<'_, '_>, path: &str) -> String {
    let mut n = node;
    for part in path.split('/') {
        n = child(n, part);
    }
    n.text().unwrap_or("").to_owned()
}

fn element_names(node: Node<'_, '_>) -> Vec<String> {
    node.children().filter(Node::is_element).map(|n| n.tag_name().name().to_owned()).collect()
}

fn num(node: Node<'_, '_>, path: &str) -> i64 {
    text_at(node, path).parse().unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses `xml` and checks the root element and that every element is in the message's namespace.
fn parse(xml: &str, t: MessageType) -> Document<'_> {
    let doc = Document::parse(xml).expect("the writer writes well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), t.root_element());
    let ns = format!("urn:GEINV:eInvoiceMessage:{t}:4.1");
    for n in root.descendants().filter(Node::is_element) {
        assert_eq!(n.tag_name().namespace(), Some(ns.as_str()), "<{}>", n.tag_name().name());
    }
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    doc
}

#[test]
fn f0401_b2c_reads_back() {
    let inv = b2c();
    assert_eq!(inv.message_type(), MessageType::F0401);
    assert_eq!(inv.message_type().as_str(), "F0401");
    let xml = inv.to_xml().unwrap();
    let doc = parse(&xml, MessageType::F0401);
    let root = doc.root_element();
    assert_eq!(element_names(root), ["Main", "Details", "Amount"]);

    let main = child(root, "Main");
    assert_eq!(
        element_names(main),
        [
            "InvoiceNumber",
            "InvoiceDate",
            "InvoiceTime",
            "Seller",
            "Buyer",
            "RelateNumber",
            "InvoiceType",
            "DonateMark",
            "CarrierType",
            "CarrierId1",
            "CarrierId2",
            "PrintMark",
            "RandomNumber"
        ]
    );
    assert_eq!(text_at(main, "InvoiceNumber"), "FN53067850");
    assert_eq!(text_at(main, "InvoiceDate"), "20250314");
    assert_eq!(text_at(main, "InvoiceTime"), "09:05:07");
    assert_eq!(text_at(main, "Seller/Identifier"), "04595252");
    // Escaped on the way out, intact on the way back.
    assert_eq!(text_at(main, "Seller/Name"), "幸福瓦斯行 & Co <LPG>");
    assert_eq!(element_names(child(main, "Seller")), ["Identifier", "Name", "Address"]);
    assert_eq!(text_at(main, "Buyer/Identifier"), "0000000000");
    assert_eq!(text_at(main, "InvoiceType"), "07");
    assert_eq!(text_at(main, "DonateMark"), "0");
    assert_eq!(text_at(main, "CarrierType"), "3J0002");
    assert_eq!(text_at(main, "CarrierId1"), "/ABC+1.2");
    assert_eq!(text_at(main, "CarrierId2"), "/ABC+1.2");
    assert_eq!(text_at(main, "PrintMark"), "N");
    assert_eq!(text_at(main, "RandomNumber"), "0427");

    let items: Vec<_> = child(root, "Details").children().filter(Node::is_element).collect();
    assert_eq!(items.len(), 1);
    assert_eq!(element_names(items[0]), ["Description", "Quantity", "Unit", "UnitPrice", "TaxType", "Amount", "SequenceNumber"]);
    assert_eq!(text_at(items[0], "Description"), "20公斤桶裝瓦斯");
    assert_eq!(num(items[0], "Quantity") * num(items[0], "UnitPrice"), num(items[0], "Amount"));

    let amount = child(root, "Amount");
    assert_eq!(element_names(amount), ["SalesAmount", "FreeTaxSalesAmount", "ZeroTaxSalesAmount", "TaxType", "TaxRate", "TaxAmount", "TotalAmount"]);
    assert_eq!(text_at(amount, "TaxRate"), "0.05");
    assert_eq!(num(amount, "TaxAmount"), 0);
    assert_eq!(num(amount, "SalesAmount"), items.iter().map(|i| num(*i, "Amount")).sum::<i64>());
    assert_eq!(num(amount, "TotalAmount"), 1380);
}

#[test]
fn f0401_b2b_totals_add_up() {
    let xml = b2b().to_xml().unwrap();
    let doc = parse(&xml, MessageType::F0401);
    let root = doc.root_element();
    let main = child(root, "Main");
    assert_eq!(text_at(main, "Buyer/Identifier"), "10458575");
    assert_eq!(text_at(main, "PrintMark"), "Y");
    assert!(main.children().all(|n| !n.has_tag_name("CarrierType")));
    let items: Vec<_> = child(root, "Details").children().filter(Node::is_element).collect();
    let seqs: Vec<i64> = items.iter().map(|i| num(*i, "SequenceNumber")).collect();
    assert_eq!(seqs, [1, 2]);
    let amount = child(root, "Amount");
    let items_total: i64 = items.iter().map(|i| num(*i, "Amount")).sum();
    assert_eq!(items_total, num(amount, "SalesAmount"));
    assert_eq!(
        num(amount, "SalesAmount") + num(amount, "FreeTaxSalesAmount") + num(amount, "ZeroTaxSalesAmount") + num(amount, "TaxAmount"),
        num(amount, "TotalAmount")
    );
    assert_eq!((num(amount, "SalesAmount"), num(amount, "TaxAmount"), num(amount, "TotalAmount")), (1314, 66, 1380));
}

#[test]
fn f0401_donated_invoice() {
    let inv = Invoice { carrier: None, donate_mark: true, npoban: Some("25885".into()), ..b2c() };
    let xml = inv.to_xml().unwrap();
    let doc = parse(&xml, MessageType::F0401);
    let main = child(doc.root_element(), "Main");
    assert_eq!(text_at(main, "DonateMark"), "1");
    assert_eq!(text_at(main, "NPOBAN"), "25885");
    assert_eq!(text_at(main, "PrintMark"), "N");
}

fn field_of(e: &MigError) -> &str {
    match e {
        MigError::Missing { field }
        | MigError::TooLong { field, .. }
        | MigError::Format { field, .. }
        | MigError::Character { field, .. }
        | MigError::Negative { field, .. }
        | MigError::Count { field, .. }
        | MigError::Range { field, .. }
        | MigError::Mismatch { field, .. }
        | MigError::Duplicate { field, .. }
        | MigError::Rule { field, .. }
        | MigError::Overflow { field } => field,
    }
}

fn err(inv: &Invoice) -> MigError {
    inv.to_xml().expect_err("the invoice breaks a limit")
}

#[test]
fn f0401_identifier_limits() {
    let e = err(&Invoice { invoice_number: "FN5306785".into(), ..b2c() });
    assert!(matches!(e, MigError::Format { ref field, .. } if field == "Main/InvoiceNumber"), "{e}");

    let mut inv = b2c();
    inv.buyer.identifier = "000000000".into();
    assert_eq!(field_of(&err(&inv)), "Main/Buyer/Identifier");

    let mut inv = b2c();
    inv.seller.identifier = "0459525A".into();
    assert_eq!(field_of(&err(&inv)), "Main/Seller/Identifier");

    let mut inv = b2c();
    inv.seller.address = None;
    assert_eq!(err(&inv), MigError::Missing { field: "Main/Seller/Address".into() });

    for bad in ["427", "04270", "04a7"] {
        let e = err(&Invoice { random_number: bad.into(), ..b2c() });
        assert!(matches!(e, MigError::Format { ref field, .. } if field == "Main/RandomNumber"), "{bad}: {e}");
    }
}

#[test]
fn f0401_length_limits() {
    let mut inv = b2c();
    inv.seller.name = "瓦".repeat(61);
    assert_eq!(err(&inv), MigError::TooLong { field: "Main/Seller/Name".into(), max: 60, actual: 61 });
    // Configurable: a deployment that knows MIG 4.1 allows more can say so.
    let limits = MigLimits { name: 80, ..MigLimits::default() };
    assert!(inv.to_xml_with(&limits).is_ok());

    let mut inv = b2c();
    inv.items[0].description = "x".repeat(257);
    assert_eq!(err(&inv), MigError::TooLong { field: "Details/ProductItem[1]/Description".into(), max: 256, actual: 257 });

    let mut inv = b2c();
    inv.items[0].description = "bell\u{7}".into();
    assert_eq!(err(&inv), MigError::Character { field: "Details/ProductItem[1]/Description".into(), ch: '\u{7}' });

    let mut inv = b2c();
    inv.buyer.name = " ".into();
    assert_eq!(err(&inv), MigError::Missing { field: "Main/Buyer/Name".into() });
}

#[test]
fn f0401_item_count_limits() {
    let e = err(&Invoice { items: vec![], ..b2c() });
    assert_eq!(e, MigError::Count { field: "Details/ProductItem".into(), min: 1, max: 9999, count: 0 });

    let mut inv = b2c();
    inv.items = (1..=9999).map(|s| item(s, "瓦斯", 1, 1)).collect();
    inv.amount.sales_amount = Ntd(9999);
    inv.amount.total_amount = Ntd(9999);
    let xml = inv.to_xml().expect("9999 items are allowed");
    let doc = parse(&xml, MessageType::F0401);
    assert_eq!(child(doc.root_element(), "Details").children().filter(Node::is_element).count(), 9999);

    inv.items.push(item(1, "瓦斯", 1, 1));
    inv.amount.sales_amount = Ntd(10_000);
    inv.amount.total_amount = Ntd(10_000);
    assert!(matches!(err(&inv), MigError::Count { count: 10_000, .. }));

    let mut inv = b2b();
    inv.items[1].sequence_number = 1;
    assert_eq!(err(&inv), MigError::Duplicate { field: "Details/ProductItem[2]/SequenceNumber".into(), value: "1".into() });
    inv.items[1].sequence_number = 0;
    assert!(matches!(err(&inv), MigError::Range { ref field, .. } if field == "Details/ProductItem[2]/SequenceNumber"));
}

#[test]
fn f0401_amount_limits() {
    let mut inv = b2c();
    inv.items[0].unit_price = Ntd(-690);
    inv.items[0].amount = Ntd(-1380);
    assert_eq!(err(&inv), MigError::Negative { field: "Details/ProductItem[1]/UnitPrice".into(), value: Ntd(-690) });

    let mut inv = b2c();
    inv.items[0].amount = Ntd(1381);
    assert!(matches!(err(&inv), MigError::Mismatch { ref field, .. } if field == "Details/ProductItem[1]/Amount"));

    let mut inv = b2c();
    inv.amount.total_amount = Ntd(1381);
    assert!(matches!(err(&inv), MigError::Mismatch { ref field, .. } if field == "Amount/TotalAmount"));

    // B2C: the tax is inside SalesAmount.
    let mut inv = b2c();
    inv.amount.sales_amount = Ntd(1314);
    inv.amount.tax_amount = Ntd(66);
    assert!(matches!(err(&inv), MigError::Mismatch { ref field, .. } if field == "Amount/TaxAmount"));

    let mut inv = b2b();
    inv.amount.sales_amount = Ntd(1300);
    inv.amount.tax_amount = Ntd(80);
    assert!(matches!(err(&inv), MigError::Mismatch { ref field, .. } if field == "Amount/SalesAmount"));

    let mut inv = b2b();
    inv.amount.tax_rate_percent = 10;
    assert!(matches!(err(&inv), MigError::Mismatch { ref field, .. } if field == "Amount/TaxRate"));

    let mut inv = b2b();
    inv.amount.tax_amount = Ntd(-1);
    assert!(matches!(err(&inv), MigError::Negative { ref field, .. } if field == "Amount/TaxAmount"));

    let mut inv = b2b();
    inv.items[1].tax_type = TaxType::Exempt;
    assert!(matches!(err(&inv), MigError::Rule { ref field, .. } if field == "Details/ProductItem[2]/TaxType"));

    // Mixed: an exempt line next to a taxable one.
    let mut inv = b2b();
    inv.items[1].tax_type = TaxType::Exempt;
    inv.amount = InvoiceAmount {
        sales_amount: Ntd(1000),
        free_tax_sales_amount: Ntd(314),
        zero_tax_sales_amount: Ntd(0),
        tax_type: TaxType::Mixed,
        tax_rate_percent: 5,
        tax_amount: Ntd(50),
        total_amount: Ntd(1364),
    };
    let xml = inv.to_xml().unwrap();
    let doc = parse(&xml, MessageType::F0401);
    assert_eq!(text_at(child(doc.root_element(), "Amount"), "TaxType"), "9");
}

#[test]
fn f0401_donation_and_carrier_rules() {
    let e = err(&Invoice { donate_mark: true, npoban: Some("25885".into()), ..b2c() });
    assert_eq!(field_of(&e), "Main/CarrierType", "{e}");

    let e = err(&Invoice { carrier: None, donate_mark: true, npoban: None, ..b2c() });
    assert_eq!(field_of(&e), "Main/NPOBAN");

    let e = err(&Invoice { carrier: None, donate_mark: true, npoban: Some("12".into()), ..b2c() });
    assert!(matches!(e, MigError::Format { ref field, .. } if field == "Main/NPOBAN"));

    let e = err(&Invoice { npoban: Some("25885".into()), ..b2c() });
    assert_eq!(field_of(&e), "Main/NPOBAN");

    let e = err(&Invoice { carrier: None, donate_mark: true, npoban: Some("25885".into()), ..b2b() });
    assert_eq!(field_of(&e), "Main/PrintMark");

    let e = err(&Invoice { print_mark: true, ..b2c() });
    assert_eq!(field_of(&e), "Main/PrintMark");

    let e = err(&Invoice { carrier: None, print_mark: false, ..b2c() });
    assert_eq!(field_of(&e), "Main/PrintMark", "a B2C invoice must be printed, on a carrier or donated");

    let e = err(&Invoice { carrier: Some(Carrier::mobile_barcode("ABC1234")), ..b2c() });
    assert!(matches!(e, MigError::Format { ref field, .. } if field == "Main/CarrierId1"));

    let citizen = Carrier { carrier_type: Carrier::CITIZEN_CERTIFICATE.into(), id1: "AB12345678901234".into(), id2: "AB12345678901234".into() };
    assert!(Invoice { carrier: Some(citizen), ..b2c() }.to_xml().is_ok());
}

#[test]
fn file_names_are_unique_per_revision_and_safe() {
    let inv = b2c();
    assert_eq!(inv.suggested_file_name(1), "F0401_FN53067850_001.xml");
    assert_ne!(inv.suggested_file_name(1), inv.suggested_file_name(2));
    let odd = Invoice { invoice_number: "../../x".into(), ..b2c() };
    assert!(!odd.suggested_file_name(1).contains('/'));
}

fn time(h: u32, m: u32, s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, s).unwrap()
}

fn cancel() -> CancelInvoice {
    CancelInvoice {
        cancel_invoice_number: "FN53067850".into(),
        invoice_date: date(2025, 3, 14),
        buyer_id: "10458575".into(),
        seller_id: "04595252".into(),
        cancel_date: date(2025, 3, 15),
        cancel_time: time(10, 0, 0),
        cancel_reason: "品項錯誤".into(),
        return_tax_document_number: None,
        remark: Some("客戶要求 <重開>".into()),
    }
}

#[test]
fn f0501_cancel_invoice_reads_back() {
    let c = cancel();
    let xml = c.to_xml().unwrap();
    let doc = parse(&xml, MessageType::F0501);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "CancelInvoice");
    assert_eq!(element_names(root), ["CancelInvoiceNumber", "InvoiceDate", "BuyerId", "SellerId", "CancelDate", "CancelTime", "CancelReason", "Remark"]);
    assert_eq!(text_at(root, "CancelInvoiceNumber"), "FN53067850");
    assert_eq!(text_at(root, "CancelDate"), "20250315");
    assert_eq!(text_at(root, "CancelTime"), "10:00:00");
    assert_eq!(text_at(root, "Remark"), "客戶要求 <重開>");
    assert_eq!(c.suggested_file_name(1), "F0501_FN53067850_001.xml");

    let e = CancelInvoice { cancel_reason: "因".repeat(21), ..cancel() }.to_xml().unwrap_err();
    assert_eq!(e, MigError::TooLong { field: "CancelReason".into(), max: 20, actual: 21 });
    let e = CancelInvoice { cancel_date: date(2025, 3, 13), ..cancel() }.to_xml().unwrap_err();
    assert_eq!(field_of(&e), "CancelDate");
    let e = CancelInvoice { seller_id: "0000000000".into(), ..cancel() }.to_xml().unwrap_err();
    assert_eq!(field_of(&e), "SellerId");
}

#[test]
fn f0701_void_invoice_reads_back() {
    let v = VoidInvoice {
        void_invoice_number: "FN53067850".into(),
        invoice_date: date(2025, 3, 14),
        buyer_id: "0000000000".into(),
        seller_id: "04595252".into(),
        void_date: date(2025, 3, 14),
        void_time: time(18, 30, 0),
        void_reason: "資料錯誤重開".into(),
        remark: None,
    };
    let xml = v.to_xml().unwrap();
    let doc = parse(&xml, MessageType::F0701);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "VoidInvoice");
    assert_eq!(element_names(root), ["VoidInvoiceNumber", "InvoiceDate", "BuyerId", "SellerId", "VoidDate", "VoidTime", "VoidReason"]);
    assert_eq!(text_at(root, "BuyerId"), "0000000000");
    assert_eq!(text_at(root, "VoidReason"), "資料錯誤重開");
    let e = VoidInvoice { void_reason: String::new(), ..v }.to_xml().unwrap_err();
    assert_eq!(e, MigError::Missing { field: "VoidReason".into() });
}

fn allowance() -> Allowance {
    let line = |seq: u16, original_seq: u16, quantity: i64, unit_price: i64, tax: i64| AllowanceItem {
        original_invoice_date: date(2025, 3, 14),
        original_invoice_number: "FN53067850".into(),
        original_sequence_number: Some(original_seq),
        original_description: "20公斤桶裝瓦斯".into(),
        quantity,
        unit: Some("桶".into()),
        unit_price: Ntd(unit_price),
        amount: Ntd(unit_price * quantity),
        tax: Ntd(tax),
        allowance_sequence_number: seq,
        tax_type: TaxType::Taxable,
    };
    Allowance {
        allowance_number: "AL2025031600001".into(),
        allowance_date: date(2025, 3, 16),
        seller: seller(),
        buyer: Party::new("10458575", "好客餐廳有限公司"),
        allowance_type: AllowanceType::SellerIssued,
        items: vec![line(1, 1, 1, 200, 10), line(2, 2, 2, 50, 5)],
        tax_amount: Ntd(15),
        total_amount: Ntd(300),
    }
}

#[test]
fn g0401_allowance_reads_back() {
    let a = allowance();
    let xml = a.to_xml().unwrap();
    let doc = parse(&xml, MessageType::G0401);
    let root = doc.root_element();
    assert_eq!(element_names(root), ["Main", "Details", "Amount"]);
    let main = child(root, "Main");
    assert_eq!(element_names(main), ["AllowanceNumber", "AllowanceDate", "Seller", "Buyer", "AllowanceType"]);
    assert_eq!(text_at(main, "AllowanceType"), "2");
    let items: Vec<_> = child(root, "Details").children().filter(Node::is_element).collect();
    assert_eq!(
        element_names(items[0]),
        [
            "OriginalInvoiceDate",
            "OriginalInvoiceNumber",
            "OriginalSequenceNumber",
            "OriginalDescription",
            "Quantity",
            "Unit",
            "UnitPrice",
            "Amount",
            "Tax",
            "AllowanceSequenceNumber",
            "TaxType"
        ]
    );
    assert_eq!(text_at(items[1], "OriginalInvoiceNumber"), "FN53067850");
    assert_eq!(text_at(items[1], "OriginalInvoiceDate"), "20250314");
    let amount = child(root, "Amount");
    assert_eq!(items.iter().map(|i| num(*i, "Amount")).sum::<i64>(), num(amount, "TotalAmount"));
    assert_eq!(items.iter().map(|i| num(*i, "Tax")).sum::<i64>(), num(amount, "TaxAmount"));
    assert_eq!(a.suggested_file_name(1), "G0401_AL2025031600001_001.xml");
}

#[test]
fn g0401_limits() {
    let e = Allowance { allowance_type: AllowanceType::BuyerIssued, ..allowance() }.to_xml().unwrap_err();
    assert_eq!(field_of(&e), "Main/AllowanceType", "type 1 is gone since 2025: {e}");
    // Before 2025 a buyer-issued allowance was fine.
    let mut old = Allowance { allowance_type: AllowanceType::BuyerIssued, allowance_date: date(2024, 12, 31), ..allowance() };
    for i in &mut old.items {
        i.original_invoice_date = date(2024, 12, 1);
    }
    assert!(old.to_xml().is_ok());

    let e = Allowance { tax_amount: Ntd(16), ..allowance() }.to_xml().unwrap_err();
    assert!(matches!(e, MigError::Mismatch { ref field, .. } if field == "Amount/TaxAmount"));
    let e = Allowance { total_amount: Ntd(299), ..allowance() }.to_xml().unwrap_err();
    assert!(matches!(e, MigError::Mismatch { ref field, .. } if field == "Amount/TotalAmount"));
    let e = Allowance { allowance_number: "AL-1".into(), ..allowance() }.to_xml().unwrap_err();
    assert_eq!(field_of(&e), "Main/AllowanceNumber");
    let e = Allowance { allowance_number: "A".repeat(17), ..allowance() }.to_xml().unwrap_err();
    assert!(matches!(e, MigError::TooLong { max: 16, .. }));
    let mut a = allowance();
    a.items[0].original_invoice_date = date(2025, 3, 17);
    assert_eq!(field_of(&a.to_xml().unwrap_err()), "Details/ProductItem[1]/OriginalInvoiceDate");
    let mut a = allowance();
    a.items[1].allowance_sequence_number = 1;
    assert!(matches!(a.to_xml().unwrap_err(), MigError::Duplicate { .. }));
    let mut a = allowance();
    a.items[0].tax = Ntd(-10);
    a.tax_amount = Ntd(-5);
    assert_eq!(a.to_xml().unwrap_err(), MigError::Negative { field: "Details/ProductItem[1]/Tax".into(), value: Ntd(-10) });
    let e = Allowance { items: vec![], tax_amount: Ntd(0), total_amount: Ntd(0), ..allowance() }.to_xml().unwrap_err();
    assert!(matches!(e, MigError::Count { count: 0, .. }));
}

#[test]
fn g0501_cancel_allowance_reads_back() {
    let c = CancelAllowance {
        cancel_allowance_number: "AL2025031600001".into(),
        allowance_type: Some(AllowanceType::SellerIssued),
        allowance_date: date(2025, 3, 16),
        buyer_id: "10458575".into(),
        seller_id: "04595252".into(),
        cancel_date: date(2025, 3, 17),
        cancel_time: time(8, 0, 1),
        cancel_reason: "金額錯誤".into(),
        remark: None,
    };
    let xml = c.to_xml().unwrap();
    let doc = parse(&xml, MessageType::G0501);
    let root = doc.root_element();
    assert_eq!(
        element_names(root),
        ["CancelAllowanceNumber", "AllowanceType", "AllowanceDate", "BuyerId", "SellerId", "CancelDate", "CancelTime", "CancelReason"]
    );
    assert_eq!(text_at(root, "CancelTime"), "08:00:01");
    let xml = CancelAllowance { allowance_type: None, ..c.clone() }.to_xml().unwrap();
    assert!(!xml.contains("AllowanceType"));
    let e = CancelAllowance { cancel_date: date(2025, 3, 15), ..c }.to_xml().unwrap_err();
    assert_eq!(field_of(&e), "CancelDate");
}

fn blank() -> BranchTrackBlank {
    BranchTrackBlank {
        head_ban: "04595252".into(),
        branch_ban: "04595252".into(),
        invoice_type: InvoiceType::General,
        year: 2025,
        month: 4,
        invoice_track: "FN".into(),
        ranges: vec![BlankRange { begin: 53_067_851, end: 53_067_899 }, BlankRange { begin: 1_080, end: 1_499 }],
    }
}

#[test]
fn e0402_blank_numbers_read_back() {
    let b = blank();
    let xml = b.to_xml().unwrap();
    let doc = parse(&xml, MessageType::E0402);
    let root = doc.root_element();
    let main = child(root, "Main");
    assert_eq!(element_names(main), ["HeadBan", "BranchBan", "InvoiceType", "YearMonth", "InvoiceTrack"]);
    assert_eq!(text_at(main, "YearMonth"), "11404");
    assert_eq!(text_at(main, "InvoiceTrack"), "FN");
    let items: Vec<_> = child(root, "Details").children().filter(Node::is_element).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(text_at(items[1], "InvoiceBeginNo"), "00001080");
    assert_eq!(text_at(items[1], "InvoiceEndNo"), "00001499");
    assert_eq!(b.suggested_file_name(1), "E0402_04595252_11404_FN_001.xml");
}

#[test]
fn e0402_limits() {
    let mut b = blank();
    b.ranges.push(BlankRange { begin: 53_067_899, end: 53_067_900 });
    assert_eq!(field_of(&b.to_xml().unwrap_err()), "Details/BranchTrackBlankItem[3]");
    let mut b = blank();
    b.ranges[0] = BlankRange { begin: 10, end: 9 };
    assert_eq!(field_of(&b.to_xml().unwrap_err()), "Details/BranchTrackBlankItem[1]/InvoiceBeginNo");
    let e = BranchTrackBlank { month: 3, ..blank() }.to_xml().unwrap_err();
    assert_eq!(field_of(&e), "Main/YearMonth");
    let e = BranchTrackBlank { invoice_track: "Fn".into(), ..blank() }.to_xml().unwrap_err();
    assert_eq!(field_of(&e), "Main/InvoiceTrack");
    let e = BranchTrackBlank { ranges: vec![], ..blank() }.to_xml().unwrap_err();
    assert!(matches!(e, MigError::Count { count: 0, .. }));
    let e = BranchTrackBlank { ranges: vec![BlankRange { begin: 0, end: 100_000_000 }], ..blank() }.to_xml().unwrap_err();
    assert!(matches!(e, MigError::Range { .. }));
}
