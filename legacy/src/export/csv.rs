//! The CSV layer of the exports: lines read with a bounded buffer, split into fields on the raw
//! Big5 bytes (a Big5 trail byte is never a comma or a quote), each field decoded on its own so a
//! bad byte is named by its column; and the writer.

use super::{ExportError, Problem, Row, WriteError};
use crate::big5;
use crate::schema::Table;
use std::io::{BufRead, ErrorKind};

/// The longest line accepted, in bytes without its line ending. The longest valid row (a
/// customer with every text column full, every field quoted) is under 400 bytes.
pub const MAX_LINE_BYTES: usize = 4096;

/// The DOS end-of-file mark some old programs append.
const DOS_EOF: u8 = 0x1A;

/// An iterator over the data rows of an export ([`super::rows`]): it checks the header first,
/// then yields each row or the first error, after which it ends.
pub struct Rows<R> {
    table: &'static Table,
    file: String,
    reader: R,
    /// The number of the line last read (1-based).
    line: usize,
    /// The current line's bytes, never more than [`MAX_LINE_BYTES`] + 1.
    buf: Vec<u8>,
    header_done: bool,
    done: bool,
    /// A blank line seen and not yet known to be at the end of the file.
    pending_blank: Option<usize>,
}

/// How a line ended.
enum End {
    /// With a line feed.
    Newline,
    /// At the end of the input.
    Eof,
}

impl<R: BufRead> Rows<R> {
    pub(super) fn new(table: &'static Table, file: &str, reader: R) -> Self {
        Rows { table, file: file.to_owned(), reader, line: 0, buf: Vec::new(), header_done: false, done: false, pending_blank: None }
    }

    fn error(&self, column: Option<usize>, problem: Problem) -> ExportError {
        ExportError { file: self.file.clone(), line: self.line.max(1), column, field: None, problem }
    }

    /// Reads the next line into `buf` (without its line ending), or `None` at the end.
    fn next_line(&mut self) -> Result<Option<End>, Problem> {
        self.buf.clear();
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Problem::Io(e.to_string())),
            };
            if available.is_empty() {
                if !any {
                    return Ok(None);
                }
                if self.buf.last() == Some(&DOS_EOF) {
                    self.buf.pop();
                }
                self.strip_cr();
                return Ok(Some(End::Eof));
            }
            any = true;
            let newline = available.iter().position(|b| *b == b'\n');
            let chunk = &available[..newline.unwrap_or(available.len())];
            // One more byte than the limit for a CR before the LF.
            if self.buf.len() + chunk.len() > MAX_LINE_BYTES + 1 {
                return Err(Problem::LineTooLong { max: MAX_LINE_BYTES });
            }
            self.buf.extend_from_slice(chunk);
            let consumed = chunk.len() + usize::from(newline.is_some());
            self.reader.consume(consumed);
            if newline.is_some() {
                self.strip_cr();
                return Ok(Some(End::Newline));
            }
        }
    }

    fn strip_cr(&mut self) {
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
    }

    /// The next non-blank line, or `None` at the end; a blank line followed by another line is
    /// an error.
    fn next_content_line(&mut self) -> Result<Option<()>, ExportError> {
        loop {
            self.line += 1;
            let end = self.next_line().map_err(|p| self.error(None, p))?;
            if end.is_none() {
                return Ok(None);
            }
            if self.buf.len() > MAX_LINE_BYTES {
                return Err(self.error(None, Problem::LineTooLong { max: MAX_LINE_BYTES }));
            }
            if self.buf.is_empty() {
                self.pending_blank.get_or_insert(self.line);
                continue;
            }
            if let Some(blank) = self.pending_blank {
                return Err(ExportError { file: self.file.clone(), line: blank, column: None, field: None, problem: Problem::BlankLine });
            }
            return Ok(Some(()));
        }
    }

    fn header(&mut self) -> Result<(), ExportError> {
        if self.next_content_line()?.is_none() {
            return Err(self.error(None, Problem::EmptyFile));
        }
        if self.buf.starts_with(b"\xEF\xBB\xBF") {
            return Err(self.error(Some(1), Problem::NotBig5Bytes));
        }
        let (fields, columns) = fields(&self.buf).map_err(|(column, p)| self.error(Some(column), p))?;
        let names = self.table.columns;
        for i in 0..fields.len().max(names.len()) {
            let found = fields.get(i).map_or("", String::as_str);
            let expected = names.get(i).map_or("no more columns", |c| c.name);
            if found != expected {
                let column = columns.get(i).copied().or_else(|| Some(self.buf.len() + 1));
                return Err(self.error(column, Problem::Header { expected, found: found.to_owned() }));
            }
        }
        Ok(())
    }

    fn row(&mut self) -> Result<Option<Row>, ExportError> {
        if !self.header_done {
            self.header()?;
            self.header_done = true;
        }
        if self.next_content_line()?.is_none() {
            return Ok(None);
        }
        let (fields, columns) = fields(&self.buf).map_err(|(column, p)| self.error(Some(column), p))?;
        let expected = self.table.columns.len();
        if fields.len() != expected {
            return Err(self.error(None, Problem::FieldCount { expected, found: fields.len() }));
        }
        Ok(Some(Row { line: self.line, fields, columns }))
    }
}

impl<R: BufRead> Iterator for Rows<R> {
    type Item = Result<Row, ExportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.row();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// A field of a raw line: it begins at `begin`; its content is `start..end` (inside the quotes
/// for a quoted field, still with doubled quotes).
struct Span {
    begin: usize,
    start: usize,
    end: usize,
    quoted: bool,
}

/// Splits a raw line into fields, or the 0-based offset and problem of malformed quoting.
fn split(line: &[u8]) -> Result<Vec<Span>, (usize, Problem)> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let begin = i;
        if line.get(i) == Some(&b'"') {
            let mut j = i + 1;
            let close = loop {
                let Some(q) = line.get(j..).and_then(|rest| rest.iter().position(|b| *b == b'"')).map(|k| j + k) else {
                    return Err((begin, Problem::Quoting));
                };
                if line.get(q + 1) == Some(&b'"') {
                    j = q + 2;
                } else {
                    break q;
                }
            };
            out.push(Span { begin, start: begin + 1, end: close, quoted: true });
            match line.get(close + 1) {
                None => return Ok(out),
                Some(b',') => i = close + 2,
                Some(_) => return Err((close + 1, Problem::Quoting)),
            }
        } else {
            let rest = line.get(i..).unwrap_or_default();
            let end = rest.iter().position(|b| *b == b',').map_or(line.len(), |k| i + k);
            if let Some(k) = line[i..end].iter().position(|b| *b == b'"') {
                return Err((i + k, Problem::Quoting));
            }
            out.push(Span { begin, start: i, end, quoted: false });
            if end == line.len() {
                return Ok(out);
            }
            i = end + 1;
        }
    }
}

/// The decoded, unquoted and trimmed fields of a raw line with the 1-based column where each
/// begins; or the 1-based column and problem of the first malformed quote or byte.
fn fields(line: &[u8]) -> Result<(Vec<String>, Vec<usize>), (usize, Problem)> {
    let spans = split(line).map_err(|(at, p)| (at + 1, p))?;
    let mut fields = Vec::with_capacity(spans.len());
    let mut columns = Vec::with_capacity(spans.len());
    for span in spans {
        let raw = &line[span.start..span.end];
        let text = big5::decode(raw).map_err(|offset| (span.start + offset + 1, Problem::NotBig5Bytes))?;
        let text = if span.quoted { text.replace("\"\"", "\"") } else { text };
        let trimmed = text.trim_matches(' ');
        fields.push(if trimmed.len() == text.len() { text } else { trimmed.to_owned() });
        columns.push(span.begin + 1);
    }
    Ok((fields, columns))
}

/// Writes the header of `table` and `rows` as Big5 CSV with CRLF line endings (see
/// [`super::write_rows`]).
pub(super) fn write(table: &Table, rows: &[Vec<String>]) -> Result<Vec<u8>, WriteError> {
    let width = table.columns.len();
    let mut text = String::with_capacity((rows.len() + 1) * width * 8);
    let names: Vec<&str> = table.column_names().collect();
    text.push_str(&names.join(","));
    text.push_str("\r\n");
    for (i, row) in rows.iter().enumerate() {
        let fail =
            |k: Option<usize>, problem| WriteError { table: table.name, record: i, field: k.and_then(|k| table.columns.get(k)).map(|c| c.name), problem };
        if row.len() != width {
            return Err(fail(None, Problem::FieldCount { expected: width, found: row.len() }));
        }
        for (k, value) in row.iter().enumerate() {
            if let Some(c) = value.chars().find(|c| c.is_control()) {
                return Err(fail(Some(k), Problem::ControlCharacter(c)));
            }
            if !value.is_ascii() {
                big5::len(value).map_err(|c| fail(Some(k), Problem::NotBig5(c)))?;
            }
            if k > 0 {
                text.push(',');
            }
            if value.contains([',', '"']) {
                text.push('"');
                text.push_str(&value.replace('"', "\"\""));
                text.push('"');
            } else {
                text.push_str(value);
            }
        }
        text.push_str("\r\n");
    }
    Ok(big5::encode(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(line: &str) -> Vec<String> {
        fields(&big5::encode(line)).unwrap().0
    }

    #[test]
    fn splits_quoted_fields_with_commas_and_doubled_quotes() {
        assert_eq!(values(r#"C0001,"王, ""大"" 家",,x"#), ["C0001", r#"王, "大" 家"#, "", "x"]);
        let (_, columns) = fields(br#"a,"b,c",,d"#).unwrap();
        assert_eq!(columns, [1, 3, 9, 10]);
        assert_eq!(values("a,"), ["a", ""]);
        assert_eq!(values(" a ,  b"), ["a", "b"]);
    }

    #[test]
    fn refuses_malformed_quotes_naming_the_column() {
        assert_eq!(fields(br#"a,"open"#).err(), Some((3, Problem::Quoting)));
        assert_eq!(fields(br#"a,"x"y"#).err(), Some((6, Problem::Quoting)));
        assert_eq!(fields(br#"a,b"c"#).err(), Some((4, Problem::Quoting)));
    }

    #[test]
    fn names_the_column_of_a_byte_that_is_not_big5() {
        let mut line = b"C0001,".to_vec();
        line.extend(big5::encode("王"));
        line.push(0x80);
        assert_eq!(fields(&line).err(), Some((9, Problem::NotBig5Bytes)));
    }
}
