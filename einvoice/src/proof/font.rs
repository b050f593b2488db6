//! The PNG's bitmap glyphs: printable ASCII and the proof's fixed Chinese labels
//! (電子發票證明聯, 年, 月, 隨機碼, 總計, 賣方, 買方), 1-bit, in two sizes (24 and 44 dots high).
//!
//! They were rendered from Noto Sans Mono CJK TC Bold (SIL Open Font License 1.1; the licence and
//! provenance are in `font/LICENSE-OFL.txt`, the generator is `font/gen.py`). Any other character
//! (a seller's Chinese name, say) has no glyph here: the PNG cannot print it, and
//! [`Face::covers`] lets the renderer leave such a line out rather than print boxes. The PDF
//! prints every character with a printer-resident CJK font instead.

use std::sync::OnceLock;

/// One glyph: `width × height` dots, rows of `ceil(width / 8)` bytes, most significant bit left.
pub(super) struct Glyph {
    pub ch: char,
    pub width: u32,
    pub height: u32,
    pub rows: &'static [u8],
}

impl Glyph {
    /// Whether dot (`x`, `y`) of the glyph is inked.
    pub fn ink(&self, x: u32, y: u32) -> bool {
        let stride = self.width.div_ceil(8) as usize;
        let i = y as usize * stride + (x / 8) as usize;
        self.rows.get(i).is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }
}

/// A font size: glyphs sorted by character.
pub(super) struct Face {
    /// Height of every glyph, in dots.
    pub height: u32,
    glyphs: Vec<Glyph>,
}

impl Face {
    /// The glyph of `c`, if this face has one.
    pub fn glyph(&self, c: char) -> Option<&Glyph> {
        self.glyphs.binary_search_by(|g| g.ch.cmp(&c)).ok().and_then(|i| self.glyphs.get(i))
    }

    /// Whether every character of `text` has a glyph.
    pub fn covers(&self, text: &str) -> bool {
        text.chars().all(|c| self.glyph(c).is_some())
    }

    /// The advance of `c`: its glyph's width, or half or full em for a missing ASCII or other
    /// character.
    pub fn advance(&self, c: char) -> u32 {
        match self.glyph(c) {
            Some(g) => g.width,
            None if c.is_ascii() => self.height / 2,
            None => self.height,
        }
    }

    /// The width of `text`, in dots.
    pub fn width(&self, text: &str) -> u32 {
        text.chars().map(|c| self.advance(c)).sum()
    }
}

/// Parses the generator's records; a truncated or malformed tail is ignored (the data is
/// compiled in and tested, so this only guards against a bad regeneration).
fn parse(blob: &'static [u8]) -> Face {
    let mut glyphs = Vec::new();
    let mut rest = blob;
    let mut height = 0;
    while let [a, b, c, d, w, h, tail @ ..] = rest {
        let (Some(ch), width, h) = (char::from_u32(u32::from_le_bytes([*a, *b, *c, *d])), u32::from(*w), u32::from(*h)) else {
            break;
        };
        let len = (width.div_ceil(8) * h) as usize;
        let Some((rows, next)) = (tail.len() >= len).then(|| tail.split_at(len)) else {
            break;
        };
        height = height.max(h);
        glyphs.push(Glyph { ch, width, height: h, rows });
        rest = next;
    }
    glyphs.sort_by_key(|g| g.ch);
    Face { height, glyphs }
}

/// The 24-dot (3 mm) face.
pub(super) fn small() -> &'static Face {
    static FACE: OnceLock<Face> = OnceLock::new();
    FACE.get_or_init(|| parse(include_bytes!("font/font24.bin")))
}

/// The 44-dot (5.5 mm) face.
pub(super) fn large() -> &'static Face {
    static FACE: OnceLock<Face> = OnceLock::new();
    FACE.get_or_init(|| parse(include_bytes!("font/font44.bin")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_cover_ascii_and_the_labels() {
        for face in [small(), large()] {
            assert!(face.covers(" !0123456789:-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz~"));
            assert!(face.covers("電子發票證明聯年月隨機碼總計賣方買"));
            assert!(!face.covers("幸福"));
            assert_eq!(face.width("A年"), face.height / 2 + face.height);
            assert!(face.glyph('8').is_some_and(|g| (0..g.height).any(|y| (0..g.width).any(|x| g.ink(x, y)))));
        }
        assert_eq!(small().height, 24);
        assert_eq!(large().height, 44);
    }
}
