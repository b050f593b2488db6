//! Split (Prins 2004; Vidal 2016): the cheapest cut of a giant tour into routes, each route's
//! cost its distance plus the penalty of its load over the capacity. Routes stop growing at 1.5
//! times the capacity (a single client always makes a route). When that uses more routes than
//! the search keeps, the cut is recomputed with that many routes at most.

use super::data::Data;
use super::individual::Individual;

/// Cuts `ind.giant` into `ind.routes` and evaluates it.
pub(crate) fn split(data: &Data, penalty: f64, ind: &mut Individual) {
    let n = data.n;
    let giant = &ind.giant;
    let pen = |load: i64| penalty * (load - data.capacity).max(0) as f64;
    let limit = data.capacity + data.capacity / 2;
    // pot[j]: cheapest cut of the first j clients; from[j]: where its last route starts.
    let mut pot = vec![f64::INFINITY; n + 1];
    let mut from = vec![0usize; n + 1];
    pot[0] = 0.0;
    for i in 0..n {
        let mut load = 0;
        let mut dist = 0;
        for j in i..n {
            let c = giant[j] as usize;
            load += data.demand[c];
            dist += if j == i { data.d(0, c) } else { data.d(giant[j - 1] as usize, c) };
            if j > i && load > limit {
                break;
            }
            let cost = pot[i] + (dist + data.d(c, 0)) as f64 + pen(load);
            if cost < pot[j + 1] {
                pot[j + 1] = cost;
                from[j + 1] = i;
            }
        }
    }
    let mut cuts = Vec::new();
    let mut j = n;
    while j > 0 {
        cuts.push((from[j], j));
        j = from[j];
    }
    if cuts.len() > data.fleet {
        cuts = split_limited(data, penalty, giant);
    }
    cuts.reverse();
    for (k, slot) in ind.routes.iter_mut().enumerate() {
        slot.clear();
        if let Some(&(i, j)) = cuts.get(k) {
            slot.extend_from_slice(&giant[i..j]);
        }
    }
    ind.evaluate(data, penalty);
}

/// The cheapest cut into at most `fleet` routes (no load limit, so one always exists), as
/// (start, end) pairs from the last route to the first.
fn split_limited(data: &Data, penalty: f64, giant: &[u32]) -> Vec<(usize, usize)> {
    let n = data.n;
    let m = data.fleet.min(n);
    let pen = |load: i64| penalty * (load - data.capacity).max(0) as f64;
    // pot[k][j]: cheapest cut of the first j clients into k routes.
    let mut pot = vec![vec![f64::INFINITY; n + 1]; m + 1];
    let mut from = vec![vec![0usize; n + 1]; m + 1];
    pot[0][0] = 0.0;
    for k in 0..m {
        for i in k..n {
            if !pot[k][i].is_finite() {
                continue;
            }
            let (mut load, mut dist) = (0, 0);
            for j in i..n {
                let c = giant[j] as usize;
                load += data.demand[c];
                dist += if j == i { data.d(0, c) } else { data.d(giant[j - 1] as usize, c) };
                let cost = pot[k][i] + (dist + data.d(c, 0)) as f64 + pen(load);
                if cost < pot[k + 1][j + 1] {
                    pot[k + 1][j + 1] = cost;
                    from[k + 1][j + 1] = i;
                }
            }
        }
    }
    let best = (1..=m).min_by(|&a, &b| pot[a][n].total_cmp(&pot[b][n])).unwrap_or(m);
    let mut cuts = Vec::new();
    let (mut k, mut j) = (best, n);
    while k > 0 && j > 0 {
        let i = from[k][j];
        cuts.push((i, j));
        j = i;
        k -= 1;
    }
    cuts
}
