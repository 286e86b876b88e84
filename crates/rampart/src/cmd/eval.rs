//! `rampart eval anomaly`: Isolation Forest on labelled data, scored on
//! rows it did not train on.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use rampart_ml::tabular::{Encoder, RawRows, parse_csv, parse_nsl_kdd};
use rampart_ml::{Confusion, ForestParams, IsolationForest, SplitMix64, roc_auc};
use serde_json::json;

use crate::cli::EvalAnomalyArgs;

fn load(path: &std::path::Path, args: &EvalAnomalyArgs) -> anyhow::Result<RawRows> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parsed = match args.format.as_str() {
        "nsl-kdd" => parse_nsl_kdd(&text),
        _ => parse_csv(&text, &args.label),
    };
    parsed.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Splits rows into train and test with a seeded shuffle (70 / 30).
fn hold_out(rows: RawRows, seed: u64) -> (RawRows, RawRows) {
    let mut order: Vec<usize> = (0..rows.cells.len()).collect();
    let mut rng = SplitMix64::new(seed ^ 0x7E57);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let cut = order.len() * 7 / 10;
    let pick = |idx: &[usize]| RawRows {
        columns: rows.columns.clone(),
        cells: idx.iter().map(|&i| rows.cells[i].clone()).collect(),
        labels: idx.iter().map(|&i| rows.labels[i].clone()).collect(),
    };
    (pick(&order[..cut]), pick(&order[cut..]))
}

pub fn anomaly(args: &EvalAnomalyArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((0.0..0.5).contains(&args.contamination), "--contamination must be in [0, 0.5)");
    let normal_label =
        args.normal.clone().unwrap_or_else(|| if args.format == "nsl-kdd" { "normal" } else { "BENIGN" }.into());
    let all = load(&args.train, args)?;
    let (train, test) = match &args.test {
        Some(path) => (all, load(path, args)?),
        None => hold_out(all, args.seed),
    };
    anyhow::ensure!(train.columns.len() == test.columns.len(), "--train and --test have different columns");
    let encoder = Encoder::fit(&train);
    let normal_rows: Vec<Vec<f64>> = train
        .cells
        .iter()
        .zip(&train.labels)
        .filter(|(_, label)| **label == normal_label)
        .map(|(cells, _)| encoder.encode(cells))
        .collect();
    anyhow::ensure!(!normal_rows.is_empty(), "no training row is labelled {normal_label:?} (see --normal)");
    let params = ForestParams { trees: args.trees, subsample: args.subsample, seed: args.seed };
    let started = Instant::now();
    let forest = IsolationForest::fit(&normal_rows, params).map_err(anyhow::Error::msg)?;
    let fit_secs = started.elapsed().as_secs_f64();
    let threshold = match args.threshold {
        Some(t) => t,
        None => {
            let mut train_scores = forest.score_many(&normal_rows);
            train_scores.sort_by(f64::total_cmp);
            let at = ((1.0 - args.contamination) * train_scores.len() as f64) as usize;
            train_scores[at.min(train_scores.len() - 1)]
        }
    };

    let points: Vec<Vec<f64>> = test.cells.iter().map(|c| encoder.encode(c)).collect();
    let started = Instant::now();
    let scores = forest.score_many(&points);
    let score_secs = started.elapsed().as_secs_f64();
    let scored: Vec<(f64, bool)> = scores.iter().zip(&test.labels).map(|(s, l)| (*s, *l != normal_label)).collect();
    let auc = roc_auc(&scored);
    let c = Confusion::at(&scored, threshold);
    let rate = points.len() as f64 / score_secs.max(1e-9);
    let attacks = scored.iter().filter(|(_, a)| *a).count();
    if args.json {
        println!(
            "{}",
            json!({
                "roc_auc": auc, "precision": c.precision(), "recall": c.recall(), "f1": c.f1(),
                "false_positive_rate": c.false_positive_rate(), "threshold": threshold,
                "train_normal_rows": normal_rows.len(), "test_rows": points.len(), "test_anomalies": attacks,
                "features": encoder.width(), "trees": args.trees, "subsample": args.subsample, "seed": args.seed,
                "fit_secs": fit_secs, "points_per_sec": rate,
                "held_out": args.test.is_none(),
            })
        );
    } else {
        println!(
            "eval anomaly: Isolation Forest ({} trees, ψ = {}, seed {}), {} features",
            args.trees,
            args.subsample,
            args.seed,
            encoder.width()
        );
        println!(
            "  trained on {} normal rows in {:.2}s; scored {} rows ({} anomalous){}",
            normal_rows.len(),
            fit_secs,
            points.len(),
            attacks,
            if args.test.is_none() { ", a held-out 30% of --train" } else { "" }
        );
        println!("  ROC AUC {auc:.4}");
        println!(
            "  at threshold {threshold:.4}: precision {:.4}  recall {:.4}  F1 {:.4}  false-positive rate {:.4}",
            c.precision(),
            c.recall(),
            c.f1(),
            c.false_positive_rate()
        );
        println!("  scoring: {rate:.0} points/s on one core");
    }
    Ok(ExitCode::SUCCESS)
}
