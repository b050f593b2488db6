//! Granular neighbourhoods (Toth & Vigo 2003; Vidal et al. 2013): each client's k most
//! promising neighbours by a proximity mixing distance with time-window compatibility. Moves are
//! only tried between a client and its neighbours.

use crate::model::Problem;
use rayon::prelude::*;

/// `list[c]` holds the `k` clients closest to client `c` by proximity, best first.
#[derive(Clone, Debug)]
pub struct Neighbours {
    list: Vec<Vec<u32>>,
    /// The reverse lists, flattened: the clients whose lists hold `c`, each with `c`'s place
    /// in its list, are `listed_by[listed_by_start[c]..listed_by_start[c + 1]]`.
    listed_by: Vec<(u32, u32)>,
    listed_by_start: Vec<u32>,
}

impl Neighbours {
    /// Computes the `k` nearest neighbours of every client, using the first vehicle type's
    /// matrices, in parallel on the current rayon pool (quadratic work: a few seconds for tens of
    /// thousands of clients). The proximity of `j` after `i` adds to the distance the waiting time
    /// (weight 0.2) and the time warp (weight 1) that visiting `j` right after `i` implies.
    ///
    /// When the distances are Euclidean ones computed from coordinates (the instances of many
    /// thousands of locations) and no client has a time window, the proximity is the distance
    /// alone and the lists come from a grid ([`super::grid`]) in about `O(n k)`, equal to the
    /// quadratic ones.
    ///
    /// With mutually exclusive groups, most clients are not routed at any time (all but one of
    /// each group), and moves skip unrouted neighbours: the lists grow by the mean group size so
    /// that more of each client's neighbours are routed (at most twice as many).
    ///
    /// With skills (site dependency: allowed vehicles per client), two clients that no vehicle
    /// type of the fleet may serve together can never share a route, so a move that puts one
    /// next to the other is always refused: such pairs are left out of the lists, and the
    /// lists fill with clients that can (granular neighbourhoods keep only arcs that may appear
    /// in a feasible solution, as Toth and Vigo's do).
    pub fn new(problem: &Problem, k: usize) -> Neighbours {
        let k = if problem.has_groups() {
            let members: usize = problem.groups.iter().map(|g| g.clients.len()).sum();
            let outside = problem.num_clients() - members;
            let served = problem.groups.len() + outside;
            // At most twice as long: longer lists make each insertion dearer than they help.
            (k * problem.num_clients()).div_ceil(served.max(1)).min(2 * k)
        } else {
            k
        };
        let together = Together::of(problem);
        let by_grid = if together.is_some() { None } else { Neighbours::by_grid(problem, k) };
        by_grid.unwrap_or_else(|| Neighbours::quadratic(problem, k, together.as_ref()))
    }

    /// The lists by a grid, when the distances come from coordinates and no window binds.
    fn by_grid(problem: &Problem, k: usize) -> Option<Neighbours> {
        let profile = &problem.profiles[problem.vehicle_types.first()?.profile];
        let (xy, scaled) = profile.distance.euclidean_points()?;
        let unwindowed = problem.clients.iter().all(|c| c.time_windows.len() == 1 && c.early() == 0 && c.late() >= crate::model::UNLIMITED);
        if !unwindowed {
            return None;
        }
        let n = problem.num_clients();
        let k = k.min(n.saturating_sub(1));
        let points: Vec<[f64; 2]> = problem.clients.iter().map(|c| xy[c.location]).collect();
        let grid = super::grid::Grid::new(&points);
        // Rounded distances tie within one step: rank every point up to a step past the k-th.
        let margin = 1.0 / scaled.scale;
        let list = (0..n)
            .into_par_iter()
            .map_init(Vec::new, |near, i| {
                grid.near(i, k, margin, near);
                let li = problem.clients[i].location;
                best(near.iter().map(|&(_, j)| (problem.distance(0, li, problem.clients[j as usize].location), j)).collect(), k)
            })
            .collect();
        Some(Neighbours::from_lists(list))
    }

    /// The lists by comparing every pair (only pairs that `together` allows on one route).
    fn quadratic(problem: &Problem, k: usize, together: Option<&Together>) -> Neighbours {
        let n = problem.num_clients();
        let k = k.min(n.saturating_sub(1));
        let t = 0;
        let list = (0..n)
            .into_par_iter()
            .map(|i| {
                let ci = &problem.clients[i];
                let cand: Vec<(i64, u32)> = (0..n)
                    .filter(|&j| j != i && together.is_none_or(|g| g.allows(problem, i, j)))
                    .map(|j| {
                        let cj = &problem.clients[j];
                        let prox = |a: &crate::model::Client, b: &crate::model::Client| {
                            let d = problem.distance(t, a.location, b.location);
                            let travel = problem.duration(t, a.location, b.location);
                            let wait = (b.early() - a.service_duration - travel - a.late()).max(0);
                            let warp = (a.early() + a.service_duration + travel - b.late()).max(0);
                            d + wait / 5 + warp
                        };
                        (prox(ci, cj).min(prox(cj, ci)), j as u32)
                    })
                    .collect();
                best(cand, k)
            })
            .collect();
        Neighbours::from_lists(list)
    }

    /// The lists as given, with their reverse lists.
    fn from_lists(list: Vec<Vec<u32>>) -> Neighbours {
        let mut listed_by_start = vec![0u32; list.len() + 1];
        for &v in list.iter().flatten() {
            listed_by_start[v as usize + 1] += 1;
        }
        for c in 0..list.len() {
            listed_by_start[c + 1] += listed_by_start[c];
        }
        let mut next = listed_by_start.clone();
        let mut listed_by = vec![(0, 0); list.iter().map(Vec::len).sum()];
        for (u, l) in list.iter().enumerate() {
            for (i, &v) in l.iter().enumerate() {
                listed_by[next[v as usize] as usize] = (u as u32, i as u32);
                next[v as usize] += 1;
            }
        }
        Neighbours { list, listed_by, listed_by_start }
    }

    /// Neighbours of client `c`, best first.
    #[inline]
    pub fn of(&self, c: usize) -> &[u32] {
        &self.list[c]
    }

    /// The clients that have `c` among their neighbours, in increasing order, each with the
    /// place of `c` in its list.
    #[inline]
    pub fn listed_by(&self, c: usize) -> &[(u32, u32)] {
        &self.listed_by[self.listed_by_start[c] as usize..self.listed_by_start[c + 1] as usize]
    }
}

/// Which clients some vehicle type of the fleet may serve on one route, by their skills.
struct Together {
    /// The distinct skill sets of the vehicle types with vehicles.
    fleet: Vec<crate::model::Skills>,
}

impl Together {
    /// `None` when every pair of clients may share a route as far as skills go.
    fn of(problem: &Problem) -> Option<Together> {
        let mut fleet: Vec<crate::model::Skills> = problem.vehicle_types.iter().filter(|vt| vt.count > 0).map(|vt| vt.skills).collect();
        fleet.sort_unstable_by_key(|s| s.0);
        fleet.dedup();
        let together = Together { fleet };
        let mut needs: Vec<crate::model::Skills> = problem.clients.iter().map(|c| c.skills).collect();
        needs.sort_unstable_by_key(|s| s.0);
        needs.dedup();
        // Many distinct skill sets: assume they restrict (the quadratic lists are due anyway).
        let restricts = needs.len() > 1024 || needs.iter().enumerate().any(|(a, &x)| needs[a..].iter().any(|&y| !together.covers(x, y)));
        restricts.then_some(together)
    }

    fn covers(&self, a: crate::model::Skills, b: crate::model::Skills) -> bool {
        let both = crate::model::Skills(a.0 | b.0);
        self.fleet.iter().any(|f| f.covers(both))
    }

    fn allows(&self, problem: &Problem, i: usize, j: usize) -> bool {
        self.covers(problem.clients[i].skills, problem.clients[j].skills)
    }
}

/// The `k` candidates of least proximity, best first (ties by client index).
fn best(mut cand: Vec<(i64, u32)>, k: usize) -> Vec<u32> {
    if cand.len() > k {
        cand.select_nth_unstable(k);
        cand.truncate(k);
    }
    cand.sort_unstable();
    cand.into_iter().map(|(_, j)| j).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::tiny_problem_data;

    #[test]
    fn lists_nearest_clients_first() {
        let p = Problem::new(tiny_problem_data()).unwrap();
        let nb = Neighbours::new(&p, 5);
        // Client 0 at (3,4): client 1 at (6,8) is 5 away, client 2 at (-3,-4) is 10 away.
        assert_eq!(nb.of(0), &[1, 2]);
        assert_eq!(nb.of(2), &[0, 1]);
    }

    #[test]
    fn clients_no_vehicle_may_serve_together_are_not_neighbours() {
        use crate::model::Skills;
        let mut d = tiny_problem_data();
        d.skill_names = vec!["a".into(), "b".into()];
        let mut other = d.vehicle_types[0].clone();
        d.vehicle_types[0].skills = Skills(0b01);
        other.skills = Skills(0b10);
        d.vehicle_types.push(other);
        // Client 0 needs the first type, client 1 the second, client 2 either.
        d.clients[0].skills = Skills(0b01);
        d.clients[1].skills = Skills(0b10);
        let p = Problem::new(d.clone()).unwrap();
        let nb = Neighbours::new(&p, 5);
        assert_eq!((nb.of(0), nb.of(1), nb.of(2)), (&[2][..], &[2][..], &[0, 1][..]));
        // The reverse lists: 2 is first in the lists of 0 and 1, 0 and 1 are in 2's alone.
        assert_eq!((nb.listed_by(0), nb.listed_by(1), nb.listed_by(2)), (&[(2, 0)][..], &[(2, 1)][..], &[(0, 0), (1, 0)][..]));
        // A type with both skills serves both: the lists are the plain ones again.
        d.vehicle_types[1].skills = Skills(0b11);
        let nb = Neighbours::new(&Problem::new(d).unwrap(), 5);
        assert_eq!(nb.of(0), &[1, 2]);
    }

    #[test]
    fn the_grid_lists_equal_the_quadratic_ones_on_computed_distances() {
        use crate::model::{Matrix, Scaled};
        let mut d = tiny_problem_data();
        let mut rng = crate::engine::rng::Rng::new(9);
        // 300 clients, many on a coarse lattice so that rounded distances tie.
        let xy: Vec<[f64; 2]> =
            (0..301).map(|i| if i % 2 == 0 { [(i % 17) as f64 * 3.0, (i % 13) as f64 * 3.0] } else { [rng.unit() * 60.0, rng.unit() * 40.0] }).collect();
        let mut seen = std::collections::HashSet::new();
        let xy: Vec<[f64; 2]> = xy.into_iter().filter(|p| seen.insert((p[0].to_bits(), p[1].to_bits()))).collect();
        for scaled in [Scaled { scale: 1.0, truncate: false }, Scaled { scale: 10.0, truncate: true }] {
            let m = Matrix::euclidean(xy.clone(), scaled).unwrap();
            d.profiles[0].distance = m.clone();
            d.profiles[0].duration = m;
            d.locations = xy.iter().map(|p| crate::model::Location { x: p[0], y: p[1] }).collect();
            let template = d.clients[0].clone();
            d.clients = (1..xy.len())
                .map(|loc| crate::model::Client { location: loc, time_windows: vec![crate::model::TimeWindow::ALWAYS], ..template.clone() })
                .collect();
            d.vehicle_types[0].count = 200;
            d.vehicle_types[0].shift = crate::model::TimeWindow::ALWAYS;
            d.depots[0].time_window = crate::model::TimeWindow::ALWAYS;
            let p = Problem::new(d.clone()).unwrap();
            let grid = Neighbours::by_grid(&p, 12).expect("computed distances, no windows");
            let quadratic = Neighbours::quadratic(&p, 12, None);
            for c in 0..p.num_clients() {
                assert_eq!(grid.of(c), quadratic.of(c), "client {c} at {scaled:?}");
            }
        }
        // A time window sends the lists back to the quadratic way.
        d.clients[0].time_windows = vec![crate::model::TimeWindow::new(0, 10)];
        assert!(Problem::new(d).map(|p| Neighbours::by_grid(&p, 12).is_none()).unwrap_or(true));
    }
}
