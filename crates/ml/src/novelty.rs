//! The flow model's novelty guard: an Isolation Forest over the normal
//! training rows. A flow the classifier calls normal but that is unlike
//! any normal flow seen in training is reported as `anomaly` instead —
//! the one chance a supervised model has against attack types that were
//! not in its training data.

use serde::{Deserialize, Serialize};

use crate::{ForestParams, IsolationForest};

/// The class name novel flows get.
pub const ANOMALY_CLASS: &str = "anomaly";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Novelty {
    pub forest: IsolationForest,
    /// Features read as ln(1 + x): those never negative in training (byte
    /// counts span eight orders of magnitude and the forest splits
    /// uniformly between a feature's extremes).
    pub log: Vec<bool>,
    /// Scores at or above this are novel: the `1 - fpr` quantile of the
    /// normal training rows' scores.
    pub threshold: f64,
    /// Each feature's range over the normal training rows (after the log).
    /// A forest draws its splits inside this range, so it scores a point
    /// far beyond it no higher than the range's extremes; a value past
    /// the range by `RANGE_MARGIN` of it (at least `MIN_MARGIN`) is novel
    /// whatever the forest says.
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

/// How far past the normal range (as a share of it) a value is novel.
const RANGE_MARGIN: f64 = 0.25;
/// The least margin, in transformed units (0.5 is ×1.65 on a log feature;
/// it also makes a one-hot category normal flows never had novel).
const MIN_MARGIN: f64 = 0.5;

impl Novelty {
    /// Fits on row-major normal rows; `fpr` is the share of normal training
    /// rows allowed over the threshold; `trees` the forest's size.
    pub fn fit(x: &[f32], width: usize, fpr: f64, trees: usize, seed: u64) -> Result<Novelty, crate::FitError> {
        let rows = x.len() / width.max(1);
        let log: Vec<bool> =
            (0..width).map(|f| (0..rows).all(|r| x[r * width + f].is_nan() || x[r * width + f] >= 0.0)).collect();
        let mut points: Vec<Vec<f64>> = Vec::with_capacity(rows);
        for r in 0..rows {
            points.push(transform(&x[r * width..][..width], &log));
        }
        let forest = IsolationForest::fit(&points, ForestParams { trees, subsample: 256, seed })?;
        let mut lo = vec![f64::INFINITY; width];
        let mut hi = vec![f64::NEG_INFINITY; width];
        for p in &points {
            for (f, &v) in p.iter().enumerate() {
                lo[f] = lo[f].min(v);
                hi[f] = hi[f].max(v);
            }
        }
        let mut novelty = Novelty { forest, log, threshold: 1.0, lo, hi };
        // The threshold from the scores the live path computes.
        let mut scores = novelty.guard().score(x);
        scores.sort_by(f64::total_cmp);
        let at = ((1.0 - fpr.clamp(0.0, 1.0)) * scores.len() as f64) as usize;
        novelty.threshold = scores.get(at.min(scores.len().saturating_sub(1))).copied().unwrap_or(1.0);
        Ok(novelty)
    }

    /// The guard laid out for scoring rows as they are encoded.
    pub fn guard(&self) -> Guard {
        let log = self.log.clone();
        // ln(1 + x) < v exactly when x < e^v − 1: the transform moves from
        // every point's features to the forest's splits, once.
        let forest = self
            .forest
            .map_splits(|f, v| if log.get(f).copied().unwrap_or(false) { f64::from(v).exp_m1() as f32 } else { v });
        let raw = |f: usize, v: f64| if log[f] { v.exp_m1() } else { v };
        let (mut lo, mut hi) = (Vec::with_capacity(log.len()), Vec::with_capacity(log.len()));
        for f in 0..log.len() {
            let margin = (RANGE_MARGIN * (self.hi[f] - self.lo[f])).max(MIN_MARGIN);
            lo.push(raw(f, self.lo[f] - margin));
            hi.push(raw(f, self.hi[f] + margin));
        }
        Guard { forest, log, lo, hi, threshold: self.threshold }
    }

    /// Rewrites `k` class probabilities per row into `k + 1`: a row the
    /// classifier calls `normal` whose score reaches the threshold moves
    /// its mass to the last class (`anomaly`), by how far past it is.
    pub fn apply(&self, proba: &[f32], k: usize, normal: usize, scores: &[f64], out: &mut Vec<f32>) {
        out.clear();
        for (p, &s) in proba.chunks(k).zip(scores) {
            let a = if crate::argmax(p) == normal && s >= self.threshold {
                (0.5 + 0.5 * (s - self.threshold) / (1.0 - self.threshold).max(1e-9)).clamp(0.5, 1.0) as f32
            } else {
                0.0
            };
            out.extend(p.iter().map(|v| v * (1.0 - a)));
            out.push(a);
        }
    }
}

/// A `Novelty` ready to score encoded rows: splits and range bounds moved
/// into the raw features' scale (see `Novelty::guard`).
#[derive(Debug, Clone)]
pub struct Guard {
    forest: IsolationForest,
    log: Vec<bool>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    pub threshold: f64,
}

impl Guard {
    /// Novelty scores (0..1) of row-major rows; a row outside the normal
    /// range scores at least half-way from the threshold to 1.
    pub fn score(&self, x: &[f32]) -> Vec<f64> {
        let width = self.log.len().max(1);
        // What the transform does besides the log: missing is 0, and a
        // log feature is never below 0.
        let prepared: Vec<f32> = x
            .chunks_exact(width)
            .flat_map(|row| {
                row.iter().zip(&self.log).map(|(&v, &log)| {
                    let v = if v.is_nan() { 0.0 } else { v };
                    if log { v.max(0.0) } else { v }
                })
            })
            .collect();
        let mut scores = Vec::with_capacity(prepared.len() / width);
        self.forest.score_rows(&prepared, width, &mut scores);
        for (s, row) in scores.iter_mut().zip(prepared.chunks_exact(width)) {
            let outside = row.iter().zip(self.lo.iter().zip(&self.hi)).any(|(&v, (&lo, &hi))| {
                let v = f64::from(v);
                v > hi || v < lo
            });
            if outside {
                *s = s.max((self.threshold + 1.0) / 2.0);
            }
        }
        scores
    }
}

fn transform(row: &[f32], log: &[bool]) -> Vec<f64> {
    row.iter()
        .zip(log)
        .map(|(&v, &l)| {
            let v = if v.is_nan() { 0.0 } else { f64::from(v) };
            if l { v.max(0.0).ln_1p() } else { v }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::SplitMix64;

    #[test]
    fn a_flow_unlike_the_normal_ones_becomes_anomaly_and_the_rest_stay() {
        let mut rng = SplitMix64::new(4);
        let normal: Vec<f32> =
            (0..2000).flat_map(|_| [100.0 + rng.next_f64() as f32 * 50.0, rng.next_f64() as f32]).collect();
        let guard = Novelty::fit(&normal, 2, 0.01, 100, 1).unwrap();
        let rows = [120.0, 0.5, 5.0e8, 0.5];
        let scores = guard.guard().score(&rows);
        assert!(scores[1] > guard.threshold && scores[0] < guard.threshold, "{scores:?} vs {}", guard.threshold);
        // Both rows look normal to the classifier (class 0 of 2).
        let mut out = Vec::new();
        guard.apply(&[0.9, 0.1, 0.8, 0.2], 2, 0, &scores, &mut out);
        assert_eq!(out.len(), 6);
        assert_eq!(out[2], 0.0, "a normal row keeps its class");
        assert!(out[5] >= 0.5 && out[5] > out[3] && out[5] > out[4], "{out:?}");
        // A row the classifier already calls an attack is left alone.
        guard.apply(&[0.2, 0.8], 2, 0, &scores[1..], &mut out);
        assert_eq!(out, [0.2, 0.8, 0.0]);
    }

    proptest::proptest! {
        #[test]
        fn the_guard_scores_raw_rows_as_the_forest_scores_transformed_ones(
            train in proptest::collection::vec(0.0f32..1e6, 3 * 40..3 * 41),
            rows in proptest::collection::vec(proptest::prop_oneof![-5.0f32..2e6, proptest::strategy::Just(f32::NAN)], 3 * 20..3 * 21),
        ) {
            let novelty = Novelty::fit(&train, 3, 0.05, 100, 9).unwrap();
            let guard = novelty.guard();
            let points: Vec<Vec<f64>> = rows.chunks_exact(3).map(|r| transform(r, &novelty.log)).collect();
            let mut expected = novelty.forest.score_many(&points);
            for (e, p) in expected.iter_mut().zip(&points) {
                let outside = p.iter().enumerate().any(|(f, &v)| {
                    let margin = (RANGE_MARGIN * (novelty.hi[f] - novelty.lo[f])).max(MIN_MARGIN);
                    v > novelty.hi[f] + margin || v < novelty.lo[f] - margin
                });
                if outside {
                    *e = e.max((novelty.threshold + 1.0) / 2.0);
                }
            }
            let got = guard.score(&rows);
            // The transformed path rounds ln(1 + x) to f32 before comparing,
            // so a value within that rounding of a split can go the other
            // way (one tree's path: a few thousandths of score). Anything
            // else — a wrong inverse, a missed clamp — moves most rows a lot.
            let exact = got.iter().zip(&expected).filter(|(g, e)| (*g - *e).abs() < 1e-12).count();
            proptest::prop_assert!(exact * 10 >= got.len() * 9, "{exact} of {} rows exact", got.len());
            for (g, e) in got.iter().zip(&expected) {
                proptest::prop_assert!((g - e).abs() < 0.02, "{g} vs {e}");
            }
        }
    }
}
