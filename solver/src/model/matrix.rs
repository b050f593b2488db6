//! Square integer matrices of travel distances or durations between locations.

use ndarray::Array2;
use std::sync::Arc;

/// A square matrix of non-negative travel values, indexed `[from, to]` by location index.
///
/// Values are stored as `i32` (half the memory of `i64`, which matters for instances with tens of
/// thousands of locations) and read as `i64`, so sums never overflow. The storage is shared, so a
/// profile whose durations equal its distances holds one copy.
#[derive(Clone, Debug)]
pub struct Matrix {
    data: Arc<Array2<i32>>,
}

/// The largest value a matrix may hold.
pub const MATRIX_MAX: i64 = i32::MAX as i64;

impl Matrix {
    /// Builds a matrix from `n * n` values in row-major order.
    ///
    /// Returns `None` when the values are not a square matrix or a value lies outside
    /// `0..=MATRIX_MAX`.
    pub fn from_fn(n: usize, mut f: impl FnMut(usize, usize) -> i64) -> Result<Matrix, (usize, usize, i64)> {
        let mut data = Array2::<i32>::zeros((n, n));
        for i in 0..n {
            for j in 0..n {
                let v = f(i, j);
                if !(0..=MATRIX_MAX).contains(&v) {
                    return Err((i, j, v));
                }
                data[[i, j]] = v as i32;
            }
        }
        Ok(Matrix { data: Arc::new(data) })
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
        let mut data = Array2::<i32>::zeros((m, m));
        let mut value = |i: usize, j: usize| {
            let v = new(i, j);
            if (0..=MATRIX_MAX).contains(&v) {
                Ok(v as i32)
            } else {
                Err((i, j, v))
            }
        };
        for (i, mut row) in data.rows_mut().into_iter().enumerate() {
            if i < k {
                let old = self.data.row(keep[i]);
                for (j, &from) in keep.iter().enumerate() {
                    row[j] = old[from];
                }
                for j in k..m {
                    row[j] = value(i, j)?;
                }
            } else {
                for j in 0..m {
                    row[j] = value(i, j)?;
                }
            }
        }
        Ok(Matrix { data: Arc::new(data) })
    }

    /// Number of locations (rows).
    pub fn size(&self) -> usize {
        self.data.nrows()
    }

    /// The value from `from` to `to`.
    #[inline(always)]
    pub fn get(&self, from: usize, to: usize) -> i64 {
        self.data[[from, to]] as i64
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
    fn rejects_negative_and_oversized_values() {
        assert!(Matrix::from_fn(2, |i, j| if i == 1 && j == 0 { -1 } else { 0 }).is_err());
        assert!(Matrix::from_fn(2, |_, _| MATRIX_MAX + 1).is_err());
        let m = Matrix::from_fn(3, |i, j| (i * 10 + j) as i64).unwrap();
        assert_eq!(m.get(2, 1), 21);
        assert_eq!(m.size(), 3);
    }
}
