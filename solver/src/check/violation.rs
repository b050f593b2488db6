//! The violations the checker reports: one variant per broken rule, each naming the route, trip,
//! client or vehicle type at fault and the numbers involved, with a stable [`Violation::code`].

use std::fmt;

/// One broken rule found in a solution.
///
/// Route, trip and client numbers are indices into `Solution::routes`, `Route::trips` and
/// `Problem::clients`. Serialized with a `code` tag equal to [`Violation::code`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Violation {
    /// A required client is visited by no route.
    MissingClient {
        /// Client index.
        client: usize,
    },
    /// A client is visited more than once (over all routes).
    DuplicateClient {
        /// Client index.
        client: usize,
        /// How many times it is visited.
        count: usize,
    },
    /// No client of a required mutually exclusive group is visited.
    MissingGroup {
        /// Group index.
        group: usize,
    },
    /// More than one client of a mutually exclusive group is visited.
    GroupServedTwice {
        /// Group index.
        group: usize,
        /// How many of its clients are visited.
        count: usize,
    },
    /// A client index outside the problem, in a route or in the unassigned list.
    UnknownClient {
        /// The route naming it, `None` when the unassigned list names it.
        route: Option<usize>,
        /// The bad index.
        client: usize,
    },
    /// A route's vehicle type index is outside the problem.
    UnknownVehicleType {
        /// Route index.
        route: usize,
        /// The bad index.
        vehicle_type: usize,
    },
    /// A trip's depot index is outside the problem.
    UnknownDepot {
        /// Route index.
        route: usize,
        /// Trip index within the route.
        trip: usize,
        /// The bad index.
        depot: usize,
    },
    /// A client is listed as unassigned but a route visits it.
    UnassignedButVisited {
        /// Client index.
        client: usize,
    },
    /// A route visits no client.
    EmptyRoute {
        /// Route index.
        route: usize,
    },
    /// More routes use a vehicle type than it has vehicles.
    FleetSize {
        /// Vehicle type index.
        vehicle_type: usize,
        /// Non-empty routes of that type.
        routes: usize,
        /// Vehicles of that type.
        count: usize,
    },
    /// A route has more trips than its vehicle type allows.
    TooManyTrips {
        /// Route index.
        route: usize,
        /// Trips in the route.
        trips: usize,
        /// The type's `max_trips`.
        max: usize,
    },
    /// The first trip does not start at the type's start depot, or a later trip starts at a depot
    /// that is not one of the type's reload depots.
    BadTripDepot {
        /// Route index.
        route: usize,
        /// Trip index within the route.
        trip: usize,
        /// The depot the trip names.
        depot: usize,
    },
    /// The load on a trip exceeds the vehicle's capacity in one dimension.
    Capacity {
        /// Route index.
        route: usize,
        /// Trip index within the route.
        trip: usize,
        /// Capacity dimension.
        dimension: usize,
        /// Highest load on the trip in that dimension.
        max_load: i64,
        /// The vehicle's capacity in that dimension.
        capacity: i64,
    },
    /// The first trip of a vehicle that is already out delivers more than it has on board.
    OnBoardStock {
        /// Route index.
        route: usize,
        /// Capacity dimension.
        dimension: usize,
        /// What the first trip delivers in that dimension.
        delivered: i64,
        /// What the vehicle has on board in that dimension.
        stock: i64,
    },
    /// The vehicle reaches a client after the end of every one of its time windows.
    TimeWindow {
        /// Route index.
        route: usize,
        /// Client index.
        client: usize,
        /// Arrival time at the client.
        arrival: i64,
        /// The latest start of the client's last window.
        late: i64,
    },
    /// The vehicle reaches a reload depot after the depot closes.
    ReloadWindow {
        /// Route index.
        route: usize,
        /// Index of the trip that starts at this depot.
        trip: usize,
        /// Depot index.
        depot: usize,
        /// Arrival time at the depot.
        arrival: i64,
        /// The depot's closing time.
        late: i64,
    },
    /// Release times make a trip leave its depot after the depot closes or after the shift ends.
    ReleaseTime {
        /// Route index.
        route: usize,
        /// Trip index within the route.
        trip: usize,
        /// The departure the release times force.
        departure: i64,
        /// The latest allowed departure (depot closing or shift end, whichever is earlier).
        latest: i64,
    },
    /// The vehicle returns to its end depot after its shift ends or the depot closes.
    Shift {
        /// Route index.
        route: usize,
        /// Return time at the end depot.
        end: i64,
        /// The latest allowed return.
        latest: i64,
    },
    /// The route lasts longer than the type's maximum duration.
    MaxDuration {
        /// Route index.
        route: usize,
        /// Route duration.
        duration: i64,
        /// The type's `max_duration`.
        max: i64,
    },
    /// The route is longer than the type's maximum distance.
    MaxDistance {
        /// Route index.
        route: usize,
        /// Route distance.
        distance: i64,
        /// The type's `max_distance`.
        max: i64,
    },
    /// The vehicle lacks a skill the client needs.
    Skills {
        /// Route index.
        route: usize,
        /// Client index.
        client: usize,
    },
    /// Backhaul precedence is broken: a trip starts with a pickup-only client, or a delivering
    /// client comes after a pickup-only one.
    Backhaul {
        /// Route index.
        route: usize,
        /// Trip index within the route.
        trip: usize,
        /// The client out of order.
        client: usize,
    },
    /// A route names a break its vehicle type does not have, names one twice, or places one on
    /// a leg the route does not have.
    BadBreak {
        /// Route index.
        route: usize,
        /// Position of the break in the route's list.
        position: usize,
    },
    /// A break starts after its latest start.
    BreakWindow {
        /// Route index.
        route: usize,
        /// Break index (into the vehicle type's breaks).
        index: usize,
        /// When the break starts.
        start: i64,
        /// Its latest start.
        late: i64,
    },
    /// A route is out at a break's latest start but does not take the break.
    MissingBreak {
        /// Route index.
        route: usize,
        /// Break index (into the vehicle type's breaks).
        index: usize,
    },
    /// Only one client of a pickup-and-delivery pair is served.
    PairIncomplete {
        /// Pair index.
        pair: usize,
        /// The client that is served.
        served: usize,
    },
    /// Both clients of a pair are served, but on different routes or different trips.
    PairSplit {
        /// Pair index.
        pair: usize,
        /// Route serving the pickup.
        pickup_route: usize,
        /// Route serving the delivery.
        delivery_route: usize,
    },
    /// A pair's delivery comes before its pickup on their trip.
    PairOrder {
        /// Route index.
        route: usize,
        /// Trip index within the route.
        trip: usize,
        /// Pair index.
        pair: usize,
    },
}

impl Violation {
    /// The route this violation is about, if it is about one route.
    pub fn route(&self) -> Option<usize> {
        match *self {
            Violation::EmptyRoute { route }
            | Violation::TooManyTrips { route, .. }
            | Violation::BadTripDepot { route, .. }
            | Violation::Capacity { route, .. }
            | Violation::OnBoardStock { route, .. }
            | Violation::TimeWindow { route, .. }
            | Violation::ReloadWindow { route, .. }
            | Violation::ReleaseTime { route, .. }
            | Violation::Shift { route, .. }
            | Violation::MaxDuration { route, .. }
            | Violation::MaxDistance { route, .. }
            | Violation::Skills { route, .. }
            | Violation::Backhaul { route, .. }
            | Violation::BadBreak { route, .. }
            | Violation::BreakWindow { route, .. }
            | Violation::MissingBreak { route, .. }
            | Violation::PairOrder { route, .. } => Some(route),
            _ => None,
        }
    }

    /// A stable, machine-readable code for this kind of violation (the serialized `code` tag).
    pub fn code(&self) -> &'static str {
        match self {
            Violation::MissingClient { .. } => "missing_client",
            Violation::DuplicateClient { .. } => "duplicate_client",
            Violation::MissingGroup { .. } => "missing_group",
            Violation::GroupServedTwice { .. } => "group_served_twice",
            Violation::UnknownClient { .. } => "unknown_client",
            Violation::UnknownVehicleType { .. } => "unknown_vehicle_type",
            Violation::UnknownDepot { .. } => "unknown_depot",
            Violation::UnassignedButVisited { .. } => "unassigned_but_visited",
            Violation::EmptyRoute { .. } => "empty_route",
            Violation::FleetSize { .. } => "fleet_size",
            Violation::TooManyTrips { .. } => "too_many_trips",
            Violation::BadTripDepot { .. } => "bad_trip_depot",
            Violation::Capacity { .. } => "capacity",
            Violation::OnBoardStock { .. } => "on_board_stock",
            Violation::TimeWindow { .. } => "time_window",
            Violation::ReloadWindow { .. } => "reload_window",
            Violation::ReleaseTime { .. } => "release_time",
            Violation::Shift { .. } => "shift",
            Violation::MaxDuration { .. } => "max_duration",
            Violation::MaxDistance { .. } => "max_distance",
            Violation::Skills { .. } => "skills",
            Violation::Backhaul { .. } => "backhaul",
            Violation::BadBreak { .. } => "bad_break",
            Violation::BreakWindow { .. } => "break_window",
            Violation::MissingBreak { .. } => "missing_break",
            Violation::PairIncomplete { .. } => "pair_incomplete",
            Violation::PairSplit { .. } => "pair_split",
            Violation::PairOrder { .. } => "pair_order",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Violation::MissingClient { client } => write!(f, "required client {client} is visited by no route"),
            Violation::DuplicateClient { client, count } => write!(f, "client {client} is visited {count} times"),
            Violation::MissingGroup { group } => write!(f, "required group {group}: none of its clients is visited"),
            Violation::GroupServedTwice { group, count } => write!(f, "group {group}: {count} of its clients are visited, at most one may be"),
            Violation::UnknownClient { route: Some(route), client } => {
                write!(f, "route {route} visits client {client}, which does not exist")
            }
            Violation::UnknownClient { route: None, client } => {
                write!(f, "the unassigned list names client {client}, which does not exist")
            }
            Violation::UnknownVehicleType { route, vehicle_type } => {
                write!(f, "route {route} uses vehicle type {vehicle_type}, which does not exist")
            }
            Violation::UnknownDepot { route, trip, depot } => {
                write!(f, "route {route} trip {trip} starts at depot {depot}, which does not exist")
            }
            Violation::UnassignedButVisited { client } => {
                write!(f, "client {client} is listed as unassigned but a route visits it")
            }
            Violation::EmptyRoute { route } => write!(f, "route {route} visits no client"),
            Violation::FleetSize { vehicle_type, routes, count } => {
                write!(f, "{routes} routes use vehicle type {vehicle_type}, which has only {count} vehicles")
            }
            Violation::TooManyTrips { route, trips, max } => {
                write!(f, "route {route} has {trips} trips, its vehicle type allows at most {max}")
            }
            Violation::BadTripDepot { route, trip, depot } => {
                write!(f, "route {route} trip {trip} starts at depot {depot}, which its vehicle type may not start or reload at")
            }
            Violation::Capacity { route, trip, dimension, max_load, capacity } => {
                write!(f, "route {route} trip {trip} carries {max_load} in dimension {dimension}, above the capacity of {capacity}")
            }
            Violation::OnBoardStock { route, dimension, delivered, stock } => {
                write!(f, "route {route} delivers {delivered} in dimension {dimension} before it reloads, but its vehicle has only {stock} on board")
            }
            Violation::TimeWindow { route, client, arrival, late } => {
                write!(f, "route {route} reaches client {client} at {arrival}, after its last time window closes at {late}")
            }
            Violation::ReloadWindow { route, trip, depot, arrival, late } => {
                write!(f, "route {route} reaches depot {depot} for trip {trip} at {arrival}, after it closes at {late}")
            }
            Violation::ReleaseTime { route, trip, departure, latest } => {
                write!(f, "release times make route {route} trip {trip} leave at {departure}, after the latest departure {latest}")
            }
            Violation::Shift { route, end, latest } => {
                write!(f, "route {route} returns at {end}, after the latest return {latest}")
            }
            Violation::MaxDuration { route, duration, max } => {
                write!(f, "route {route} lasts {duration}, above the maximum duration {max}")
            }
            Violation::MaxDistance { route, distance, max } => {
                write!(f, "route {route} covers {distance}, above the maximum distance {max}")
            }
            Violation::Skills { route, client } => {
                write!(f, "route {route}'s vehicle lacks a skill client {client} needs")
            }
            Violation::Backhaul { route, trip, client } => {
                write!(f, "route {route} trip {trip} breaks backhaul precedence at client {client} (a pickup-only client first, or a delivery after one)")
            }
            Violation::BadBreak { route, position } => {
                write!(f, "route {route}'s break {position} names a break its vehicle type lacks, repeats one, or lies on no leg of the route")
            }
            Violation::BreakWindow { route, index, start, late } => {
                write!(f, "route {route} starts break {index} at {start}, after its latest start {late}")
            }
            Violation::MissingBreak { route, index } => {
                write!(f, "route {route} is out at the latest start of break {index} but does not take it")
            }
            Violation::PairIncomplete { pair, served } => write!(f, "pair {pair} has only client {served} served"),
            Violation::PairSplit { pair, pickup_route, delivery_route } => {
                write!(f, "pair {pair} is split: its pickup is on route {pickup_route}, its delivery on route {delivery_route}, not on one trip")
            }
            Violation::PairOrder { route, trip, pair } => write!(f, "route {route} trip {trip} delivers pair {pair} before picking it up"),
        }
    }
}
