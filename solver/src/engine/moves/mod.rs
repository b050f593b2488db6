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
pub use node::Around;

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
pub enum Site<'a> {
    /// Client `u` ([`Scope::Unrouted`], [`Scope::Client`]); `last` is the search step at which
    /// moves around it were last tried.
    Client {
        /// The client.
        u: usize,
        /// Step of its last try.
        last: u64,
    },
    /// A client and its neighbour, both routed ([`Scope::Neighbour`]).
    Neighbour(&'a Around),
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

/// Declares the registry once: [`REGISTRY`], and [`Active::try_neighbour`], which tries the
/// neighbour moves written out one after the other in that order, so that the hottest loop of
/// the search runs straight-line code with every move's dispatch resolved at compile time
/// (dispatching at run time there cost 4 to 6 % of the iterations per second on Solomon R101).
macro_rules! registry {
    ($($m:ident),+ $(,)?) => {
        /// Every move, in the order the local search tries them within a scope.
        pub const REGISTRY: [Move; [$(Move::$m),+].len()] = [$(Move::$m),+];

        impl Active {
            /// Tries the neighbour moves that apply, in registry order, at `at`: the first that
            /// finds an improving candidate applies it and ends the try. Whether one did.
            #[inline(always)]
            pub fn try_neighbour<const D: usize, const T: usize>(&self, state: &mut State<D, T>, nb: &Neighbours, at: &Around) -> bool {
                $((Move::$m.is(Scope::Neighbour) && self.has(Move::$m) && Move::$m.try_at(state, nb, Site::Neighbour(at))))||+
            }
        }
    };
}

registry![
    InsertOptional,
    Relocate,
    Swap,
    RelocateWithReload,
    TwoClients,
    TwoOptStar,
    TwoOpt,
    EmptyRoute,
    RelocatePair,
    RemoveOptional,
    Reloads,
    RouteTypes,
    SwapStar,
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

    /// Whether the move is of `scope`.
    #[inline(always)]
    pub const fn is(self, scope: Scope) -> bool {
        self.scope() as u8 == scope as u8
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
            // trips, breaks or rush hours, and it would move one client of a pair without the
            // other.
            Move::SwapStar => !f.binding_windows && !f.multi_trip && !f.breaks && !f.time_dependent && !f.pairs,
            Move::Relocate | Move::Swap | Move::TwoClients | Move::TwoOptStar | Move::TwoOpt | Move::EmptyRoute => true,
        }
    }

    /// Tries the move at `site` (which must be of its scope): evaluates its candidates in a
    /// fixed order and applies the first that improves (for [`Scope::Routes`] moves, every
    /// improvement their pass finds). Returns whether it changed the solution.
    #[inline(always)]
    pub fn try_at<const D: usize, const T: usize>(self, state: &mut State<D, T>, nb: &Neighbours, site: Site) -> bool {
        // Always inlined: where the local search calls it, the site is known (and, in
        // `Active::try_neighbour`, the move too), so these matches fold away.
        match site {
            Site::Neighbour(at) => self.try_neighbour(state, at),
            Site::Client { u, last } => self.try_client(state, nb, u, last),
            Site::Routes => self.try_routes(state, nb),
        }
    }

    #[inline(always)]
    fn try_neighbour<const D: usize, const T: usize>(self, state: &mut State<D, T>, at: &Around) -> bool {
        match self {
            Move::Relocate => {
                if at.same_route() {
                    node::relocate_within(state, at)
                } else {
                    node::relocate_between(state, at)
                }
            }
            Move::Swap => {
                if at.same_route() {
                    node::swap_within(state, at)
                } else {
                    node::swap_between(state, at)
                }
            }
            Move::RelocateWithReload => !at.same_route() && node::relocate_with_reload(state, at),
            Move::TwoClients => !at.same_route() && node::two_clients(state, at),
            Move::TwoOptStar => !at.same_route() && node::two_opt_star(state, at),
            Move::TwoOpt => at.same_route() && node::two_opt(state, at),
            m => out_of_scope(m, Scope::Neighbour),
        }
    }

    fn try_client<const D: usize, const T: usize>(self, state: &mut State<D, T>, nb: &Neighbours, u: usize, last: u64) -> bool {
        match self {
            Move::InsertOptional => client::insert_optional(state, nb, u, last),
            Move::EmptyRoute => client::empty_route(state, u, last),
            Move::RelocatePair => client::relocate_pair(state, nb, u, last),
            Move::RemoveOptional => client::remove_optional(state, u),
            m => out_of_scope(m, Scope::Client),
        }
    }

    fn try_routes<const D: usize, const T: usize>(self, state: &mut State<D, T>, nb: &Neighbours) -> bool {
        match self {
            Move::Reloads => route::reloads(state),
            Move::RouteTypes => route::route_types(state, nb),
            Move::SwapStar => swap_star::run(state),
            m => out_of_scope(m, Scope::Routes),
        }
    }
}

/// A move tried at a site of another scope finds nothing there (a bug of the caller).
fn out_of_scope(m: Move, site: Scope) -> bool {
    debug_assert!(false, "{} ({:?}) tried at a {site:?} site", m.name(), m.scope());
    false
}

/// The moves of the registry that apply to a problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Active {
    /// Bit `m as u32` is set when move `m` applies.
    mask: u32,
}

impl Active {
    /// The moves that apply to a problem with `features`.
    pub fn new(features: &Features) -> Active {
        Active { mask: REGISTRY.iter().filter(|m| m.applies(features)).fold(0, |mask, &m| mask | 1 << m as u32) }
    }

    /// Whether move `m` applies.
    #[inline(always)]
    pub fn has(&self, m: Move) -> bool {
        self.mask & 1 << m as u32 != 0
    }

    /// The moves of `scope` that apply, in registry order.
    pub fn of(&self, scope: Scope) -> impl Iterator<Item = Move> + '_ {
        REGISTRY.into_iter().filter(move |&m| m.is(scope) && self.has(m))
    }
}

/// Evaluates a candidate and applies it if it improves; `changes` are (route, new parts) pairs.
/// The cost change is the segments' (their concatenation); with pairs, a candidate that would
/// break one is rejected; where routes need exact schedules, the few candidates that pass the
/// segments' bound are judged by them.
#[inline]
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
    delta < 0 && state.apply_judged(changes)
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
        let plain =
            Features { pairs: false, multi_trip: false, heterogeneous: false, optional: false, binding_windows: false, breaks: false, time_dependent: false };
        let names = |f: &Features| REGISTRY.iter().filter(|m| m.applies(f)).map(|m| m.name()).collect::<Vec<_>>();
        assert_eq!(names(&plain), ["relocate", "swap", "two-clients", "2-opt*", "2-opt", "empty-route", "swap*"]);
        let all = Features { pairs: true, multi_trip: true, heterogeneous: true, optional: true, binding_windows: true, breaks: true, time_dependent: true };
        assert_eq!(names(&all).len(), REGISTRY.len() - 1, "all but SWAP*");
        assert!(!Move::SwapStar.applies(&Features { binding_windows: true, ..plain }));
        assert!(Move::RouteTypes.applies(&Features { heterogeneous: true, ..plain }));
        let active = Active::new(&Features { multi_trip: true, ..plain });
        let of = |scope| active.of(scope).collect::<Vec<_>>();
        assert_eq!(of(Scope::Neighbour), [Move::Relocate, Move::Swap, Move::RelocateWithReload, Move::TwoClients, Move::TwoOptStar, Move::TwoOpt]);
        assert_eq!(of(Scope::Routes), [Move::Reloads]);
        assert!(of(Scope::Unrouted).is_empty());
    }
}
