//! The proof's layout, once, in printer dots (8 per mm) on the 384-dot printable width; the PNG
//! and PDF renderers draw the same boxes.
//!
//! Top to bottom: seller name; 「電子發票證明聯」; the period and the invoice number, large and
//! bold; date and time; 隨機碼 and 總計; 賣方 and (B2B) 買方; the Code 39 barcode; the two QR
//! codes side by side, top-aligned, the same size.

use super::{
    barcode_text, code39, period_label, printed_number, qr_left, qr_right, ProofData, ProofError, QrKey, PRINT_WIDTH_DOTS, PROOF_HEIGHT_DOTS, QR_MAX_VERSION,
};
use crate::calendar::taipei;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Text sizes: the cell height in dots (3 mm and 5.5 mm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Size {
    Small,
    Large,
}

impl Size {
    pub fn dots(self) -> u32 {
        match self {
            Size::Small => 24,
            Size::Large => 44,
        }
    }
}

/// Where `x` of a [`Text`] is: its left edge, centre or right edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
    Right,
}

/// A line of text; `y` is the top of its cell.
#[derive(Clone, Debug)]
pub(super) struct Text {
    pub x: u32,
    pub y: u32,
    pub size: Size,
    pub align: Align,
    pub text: String,
    /// May be left out by a renderer that has no glyphs for it (the seller's name in the PNG).
    pub optional: bool,
}

/// A filled black rectangle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Everything on the proof.
pub(super) struct Layout {
    pub width: u32,
    pub height: u32,
    pub texts: Vec<Text>,
    pub rects: Vec<Rect>,
}

/// Narrow and wide Code 39 elements, in dots: 0.125 mm and 0.375 mm (ratio 3:1, the top of
/// ISO/IEC 16388's 2:1–3:1). At 203 dpi no wider narrow bar lets 21 characters fit 48 mm.
pub(super) const NARROW: u32 = 1;
pub(super) const WIDE: u32 = 3;
/// Bar height: 6 mm.
pub(super) const BAR_HEIGHT: u32 = 48;
/// QR module: 3 dots = 0.375 mm.
pub(super) const MODULE: u32 = 3;
/// Side margin of text lines: 0.75 mm, so that 「賣方 12345678」 and 「買方 12345678」 share a line
/// even in the PDF's Courier (0.6 em per ASCII character) with 2 mm between them.
const MARGIN: u32 = 6;

/// Width of `text` in dots for truncation: conservative for both renderers (an ASCII character
/// counts 0.6 em, Courier's advance, wider than the bitmap font's half em; anything else 1 em).
fn fit_width(text: &str, size: Size) -> u32 {
    text.chars().map(|c| if c.is_ascii() { size.dots() * 3 / 5 } else { size.dots() }).sum()
}

/// `text` cut to fit `max` dots, control characters as spaces.
fn truncate(text: &str, size: Size, max: u32) -> String {
    let mut out = String::new();
    for c in text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }) {
        out.push(c);
        if fit_width(&out, size) > max {
            out.pop();
            break;
        }
    }
    out
}

/// Horizontal runs of dark modules of `code`, drawn at (`x`, `y`).
fn qr_rects(code: &QrCode, x: u32, y: u32, rects: &mut Vec<Rect>) {
    let width = code.width();
    let colors = code.to_colors();
    for (row, line) in colors.chunks(width.max(1)).enumerate() {
        let mut col = 0;
        while col < line.len() {
            if line[col] == Color::Dark {
                let start = col;
                while col < line.len() && line[col] == Color::Dark {
                    col += 1;
                }
                rects.push(Rect { x: x + start as u32 * MODULE, y: y + row as u32 * MODULE, w: (col - start) as u32 * MODULE, h: MODULE });
            } else {
                col += 1;
            }
        }
    }
}

/// The two QR codes at one version (the larger of the two needed).
pub(super) fn qr_pair(left: &str, right: &str) -> Result<(QrCode, QrCode), ProofError> {
    let version_of = |s: &str| -> Result<i16, ProofError> {
        let code = QrCode::with_error_correction_level(s.as_bytes(), EcLevel::L).map_err(|_| ProofError::QrTooLarge)?;
        match code.version() {
            Version::Normal(v) if v <= QR_MAX_VERSION => Ok(v),
            _ => Err(ProofError::QrTooLarge),
        }
    };
    let v = version_of(left)?.max(version_of(right)?);
    let at = |s: &str| QrCode::with_version(s.as_bytes(), Version::Normal(v), EcLevel::L).map_err(|_| ProofError::QrTooLarge);
    Ok((at(left)?, at(right)?))
}

impl Layout {
    pub fn build(data: &ProofData, key: &QrKey) -> Result<Layout, ProofError> {
        data.validate()?;
        let width = PRINT_WIDTH_DOTS;
        let center = width / 2;
        let mut texts = Vec::new();
        let mut rects = Vec::new();
        let line = |texts: &mut Vec<Text>, x, y, size, align, text: String, optional| texts.push(Text { x, y, size, align, text, optional });

        let mut y = 8;
        let name = truncate(&data.seller_name, Size::Small, width - 2 * MARGIN);
        if !name.is_empty() {
            line(&mut texts, center, y, Size::Small, Align::Center, name, true);
            y += 32;
        }
        line(&mut texts, center, y, Size::Large, Align::Center, "電子發票證明聯".into(), false);
        y += 52;
        line(&mut texts, center, y, Size::Large, Align::Center, period_label(data), false);
        y += 48;
        line(&mut texts, center, y, Size::Large, Align::Center, printed_number(data), false);
        y += 54;
        let at = data.issued_at.with_timezone(&taipei());
        line(&mut texts, MARGIN, y, Size::Small, Align::Left, at.format("%Y-%m-%d %H:%M:%S").to_string(), false);
        y += 28;
        line(&mut texts, MARGIN, y, Size::Small, Align::Left, format!("隨機碼 {}", data.random_code), false);
        line(&mut texts, width - MARGIN, y, Size::Small, Align::Right, format!("總計 {}", data.total_amount.0), false);
        y += 28;
        line(&mut texts, MARGIN, y, Size::Small, Align::Left, format!("賣方 {}", data.seller_ban), false);
        if let Some(buyer) = &data.buyer_ban {
            line(&mut texts, width - MARGIN, y, Size::Small, Align::Right, format!("買方 {buyer}"), false);
        }
        y += 36;

        let elements = code39::encode(&barcode_text(data))?;
        let bar_width = code39::width(&elements, NARROW, WIDE);
        let mut x = width.saturating_sub(bar_width) / 2;
        for e in &elements {
            let w = if e.wide { WIDE } else { NARROW };
            if e.bar {
                rects.push(Rect { x, y, w, h: BAR_HEIGHT });
            }
            x += w;
        }
        y += BAR_HEIGHT + 12;

        let (left, right) = qr_pair(&qr_left(data, key)?, &qr_right(data))?;
        let size = left.width() as u32 * MODULE;
        let gap = width.saturating_sub(2 * size) / 3;
        qr_rects(&left, gap, y, &mut rects);
        qr_rects(&right, 2 * gap + size, y, &mut rects);

        Ok(Layout { width, height: PROOF_HEIGHT_DOTS, texts, rects })
    }
}
