//! The layout as a single-page PDF (ISO 32000-1 / PDF 1.7 conventions, written as PDF 1.4),
//! 57 × 90 mm.
//!
//! Fonts are referenced, not embedded: `Courier-Bold` is one of the standard 14 Type 1 fonts
//! (§9.6.2.2), with fixed 600/1000 em advances so text widths are known exactly; Chinese uses the
//! CIDFont `MSung-Light` through the predefined CMap `UniCNS-UCS2-H` (Unicode UCS-2 to
//! Adobe-CNS1 CIDs, §9.7.5.2, Table 118), the conventional non-embedded Traditional Chinese font
//! of Adobe's Asian font packs, which readers substitute with a resident Ming (Song) face. Its
//! descriptor metrics below are the values customarily published for it (*unverified* against
//! an Adobe font file); all its glyphs are given a 1 em advance (`/DW 1000`). CJK text has no
//! bold face: it is emboldened with text rendering mode 2 (fill then stroke).

use super::layout::{Align, Layout, Size, Text};
use super::{PAPER_HEIGHT_MM, PAPER_WIDTH_MM};
use std::fmt::Write as _;

/// mm per printer dot.
const MM_PER_DOT: f64 = 0.125;
/// PDF points per mm.
const PT_PER_MM: f64 = 72.0 / 25.4;

struct Page {
    /// Left edge of the printable width: the 48 mm layout centred on 57 mm paper.
    x0_mm: f64,
}

impl Page {
    fn x(&self, dots: f64) -> f64 {
        (self.x0_mm + dots * MM_PER_DOT) * PT_PER_MM
    }
    fn y(&self, dots: f64) -> f64 {
        (PAPER_HEIGHT_MM - dots * MM_PER_DOT) * PT_PER_MM
    }
}

/// A run of text in one font: ASCII in Courier-Bold (`/F1`) or anything else in MSung (`/F2`).
fn runs(text: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    for c in text.chars() {
        let c = match c {
            c if c.is_ascii_control() => ' ',
            c if u32::from(c) > 0xFFFF => '?',
            c => c,
        };
        let ascii = c.is_ascii();
        match out.last_mut() {
            Some((a, s)) if *a == ascii => s.push(c),
            _ => out.push((ascii, c.to_string())),
        }
    }
    out
}

fn text_ops(page: &Page, t: &Text, ops: &mut String) {
    let size_dots = f64::from(t.size.dots());
    let size = size_dots * MM_PER_DOT * PT_PER_MM;
    let runs = runs(&t.text);
    let width_dots: f64 = runs.iter().map(|(ascii, s)| s.chars().count() as f64 * if *ascii { 0.6 } else { 1.0 } * size_dots).sum();
    let left = match t.align {
        Align::Left => f64::from(t.x),
        Align::Center => f64::from(t.x) - width_dots / 2.0,
        Align::Right => f64::from(t.x) - width_dots,
    };
    let bold_stroke = if t.size == Size::Large { 0.04 } else { 0.025 } * size;
    let _ = write!(ops, "BT\n{:.3} w\n{:.3} {:.3} Td\n", bold_stroke, page.x(left), page.y(f64::from(t.y) + 0.88 * size_dots));
    for (ascii, s) in runs {
        if ascii {
            let escaped: String = s
                .chars()
                .flat_map(|c| match c {
                    '(' | ')' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            let _ = writeln!(ops, "0 Tr /F1 {size:.3} Tf ({escaped}) Tj");
        } else {
            let hex: String = s.encode_utf16().map(|u| format!("{u:04X}")).collect();
            let _ = writeln!(ops, "2 Tr /F2 {size:.3} Tf <{hex}> Tj");
        }
    }
    ops.push_str("ET\n");
}

/// Writes the PDF.
pub(super) fn pdf(layout: &Layout) -> Vec<u8> {
    let printable_mm = f64::from(layout.width) * MM_PER_DOT;
    let page = Page { x0_mm: (PAPER_WIDTH_MM - printable_mm) / 2.0 };
    let mut ops = String::from("0 g 0 G\n");
    for r in &layout.rects {
        let (x, y) = (page.x(f64::from(r.x)), page.y(f64::from(r.y + r.h)));
        let (w, h) = (f64::from(r.w) * MM_PER_DOT * PT_PER_MM, f64::from(r.h) * MM_PER_DOT * PT_PER_MM);
        let _ = writeln!(ops, "{x:.3} {y:.3} {w:.3} {h:.3} re f");
    }
    for t in &layout.texts {
        text_ops(&page, t, &mut ops);
    }

    let width_pt = PAPER_WIDTH_MM * PT_PER_MM;
    let height_pt = PAPER_HEIGHT_MM * PT_PER_MM;
    let objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt:.2} {height_pt:.2}] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 7 0 R >>"
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier-Bold /Encoding /WinAnsiEncoding >>".into(),
        "<< /Type /Font /Subtype /Type0 /BaseFont /MSung-Light-UniCNS-UCS2-H /Encoding /UniCNS-UCS2-H /DescendantFonts [6 0 R] >>".into(),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /MSung-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (CNS1) /Supplement 0 >> /FontDescriptor 8 0 R /DW 1000 >>".into(),
        format!("<< /Length {} >>\nstream\n{ops}endstream", ops.len()),
        "<< /Type /FontDescriptor /FontName /MSung-Light /Flags 6 /FontBBox [-160 -249 1015 888] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>".into(),
        "<< /Producer (LuckyGas einvoice::proof) /Title (E-invoice proof) >>".into(),
    ];

    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref_at = out.len();
    let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for off in offsets {
        let _ = writeln!(xref, "{off:010} 00000 n ");
    }
    let _ = write!(xref, "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref_at}\n%%EOF\n", objects.len() + 1, objects.len());
    out.extend_from_slice(xref.as_bytes());
    out
}
