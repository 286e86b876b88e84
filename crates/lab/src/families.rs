//! Leave-attack-family-out folds for `rampart train flows`: for each
//! attack family in the training rows, a model trained without it scores
//! all of its rows and the held-out normal rows. These are the figures
//! that say how the model meets an attack it never saw, and the ones the
//! decision threshold is chosen on.

use indicatif::ProgressBar;
use rampart_ml::dataset::{Format, Table, family_of};
use rampart_ml::flow_model::Scorer;
use rampart_ml::operating_point::{self, FoldScores, OperatingPoint, Scored, Shipped};
use rampart_ml::trees::TrainParams;
use rampart_ml::validation::{Labelled, subset};
use serde::Serialize;

use crate::args::TrainFlowsArgs;
use crate::train::{Target, fit};

/// What the folds found: the operating point they chose, and the same
/// folds judged by each model's likeliest class (the line drawn before).
#[derive(Debug, Serialize)]
pub struct FamilyFolds {
    pub point: OperatingPoint,
    pub at_likeliest_class: Likeliest,
}

#[derive(Debug, Serialize)]
pub struct Likeliest {
    pub mean_detected: f64,
    pub mean_fpr: f64,
    pub families: Vec<Flagged>,
}

/// One fold judged by its model's likeliest class (rows and ROC AUC are
/// the operating point's: the same scores).
#[derive(Debug, Serialize)]
pub struct Flagged {
    pub family: String,
    pub detected: f64,
    pub fpr: f64,
}

/// The rows' families, in name order (rows of `unseen` labels excluded).
fn families(table: &Table, format: &Format, unseen: &[String]) -> Vec<(String, Vec<usize>)> {
    let mut by_family: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for (r, label) in table.labels.iter().enumerate() {
        if unseen.contains(label) {
            continue;
        }
        if let Some(f) = family_of(label, format) {
            by_family.entry(f).or_default().push(r);
        }
    }
    by_family.into_iter().collect()
}

/// Each fold's scores, and the folds judged by the likeliest class.
pub struct Folds {
    folds: Vec<FoldScores>,
    likeliest: Likeliest,
}

impl Folds {
    /// The operating point, once the shipped model has scored the held-out
    /// normal rows.
    pub fn choose(self, shipped: &Shipped<'_>, max_fpr: f64, rates: &[Option<f64>]) -> FamilyFolds {
        let point = operating_point::choose(&self.folds, shipped, max_fpr, rates);
        FamilyFolds { point, at_likeliest_class: self.likeliest }
    }
}

/// The held-out normal rows, which every fold and the shipped model score.
pub fn normal_rows(test_rows: &[usize], labelled: &Labelled) -> Vec<usize> {
    test_rows.iter().copied().filter(|&r| labelled.y[r] as usize == labelled.normal).collect()
}

/// Runs one fold per family; `None` when there are fewer than two
/// families (a fold would have no attacks to learn from) or no held-out
/// normal rows to measure false positives on.
#[allow(clippy::too_many_arguments)]
pub fn run(
    table: &Table,
    labelled: &Labelled,
    format: &Format,
    train_rows: &[usize],
    test_rows: &[usize],
    args: &TrainFlowsArgs,
    params: &TrainParams,
    bar: &ProgressBar,
) -> anyhow::Result<Option<Folds>> {
    let families = families(table, format, &args.unseen);
    let normal_rows = normal_rows(test_rows, labelled);
    if families.len() < 2 || normal_rows.is_empty() {
        return Ok(None);
    }
    let k = labelled.classes.len() - usize::from(args.guarded());
    let mut folds = Vec::new();
    let mut likeliest = Vec::new();
    for (i, (family, rows)) in families.iter().enumerate() {
        bar.set_message(format!("family {}/{}", i + 1, families.len()));
        let fit_rows: Vec<usize> = train_rows.iter().copied().filter(|r| rows.binary_search(r).is_err()).collect();
        let fit_y: Vec<u32> = fit_rows.iter().map(|&r| labelled.y[r]).collect();
        let target = Target { y: &fit_y, k, normal: labelled.normal };
        let fitted = fit(&subset(table, &fit_rows), target, format, args, params, bar)?;
        let judged: Vec<usize> = rows.iter().chain(&normal_rows).copied().collect();
        let x = fitted.scorer.preprocessing().encode_table(&subset(table, &judged)).map_err(anyhow::Error::msg)?;
        let (attacks, normals) = scored(&fitted.scorer, &x, rows.len());
        let guard = fitted.scorer.novelty().map(|n| n.rate_thresholds.clone()).unwrap_or_default();
        let fold = FoldScores { family: family.clone(), attacks, normals, guard };
        let mut proba = Vec::new();
        fitted.scorer.predict(&x, &mut proba);
        let width = labelled.classes.len();
        let (attack_p, normal_p) = proba.split_at(rows.len() * width);
        let flagged = |p: &[f32]| -> f64 {
            let n = p.len() / width;
            p.chunks(width).filter(|p| rampart_ml::argmax(p) != labelled.normal).count() as f64 / n.max(1) as f64
        };
        likeliest.push(Flagged { family: family.clone(), detected: flagged(attack_p), fpr: flagged(normal_p) });
        folds.push(fold);
    }
    let n = likeliest.len() as f64;
    let likeliest = Likeliest {
        mean_detected: likeliest.iter().map(|r| r.detected).sum::<f64>() / n,
        mean_fpr: likeliest.iter().map(|r| r.fpr).sum::<f64>() / n,
        families: likeliest,
    };
    Ok(Some(Folds { folds, likeliest }))
}

/// Encoded rows scored for choosing the operating point (the classifier's
/// attack scores and the guard's parts), split after the first `first` rows.
pub fn scored(scorer: &Scorer, x: &[f32], first: usize) -> (Scored, Scored) {
    let mut proba = Vec::new();
    scorer.predict_trees(x, &mut proba);
    let attack = operating_point::attack_scores(&proba, scorer.known_classes(), scorer.normal());
    let novelty = scorer.novelty_parts(x);
    let (a, b) = attack.split_at(first.min(attack.len()));
    let split = first.min(novelty.len());
    (
        Scored { attack: a.to_vec(), novelty: novelty[..split].to_vec() },
        Scored { attack: b.to_vec(), novelty: novelty[split..].to_vec() },
    )
}

/// The folds as text, after the held-out figures.
pub fn print(folds: &FamilyFolds) {
    let p = &folds.point;
    println!(
        "  leave-attack-family-out (each family scored by a model trained without it; FPR on held-out normal rows):"
    );
    println!("  {:<16} {:>8} {:>14} {:>14} {:>9}", "family", "rows", "detected", "(likeliest)", "ROC AUC");
    for (f, l) in p.families.iter().zip(&folds.at_likeliest_class.families) {
        println!(
            "  {:<16} {:>8} {:>13.1}% {:>13.1}% {:>9.4}",
            f.family,
            f.rows,
            f.detected * 100.0,
            l.detected * 100.0,
            f.roc_auc
        );
    }
    println!(
        "  mean detected {:.1}% at FPR {:.2}% (threshold {}, {}, chosen for FPR ≤ {:.1}%; the shipped model's held-out FPR {:.2}%); by the likeliest class {:.1}% at FPR {:.2}%",
        p.mean_detected * 100.0,
        p.mean_fpr * 100.0,
        p.threshold,
        p.guard_rate.map_or("no novelty guard".to_owned(), |r| format!("novelty guard at {:.2}%", r * 100.0)),
        p.max_fpr * 100.0,
        p.held_out_fpr * 100.0,
        folds.at_likeliest_class.mean_detected * 100.0,
        folds.at_likeliest_class.mean_fpr * 100.0
    );
    if p.by_guard_rate.len() > 1 {
        let tried: Vec<String> = p
            .by_guard_rate
            .iter()
            .map(|r| {
                let rate = r.guard_rate.map_or("none".to_owned(), |g| format!("{:.2}%", g * 100.0));
                format!("{rate}: {:.1}% at {}", r.mean_detected * 100.0, r.threshold)
            })
            .collect();
        println!("  novelty guard rates tried (mean detected at the line): {}", tried.join(", "));
    }
}
