//! Nearest points on the plane through a uniform grid of buckets: the k nearest points of every
//! point in about `O(n k)` instead of the `O(n²)` of comparing every pair, which is what makes
//! neighbour lists of tens of thousands of clients cheap.

/// Points bucketed by a square grid of about two points per cell.
pub struct Grid<'a> {
    xy: &'a [[f64; 2]],
    min: [f64; 2],
    cell: f64,
    cols: usize,
    rows: usize,
    /// `items[start[c]..start[c + 1]]` are the points of cell `c`.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl<'a> Grid<'a> {
    /// Buckets `xy` (finite coordinates).
    pub fn new(xy: &'a [[f64; 2]]) -> Grid<'a> {
        let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in xy {
            for k in 0..2 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        if xy.is_empty() {
            (min, max) = ([0.0; 2], [0.0; 2]);
        }
        let (w, h) = ((max[0] - min[0]).max(1e-9), (max[1] - min[1]).max(1e-9));
        // About two points per cell, at most 4 million cells.
        let target = (xy.len() / 2).clamp(1, 1 << 22) as f64;
        let cell = (w * h / target).sqrt().max(w.max(h) / 2048.0);
        let cols = ((w / cell) as usize + 1).min(1 << 12);
        let rows = ((h / cell) as usize + 1).min(1 << 12);
        let mut grid = Grid { xy, min, cell, cols, rows, start: vec![0; cols * rows + 1], items: vec![0; xy.len()] };
        for p in xy {
            let c = grid.cell_of(p);
            grid.start[c + 1] += 1;
        }
        for c in 0..cols * rows {
            grid.start[c + 1] += grid.start[c];
        }
        let mut fill = grid.start.clone();
        for (i, p) in xy.iter().enumerate() {
            let c = grid.cell_of(p);
            grid.items[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        grid
    }

    fn coords(&self, p: &[f64; 2]) -> (usize, usize) {
        let cx = (((p[0] - self.min[0]) / self.cell) as usize).min(self.cols - 1);
        let cy = (((p[1] - self.min[1]) / self.cell) as usize).min(self.rows - 1);
        (cx, cy)
    }

    fn cell_of(&self, p: &[f64; 2]) -> usize {
        let (cx, cy) = self.coords(p);
        cy * self.cols + cx
    }

    /// The points other than `i` within `dk + margin` of point `i`, where `dk` is the distance of
    /// its `k`-th nearest other point (every point when there are at most `k` others), with their
    /// distances, in no particular order. A caller that ranks points by a rounded distance passes
    /// the rounding's step as `margin`, so that every point tied with the `k`-th is included.
    pub fn near(&self, i: usize, k: usize, margin: f64, out: &mut Vec<(f64, u32)>) {
        out.clear();
        let others = self.xy.len().saturating_sub(1);
        let mut ring = 0usize;
        loop {
            let whole = self.ring(i, ring, &mut 0, |d, j| out.push((d, j)));
            if whole {
                break;
            }
            // Every point outside the examined square is farther than `ring` cells away.
            let covered = ring as f64 * self.cell;
            if out.len() >= k.min(others) && k > 0 {
                let kth = kth_distance(out, k);
                if kth + margin <= covered {
                    out.retain(|e| e.0 <= kth + margin);
                    return;
                }
            }
            ring += 1;
        }
        if k > 0 && out.len() > k {
            let limit = kth_distance(out, k) + margin;
            out.retain(|e| e.0 <= limit);
        }
    }

    /// The `q` nearest other points of point `i` in each of the four quadrants around it (fewer
    /// where a quadrant has fewer), with their distances, nearest first within a quadrant;
    /// quadrants in the order east-north, north-west, west-south, south-east. Points on the same
    /// spot count as east-north. The search stops after about `max_cells` cells, keeping the
    /// nearest found by then (the quadrants of a point at the edge of a clustered set can be
    /// empty or far).
    pub fn quadrants(&self, i: usize, q: usize, max_cells: usize, out: &mut [Vec<(f64, u32)>; 4]) {
        out.iter_mut().for_each(|o| o.clear());
        if q == 0 {
            return;
        }
        let p = self.xy[i];
        let (mut ring, mut cells) = (0usize, 0usize);
        loop {
            let whole = self.ring(i, ring, &mut cells, |d, j| {
                let r = self.xy[j as usize];
                out[quadrant(r[0] - p[0], r[1] - p[1])].push((d, j));
            });
            let covered = ring as f64 * self.cell;
            let settled = out.iter().all(|o| o.len() >= q && kth_distance(o, q) <= covered);
            if whole || settled || cells >= max_cells {
                break;
            }
            ring += 1;
        }
        for o in out.iter_mut() {
            o.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            o.truncate(q);
        }
    }

    /// Calls `f(distance, j)` for every point `j` other than `i` in the cells at Chebyshev
    /// distance `ring` from `i`'s cell, counting those cells in `cells`; whether the square up
    /// to that ring covers the grid.
    fn ring(&self, i: usize, ring: usize, cells: &mut usize, mut f: impl FnMut(f64, u32)) -> bool {
        let p = self.xy[i];
        let (cx, cy) = self.coords(&p);
        let dist = |j: u32| {
            let q = self.xy[j as usize];
            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()
        };
        let (x0, x1) = (cx as isize - ring as isize, cx + ring);
        let (y0, y1) = (cy as isize - ring as isize, cy + ring);
        for y in y0..=y1 as isize {
            if y < 0 || y as usize >= self.rows {
                continue;
            }
            let edge_row = y == y0 || y == y1 as isize;
            let mut x = x0;
            while x <= x1 as isize {
                if x >= 0 && (x as usize) < self.cols {
                    *cells += 1;
                    let c = y as usize * self.cols + x as usize;
                    for &j in &self.items[self.start[c] as usize..self.start[c + 1] as usize] {
                        if j as usize != i {
                            f(dist(j), j);
                        }
                    }
                }
                // Inside rows only the two border cells belong to the ring.
                x += if edge_row || x == x1 as isize { 1 } else { (x1 as isize - x).max(1) };
            }
        }
        x0 <= 0 && y0 <= 0 && x1 + 1 >= self.cols && y1 + 1 >= self.rows
    }
}

/// The quadrant of offset (`dx`, `dy`): 0 east-north (and the same spot), 1 north-west, 2
/// west-south, 3 south-east.
fn quadrant(dx: f64, dy: f64) -> usize {
    if dx > 0.0 && dy >= 0.0 || dx == 0.0 && dy == 0.0 {
        0
    } else if dx <= 0.0 && dy > 0.0 {
        1
    } else if dx < 0.0 && dy <= 0.0 {
        2
    } else {
        3
    }
}

/// The `k`-th smallest distance among `found` (`1 <= k <= found.len()`).
fn kth_distance(found: &[(f64, u32)], k: usize) -> f64 {
    let mut d: Vec<f64> = found.iter().map(|e| e.0).collect();
    *d.select_nth_unstable_by(k - 1, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_same_nearest_points_as_comparing_every_pair() {
        let mut s = 7u64;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as f64 / (1u64 << 31) as f64
        };
        // Clustered and spread points, some on the same spot.
        let mut xy: Vec<[f64; 2]> = (0..600).map(|k| if k % 3 == 0 { [next() * 5.0, next() * 5.0] } else { [next() * 1000.0, next() * 300.0] }).collect();
        xy.push(xy[10]);
        let grid = Grid::new(&xy);
        let mut out = Vec::new();
        for k in [1, 8, 30] {
            for i in 0..xy.len() {
                grid.near(i, k, 0.0, &mut out);
                let mut all: Vec<(f64, u32)> =
                    (0..xy.len()).filter(|&j| j != i).map(|j| (((xy[i][0] - xy[j][0]).powi(2) + (xy[i][1] - xy[j][1]).powi(2)).sqrt(), j as u32)).collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0));
                let kth = all[k - 1].0;
                let mut want: Vec<u32> = all.iter().filter(|e| e.0 <= kth).map(|e| e.1).collect();
                let mut got: Vec<u32> = out.iter().map(|e| e.1).collect();
                want.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, want, "point {i}, k {k}");
            }
        }
        // The nearest points per quadrant, with the search allowed to cover the whole grid.
        let mut quads: [Vec<(f64, u32)>; 4] = Default::default();
        for i in 0..xy.len() {
            grid.quadrants(i, 2, usize::MAX, &mut quads);
            let (p, mut want) = (xy[i], [Vec::new(), Vec::new(), Vec::new(), Vec::new()]);
            for (j, r) in xy.iter().enumerate().filter(|&(j, _)| j != i) {
                let (dx, dy) = (r[0] - p[0], r[1] - p[1]);
                want[quadrant(dx, dy)].push(((dx * dx + dy * dy).sqrt(), j as u32));
            }
            for q in 0..4 {
                want[q].sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                want[q].truncate(2);
                let (got, want): (Vec<f64>, Vec<f64>) = (quads[q].iter().map(|e| e.0).collect(), want[q].iter().map(|e| e.0).collect());
                assert_eq!(got, want, "point {i}, quadrant {q}");
            }
        }
        // Fewer points than k: all of them.
        let few = [[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]];
        Grid::new(&few).near(0, 5, 0.0, &mut out);
        assert_eq!(out.len(), 2);
    }
}
