//! `RobustScale`: each feature's median and spread over a model's training
//! points, to say which features of a point stood out and by how much —
//! the part of an anomaly alert a person reads.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RobustScale {
    median: Vec<f64>,
    /// 1.4826 × the median absolute deviation (σ for normal data), at least
    /// the `min_scale` it was fitted with.
    scale: Vec<f64>,
}

impl RobustScale {
    /// Over `features` columns of `rows`; a column whose spread is ~0 is
    /// still judged in units of `min_scale`.
    pub fn fit(rows: &[Vec<f64>], features: usize, min_scale: f64) -> RobustScale {
        let (mut median, mut scale) = (Vec::with_capacity(features), Vec::with_capacity(features));
        for f in 0..features {
            let mut column: Vec<f64> = rows.iter().map(|r| r[f]).collect();
            let m = middle(&mut column);
            let mut deviations: Vec<f64> = column.iter().map(|v| (v - m).abs()).collect();
            median.push(m);
            scale.push((1.4826 * middle(&mut deviations)).max(min_scale));
        }
        RobustScale { median, scale }
    }

    /// Features above their median by at least three spreads, most unusual
    /// first: (index, robust z-score).
    pub fn standing_out(&self, point: &[f64]) -> Vec<(usize, f64)> {
        let mut out: Vec<(usize, f64)> = point
            .iter()
            .zip(self.median.iter().zip(&self.scale))
            .map(|(v, (m, s))| (v - m) / s)
            .enumerate()
            .filter(|(_, z)| *z >= 3.0)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// The feature's median, in the units it was fitted in.
    pub fn median(&self, feature: usize) -> f64 {
        self.median[feature]
    }
}

/// The value `q` (0..1) of the way up `values` once sorted: at
/// `q = 1 − contamination`, the score only that share of them exceed — an
/// anomaly threshold.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = (q * sorted.len() as f64).ceil() as usize;
    sorted[at.clamp(1, sorted.len()) - 1]
}

fn middle(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_only_what_lies_three_spreads_above() {
        let rows: Vec<Vec<f64>> = (0..101).map(|i| vec![f64::from(i), 5.0]).collect();
        let scale = RobustScale::fit(&rows, 2, 0.1);
        assert_eq!(scale.median(0), 50.0);
        // MAD of 0..=100 is 25: a spread of 37.065.
        assert!(scale.standing_out(&[150.0, 5.0]).is_empty());
        let out = scale.standing_out(&[200.0, 5.5]);
        assert_eq!(out.iter().map(|o| o.0).collect::<Vec<_>>(), [1, 0], "0.5 over a 0.1 floor is z 5, above 4.05");
        assert!(scale.standing_out(&[-500.0, 4.0]).is_empty(), "below the median is not standing out");
    }
}
