//! The problem model: integer measures, matrices, and the immutable, validated [`Problem`].
//!
//! Everything in the core is an integer in the units chosen by the reader (see `io`): distances,
//! durations, loads and costs never compare floats.

pub mod congestion;
mod matrix;
pub mod pairs;
mod problem;

pub use congestion::{Congestion, CongestionError, SpeedBand};
pub use matrix::{Matrix, Scaled};
pub use pairs::{Pair, PairRole};
pub use problem::{Balance, Break, Client, Depot, Group, Location, OnBoard, Problem, ProblemData, Profile, Stability, VehicleType};

/// A distance in the instance's integer units.
pub type Distance = i64;
/// A duration or a point in time, in the instance's integer units.
pub type Duration = i64;
/// A load amount in one capacity dimension.
pub type Load = i64;
/// A cost in the instance's integer units.
pub type Cost = i64;

/// A value that stands for "no limit" in limits such as max duration or max distance.
pub const UNLIMITED: i64 = i64::MAX / 4;

/// A closed time window `[early, late]` in which service may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeWindow {
    /// Earliest start of service.
    pub early: Duration,
    /// Latest start of service.
    pub late: Duration,
}

impl TimeWindow {
    /// The window that never constrains.
    pub const ALWAYS: TimeWindow = TimeWindow { early: 0, late: UNLIMITED };

    /// A window from `early` to `late`.
    pub fn new(early: Duration, late: Duration) -> Self {
        Self { early, late }
    }
}

/// A set of skills as a bit set over the problem's skill names (at most 64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Skills(pub u64);

impl Skills {
    /// No skill.
    pub const NONE: Skills = Skills(0);

    /// Whether every skill in `needed` is in `self`.
    pub fn covers(self, needed: Skills) -> bool {
        needed.0 & !self.0 == 0
    }

    /// The set with skill number `bit` added.
    pub fn with(self, bit: u32) -> Skills {
        Skills(self.0 | (1u64 << bit))
    }
}
