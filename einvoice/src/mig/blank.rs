//! E0402 `BranchTrackBlank` (空白未使用字軌號碼): the numbers of a track (字軌) that were allocated
//! for a period and never used, reported by the 10th of the next period's first month.
//!
//! Tree after the transcription `latte1855/turnbridge` `docs/turnkey/mig41/E0402.md`:
//! `BranchTrackBlank/Main` (HeadBan, BranchBan, InvoiceType, YearMonth, InvoiceTrack),
//! `BranchTrackBlank/Details/BranchTrackBlankItem` (InvoiceBeginNo, InvoiceEndNo: 8 digits each).
//! The platform refuses a whole file whose ranges overlap (or repeat), so they are checked here.
//!
//! `YearMonth` is written as the ROC year and month, `YYYMM` (`10606` for June 2017), the second
//! (even) month of the two-month period, as in the transcription's sample; that it is the even month
//! and 5 digits is *unverified* (the same transcription's table says 6 digits).
//! The transcription gives 1..=25000 items; that bound is *unverified* too.

use super::check;
use super::xml::XmlWriter;
use super::{InvoiceType, MessageType, MigError, MigLimits, MigMessage};

/// The most ranges one E0402 message carries (*unverified*).
pub const MAX_BLANK_RANGES: usize = 25_000;

/// E0402: the blank (unused) number ranges of one track in one period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchTrackBlank {
    /// `HeadBan`: the head office's 統一編號.
    pub head_ban: String,
    /// `BranchBan`: the branch's 統一編號 (the head office's own when it has no branches).
    pub branch_ban: String,
    /// `InvoiceType`: 07 or 08.
    pub invoice_type: InvoiceType,
    /// The period's year (Gregorian; written as the ROC year).
    pub year: i32,
    /// The period's second month: 2, 4, …, 12.
    pub month: u32,
    /// `InvoiceTrack` (字軌): two upper-case letters.
    pub invoice_track: String,
    /// `Details/BranchTrackBlankItem`, 1..=25000 ranges that do not overlap.
    pub ranges: Vec<BlankRange>,
}

/// An inclusive range of unused 8-digit numbers, `InvoiceBeginNo..=InvoiceEndNo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlankRange {
    /// `InvoiceBeginNo`, 0..=99_999_999.
    pub begin: u32,
    /// `InvoiceEndNo`, begin..=99_999_999.
    pub end: u32,
}

impl BranchTrackBlank {
    /// `YearMonth`: `YYYMM` in the ROC calendar.
    pub fn year_month(&self) -> String {
        format!("{:03}{:02}", self.year - 1911, self.month)
    }
}

impl MigMessage for BranchTrackBlank {
    fn message_type(&self) -> MessageType {
        MessageType::E0402
    }

    fn validate_with(&self, _limits: &MigLimits) -> Result<(), MigError> {
        check::ban("Main/HeadBan", &self.head_ban)?;
        check::ban("Main/BranchBan", &self.branch_ban)?;
        // ROC years 1..=999.
        if !(1912..=2910).contains(&self.year) {
            return Err(MigError::Range { field: "Main/YearMonth".into(), min: 1912, max: 2910, value: i64::from(self.year) });
        }
        if !(2..=12).contains(&self.month) || !self.month.is_multiple_of(2) {
            return Err(MigError::Format { field: "Main/YearMonth".into(), expected: "a period's second (even) month", value: self.month.to_string() });
        }
        let t = self.invoice_track.as_bytes();
        if t.len() != 2 || !t.iter().all(u8::is_ascii_uppercase) {
            return Err(MigError::Format { field: "Main/InvoiceTrack".into(), expected: "two upper-case letters", value: self.invoice_track.clone() });
        }
        check::count("Details/BranchTrackBlankItem", self.ranges.len(), 1, MAX_BLANK_RANGES)?;
        for (i, r) in self.ranges.iter().enumerate() {
            let f = |name: &str| format!("Details/BranchTrackBlankItem[{}]/{name}", i + 1);
            if r.end > 99_999_999 {
                return Err(MigError::Range { field: f("InvoiceEndNo"), min: 0, max: 99_999_999, value: i64::from(r.end) });
            }
            if r.begin > r.end {
                return Err(MigError::Rule { field: f("InvoiceBeginNo"), rule: "after InvoiceEndNo" });
            }
        }
        let mut sorted: Vec<(BlankRange, usize)> = self.ranges.iter().copied().zip(1..).collect();
        sorted.sort();
        for pair in sorted.windows(2) {
            let ((a, _), (b, j)) = (pair[0], pair[1]);
            if b.begin <= a.end {
                return Err(MigError::Rule {
                    field: format!("Details/BranchTrackBlankItem[{j}]"),
                    rule: "overlaps (or repeats) another range; the platform refuses the whole file",
                });
            }
        }
        Ok(())
    }

    fn to_xml_with(&self, limits: &MigLimits) -> Result<String, MigError> {
        self.validate_with(limits)?;
        let mut w = XmlWriter::new(MessageType::E0402);
        w.open("Main");
        w.leaf("HeadBan", &self.head_ban);
        w.leaf("BranchBan", &self.branch_ban);
        w.leaf("InvoiceType", self.invoice_type.code());
        w.leaf("YearMonth", &self.year_month());
        w.leaf("InvoiceTrack", &self.invoice_track);
        w.close();
        w.open("Details");
        for r in &self.ranges {
            w.open("BranchTrackBlankItem");
            w.leaf("InvoiceBeginNo", &format!("{:08}", r.begin));
            w.leaf("InvoiceEndNo", &format!("{:08}", r.end));
            w.close();
        }
        w.close();
        Ok(w.finish())
    }

    fn file_key(&self) -> String {
        format!("{}_{}_{}", self.branch_ban, self.year_month(), self.invoice_track)
    }
}
