//! Square integer matrices of travel distances or durations between locations.

use std::sync::Arc;

/// A square matrix of non-negative travel values, indexed `[from, to]` by location index.
///
/// Values are either stored, as `i32` (half the memory of `i64`), or, for a Euclidean matrix of
/// many locations, computed from the coordinates on each read ([`Matrix::euclidean`]): a stored
/// matrix of 30,000 locations takes 3.6 GB, its coordinates 480 kB, and a read that misses the
/// cache costs more than the square root. Values are read as `i64`, so sums never overflow. The
/// storage is shared, so a profile whose durations equal its distances holds one copy.
#[derive(Clone, Debug)]
pub struct Matrix {
    data: Arc<Storage>,
}

#[derive(Debug)]
enum Storage {
    /// Row-major values of an `n` by `n` matrix.
    Dense {
        n: usize,
        values: Box<[i32]>,
    },
    Euclidean(Euclidean),
}

/// How a Euclidean distance becomes an integer: scaled, then rounded (ties to even, as numpy
/// rounds) or truncated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scaled {
    /// The factor applied to the distance first (1, 10, 1000).
    pub scale: f64,
    /// Truncate instead of rounding.
    pub truncate: bool,
}

impl Scaled {
    /// The integer of a raw value.
    #[inline(always)]
    pub fn apply(self, v: f64) -> i64 {
        let v = if self.scale == 1.0 { v } else { self.scale * v };
        if self.truncate {
            v.trunc() as i64
        } else {
            v.round_ties_even() as i64
        }
    }
}

#[derive(Debug)]
struct Euclidean {
    xy: Vec<[f64; 2]>,
    scaled: Scaled,
}

impl Euclidean {
    #[inline(always)]
    fn get(&self, from: usize, to: usize) -> i64 {
        let (a, b) = (self.xy[from], self.xy[to]);
        let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
        self.scaled.apply((dx * dx + dy * dy).sqrt())
    }
}

/// The largest value a matrix may hold.
pub const MATRIX_MAX: i64 = i32::MAX as i64;

impl Matrix {
    /// Builds a matrix from `n * n` values in row-major order.
    ///
    /// Returns `None` when the values are not a square matrix or a value lies outside
    /// `0..=MATRIX_MAX`.
    pub fn from_fn(n: usize, mut f: impl FnMut(usize, usize) -> i64) -> Result<Matrix, (usize, usize, i64)> {
        let mut values = vec![0i32; n * n].into_boxed_slice();
        for i in 0..n {
            for j in 0..n {
                let v = f(i, j);
                if !(0..=MATRIX_MAX).contains(&v) {
                    return Err((i, j, v));
                }
                values[i * n + j] = v as i32;
            }
        }
        Ok(Matrix { data: Arc::new(Storage::Dense { n, values }) })
    }

    /// The Euclidean distances between `xy`, computed on each read instead of stored, under
    /// `scaled`. Reads equal those of [`Matrix::from_fn`] with the same formula.
    ///
    /// Returns the pair with the largest coordinate spread when a distance could exceed
    /// [`MATRIX_MAX`] (or a coordinate is not finite).
    pub fn euclidean(xy: Vec<[f64; 2]>, scaled: Scaled) -> Result<Matrix, (usize, usize, i64)> {
        // The longest distance is at most the diagonal of the bounding box: check that once.
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        let (mut arg_lo, mut arg_hi) = ([0usize; 2], [0usize; 2]);
        for (i, p) in xy.iter().enumerate() {
            for k in 0..2 {
                if !p[k].is_finite() {
                    return Err((i, i, i64::MAX));
                }
                if p[k] < lo[k] {
                    (lo[k], arg_lo[k]) = (p[k], i);
                }
                if p[k] > hi[k] {
                    (hi[k], arg_hi[k]) = (p[k], i);
                }
            }
        }
        let m = Matrix { data: Arc::new(Storage::Euclidean(Euclidean { xy, scaled })) };
        if m.size() > 0 {
            let (dx, dy) = (hi[0] - lo[0], hi[1] - lo[1]);
            let diagonal = scaled.apply((dx * dx + dy * dy).sqrt());
            if !(0..=MATRIX_MAX).contains(&diagonal) {
                let k = usize::from(dy > dx);
                return Err((arg_lo[k], arg_hi[k], diagonal));
            }
        }
        Ok(m)
    }

    /// The coordinates (by location) and rounding of a computed Euclidean matrix; `None` for a
    /// stored one.
    pub fn euclidean_points(&self) -> Option<(&[[f64; 2]], Scaled)> {
        match &*self.data {
            Storage::Euclidean(e) => Some((&e.xy, e.scaled)),
            Storage::Dense { .. } => None,
        }
    }

    /// Whether values are computed from coordinates rather than stored.
    pub fn is_computed(&self) -> bool {
        matches!(*self.data, Storage::Euclidean(_))
    }

    /// Bytes held by the values (or the coordinates they are computed from).
    pub fn heap_bytes(&self) -> usize {
        match &*self.data {
            Storage::Dense { values, .. } => values.len() * std::mem::size_of::<i32>(),
            Storage::Euclidean(e) => e.xy.len() * std::mem::size_of::<[f64; 2]>(),
        }
    }

    /// The matrix of a changed set of locations: `keep[i]` is the old location that becomes
    /// location `i`, and `extra` new locations follow them, whose values (any pair with a new
    /// location, in the new numbering) come from `new(from, to)`. Copying the kept values costs
    /// far less than [`Matrix::from_fn`] over the whole matrix, which is what a replan that adds
    /// or drops a client needs.
    ///
    /// Returns the first value outside `0..=MATRIX_MAX` as `(from, to, value)`.
    ///
    /// # Panics
    /// When a `keep` entry is not a location of this matrix.
    pub fn remapped(&self, keep: &[usize], extra: usize, mut new: impl FnMut(usize, usize) -> i64) -> Result<Matrix, (usize, usize, i64)> {
        let (k, m) = (keep.len(), keep.len() + extra);
        let mut data = vec![0i32; m * m].into_boxed_slice();
        let mut value = |i: usize, j: usize| {
            let v = new(i, j);
            if (0..=MATRIX_MAX).contains(&v) {
                Ok(v as i32)
            } else {
                Err((i, j, v))
            }
        };
        for (i, row) in data.chunks_exact_mut(m.max(1)).enumerate() {
            if i < k {
                match &*self.data {
                    // Stored: copy from the old row without a dispatch per value.
                    Storage::Dense { n, values } => {
                        let old = &values[keep[i] * n..(keep[i] + 1) * n];
                        for (j, &to) in keep.iter().enumerate() {
                            row[j] = old[to];
                        }
                    }
                    Storage::Euclidean(e) => {
                        for (j, &to) in keep.iter().enumerate() {
                            row[j] = e.get(keep[i], to) as i32;
                        }
                    }
                }
                for (j, cell) in row.iter_mut().enumerate().skip(k) {
                    *cell = value(i, j)?;
                }
            } else {
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell = value(i, j)?;
                }
            }
        }
        Ok(Matrix { data: Arc::new(Storage::Dense { n: m, values: data }) })
    }

    /// Number of locations (rows).
    pub fn size(&self) -> usize {
        match &*self.data {
            Storage::Dense { n, .. } => *n,
            Storage::Euclidean(e) => e.xy.len(),
        }
    }

    /// The value from `from` to `to`.
    #[inline(always)]
    pub fn get(&self, from: usize, to: usize) -> i64 {
        match &*self.data {
            // A flat row-major read; `to` is checked on its own so that a location past the
            // matrix panics instead of reading the next row.
            Storage::Dense { n, values } => {
                assert!(to < *n, "location {to} outside a matrix of {n}");
                values[from * n + to] as i64
            }
            Storage::Euclidean(e) => e.get(from, to),
        }
    }

    /// Whether two matrices share the same storage.
    pub fn shares_storage(&self, other: &Matrix) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remapping_keeps_the_chosen_locations_and_appends_new_ones() {
        let m = Matrix::from_fn(4, |a, b| (10 * a + b) as i64).unwrap();
        // Keep locations 0, 2 and 3 (dropping 1), then one new location.
        let r = m.remapped(&[0, 2, 3], 1, |a, b| (100 + 10 * a + b) as i64).unwrap();
        assert_eq!(r.size(), 4);
        let old = [0, 2, 3];
        for a in 0..3 {
            for b in 0..3 {
                assert_eq!(r.get(a, b), m.get(old[a], old[b]), "({a}, {b})");
            }
            assert_eq!(r.get(a, 3), (100 + 10 * a + 3) as i64);
            assert_eq!(r.get(3, a), (100 + 30 + a) as i64);
        }
        assert_eq!(r.get(3, 3), 133);
        assert_eq!(m.remapped(&[1], 1, |a, b| if (a, b) == (1, 0) { -5 } else { 0 }).unwrap_err(), (1, 0, -5));
    }

    #[test]
    fn a_computed_matrix_reads_as_the_stored_one() {
        let xy: Vec<[f64; 2]> = (0..40).map(|i| [(i * 37 % 101) as f64 * 0.7311, (i * 53 % 89) as f64 * 1.913]).collect();
        for scaled in [Scaled { scale: 1.0, truncate: false }, Scaled { scale: 10.0, truncate: true }, Scaled { scale: 1000.0, truncate: false }] {
            let dense = Matrix::from_fn(xy.len(), |i, j| {
                let (dx, dy) = (xy[i][0] - xy[j][0], xy[i][1] - xy[j][1]);
                scaled.apply((dx * dx + dy * dy).sqrt())
            })
            .unwrap();
            let computed = Matrix::euclidean(xy.clone(), scaled).unwrap();
            assert!(computed.is_computed() && !dense.is_computed());
            assert_eq!(computed.size(), dense.size());
            for i in 0..xy.len() {
                for j in 0..xy.len() {
                    assert_eq!(computed.get(i, j), dense.get(i, j), "({i}, {j}) at {scaled:?}");
                }
            }
            // Remapping a computed matrix stores the kept values.
            let r = computed.remapped(&[3, 1], 1, |_, _| 7).unwrap();
            assert_eq!((r.get(0, 1), r.get(1, 0), r.get(2, 0)), (dense.get(3, 1), dense.get(1, 3), 7));
        }
        assert_eq!(Matrix::euclidean(vec![[0.0, 0.0], [3.0, 4.0]], Scaled { scale: 1.0, truncate: false }).unwrap().heap_bytes(), 32);
    }

    #[test]
    fn refuses_coordinates_whose_distances_do_not_fit() {
        let scaled = Scaled { scale: 1000.0, truncate: false };
        assert_eq!(Matrix::euclidean(vec![[0.0, 0.0], [5.0, 3.0e6], [1.0, 1.0]], scaled).unwrap_err().0, 0);
        assert!(Matrix::euclidean(vec![[0.0, f64::NAN]], scaled).is_err());
        assert_eq!(Matrix::euclidean(Vec::new(), scaled).unwrap().size(), 0);
    }

    #[test]
    fn rejects_negative_and_oversized_values() {
        assert!(Matrix::from_fn(2, |i, j| if i == 1 && j == 0 { -1 } else { 0 }).is_err());
        assert!(Matrix::from_fn(2, |_, _| MATRIX_MAX + 1).is_err());
        let m = Matrix::from_fn(3, |i, j| (i * 10 + j) as i64).unwrap();
        assert_eq!(m.get(2, 1), 21);
        assert_eq!(m.size(), 3);
    }
}
