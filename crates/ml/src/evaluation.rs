//! Multi-class evaluation: confusion matrix, per-class and averaged
//! precision / recall / F1 / false-positive rate, one-vs-rest ROC AUC, and
//! the binary view (attack vs normal) a detector is judged by.

use serde::Serialize;

use crate::scoring::{Confusion, roc_auc, wilson_interval};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub fpr: f64,
    pub roc_auc: f64,
    pub support: u64,
    /// Recall's 95% Wilson interval, for classes of fewer than 50 rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall_interval: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Averages {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub fpr: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub rows: usize,
    pub accuracy: f64,
    /// Attack vs normal: any non-normal class predicted counts as an alert.
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub fpr: f64,
    /// Attack vs normal, scored by 1 − P(normal).
    pub roc_auc: f64,
    pub per_class: std::collections::BTreeMap<String, ClassScores>,
    pub macro_avg: Averages,
    pub weighted_avg: Averages,
    pub classes: Vec<String>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u64>>,
    /// (false-positive rate, true-positive rate) points of the binary ROC.
    #[serde(skip)]
    pub roc_curve: Vec<(f64, f64)>,
    /// (recall, precision) points of the binary precision-recall curve.
    #[serde(skip)]
    pub pr_curve: Vec<(f64, f64)>,
    /// Attack vs normal: the area under the precision-recall curve as
    /// scikit-learn's `average_precision_score` sums it.
    pub average_precision: f64,
}

/// `y[i]` is row i's true class; `proba` holds `classes.len()` values per
/// row; `normal` is the benign class's index; `threshold` is the model's
/// operating point on the attack score, if it has one (see `decide`).
pub fn evaluate(y: &[u32], proba: &[f32], classes: &[String], normal: usize, threshold: Option<f32>) -> Evaluation {
    let k = classes.len();
    let rows = y.len();
    let mut confusion = vec![vec![0u64; k]; k];
    let mut predicted = Vec::with_capacity(rows);
    for (r, &truth) in y.iter().enumerate() {
        let p = &proba[r * k..][..k];
        let best = crate::operating_point::decide(p, normal, threshold);
        predicted.push(best);
        confusion[truth as usize][best] += 1;
    }
    let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
    let mut per_class = std::collections::BTreeMap::new();
    let mut macro_sum = [0.0; 4];
    let mut weighted_sum = [0.0; 4];
    let mut present = 0.0;
    for (c, name) in classes.iter().enumerate() {
        let tp = confusion[c][c];
        let fn_: u64 = confusion[c].iter().sum::<u64>() - tp;
        let fp: u64 = (0..k).map(|t| confusion[t][c]).sum::<u64>() - tp;
        let tn = rows as u64 - tp - fn_ - fp;
        let m = Confusion { tp, fp, tn, fn_ };
        let scored: Vec<(f64, bool)> =
            y.iter().enumerate().map(|(r, &t)| (f64::from(proba[r * k + c]), t as usize == c)).collect();
        let support = tp + fn_;
        let s = ClassScores {
            precision: m.precision(),
            recall: m.recall(),
            f1: m.f1(),
            fpr: m.false_positive_rate(),
            roc_auc: roc_auc(&scored),
            support,
            recall_interval: (support > 0 && support < 50).then(|| wilson_interval(tp, support)),
        };
        if support > 0 {
            present += 1.0;
            for (acc, v) in macro_sum.iter_mut().zip([s.precision, s.recall, s.f1, s.fpr]) {
                *acc += v;
            }
            for (acc, v) in weighted_sum.iter_mut().zip([s.precision, s.recall, s.f1, s.fpr]) {
                *acc += v * support as f64;
            }
        }
        per_class.insert(name.clone(), s);
    }
    let avg = |sum: [f64; 4], by: f64| {
        let by = if by > 0.0 { by } else { 1.0 };
        Averages { precision: sum[0] / by, recall: sum[1] / by, f1: sum[2] / by, fpr: sum[3] / by }
    };
    let scored: Vec<(f64, bool)> =
        y.iter().enumerate().map(|(r, &t)| (1.0 - f64::from(proba[r * k + normal]), t as usize != normal)).collect();
    let curves = Curves::of(&scored);
    let mut binary = Confusion::default();
    for (r, &t) in y.iter().enumerate() {
        match (predicted[r] != normal, t as usize != normal) {
            (true, true) => binary.tp += 1,
            (true, false) => binary.fp += 1,
            (false, false) => binary.tn += 1,
            (false, true) => binary.fn_ += 1,
        }
    }
    Evaluation {
        rows,
        accuracy: if rows == 0 { 0.0 } else { correct as f64 / rows as f64 },
        precision: binary.precision(),
        recall: binary.recall(),
        f1: binary.f1(),
        fpr: binary.false_positive_rate(),
        roc_auc: roc_auc(&scored),
        per_class,
        macro_avg: avg(macro_sum, present),
        weighted_avg: avg(weighted_sum, rows as f64),
        classes: classes.to_vec(),
        confusion,
        roc_curve: curves.roc,
        pr_curve: curves.pr,
        average_precision: curves.average_precision,
    }
}

/// The binary ROC and precision-recall curves, one sweep down the scores.
struct Curves {
    /// Corner points, thinned to about 500 for plotting.
    roc: Vec<(f64, f64)>,
    pr: Vec<(f64, f64)>,
    /// Σ (Rₙ − Rₙ₋₁) Pₙ over every distinct score, not the thinned points.
    average_precision: f64,
}

impl Curves {
    fn of(scored: &[(f64, bool)]) -> Curves {
        let mut sorted = scored.to_vec();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let positives = sorted.iter().filter(|s| s.1).count().max(1) as f64;
        let negatives = sorted.iter().filter(|s| !s.1).count().max(1) as f64;
        let mut curves = Curves { roc: vec![(0.0, 0.0)], pr: vec![(0.0, 1.0)], average_precision: 0.0 };
        let (mut tp, mut fp, mut last_recall) = (0.0, 0.0, 0.0);
        let step = (sorted.len() / 500).max(1);
        for (i, (score, positive)) in sorted.iter().enumerate() {
            if *positive {
                tp += 1.0
            } else {
                fp += 1.0
            }
            // Tied scores are one threshold: only the last of them is a point.
            if sorted.get(i + 1).is_some_and(|n| n.0 == *score) {
                continue;
            }
            let (recall, precision) = (tp / positives, tp / (tp + fp));
            curves.average_precision += (recall - last_recall) * precision;
            last_recall = recall;
            if i % step == 0 || i + 1 == sorted.len() {
                curves.roc.push((fp / negatives, recall));
                curves.pr.push((recall, precision));
            }
        }
        curves.roc.push((1.0, 1.0));
        curves
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_precision_sums_as_scikit_learn_does() {
        // average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333…
        let curves = Curves::of(&[(0.1, false), (0.4, false), (0.35, true), (0.8, true)]);
        assert!((curves.average_precision - 5.0 / 6.0).abs() < 1e-12, "{}", curves.average_precision);
        assert_eq!(curves.pr, [(0.0, 1.0), (0.5, 1.0), (0.5, 0.5), (1.0, 2.0 / 3.0), (1.0, 0.5)]);
        assert_eq!(curves.roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(curves.roc.last(), Some(&(1.0, 1.0)));
        // Tied scores are one point: all attacks and normals at 0.5.
        let tied = Curves::of(&[(0.5, true), (0.5, false)]);
        assert_eq!(tied.pr, [(0.0, 1.0), (1.0, 0.5)]);
        assert!((tied.average_precision - 0.5).abs() < 1e-12);
    }
}
