//! `eval flows --report DIR`: report.md with its charts as SVG (confusion
//! matrix, ROC and precision-recall curves, detection per attack family)
//! and the per-class table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_ml::Evaluation;
use rampart_ml::flow_model::FlowModel;

use crate::evaluate::FamilyDetection;

mod charts;

pub fn write(
    dir: &Path,
    model: &FlowModel,
    model_path: &Path,
    e: &Evaluation,
    families: &[FamilyDetection],
    rate: f64,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let chart = |name: &str, draw: &dyn Fn(&Path) -> charts::Result| {
        let path = dir.join(name);
        draw(&path).map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", path.display()))
    };
    chart("confusion.svg", &|p| charts::confusion(e, p))?;
    chart("roc.svg", &|p| charts::roc(e, p))?;
    chart("precision-recall.svg", &|p| charts::precision_recall(e, p))?;
    if !families.is_empty() {
        chart("families.svg", &|p| charts::families(families, p))?;
    }
    let mut md = String::new();
    let _ = writeln!(md, "# Flow model evaluation: {}\n", model.name);
    let _ = writeln!(
        md,
        "Model `{}` ({}, {} trees, trained by rampart {} on {} rows, data sha256 `{}`), scored on {} rows from:\n",
        model_path.display(),
        model.algo.name(),
        model.model.trees.len(),
        model.rampart_version,
        model.train_rows,
        &model.data_sha256[..model.data_sha256.len().min(16)],
        e.rows
    );
    for f in files {
        let _ = writeln!(md, "- `{}`", f.display());
    }
    let _ = writeln!(md, "\n## Summary\n");
    let _ = writeln!(md, "| metric | value |\n|---|---|");
    for (name, v) in [
        ("accuracy", e.accuracy),
        ("attack precision", e.precision),
        ("attack recall (detection rate)", e.recall),
        ("attack F1", e.f1),
        ("false-positive rate", e.fpr),
        ("ROC AUC (attack vs normal)", e.roc_auc),
        ("average precision (attack vs normal)", e.average_precision),
        ("macro F1", e.macro_avg.f1),
        ("weighted F1", e.weighted_avg.f1),
    ] {
        let _ = writeln!(md, "| {name} | {v:.4} |");
    }
    let _ = writeln!(md, "| inference | {rate:.0} predictions/s/core |");
    let _ = writeln!(
        md,
        "\n## Confusion matrix\n\nRows are the true class, columns the predicted one; shading is the share of the row.\n"
    );
    let _ = writeln!(md, "![confusion matrix](confusion.svg)\n");
    let _ = writeln!(
        md,
        "## ROC and precision-recall (attack vs normal)\n\nThe red dot is where the model decides (its operating point).\n"
    );
    let _ = writeln!(md, "![ROC curve](roc.svg)\n\n![precision-recall curve](precision-recall.svg)\n");
    if !families.is_empty() {
        let _ = writeln!(md, "## By attack family\n\n![detection by attack family](families.svg)\n");
        let _ = writeln!(md, "| family | rows | detected |\n|---|---|---|");
        for f in families {
            let _ = writeln!(md, "| {} | {} | {:.1}% |", f.family, f.rows, f.detected * 100.0);
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(
        md,
        "## Per class\n\n| class | precision | recall | F1 | FPR | ROC AUC | support |\n|---|---|---|---|---|---|---|"
    );
    for name in &e.classes {
        if let Some(c) = e.per_class.get(name) {
            let _ = writeln!(
                md,
                "| {name} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} |",
                c.precision, c.recall, c.f1, c.fpr, c.roc_auc, c.support
            );
        }
    }
    let path = dir.join("report.md");
    std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))
}
