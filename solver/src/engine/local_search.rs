//! Granular local search: for each client `u` in random order, the moves of the registry
//! ([`super::moves::REGISTRY`]) that apply to the problem are tried around `u` and each of its
//! neighbours `v`, then around `u` alone; the first candidate of a move that lowers the penalised
//! cost is applied. When a pass over the clients improves nothing, the route moves get their
//! turn, and the search goes on until no move improves.
//!
//! Moves are evaluated by joining cached route segments ([`super::state::Part`]), never by
//! walking whole routes, except for the reversed stretch of a 2-opt move. With
//! pickup-and-delivery pairs, a move that would split or reorder one is rejected, and pairs move
//! as units (see [`super::pairs`]).

use super::moves::{Active, Around, Scope, Site};
use super::neighbours::Neighbours;
use super::rng::Rng;
use super::state::{State, UNROUTED};

/// What stops a local search early (a deadline, a cancellation).
pub trait StopCheck {
    /// Whether the search must stop now.
    fn stop(&self) -> bool;
}

impl<F: Fn() -> bool> StopCheck for F {
    fn stop(&self) -> bool {
        self()
    }
}

/// Runs the local search to a local optimum (or until `stop`). Returns the number of moves
/// applied.
pub fn run<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng, stop: &dyn StopCheck) -> usize {
    let active = Active::new(&state.features);
    let n = state.problem.num_clients();
    let mut order: Vec<usize> = (0..n).collect();
    let mut moves = 0;
    let mut watch = Descent::new(state);
    loop {
        rng.shuffle(&mut order);
        let mut improved = false;
        for &u in &order {
            if stop.stop() {
                return moves;
            }
            let last = state.last_tested[u];
            state.last_tested[u] = state.step;
            if state.pos[u].0 == UNROUTED {
                for m in active.of(Scope::Unrouted) {
                    if m.try_at(state, nb, Site::Client { u, last }) {
                        moves += 1;
                        improved = true;
                        watch.step(state, m.name());
                    }
                }
                continue;
            }
            for &v in nb.of(u) {
                let v = v as usize;
                let (r1, r2) = (state.pos[u].0, state.pos[v].0);
                if r1 == UNROUTED || r2 == UNROUTED {
                    continue;
                }
                let (r1, r2) = (r1 as usize, r2 as usize);
                if state.routes[r1].modified_at.max(state.routes[r2].modified_at) <= last {
                    continue;
                }
                // The first move with an improving candidate wins; then the next neighbour.
                let at = Around::new(state, u, v);
                if active.try_neighbour(state, nb, &at) {
                    moves += 1;
                    improved = true;
                    watch.step(state, "a move between neighbours");
                }
                if state.pos[u].0 == UNROUTED {
                    break;
                }
            }
            for m in active.of(Scope::Client) {
                if m.try_at(state, nb, Site::Client { u, last }) {
                    moves += 1;
                    improved = true;
                    watch.step(state, m.name());
                }
            }
        }
        if !improved {
            // Node moves are exhausted: the first route move that changes something (reloads,
            // vehicle types, SWAP*) starts another pass.
            if let Some(m) = active.of(Scope::Routes).find(|m| m.try_at(state, nb, Site::Routes)) {
                moves += 1;
                watch.step(state, m.name());
                continue;
            }
            return moves;
        }
    }
}

/// In builds with debug assertions (the tests), checks that every move the local search applies
/// lowers what it descends on: first the required clients and groups left out, then the
/// penalised cost. That is what makes it end; a move judged on other visits than those applied
/// once broke it (see [`State::apply_judged`]).
struct Descent {
    last: Option<(usize, i64)>,
}

impl Descent {
    fn new<const D: usize, const T: usize>(state: &State<D, T>) -> Descent {
        Descent { last: cfg!(debug_assertions).then(|| Self::objective(state)) }
    }

    fn objective<const D: usize, const T: usize>(state: &State<D, T>) -> (usize, i64) {
        (state.missing_required(), state.penalised_cost())
    }

    #[inline]
    fn step<const D: usize, const T: usize>(&mut self, state: &State<D, T>, what: &str) {
        if let Some(last) = self.last {
            let now = Self::objective(state);
            assert!(now < last, "{what} did not lower the local search's objective: {last:?} -> {now:?}");
            self.last = Some(now);
        }
    }
}
