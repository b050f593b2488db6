//! The three best of a stream of candidates (SWAP*'s insertion points, in both local searches).

/// Offers `item` to `best`, the three items of lowest `key` so far, in increasing order.
#[inline(always)]
pub fn keep_three<T: Copy, K: PartialOrd>(best: &mut [T; 3], item: T, key: impl Fn(&T) -> K) {
    if key(&item) < key(&best[2]) {
        best[2] = item;
        if key(&best[2]) < key(&best[1]) {
            best.swap(1, 2);
            if key(&best[1]) < key(&best[0]) {
                best.swap(0, 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_three_lowest_in_order() {
        let mut best = [i64::MAX; 3];
        for x in [7, 3, 9, 1, 8, 2, 5] {
            super::keep_three(&mut best, x, |&v| v);
        }
        assert_eq!(best, [1, 2, 3]);
    }
}
