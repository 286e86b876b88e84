//! Evaluation metrics, computed the standard way so figures compare with
//! scikit-learn's.

/// Area under the ROC curve of `(score, is_positive)` pairs: the chance a
/// random positive scores above a random negative, ties counting half
/// (the Mann–Whitney U statistic). 0.5 when a class is missing.
pub fn roc_auc(scored: &[(f64, bool)]) -> f64 {
    let mut sorted: Vec<(f64, bool)> = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = sorted.iter().filter(|(_, p)| *p).count() as f64;
    let negatives = sorted.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return 0.5;
    }
    // Sum of the positives' ranks, with tied scores sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1].0 == sorted[i].0 {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mean_rank * sorted[i..=j].iter().filter(|(_, p)| *p).count() as f64;
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Counts at one threshold; positives are attacks / anomalies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    pub fn_: u64,
}

impl Confusion {
    /// Predicts positive when `score >= threshold`.
    pub fn at(scored: &[(f64, bool)], threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for &(score, positive) in scored {
            match (score >= threshold, positive) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    fn ratio(a: u64, b: u64) -> f64 {
        if a + b == 0 { 0.0 } else { a as f64 / (a + b) as f64 }
    }

    pub fn precision(&self) -> f64 {
        Self::ratio(self.tp, self.fp)
    }

    pub fn recall(&self) -> f64 {
        Self::ratio(self.tp, self.fn_)
    }

    pub fn false_positive_rate(&self) -> f64 {
        Self::ratio(self.fp, self.tn)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

/// The Wilson score interval (95%) for `hits` out of `n`: what a rate
/// measured on a handful of rows (a class of 8 or 25) can honestly claim.
pub fn wilson_interval(hits: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (n, p) = (n as f64, hits as f64 / n as f64);
    let denominator = 1.0 + Z * Z / n;
    let centre = (p + Z * Z / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + Z * Z / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_pairs_and_halves_ties() {
        assert_eq!(roc_auc(&[(0.1, false), (0.9, true)]), 1.0);
        assert_eq!(roc_auc(&[(0.9, false), (0.1, true)]), 0.0);
        assert_eq!(roc_auc(&[(0.5, false), (0.5, true)]), 0.5);
        // scikit-learn: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert_eq!(roc_auc(&[(0.1, false), (0.4, false), (0.35, true), (0.8, true)]), 0.75);
        assert_eq!(roc_auc(&[(0.3, true)]), 0.5);
    }

    #[test]
    fn confusion_rates() {
        let scored = [(0.9, true), (0.8, false), (0.2, true), (0.1, false)];
        let c = Confusion::at(&scored, 0.5);
        assert_eq!(c, Confusion { tp: 1, fp: 1, tn: 1, fn_: 1 });
        assert_eq!((c.precision(), c.recall(), c.false_positive_rate(), c.f1()), (0.5, 0.5, 0.5, 0.5));
    }

    #[test]
    fn wilson_intervals_match_the_textbook_values() {
        // 8 of 10: (0.490, 0.943); 0 of 4: (0, 0.490); 100 of 100: (0.963, 1).
        let close = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() < 1e-3 && (a.1 - b.1).abs() < 1e-3;
        assert!(close(wilson_interval(8, 10), (0.4902, 0.9433)), "{:?}", wilson_interval(8, 10));
        assert!(close(wilson_interval(0, 4), (0.0, 0.4899)), "{:?}", wilson_interval(0, 4));
        assert!(close(wilson_interval(100, 100), (0.9630, 1.0)), "{:?}", wilson_interval(100, 100));
    }
}
