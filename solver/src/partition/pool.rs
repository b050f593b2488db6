//! A bounded pool of distinct feasible routes met during the search, the columns of the
//! set-partitioning step ([`super`]).
//!
//! A route is kept per vehicle type and *set* of clients: when the search finds the same clients
//! served by the same type in another order, only the cheaper order stays (set partitioning
//! chooses sets, so a dearer order of the same set is a dominated column). Every route carries
//! the stamp of the last time it was seen; when the pool outgrows its capacity, the routes seen
//! longest ago go. Insertion order and stamps are the only state, so the pool's content is a
//! function of the sequence of routes offered to it, never of hashing or scheduling.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// One route of the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolRoute {
    /// Vehicle type.
    pub vt: usize,
    /// Clients in visiting order (the cheapest order seen for this set).
    pub visits: Vec<u32>,
    /// Cost as the search evaluates it (fixed, distance and duration costs; no prizes).
    pub cost: i64,
    /// Stamp of the last offer of this route (or of its set in another order).
    last_seen: u64,
}

/// Distinct feasible routes, at most `capacity` after each [`RoutePool::trim`].
#[derive(Clone, Debug)]
pub struct RoutePool {
    routes: Vec<PoolRoute>,
    /// `(vehicle type, sorted clients)` to index in `routes`.
    index: HashMap<(usize, Vec<u32>), usize>,
    capacity: usize,
    clock: u64,
}

impl RoutePool {
    /// An empty pool that keeps about `capacity` routes.
    pub fn new(capacity: usize) -> Self {
        RoutePool { routes: Vec::new(), index: HashMap::new(), capacity: capacity.max(1), clock: 0 }
    }

    /// Number of routes held.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the pool holds no route.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The routes, in a deterministic order (first insertion, compacted by trims).
    pub fn routes(&self) -> &[PoolRoute] {
        &self.routes
    }

    /// Offers a feasible route of type `vt` costing `cost`; empty routes are ignored. Returns
    /// the route's index in [`RoutePool::routes`] (valid until the next trim).
    pub fn offer(&mut self, vt: usize, visits: &[u32], cost: i64) -> Option<usize> {
        if visits.is_empty() {
            return None;
        }
        self.clock += 1;
        let mut key = visits.to_vec();
        key.sort_unstable();
        match self.index.entry((vt, key)) {
            Entry::Occupied(e) => {
                let i = *e.get();
                let r = &mut self.routes[i];
                r.last_seen = self.clock;
                if cost < r.cost {
                    r.cost = cost;
                    r.visits = visits.to_vec();
                }
                Some(i)
            }
            Entry::Vacant(e) => {
                e.insert(self.routes.len());
                self.routes.push(PoolRoute { vt, visits: visits.to_vec(), cost, last_seen: self.clock });
                Some(self.routes.len() - 1)
            }
        }
    }

    /// Drops the routes seen longest ago until at most the capacity remains; does nothing while
    /// the pool is within a quarter above its capacity (so trims are rare).
    pub fn trim(&mut self) {
        if self.routes.len() <= self.capacity + self.capacity / 4 {
            return;
        }
        self.trim_to(self.capacity);
    }

    /// Keeps the `keep` routes seen most recently, in their current order.
    pub fn trim_to(&mut self, keep: usize) {
        if self.routes.len() <= keep {
            return;
        }
        let mut stamps: Vec<u64> = self.routes.iter().map(|r| r.last_seen).collect();
        stamps.sort_unstable_by(|a, b| b.cmp(a));
        // Stamps are distinct (one clock tick per offer), so this keeps exactly `keep` routes.
        let cutoff = stamps[keep - 1];
        self.routes.retain(|r| r.last_seen >= cutoff);
        self.index.clear();
        for (i, r) in self.routes.iter().enumerate() {
            let mut key = r.visits.clone();
            key.sort_unstable();
            self.index.insert((r.vt, key), i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_route_per_type_and_set_keeping_the_cheapest_order() {
        let mut pool = RoutePool::new(10);
        assert_eq!(pool.offer(0, &[1, 2, 3], 30), Some(0));
        assert_eq!(pool.offer(0, &[3, 2, 1], 25), Some(0));
        assert_eq!(pool.offer(0, &[2, 1, 3], 40), Some(0));
        assert_eq!(pool.offer(1, &[1, 2, 3], 50), Some(1));
        assert_eq!(pool.offer(0, &[], 0), None);
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.routes()[0].visits, vec![3, 2, 1]);
        assert_eq!(pool.routes()[0].cost, 25);
    }

    #[test]
    fn trimming_keeps_the_routes_seen_last() {
        let mut pool = RoutePool::new(2);
        pool.offer(0, &[1], 1);
        pool.offer(0, &[2], 1);
        pool.offer(0, &[3], 1);
        pool.offer(0, &[1], 1);
        pool.trim_to(2);
        let kept: Vec<_> = pool.routes().iter().map(|r| r.visits.clone()).collect();
        assert_eq!(kept, vec![vec![1], vec![3]]);
        // The index follows the compaction.
        assert_eq!(pool.offer(0, &[3], 1), Some(1));
        assert_eq!(pool.offer(0, &[2], 1), Some(2));
    }
}
