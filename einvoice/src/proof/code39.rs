//! Code 39 (USS Code 39, "3 of 9"; ISO/IEC 16388), the symbology of the proof's one-dimensional
//! barcode (電子發票證明聯一維及二維條碼規格說明 v1.9, 壹、一維條碼規格: 3 of 9 碼).
//!
//! Each character is nine elements, bar first and alternating bar/space: five bars and four
//! spaces, three of the nine wide (hence "3 of 9"). Characters are separated by one narrow
//! space, and the message is framed by the start/stop character `*`. No check character is
//! added: the e-invoice barcode carries none.

use super::ProofError;

/// One element of a Code 39 symbol: a bar (dark) or a space (light), narrow or wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    /// A bar (printed) rather than a space.
    pub bar: bool,
    /// A wide element rather than a narrow one.
    pub wide: bool,
}

/// The widths of the five bars of the ten "columns" of the Code 39 table, wide = 1, first bar in
/// the most significant of the five bits. Column `i` holds `1…9, 0` in the digit row,
/// `A…J`, `K…T` and `U…Z, -, ., space, *` in the letter rows.
const BARS: [u8; 10] = [0b10001, 0b01001, 0b11000, 0b00101, 0b10100, 0b01100, 0b00011, 0b10010, 0b01010, 0b00110];

/// The rows of the table and the position of the one wide space of each row (four spaces, first
/// space in the most significant of the four bits).
const ROWS: [(&str, u8); 4] = [("1234567890", 0b0100), ("ABCDEFGHIJ", 0b0010), ("KLMNOPQRST", 0b0001), ("UVWXYZ-. *", 0b1000)];

/// The four characters with three wide spaces and no wide bar.
const SPECIAL: [(char, u8); 4] = [('$', 0b1110), ('/', 0b1101), ('+', 0b1011), ('%', 0b0111)];

/// The (bars, spaces) wide-element bits of `c`, or `None` when Code 39 has no such character.
fn pattern(c: char) -> Option<(u8, u8)> {
    for (row, spaces) in ROWS {
        if let Some(col) = row.chars().position(|r| r == c) {
            return Some((BARS[col], spaces));
        }
    }
    SPECIAL.iter().find(|(s, _)| *s == c).map(|&(_, spaces)| (0, spaces))
}

/// Whether `c` is one of the 43 data characters of Code 39 (`*` is the start/stop character
/// and not data).
pub fn is_encodable(c: char) -> bool {
    c != '*' && pattern(c).is_some()
}

/// The elements of `*text*`, inter-character gaps (one narrow space) included, starting and
/// ending with a bar. Lower-case letters are not folded: they are an error, like any character
/// outside Code 39's 43.
pub fn encode(text: &str) -> Result<Vec<Element>, ProofError> {
    let mut elements = Vec::with_capacity((text.len() + 2) * 10);
    let last = text.chars().count() + 1;
    let framed = std::iter::once('*').chain(text.chars()).chain(std::iter::once('*'));
    for (i, c) in framed.enumerate() {
        let is_frame = i == 0 || i == last;
        if c == '*' && !is_frame {
            return Err(ProofError::Code39Char(c));
        }
        let (bars, spaces) = pattern(c).ok_or(ProofError::Code39Char(c))?;
        if i > 0 {
            elements.push(Element { bar: false, wide: false });
        }
        for k in 0..9 {
            let element = if k % 2 == 0 {
                Element { bar: true, wide: bars & (0b10000 >> (k / 2)) != 0 }
            } else {
                Element { bar: false, wide: spaces & (0b1000 >> (k / 2)) != 0 }
            };
            elements.push(element);
        }
    }
    Ok(elements)
}

/// The total width of `elements` with the given narrow and wide widths (no quiet zones).
pub fn width(elements: &[Element], narrow: u32, wide: u32) -> u32 {
    elements.iter().map(|e| if e.wide { wide } else { narrow }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nw(elements: &[Element]) -> String {
        elements.iter().map(|e| if e.wide { 'W' } else { 'N' }).collect()
    }

    #[test]
    fn start_stop_and_known_characters() {
        // ISO/IEC 16388 Table 1 (as bar/space narrow-wide strings): `*` = NWNNWNWNN, `0` = NNNWWNWNN.
        let e = encode("0").unwrap();
        assert_eq!(e.len(), 9 + 1 + 9 + 1 + 9);
        assert_eq!(nw(&e[..9]), "NWNNWNWNN");
        assert_eq!(nw(&e[10..19]), "NNNWWNWNN");
        assert!(e.first().unwrap().bar && e.last().unwrap().bar);
    }

    #[test]
    fn every_character_has_three_wide_elements() {
        for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%".chars() {
            let e = encode(&c.to_string()).unwrap();
            assert_eq!(e[10..19].iter().filter(|e| e.wide).count(), 3, "{c}");
        }
    }

    #[test]
    fn rejects_what_code39_cannot_carry() {
        assert_eq!(encode("a"), Err(ProofError::Code39Char('a')));
        assert_eq!(encode("A*B"), Err(ProofError::Code39Char('*')));
        assert_eq!(encode("統"), Err(ProofError::Code39Char('統')));
    }
}
