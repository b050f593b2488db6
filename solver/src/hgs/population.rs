//! The population of the genetic search (Vidal et al. 2012): a feasible and an infeasible
//! subpopulation, each ranked by biased fitness (cost rank plus diversity rank, the latter being
//! the mean broken-pairs distance to the closest members), trimmed by survivor selection that
//! removes clones first, and binary-tournament parent selection.

use super::individual::Individual;
use crate::engine::rng::Rng;
use crate::engine::segment::Penalties;

/// Sizes and weights of the population.
#[derive(Clone, Copy, Debug)]
pub struct PopulationParams {
    /// Members kept by survivor selection (mu).
    pub min_size: usize,
    /// Offspring added before survivor selection (lambda).
    pub generation: usize,
    /// Elite members whose rank is protected from the diversity term.
    pub elite: usize,
    /// Closest members averaged for the diversity contribution.
    pub close: usize,
}

impl Default for PopulationParams {
    fn default() -> Self {
        PopulationParams { min_size: 25, generation: 40, elite: 4, close: 5 }
    }
}

/// One subpopulation with its pairwise distances.
#[derive(Default)]
struct SubPopulation {
    members: Vec<Individual>,
    /// `distance[a][b]`: broken-pairs distance between members `a` and `b`.
    distance: Vec<Vec<f64>>,
    /// Biased fitness per member (lower is better), valid after `update_fitness`.
    fitness: Vec<f64>,
}

impl SubPopulation {
    fn add(&mut self, ind: Individual) {
        let row: Vec<f64> = self.members.iter().map(|m| ind.broken_pairs(m)).collect();
        for (d, &x) in self.distance.iter_mut().zip(&row) {
            d.push(x);
        }
        let mut row = row;
        row.push(0.0);
        self.distance.push(row);
        self.members.push(ind);
        self.fitness.push(0.0);
    }

    fn remove(&mut self, k: usize) {
        self.members.swap_remove(k);
        self.distance.swap_remove(k);
        for d in self.distance.iter_mut() {
            d.swap_remove(k);
        }
        self.fitness.swap_remove(k);
    }

    /// Mean distance to the `close` nearest other members.
    fn diversity(&self, k: usize, close: usize) -> f64 {
        let mut d: Vec<f64> = self.distance[k].iter().enumerate().filter(|(j, _)| *j != k).map(|(_, &x)| x).collect();
        let take = close.min(d.len());
        if take == 0 {
            return 0.0;
        }
        d.select_nth_unstable_by(take - 1, |a, b| a.total_cmp(b));
        d[..take].iter().sum::<f64>() / take as f64
    }

    fn update_fitness(&mut self, p: &Penalties, params: &PopulationParams) {
        let m = self.members.len();
        if m <= 1 {
            self.fitness.iter_mut().for_each(|f| *f = 0.0);
            return;
        }
        let mut by_cost: Vec<usize> = (0..m).collect();
        by_cost.sort_by_key(|&k| (self.members[k].penalised(p), k));
        let div: Vec<f64> = (0..m).map(|k| self.diversity(k, params.close)).collect();
        let mut by_div: Vec<usize> = (0..m).collect();
        by_div.sort_by(|&a, &b| div[b].total_cmp(&div[a]).then(a.cmp(&b)));
        let mut div_rank = vec![0usize; m];
        for (rank, &k) in by_div.iter().enumerate() {
            div_rank[k] = rank;
        }
        let weight = 1.0 - (params.elite as f64 / m as f64).min(1.0);
        for (rank, &k) in by_cost.iter().enumerate() {
            self.fitness[k] = (rank as f64 + weight * div_rank[k] as f64) / (m - 1) as f64;
        }
    }

    fn survivors(&mut self, p: &Penalties, params: &PopulationParams) {
        while self.members.len() > params.min_size {
            // Clones (distance zero to another member) go first, then the worst fitness.
            let clone = (0..self.members.len()).find(|&k| self.distance[k].iter().enumerate().any(|(j, &d)| j != k && d == 0.0));
            let victim = match clone {
                Some(k) => k,
                None => {
                    self.update_fitness(p, params);
                    (0..self.members.len()).max_by(|&a, &b| self.fitness[a].total_cmp(&self.fitness[b])).unwrap_or(0)
                }
            };
            self.remove(victim);
        }
    }
}

/// Feasible and infeasible subpopulations.
pub struct Population {
    feasible: SubPopulation,
    infeasible: SubPopulation,
    params: PopulationParams,
}

impl Population {
    /// An empty population.
    pub fn new(params: PopulationParams) -> Population {
        Population { feasible: SubPopulation::default(), infeasible: SubPopulation::default(), params }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.feasible.members.len() + self.infeasible.members.len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a member to its subpopulation, trimming it when it has grown a generation.
    pub fn add(&mut self, ind: Individual, p: &Penalties) {
        let params = self.params;
        let sub = if ind.is_feasible() { &mut self.feasible } else { &mut self.infeasible };
        sub.add(ind);
        if sub.members.len() > params.min_size + params.generation {
            sub.survivors(p, &params);
        }
    }

    /// Empties the population (a restart).
    pub fn clear(&mut self) {
        self.feasible = SubPopulation::default();
        self.infeasible = SubPopulation::default();
    }

    /// Two parents chosen by binary tournaments on biased fitness, distinct when possible.
    pub fn parents(&mut self, p: &Penalties, rng: &mut Rng) -> (&Individual, &Individual) {
        let params = self.params;
        self.feasible.update_fitness(p, &params);
        self.infeasible.update_fitness(p, &params);
        let nf = self.feasible.members.len();
        let total = self.len();
        let fitness = |k: usize| if k < nf { self.feasible.fitness[k] } else { self.infeasible.fitness[k - nf] };
        let pick = |rng: &mut Rng| {
            let (a, b) = (rng.below(total), rng.below(total));
            if fitness(a) <= fitness(b) {
                a
            } else {
                b
            }
        };
        let first = pick(rng);
        let mut second = pick(rng);
        for _ in 0..10 {
            if second != first || total < 2 {
                break;
            }
            second = pick(rng);
        }
        let get = |k: usize| if k < nf { &self.feasible.members[k] } else { &self.infeasible.members[k - nf] };
        (get(first), get(second))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hgs::individual::DEPOT;

    fn ind(order: &[u32], cost: i64, warp: i64) -> Individual {
        let n = order.len();
        let mut succ = vec![DEPOT; n];
        let mut pred = vec![DEPOT; n];
        for w in order.windows(2) {
            succ[w[0] as usize] = w[1];
            pred[w[1] as usize] = w[0];
        }
        Individual { routes: vec![(0, order.to_vec())], cost, load_excess: 0, time_warp: warp, distance_excess: 0, succ, pred }
    }

    #[test]
    fn measures_broken_pairs() {
        let a = ind(&[0, 1, 2, 3], 10, 0);
        let b = ind(&[3, 2, 1, 0], 10, 0);
        assert_eq!(a.broken_pairs(&b), 0.0, "a reversed route breaks no pair");
        let c = ind(&[0, 2, 1, 3], 10, 0);
        assert!(a.broken_pairs(&c) > 0.0);
    }

    #[test]
    fn survivor_selection_removes_clones_first_and_keeps_the_best() {
        let params = PopulationParams { min_size: 3, generation: 2, elite: 1, close: 2 };
        let p = Penalties { load: 1, time_warp: 1, distance: 1 };
        let mut pop = Population::new(params);
        pop.add(ind(&[0, 1, 2, 3], 5, 0), &p);
        for _ in 0..4 {
            pop.add(ind(&[0, 1, 3, 2], 50, 0), &p);
        }
        pop.add(ind(&[3, 0, 1, 2], 40, 0), &p);
        assert_eq!(pop.len(), 3);
        assert!(pop.feasible.members.iter().any(|m| m.cost == 5), "the best survives");
        let clones = pop.feasible.members.iter().filter(|m| m.cost == 50).count();
        assert_eq!(clones, 1, "clones were removed first");
    }
}
