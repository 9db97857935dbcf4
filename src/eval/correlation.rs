//! Ranks and rank correlation: fractional ranks with ties averaged (as `scipy.stats.rankdata`),
//! Spearman's ρ (Pearson on those ranks, as `scipy.stats.spearmanr`) and Kendall's τ-b (as
//! `scipy.stats.kendalltau`). Used for leaderboards (rank per dataset, mean rank) and to
//! measure how well a label-free detector ranking predicts the true one.

/// Fractional ranks, 1 = best, ties share the mean of their ranks. `higher_is_better` says
/// which end is best. NaN values rank last (tied among themselves).
pub fn ranks(values: &[f64], higher_is_better: bool) -> Vec<f64> {
    let key = |v: f64| {
        if v.is_nan() {
            f64::NEG_INFINITY
        } else if higher_is_better {
            v
        } else {
            -v
        }
    };
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        key(values[b])
            .total_cmp(&key(values[a]))
            .then(values[a].is_nan().cmp(&values[b].is_nan()))
    });
    let same = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || key(a).total_cmp(&key(b)).is_eq();
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && same(values[order[i]], values[order[j]]) {
            j += 1;
        }
        // Ranks i+1 ..= j share their mean.
        let mean = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            out[k] = mean;
        }
        i = j;
    }
    out
}

/// Spearman's ρ between two paired samples (ties averaged). `None` when the lengths differ,
/// there are fewer than two pairs, or one side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    pearson(&ranks(a, true), &ranks(b, true))
}

/// Pearson's correlation; `None` when a side has zero variance.
fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

/// Kendall's τ-b between two paired samples (accounts for ties on either side), O(n²).
/// `None` when the lengths differ, there are fewer than two pairs, or one side is constant.
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let (mut concordant, mut discordant, mut ties_a, mut ties_b) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            let da = a[i].total_cmp(&a[j]) as i64;
            let db = b[i].total_cmp(&b[j]) as i64;
            match (da, db) {
                (0, 0) => {}
                (0, _) => ties_a += 1,
                (_, 0) => ties_b += 1,
                _ if da == db => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let n1 = (concordant + discordant + ties_a) as f64;
    let n2 = (concordant + discordant + ties_b) as f64;
    (n1 > 0.0 && n2 > 0.0).then(|| (concordant - discordant) as f64 / (n1 * n2).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties_and_put_nan_last() {
        assert_eq!(ranks(&[0.3, 0.9, 0.3, 0.1], true), vec![2.5, 1.0, 2.5, 4.0]);
        assert_eq!(ranks(&[0.3, 0.9, 0.1], false), vec![2.0, 3.0, 1.0]);
        assert_eq!(ranks(&[f64::NAN, 0.5, f64::NAN], true), vec![2.5, 1.0, 2.5]);
        assert!(ranks(&[], true).is_empty());
    }

    #[test]
    fn spearman_matches_scipy() {
        // scipy.stats.spearmanr([1,2,3,4,5], [5,6,7,8,7]) = 0.8207826816681233
        let r = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]).unwrap();
        assert!((r - 0.820_782_681_668_123_3).abs() < 1e-12, "{r}");
        assert_eq!(spearman(&[1.0, 2.0], &[3.0, 3.0]), None);
        assert_eq!(spearman(&[1.0], &[1.0]), None);
    }

    #[test]
    fn kendall_matches_scipy() {
        // scipy.stats.kendalltau([12,2,1,12,2], [1,4,7,1,0]) = -0.4714045207910316
        let t = kendall_tau_b(&[12.0, 2.0, 1.0, 12.0, 2.0], &[1.0, 4.0, 7.0, 1.0, 0.0]).unwrap();
        assert!((t + 0.471_404_520_791_031_6).abs() < 1e-12, "{t}");
        let same = kendall_tau_b(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]).unwrap();
        assert!((same - 1.0).abs() < 1e-12);
        let reversed = kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap();
        assert!((reversed + 1.0).abs() < 1e-12);
    }
}
