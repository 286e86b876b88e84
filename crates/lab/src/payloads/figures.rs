//! Figures for scored payload values, shared by `train payloads` (on
//! left-out sources) and `eval payloads` (on any labelled set): per class
//! detection and false-positive rates, and pooled precision, recall, F1,
//! false-positive rate and ROC AUC.

use std::collections::BTreeMap;

use rampart_ml::payload::PayloadClass;
use rampart_ml::payload::model::{attack_probability, decide};
use serde_json::{Value, json};

/// How a scored set fared at `threshold`: per true class, rows and how
/// many were called an attack (any attack class) and the right class.
pub(crate) fn tally(y: &[u32], proba: &[f32], threshold: f32) -> BTreeMap<&'static str, Value> {
    let k = PayloadClass::ALL.len();
    let mut rows = [0u64; 5];
    let mut flagged = [0u64; 5];
    let mut right = [0u64; 5];
    for (truth, p) in y.iter().zip(proba.chunks_exact(k)) {
        let (class, _) = decide(p, threshold);
        let t = *truth as usize;
        rows[t] += 1;
        flagged[t] += u64::from(class != PayloadClass::Benign);
        right[t] += u64::from(class.index() == t);
    }
    PayloadClass::ALL
        .iter()
        .filter(|c| rows[c.index()] > 0)
        .map(|c| {
            let i = c.index();
            let share = |n: u64| n as f64 / rows[i] as f64;
            let figures = if *c == PayloadClass::Benign {
                json!({ "rows": rows[i], "false_positive_rate": share(flagged[i]) })
            } else {
                json!({ "rows": rows[i], "detected": share(flagged[i]), "right_class": share(right[i]) })
            };
            (c.name(), figures)
        })
        .collect()
}

/// One scored set's figures over several draws of the models that scored
/// it (the rows are the same every draw): each rate the draws' mean, with
/// the lowest and highest one draw had (`detected_range` or
/// `false_positive_rate_range`) — how far the draw alone moves the figure.
pub(crate) fn mean_of_draws(per_draw: &[BTreeMap<&'static str, Value>]) -> BTreeMap<&'static str, Value> {
    let Some(first) = per_draw.first() else { return BTreeMap::new() };
    first
        .iter()
        .map(|(class, figures)| {
            let rates =
                |key: &str| -> Vec<f64> { per_draw.iter().filter_map(|d| d.get(class)?[key].as_f64()).collect() };
            let mut mean = figures.clone();
            for key in
                ["detected", "right_class", "false_positive_rate"].into_iter().filter(|k| figures.get(k).is_some())
            {
                let drawn = rates(key);
                mean[key] = json!(drawn.iter().sum::<f64>() / drawn.len() as f64);
                if key != "right_class" {
                    let low = drawn.iter().copied().fold(f64::INFINITY, f64::min);
                    let high = drawn.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    mean[format!("{key}_range")] = json!([low, high]);
                }
            }
            (*class, mean)
        })
        .collect()
}

/// Attack-vs-benign figures over every left-out prediction at
/// `threshold`: precision, recall, F1, false-positive rate and ROC AUC, and
/// per attack class one-vs-rest precision, recall and F1 (by predicted class).
/// Each value may have been scored `draws` times (once by each draw of the
/// models); the rates are then the draws' mean and `rows` still counts values.
pub(crate) fn pooled_figures(scored: &[(&'static str, Vec<u32>, Vec<f32>)], threshold: f32, draws: u64) -> Value {
    let k = PayloadClass::ALL.len();
    let mut ranked = Vec::new();
    let mut confusion = [[0u64; 5]; 5];
    for (_, y, proba) in scored {
        for (truth, p) in y.iter().zip(proba.chunks_exact(k)) {
            ranked.push((f64::from(attack_probability(p)), *truth != 0));
            confusion[*truth as usize][decide(p, threshold).0.index()] += 1;
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let f1 = |p: f64, r: f64| if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
    let attack_rows: u64 = confusion[1..].iter().flatten().sum();
    let caught: u64 = confusion[1..].iter().map(|row| row[1..].iter().sum::<u64>()).sum();
    let flagged_benign: u64 = confusion[0][1..].iter().sum();
    let benign_rows: u64 = confusion[0].iter().sum();
    let (precision, recall) = (ratio(caught, caught + flagged_benign), ratio(caught, attack_rows));
    let per_class: BTreeMap<&str, Value> = PayloadClass::ALL[1..]
        .iter()
        .map(|c| {
            let i = c.index();
            let predicted: u64 = (0..k).map(|t| confusion[t][i]).sum();
            let actual: u64 = confusion[i].iter().sum();
            let (p, r) = (ratio(confusion[i][i], predicted), ratio(confusion[i][i], actual));
            (c.name(), json!({ "precision": p, "recall": r, "f1": f1(p, r), "rows": actual / draws.max(1) }))
        })
        .collect();
    json!({
        "precision": precision, "recall": recall, "f1": f1(precision, recall),
        "false_positive_rate": ratio(flagged_benign, benign_rows),
        "roc_auc": rampart_ml::roc_auc(&ranked), "per_class": per_class,
    })
}
