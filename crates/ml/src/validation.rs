//! Holding data out honestly: class labels numbered in a stable order,
//! stratified hold-out splits and k-fold assignments (seeded, so a run can
//! be repeated), class weights for imbalanced data, and the summary of a
//! cross-validation. Kept beside the learners so every caller (the CLI's
//! `train` and `eval`, tests, benches) splits the same way.

use serde::Serialize;

use crate::dataset::{self, Format, Table};
use crate::{Evaluation, SplitMix64};

/// A row whose label names no class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LabelError {
    pub line: u64,
    pub reason: String,
}

/// How much each class's rows weigh in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassWeighting {
    /// Each class weighs as much in total as the others.
    Balanced,
    /// The square root of balanced: helps rare classes without drowning the
    /// common ones.
    Sqrt,
    /// Every row weighs 1.
    None,
}

/// Rows with their class numbers, ready to split.
pub struct Labelled {
    pub classes: Vec<String>,
    pub normal: usize,
    pub y: Vec<u32>,
}

/// Class names in a stable order: normal first, NSL-KDD's categories in
/// their usual order, otherwise the rest by name.
pub fn label_rows(table: &Table, format: &Format, multi: bool) -> Result<Labelled, LabelError> {
    let mut names = Vec::with_capacity(table.labels.len());
    for (label, origin) in table.labels.iter().zip(&table.origins) {
        names.push(
            dataset::class_of(label, format, multi)
                .map_err(|e| LabelError { line: origin.line, reason: e.to_string() })?,
        );
    }
    let mut classes: Vec<String> = match (multi, format) {
        (false, _) => vec!["normal".into(), "attack".into()],
        (true, Format::NslKdd) => ["normal", "DoS", "Probe", "R2L", "U2R"].map(String::from).to_vec(),
        (true, _) => {
            let mut seen: Vec<String> = names.clone();
            seen.sort();
            seen.dedup();
            seen
        }
    };
    let normal_name = if multi && *format != Format::NslKdd { format.normal_label() } else { "normal" };
    let normal = match classes.iter().position(|c| c.eq_ignore_ascii_case(normal_name)) {
        Some(i) => i,
        None => {
            classes.insert(0, normal_name.to_owned());
            0
        }
    };
    let y = names.iter().map(|n| classes.iter().position(|c| c == n).unwrap_or(normal) as u32).collect();
    Ok(Labelled { classes, normal, y })
}

/// Per class, a seeded shuffle of its rows and the first `share` held out.
pub fn stratified_split(y: &[u32], k: usize, share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SplitMix64::new(seed ^ 0x5EED_5711);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for c in 0..k as u32 {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&r| y[r] == c).collect();
        rng.shuffle(&mut rows);
        let cut = (rows.len() as f64 * share).round() as usize;
        // A class with a single row trains rather than vanishing from training.
        let cut = if cut >= rows.len() && rows.len() < 2 { 0 } else { cut };
        test.extend_from_slice(&rows[..cut]);
        train.extend_from_slice(&rows[cut..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

pub fn subset(table: &Table, rows: &[usize]) -> Table {
    Table {
        columns: table.columns.clone(),
        rows: rows.iter().map(|&r| table.rows[r].clone()).collect(),
        labels: rows.iter().map(|&r| table.labels[r].clone()).collect(),
        origins: rows.iter().map(|&r| table.origins[r]).collect(),
        endpoints: if table.endpoints.len() == table.rows.len() {
            rows.iter().map(|&r| table.endpoints[r].clone()).collect()
        } else {
            Vec::new()
        },
    }
}

/// Class weights: balanced is n / (classes × n_c); sqrt its square root;
/// scaled so the mean row weighs 1 and leaf sizes keep meaning rows.
pub fn class_weights(y: &[u32], k: usize, how: ClassWeighting) -> Vec<f64> {
    let mut counts = vec![0usize; k];
    for &c in y {
        counts[c as usize] += 1;
    }
    let present = counts.iter().filter(|&&n| n > 0).count().max(1) as f64;
    let n = y.len() as f64;
    let raw: Vec<f64> = counts
        .iter()
        .map(|&c| {
            let balanced = if c == 0 { 0.0 } else { n / (present * c as f64) };
            match how {
                ClassWeighting::Balanced => balanced,
                ClassWeighting::Sqrt => balanced.sqrt(),
                ClassWeighting::None => 1.0,
            }
        })
        .collect();
    let mean: f64 = y.iter().map(|&c| raw[c as usize]).sum::<f64>() / n.max(1.0);
    raw.iter().map(|w| w / mean.max(1e-12)).collect()
}

/// Fold number per training row, stratified by class.
pub fn stratified_folds(y: &[u32], k: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed ^ 0xF01D);
    let mut fold_of = vec![0; y.len()];
    for c in 0..k as u32 {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&r| y[r] == c).collect();
        rng.shuffle(&mut rows);
        for (j, r) in rows.into_iter().enumerate() {
            fold_of[r] = j % folds;
        }
    }
    fold_of
}

/// Mean and standard deviation of one figure over the folds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub std: f64,
}

/// A k-fold cross-validation in brief.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossValidation {
    pub folds: usize,
    pub accuracy: Spread,
    pub macro_f1: Spread,
    pub recall: Spread,
    pub fpr: Spread,
    pub roc_auc: Spread,
}

/// The folds' evaluations, summarised.
pub fn cross_validation(folds: &[Evaluation]) -> CrossValidation {
    let spread = |f: &dyn Fn(&Evaluation) -> f64| {
        let v: Vec<f64> = folds.iter().map(f).collect();
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        Spread { mean, std }
    };
    CrossValidation {
        folds: folds.len(),
        accuracy: spread(&|e| e.accuracy),
        macro_f1: spread(&|e| e.macro_avg.f1),
        recall: spread(&|e| e.recall),
        fpr: spread(&|e| e.fpr),
        roc_auc: spread(&|e| e.roc_auc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_folds_keep_every_class_and_every_row_once() {
        let y: Vec<u32> = (0..100).map(|i| if i % 10 == 0 { 1 } else { 0 }).collect();
        let (train, test) = stratified_split(&y, 2, 0.2, 7);
        assert_eq!(train.len() + test.len(), 100);
        assert_eq!(test.iter().filter(|&&r| y[r] == 1).count(), 2, "a fifth of the rare class is held out");
        assert_eq!(stratified_split(&y, 2, 0.2, 7), (train, test), "seeded: the same split again");
        let folds = stratified_folds(&y, 2, 5, 7);
        for f in 0..5 {
            assert_eq!(folds.iter().zip(&y).filter(|(k, c)| **k == f && **c == 1).count(), 2);
        }
        let w = class_weights(&y, 2, ClassWeighting::Balanced);
        assert!((w[1] / w[0] - 9.0).abs() < 1e-9, "the rare class weighs nine times more");
    }
}
