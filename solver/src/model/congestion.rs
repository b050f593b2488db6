//! Rush hours: travel times that depend on when the vehicle leaves.
//!
//! The model is Ichoua, Gendreau and Potvin's (2003): the day is cut into speed bands, and in a
//! band every road of the profile is driven at a fraction of its free-flow speed. A leg whose
//! free-flow duration (the matrix's) is `d` is driven by covering `d` free-flow seconds of road,
//! at the speed of each band the vehicle is in while driving; a leg that starts in free flow and
//! runs into the morning rush slows down from the moment the rush starts. Outside every band the
//! speed is the free-flow one (100 %).
//!
//! Because speeds change with time rather than travel times with departure times, a vehicle that
//! leaves later never arrives earlier (first in, first out), and a leg never takes less than its
//! free-flow duration: the matrices' static durations are lower bounds of the real ones, which
//! the search uses to prune (see `engine::schedule`).
//!
//! Arithmetic is exact: speeds are whole percentages, so a band of `a` seconds at `s` % covers
//! `a * s` hundredths of a free-flow second, and the arrival is the exact rational arrival
//! rounded up to the next whole unit. Rounding a non-decreasing function up keeps it
//! non-decreasing, so first in, first out holds in integers too.

use super::Duration;

/// One band of the day: from `from` (inclusive) to `to` (exclusive), roads are driven at
/// `speed_percent` % of their free-flow speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpeedBand {
    /// Start of the band.
    pub from: Duration,
    /// End of the band.
    pub to: Duration,
    /// Speed in the band, in percent of free flow: 1 to 100.
    pub speed_percent: u32,
}

/// The speed bands of a routing profile, sorted and disjoint; none means free flow all day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Congestion {
    bands: Vec<SpeedBand>,
}

/// Why a list of bands is not a congestion profile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CongestionError {
    /// A band ends before it starts (or is empty), or starts before time 0.
    #[error("speed band {band} runs from {from} to {to}: it must start at 0 or later and end after it starts")]
    BadBand {
        /// Index of the band.
        band: usize,
        /// Its start.
        from: Duration,
        /// Its end.
        to: Duration,
    },
    /// A band's speed is outside 1..=100 %.
    #[error("speed band {band} has a speed of {speed_percent} %: speeds are 1 to 100 % of free flow")]
    BadSpeed {
        /// Index of the band.
        band: usize,
        /// Its speed.
        speed_percent: u32,
    },
    /// Two bands overlap, or are not in order.
    #[error("speed band {band} starts at {from}, before the previous band ends at {previous_end}: bands must be in order and must not overlap")]
    Overlap {
        /// Index of the later band.
        band: usize,
        /// Its start.
        from: Duration,
        /// End of the band before it.
        previous_end: Duration,
    },
}

impl Congestion {
    /// The profile made of `bands`, checked: each from `from >= 0` to `to > from`, at 1 to 100 %,
    /// in order and disjoint. Bands at 100 % are dropped (they are free flow).
    pub fn new(bands: Vec<SpeedBand>) -> Result<Congestion, CongestionError> {
        let mut previous_end = 0;
        for (band, b) in bands.iter().enumerate() {
            if b.from < 0 || b.to <= b.from {
                return Err(CongestionError::BadBand { band, from: b.from, to: b.to });
            }
            if !(1..=100).contains(&b.speed_percent) {
                return Err(CongestionError::BadSpeed { band, speed_percent: b.speed_percent });
            }
            if band > 0 && b.from < previous_end {
                return Err(CongestionError::Overlap { band, from: b.from, previous_end });
            }
            previous_end = b.to;
        }
        Ok(Congestion { bands: bands.into_iter().filter(|b| b.speed_percent < 100).collect() })
    }

    /// Whether travel is free flow all day.
    pub fn is_free_flow(&self) -> bool {
        self.bands.is_empty()
    }

    /// The bands slower than free flow, in order.
    pub fn bands(&self) -> &[SpeedBand] {
        &self.bands
    }

    /// When a vehicle leaving at `depart` on a leg of free-flow duration `base` arrives.
    /// Never before `depart + base`; non-decreasing in `depart` (first in, first out).
    pub fn arrival(&self, depart: Duration, base: Duration) -> Duration {
        if self.bands.is_empty() || base <= 0 {
            return depart.saturating_add(base);
        }
        // Road still to cover, in hundredths of a free-flow second.
        let mut work = i128::from(base) * 100;
        let mut t = i128::from(depart);
        // The first band that has not ended at `t`.
        let mut i = self.bands.partition_point(|b| i128::from(b.to) <= t);
        loop {
            let (until, speed) = match self.bands.get(i) {
                Some(b) if t >= i128::from(b.from) => (i128::from(b.to), i128::from(b.speed_percent)),
                Some(b) => (i128::from(b.from), 100),
                None => (i128::MAX, 100),
            };
            let span = until.saturating_sub(t);
            // Seconds to cover the rest at this speed, rounded up (work and speed are positive).
            let needed = (work + speed - 1) / speed;
            if span >= needed {
                let arrival = t + needed;
                return i64::try_from(arrival).unwrap_or(i64::MAX);
            }
            work -= span * speed;
            if speed < 100 {
                i += 1;
            }
            t = until;
        }
    }

    /// How long a leg of free-flow duration `base` takes when the vehicle leaves at `depart`.
    pub fn travel(&self, depart: Duration, base: Duration) -> Duration {
        self.arrival(depart, base).saturating_sub(depart)
    }

    /// The latest departure on a leg of free-flow duration `base` that arrives by `by`: the
    /// inverse of [`Congestion::arrival`], `arrival(t) <= by` exactly for `t <= latest`. Walks
    /// the bands backwards from `by`, covering the road at each band's speed.
    pub fn latest_departure(&self, by: Duration, base: Duration) -> Duration {
        if self.bands.is_empty() || base <= 0 {
            return by.saturating_sub(base);
        }
        let mut work = i128::from(base) * 100;
        let mut t = i128::from(by);
        // The last band that has started before `t`.
        let mut i = self.bands.partition_point(|b| i128::from(b.from) < t);
        loop {
            // Going back from `t`: inside band `i - 1` when it has not ended by `t`, else free
            // flow back to its end.
            let (since, speed) = match i.checked_sub(1).map(|k| self.bands[k]) {
                Some(b) if t <= i128::from(b.to) => (i128::from(b.from), i128::from(b.speed_percent)),
                Some(b) => (i128::from(b.to), 100),
                None => (i128::MIN, 100),
            };
            let span = t.saturating_sub(since);
            // The exact latest departure is `t - work / speed`; arrivals are rounded up, so
            // the latest whole departure is `t - ceil(work / speed)`.
            let needed = (work + speed - 1) / speed;
            if span >= needed {
                return i64::try_from(t - needed).unwrap_or(i64::MIN);
            }
            work -= span * speed;
            if speed < 100 {
                i -= 1;
            }
            t = since;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rush() -> Congestion {
        // 07:00-09:00 at half speed, 17:00-19:00 at 40 %.
        Congestion::new(vec![SpeedBand { from: 7 * 3600, to: 9 * 3600, speed_percent: 50 }, SpeedBand { from: 17 * 3600, to: 19 * 3600, speed_percent: 40 }])
            .unwrap()
    }

    #[test]
    fn free_flow_outside_the_bands_and_slower_inside() {
        let c = rush();
        assert_eq!(c.travel(3600, 600), 600);
        assert_eq!(c.travel(8 * 3600, 600), 1200);
        assert_eq!(c.travel(18 * 3600, 600), 1500);
        assert_eq!(c.travel(20 * 3600, 600), 600);
        assert_eq!(Congestion::default().travel(8 * 3600, 600), 600);
    }

    #[test]
    fn a_leg_into_the_rush_slows_down_when_the_rush_starts() {
        let c = rush();
        // Leaves at 06:50 for a 20-minute leg: 10 minutes of free flow, then the other 10
        // minutes of road at half speed take 20.
        assert_eq!(c.arrival(7 * 3600 - 600, 1200), 7 * 3600 + 1200);
        // Leaves at 08:50, half speed for 10 minutes (5 of road), then 15 free: 25 minutes.
        assert_eq!(c.travel(9 * 3600 - 600, 1200), 1500);
        // Across a whole band: 3 h of road from 06:00, 1 h free, 2 h at half speed cover 1 h,
        // 1 h free: back at 10:00.
        assert_eq!(c.arrival(6 * 3600, 3 * 3600), 10 * 3600);
    }

    #[test]
    fn rounds_up_to_a_whole_unit() {
        let c = Congestion::new(vec![SpeedBand { from: 0, to: 100, speed_percent: 30 }]).unwrap();
        // 1 s of road at 30 % takes 3.33 s: arrives at 4.
        assert_eq!(c.arrival(0, 1), 4);
    }

    #[test]
    fn refuses_bands_that_make_no_sense() {
        let band = |from, to, speed_percent| SpeedBand { from, to, speed_percent };
        assert!(matches!(Congestion::new(vec![band(10, 10, 50)]), Err(CongestionError::BadBand { band: 0, .. })));
        assert!(matches!(Congestion::new(vec![band(-1, 10, 50)]), Err(CongestionError::BadBand { .. })));
        assert!(matches!(Congestion::new(vec![band(0, 10, 0)]), Err(CongestionError::BadSpeed { speed_percent: 0, .. })));
        assert!(matches!(Congestion::new(vec![band(0, 10, 101)]), Err(CongestionError::BadSpeed { .. })));
        assert!(matches!(Congestion::new(vec![band(0, 10, 50), band(5, 20, 50)]), Err(CongestionError::Overlap { band: 1, .. })));
        assert!(Congestion::new(vec![band(0, 10, 100)]).unwrap().is_free_flow());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(0x4649_464F), ..Default::default() })]

        /// First in, first out, for every profile: leaving later never arrives earlier, and a
        /// leg never takes less than its free-flow duration nor more than it at the slowest
        /// speed of the day (plus one unit of rounding).
        #[test]
        fn first_in_first_out_for_every_profile(
            cuts in proptest::collection::vec((0i64..500, 1i64..400, 1u32..=100), 0..6),
            depart in 0i64..3000,
            later in 0i64..400,
            base in 0i64..2000,
        ) {
            let mut bands = Vec::new();
            let mut at = 0;
            for (gap, len, speed_percent) in cuts {
                bands.push(SpeedBand { from: at + gap, to: at + gap + len, speed_percent });
                at += gap + len;
            }
            let slowest = bands.iter().map(|b| b.speed_percent).min().unwrap_or(100);
            let c = Congestion::new(bands).unwrap();
            let a = c.arrival(depart, base);
            proptest::prop_assert!(c.arrival(depart + later, base) >= a);
            proptest::prop_assert!(a - depart >= base);
            proptest::prop_assert!(a - depart <= (base * 100).div_euclid(i64::from(slowest)) + 1);
            // The latest departure that arrives by `a` is `depart` or later, and one unit later
            // arrives after `a`.
            let latest = c.latest_departure(a, base);
            proptest::prop_assert!(latest >= depart, "latest departure {latest} to arrive by {a}, but leaving at {depart} does");
            proptest::prop_assert!(c.arrival(latest, base) <= a);
            proptest::prop_assert!(c.arrival(latest + 1, base) > a, "leaving at {} still arrives by {a}", latest + 1);
        }
    }

    #[test]
    fn huge_times_saturate() {
        let c = rush();
        assert_eq!(c.arrival(i64::MAX - 5, 100), i64::MAX);
        assert_eq!(c.arrival(0, i64::MAX), i64::MAX);
    }
}
