//! `rampart eval anomaly`: Isolation Forest on labelled data, scored on
//! rows it did not train on.

use std::process::ExitCode;
use std::time::Instant;

use std::collections::BTreeMap;

use rampart_ml::dataset::{Format, Table, family_of};
use rampart_ml::tabular::Encoder;
use rampart_ml::{Confusion, ForestParams, IsolationForest, SplitMix64, roc_auc};
use serde_json::json;

use crate::args::{DataFormat, EvalAnomalyArgs, LayoutArgs};
use rampart_ml::validation::subset;

/// The rows of one file, and how many bad rows `--skip-bad-rows` left out.
fn load(path: &std::path::Path, args: &EvalAnomalyArgs) -> anyhow::Result<(Table, u64)> {
    let format = if args.format == "nsl-kdd" { DataFormat::NslKdd } else { DataFormat::Csv };
    let layout = LayoutArgs { format, label: args.label.clone(), skip_bad_rows: args.skip_bad_rows };
    let loaded = crate::files::load_paths(&[path.to_path_buf()], &layout)?;
    Ok((loaded.table, loaded.skipped))
}

/// Splits rows into train and test with a seeded shuffle (70 / 30).
fn hold_out(rows: Table, seed: u64) -> (Table, Table) {
    let mut order: Vec<usize> = (0..rows.rows.len()).collect();
    let mut rng = SplitMix64::new(seed ^ 0x7E57);
    rng.shuffle(&mut order);
    let cut = order.len() * 7 / 10;
    (subset(&rows, &order[..cut]), subset(&rows, &order[cut..]))
}

/// Each attack family's rows against the normal rows: which kinds of
/// attack the forest separates and which look normal to it.
fn auc_by_family(scores: &[f64], labels: &[String], normal: &str, format: &str) -> Vec<(String, usize, f64)> {
    let format = if format == "nsl-kdd" { Format::NslKdd } else { Format::Csv { label: String::new() } };
    let normals: Vec<(f64, bool)> =
        scores.iter().zip(labels).filter(|(_, l)| *l == normal).map(|(s, _)| (*s, false)).collect();
    let mut families: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    for (s, label) in scores.iter().zip(labels) {
        if label != normal {
            let family = family_of(label, &format).unwrap_or_else(|| label.clone());
            families.entry(family).or_default().push((*s, true));
        }
    }
    families
        .into_iter()
        .map(|(family, mut rows)| {
            let n = rows.len();
            rows.extend_from_slice(&normals);
            (family, n, roc_auc(&rows))
        })
        .collect()
}

pub fn run(args: &EvalAnomalyArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((0.0..0.5).contains(&args.contamination), "--contamination must be in [0, 0.5)");
    let normal_label =
        args.normal.clone().unwrap_or_else(|| if args.format == "nsl-kdd" { "normal" } else { "BENIGN" }.into());
    let (all, mut skipped) = load(&args.train, args)?;
    let (train, test) = match &args.test {
        Some(path) => {
            let (test, more) = load(path, args)?;
            skipped += more;
            (all, test)
        }
        None => hold_out(all, args.seed),
    };
    anyhow::ensure!(train.columns.len() == test.columns.len(), "--train and --test have different columns");
    let encoder = Encoder::fit(&train);
    let normal_rows: Vec<Vec<f64>> = train
        .rows
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

    let points: Vec<Vec<f64>> = test.rows.iter().map(|c| encoder.encode(c)).collect();
    let started = Instant::now();
    let scores = forest.score_many(&points);
    let score_secs = started.elapsed().as_secs_f64();
    let scored: Vec<(f64, bool)> = scores.iter().zip(&test.labels).map(|(s, l)| (*s, *l != normal_label)).collect();
    let auc = roc_auc(&scored);
    let by_family = auc_by_family(&scores, &test.labels, &normal_label, &args.format);
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
                "held_out": args.test.is_none(), "skipped_rows": skipped, "roc_auc_by_family": by_family,
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
        if skipped > 0 {
            println!("  {skipped} bad rows skipped");
        }
        println!("  ROC AUC {auc:.4}");
        println!(
            "  at threshold {threshold:.4}: precision {:.4}  recall {:.4}  F1 {:.4}  false-positive rate {:.4}",
            c.precision(),
            c.recall(),
            c.f1(),
            c.false_positive_rate()
        );
        for (family, rows, auc) in &by_family {
            println!("  {family:<16} {rows:>8} rows  ROC AUC {auc:.4} (against the normal rows)");
        }
        println!("  scoring: {rate:.0} points/s on one core");
    }
    Ok(ExitCode::SUCCESS)
}
