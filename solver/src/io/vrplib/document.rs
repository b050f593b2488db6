//! Splits VRPLIB text into header specifications (`KEY : value`) and data sections
//! (`NAME_SECTION` followed by rows), keeping the 1-based line number of everything so that later
//! errors can point at their line.
//!
//! Blank lines and lines starting with `#` are skipped; reading stops at `EOF`.

use super::numbers::Numbers;
use crate::error::ReadError;

/// A `KEY : value` line.
pub(super) struct Spec<'a> {
    /// Upper-case key.
    pub key: String,
    /// The value, trimmed.
    pub value: &'a str,
    /// Line number.
    pub line: usize,
}

/// One data line of a section.
pub(super) struct Row<'a> {
    /// Line number.
    pub line: usize,
    /// Whitespace-separated fields; never empty.
    pub fields: Vec<&'a str>,
}

impl<'a> Row<'a> {
    /// The fields after the leading id.
    pub fn values(&self) -> &[&'a str] {
        self.fields.get(1..).unwrap_or(&[])
    }
}

/// A `NAME_SECTION` and its rows.
pub(super) struct Section<'a> {
    /// Upper-case name without the `_SECTION` suffix (`DEMAND`, `VEHICLES_DEPOT`).
    pub name: String,
    /// Line of the section header.
    pub line: usize,
    /// Data rows in order.
    pub rows: Vec<Row<'a>>,
}

impl Section<'_> {
    /// The section's name as written in files.
    pub fn title(&self) -> String {
        format!("{}_SECTION", self.name)
    }

    /// Checks that the section has exactly `count` rows whose first field is their 1-based id
    /// (`1..=count` in order); `what` names the ids (`node`, `vehicle`).
    pub fn check_ids(&self, nums: Numbers<'_>, count: usize, what: &str) -> Result<(), ReadError> {
        if self.rows.len() < count {
            let line = self.rows.last().map_or(self.line, |r| r.line);
            return Err(nums.err(line, format!("{} has {} rows, expected one per {what} ({count})", self.title(), self.rows.len())));
        }
        if let Some(extra) = self.rows.get(count) {
            return Err(nums.err(extra.line, format!("{} has more rows than {what}s ({count})", self.title())));
        }
        for (i, row) in self.rows.iter().enumerate() {
            let id_token = row.fields.first().copied().unwrap_or("");
            let id = nums.integer(row.line, id_token, &format!("{} {what} id", self.title()))?;
            if usize::try_from(id).ok() != Some(i + 1) {
                let title = self.title();
                let message = format!("{title} lists {what} {id} where {what} {} was expected (ids must be 1..={count} in order)", i + 1);
                return Err(nums.err(row.line, message));
            }
        }
        Ok(())
    }

    /// Checks that every row has exactly `columns` values after its id.
    pub fn check_columns(&self, nums: Numbers<'_>, columns: usize) -> Result<(), ReadError> {
        for row in &self.rows {
            let found = row.values().len();
            if found != columns {
                let plural = if columns == 1 { "" } else { "s" };
                return Err(nums.err(row.line, format!("{} rows need {columns} value{plural} after the id, found {found}", self.title())));
            }
        }
        Ok(())
    }
}

/// A VRPLIB text split into specifications and sections.
pub(super) struct Document<'a> {
    /// Header lines in order.
    pub specs: Vec<Spec<'a>>,
    /// Sections in order.
    pub sections: Vec<Section<'a>>,
}

impl<'a> Document<'a> {
    /// The specification with this (upper-case) key.
    pub fn spec(&self, key: &str) -> Option<&Spec<'a>> {
        self.specs.iter().find(|s| s.key == key)
    }

    /// The section with this (upper-case, suffix-less) name.
    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Splits `text`; `nums` names the file in errors.
    pub fn split(text: &'a str, nums: Numbers<'_>) -> Result<Document<'a>, ReadError> {
        let mut doc = Document { specs: Vec::new(), sections: Vec::new() };
        // Whether data rows may follow (we are inside a section).
        let mut in_section = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let t = raw.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let first = t.split_whitespace().next().unwrap_or("");
            if first == "EOF" || first == "EOF:" {
                break;
            }
            let head = first.trim_end_matches(':').to_ascii_uppercase();
            if let Some(name) = head.strip_suffix("_SECTION") {
                if t.split_whitespace().skip(1).any(|f| f != ":") {
                    return Err(nums.err(line, format!("{head}: data must start on the next line")));
                }
                if let Some(prev) = doc.section(name) {
                    return Err(nums.err(line, format!("{head} appears twice (first on line {})", prev.line)));
                }
                doc.sections.push(Section { name: name.to_string(), line, rows: Vec::new() });
                in_section = true;
            } else if let Some((key, value)) = t.split_once(':') {
                let key = key.trim().to_ascii_uppercase();
                if key.is_empty() {
                    return Err(nums.err(line, "expected KEY : value, found nothing before the colon"));
                }
                if let Some(prev) = doc.spec(&key) {
                    // TSPLIB files continue a long COMMENT on further COMMENT lines.
                    if key == "COMMENT" {
                        in_section = false;
                        continue;
                    }
                    return Err(nums.err(line, format!("{key} is given twice (first on line {})", prev.line)));
                }
                doc.specs.push(Spec { key, value: value.trim(), line });
                in_section = false;
            } else if in_section {
                if let Some(section) = doc.sections.last_mut() {
                    section.rows.push(Row { line, fields: t.split_whitespace().collect() });
                }
            } else {
                return Err(nums.err(line, format!("expected KEY : value, a section or EOF, found '{}'", clip(t))));
            }
        }
        for section in &doc.sections {
            if let Some(spec) = doc.spec(&section.name) {
                return Err(nums.err(section.line, format!("{} is given both as a value (line {}) and as a section", section.name, spec.line)));
            }
        }
        Ok(doc)
    }
}

/// At most 40 characters of `s`, for messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn nums() -> Numbers<'static> {
        Numbers { path: Path::new("t.vrp") }
    }

    #[test]
    fn splits_specs_and_sections_with_line_numbers() {
        let text = "NAME :\tdemo\t\r\n# a comment\nTYPE:CVRP\n\nDEMAND_SECTION :\n1 0\n2   5\nDEPOT_SECTION\n 1\n -1\nEOF\ngarbage";
        let doc = Document::split(text, nums()).unwrap();
        assert_eq!(doc.spec("NAME").unwrap().value, "demo");
        assert_eq!(doc.spec("TYPE").unwrap().line, 3);
        let demand = doc.section("DEMAND").unwrap();
        assert_eq!(demand.line, 5);
        assert_eq!(demand.rows[1].line, 7);
        assert_eq!(demand.rows[1].values(), &["5"]);
        assert_eq!(doc.section("DEPOT").unwrap().rows.len(), 2);
    }

    #[test]
    fn rejects_stray_lines_and_duplicates() {
        assert_eq!(Document::split("NAME : a\n1 2 3\n", nums()).err().unwrap().line, 2);
        assert_eq!(Document::split("NAME : a\nNAME : b\n", nums()).err().unwrap().line, 2);
        let e = Document::split("DEMAND_SECTION\n1 1\nDEMAND_SECTION\n", nums()).err().unwrap();
        assert_eq!(e.line, 3);
        let e = Document::split("SERVICE_TIME : 3\nSERVICE_TIME_SECTION\n1 3\n", nums()).err().unwrap();
        assert!(e.message.contains("both"), "{e}");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn checks_row_ids_and_columns() {
        let doc = Document::split("DEMAND_SECTION\n1 0\n3 5\n", nums()).unwrap();
        let s = doc.section("DEMAND").unwrap();
        assert_eq!(s.check_ids(nums(), 2, "node").unwrap_err().line, 3);
        assert_eq!(s.check_ids(nums(), 3, "node").unwrap_err().line, 3);
        assert_eq!(s.check_ids(nums(), 1, "node").unwrap_err().line, 3);
        let doc = Document::split("DEMAND_SECTION\n1 0\n2 5 6\n", nums()).unwrap();
        let s = doc.section("DEMAND").unwrap();
        assert!(s.check_ids(nums(), 2, "node").is_ok());
        assert_eq!(s.check_columns(nums(), 1).unwrap_err().line, 3);
    }
}
