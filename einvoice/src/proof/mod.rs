//! The printed invoice proof (電子發票證明聯) of a printed B2C (or B2B) e-invoice, on 57 mm thermal
//! paper: its barcode and QR contents, and its rendering to a printer raster (PNG) and to PDF.
//!
//! # Sources
//! - 財政部財政資訊中心, 「電子發票證明聯一維及二維條碼規格說明」 (the barcode specification), read
//!   in version 1.8 (2018-08; its revision table) and through quotations of version 1.9
//!   (2022-05): the one-dimensional barcode is Code 39 of 19 characters (example
//!   `10404UZ176908720122`); the two-dimensional barcodes are two QR Codes «以左右並列、水平(上緣)
//!   對齊、大小一致方式» (side by side, top-aligned, the same size); the left QR's 77 fixed
//!   characters, then `:`-separated self-use area (10 characters, `*` when unused), recorded item
//!   count, total item count, encoding (0 Big5, 1 UTF-8, 2 Base64) and `name:quantity:unit price`
//!   triplets, continued in the right QR after its leading `**` (example: left
//!   `AB11223344 1020523 9999 00000144 00000154 00000000 01234567 <24>:**********:3:3:1:乾電池:1:105:`,
//!   right `**口罩:1:210:牛奶:1:25`, spaces added here); items that do not fit either QR are left
//!   out («則以記載最多可放置於左右兩個二維條碼內容之品目為原則», quoted by ECPay's notice of
//!   2018-01-17).
//! - The verification field: AES-128-CBC with PKCS#7 (PKCS5) padding of invoice number + random
//!   code, key = the seller's 32-hex-digit QR key from the e-invoice platform, IV = base64
//!   `Dt8lyToo17X/XkXaQvihuA==`, output Base64 (24 characters): the Ministry's reference source
//!   (`QREncrypter`, shipped with the specification since v1.2) as reproduced by several
//!   independent implementations; the specification publishes no key, hence no ciphertext
//!   vector. Our test vector was computed with OpenSSL (`openssl enc -aes-128-cbc`).
//! - The proof's format: 5.7 cm wide, 9 cm long since 2014-01-01, period and invoice number
//!   enlarged and bold, details not printed but carried in the two QR codes (財政部財政資訊中心
//!   announcement, 2013, as republished by 新北市稅捐稽徵處 and others).
//!
//! *Unverified* (no primary text found; kept as named constants): the QR error-correction level
//! (L here), the dimensions of bars and modules (here 1 dot = 0.125 mm narrow bar at a 3:1
//! wide/narrow ratio, 6 mm bar height, 3-dot = 0.375 mm QR modules), the lower-case hex digits of
//! the amounts (as the reference code's `toHexString`), the printed date-time format, the
//! item split between the two QR codes (the specification's example shows one, not a rule; ours
//! is in [`qr_right`]), and the replacement of `:` inside item fields by `：`.

pub mod code39;
mod font;
mod layout;
mod pdf;
mod raster;

use crate::calendar::taipei;
use crate::money::Ntd;
use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate};
use std::fmt;

/// What the proof prints and encodes. Build it from an issued invoice (the F0401 fields of the
/// same names); [`ProofData::validate`] checks the formats the barcodes need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofData {
    /// The seller's 統一編號, 8 digits.
    pub seller_ban: String,
    /// The seller's name, printed at the top (PDF always; PNG only when its font has the glyphs).
    pub seller_name: String,
    /// The buyer's 統一編號 when the buyer is a business (B2B); `None` for a consumer.
    pub buyer_ban: Option<String>,
    /// The invoice number without a hyphen: two upper-case letters and 8 digits (`AB12345678`).
    pub invoice_number: String,
    /// When the invoice was issued; read in Taipei time whatever its offset.
    pub issued_at: DateTime<FixedOffset>,
    /// The 4-digit random code (隨機碼, F0401 `RandomNumber`).
    pub random_code: String,
    /// Sales amount (銷售額) for the left QR: the amount before tax; per the specification
    /// 0 when the seller's system cannot separate the tax. Encoded as given.
    pub sales_amount: Ntd,
    /// Tax amount (稅額).
    pub tax_amount: Ntd,
    /// Total (總計), tax included: printed and encoded in the left QR.
    pub total_amount: Ntd,
    /// The invoice's items, in order; carried only in the QR codes.
    pub items: Vec<ProofItem>,
}

/// One item of the invoice, as carried in the QR codes (`description:quantity:unit_price`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofItem {
    /// Product name (品名).
    pub description: String,
    /// Quantity as written on the invoice (`1`, `2.5`).
    pub quantity: String,
    /// Unit price (單價).
    pub unit_price: Ntd,
    /// Line amount (金額); not in the QR codes, kept for callers that print details.
    pub amount: Ntd,
}

/// Why a proof cannot be encoded or rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The invoice number is not two upper-case letters and 8 digits.
    #[error("invoice number must be two upper-case letters and 8 digits, got {0:?}")]
    InvoiceNumber(String),
    /// The random code is not 4 digits.
    #[error("random code must be 4 digits, got {0:?}")]
    RandomCode(String),
    /// A 統一編號 is not 8 digits.
    #[error("{which} must be 8 digits, got {value:?}")]
    Ban {
        /// Which one: `seller_ban` or `buyer_ban`.
        which: &'static str,
        /// The value given.
        value: String,
    },
    /// An amount is negative, or too large for the QR's 8 hexadecimal digits.
    #[error("{which} {value} is outside 0..=4294967295 (8 hexadecimal digits)")]
    Amount {
        /// Which amount.
        which: &'static str,
        /// Its NT$.
        value: i64,
    },
    /// The issue date's ROC year does not have 1 to 3 digits (years 1912–2910).
    #[error("ROC year {0} of the issue date does not fit three digits")]
    Year(i32),
    /// The QR key is not 32 hexadecimal digits.
    #[error("the QR key must be 32 hexadecimal digits")]
    QrKey,
    /// A verification field does not decrypt under the key.
    #[error("the verification field does not decrypt under this key")]
    Verification,
    /// A character outside Code 39.
    #[error("character {0:?} cannot be encoded in Code 39")]
    Code39Char(char),
    /// A QR content does not fit the largest QR this layout prints.
    #[error("QR content does not fit a version-{max} QR code", max = QR_MAX_VERSION)]
    QrTooLarge,
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// The seller's AES key for the QR verification field (the "QR 種子密碼" converted to hex by the
/// platform's key tool): 16 bytes given as 32 hexadecimal digits. Read it from configuration or
/// the environment, never from the repository; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct QrKey([u8; 16]);

impl QrKey {
    /// Parses 32 hexadecimal digits (either case; surrounding whitespace ignored).
    pub fn from_hex(hex: &str) -> Result<QrKey, ProofError> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 32 {
            return Err(ProofError::QrKey);
        }
        let mut key = [0u8; 16];
        for (byte, pair) in key.iter_mut().zip(hex.chunks_exact(2)) {
            let digit = |b: u8| (b as char).to_digit(16).ok_or(ProofError::QrKey);
            *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Ok(QrKey(key))
    }
}

impl fmt::Debug for QrKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QrKey(<redacted>)")
    }
}

/// The fixed IV of the verification field (the Ministry's reference source).
const QR_IV: [u8; 16] = [0x0e, 0xdf, 0x25, 0xc9, 0x3a, 0x28, 0xd7, 0xb5, 0xff, 0x5e, 0x45, 0xda, 0x42, 0xf8, 0xa1, 0xb8];

/// The unused self-use area (營業人自行使用區) of the left QR: 10 `*`.
pub const SELF_USE_AREA: &str = "**********";

/// The encoding parameter of the left QR: 1 = UTF-8 (0 would be Big5, 2 Base64).
pub const ENCODING_UTF8: &str = "1";

/// The largest QR version this layout prints (57 modules: two of them and their quiet zones fit
/// 384 dots at 3 dots a module). *Unverified*: the specification's own limit.
pub const QR_MAX_VERSION: i16 = 10;

/// Byte-mode capacity of versions 1..=10 at error-correction level L (ISO/IEC 18004, Table 7).
const QR_BYTES_L: [usize; 10] = [17, 32, 53, 78, 106, 134, 154, 192, 230, 271];

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// The verification field (加密驗證資訊): Base64 of AES-128-CBC(PKCS#7) of `invoice_number +
/// random_code` under `key` and the fixed IV; 24 characters for a valid number and code.
pub fn verification_field(invoice_number: &str, random_code: &str, key: &QrKey) -> String {
    let plain = format!("{invoice_number}{random_code}");
    let cipher = Aes128CbcEnc::new(&key.0.into(), &QR_IV.into()).encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    STANDARD.encode(cipher)
}

/// Decrypts a verification field back to `invoice_number + random_code`, for checks.
pub fn decrypt_verification(field: &str, key: &QrKey) -> Result<String, ProofError> {
    let cipher = STANDARD.decode(field).map_err(|_| ProofError::Verification)?;
    let plain = Aes128CbcDec::new(&key.0.into(), &QR_IV.into()).decrypt_padded_vec_mut::<Pkcs7>(&cipher).map_err(|_| ProofError::Verification)?;
    String::from_utf8(plain).map_err(|_| ProofError::Verification)
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl ProofData {
    /// Checks what the barcodes need: invoice number, random code, 統一編號 formats, amounts in
    /// `0..=0xFFFF_FFFF` (NT$4,294,967,295: the QR has 8 hexadecimal digits; larger is an error,
    /// never clipped) and an issue year with a 3-digit ROC year.
    pub fn validate(&self) -> Result<(), ProofError> {
        let n = self.invoice_number.as_bytes();
        if !(n.len() == 10 && n[..2].iter().all(u8::is_ascii_uppercase) && n[2..].iter().all(u8::is_ascii_digit)) {
            return Err(ProofError::InvoiceNumber(self.invoice_number.clone()));
        }
        if !is_digits(&self.random_code, 4) {
            return Err(ProofError::RandomCode(self.random_code.clone()));
        }
        if !is_digits(&self.seller_ban, 8) {
            return Err(ProofError::Ban { which: "seller_ban", value: self.seller_ban.clone() });
        }
        if let Some(buyer) = &self.buyer_ban {
            if !is_digits(buyer, 8) {
                return Err(ProofError::Ban { which: "buyer_ban", value: buyer.clone() });
            }
        }
        for (which, amount) in [("sales_amount", self.sales_amount), ("tax_amount", self.tax_amount), ("total_amount", self.total_amount)] {
            if !(0..=0xFFFF_FFFF).contains(&amount.0) {
                return Err(ProofError::Amount { which, value: amount.0 });
            }
        }
        let year = roc_year(self.local_date());
        if !(1..=999).contains(&year) {
            return Err(ProofError::Year(year));
        }
        Ok(())
    }

    fn local_date(&self) -> NaiveDate {
        self.issued_at.with_timezone(&taipei()).date_naive()
    }
}

fn roc_year(date: NaiveDate) -> i32 {
    date.year() - 1911
}

/// The even month that names the two-month period of `date` (Jan–Feb → 2, …, Nov–Dec → 12).
fn period_month(date: NaiveDate) -> u32 {
    date.month() + date.month() % 2
}

/// The printed period, e.g. `115年11-12月`.
pub fn period_label(data: &ProofData) -> String {
    let date = data.local_date();
    let even = period_month(date);
    format!("{:03}年{:02}-{:02}月", roc_year(date), even - 1, even)
}

/// The printed invoice number, e.g. `AB-12345678` (a hyphen after the two letters).
pub fn printed_number(data: &ProofData) -> String {
    let mut chars = data.invoice_number.chars();
    let head: String = chars.by_ref().take(2).collect();
    format!("{head}-{}", chars.as_str())
}

/// The one-dimensional barcode's content, 19 characters for valid data: the period as ROC year
/// (3 digits) and its even month (2 digits), the invoice number (10), the random code (4); e.g.
/// `10404UZ176908720122` (the specification's example). Not validated here: see
/// [`ProofData::validate`].
pub fn barcode_text(data: &ProofData) -> String {
    let date = data.local_date();
    format!("{:03}{:02}{}{}", roc_year(date), period_month(date), data.invoice_number, data.random_code)
}

/// An item as the QR codes carry it, `name:quantity:unit price`; a `:` inside a field would split
/// it, so it becomes the full-width `：`, and control characters become spaces.
fn item_field(item: &ProofItem) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                ':' => '：',
                c if c.is_control() => ' ',
                c => c,
            })
            .collect()
    };
    format!("{}:{}:{}", clean(&item.description), clean(&item.quantity), item.unit_price.0)
}

/// How the items are spread over the two QR codes: the first `recorded` items are carried, the
/// first `left` of them in the left QR and the rest in the right one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Split {
    recorded: usize,
    left: usize,
}

/// The byte length of the left QR before any item: 77 fixed characters, then
/// `:**********:n:total:1`.
fn left_head_len(recorded: usize, total: usize) -> usize {
    77 + 1 + SELF_USE_AREA.len() + 1 + recorded.to_string().len() + 1 + total.to_string().len() + 1 + ENCODING_UTF8.len()
}

/// The smallest version (1..=10) whose level-L byte capacity holds `bytes`.
fn version_for(bytes: usize) -> Option<usize> {
    QR_BYTES_L.iter().position(|&cap| bytes <= cap).map(|i| i + 1)
}

/// Chooses the split: as many items as fit (in order), placed so that the common QR version of
/// the pair (both are printed the same size) is as small as possible — larger modules scan
/// better on thermal paper — and on a tie with as many items on the left as possible.
fn split(fields: &[String]) -> Split {
    let total = fields.len();
    // prefix[i] = bytes of the first i fields.
    let mut prefix = vec![0usize];
    for f in fields {
        let next = prefix.last().copied().unwrap_or(0) + f.len();
        if next > 2 * QR_BYTES_L[QR_BYTES_L.len() - 1] {
            break;
        }
        prefix.push(next);
    }
    let joined = |a: usize, b: usize| if b > a { prefix[b] - prefix[a] + (b - a - 1) } else { 0 };
    for recorded in (0..prefix.len()).rev() {
        let head = left_head_len(recorded, total);
        let mut best: Option<(usize, usize)> = None;
        for left in 0..=recorded {
            let left_len = head + if left > 0 { 1 + joined(0, left) } else { 0 } + usize::from(left < recorded);
            let right_len = 2 + joined(left, recorded);
            if let (Some(l), Some(r)) = (version_for(left_len), version_for(right_len)) {
                let v = l.max(r);
                if best.is_none_or(|(bv, _)| v <= bv) {
                    best = Some((v, left));
                }
            }
        }
        if let Some((_, left)) = best {
            return Split { recorded, left };
        }
    }
    Split { recorded: 0, left: 0 }
}

/// The items' parts of the left and right QR codes for `data` (after the left's encoding field).
fn item_parts(data: &ProofData) -> (String, String, usize) {
    let fields: Vec<String> = data.items.iter().map(item_field).collect();
    let Split { recorded, left } = split(&fields);
    let mut left_part = String::new();
    if left > 0 {
        left_part.push(':');
        left_part.push_str(&fields[..left].join(":"));
    }
    if left < recorded {
        left_part.push(':');
    }
    let right_part = format!("**{}", fields[left..recorded].join(":"));
    (left_part, right_part, recorded)
}

/// The left QR's content: invoice number (10), ROC issue date `yyyMMdd` (7), random code (4),
/// sales and total amounts as 8 lower-case hexadecimal digits each, buyer 統一編號 (`00000000` for
/// a consumer), seller 統一編號, the 24-character [`verification_field`] — 77 characters — then
/// `:**********:` (unused self-use area), the number of items carried in both QR codes, the
/// invoice's number of items, `1` (UTF-8), and the items it carries (see [`qr_right`]).
pub fn qr_left(data: &ProofData, key: &QrKey) -> Result<String, ProofError> {
    data.validate()?;
    let date = data.local_date();
    let (items, _, recorded) = item_parts(data);
    Ok(format!(
        "{}{:03}{:02}{:02}{}{:08x}{:08x}{}{}{}:{}:{}:{}:{}{}",
        data.invoice_number,
        roc_year(date),
        date.month(),
        date.day(),
        data.random_code,
        data.sales_amount.0,
        data.total_amount.0,
        data.buyer_ban.as_deref().unwrap_or("00000000"),
        data.seller_ban,
        verification_field(&data.invoice_number, &data.random_code, key),
        SELF_USE_AREA,
        recorded,
        data.items.len(),
        ENCODING_UTF8,
        items
    ))
}

/// The right QR's content: `**` and the items the left QR did not take, `name:quantity:unit
/// price` joined by `:`; only `**` when the left took them all.
///
/// The split: items are carried in order as long as both QR codes fit version
/// [`QR_MAX_VERSION`] (the rest are left out, and the left QR's item count says how many were
/// carried); among the splits, the one needing the smallest common version wins, and on a tie the
/// one with more items on the left. When the left stops short of the right, it ends with `:`, so
/// that `left + right[2..]` is one `:`-separated record.
pub fn qr_right(data: &ProofData) -> String {
    item_parts(data).1
}

/// Printer resolution of the PNG: 8 dots per mm (203.2 dpi).
pub const DOTS_PER_MM: u32 = 8;
/// Printable width of a 57 mm thermal printer at 203 dpi, in dots (48 mm).
pub const PRINT_WIDTH_DOTS: u32 = 384;
/// The proof's length: 9 cm, in dots.
pub const PROOF_HEIGHT_DOTS: u32 = 90 * DOTS_PER_MM;
/// Paper width, mm.
pub const PAPER_WIDTH_MM: f64 = 57.0;
/// Proof length, mm.
pub const PAPER_HEIGHT_MM: f64 = 90.0;

/// Renders the proof as a 1-bit grayscale PNG of 384 × 720 dots (48 × 90 mm at 203 dpi, the
/// printable width of 57 mm paper), with a `pHYs` of 8000 dots per metre.
///
/// Text uses an embedded bitmap font rendered from Noto Sans Mono CJK TC Bold (SIL OFL 1.1, see
/// `src/proof/font/LICENSE-OFL.txt`) that has ASCII and the fixed labels only; a seller name with other characters is left out of the PNG (a printer that takes this raster
/// prints the seller's logo or name itself).
pub fn render_png(data: &ProofData, key: &QrKey) -> Result<Vec<u8>, ProofError> {
    let layout = layout::Layout::build(data, key)?;
    raster::png(&layout)
}

/// Renders the proof as a one-page PDF, 57 × 90 mm (161.57 × 255.12 pt): bars and QR modules as
/// filled rectangles, ASCII in Courier-Bold and Chinese in `MSung-Light` with the
/// `UniCNS-UCS2-H` CMap (PDF 1.7 §9.7.5.2 predefined CMaps, Adobe-CNS1), neither embedded:
/// standard-conforming readers and PostScript printers substitute their resident fonts.
pub fn render_pdf(data: &ProofData, key: &QrKey) -> Result<Vec<u8>, ProofError> {
    let layout = layout::Layout::build(data, key)?;
    Ok(pdf::pdf(&layout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|_| "x".repeat(len)).collect()
    }

    #[test]
    fn split_prefers_the_smaller_common_version() {
        assert_eq!(split(&[]), Split { recorded: 0, left: 0 });
        // Head of 94 bytes: one short item fits the left without leaving version 5.
        assert_eq!(split(&fields(1, 5)), Split { recorded: 1, left: 1 });
        // A 20-byte item would push the left to version 6: it goes right instead.
        assert_eq!(split(&fields(1, 20)), Split { recorded: 1, left: 0 });
    }

    #[test]
    fn split_drops_what_cannot_fit() {
        let s = split(&fields(500, 30));
        assert!(s.recorded < 500 && s.recorded > 0);
        let one = split(&fields(1, 1000));
        assert_eq!(one, Split { recorded: 0, left: 0 });
    }

    #[test]
    fn key_parsing() {
        assert!(QrKey::from_hex("0123456789abcdef0123456789ABCDEF\n").is_ok());
        assert_eq!(QrKey::from_hex("0123"), Err(ProofError::QrKey));
        assert_eq!(QrKey::from_hex("g123456789abcdef0123456789abcdef"), Err(ProofError::QrKey));
        assert_eq!(QrKey::from_hex("éé23456789abcdef0123456789abcd"), Err(ProofError::QrKey));
        assert_eq!(format!("{:?}", QrKey::from_hex("0123456789abcdef0123456789abcdef").unwrap()), "QrKey(<redacted>)");
    }
}
