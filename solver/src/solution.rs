//! Solutions: routes per vehicle (trips separated by reloads) and unassigned clients with a
//! reason, plus the objective as the checker and the search both define it.

use std::fmt;

/// Why a client is not in any route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// No vehicle type has the skills it needs (or none is available).
    NoCompatibleVehicle,
    /// Its amounts exceed the capacity of every compatible vehicle.
    Capacity,
    /// No compatible vehicle can reach it within any of its time windows.
    TimeWindowUnreachable,
    /// Serving it alone already breaks a shift, duration or distance limit.
    ShiftLimits,
    /// An optional client whose prize does not pay for the detour.
    NotWorthPrize,
    /// Serviceable alone, but the search found no feasible route for it (fleet too small or too
    /// busy).
    NoFeasibleRoute,
    /// Another client of its mutually exclusive group (another address of the same customer)
    /// is served.
    GroupServed,
}

impl fmt::Display for UnassignedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnassignedReason::NoCompatibleVehicle => "no compatible vehicle",
            UnassignedReason::Capacity => "exceeds every compatible vehicle's capacity",
            UnassignedReason::TimeWindowUnreachable => "time window unreachable",
            UnassignedReason::ShiftLimits => "outside shift, duration or distance limits",
            UnassignedReason::NotWorthPrize => "not worth its prize",
            UnassignedReason::NoFeasibleRoute => "no feasible route found",
            UnassignedReason::GroupServed => "another client of its group is served",
        })
    }
}

/// One trip: leave `depot` loaded, visit clients, then go to the next trip's depot (a reload) or
/// to the vehicle type's end depot.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Trip {
    /// Depot index the trip starts from (the start depot for the first trip, a reload depot for
    /// later trips).
    pub depot: usize,
    /// Client indices in visiting order.
    pub visits: Vec<usize>,
}

/// The route of one vehicle: one or more trips.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Route {
    /// Vehicle type index.
    pub vehicle_type: usize,
    /// Trips in order; never empty for a route in a solution.
    pub trips: Vec<Trip>,
    /// Driver breaks taken on the way, in the order they are taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<BreakStop>,
}

/// Where a route takes a driver break: break `index` of its vehicle type, on the leg that leaves
/// the `after`-th visit of trip `trip` (after 0: the leg leaving the trip's depot; after the
/// trip's length: the leg to the next trip's depot or to the end depot). The driver stops when
/// the break may start, on the road or at the next stop (see the checker for the timing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BreakStop {
    /// Index into the vehicle type's breaks.
    pub index: usize,
    /// Trip index within the route.
    pub trip: usize,
    /// Visits of the trip before the break.
    pub after: usize,
}

impl Route {
    /// A single-trip route from the type's start depot.
    pub fn single(vehicle_type: usize, start_depot: usize, visits: Vec<usize>) -> Route {
        Route { vehicle_type, trips: vec![Trip { depot: start_depot, visits }], breaks: Vec::new() }
    }

    /// All visits of all trips in order.
    pub fn visits(&self) -> impl Iterator<Item = usize> + '_ {
        self.trips.iter().flat_map(|t| t.visits.iter().copied())
    }

    /// Whether the route visits no client.
    pub fn is_empty(&self) -> bool {
        self.trips.iter().all(|t| t.visits.is_empty())
    }
}

/// A client left out of every route, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unassigned {
    /// Client index.
    pub client: usize,
    /// Why it is left out.
    pub reason: UnassignedReason,
}

/// A solution: non-empty routes, and the clients left out.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Solution {
    /// Routes that visit at least one client.
    pub routes: Vec<Route>,
    /// Clients in no route.
    pub unassigned: Vec<Unassigned>,
}
