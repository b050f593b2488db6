//! Granular local search: for each client `u` in random order, the moves of the registry
//! ([`super::moves::REGISTRY`]) that apply to the problem are tried around `u` and each of its
//! neighbours `v`, then around `u` alone; the first candidate of a move that lowers the penalised
//! cost is applied. When a pass over the clients improves nothing, the route moves get their
//! turn, and the search goes on until no move improves.
//!
//! A client is only looked at again when its route or a neighbour's route changed since it was
//! last tested ([`Changed`]): after a ruin and recreate, a few routes of hundreds changed, and
//! looking at every client's every neighbour to find that out took a quarter of the search's
//! time on 1,000-client instances.
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
    // A pair's moves look beyond the pickup's neighbours: with pairs, every client is looked at.
    let track = !state.features.pairs;
    descend(state, nb, rng, stop, track)
}

/// [`run`], looking only at the clients around which something changed when `track`.
fn descend<const D: usize, const T: usize>(state: &mut State<D, T>, nb: &Neighbours, rng: &mut Rng, stop: &dyn StopCheck, track: bool) -> usize {
    let active = Active::new(&state.features);
    let n = state.problem.num_clients();
    let mut order: Vec<usize> = (0..n).collect();
    let mut moves = 0;
    let mut watch = Descent::new(state);
    let mut changed = track.then(|| Changed::new(state, nb));
    loop {
        rng.shuffle(&mut order);
        let mut improved = false;
        for &u in &order {
            // Which of `u`'s neighbours are in a route changed since `u` was last tested (bit
            // `i` for the `i`-th; all when not tracked).
            let mut near = u128::MAX;
            if let Some(changed) = &mut changed {
                changed.catch_up(state, nb);
                near = changed.take(u);
                let routed = state.pos[u].0 != UNROUTED;
                if routed && near == 0 && state.routes[state.pos[u].0 as usize].modified_at <= state.last_tested[u] {
                    // Nothing around `u` changed: every move around it was tried on these
                    // routes already, and none improved.
                    state.last_tested[u] = state.step;
                    continue;
                }
            }
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
            let list = nb.of(u);
            let mut i = 0;
            while i < list.len() {
                if i < Changed::BITS && state.pos[u].0 != UNROUTED && state.routes[state.pos[u].0 as usize].modified_at <= last {
                    // `u`'s route is as it was: only the neighbours in changed routes count.
                    match near.checked_shr(i as u32).unwrap_or(0) {
                        0 => {
                            i = Changed::BITS;
                            continue;
                        }
                        rest => i += rest.trailing_zeros() as usize,
                    }
                }
                let v = list[i] as usize;
                i += 1;
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

/// For each client, which of its neighbours are in a route that changed since it was last
/// tested (with a route of its own that did not change, only those have a move to try). Kept up
/// to date from the routes' change steps as the search goes, through the reverse neighbour
/// lists.
struct Changed {
    /// Bit `i` of `near[u]`: the route of `u`'s `i`-th neighbour changed (the last bit stands
    /// for every neighbour from the 128th on, which the search checks one by one).
    near: Vec<u128>,
    /// Changes up to this step are recorded.
    seen: u64,
}

impl Changed {
    /// Neighbours tracked one by one.
    const BITS: usize = 128;

    fn new<const D: usize, const T: usize>(state: &State<D, T>, nb: &Neighbours) -> Changed {
        let n = state.problem.num_clients();
        // Every change after the earliest last test may concern some client.
        let since = state.last_tested.iter().copied().min().unwrap_or(0);
        let mut changed = Changed { near: vec![0; n], seen: since };
        changed.catch_up(state, nb);
        changed
    }

    /// Records the clients of every route changed since the last call in the entries of the
    /// clients that list them as a neighbour (a client's own route the search checks itself).
    #[inline]
    fn catch_up<const D: usize, const T: usize>(&mut self, state: &State<D, T>, nb: &Neighbours) {
        if state.step <= self.seen {
            return;
        }
        let n = self.near.len();
        for route in state.routes.iter().filter(|r| r.modified_at > self.seen) {
            for &w in route.visits.iter().filter(|&&w| (w as usize) < n) {
                for &(u, i) in nb.listed_by(w as usize) {
                    self.near[u as usize] |= 1 << i.min(Self::BITS as u32 - 1);
                }
            }
        }
        self.seen = state.step;
    }

    /// Which of `u`'s neighbours' routes changed, and forgets it.
    #[inline]
    fn take(&mut self, u: usize) -> u128 {
        std::mem::replace(&mut self.near[u], 0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::construct;
    use crate::engine::segment::initial_penalties;
    use crate::model::{Problem, Skills, TimeWindow};
    use crate::test_support::tiny_problem_data;

    /// 150 random clients with time windows, and two vehicle types of which one may serve only
    /// some clients (site dependency), so that most moves are refused somewhere.
    fn random_problem(seed: u64) -> Problem {
        use crate::io::rounding::{euclidean_matrix, Rounding};
        use crate::model::Location;
        let mut rng = Rng::new(seed);
        let mut d = tiny_problem_data();
        let template = d.clients[0].clone();
        d.locations.truncate(1);
        d.clients.clear();
        for i in 0..150 {
            d.locations.push(Location { x: rng.unit() * 100.0, y: rng.unit() * 100.0 });
            let open = rng.below(600) as i64;
            let mut c = template.clone();
            c.name = format!("c{i}");
            c.location = i + 1;
            c.delivery = vec![1 + rng.below(9) as i64];
            c.time_windows = vec![TimeWindow::new(open, open + 100 + rng.below(300) as i64)];
            c.skills = if rng.below(4) == 0 { Skills(0b1) } else { Skills::NONE };
            d.clients.push(c);
        }
        let m = euclidean_matrix(&d.locations, Rounding::Round).unwrap();
        (d.profiles[0].distance, d.profiles[0].duration) = (m.clone(), m);
        d.skill_names = vec!["lane".into()];
        d.vehicle_types[0].count = 12;
        d.vehicle_types[0].capacity = vec![60];
        let mut lanes = d.vehicle_types[0].clone();
        lanes.skills = Skills(0b1);
        d.vehicle_types.push(lanes);
        Problem::new(d).unwrap()
    }

    /// Looking only where something changed finds exactly what looking everywhere finds: the
    /// same moves in the same order, through a first solution and many ruins and recreations.
    #[test]
    fn looking_only_where_routes_changed_changes_no_result() {
        for seed in 1..4 {
            let p = random_problem(seed);
            let nb = Neighbours::new(&p, 20);
            let mut rng = Rng::new(seed);
            let mut tracked = State::<1, 1>::empty(&p, initial_penalties(&p));
            construct::initial(&mut tracked, &nb, &mut rng);
            let mut everywhere = tracked.clone();
            let never = || false;
            for round in 0..40 {
                let (mut a, mut b) = (Rng::new(seed * 100 + round), Rng::new(seed * 100 + round));
                let moves = descend(&mut tracked, &nb, &mut a, &never, true);
                assert_eq!(moves, descend(&mut everywhere, &nb, &mut b, &never, false), "seed {seed}, round {round}");
                assert_eq!(tracked.snapshot(), everywhere.snapshot(), "seed {seed}, round {round}");
                // Ruin: a random client and its neighbours out, then back in by cheapest insertion.
                let centre = rng.below(p.num_clients());
                let out: Vec<usize> = std::iter::once(centre).chain(nb.of(centre).iter().take(rng.below(12)).map(|&v| v as usize)).collect();
                for state in [&mut tracked, &mut everywhere] {
                    for &c in &out {
                        let (r, _) = state.pos[c];
                        let kept: Vec<u32> = state.routes[r as usize].visits.iter().copied().filter(|&v| v as usize != c).collect();
                        state.set_route(r as usize, kept);
                    }
                    construct::insert_all(state, &nb, &out, false);
                }
            }
        }
    }
}
