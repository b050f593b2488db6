//! The distance matrix of a VRPLIB instance: Euclidean from `NODE_COORD_SECTION`
//! (`EDGE_WEIGHT_TYPE : EUC_2D`), or explicit (`EXPLICIT` with an `EDGE_WEIGHT_FORMAT` of
//! `FULL_MATRIX`, `LOWER_ROW`, `LOWER_DIAG_ROW`, `UPPER_ROW` or `UPPER_DIAG_ROW`).
//!
//! Values are rounded with the instance's convention, as PyVRP rounds its edge weights. Nothing
//! of size `DIMENSION²` is allocated before the input is known to hold that much data.

use super::document::Document;
use super::numbers::Numbers;
use crate::error::ReadError;
use crate::io::rounding::{euclidean_matrix, Rounding};
use crate::model::{Location, Matrix};

/// The largest value a [`Matrix`] holds (it stores `i32`).
fn matrix_max() -> i64 {
    i64::from(i32::MAX)
}

/// The layouts of `EDGE_WEIGHT_SECTION` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Full,
    LowerRow,
    LowerDiagRow,
    UpperRow,
    UpperDiagRow,
}

impl Layout {
    fn parse(s: &str) -> Option<Layout> {
        Some(match s {
            "FULL_MATRIX" => Layout::Full,
            "LOWER_ROW" => Layout::LowerRow,
            "LOWER_DIAG_ROW" => Layout::LowerDiagRow,
            "UPPER_ROW" => Layout::UpperRow,
            "UPPER_DIAG_ROW" => Layout::UpperDiagRow,
            _ => return None,
        })
    }

    /// How many values a matrix of `n` locations needs, `None` on overflow.
    fn values(self, n: usize) -> Option<usize> {
        let triangle = n.checked_mul(n.checked_sub(1)?)? / 2;
        match self {
            Layout::Full => n.checked_mul(n),
            Layout::LowerRow | Layout::UpperRow => Some(triangle),
            Layout::LowerDiagRow | Layout::UpperDiagRow => triangle.checked_add(n),
        }
    }

    /// The `(from, to)` pairs filled by the values, in file order. Triangular layouts are
    /// symmetric: each value is also written at `(to, from)`.
    fn cells(self, n: usize) -> Box<dyn Iterator<Item = (usize, usize)>> {
        match self {
            Layout::Full => Box::new((0..n).flat_map(move |i| (0..n).map(move |j| (i, j)))),
            Layout::LowerRow => Box::new((0..n).flat_map(|i| (0..i).map(move |j| (i, j)))),
            Layout::LowerDiagRow => Box::new((0..n).flat_map(|i| (0..=i).map(move |j| (i, j)))),
            Layout::UpperRow => Box::new((0..n).flat_map(move |i| (i + 1..n).map(move |j| (i, j)))),
            Layout::UpperDiagRow => Box::new((0..n).flat_map(move |i| (i..n).map(move |j| (i, j)))),
        }
    }
}

/// The distance matrix of `n` locations.
pub(super) fn matrix(doc: &Document<'_>, nums: Numbers<'_>, n: usize, coordinates: &[Location], r: Rounding) -> Result<Matrix, ReadError> {
    let kind = doc.spec("EDGE_WEIGHT_TYPE").ok_or_else(|| nums.err(0, "missing EDGE_WEIGHT_TYPE"))?;
    match kind.value.to_ascii_uppercase().as_str() {
        "EUC_2D" => {
            if let Some(section) = doc.section("EDGE_WEIGHT") {
                return Err(nums.err(section.line, "EDGE_WEIGHT_SECTION given, but EDGE_WEIGHT_TYPE is EUC_2D"));
            }
            if coordinates.len() != n {
                return Err(nums.err(kind.line, "EDGE_WEIGHT_TYPE EUC_2D needs a NODE_COORD_SECTION"));
            }
            euclidean_matrix(coordinates, r).map_err(|(i, j, v)| {
                let line = doc.section("NODE_COORD").and_then(|s| s.rows.get(i)).map_or(kind.line, |row| row.line);
                nums.err(line, format!("distance from node {} to node {} is {v} after rounding, outside 0..={}", i + 1, j + 1, matrix_max()))
            })
        }
        "EXPLICIT" => explicit(doc, nums, n, r),
        other => Err(nums.err(kind.line, format!("unsupported EDGE_WEIGHT_TYPE '{other}' (expected EUC_2D or EXPLICIT)"))),
    }
}

fn explicit(doc: &Document<'_>, nums: Numbers<'_>, n: usize, r: Rounding) -> Result<Matrix, ReadError> {
    let format = doc.spec("EDGE_WEIGHT_FORMAT").ok_or_else(|| nums.err(0, "EDGE_WEIGHT_TYPE EXPLICIT needs an EDGE_WEIGHT_FORMAT"))?;
    let layout = Layout::parse(&format.value.to_ascii_uppercase()).ok_or_else(|| {
        nums.err(
            format.line,
            format!("unsupported EDGE_WEIGHT_FORMAT '{}' (expected FULL_MATRIX, LOWER_ROW, LOWER_DIAG_ROW, UPPER_ROW or UPPER_DIAG_ROW)", format.value),
        )
    })?;
    let section = doc.section("EDGE_WEIGHT").ok_or_else(|| nums.err(0, "EDGE_WEIGHT_TYPE EXPLICIT needs an EDGE_WEIGHT_SECTION"))?;
    let expected = layout.values(n).ok_or_else(|| nums.err(format.line, "DIMENSION too large for an explicit matrix"))?;
    let found: usize = section.rows.iter().map(|r| r.fields.len()).sum();
    if found != expected {
        let line = section.rows.last().map_or(section.line, |r| r.line);
        return Err(nums.err(line, format!("EDGE_WEIGHT_SECTION has {found} values, {} needs {expected} for DIMENSION {n}", format.value)));
    }
    // The values are all there, so `n * n` is bounded by the size of the text.
    let cells = n.checked_mul(n).ok_or_else(|| nums.err(format.line, "DIMENSION too large for an explicit matrix"))?;
    let mut full = vec![0i64; cells];
    let tokens = section.rows.iter().flat_map(|row| row.fields.iter().map(move |t| (row.line, *t)));
    for ((i, j), (line, token)) in layout.cells(n).zip(tokens) {
        let v = r.apply(nums.real(line, token, "edge weight")?);
        if !(0..=matrix_max()).contains(&v) {
            return Err(nums.err(line, format!("edge weight {token} is {v} after rounding, outside 0..={}", matrix_max())));
        }
        if let Some(cell) = full.get_mut(i * n + j) {
            *cell = v;
        }
        if layout != Layout::Full {
            if let Some(cell) = full.get_mut(j * n + i) {
                *cell = v;
            }
        }
    }
    Matrix::from_fn(n, |i, j| full.get(i * n + j).copied().unwrap_or(0))
        .map_err(|(i, j, v)| nums.err(section.line, format!("edge weight from node {} to node {} is {v}, outside the matrix range", i + 1, j + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn nums() -> Numbers<'static> {
        Numbers { path: Path::new("t.vrp") }
    }

    fn explicit_matrix(format: &str, data: &str, n: usize) -> Result<Matrix, ReadError> {
        let text = format!("EDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: {format}\nEDGE_WEIGHT_SECTION\n{data}");
        let doc = Document::split(&text, nums())?;
        matrix(&doc, nums(), n, &[], Rounding::Round)
    }

    fn rows(m: &Matrix) -> Vec<Vec<i64>> {
        (0..m.size()).map(|i| (0..m.size()).map(|j| m.get(i, j)).collect()).collect()
    }

    #[test]
    fn reads_every_explicit_layout() {
        let want = vec![vec![0, 1, 2], vec![1, 0, 3], vec![2, 3, 0]];
        assert_eq!(rows(&explicit_matrix("FULL_MATRIX", "0 1 2\n1 0 3\n2 3 0\n", 3).unwrap()), want);
        assert_eq!(rows(&explicit_matrix("LOWER_ROW", "1\n2 3\n", 3).unwrap()), want);
        assert_eq!(rows(&explicit_matrix("LOWER_DIAG_ROW", "0 1 0 2 3 0\n", 3).unwrap()), want);
        assert_eq!(rows(&explicit_matrix("UPPER_ROW", "1 2\n3\n", 3).unwrap()), want);
        assert_eq!(rows(&explicit_matrix("UPPER_DIAG_ROW", "0 1 2\n0 3\n0\n", 3).unwrap()), want);
        let asym = explicit_matrix("FULL_MATRIX", "0 1.6\n2.4 0\n", 2).unwrap();
        assert_eq!(rows(&asym), vec![vec![0, 2], vec![2, 0]]);
    }

    #[test]
    fn rejects_bad_explicit_data() {
        assert_eq!(explicit_matrix("FULL_MATRIX", "0 1\n1\n", 2).unwrap_err().line, 5);
        assert_eq!(explicit_matrix("FULL_MATRIX", "0 -1\n1 0\n", 2).unwrap_err().line, 4);
        assert_eq!(explicit_matrix("FUNCTION", "0\n", 1).unwrap_err().line, 2);
        assert_eq!(explicit_matrix("LOWER_ROW", "1 x 3\n", 3).unwrap_err().line, 4);
    }

    #[test]
    fn builds_rounded_euclidean_distances() {
        let doc = Document::split("EDGE_WEIGHT_TYPE : EUC_2D\n", nums()).unwrap();
        let pts = [Location { x: 0.0, y: 0.0 }, Location { x: 1.0, y: 1.0 }];
        assert_eq!(matrix(&doc, nums(), 2, &pts, Rounding::Dimacs).unwrap().get(0, 1), 14);
        assert_eq!(matrix(&doc, nums(), 3, &pts, Rounding::Dimacs).unwrap_err().line, 1);
        let far = [Location { x: 0.0, y: 0.0 }, Location { x: 1e300, y: 0.0 }];
        assert!(matrix(&doc, nums(), 2, &far, Rounding::Round).is_err());
        let doc = Document::split("EDGE_WEIGHT_TYPE : GEO\n", nums()).unwrap();
        assert_eq!(matrix(&doc, nums(), 2, &pts, Rounding::Round).unwrap_err().line, 1);
    }
}
