//! Where a flow model draws the line between normal and attack, chosen for
//! attacks it has not seen.
//!
//! A classifier's own line (the most probable class) is drawn for the
//! attack types in its training data; an attack type it never saw gets a
//! small attack probability, above normal traffic's but below one half.
//! So the threshold on the attack score (1 − P(normal)) is chosen on
//! leave-family-out folds instead: each fold's model never saw one attack
//! family, and the threshold is the one that detects the most of the
//! left-out families on average while the false-positive rate on held-out
//! normal rows stays within a bound — on average over the folds' models
//! and for the model that ships (whose scores are calibrated differently:
//! it learnt more attack classes).

use serde::{Deserialize, Serialize};

use crate::novelty::{anomaly_mass, novelty_score};
use crate::scoring::roc_auc;

/// Rows scored by one model: the classifier's attack score 1 − P(normal)
/// and, when the model has a novelty guard, each row's guard parts
/// (`Guard::forest_score`), from which its verdict at any guard threshold
/// follows.
#[derive(Debug, Clone, Default)]
pub struct Scored {
    pub attack: Vec<f32>,
    pub novelty: Vec<(f64, bool)>,
}

impl Scored {
    /// Each row's attack score as the model decides at `threshold` with its
    /// guard at `guard` (a guard threshold; `None` off), computed as
    /// `Scorer::predict` does: the guard judges the rows the classifier
    /// leaves under the threshold and moves its anomaly mass out of normal.
    fn decided(&self, threshold: f32, guard: Option<f64>) -> impl Iterator<Item = f32> + '_ {
        self.attack.iter().enumerate().map(move |(i, &s)| match (guard, self.novelty.get(i)) {
            (Some(g), Some(&parts)) if s < threshold => {
                let a = anomaly_mass(novelty_score(parts, g), g);
                1.0 - (1.0 - s) * (1.0 - a)
            }
            _ => s,
        })
    }

    /// The share of rows flagged at `threshold` with the guard at `guard`.
    fn flagged(&self, threshold: f32, guard: Option<f64>) -> f64 {
        if self.attack.is_empty() {
            return 0.0;
        }
        self.decided(threshold, guard).filter(|&s| s >= threshold).count() as f64 / self.attack.len() as f64
    }
}

/// The scores one leave-family-out fold produced: every row of the family
/// its model never saw, and the held-out normal rows; with the fold's
/// guard thresholds per rate (`Novelty::rate_thresholds`; empty: no guard).
#[derive(Debug, Clone, Default)]
pub struct FoldScores {
    pub family: String,
    pub attacks: Scored,
    pub normals: Scored,
    pub guard: Vec<(f64, f64)>,
}

/// The guard threshold at `rate` among `(rate, threshold)` pairs.
fn guard_at(thresholds: &[(f64, f64)], rate: Option<f64>) -> Option<f64> {
    let rate = rate?;
    thresholds.iter().find(|(r, _)| *r == rate).map(|(_, t)| *t)
}

/// How one left-out family fared at a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilyResult {
    pub family: String,
    pub rows: usize,
    /// Share of the family's rows at or above the threshold.
    pub detected: f64,
    /// Share of held-out normal rows at or above it, for this fold's model.
    pub fpr: f64,
    /// The family's rows against the normal rows, by attack score (the
    /// guard, at the chosen rate, judging every row).
    pub roc_auc: f64,
}

/// A threshold on the attack score and the validation that chose it;
/// stored in the model file and used wherever the model decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// A row is an attack when 1 − P(normal) reaches this.
    pub threshold: f32,
    /// The novelty guard's rate chosen with it (the share of normal
    /// training rows over the guard's threshold); `None`: no guard, or a
    /// file written before the rate was chosen (its guard ran at 1%).
    #[serde(default)]
    pub guard_rate: Option<f64>,
    /// The bound on the false-positive rate it was chosen under.
    pub max_fpr: f64,
    /// The shipped model's false-positive rate on the held-out normal rows.
    pub held_out_fpr: f64,
    /// Mean over the folds at the threshold.
    pub mean_detected: f64,
    pub mean_fpr: f64,
    pub families: Vec<FamilyResult>,
    /// The best point at each guard rate tried, the chosen one among them.
    #[serde(default)]
    pub by_guard_rate: Vec<RatePoint>,
}

/// The point one guard rate gave: what the choice was made among.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    pub guard_rate: Option<f64>,
    pub threshold: f32,
    pub mean_detected: f64,
    pub mean_fpr: f64,
    pub held_out_fpr: f64,
}

/// The thresholds tried: a coarse grid, so one lucky gap between two
/// normal scores cannot pull the line to a value nothing else supports;
/// finer near zero, where boosted models put most normal rows.
fn candidates() -> impl Iterator<Item = f32> {
    [0.001, 0.002, 0.005, 0.01, 0.015].into_iter().chain((2..=98).map(|i| i as f32 / 100.0))
}

/// Each fold's figures at `threshold` with the guard at `rate`.
pub fn at_threshold(folds: &[FoldScores], threshold: f32, rate: Option<f64>) -> Vec<FamilyResult> {
    folds
        .iter()
        .map(|f| {
            let guard = guard_at(&f.guard, rate);
            let mut scored: Vec<(f64, bool)> =
                f.attacks.decided(f32::INFINITY, guard).map(|s| (f64::from(s), true)).collect();
            scored.extend(f.normals.decided(f32::INFINITY, guard).map(|s| (f64::from(s), false)));
            FamilyResult {
                family: f.family.clone(),
                rows: f.attacks.attack.len(),
                detected: f.attacks.flagged(threshold, guard),
                fpr: f.normals.flagged(threshold, guard),
                roc_auc: roc_auc(&scored),
            }
        })
        .collect()
}

fn means(results: &[FamilyResult]) -> (f64, f64) {
    let n = results.len().max(1) as f64;
    (results.iter().map(|r| r.detected).sum::<f64>() / n, results.iter().map(|r| r.fpr).sum::<f64>() / n)
}

/// The shipped model's scores of the held-out normal rows, and its guard
/// thresholds per rate.
pub struct Shipped<'a> {
    pub normals: &'a Scored,
    pub guard: &'a [(f64, f64)],
}

/// For each guard rate in `rates` (`None`: the guard off), the lowest grid
/// threshold within `max_fpr` on both the folds' mean false-positive rate
/// and the shipped model's — detection only falls as the threshold rises,
/// so the lowest is the best, or the highest on the grid when none is
/// within; then the rate whose point detects the most of the left-out
/// families on average (the fewer false positives, then the earlier rate,
/// on a tie).
pub fn choose(folds: &[FoldScores], shipped: &Shipped<'_>, max_fpr: f64, rates: &[Option<f64>]) -> OperatingPoint {
    let n = folds.len().max(1) as f64;
    let point = |rate: Option<f64>| {
        let threshold = candidates()
            .find(|&t| {
                folds.iter().map(|f| f.normals.flagged(t, guard_at(&f.guard, rate))).sum::<f64>() / n <= max_fpr
                    && shipped.normals.flagged(t, guard_at(shipped.guard, rate)) <= max_fpr
            })
            .unwrap_or(0.98);
        let families = at_threshold(folds, threshold, rate);
        let (mean_detected, mean_fpr) = means(&families);
        let held_out_fpr = shipped.normals.flagged(threshold, guard_at(shipped.guard, rate));
        OperatingPoint {
            threshold,
            guard_rate: rate,
            max_fpr,
            held_out_fpr,
            mean_detected,
            mean_fpr,
            families,
            by_guard_rate: Vec::new(),
        }
    };
    let mut best: Option<OperatingPoint> = None;
    let mut tried = Vec::new();
    for &rate in rates {
        let p = point(rate);
        tried.push(RatePoint {
            guard_rate: rate,
            threshold: p.threshold,
            mean_detected: p.mean_detected,
            mean_fpr: p.mean_fpr,
            held_out_fpr: p.held_out_fpr,
        });
        let better = best.as_ref().is_none_or(|b| {
            p.mean_detected > b.mean_detected || (p.mean_detected == b.mean_detected && p.mean_fpr < b.mean_fpr)
        });
        if better {
            best = Some(p);
        }
    }
    let mut best = best.unwrap_or_else(|| point(None));
    best.by_guard_rate = tried;
    best
}

/// Each row's attack score, 1 − P(normal), from `k` probabilities per row.
pub fn attack_scores(proba: &[f32], k: usize, normal: usize) -> Vec<f32> {
    proba.chunks(k.max(1)).map(|p| 1.0 - p[normal]).collect()
}

/// The class a row of probabilities is given: without an operating point,
/// the most probable one; with one, an attack when 1 − P(normal) reaches
/// the threshold — then the most probable of the other classes — and
/// normal otherwise.
pub fn decide(p: &[f32], normal: usize, threshold: Option<f32>) -> usize {
    let Some(t) = threshold else { return crate::argmax(p) };
    if 1.0 - p[normal] < t {
        return normal;
    }
    (0..p.len()).filter(|&c| c != normal).fold(
        usize::MAX,
        |best, c| {
            if best == usize::MAX || p[c] > p[best] { c } else { best }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(attack: &[f32]) -> Scored {
        Scored { attack: attack.to_vec(), novelty: Vec::new() }
    }

    fn fold(family: &str, attacks: &[f32], normals: &[f32]) -> FoldScores {
        FoldScores { family: family.into(), attacks: scored(attacks), normals: scored(normals), guard: Vec::new() }
    }

    fn choose_unguarded(folds: &[FoldScores], shipped: &[f32], max_fpr: f64) -> OperatingPoint {
        choose(folds, &Shipped { normals: &scored(shipped), guard: &[] }, max_fpr, &[None])
    }

    #[test]
    fn the_line_is_the_lowest_that_keeps_normal_rows_within_the_bound() {
        // 100 normal rows per fold: two score 0.3, one 0.6, the rest 0.
        let mut normals = vec![0.0; 97];
        normals.extend([0.3, 0.3, 0.6]);
        let folds = [fold("DoS", &[0.9, 0.7, 0.4, 0.2], &normals), fold("U2R", &[0.35, 0.1], &normals)];
        let point = choose_unguarded(&folds, &normals, 0.01);
        assert_eq!(point.threshold, 0.31, "0.30 would flag 3% of normals");
        assert_eq!(point.families[0].detected, 0.75);
        assert_eq!(point.families[1].detected, 0.5);
        assert!((point.mean_fpr - 0.01).abs() < 1e-12);
        assert!((point.mean_detected - 0.625).abs() < 1e-12);
        let loose = choose_unguarded(&folds, &normals, 0.05);
        assert_eq!(loose.threshold, 0.001, "every normal score but three is 0");
        let shipped: Vec<f32> = (0..100).map(|i| if i < 4 { 0.5 } else { 0.05 }).collect();
        let stricter = choose_unguarded(&folds, &shipped, 0.05);
        assert_eq!(stricter.threshold, 0.06, "the shipped model's normals score higher: its line moves up");
        assert_eq!(stricter.held_out_fpr, 0.04);
        assert_eq!(stricter.families[0].detected, 1.0);
        let none = choose_unguarded(&[fold("x", &[0.5], &[1.0])], &[], 0.0);
        assert_eq!(none.threshold, 0.98, "no grid value is within the bound: the strictest one");
    }

    /// A family the classifier scores like normal traffic but the guard
    /// finds: the guard's rate is chosen with the line, and its false
    /// positives count against the same bound.
    #[test]
    fn the_guard_rate_is_chosen_with_the_line_under_the_same_bound() {
        // Guard thresholds: 0.7 at a 1% rate, 0.6 at 2%.
        let guard = vec![(0.01, 0.7), (0.02, 0.6)];
        // 100 normal rows: classifier score 0 for all; guard scores: one at 0.75, one at 0.65, the rest 0.4.
        let mut normal_parts = vec![(0.4, false); 98];
        normal_parts.extend([(0.75, false), (0.65, false)]);
        let normals = Scored { attack: vec![0.0; 100], novelty: normal_parts };
        // Ten attacks the classifier misses: guard scores 0.8 (4 rows), 0.62 (3), 0.3 (3).
        let mut attack_parts = vec![(0.8, false); 4];
        attack_parts.extend([(0.62, false); 3]);
        attack_parts.extend([(0.3, false); 3]);
        let attacks = Scored { attack: vec![0.0; 10], novelty: attack_parts };
        let folds = [FoldScores { family: "R2L".into(), attacks, normals: normals.clone(), guard: guard.clone() }];
        let shipped = Shipped { normals: &normals, guard: &guard };
        let rates = [None, Some(0.01), Some(0.02)];
        let point = choose(&folds, &shipped, 0.02, &rates);
        assert_eq!(point.guard_rate, Some(0.02), "the 2% guard finds 7 of 10 within a 2% bound");
        assert!((point.mean_detected - 0.7).abs() < 1e-12);
        assert!((point.held_out_fpr - 0.02).abs() < 1e-12);
        let tight = choose(&folds, &shipped, 0.01, &rates);
        assert_eq!(tight.guard_rate, Some(0.01), "a 1% bound leaves room for the 1% guard only");
        assert!((tight.mean_detected - 0.4).abs() < 1e-12);
        // With no false positive allowed, the line rises above the normal rows' anomaly mass (0.58) but
        // not the strongest attacks' (0.67): the guard's mass is graded by how far past its threshold a row is.
        let strict = choose(&folds, &shipped, 0.0, &rates);
        assert_eq!((strict.guard_rate, strict.threshold), (Some(0.01), 0.59));
        assert!((strict.mean_detected - 0.4).abs() < 1e-12 && strict.mean_fpr == 0.0);
        // A guard that finds none of the family only adds false positives: it is off.
        let unseen = Scored { attack: vec![0.0; 10], novelty: vec![(0.3, false); 10] };
        let blind =
            [FoldScores { family: "R2L".into(), attacks: unseen, normals: normals.clone(), guard: guard.clone() }];
        let off = choose(&blind, &shipped, 0.02, &rates);
        assert_eq!(off.guard_rate, None);
        assert_eq!((off.mean_detected, off.mean_fpr), (0.0, 0.0));
        let tried: Vec<Option<f64>> = off.by_guard_rate.iter().map(|p| p.guard_rate).collect();
        assert_eq!(tried, rates, "every rate's point is reported");
        // A row outside the normal range is novel at any threshold (half-way to 1).
        let outside = Scored { attack: vec![0.0], novelty: vec![(0.1, true)] };
        assert_eq!(outside.flagged(0.5, Some(0.7)), 1.0);
    }

    #[test]
    fn a_threshold_below_one_half_turns_a_normal_verdict_into_the_likeliest_attack() {
        let p = [0.6, 0.1, 0.3];
        assert_eq!(decide(&p, 0, None), 0);
        assert_eq!(decide(&p, 0, Some(0.5)), 0);
        assert_eq!(decide(&p, 0, Some(0.35)), 2);
        assert_eq!(decide(&[0.2, 0.8], 0, Some(0.9)), 0, "a strict line keeps a weak attack verdict normal");
        assert_eq!(decide(&[0.2, 0.8], 1, Some(0.5)), 1, "normal need not be class 0");
        assert_eq!(decide(&[0.45, 0.55], 0, Some(0.5)), 1);
    }
}
