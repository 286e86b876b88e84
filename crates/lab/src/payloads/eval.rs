//! `rampart eval payloads`: a payload model scored on labelled values it
//! did not train on — a web-payloads directory source by source, or plain
//! lists of one class each — with per-class detection and false-positive
//! rates per source, and pooled precision, recall, F1, FPR and ROC AUC.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use rampart_ml::payload::{Context, PayloadClass, PayloadModel};
use serde_json::{Value, json};

use super::corpus::{self, Sample};
use super::figures::{pooled_figures, tally};
use crate::args::EvalPayloadsArgs;

/// Labelled values grouped by the source they are reported under.
type Sources = BTreeMap<String, Vec<Sample>>;

pub fn run(args: &EvalPayloadsArgs) -> anyhow::Result<ExitCode> {
    let model = PayloadModel::load_or_shipped(args.model.as_deref()).map_err(anyhow::Error::msg)?;
    let threshold = args.threshold.unwrap_or(model.threshold);
    anyhow::ensure!((0.0..=1.0).contains(&threshold), "--threshold must be within 0..=1");
    let mut sources = Sources::new();
    if let Some(dir) = &args.data {
        read_directory(dir, &mut sources)?;
    }
    let context = if args.raw { Context::Other } else { Context::Form };
    for spec in &args.lines {
        read_list(spec, context, &mut sources)?;
    }
    anyhow::ensure!(sources.values().any(|s| !s.is_empty()), "no labelled values to score");

    let scorer = model.scorer();
    let mut scored: Vec<(&'static str, Vec<u32>, Vec<f32>)> = Vec::new();
    let mut report = BTreeMap::new();
    for (name, samples) in &sources {
        let y: Vec<u32> = samples.iter().map(|s| s.class.index() as u32).collect();
        let proba: Vec<f32> = samples.iter().flat_map(|s| scorer.probabilities(&s.value, s.context)).collect();
        scored.push(("", y, proba));
        let this = &scored[scored.len() - 1..];
        let (_, y, proba) = &this[0];
        let mut figures = json!({ "classes": tally(y, proba, threshold) });
        if y.contains(&0) && y.iter().any(|&c| c != 0) {
            figures["pooled"] = pooled_figures(this, threshold, 1);
        }
        report.insert(name.clone(), figures);
    }
    let pooled = pooled_figures(&scored, threshold, 1);
    if args.json {
        let model_name = args.model.as_ref().map_or_else(|| "shipped".to_owned(), |p| p.display().to_string());
        println!("{}", json!({ "model": model_name, "threshold": threshold, "sources": report, "pooled": pooled }));
    } else {
        println!("eval payloads at threshold {threshold:.2}:");
        for (name, figures) in &report {
            println!("  {name}: {}", figures_line(figures));
        }
        println!("  pooled: {}", pooled_line(&pooled));
    }
    Ok(ExitCode::SUCCESS)
}

/// The public sources under `dir`, each under its own name, and
/// libinjection's hard negatives as `libinjection-false-positives`.
fn read_directory(dir: &Path, sources: &mut Sources) -> anyhow::Result<()> {
    for sample in corpus::dedup(corpus::read_sources(dir)?).samples {
        sources.entry(sample.source.to_owned()).or_default().push(sample);
    }
    let hard = dir.join("libinjection/false_positives.txt");
    if hard.exists() {
        let text = std::fs::read_to_string(&hard).with_context(|| format!("cannot read {}", hard.display()))?;
        let values = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
        sources.insert(
            "libinjection-false-positives".into(),
            values.map(|v| sample(v, PayloadClass::Benign, Context::Form)).collect(),
        );
    }
    anyhow::ensure!(!sources.is_empty(), "no payload corpus under {}", dir.display());
    Ok(())
}

/// `CLASS=FILE`: every non-empty line of FILE, labelled CLASS.
fn read_list(spec: &str, context: Context, sources: &mut Sources) -> anyhow::Result<()> {
    let (class, file) = spec.split_once('=').with_context(|| format!("--lines {spec:?}: expected CLASS=FILE"))?;
    let class = PayloadClass::ALL.iter().copied().find(|c| c.name() == class).with_context(|| {
        format!("--lines {spec:?}: unknown class {class:?} (benign, sqli, xss, traversal, command_injection)")
    })?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {file}"))?;
    let text = String::from_utf8_lossy(&bytes);
    let values = text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty());
    sources.entry(format!("{file} ({})", class.name())).or_default().extend(values.map(|v| sample(v, class, context)));
    Ok(())
}

fn sample(value: &str, class: PayloadClass, context: Context) -> Sample {
    Sample { value: value.to_owned(), class, source: "eval", context }
}

fn figures_line(figures: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(classes) = figures["classes"].as_object() {
        for (class, f) in classes {
            let rows = f["rows"].as_u64().unwrap_or(0);
            parts.push(match f["false_positive_rate"].as_f64() {
                Some(fpr) => format!("{class} {rows} rows, {:.2}% flagged", fpr * 100.0),
                None => format!(
                    "{class} {rows} rows, {:.1}% detected ({:.1}% as {class})",
                    f["detected"].as_f64().unwrap_or(0.0) * 100.0,
                    f["right_class"].as_f64().unwrap_or(0.0) * 100.0
                ),
            });
        }
    }
    if figures["pooled"].is_object() {
        parts.push(pooled_line(&figures["pooled"]));
    }
    parts.join("; ")
}

fn pooled_line(p: &Value) -> String {
    let f = |k: &str| p[k].as_f64().unwrap_or(0.0);
    format!(
        "precision {:.3} recall {:.3} F1 {:.3} FPR {:.4} ROC AUC {:.3}",
        f("precision"),
        f("recall"),
        f("f1"),
        f("false_positive_rate"),
        f("roc_auc")
    )
}
