//! Granular neighbourhoods (Toth & Vigo 2003; Vidal et al. 2013): each client's k most
//! promising neighbours by a proximity mixing distance with time-window compatibility. Moves are
//! only tried between a client and its neighbours.

use crate::model::Problem;
use rayon::prelude::*;

/// `list[c]` holds the `k` clients closest to client `c` by proximity, best first.
#[derive(Clone, Debug)]
pub struct Neighbours {
    list: Vec<Vec<u32>>,
}

impl Neighbours {
    /// Computes the `k` nearest neighbours of every client, using the first vehicle type's
    /// matrices, in parallel on the current rayon pool (quadratic work: a few seconds for tens of
    /// thousands of clients). The proximity of `j` after `i` adds to the distance the waiting time
    /// (weight 0.2) and the time warp (weight 1) that visiting `j` right after `i` implies.
    pub fn new(problem: &Problem, k: usize) -> Neighbours {
        let n = problem.num_clients();
        let k = k.min(n.saturating_sub(1));
        let t = 0;
        let list = (0..n)
            .into_par_iter()
            .map(|i| {
                let ci = &problem.clients[i];
                let mut cand: Vec<(i64, u32)> = (0..n)
                    .filter(|&j| j != i)
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
                if cand.len() > k {
                    cand.select_nth_unstable(k);
                    cand.truncate(k);
                }
                cand.sort_unstable();
                cand.into_iter().map(|(_, j)| j).collect()
            })
            .collect();
        Neighbours { list }
    }

    /// Neighbours of client `c`, best first.
    #[inline]
    pub fn of(&self, c: usize) -> &[u32] {
        &self.list[c]
    }
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
}
