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
    fn rejects_negative_and_oversized_values() {
        assert!(Matrix::from_fn(2, |i, j| if i == 1 && j == 0 { -1 } else { 0 }).is_err());
        assert!(Matrix::from_fn(2, |_, _| MATRIX_MAX + 1).is_err());
        let m = Matrix::from_fn(3, |i, j| (i * 10 + j) as i64).unwrap();
        assert_eq!(m.get(2, 1), 21);
        assert_eq!(m.size(), 3);
    }
}
