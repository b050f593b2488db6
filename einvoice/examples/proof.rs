//! Renders a sample invoice proof to `/tmp/proof.png` and `/tmp/proof.pdf`.
//!
//! The QR key comes from `EINVOICE_QR_KEY` (32 hex digits); without it a throwaway demo key is
//! used, which the platform will not verify — a real key never belongs in the repository.

use chrono::{FixedOffset, TimeZone};
use einvoice::money::Ntd;
use einvoice::proof::{barcode_text, qr_left, qr_right, render_pdf, render_png, ProofData, ProofItem, QrKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = QrKey::from_hex(&std::env::var("EINVOICE_QR_KEY").unwrap_or_else(|_| "00112233445566778899AABBCCDDEEFF".into()))?;
    let taipei = FixedOffset::east_opt(8 * 3600).ok_or("offset")?;
    let data = ProofData {
        seller_ban: "04595257".into(),
        seller_name: "LuckyGas 幸福瓦斯".into(),
        buyer_ban: Some("10458575".into()),
        invoice_number: "AB12345678".into(),
        issued_at: taipei.with_ymd_and_hms(2026, 11, 5, 14, 30, 0).single().ok_or("date")?,
        random_code: "1234".into(),
        sales_amount: Ntd(1314),
        tax_amount: Ntd(66),
        total_amount: Ntd(1380),
        items: vec![
            ProofItem { description: "桶裝瓦斯 20kg".into(), quantity: "1".into(), unit_price: Ntd(980), amount: Ntd(980) },
            ProofItem { description: "桶裝瓦斯 16kg".into(), quantity: "1".into(), unit_price: Ntd(400), amount: Ntd(400) },
        ],
    };
    println!("barcode  {}", barcode_text(&data));
    println!("QR left  {}", qr_left(&data, &key)?);
    println!("QR right {}", qr_right(&data));
    std::fs::write("/tmp/proof.png", render_png(&data, &key)?)?;
    std::fs::write("/tmp/proof.pdf", render_pdf(&data, &key)?)?;
    println!("wrote /tmp/proof.png and /tmp/proof.pdf");
    Ok(())
}
