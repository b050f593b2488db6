//! Pickup-and-delivery pairs (VROOM's shipments): goods picked up at one client and delivered
//! at another by the same vehicle, on the same trip, pickup first.
//!
//! # Load semantics
//! The pair's `amount` is on board exactly between the pickup and the delivery: it is not loaded
//! at the depot, and it does not ride back to it. A trip ends at a depot where the vehicle
//! unloads and reloads, so goods picked up on one trip are not kept across a reload: a pair is
//! served within one trip. The clients of a pair may have amounts of their own too (delivered
//! from, or picked up to, the depot as for any client).
//!
//! Both or neither of a pair are served: they are required or optional together, and an
//! optional pair earns the prizes of both its clients only when both are served.
//!
//! The search sees a pair's amount as a delivery of `-amount` at the pickup and `+amount` at
//! the delivery (see `engine::segment::LoadSeg::client`): the depot load of the pair is then 0
//! and the load on board rises by `amount` at the pickup and falls by it at the delivery, which
//! is exact whenever the pickup precedes the delivery on one trip (an invariant the search
//! keeps). The checker simulates the amounts directly. Clients' own amounts stay
//! non-negative, so what reads them is unchanged: backhaul precedence classes a client by its
//! own amounts (a pair's amount makes neither client a backhaul), and a vehicle's on-board
//! stock (`OnBoard`) is what its trip delivers from the depot, pairs netting to nothing there.
//! A replan refuses a pair picked up but not yet delivered (`replan::ReplanError`).

use super::{Load, Problem, ProblemData};
use crate::error::ModelError;
use crate::solution::UnassignedReason;

/// A pickup-and-delivery pair: client `pickup` loads `amount`, client `delivery` unloads it,
/// both served by one vehicle on one trip, `pickup` first.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pair {
    /// Client index of the pickup.
    pub pickup: usize,
    /// Client index of the delivery.
    pub delivery: usize,
    /// Amount carried from the pickup to the delivery, one entry per capacity dimension.
    pub amount: Vec<Load>,
}

/// Where a client stands in a pair: the pair's index and whether it is the pickup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairRole {
    /// Index into `ProblemData::pairs`.
    pub pair: usize,
    /// Whether the client is the pair's pickup (else its delivery).
    pub is_pickup: bool,
}

/// Checks the pairs of `d`: clients in range, distinct, in at most one pair, amounts of the
/// problem's dimensions and not negative, and both clients required or both optional.
pub(super) fn validate(d: &ProblemData) -> Result<(), ModelError> {
    let mut in_pair = vec![false; d.clients.len()];
    for (k, pair) in d.pairs.iter().enumerate() {
        let bad = |why: &str| Err(ModelError::BadPair { pair: k, why: why.into() });
        if pair.pickup >= d.clients.len() || pair.delivery >= d.clients.len() {
            return bad("names a client the problem does not have");
        }
        if pair.pickup == pair.delivery {
            return bad("has the same client as pickup and delivery");
        }
        for c in [pair.pickup, pair.delivery] {
            if in_pair[c] {
                return bad(&format!("shares client {c} with another pair"));
            }
            in_pair[c] = true;
        }
        if pair.amount.len() != d.dimensions {
            return Err(ModelError::DimensionMismatch { what: format!("pair {k} amount"), expected: d.dimensions, found: pair.amount.len() });
        }
        if pair.amount.iter().any(|&q| q < 0) {
            return Err(ModelError::Negative { what: format!("pair {k} amount") });
        }
        if d.clients[pair.pickup].required != d.clients[pair.delivery].required {
            return bad("has one required and one optional client");
        }
    }
    Ok(())
}

/// `role[c]` for every client `c` of `d`.
pub(super) fn roles(d: &ProblemData) -> Vec<Option<PairRole>> {
    let mut role = vec![None; d.clients.len()];
    for (k, pair) in d.pairs.iter().enumerate() {
        role[pair.pickup] = Some(PairRole { pair: k, is_pickup: true });
        role[pair.delivery] = Some(PairRole { pair: k, is_pickup: false });
    }
    role
}

impl Problem {
    /// Whether vehicle type `t` can ever serve pair `k` alone on a route (start, pickup,
    /// delivery, end); `None` when it can, else the reason why not.
    pub fn why_type_cannot_serve_pair(&self, t: usize, k: usize) -> Option<UnassignedReason> {
        let pair = &self.pairs[k];
        for c in [pair.pickup, pair.delivery] {
            if let Some(reason) = self.why_type_cannot_serve_alone(t, c) {
                return Some(reason);
            }
        }
        let vt = &self.vehicle_types[t];
        let (p, d) = (&self.clients[pair.pickup], &self.clients[pair.delivery]);
        // On board: leaving (both own deliveries), after the pickup (the delivery's own delivery,
        // the pickup's own pickup and the amount), after the delivery (both own pickups).
        let over = (0..self.dimensions).any(|i| {
            let peak = (p.delivery[i] + d.delivery[i]).max(d.delivery[i] + p.pickup[i] + pair.amount[i]).max(p.pickup[i] + d.pickup[i]);
            peak > vt.capacity[i]
        });
        if over {
            return Some(UnassignedReason::Capacity);
        }
        let (start, end) = (self.depots[vt.start_depot].location, self.depots[vt.end_depot].location);
        let leave = vt.shift.early.max(self.depots[vt.start_depot].time_window.early).max(p.release_time).max(d.release_time);
        let at_pickup = leave + self.duration(t, start, p.location);
        let Some(w) = p.time_windows.iter().find(|w| w.late >= at_pickup) else {
            return Some(UnassignedReason::TimeWindowUnreachable);
        };
        let at_delivery = at_pickup.max(w.early) + p.service_duration + self.duration(t, p.location, d.location);
        let Some(w) = d.time_windows.iter().find(|w| w.late >= at_delivery) else {
            return Some(UnassignedReason::TimeWindowUnreachable);
        };
        let back = at_delivery.max(w.early) + d.service_duration + self.duration(t, d.location, end);
        let latest_back = vt.shift.late.min(self.depots[vt.end_depot].time_window.late);
        let shortest = self.duration(t, start, p.location)
            + p.service_duration
            + self.duration(t, p.location, d.location)
            + d.service_duration
            + self.duration(t, d.location, end);
        let distance = self.distance(t, start, p.location) + self.distance(t, p.location, d.location) + self.distance(t, d.location, end);
        if back > latest_back || shortest > vt.max_duration || distance > vt.max_distance {
            return Some(UnassignedReason::ShiftLimits);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_problem_data;

    fn with_pair(amount: Load) -> ProblemData {
        let mut d = tiny_problem_data();
        d.pairs = vec![Pair { pickup: 0, delivery: 1, amount: vec![amount] }];
        d
    }

    #[test]
    fn maps_each_client_to_its_role_in_a_pair() {
        let p = Problem::new(with_pair(3)).unwrap();
        assert_eq!(p.pair_role(0), Some(PairRole { pair: 0, is_pickup: true }));
        assert_eq!(p.pair_role(1), Some(PairRole { pair: 0, is_pickup: false }));
        assert_eq!(p.pair_role(2), None);
        assert_eq!((p.partner(0), p.partner(1), p.partner(2)), (Some(1), Some(0), None));
    }

    #[test]
    fn rejects_pairs_that_share_a_client_or_mix_required_and_optional() {
        let mut d = with_pair(3);
        d.pairs.push(Pair { pickup: 2, delivery: 1, amount: vec![1] });
        assert!(matches!(Problem::new(d), Err(ModelError::BadPair { pair: 1, .. })));
        let mut d = with_pair(3);
        d.clients[1].required = false;
        assert!(matches!(Problem::new(d), Err(ModelError::BadPair { pair: 0, .. })));
        let mut d = with_pair(3);
        d.pairs[0].delivery = 0;
        assert_eq!(Problem::new(d).unwrap_err().code(), "bad_pair");
        assert!(matches!(Problem::new(with_pair(-1)), Err(ModelError::Negative { .. })));
    }

    #[test]
    fn a_required_pair_over_every_capacity_is_unservable() {
        // Client 1 delivers 4 of its own; with 7 picked up at client 0 the truck carries 11 > 10.
        match Problem::new(with_pair(7)) {
            Err(ModelError::UnservableClient { client: 0, reason }) => assert_eq!(reason, UnassignedReason::Capacity),
            other => panic!("unexpected {other:?}"),
        }
        assert!(Problem::new(with_pair(6)).is_ok());
    }

    #[test]
    fn both_clients_of_a_pair_share_its_reason() {
        let mut d = with_pair(7);
        d.clients[0].required = false;
        d.clients[1].required = false;
        let p = Problem::new(d).unwrap();
        assert_eq!(p.why_unservable(0), Some(UnassignedReason::Capacity));
        assert_eq!(p.why_unservable(1), Some(UnassignedReason::Capacity));
    }
}
