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

use crate::scoring::roc_auc;

/// The scores one leave-family-out fold produced: every row of the family
/// its model never saw, and the held-out normal rows.
#[derive(Debug, Clone, Default)]
pub struct FoldScores {
    pub family: String,
    pub attacks: Vec<f32>,
    pub normals: Vec<f32>,
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
    /// The family's rows against the normal rows, by attack score.
    pub roc_auc: f64,
}

/// A threshold on the attack score and the validation that chose it;
/// stored in the model file and used wherever the model decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// A row is an attack when 1 − P(normal) reaches this.
    pub threshold: f32,
    /// The bound on the false-positive rate it was chosen under.
    pub max_fpr: f64,
    /// The shipped model's false-positive rate on the held-out normal rows.
    pub held_out_fpr: f64,
    /// Mean over the folds at the threshold.
    pub mean_detected: f64,
    pub mean_fpr: f64,
    pub families: Vec<FamilyResult>,
}

/// The thresholds tried: a coarse grid, so one lucky gap between two
/// normal scores cannot pull the line to a value nothing else supports;
/// finer near zero, where boosted models put most normal rows.
fn candidates() -> impl Iterator<Item = f32> {
    [0.001, 0.002, 0.005, 0.01, 0.015].into_iter().chain((2..=98).map(|i| i as f32 / 100.0))
}

fn share_at_or_above(scores: &[f32], threshold: f32) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores.iter().filter(|&&s| s >= threshold).count() as f64 / scores.len() as f64
}

/// Each fold's figures at `threshold`.
pub fn at_threshold(folds: &[FoldScores], threshold: f32) -> Vec<FamilyResult> {
    folds
        .iter()
        .map(|f| {
            let mut scored: Vec<(f64, bool)> = f.attacks.iter().map(|&s| (f64::from(s), true)).collect();
            scored.extend(f.normals.iter().map(|&s| (f64::from(s), false)));
            FamilyResult {
                family: f.family.clone(),
                rows: f.attacks.len(),
                detected: share_at_or_above(&f.attacks, threshold),
                fpr: share_at_or_above(&f.normals, threshold),
                roc_auc: roc_auc(&scored),
            }
        })
        .collect()
}

fn means(results: &[FamilyResult]) -> (f64, f64) {
    let n = results.len().max(1) as f64;
    (results.iter().map(|r| r.detected).sum::<f64>() / n, results.iter().map(|r| r.fpr).sum::<f64>() / n)
}

/// The lowest grid threshold within `max_fpr` on both the folds' mean
/// false-positive rate and the shipped model's (`shipped_normals`: its
/// attack scores of the held-out normal rows); detection only falls as the
/// threshold rises, so the lowest is the best. The highest on the grid
/// when none is within.
pub fn choose(folds: &[FoldScores], shipped_normals: &[f32], max_fpr: f64) -> OperatingPoint {
    let n = folds.len().max(1) as f64;
    let threshold = candidates()
        .find(|&t| {
            folds.iter().map(|f| share_at_or_above(&f.normals, t)).sum::<f64>() / n <= max_fpr
                && share_at_or_above(shipped_normals, t) <= max_fpr
        })
        .unwrap_or(0.98);
    let families = at_threshold(folds, threshold);
    let (mean_detected, mean_fpr) = means(&families);
    let held_out_fpr = share_at_or_above(shipped_normals, threshold);
    OperatingPoint { threshold, max_fpr, held_out_fpr, mean_detected, mean_fpr, families }
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

    fn fold(family: &str, attacks: &[f32], normals: &[f32]) -> FoldScores {
        FoldScores { family: family.into(), attacks: attacks.to_vec(), normals: normals.to_vec() }
    }

    #[test]
    fn the_line_is_the_lowest_that_keeps_normal_rows_within_the_bound() {
        // 100 normal rows per fold: two score 0.3, one 0.6, the rest 0.
        let mut normals = vec![0.0; 97];
        normals.extend([0.3, 0.3, 0.6]);
        let folds = [fold("DoS", &[0.9, 0.7, 0.4, 0.2], &normals), fold("U2R", &[0.35, 0.1], &normals)];
        let point = choose(&folds, &normals, 0.01);
        assert_eq!(point.threshold, 0.31, "0.30 would flag 3% of normals");
        assert_eq!(point.families[0].detected, 0.75);
        assert_eq!(point.families[1].detected, 0.5);
        assert!((point.mean_fpr - 0.01).abs() < 1e-12);
        assert!((point.mean_detected - 0.625).abs() < 1e-12);
        let loose = choose(&folds, &normals, 0.05);
        assert_eq!(loose.threshold, 0.001, "every normal score but three is 0");
        let shipped: Vec<f32> = (0..100).map(|i| if i < 4 { 0.5 } else { 0.05 }).collect();
        let stricter = choose(&folds, &shipped, 0.05);
        assert_eq!(stricter.threshold, 0.06, "the shipped model's normals score higher: its line moves up");
        assert_eq!(stricter.held_out_fpr, 0.04);
        assert_eq!(stricter.families[0].detected, 1.0);
        let none = choose(&[fold("x", &[0.5], &[1.0])], &[], 0.0);
        assert_eq!(none.threshold, 0.98, "no grid value is within the bound: the strictest one");
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
