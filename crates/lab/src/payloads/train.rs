//! `rampart train payloads`: the labelled corpus in, a payload model file
//! out. Before the final fit on everything, each source is left out in
//! turn — trained on the others, scored on it — because a model that
//! learned one list's quirks fails on the next list (issue 17): those
//! leave-one-source-out figures are what the model is judged by, and they
//! are saved in the file. They are drawn several times (`--draws`, other
//! seeds) and averaged: one draw's figures move by points, and a threshold
//! chosen on one draw follows its noise. libinjection's `false_positives.txt`, never
//! trained on, is scored as hard negatives when it is there.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use rampart_ml::payload::model::{FORMAT, FORMAT_VERSION};
use rampart_ml::payload::model::{attack_probability, decide};
use rampart_ml::payload::{
    Context, Lexes, PayloadClass, PayloadModel, PayloadScorer, breakout, decode, features, gate,
};
use rampart_ml::trees::{Algo, Ensemble, TrainParams, TrainSet};
use rampart_ml::validation::{ClassWeighting, class_weights};
use serde_json::{Value, json};

use super::corpus::{self, Sample};
use super::figures::{mean_of_draws, pooled_figures, tally};
use crate::args::TrainPayloadsArgs;

/// Feature rows for `samples`, row-major, the classes each can be
/// (`gate`), and the class each is certain of by its shape (`breakout`).
fn featurize(samples: &[&Sample]) -> (Vec<f32>, Vec<[bool; 5]>, Vec<Option<PayloadClass>>) {
    let mut x = Vec::with_capacity(samples.len() * features::WIDTH);
    let mut possible = Vec::with_capacity(samples.len());
    let mut breakouts = Vec::with_capacity(samples.len());
    for s in samples {
        let decoded = decode(&s.value, s.context);
        let lexes = Lexes::of(&decoded.text);
        features::features(&decoded, &lexes, &mut x);
        let allowed = gate::possible(&decoded.text, &lexes);
        breakouts.push(breakout::certain(&decoded, &allowed));
        possible.push(allowed);
    }
    (x, possible, breakouts)
}

/// One left-out source's true classes and predicted probabilities.
type Scored = (&'static str, Vec<u32>, Vec<f32>);

/// The featurized corpus, row-aligned with the samples.
struct Rows<'a> {
    x: &'a [f32],
    y: &'a [u32],
    possible: &'a [[bool; 5]],
    breakouts: &'a [Option<PayloadClass>],
    /// Rows the gate allows their own class: the only ones learnt from.
    learnable: &'a [bool],
}

/// For each source (`tested`: its rows), a forest trained on the other
/// sources' learnable rows scores every row of it (settled by the gate and
/// the shapes, as the scorer does).
fn leave_each_source_out(
    sources: &[&'static str],
    tested: &[Vec<usize>],
    rows: &Rows<'_>,
    params: &TrainParams,
) -> anyhow::Result<Vec<Scored>> {
    let (width, k) = (features::WIDTH, PayloadClass::ALL.len());
    let pick = |picked: &[usize]| -> (Vec<f32>, Vec<u32>) {
        (
            picked.iter().flat_map(|&r| rows.x[r * width..][..width].iter().copied()).collect(),
            picked.iter().map(|&r| rows.y[r]).collect(),
        )
    };
    let mut scored = Vec::new();
    for (source, test) in sources.iter().zip(tested) {
        let mut left_out = vec![false; rows.y.len()];
        for &r in test {
            left_out[r] = true;
        }
        let train: Vec<usize> = (0..rows.y.len()).filter(|&r| !left_out[r] && rows.learnable[r]).collect();
        let (train_x, train_y) = pick(&train);
        let (test_x, test_y) = pick(test);
        let scorer = PayloadScorer::new(fit(&train_x, &train_y, params)?, 0.5);
        let mut proba = Vec::new();
        scorer.predict(&test_x, &mut proba);
        for (row, &r) in proba.chunks_exact_mut(k).zip(test) {
            gate::settle(row, &rows.possible[r], rows.breakouts[r]);
        }
        scored.push((*source, test_y, proba));
    }
    Ok(scored)
}

fn fit(x: &[f32], y: &[u32], params: &TrainParams) -> anyhow::Result<Ensemble> {
    let k = PayloadClass::ALL.len();
    let weights = class_weights(y, k, ClassWeighting::Sqrt);
    let row_weight: Vec<f64> = y.iter().map(|&c| weights[c as usize]).collect();
    let set = TrainSet { x, width: features::WIDTH, y, k, weight: &row_weight };
    Ok(Ensemble::fit(&set, params, &|_, _| {})?)
}

/// Left-out figures at a range of thresholds, macro-averaged: the mean
/// detection rate over (source, attack class) cells and the mean false
/// positive rate over sources with benign rows.
fn operating_curve(scored: &[(&'static str, Vec<u32>, Vec<f32>)]) -> Vec<Value> {
    let k = PayloadClass::ALL.len();
    (1..20)
        .map(|step| {
            let threshold = step as f32 * 0.05;
            let (mut recalls, mut fprs) = (Vec::new(), Vec::new());
            for (_, y, proba) in scored {
                for class in 0..k {
                    let rows: Vec<&[f32]> = y
                        .iter()
                        .zip(proba.chunks_exact(k))
                        .filter(|(c, _)| **c as usize == class)
                        .map(|(_, p)| p)
                        .collect();
                    if rows.is_empty() {
                        continue;
                    }
                    let flagged =
                        rows.iter().filter(|p| attack_probability(p) >= threshold).count() as f64 / rows.len() as f64;
                    if class == 0 { fprs.push(flagged) } else { recalls.push(flagged) }
                }
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            json!({ "threshold": threshold, "mean_detection": mean(&recalls), "mean_false_positive_rate": mean(&fprs) })
        })
        .collect()
}

/// The draws' curves averaged point by point (they share the grid).
fn mean_curve(curves: &[Vec<Value>]) -> Vec<Value> {
    let Some(first) = curves.first() else { return Vec::new() };
    let mean = |i: usize, key: &str| {
        curves.iter().map(|c| c[i][key].as_f64().unwrap_or(0.0)).sum::<f64>() / curves.len() as f64
    };
    first
        .iter()
        .enumerate()
        .map(|(i, point)| {
            json!({
                "threshold": point["threshold"],
                "mean_detection": mean(i, "mean_detection"),
                "mean_false_positive_rate": mean(i, "mean_false_positive_rate"),
            })
        })
        .collect()
}

/// The threshold of the curve where the mean detection rate minus
/// `false_positive_cost` times the mean false-positive rate is highest
/// (Youden's J when the cost is 1; means are per source and class so a big
/// list does not outvote a small one): chosen on sources the scoring
/// models never saw, not on the training fit.
fn choose_threshold(curve: &[Value], false_positive_cost: f64) -> f32 {
    let j = |p: &Value| {
        p["mean_detection"].as_f64().unwrap_or(0.0)
            - false_positive_cost * p["mean_false_positive_rate"].as_f64().unwrap_or(1.0)
    };
    curve.iter().max_by(|a, b| j(a).total_cmp(&j(b))).and_then(|p| p["threshold"].as_f64()).map_or(0.5, |t| t as f32)
}

pub fn run(args: &TrainPayloadsArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let corpus = corpus::load(&args.data, args.logs.as_deref())?;
    if let Some(path) = &args.corpus_out {
        corpus::write_json_lines(&corpus.samples, path)?;
    }
    let mut params = TrainParams::for_algo(Algo::RandomForest, args.seed);
    params.trees = args.trees;
    params.max_depth = args.max_depth;
    let all: Vec<&Sample> = corpus.samples.iter().collect();
    let (x, possible, breakouts) = featurize(&all);
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

    // The gate's own cost: attacks whose structure rules out their labelled class.
    let mut gated_out: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (sample, can) in all.iter().zip(&possible) {
        if !can[sample.class.index()] {
            *gated_out.entry(sample.class.name()).or_default() += 1;
        }
    }
    if !args.json {
        println!("  attacks the structural gate rules out of their class: {gated_out:?}");
    }
    // Rows the gate rules out of their own class are not learned from (the
    // scorer could never call them that class; learning them only teaches
    // that harmless-looking text is an attack); they are still scored.
    let learnable: Vec<bool> = all.iter().zip(&possible).map(|(s, can)| can[s.class.index()]).collect();
    let width = features::WIDTH;
    let rows = Rows { x: &x, y: &y, possible: &possible, breakouts: &breakouts, learnable: &learnable };
    // One list of left-out predictions per draw, each source scored by a
    // model that never saw it; the rows they score are the same every draw.
    let tested: Vec<Vec<usize>> =
        sources.iter().map(|source| (0..all.len()).filter(|&r| all[r].source == *source).collect()).collect();
    let mut draws: Vec<Vec<Scored>> = Vec::new();
    if !args.no_leave_out {
        for draw in 0..args.draws {
            let mut drawn = params.clone();
            drawn.seed = args.seed.wrapping_add(draw);
            draws.push(leave_each_source_out(&sources, &tested, &rows, &drawn)?);
        }
    }
    let curve = mean_curve(&draws.iter().map(|scored| operating_curve(scored)).collect::<Vec<_>>());
    let threshold = match args.threshold {
        Some(fixed) => fixed,
        None if args.no_leave_out => 0.5,
        None => choose_threshold(&curve, args.false_positive_cost),
    };
    // Every draw's predictions together: rates over them are the draws' mean.
    let pooled_draws: Vec<Scored> = draws.iter().flatten().cloned().collect();
    let pooled = pooled_figures(&pooled_draws, threshold, draws.len() as u64);
    if !args.json {
        println!("  pooled over left-out sources ({} draws): {pooled}", draws.len());
    }
    let mut left_out = BTreeMap::new();
    for (i, source) in sources.iter().enumerate().filter(|_| !draws.is_empty()) {
        let per_draw: Vec<_> = draws.iter().map(|scored| tally(&scored[i].1, &scored[i].2, threshold)).collect();
        let figures = mean_of_draws(&per_draw);
        if !args.json {
            println!("  left out {source} (trained on the rest): {}", serde_json::to_string(&figures)?);
        }
        left_out.insert(*source, figures);
    }

    if let Some(path) = &args.misses_out {
        write_misses(path, &all, &draws, &tested, threshold)?;
    }

    let keep: Vec<usize> = (0..all.len()).filter(|&r| learnable[r]).collect();
    let keep_x: Vec<f32> = keep.iter().flat_map(|&r| x[r * width..][..width].iter().copied()).collect();
    let keep_y: Vec<u32> = keep.iter().map(|&r| y[r]).collect();
    let model = fit(&keep_x, &keep_y, &params)?;
    let scorer = PayloadScorer::new(model.clone(), threshold);
    let hard_negatives = hard_negatives(&args.data, &scorer)?;
    let metrics = json!({
        "values": all.len(), "duplicates": corpus.duplicates, "conflicts": corpus.conflicts,
        "by_source": by_source, "threshold": threshold, "false_positive_cost": args.false_positive_cost,
        "draws": draws.len(),
        "gated_out": gated_out, "pooled_left_out": pooled, "leave_one_source_out": left_out, "operating_curve": curve, "hard_negatives": hard_negatives,
    });
    let file = PayloadModel {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        rampart_version: env!("CARGO_PKG_VERSION").into(),
        created_ms: rampart_core::time::now_ms(),
        params,
        classes: PayloadClass::ALL.iter().map(|c| c.name().to_owned()).collect(),
        metrics: metrics.clone(),
        threshold,
        model,
    };
    rampart_core::atomic_file::write_atomically(&args.out, file.to_json().as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if args.json {
        println!("{}", json!({ "model": args.out, "secs": started.elapsed().as_secs_f64(), "metrics": metrics }));
    } else {
        println!(
            "  threshold {threshold:.2} (best mean detection minus {} × mean false positives on left-out sources)",
            args.false_positive_cost
        );
        if let Some(h) = hard_negatives.as_ref() {
            println!("  libinjection false_positives.txt (never trained on): {h}");
        }
        println!("  wrote {} in {:.1}s", args.out.display(), started.elapsed().as_secs_f64());
    }
    Ok(ExitCode::SUCCESS)
}

/// The left-out values `threshold` gets wrong, one JSON object a line, for
/// each draw that got it wrong.
fn write_misses(
    path: &Path,
    all: &[&Sample],
    draws: &[Vec<Scored>],
    rows: &[Vec<usize>],
    threshold: f32,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let k = PayloadClass::ALL.len();
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for (draw, scored) in draws.iter().enumerate() {
        for ((source, _, proba), rows) in scored.iter().zip(rows) {
            for (p, &r) in proba.chunks_exact(k).zip(rows) {
                let sample = all[r];
                let (verdict, _) = decide(p, threshold);
                if (sample.class != PayloadClass::Benign) == (verdict != PayloadClass::Benign) {
                    continue;
                }
                let line = json!({
                    "draw": draw, "source": source, "class": sample.class.name(), "verdict": verdict.name(),
                    "score": attack_probability(p), "value": sample.value,
                });
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush().with_context(|| format!("cannot write {}", path.display()))
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
