//! `rampart eval flows`: a model file against labelled flows it did not
//! train on — metrics as text or JSON, and an optional Markdown report.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use rampart_ml::dataset::{Format, Table, family_of, merge_labels};
use rampart_ml::flow_model::{FlowModel, Scorer};
use rampart_ml::novelty::ANOMALY_CLASS;
use rampart_ml::{Evaluation, evaluate};
use serde_json::json;

use rampart_ml::validation::label_rows;

use crate::args::EvalFlowsArgs;
use crate::files;

pub fn load_model(path: &std::path::Path) -> anyhow::Result<FlowModel> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    FlowModel::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub fn run(args: &EvalFlowsArgs) -> anyhow::Result<ExitCode> {
    let model = load_model(&args.model)?;
    let mut loaded = files::load(&args.data)?;
    merge_labels(&mut loaded.table, &model.label_merges);
    let known: Vec<&String> = model.classes.iter().filter(|c| *c != ANOMALY_CLASS).collect();
    let multi = known != ["normal", "attack"];
    // A binary model scores any layout's rows as normal / attack; a
    // multi-class one needs labels in its own scheme.
    let scheme_format = if multi { &model.dataset } else { &loaded.format };
    if multi && !same_layout(&model.dataset, &loaded.format) {
        anyhow::bail!(
            "the model was trained on {} classes; --format {} labels do not map onto them",
            model.dataset.name(),
            loaded.format.name()
        );
    }
    let labelled = label_rows(&loaded.table, scheme_format, multi)?;
    let y: Vec<u32> = labelled
        .y
        .iter()
        .map(|&c| {
            let name = &labelled.classes[c as usize];
            model.classes.iter().position(|m| m == name).unwrap_or(model.normal_class) as u32
        })
        .collect();
    let unknown: Vec<&String> = labelled.classes.iter().filter(|c| !model.classes.contains(c)).collect();
    anyhow::ensure!(unknown.is_empty(), "the data has classes the model does not know: {unknown:?}");
    let scorer = model.compile();
    let (e, rate, proba) = measure(&scorer, &loaded.table, &y, &model.classes, model.normal_class)?;
    let seen = model
        .training_rows
        .as_ref()
        .map_or(0, |filter| loaded.table.rows.iter().filter(|r| filter.contains(r)).count());
    // The filter calls about one unseen row in a thousand seen.
    let overlap = seen as f64 / loaded.table.rows.len().max(1) as f64;
    let by_family = detection_by_family(&scorer, &proba, &loaded.table, &loaded.format);
    if let Some(dir) = &args.report {
        crate::report::write(dir, &model, &args.model, &e, &by_family, rate, &loaded.files)?;
    }
    if args.json {
        let mut out = serde_json::to_value(&e).context("cannot render the metrics")?;
        out["model"] = json!(model.name);
        out["algo"] = json!(model.algo.name());
        out["predictions_per_sec"] = json!(rate);
        out["skipped_rows"] = json!(loaded.skipped);
        out["data_sha256"] = json!(loaded.sha256);
        out["training_rows_seen"] = json!({ "rows": seen, "share": overlap });
        out["threshold"] = json!(scorer.threshold());
        out["detected_by_family"] = json!(by_family);
        println!("{out}");
    } else {
        println!(
            "eval flows: model {:?} ({}, {} trees) on {} ({} rows{})",
            model.name,
            model.algo.name(),
            model.model.trees.len(),
            files::describe(&loaded.files),
            e.rows,
            if loaded.skipped > 0 { format!(", {} bad rows skipped", loaded.skipped) } else { String::new() }
        );
        if overlap > 0.01 {
            println!(
                "  warning: {seen} of {} rows ({:.1}%) are rows this model was trained on: these figures are not held-out figures",
                e.rows,
                overlap * 100.0
            );
        }
        match scorer.threshold() {
            Some(t) => println!("  decision: attack when 1 − P(normal) ≥ {t:.2} (the model's operating point)"),
            None => println!("  decision: the likeliest class (the model has no operating point)"),
        }
        print_summary(&e, "scored");
        for f in &by_family {
            println!("  family {:<16} {:>8} rows  {:>5.1}% detected", f.family, f.rows, f.detected * 100.0);
        }
        println!("  inference: {rate:.0} predictions/s on one core (batch)");
        if let Some(dir) = &args.report {
            println!("  report: {}", dir.join("report.md").display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn same_layout(a: &Format, b: &Format) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

pub fn print_summary(e: &Evaluation, what: &str) {
    println!("  {what}: accuracy {:.4}", e.accuracy);
    println!(
        "  attack vs normal: precision {:.4}  recall {:.4}  F1 {:.4}  FPR {:.4}  ROC AUC {:.4}",
        e.precision, e.recall, e.f1, e.fpr, e.roc_auc
    );
    println!(
        "  macro: precision {:.4}  recall {:.4}  F1 {:.4}   weighted: precision {:.4}  recall {:.4}  F1 {:.4}",
        e.macro_avg.precision,
        e.macro_avg.recall,
        e.macro_avg.f1,
        e.weighted_avg.precision,
        e.weighted_avg.recall,
        e.weighted_avg.f1
    );
    println!(
        "  {:<28} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "F1", "FPR", "AUC", "support"
    );
    for name in &e.classes {
        if name == ANOMALY_CLASS {
            // Never a true class: what matters is how often the guard spoke.
            let i = e.classes.len() - 1;
            let flagged: u64 = e.confusion.iter().map(|row| row[i]).sum();
            println!(
                "  novelty guard: {flagged} rows called {ANOMALY_CLASS} ({:.2}%)",
                flagged as f64 * 100.0 / e.rows.max(1) as f64
            );
            continue;
        }
        if let Some(c) = e.per_class.get(name) {
            let interval =
                c.recall_interval.map(|(lo, hi)| format!("  recall 95% CI {lo:.2}–{hi:.2}")).unwrap_or_default();
            println!(
                "  {:<28} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>8}{interval}",
                name, c.precision, c.recall, c.f1, c.fpr, c.roc_auc, c.support
            );
        }
    }
}

/// One attack family's rows in a test file, and how many the model flagged.
#[derive(Debug, serde::Serialize)]
pub struct FamilyDetection {
    pub family: String,
    pub rows: usize,
    pub detected: f64,
}

/// Detection per attack family (`dataset::family_of` of each row's raw
/// label), at the model's own decision.
fn detection_by_family(scorer: &Scorer, proba: &[f32], table: &Table, format: &Format) -> Vec<FamilyDetection> {
    let k = proba.len() / table.rows.len().max(1);
    let mut counts: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for (label, p) in table.labels.iter().zip(proba.chunks(k.max(1))) {
        if let Some(family) = family_of(label, format) {
            let entry = counts.entry(family).or_default();
            entry.0 += 1;
            entry.1 += usize::from(scorer.decide(p) != scorer.normal());
        }
    }
    counts
        .into_iter()
        .map(|(family, (rows, hit))| FamilyDetection { family, rows, detected: hit as f64 / rows as f64 })
        .collect()
}

/// Scores a table with a fitted model; returns the evaluation, rows/s and
/// the probabilities.
pub fn measure(
    scorer: &Scorer,
    table: &Table,
    y: &[u32],
    classes: &[String],
    normal: usize,
) -> anyhow::Result<(Evaluation, f64, Vec<f32>)> {
    let x = scorer.preprocessing().encode_table(table).map_err(anyhow::Error::msg)?;
    let mut proba = Vec::new();
    let started = Instant::now();
    scorer.predict(&x, &mut proba);
    let rate = y.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    Ok((evaluate(y, &proba, classes, normal, scorer.threshold()), rate, proba))
}
