//! The flow model's novelty guard: an Isolation Forest over the normal
//! training rows. A flow the classifier calls normal but that is unlike
//! any normal flow seen in training is reported as `anomaly` instead —
//! the one chance a supervised model has against attack types that were
//! not in its training data.

use serde::{Deserialize, Serialize};

use crate::{ForestParams, IsolationForest, PointBuffer};

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
    /// The threshold at each of `RATES` (rate, threshold), so the
    /// leave-family-out folds can choose the guard's rate after fitting.
    /// Empty in files written before the choice existed.
    #[serde(default)]
    pub rate_thresholds: Vec<(f64, f64)>,
}

/// The guard's rates (shares of normal training rows over its threshold)
/// that `train flows` chooses among on its leave-family-out folds.
pub const RATES: [f64; 4] = [0.0025, 0.005, 0.01, 0.02];

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
        let mut novelty = Novelty { forest, log, threshold: 1.0, lo, hi, rate_thresholds: Vec::new() };
        // The thresholds from the scores the live path computes.
        let mut scores = novelty.guard().score(x);
        scores.sort_by(f64::total_cmp);
        let quantile = |rate: f64| {
            let at = ((1.0 - rate.clamp(0.0, 1.0)) * scores.len() as f64) as usize;
            scores.get(at.min(scores.len().saturating_sub(1))).copied().unwrap_or(1.0)
        };
        novelty.threshold = quantile(fpr);
        novelty.rate_thresholds =
            RATES.iter().chain([fpr].iter().filter(|f| !RATES.contains(f))).map(|&r| (r, quantile(r))).collect();
        Ok(novelty)
    }

    /// The threshold that lets `rate` of the normal training rows over it,
    /// when `rate` is one of `RATES` or the rate it was fitted at.
    pub fn threshold_at(&self, rate: f64) -> Option<f64> {
        self.rate_thresholds.iter().find(|(r, _)| *r == rate).map(|(_, t)| *t)
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
            lo.push(f32_at_least(raw(f, self.lo[f] - margin)));
            hi.push(f32_at_most(raw(f, self.hi[f] + margin)));
        }
        let floor = log.iter().map(|&l| if l { 0.0 } else { f32::NEG_INFINITY }).collect();
        Guard { forest, floor, lo, hi, threshold: self.threshold }
    }

    /// The probability mass a row with novelty score `score` moves to
    /// `anomaly` when the model decides it is normal: none under the
    /// threshold, then from one half to all of it by how far past it is.
    pub fn anomaly_mass(&self, score: f64) -> f32 {
        anomaly_mass(score, self.threshold)
    }
}

/// The least score of a row outside the normal range: half-way from the threshold to 1.
fn outside_score(threshold: f64) -> f64 {
    (threshold + 1.0) / 2.0
}

/// `Guard::score_row` from `Guard::forest_score`'s parts, for a guard whose
/// threshold is `threshold`.
pub fn novelty_score((forest, outside): (f64, bool), threshold: f64) -> f64 {
    if outside { forest.max(outside_score(threshold)) } else { forest }
}

/// `Novelty::anomaly_mass` for a guard whose threshold is `threshold`.
pub fn anomaly_mass(score: f64, threshold: f64) -> f32 {
    if score < threshold {
        return 0.0;
    }
    (0.5 + 0.5 * (score - threshold) / (1.0 - threshold).max(1e-9)).clamp(0.5, 1.0) as f32
}

/// A `Novelty` ready to score encoded rows: splits and range bounds moved
/// into the raw features' scale (see `Novelty::guard`).
#[derive(Debug, Clone)]
pub struct Guard {
    forest: IsolationForest,
    /// Per feature the least value the forest sees: 0 for a log feature
    /// (ln(1 + x) is read for x ≥ 0), −∞ for the others.
    floor: Vec<f32>,
    /// The normal range with its margin, as f32 bounds that compare with
    /// an f32 value exactly as the f64 bounds would.
    lo: Vec<f32>,
    hi: Vec<f32>,
    pub threshold: f64,
}

/// `x` rounded up to an f32, so `v < x` ⇔ `v < f32_at_least(x)` for every f32 `v`.
fn f32_at_least(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x { f.next_up() } else { f }
}

/// `x` rounded down to an f32, so `v > x` ⇔ `v > f32_at_most(x)`.
fn f32_at_most(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) > x { f.next_down() } else { f }
}

impl Guard {
    /// Novelty scores (0..1) of row-major rows (see `score_row`).
    pub fn score(&self, x: &[f32]) -> Vec<f64> {
        let mut buffer = PointBuffer::new();
        x.chunks_exact(self.floor.len().max(1)).map(|row| self.score_row(row, &mut buffer)).collect()
    }

    /// One encoded row's novelty score (0..1), prepared in `buffer` (reused
    /// from row to row); a row outside the normal range scores at least
    /// half-way from the threshold to 1.
    pub fn score_row(&self, row: &[f32], buffer: &mut PointBuffer) -> f64 {
        novelty_score(self.forest_score(row, buffer), self.threshold)
    }

    /// The forest's score of one encoded row, and whether a value lies
    /// outside the normal range: `score_row` before the range rule, which
    /// depends on the threshold (see `novelty_score`).
    pub fn forest_score(&self, row: &[f32], buffer: &mut PointBuffer) -> (f64, bool) {
        let outside = self.prepare(row, buffer);
        (self.forest.score_buffer(buffer), outside)
    }

    /// `score_row` when it reaches the threshold, `None` otherwise — found
    /// without walking every tree for most normal rows.
    pub fn novel_score(&self, row: &[f32], buffer: &mut PointBuffer) -> Option<f64> {
        if self.prepare(row, buffer) {
            return Some(self.forest.score_buffer(buffer).max(self.outside_score()));
        }
        self.forest.score_buffer_at_least(buffer, self.threshold)
    }

    fn outside_score(&self) -> f64 {
        outside_score(self.threshold)
    }

    /// Writes `row` into `buffer` as the forest reads it; true when a value
    /// is outside the normal range.
    fn prepare(&self, row: &[f32], buffer: &mut PointBuffer) -> bool {
        let mut outside = false;
        let slots = buffer.features(self.floor.len());
        let bounds = self.lo.iter().zip(&self.hi);
        for (((slot, &v), &floor), (&lo, &hi)) in slots.iter_mut().zip(row).zip(&self.floor).zip(bounds) {
            // What the transform does besides the log: missing is 0.
            let v = if v.is_nan() { 0.0 } else { v }.max(floor);
            *slot = v;
            outside |= v > hi || v < lo;
        }
        outside
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
        assert_eq!(guard.anomaly_mass(scores[0]), 0.0, "a normal row keeps its class");
        assert!(guard.anomaly_mass(scores[1]) >= 0.5, "{scores:?}");
        assert_eq!(guard.anomaly_mass(1.0), 1.0);
        // The thresholds for the other rates are there for the folds to choose among: a higher rate, a lower line.
        assert_eq!(guard.threshold_at(0.01), Some(guard.threshold));
        let lines: Vec<f64> = RATES.iter().map(|&r| guard.threshold_at(r).unwrap()).collect();
        assert!(lines.windows(2).all(|w| w[0] >= w[1]) && lines[0] > lines[3], "{lines:?}");
        assert_eq!(Novelty::fit(&normal, 2, 0.03, 10, 1).unwrap().rate_thresholds.len(), RATES.len() + 1);
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
            // Stopping early never changes which rows are novel, nor their score.
            let mut buffer = PointBuffer::new();
            for (row, &full) in rows.chunks_exact(3).zip(&got) {
                let early = guard.novel_score(row, &mut buffer);
                proptest::prop_assert_eq!(early, (full >= guard.threshold).then_some(full));
            }
        }
    }
}
