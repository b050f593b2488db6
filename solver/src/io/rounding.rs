//! Distance conventions of the benchmark families, and Euclidean matrices built with them.
//!
//! This is the one place where raw (possibly fractional) input values become the integers the
//! core works with.

use crate::model::{Location, Matrix, Scaled};
use std::fmt;
use std::str::FromStr;

/// How raw input values (coordinates' distances, times, prizes) become integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rounding {
    /// Pick the convention of the instance's family (see [`Rounding::for_family`]).
    Auto,
    /// Nearest integer (CVRP, VRPB).
    Round,
    /// Times ten, then truncated: one decimal kept (DIMACS; VRPTW, Solomon).
    Dimacs,
    /// Times a thousand, then rounded (HFVRP, MDVRPTW).
    Exact,
    /// Truncated to an integer, no scaling.
    None,
}

impl Rounding {
    /// Applies the convention to one raw value.
    pub fn apply(self, v: f64) -> i64 {
        self.scaled().apply(v)
    }

    /// The convention as a scale and a rounding mode (ties to even, as numpy, and so PyVRP,
    /// rounds; DIMACS and `none` truncate).
    pub fn scaled(self) -> Scaled {
        match self {
            Rounding::Round | Rounding::Auto => Scaled { scale: 1.0, truncate: false },
            Rounding::Dimacs => Scaled { scale: 10.0, truncate: true },
            Rounding::Exact => Scaled { scale: 1000.0, truncate: false },
            Rounding::None => Scaled { scale: 1.0, truncate: true },
        }
    }

    /// The factor by which this convention scales values.
    pub fn scale(self) -> i64 {
        match self {
            Rounding::Dimacs => 10,
            Rounding::Exact => 1000,
            _ => 1,
        }
    }

    /// The convention of a benchmark family (the VRPLIB `TYPE`, or `SOLOMON`), as documented in
    /// `../shared/datasets/README.md`.
    pub fn for_family(family: &str) -> Rounding {
        match family.to_ascii_uppercase().as_str() {
            "CVRP" | "XXL" | "VRPB" => Rounding::Round,
            "VRPTW" | "MTVRPTWR" | "PCVRPTW" | "SOLOMON" => Rounding::Dimacs,
            "HFVRP" | "MDVRPTW" | "SDVRPTW" => Rounding::Exact,
            _ => Rounding::Round,
        }
    }

    /// Resolves `Auto` to the family's convention.
    pub fn resolve(self, family: &str) -> Rounding {
        if self == Rounding::Auto {
            Rounding::for_family(family)
        } else {
            self
        }
    }
}

impl FromStr for Rounding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Rounding::Auto),
            "round" => Ok(Rounding::Round),
            "dimacs" => Ok(Rounding::Dimacs),
            "exact" => Ok(Rounding::Exact),
            "none" => Ok(Rounding::None),
            _ => Err(format!("unknown rounding '{s}' (expected auto, round, dimacs, exact or none)")),
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rounding::Auto => "auto",
            Rounding::Round => "round",
            Rounding::Dimacs => "dimacs",
            Rounding::Exact => "exact",
            Rounding::None => "none",
        })
    }
}

/// From this many locations on, a Euclidean matrix is computed on each read instead of stored
/// (4,000 locations stored take 64 MB, and reads of a larger one mostly miss the caches).
pub const COMPUTED_FROM: usize = 4_000;

/// The Euclidean distance matrix of `locations` under `rounding`: stored for fewer than
/// [`COMPUTED_FROM`] locations, computed from the coordinates for more (same values).
///
/// Returns the offending pair when a distance does not fit the matrix.
pub fn euclidean_matrix(locations: &[Location], rounding: Rounding) -> Result<Matrix, (usize, usize, i64)> {
    if locations.len() >= COMPUTED_FROM {
        return Matrix::euclidean(locations.iter().map(|l| [l.x, l.y]).collect(), rounding.scaled());
    }
    Matrix::from_fn(locations.len(), |i, j| {
        let dx = locations[i].x - locations[j].x;
        let dy = locations[i].y - locations[j].y;
        rounding.apply((dx * dx + dy * dy).sqrt())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_each_convention() {
        let d = 2f64.sqrt(); // 1.41421...
        assert_eq!(Rounding::Round.apply(d), 1);
        assert_eq!(Rounding::Dimacs.apply(d), 14);
        assert_eq!(Rounding::Exact.apply(d), 1414);
        assert_eq!(Rounding::None.apply(1.9), 1);
        assert_eq!(Rounding::Round.apply(2.6), 3);
    }

    #[test]
    fn picks_the_family_convention() {
        assert_eq!(Rounding::Auto.resolve("VRPTW"), Rounding::Dimacs);
        assert_eq!(Rounding::Auto.resolve("HFVRP"), Rounding::Exact);
        assert_eq!(Rounding::Auto.resolve("CVRP"), Rounding::Round);
        assert_eq!(Rounding::Round.resolve("VRPTW"), Rounding::Round);
        assert!("bogus".parse::<Rounding>().is_err());
    }
}
