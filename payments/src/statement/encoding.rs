//! Bytes to lines of text and back: UTF-8 (with or without a byte-order mark) or Big5 (code page
//! 950, as encoding_rs implements the WHATWG Big5), and the Big5 width of text.
//!
//! Detection ([`Encoding::detect`]): a UTF-8 byte-order mark, or bytes that are valid UTF-8 as a
//! whole, mean UTF-8; anything else is read as Big5, line by line, and a line that is not Big5
//! either is an error naming it. Short Big5 texts can happen to be valid UTF-8 (a Big5 trail byte
//! may be a UTF-8 continuation byte); a real statement carries the bank's name in Chinese in its
//! header, which in Big5 is not UTF-8, so detection errs only on files without any such text. A
//! caller that knows a bank's encoding names it ([`super::parse_as`]) and nothing is guessed.
//!
//! Every character of a statement must have a Big5 form, whatever the file's encoding: the banks'
//! systems are Big5, fixed-width columns are counted in Big5 bytes (one per ASCII character, two per other), and a
//! statement that parsed can then be written in either encoding.

use super::Problem;
use encoding_rs::{DecoderResult, BIG5};

/// The character encoding of a statement file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// UTF-8; a leading byte-order mark is accepted and skipped.
    Utf8,
    /// Big5 (code page 950).
    Big5,
}

impl Encoding {
    /// The encoding of `bytes`, by the rule in the module docs.
    pub fn detect(bytes: &[u8]) -> Encoding {
        if bytes.starts_with(b"\xEF\xBB\xBF") || std::str::from_utf8(bytes).is_ok() {
            Encoding::Utf8
        } else {
            Encoding::Big5
        }
    }

    /// `text` in this encoding (no byte-order mark). The caller has checked that every character
    /// has a Big5 form; one without is written as `?` rather than panic.
    pub fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            Encoding::Big5 => BIG5.encode(text).0.into_owned(),
        }
    }
}

/// A line of a file: its 1-based number and its text, without the line ending.
pub(crate) struct Line {
    pub number: usize,
    pub text: String,
}

/// Splits `bytes` into lines (LF or CRLF; a last line without an ending is a line; nothing after
/// the last ending is not) and decodes each in `encoding`. Big5 trail bytes are never CR or LF,
/// so splitting before decoding is safe. The error is the line number, the 1-based byte column
/// and the problem.
pub(crate) fn lines(bytes: &[u8], encoding: Encoding) -> Result<Vec<Line>, (usize, Option<usize>, Problem)> {
    let body = match encoding {
        Encoding::Utf8 => bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes),
        Encoding::Big5 => bytes,
    };
    let mut out = Vec::new();
    let mut rest = body;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let (raw, next) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = match encoding {
            Encoding::Utf8 => match std::str::from_utf8(raw) {
                Ok(t) => t.to_owned(),
                Err(e) => return Err((number, Some(e.valid_up_to() + 1), Problem::NotText { encoding })),
            },
            Encoding::Big5 => decode_big5(raw).map_err(|column| (number, Some(column), Problem::NotText { encoding }))?,
        };
        out.push(Line { number, text });
    }
    Ok(out)
}

/// `raw` decoded as Big5, or the 1-based column of the first malformed byte.
fn decode_big5(raw: &[u8]) -> Result<String, usize> {
    let mut decoder = BIG5.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(decoder.max_utf8_buffer_length_without_replacement(raw.len()).unwrap_or(raw.len() * 3));
    let (result, read) = decoder.decode_to_string_without_replacement(raw, &mut text, true);
    match result {
        DecoderResult::InputEmpty => Ok(text),
        DecoderResult::Malformed(bad, extra) => Err(read - usize::from(extra) - usize::from(bad) + 1),
        // The buffer was sized for the whole line; should it not be, report the spot.
        DecoderResult::OutputFull => Err(read + 1),
    }
}

/// The Big5 width of `c`: 1 for ASCII, 2 for a character Big5 has, `None` for one it lacks.
pub(crate) fn big5_width(c: char) -> Option<usize> {
    if c.is_ascii() {
        return Some(1);
    }
    let mut buf = [0u8; 4];
    let (bytes, _, unmappable) = BIG5.encode(c.encode_utf8(&mut buf));
    (!unmappable && bytes.len() == 2).then_some(2)
}

/// The Big5 width of `text`, or the first character Big5 lacks. One encoder pass over the
/// whole text; character by character only to name the one that fails.
pub(crate) fn big5_len(text: &str) -> Result<usize, char> {
    if text.is_ascii() {
        return Ok(text.len());
    }
    let (bytes, _, unmappable) = BIG5.encode(text);
    if !unmappable {
        return Ok(bytes.len());
    }
    Err(text.chars().find(|c| big5_width(*c).is_none()).unwrap_or(char::REPLACEMENT_CHARACTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_utf8_with_and_without_a_bom_and_falls_back_to_big5() {
        assert_eq!(Encoding::detect("王小明".as_bytes()), Encoding::Utf8);
        assert_eq!(Encoding::detect(b"\xEF\xBB\xBFabc"), Encoding::Utf8);
        assert_eq!(Encoding::detect(&Encoding::Big5.encode("國泰世華")), Encoding::Big5);
        assert_eq!(Encoding::detect(b"plain ascii"), Encoding::Utf8);
    }

    #[test]
    fn splits_lines_on_lf_and_crlf_and_strips_the_bom() {
        let ls = lines(b"\xEF\xBB\xBFa\r\nb\nc", Encoding::Utf8).unwrap();
        assert_eq!(ls.iter().map(|l| (l.number, l.text.as_str())).collect::<Vec<_>>(), [(1, "a"), (2, "b"), (3, "c")]);
        assert_eq!(lines(b"a\n", Encoding::Utf8).unwrap().len(), 1);
        assert_eq!(lines(b"a\n\nb", Encoding::Utf8).unwrap()[1].text, "");
    }

    #[test]
    fn names_the_line_and_column_that_is_not_big5() {
        let mut bytes = Encoding::Big5.encode("王小明\r\n王");
        bytes.push(0xFF);
        let Err((line, column, problem)) = lines(&bytes, Encoding::Big5) else { panic!("decoded") };
        assert_eq!((line, column, problem), (2, Some(3), Problem::NotText { encoding: Encoding::Big5 }));
        assert_eq!(lines(&Encoding::Big5.encode("王小明"), Encoding::Big5).unwrap()[0].text, "王小明");
    }

    #[test]
    fn big5_widths() {
        assert_eq!(big5_len("A王1"), Ok(4));
        assert_eq!(big5_len("瓦斯費"), Ok(6));
        assert_eq!(big5_len("😀"), Err('😀'));
        assert_eq!(big5_width('é'), None);
    }
}
