//! `rampart train payloads`: the labelled corpus in, a payload model file
//! out. Before the final fit on everything, each source is left out in
//! turn — trained on the others, scored on it — because a model that
//! learned one list's quirks fails on the next list (issue 17): those
//! leave-one-source-out figures are what the model is judged by, and they
//! are saved in the file. libinjection's `false_positives.txt`, never
//! trained on, is scored as hard negatives when it is there.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use rampart_ml::payload::model::{FORMAT, FORMAT_VERSION};
use rampart_ml::payload::{Context, PayloadClass, PayloadModel, PayloadScorer, decode, features, lex};
use rampart_ml::trees::{Algo, Ensemble, TrainParams, TrainSet};
use rampart_ml::validation::{ClassWeighting, class_weights};
use serde_json::{Value, json};

use super::corpus::{self, Sample};
use crate::args::TrainPayloadsArgs;

/// Feature rows for `samples`, row-major.
fn featurize(samples: &[&Sample]) -> Vec<f32> {
    let mut x = Vec::with_capacity(samples.len() * features::WIDTH);
    for s in samples {
        let decoded = decode(&s.value, s.context);
        features::features(&decoded, &lex(&decoded.text), &mut x);
    }
    x
}

fn fit(x: &[f32], y: &[u32], params: &TrainParams) -> anyhow::Result<Ensemble> {
    let k = PayloadClass::ALL.len();
    let weights = class_weights(y, k, ClassWeighting::Sqrt);
    let row_weight: Vec<f64> = y.iter().map(|&c| weights[c as usize]).collect();
    let set = TrainSet { x, width: features::WIDTH, y, k, weight: &row_weight };
    Ok(Ensemble::fit(&set, params, &|_, _| {})?)
}

/// How a scored set fared: per true class, rows and how many were called
/// an attack (any attack class) and the right class.
fn tally(y: &[u32], proba: &[f32]) -> BTreeMap<&'static str, Value> {
    let k = PayloadClass::ALL.len();
    let mut rows = [0u64; 5];
    let mut flagged = [0u64; 5];
    let mut right = [0u64; 5];
    for (truth, p) in y.iter().zip(proba.chunks_exact(k)) {
        let best = (0..k).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
        let t = *truth as usize;
        rows[t] += 1;
        flagged[t] += u64::from(best != 0);
        right[t] += u64::from(best == t);
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

pub fn run(args: &TrainPayloadsArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let corpus = corpus::load(&args.data, args.logs.as_deref())?;
    let mut params = TrainParams::for_algo(Algo::RandomForest, args.seed);
    params.trees = args.trees;
    params.max_depth = args.max_depth;
    let all: Vec<&Sample> = corpus.samples.iter().collect();
    let x = featurize(&all);
    let y: Vec<u32> = all.iter().map(|s| s.class.index() as u32).collect();
    let mut sources: Vec<&'static str> = all.iter().map(|s| s.source).collect();
    sources.sort_unstable();
    sources.dedup();
    let mut by_source = BTreeMap::new();
    for source in &sources {
        let mut counts = BTreeMap::new();
        for s in all.iter().filter(|s| s.source == *source) {
            *counts.entry(s.class.name()).or_insert(0u64) += 1;
        }
        by_source.insert(*source, counts);
    }
    if !args.json {
        println!(
            "train payloads: {} values after removing {} duplicates and {} conflicting ones",
            all.len(),
            corpus.duplicates,
            corpus.conflicts
        );
        for (source, counts) in &by_source {
            println!("  {source}: {counts:?}");
        }
    }

    let width = features::WIDTH;
    let mut left_out = BTreeMap::new();
    if !args.no_leave_out {
        for source in &sources {
            let (train, test): (Vec<usize>, Vec<usize>) = (0..all.len()).partition(|&r| all[r].source != *source);
            let pick = |rows: &[usize]| -> (Vec<f32>, Vec<u32>) {
                (
                    rows.iter().flat_map(|&r| x[r * width..][..width].iter().copied()).collect(),
                    rows.iter().map(|&r| y[r]).collect(),
                )
            };
            let (train_x, train_y) = pick(&train);
            let (test_x, test_y) = pick(&test);
            let scorer = PayloadScorer::new(fit(&train_x, &train_y, &params)?);
            let mut proba = Vec::new();
            scorer.predict(&test_x, &mut proba);
            let figures = tally(&test_y, &proba);
            if !args.json {
                println!("  left out {source} (trained on the rest): {}", serde_json::to_string(&figures)?);
            }
            left_out.insert(*source, figures);
        }
    }

    let model = fit(&x, &y, &params)?;
    let scorer = PayloadScorer::new(model.clone());
    let hard_negatives = hard_negatives(&args.data, &scorer)?;
    let metrics = json!({
        "values": all.len(), "duplicates": corpus.duplicates, "conflicts": corpus.conflicts,
        "by_source": by_source, "leave_one_source_out": left_out, "hard_negatives": hard_negatives,
    });
    let file = PayloadModel {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        rampart_version: env!("CARGO_PKG_VERSION").into(),
        created_ms: rampart_core::time::now_ms(),
        params,
        classes: PayloadClass::ALL.iter().map(|c| c.name().to_owned()).collect(),
        metrics: metrics.clone(),
        model,
    };
    rampart_core::atomic_file::write_atomically(&args.out, file.to_json().as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if args.json {
        println!("{}", json!({ "model": args.out, "secs": started.elapsed().as_secs_f64(), "metrics": metrics }));
    } else {
        if let Some(h) = hard_negatives.as_ref() {
            println!("  libinjection false_positives.txt (never trained on): {h}");
        }
        println!("  wrote {} in {:.1}s", args.out.display(), started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

/// libinjection's hard negatives, when the corpus has them: how many the
/// model calls an attack.
fn hard_negatives(dir: &Path, scorer: &PayloadScorer) -> anyhow::Result<Option<Value>> {
    let path = dir.join("libinjection/false_positives.txt");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let values: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
    let flagged = values.iter().filter(|v| scorer.judge(v, Context::Form).class != PayloadClass::Benign).count();
    Ok(Some(json!({ "rows": values.len(), "false_positive_rate": flagged as f64 / values.len().max(1) as f64 })))
}
