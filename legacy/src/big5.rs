//! Big5 (code page 950, as encoding_rs implements the WHATWG Big5) for the old program's text:
//! decoding a field's bytes with the position of a bad byte, encoding, and the Big5 width of text
//! (one byte per ASCII character, two per other) that its fixed-width `CHAR(n)` columns count.
//! The same approach as `payments::statement::encoding`, for the legacy crate's own errors.
//!
//! A Big5 trail byte is 0x40–0x7E or 0xA1–0xFE: never a comma (0x2C), a quote (0x22), CR or LF,
//! so a CSV line can be split into fields before it is decoded. It can be a backslash (0x5C, as
//! in 許 `B3 5C` and 功 `A5 5C`), which the CSV layout does not treat specially.

use encoding_rs::{DecoderResult, BIG5};

/// `raw` decoded as Big5, or the 0-based offset of the first malformed byte in it.
pub(crate) fn decode(raw: &[u8]) -> Result<String, usize> {
    if raw.is_ascii() {
        // ASCII is Big5's lower half; every byte is valid UTF-8 too.
        return Ok(raw.iter().map(|b| char::from(*b)).collect());
    }
    let mut decoder = BIG5.new_decoder_without_bom_handling();
    let capacity = decoder.max_utf8_buffer_length_without_replacement(raw.len()).unwrap_or(raw.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(raw, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(bad, extra) => Err(read.saturating_sub(usize::from(extra) + usize::from(bad))),
        // The buffer was sized for the whole field; should it not be, report where it stopped.
        DecoderResult::OutputFull => Err(read),
    }
}

/// `text` in Big5; the caller has checked that every character has a Big5 form ([`len`]), one
/// without is written as an HTML numeric reference by encoding_rs rather than panic.
pub(crate) fn encode(text: &str) -> Vec<u8> {
    BIG5.encode(text).0.into_owned()
}

/// The Big5 width of `c`: 1 for ASCII, 2 for a character Big5 has, `None` for one it lacks.
pub fn char_width(c: char) -> Option<usize> {
    if c.is_ascii() {
        return Some(1);
    }
    let mut buf = [0u8; 4];
    let (bytes, _, unmappable) = BIG5.encode(c.encode_utf8(&mut buf));
    (!unmappable && bytes.len() == 2).then_some(2)
}

/// The Big5 width of `text` in bytes, or the first character Big5 lacks.
pub fn len(text: &str) -> Result<usize, char> {
    if text.is_ascii() {
        return Ok(text.len());
    }
    let (bytes, _, unmappable) = BIG5.encode(text);
    if !unmappable {
        return Ok(bytes.len());
    }
    Err(text.chars().find(|c| char_width(*c).is_none()).unwrap_or(char::REPLACEMENT_CHARACTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_encodes_chinese_with_backslash_trail_bytes() {
        let bytes = encode("許功蓋");
        assert_eq!(&bytes[..4], [0xB3, 0x5C, 0xA5, 0x5C]);
        assert_eq!(decode(&bytes).as_deref(), Ok("許功蓋"));
        assert_eq!(decode(b"C0001").as_deref(), Ok("C0001"));
    }

    #[test]
    fn names_the_offset_of_a_bad_byte() {
        let mut bytes = encode("王家");
        bytes.push(0xFF);
        assert_eq!(decode(&bytes), Err(4));
        // A lead byte with nothing after it.
        assert_eq!(decode(&[b'a', 0xA4]), Err(1));
    }

    #[test]
    fn widths_count_big5_bytes() {
        assert_eq!(len("A王1"), Ok(4));
        assert_eq!(len("０９１２"), Ok(8));
        assert_eq!(len("臺北市"), Ok(6));
        assert_eq!(len("😀"), Err('😀'));
        assert_eq!(char_width('é'), None);
    }
}
