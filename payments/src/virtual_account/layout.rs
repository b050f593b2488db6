//! Bank layouts of virtual-account numbers, described by data: a row of segments (the company
//! code the bank assigned, a due date, the customer's number, the check digit) and a check scheme.
//!
//! The shipped layout is Cathay United Bank's 16 digits (DOMAIN.md): company code 4 + due date
//! `MMDDHH` 6 + customer 5 + check digit 1 ([`Layout::cathay_16`]). Another bank's layout is a
//! small TOML text ([`Layout::from_toml`]), e.g. Cathay's own:
//!
//! ```toml
//! name = "cathay-16"
//! segments = [
//!     { kind = "fixed", digits = "9527" },   # the company code (事業代碼) the bank assigned
//!     { kind = "due", format = "MMDDHH" },   # or "MMDD", or "YYYMMDD" (ROC date)
//!     { kind = "customer", digits = 5 },
//!     { kind = "check" },
//! ]
//! check = { weights = [3, 7, 1], modulus = 10 }  # from the bank's spec sheet
//! ```

use super::check::CheckScheme;
use serde::{Deserialize, Serialize};

/// How a due date is written into a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DueFormat {
    /// Month, day and hour of the deadline (Cathay): 6 digits, no year.
    #[serde(rename = "MMDDHH")]
    MonthDayHour,
    /// Month and day: 4 digits, no year.
    #[serde(rename = "MMDD")]
    MonthDay,
    /// The ROC date, `1151204`: 7 digits.
    #[serde(rename = "YYYMMDD")]
    RocDate,
}

impl DueFormat {
    /// The configuration name: `MMDDHH`, `MMDD`, `YYYMMDD`.
    pub fn name(self) -> &'static str {
        match self {
            DueFormat::MonthDayHour => "MMDDHH",
            DueFormat::MonthDay => "MMDD",
            DueFormat::RocDate => "YYYMMDD",
        }
    }

    /// How many digits the format takes.
    pub fn width(self) -> usize {
        match self {
            DueFormat::MonthDayHour => 6,
            DueFormat::MonthDay => 4,
            DueFormat::RocDate => 7,
        }
    }
}

/// One run of digits of a number, left to right.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Segment {
    /// Digits that every number of the layout carries: the company code the bank assigned.
    Fixed {
        /// The digits.
        digits: String,
    },
    /// The due date (the bank refuses payments after it).
    Due {
        /// How it is written.
        format: DueFormat,
    },
    /// The customer's number (the caller's sequence), zero-padded to `digits`.
    Customer {
        /// Width, 1 to 18.
        digits: usize,
    },
    /// The check digit.
    Check,
}

impl Segment {
    /// How many digits the segment takes.
    pub fn width(&self) -> usize {
        match self {
            Segment::Fixed { digits } => digits.len(),
            Segment::Due { format } => format.width(),
            Segment::Customer { digits } => *digits,
            Segment::Check => 1,
        }
    }
}

/// The configuration form of a layout (what [`Layout::from_toml`] reads).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutConfig {
    name: String,
    segments: Vec<Segment>,
    check: CheckScheme,
}

/// A bank's virtual-account layout. Always valid: one customer segment, one check digit, at most
/// one due date, fixed segments of digits, 4 to 24 digits in all (see [`Layout::new`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    name: String,
    segments: Vec<Segment>,
    check: CheckScheme,
    /// Start of each segment in the number, by segment index.
    starts: Vec<usize>,
    len: usize,
}

/// Why a layout description was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("virtual-account layout: {0}")]
pub struct LayoutError(pub String);

impl Layout {
    /// Cathay United Bank's 16 digits: `company_code` (4 digits) + due date `MMDDHH` + customer
    /// (5 digits) + check digit, checked with weights 3, 7, 1 modulo 10 (configuration: the bank's
    /// spec sheet for the company sets them; see the check module).
    pub fn cathay_16(company_code: &str) -> Result<Layout, LayoutError> {
        Layout::new(
            "cathay-16",
            vec![
                Segment::Fixed { digits: company_code.to_owned() },
                Segment::Due { format: DueFormat::MonthDayHour },
                Segment::Customer { digits: 5 },
                Segment::Check,
            ],
            CheckScheme::weights_371_mod10(),
        )
    }

    /// A layout from its parts, validated.
    pub fn new(name: &str, segments: Vec<Segment>, check: CheckScheme) -> Result<Layout, LayoutError> {
        let err = |m: String| Err(LayoutError(m));
        if name.trim().is_empty() {
            return err("the layout needs a name".into());
        }
        let count = |f: fn(&Segment) -> bool| segments.iter().filter(|s| f(s)).count();
        if count(|s| matches!(s, Segment::Check)) != 1 {
            return err("exactly one check segment".into());
        }
        if count(|s| matches!(s, Segment::Customer { .. })) != 1 {
            return err("exactly one customer segment".into());
        }
        if count(|s| matches!(s, Segment::Due { .. })) > 1 {
            return err("at most one due segment".into());
        }
        for s in &segments {
            match s {
                Segment::Fixed { digits } if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) => {
                    return err(format!("fixed segment {digits:?} must be one or more digits"));
                }
                Segment::Customer { digits } if !(1..=18).contains(digits) => return err(format!("customer segment of {digits} digits (1 to 18)")),
                _ => {}
            }
        }
        let mut starts = Vec::with_capacity(segments.len());
        let mut len = 0;
        for s in &segments {
            starts.push(len);
            len += s.width();
        }
        if !(4..=24).contains(&len) {
            return err(format!("{len} digits in all (4 to 24)"));
        }
        Ok(Layout { name: name.to_owned(), segments, check, starts, len })
    }

    /// A layout from its TOML description (see the module docs).
    pub fn from_toml(text: &str) -> Result<Layout, LayoutError> {
        let c: LayoutConfig = toml::from_str(text).map_err(|e| LayoutError(e.message().to_owned()))?;
        Layout::new(&c.name, c.segments, c.check)
    }

    /// The layout as TOML, read back by [`Layout::from_toml`].
    pub fn to_toml(&self) -> String {
        // Written by hand: the workspace's `toml` is built to read only. Names are quoted as TOML
        // basic strings (escapes of `"` and `\`; control characters as \u escapes).
        let quote = |s: &str| {
            let mut q = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => q.push_str("\\\""),
                    '\\' => q.push_str("\\\\"),
                    c if c.is_control() => q.push_str(&format!("\\u{:04X}", u32::from(c))),
                    c => q.push(c),
                }
            }
            q.push('"');
            q
        };
        let segments: Vec<String> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Fixed { digits } => format!("{{ kind = \"fixed\", digits = {} }}", quote(digits)),
                Segment::Due { format } => format!("{{ kind = \"due\", format = \"{}\" }}", format.name()),
                Segment::Customer { digits } => format!("{{ kind = \"customer\", digits = {digits} }}"),
                Segment::Check => "{ kind = \"check\" }".to_owned(),
            })
            .collect();
        let weights: Vec<String> = self.check.weights().iter().map(u32::to_string).collect();
        format!(
            "name = {}\nsegments = [{}]\ncheck = {{ weights = [{}], modulus = {} }}\n",
            quote(&self.name),
            segments.join(", "),
            weights.join(", "),
            self.check.modulus()
        )
    }

    /// The layout's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The segments, left to right.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The check scheme.
    pub fn check(&self) -> &CheckScheme {
        &self.check
    }

    /// Digits in a number.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true (a layout has at least 4 digits); for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The segments with their start positions.
    pub(crate) fn placed(&self) -> impl Iterator<Item = (usize, &Segment)> {
        self.starts.iter().copied().zip(&self.segments)
    }

    /// The check digit's position.
    pub(crate) fn check_position(&self) -> usize {
        self.placed().find(|(_, s)| matches!(s, Segment::Check)).map(|(p, _)| p).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cathay_is_sixteen_digits_and_its_toml_reads_back() {
        let l = Layout::cathay_16("9527").unwrap();
        assert_eq!(l.len(), 16);
        assert_eq!(l.check_position(), 15);
        assert_eq!(Layout::from_toml(&l.to_toml()).unwrap(), l);
        let odd = Layout::new("a \"quoted\" \\ name\t", l.segments().to_vec(), l.check().clone()).unwrap();
        assert_eq!(Layout::from_toml(&odd.to_toml()).unwrap(), odd);
    }

    #[test]
    fn reads_the_documented_toml() {
        let text = r#"
name = "cathay-16"
segments = [
    { kind = "fixed", digits = "9527" },
    { kind = "due", format = "MMDDHH" },
    { kind = "customer", digits = 5 },
    { kind = "check" },
]
check = { weights = [3, 7, 1], modulus = 10 }
"#;
        assert_eq!(Layout::from_toml(text).unwrap(), Layout::cathay_16("9527").unwrap());
    }

    #[test]
    fn rejects_layouts_that_cannot_work() {
        let t = |segs: &str, check: &str| Layout::from_toml(&format!("name = \"x\"\nsegments = [{segs}]\ncheck = {check}\n"));
        let ok_check = "{ weights = [3, 7, 1], modulus = 10 }";
        assert!(t(r#"{ kind = "fixed", digits = "12" }, { kind = "customer", digits = 5 }, { kind = "check" }"#, ok_check).is_ok());
        for (segs, why) in [
            (r#"{ kind = "customer", digits = 5 }"#, "no check"),
            (r#"{ kind = "customer", digits = 5 }, { kind = "check" }, { kind = "check" }"#, "two checks"),
            (r#"{ kind = "fixed", digits = "1234" }, { kind = "check" }"#, "no customer"),
            (r#"{ kind = "fixed", digits = "12a4" }, { kind = "customer", digits = 5 }, { kind = "check" }"#, "letters"),
            (r#"{ kind = "customer", digits = 19 }, { kind = "check" }"#, "too wide a customer"),
            (r#"{ kind = "customer", digits = 2 }, { kind = "check" }"#, "too short"),
            (r#"{ kind = "due", format = "MMDD" }, { kind = "due", format = "MMDD" }, { kind = "customer", digits = 2 }, { kind = "check" }"#, "two dues"),
            (r#"{ kind = "due", format = "DDMM" }, { kind = "customer", digits = 5 }, { kind = "check" }"#, "unknown format"),
            (r#"{ kind = "customer", digits = 5, extra = 1 }, { kind = "check" }"#, "unknown key"),
        ] {
            assert!(t(segs, ok_check).is_err(), "{why}");
        }
        let segs = r#"{ kind = "customer", digits = 5 }, { kind = "check" }"#;
        assert!(t(segs, "{ weights = [2, 1], modulus = 10 }").is_err());
        assert!(t(segs, "{ weights = [3, 7, 1], modulus = 9 }").is_err());
        assert!(t(segs, "{ weights = [3, 7, 1], modulus = 10, extra = 1 }").is_err());
    }
}
