//! `rampart train flows`: labelled flows in, a model file out, with a
//! held-out measurement of the model saved inside it.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rampart_ml::dataset::{Format, Table, merge_labels};
use rampart_ml::flow_model::Scorer;
use rampart_ml::flow_model::{FORMAT, FlowModel};
use rampart_ml::novelty::{ANOMALY_CLASS, Novelty};
use rampart_ml::operating_point::Shipped;
use rampart_ml::preprocess::Preprocessor;
use rampart_ml::training_rows::TrainingRows;
use rampart_ml::trees::{Algo, Ensemble, TrainParams, TrainSet};
use serde_json::json;

use rampart_ml::validation::{
    ClassWeighting, class_weights, cross_validation, label_rows, stratified_folds, stratified_split, subset,
};

use crate::args::{AlgoArg, ClassScheme, ClassWeight, TrainFlowsArgs};
use crate::evaluate::{measure, print_summary};
use crate::families;
use crate::files::{self, Loaded};

/// The command line's weighting, as the learners take it.
fn weighting(arg: ClassWeight) -> ClassWeighting {
    match arg {
        ClassWeight::Balanced => ClassWeighting::Balanced,
        ClassWeight::Sqrt => ClassWeighting::Sqrt,
        ClassWeight::None => ClassWeighting::None,
    }
}

pub fn params_of(args: &TrainFlowsArgs) -> TrainParams {
    let algo = match args.algo {
        AlgoArg::DecisionTree => Algo::DecisionTree,
        AlgoArg::RandomForest => Algo::RandomForest,
        AlgoArg::Gbdt => Algo::Gbdt,
    };
    let mut params = TrainParams::for_algo(algo, args.seed);
    if let Some(t) = args.trees {
        params.trees = t;
    }
    if let Some(d) = args.max_depth {
        params.max_depth = d;
    }
    params
}

pub(crate) struct Fitted {
    pub scorer: Scorer,
    weights: Vec<f64>,
    secs: f64,
}

/// Class numbers of training rows, how many classes, which is normal.
pub(crate) struct Target<'a> {
    pub y: &'a [u32],
    pub k: usize,
    pub normal: usize,
}

pub(crate) fn fit(
    table: &Table,
    Target { y, k, normal }: Target<'_>,
    format: &Format,
    args: &TrainFlowsArgs,
    params: &TrainParams,
    bar: &ProgressBar,
) -> anyhow::Result<Fitted> {
    let started = Instant::now();
    let (symbolic, ratios) = format.feature_hints();
    let preprocessing = Preprocessor::fit(table, &symbolic, &ratios);
    anyhow::ensure!(preprocessing.width() > 0, "no column varies in the training rows: nothing to learn from");
    let x = preprocessing.encode_table(table).map_err(anyhow::Error::msg)?;
    let weights = class_weights(y, k, weighting(args.class_weight));
    let row_weight: Vec<f64> = y.iter().map(|&c| weights[c as usize]).collect();
    let set = TrainSet { x: &x, width: preprocessing.width(), y, k, weight: &row_weight };
    bar.set_length(params.trees as u64);
    bar.set_position(0);
    let ensemble = Ensemble::fit(&set, params, &|done, _| bar.set_position(done as u64)).map_err(anyhow::Error::msg)?;
    let novelty = if args.guarded() {
        let w = preprocessing.width();
        let normal_x: Vec<f32> = y
            .iter()
            .enumerate()
            .filter(|(_, c)| **c as usize == normal)
            .flat_map(|(r, _)| x[r * w..][..w].iter().copied())
            .collect();
        Some(
            Novelty::fit(&normal_x, w, args.fitted_guard_rate(), args.novelty_trees, params.seed)
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    let scorer = Scorer::new(preprocessing, ensemble, novelty, normal);
    Ok(Fitted { scorer, weights, secs: started.elapsed().as_secs_f64() })
}

/// The scorer with its guard at the rate the folds chose (`None`: no
/// guard, and no `anomaly` class in `classes`).
fn with_guard_rate(scorer: Scorer, rate: Option<f64>, classes: &mut Vec<String>) -> Scorer {
    let normal = scorer.normal();
    let (preprocessing, ensemble, novelty) = scorer.into_parts();
    let novelty = match (novelty, rate) {
        (Some(mut novelty), Some(rate)) => {
            novelty.threshold = novelty.threshold_at(rate).unwrap_or(novelty.threshold);
            Some(novelty)
        }
        (Some(_), None) => {
            classes.retain(|c| c != ANOMALY_CLASS);
            None
        }
        (None, _) => None,
    };
    Scorer::new(preprocessing, ensemble, novelty, normal)
}

pub fn run(args: &TrainFlowsArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!((0.0..0.9).contains(&args.holdout), "--holdout must be in [0, 0.9)");
    let loaded_at = Instant::now();
    let Loaded { mut table, files, format, skipped, sha256 } = files::load(&args.data)?;
    let load_secs = loaded_at.elapsed().as_secs_f64();
    for (from, _) in &args.merges {
        anyhow::ensure!(table.labels.contains(from), "--merge {from:?}: no row has this label");
    }
    merge_labels(&mut table, &args.merges);
    let multi = args.classes == ClassScheme::Multi;
    let mut labelled = label_rows(&table, &format, multi)?;
    let k = labelled.classes.len();
    anyhow::ensure!((0.0..0.5).contains(&args.fitted_guard_rate()), "--novelty-fpr must be in [0, 0.5)");
    if args.guarded() {
        labelled.classes.push(ANOMALY_CLASS.to_owned());
    }
    let params = params_of(args);
    let (mut train_rows, test_rows) = stratified_split(&labelled.y, k, args.holdout, args.seed);
    let is_unseen = |r: usize| args.unseen.iter().any(|u| *u == table.labels[r]);
    train_rows.retain(|&r| !is_unseen(r));
    let test_rows: Vec<usize> = test_rows.into_iter().filter(|&r| !is_unseen(r)).collect();
    for label in &args.unseen {
        anyhow::ensure!(table.labels.contains(label), "--unseen {label:?}: no row has this label");
    }
    let train = subset(&table, &train_rows);
    let train_y: Vec<u32> = train_rows.iter().map(|&r| labelled.y[r]).collect();
    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(params.trees as u64) };
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} trees, {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );

    anyhow::ensure!((0.0..0.5).contains(&args.max_fpr), "--max-fpr must be in [0, 0.5)");
    let folds = if args.no_family_folds {
        None
    } else {
        families::run(&table, &labelled, &format, &train_rows, &test_rows, args, &params, &bar)?
    };

    bar.set_message("training");
    let mut fitted = fit(&train, Target { y: &train_y, k, normal: labelled.normal }, &format, args, &params, &bar)?;
    let family_folds = match folds {
        Some(folds) => {
            let normals = subset(&table, &families::normal_rows(&test_rows, &labelled));
            let x = fitted.scorer.preprocessing().encode_table(&normals).map_err(anyhow::Error::msg)?;
            let (_, normals) = families::scored(&fitted.scorer, &x, 0);
            let guard = fitted.scorer.novelty().map(|n| n.rate_thresholds.clone()).unwrap_or_default();
            let shipped = Shipped { normals: &normals, guard: &guard };
            Some(folds.choose(&shipped, args.max_fpr, &args.guard_rates()))
        }
        None => None,
    };
    // The folds' choice of guard applies to every model measured from here on.
    let chosen_guard = family_folds.as_ref().map(|f| f.point.guard_rate);
    if let Some(rate) = chosen_guard {
        fitted.scorer = with_guard_rate(fitted.scorer, rate, &mut labelled.classes);
    }
    let threshold = family_folds.as_ref().map(|f| f.point.threshold);
    fitted.scorer = fitted.scorer.with_threshold(threshold);

    let mut folds = Vec::new();
    if let Some(cv) = args.cv {
        anyhow::ensure!((2..=20).contains(&cv), "--cv must be between 2 and 20");
        let fold_of = stratified_folds(&train_y, k, cv, args.seed);
        for f in 0..cv {
            bar.set_message(format!("fold {}/{cv}", f + 1));
            let (fit_rows, check_rows): (Vec<usize>, Vec<usize>) =
                (0..train_rows.len()).partition(|&i| fold_of[i] != f);
            let fit_table = subset(&train, &fit_rows);
            let fit_y: Vec<u32> = fit_rows.iter().map(|&i| train_y[i]).collect();
            let mut fitted =
                fit(&fit_table, Target { y: &fit_y, k, normal: labelled.normal }, &format, args, &params, &bar)?;
            if let Some(rate) = chosen_guard {
                fitted.scorer = with_guard_rate(fitted.scorer, rate, &mut labelled.classes);
            }
            fitted.scorer = fitted.scorer.with_threshold(threshold);
            let check_y: Vec<u32> = check_rows.iter().map(|&i| train_y[i]).collect();
            let (e, ..) =
                measure(&fitted.scorer, &subset(&train, &check_rows), &check_y, &labelled.classes, labelled.normal)?;
            folds.push(e);
        }
    }
    bar.finish_and_clear();
    let mut metrics = json!({ "held_out_rows": test_rows.len() });
    let mut held_out = None;
    if !test_rows.is_empty() {
        let test_y: Vec<u32> = test_rows.iter().map(|&r| labelled.y[r]).collect();
        let (e, rate, _) =
            measure(&fitted.scorer, &subset(&table, &test_rows), &test_y, &labelled.classes, labelled.normal)?;
        metrics = serde_json::to_value(&e).context("cannot record the metrics")?;
        metrics["held_out_rows"] = json!(test_rows.len());
        metrics["predictions_per_sec"] = json!(rate);
        held_out = Some(e);
    }
    if !folds.is_empty() {
        metrics["cv"] = json!(cross_validation(&folds));
    }
    let mut unseen = serde_json::Map::new();
    for label in &args.unseen {
        let rows: Vec<usize> = (0..table.rows.len()).filter(|&r| table.labels[r] == *label).collect();
        let y: Vec<u32> = rows.iter().map(|&r| labelled.y[r]).collect();
        let (e, ..) = measure(&fitted.scorer, &subset(&table, &rows), &y, &labelled.classes, labelled.normal)?;
        // Every row is an attack, so recall is the share flagged as one.
        unseen.insert(label.clone(), json!({ "rows": rows.len(), "detected": e.recall, "class_accuracy": e.accuracy }));
    }
    if !unseen.is_empty() {
        metrics["unseen"] = serde_json::Value::Object(unseen.clone());
    }
    if let Some(f) = &family_folds {
        metrics["leave_family_out"] = serde_json::to_value(f).context("cannot record the family folds")?;
    }
    let name = args
        .name
        .clone()
        .or_else(|| args.out.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "flows".into());
    let (format_version, rampart_version) = FlowModel::current_version();
    let fit_secs = fitted.secs;
    let (preprocessing, ensemble, novelty) = fitted.scorer.into_parts();
    let model = FlowModel {
        format: FORMAT.into(),
        format_version,
        rampart_version: rampart_version.into(),
        name: name.clone(),
        created_ms: rampart_core::time::now_ms(),
        algo: params.algo,
        params: params.clone(),
        dataset: format.clone(),
        classes: labelled.classes.clone(),
        normal_class: labelled.normal,
        data_sha256: sha256,
        train_rows: train_rows.len(),
        class_weights: fitted.weights,
        metrics: metrics.clone(),
        preprocessing,
        model: ensemble,
        novelty,
        operating_point: family_folds.as_ref().map(|f| f.point.clone()),
        label_merges: args.merges.clone(),
        training_rows: Some(TrainingRows::new(train.rows.iter().map(Vec::as_slice))),
    };
    rampart_core::atomic_file::write_atomically(&args.out, model.to_json().as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;

    if args.json {
        let mut out = json!({
            "model": args.out, "name": name, "algo": params.algo.name(), "classes": labelled.classes,
            "rows": table.rows.len(), "train_rows": train_rows.len(), "skipped_rows": skipped,
            "features": model.preprocessing.width(), "load_secs": load_secs, "fit_secs": fit_secs,
            "trees": model.model.trees.len(),
        });
        out["held_out"] = metrics;
        println!("{out}");
    } else {
        println!(
            "train flows: {} {} on {} ({} rows{}), {} classes, {} features",
            params.algo.name(),
            if params.algo == Algo::DecisionTree { String::new() } else { format!("({} trees)", params.trees) },
            files::describe(&files),
            table.rows.len(),
            if skipped > 0 { format!(", {skipped} bad rows skipped") } else { String::new() },
            k,
            model.preprocessing.width()
        );
        println!("  read in {load_secs:.1}s; trained on {} rows in {:.1}s", train_rows.len(), fit_secs);
        if let Some(e) = &held_out {
            print_summary(e, &format!("held out {} rows (stratified {:.0}%)", e.rows, args.holdout * 100.0));
        }
        match &family_folds {
            Some(f) => families::print(f),
            None if !args.no_family_folds => {
                println!("  no leave-family-out folds: they need two attack families and held-out normal rows")
            }
            None => {}
        }
        for (label, u) in &unseen {
            println!(
                "  unseen {label}: {} rows never trained on, {:.1}% flagged as attacks, {:.1}% given the right class",
                u["rows"],
                u["detected"].as_f64().unwrap_or(0.0) * 100.0,
                u["class_accuracy"].as_f64().unwrap_or(0.0) * 100.0
            );
        }
        for (i, f) in folds.iter().enumerate() {
            println!(
                "  cv fold {}: accuracy {:.4}  macro F1 {:.4}  attack recall {:.4}  FPR {:.4}",
                i + 1,
                f.accuracy,
                f.macro_avg.f1,
                f.recall,
                f.fpr
            );
        }
        println!("  wrote {} (model {name:?})", args.out.display());
    }
    Ok(ExitCode::SUCCESS)
}
