//! The layout as a 1-bit PNG at the printer's resolution.

use super::font::{self, Face};
use super::layout::{Align, Layout, Size, Text};
use super::ProofError;

struct Canvas {
    width: u32,
    height: u32,
    /// `true` = black, row-major.
    dots: Vec<bool>,
}

impl Canvas {
    fn set(&mut self, x: u32, y: u32) {
        if x < self.width && y < self.height {
            self.dots[(y * self.width + x) as usize] = true;
        }
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                self.set(xx, yy);
            }
        }
    }

    fn text(&mut self, t: &Text) {
        let face: &Face = match t.size {
            Size::Small => font::small(),
            Size::Large => font::large(),
        };
        if t.optional && !face.covers(&t.text) {
            return;
        }
        let width = face.width(&t.text);
        let mut x = match t.align {
            Align::Left => t.x,
            Align::Center => t.x.saturating_sub(width / 2),
            Align::Right => t.x.saturating_sub(width),
        };
        for c in t.text.chars() {
            match face.glyph(c) {
                Some(g) => {
                    for gy in 0..g.height {
                        for gx in 0..g.width {
                            if g.ink(gx, gy) {
                                self.set(x + gx, t.y + gy);
                            }
                        }
                    }
                }
                None => {
                    // No glyph: an outlined box, so that the gap is visible rather than silent.
                    let w = face.advance(c);
                    let h = face.height;
                    self.fill(x + 2, t.y + 2, w.saturating_sub(4), 1);
                    self.fill(x + 2, t.y + h.saturating_sub(3), w.saturating_sub(4), 1);
                    self.fill(x + 2, t.y + 2, 1, h.saturating_sub(4));
                    self.fill(x + w.saturating_sub(3), t.y + 2, 1, h.saturating_sub(4));
                }
            }
            x = x.saturating_add(face.advance(c));
        }
    }
}

/// Draws `layout` and encodes it as a 1-bit grayscale PNG (0 = black), 8000 dots per metre.
pub(super) fn png(layout: &Layout) -> Result<Vec<u8>, ProofError> {
    let mut canvas = Canvas { width: layout.width, height: layout.height, dots: vec![false; (layout.width * layout.height) as usize] };
    for r in &layout.rects {
        canvas.fill(r.x, r.y, r.w, r.h);
    }
    for t in &layout.texts {
        canvas.text(t);
    }

    let stride = layout.width.div_ceil(8) as usize;
    let mut packed = vec![0xFFu8; stride * layout.height as usize];
    for (y, row) in canvas.dots.chunks(layout.width as usize).enumerate() {
        for (x, &black) in row.iter().enumerate() {
            if black {
                packed[y * stride + x / 8] &= !(0x80 >> (x % 8));
            }
        }
    }

    let err = |e: png::EncodingError| ProofError::Png(e.to_string());
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, layout.width, layout.height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_pixel_dims(Some(png::PixelDimensions { xppu: 8000, yppu: 8000, unit: png::Unit::Meter }));
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&packed).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}
