//! The local-search moves, behind one registry.
//!
//! Each [`Move`] says which problems it applies to ([`Move::applies`], from the problem's
//! [`Features`]) and where the local search looks for its candidates ([`Move::scope`]); it
//! evaluates candidates by joining cached route segments ([`Part`]s, see [`improve`]) and applies
//! the first that lowers the penalised cost ([`Move::try_at`]). [`REGISTRY`] lists every move in
//! the order the local search ([`super::local_search`]) tries them within a scope:
//!
//! - [`Scope::Unrouted`], for an unrouted client: insert an optional client where its prize
//!   pays ([`client`]);
//! - [`Scope::Neighbour`], for a client `u` and each of its granular neighbours `v` in a route
//!   changed since `u` was last tried, first improving move wins: relocate, swap, relocate with a
//!   reload, moves of two consecutive clients and 2-opt* between routes, relocate, swap and 2-opt
//!   within one ([`node`]);
//! - [`Scope::Client`], for a routed client, each in turn: move it into an empty vehicle, move
//!   its pair, leave it out when optional ([`client`]);
//! - [`Scope::Routes`], once no node move improves, first that changes something restarts the
//!   pass: add or drop reloads, change vehicle types ([`route`]), SWAP* ([`swap_star`]).
//!
//! With pickup-and-delivery pairs, a candidate that would split or reorder one is rejected, and
//! pairs move as units (see [`super::pairs`]).

pub mod client;
pub mod node;
pub mod route;
pub mod swap_star;

use super::neighbours::Neighbours;
use super::state::{Features, Part, State};

/// Where the local search looks for a move's candidates, which decides when it tries the move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// An unrouted client.
    Unrouted,
    /// A routed client and one of its neighbours, both routed.
    Neighbour,
    /// A routed client, after its neighbour moves.
    Client,
    /// The whole solution, once node moves are exhausted.
    Routes,
}

/// Where a move is tried: what [`Move::try_at`] gets, by scope.
#[derive(Clone, Copy, Debug)]
pub enum Site {
    /// Client `u` ([`Scope::Unrouted`], [`Scope::Client`]); `last` is the search step at which
    /// moves around it were last tried.
    Client {
        /// The client.
        u: usize,
        /// Step of its last try.
        last: u64,
    },
    /// Client `u` and its neighbour `v` ([`Scope::Neighbour`]).
    Neighbour {
        /// The client.
        u: usize,
        /// Its neighbour.
        v: usize,
    },
    /// The whole solution ([`Scope::Routes`]).
    Routes,
}

/// A local-search move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// An unrouted optional client goes where its prize pays for the detour (a pair as a unit).
    InsertOptional,
    /// `u` goes right after `v`, then right before it (between routes or within one).
    Relocate,
    /// `u` and `v` trade places (between routes or within one).
    Swap,
    /// `u` goes right after `v` into a route that may reload, with a reload just before or just
    /// after it (between routes).
    RelocateWithReload,
    /// `u` and its successor `x` go after `v` (as `u x` or `x u`), or are swapped with `v`, or
    /// with `v` and its successor (Vidal et al. 2012's M2, M3, M5, M6; between routes).
    TwoClients,
    /// The tails of the two routes are exchanged so that `u` is followed by `v`, or `v` by `u`'s
    /// successor (between routes).
    TwoOptStar,
    /// The stretch between `u` and `v` is reversed (within a route).
    TwoOpt,
    /// `u` alone moves into an empty vehicle of a type that serves it.
    EmptyRoute,
    /// The pair whose pickup is `u` moves to its best positions in a nearby route or its own.
    RelocatePair,
    /// A routed optional client (or pair) is left out when its prize does not pay its detour.
    RemoveOptional,
    /// Each route that may reload drops a useless reload, or adds one where it is overloaded.
    Reloads,
    /// Routes change vehicle type: handed to an empty vehicle of another type, swapped between
    /// two types, or two merged into one vehicle.
    RouteTypes,
    /// SWAP* (Vidal 2022) between routes whose polar sectors overlap.
    SwapStar,
}

/// Every move, in the order the local search tries them within a scope.
pub const REGISTRY: [Move; 13] = [
    Move::InsertOptional,
    Move::Relocate,
    Move::Swap,
    Move::RelocateWithReload,
    Move::TwoClients,
    Move::TwoOptStar,
    Move::TwoOpt,
    Move::EmptyRoute,
    Move::RelocatePair,
    Move::RemoveOptional,
    Move::Reloads,
    Move::RouteTypes,
    Move::SwapStar,
];

impl Move {
    /// A short name (for reports and tests).
    pub const fn name(self) -> &'static str {
        match self {
            Move::InsertOptional => "insert-optional",
            Move::Relocate => "relocate",
            Move::Swap => "swap",
            Move::RelocateWithReload => "relocate-with-reload",
            Move::TwoClients => "two-clients",
            Move::TwoOptStar => "2-opt*",
            Move::TwoOpt => "2-opt",
            Move::EmptyRoute => "empty-route",
            Move::RelocatePair => "relocate-pair",
            Move::RemoveOptional => "remove-optional",
            Move::Reloads => "reloads",
            Move::RouteTypes => "route-types",
            Move::SwapStar => "swap*",
        }
    }

    /// Where the local search tries the move.
    pub const fn scope(self) -> Scope {
        match self {
            Move::InsertOptional => Scope::Unrouted,
            Move::Relocate | Move::Swap | Move::RelocateWithReload | Move::TwoClients | Move::TwoOptStar | Move::TwoOpt => Scope::Neighbour,
            Move::EmptyRoute | Move::RelocatePair | Move::RemoveOptional => Scope::Client,
            Move::Reloads | Move::RouteTypes | Move::SwapStar => Scope::Routes,
        }
    }

    /// Whether the move can change anything on a problem with `features` (a move that does not
    /// apply would find no candidate there, so leaving it out changes no result).
    pub fn applies(self, f: &Features) -> bool {
        match self {
            Move::InsertOptional | Move::RemoveOptional => f.optional,
            Move::RelocateWithReload | Move::Reloads => f.multi_trip,
            Move::RelocatePair => f.pairs,
            Move::RouteTypes => f.heterogeneous,
            // SWAP*'s distance estimates only guide well when time windows do not constrain (on
            // 1000-client VRPTW it cut iterations threefold for no gain); they know nothing of
            // trips or breaks, and it would move one client of a pair without the other.
            Move::SwapStar => !f.binding_windows && !f.multi_trip && !f.breaks && !f.pairs,
            Move::Relocate | Move::Swap | Move::TwoClients | Move::TwoOptStar | Move::TwoOpt | Move::EmptyRoute => true,
        }
    }

    /// Tries the move at `site` (which must be of its scope): evaluates its candidates in a
    /// fixed order and applies the first that improves (for [`Scope::Routes`] moves, every
    /// improvement their pass finds). Returns whether it changed the solution.
    pub fn try_at<const D: usize, const T: usize>(self, state: &mut State<D, T>, nb: &Neighbours, site: Site) -> bool {
        match (self, site) {
            (Move::InsertOptional, Site::Client { u, .. }) => client::insert_optional(state, nb, u),
            (Move::Relocate, Site::Neighbour { u, v }) => {
                if same_route(state, u, v) {
                    node::relocate_within(state, u, v)
                } else {
                    node::relocate_between(state, u, v)
                }
            }
            (Move::Swap, Site::Neighbour { u, v }) => {
                if same_route(state, u, v) {
                    node::swap_within(state, u, v)
                } else {
                    node::swap_between(state, u, v)
                }
            }
            (Move::RelocateWithReload, Site::Neighbour { u, v }) => !same_route(state, u, v) && node::relocate_with_reload(state, u, v),
            (Move::TwoClients, Site::Neighbour { u, v }) => !same_route(state, u, v) && node::two_clients(state, u, v),
            (Move::TwoOptStar, Site::Neighbour { u, v }) => !same_route(state, u, v) && node::two_opt_star(state, u, v),
            (Move::TwoOpt, Site::Neighbour { u, v }) => same_route(state, u, v) && node::two_opt(state, u, v),
            (Move::EmptyRoute, Site::Client { u, last }) => client::empty_route(state, u, last),
            (Move::RelocatePair, Site::Client { u, last }) => client::relocate_pair(state, nb, u, last),
            (Move::RemoveOptional, Site::Client { u, .. }) => client::remove_optional(state, u),
            (Move::Reloads, Site::Routes) => route::reloads(state),
            (Move::RouteTypes, Site::Routes) => route::route_types(state, nb),
            (Move::SwapStar, Site::Routes) => swap_star::run(state),
            (m, site) => {
                debug_assert!(false, "{} tried at {site:?}, outside its scope", m.name());
                false
            }
        }
    }
}

/// The moves of the registry that apply to a problem, by scope, in registry order.
#[derive(Clone, Debug, Default)]
pub struct Active {
    /// [`Scope::Unrouted`] moves.
    pub unrouted: Vec<Move>,
    /// [`Scope::Neighbour`] moves.
    pub neighbour: Vec<Move>,
    /// [`Scope::Client`] moves.
    pub client: Vec<Move>,
    /// [`Scope::Routes`] moves.
    pub routes: Vec<Move>,
}

impl Active {
    /// The moves that apply to a problem with `features`.
    pub fn new(features: &Features) -> Active {
        let mut active = Active::default();
        for m in REGISTRY.into_iter().filter(|m| m.applies(features)) {
            match m.scope() {
                Scope::Unrouted => active.unrouted.push(m),
                Scope::Neighbour => active.neighbour.push(m),
                Scope::Client => active.client.push(m),
                Scope::Routes => active.routes.push(m),
            }
        }
        active
    }
}

/// Whether clients `u` and `v` (both routed) are in the same route.
#[inline]
fn same_route<const D: usize, const T: usize>(state: &State<D, T>, u: usize, v: usize) -> bool {
    state.pos[u].0 == state.pos[v].0
}

/// Evaluates a candidate and applies it if it improves; `changes` are (route, new parts) pairs.
/// The cost change is the segments' (their concatenation); with pairs, a candidate that would
/// break one is rejected; where routes need exact schedules, the few candidates that pass the
/// segments' bound are judged by them.
pub fn improve<const D: usize, const T: usize>(state: &mut State<D, T>, changes: &[(usize, &[Part])]) -> bool {
    let mut delta = 0;
    for (r, parts) in changes {
        delta += state.cost_of(state.routes[*r].vt, parts) - state.route_cost(*r);
    }
    if delta < 0 && state.features.pairs && !super::pairs::changes_keep_pairs(state, changes) {
        return false;
    }
    if delta < 0 && state.exact_possible {
        // Segments bound routes with breaks or several windows from below: judge the few
        // candidates that pass the bound by their exact schedules.
        delta = 0;
        for (r, parts) in changes {
            delta += state.exact_cost_of(state.routes[*r].vt, parts) - state.route_cost(*r);
        }
    }
    if delta < 0 {
        state.apply(changes);
        true
    } else {
        false
    }
}

/// Whether routes of type `t` may reload.
#[inline]
fn may_reload<const D: usize, const T: usize>(state: &State<D, T>, t: usize) -> bool {
    let vt = &state.problem.vehicle_types[t];
    vt.max_trips > 1 && !vt.reload_depots.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_lists_every_move_once_grouped_by_scope() {
        for (k, m) in REGISTRY.iter().enumerate() {
            assert!(!REGISTRY[..k].contains(m), "{} listed twice", m.name());
        }
        // Scopes in the order the local search uses them, each one stretch of the registry.
        let scopes: Vec<Scope> = REGISTRY.iter().map(|m| m.scope()).collect();
        let mut order = scopes.clone();
        order.dedup();
        assert_eq!(order, [Scope::Unrouted, Scope::Neighbour, Scope::Client, Scope::Routes]);
    }

    #[test]
    fn moves_apply_by_problem_features() {
        let plain = Features { pairs: false, multi_trip: false, heterogeneous: false, optional: false, binding_windows: false, breaks: false };
        let names = |f: &Features| REGISTRY.iter().filter(|m| m.applies(f)).map(|m| m.name()).collect::<Vec<_>>();
        assert_eq!(names(&plain), ["relocate", "swap", "two-clients", "2-opt*", "2-opt", "empty-route", "swap*"]);
        let all = Features { pairs: true, multi_trip: true, heterogeneous: true, optional: true, binding_windows: true, breaks: true };
        assert_eq!(names(&all).len(), REGISTRY.len() - 1, "all but SWAP*");
        assert!(!Move::SwapStar.applies(&Features { binding_windows: true, ..plain }));
        assert!(Move::RouteTypes.applies(&Features { heterogeneous: true, ..plain }));
        let active = Active::new(&Features { multi_trip: true, ..plain });
        assert_eq!(active.neighbour, [Move::Relocate, Move::Swap, Move::RelocateWithReload, Move::TwoClients, Move::TwoOptStar, Move::TwoOpt]);
        assert_eq!(active.routes, [Move::Reloads]);
        assert!(active.unrouted.is_empty());
    }
}
