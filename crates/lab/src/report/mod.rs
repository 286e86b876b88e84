//! `eval flows --report DIR`: report.md with a confusion matrix and a ROC
//! curve as PNGs, and the per-class table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_ml::Evaluation;
use rampart_ml::flow_model::FlowModel;

mod canvas;

use canvas::{BLACK, BLUE, Canvas, GREY, WHITE};

pub fn write(
    dir: &Path,
    model: &FlowModel,
    model_path: &Path,
    e: &Evaluation,
    rate: f64,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    confusion_png(e).save(&dir.join("confusion.png"))?;
    roc_png(e).save(&dir.join("roc.png"))?;
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
    let _ = writeln!(md, "![confusion matrix](confusion.png)\n");
    let _ = writeln!(md, "## ROC curve (attack vs normal)\n\n![ROC curve](roc.png)\n");
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

fn shade(share: f64) -> [u8; 3] {
    let s = share.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * s).round() as u8;
    [mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0)]
}

fn confusion_png(e: &Evaluation) -> Canvas {
    let k = e.classes.len() as i64;
    let cell = (560 / k.max(1)).clamp(28, 110);
    let label_w = e.classes.iter().map(|c| Canvas::text_width(short(c), 1)).max().unwrap_or(0) + 16;
    let (left, top) = (label_w + 24, 70);
    let width = (left + cell * k + 20) as u32;
    let height = (top + cell * k + 60) as u32;
    let mut c = Canvas::new(width, height);
    c.text(10, 10, "Confusion matrix (row = true class)", 2, BLACK);
    for (t, row) in e.confusion.iter().enumerate() {
        let total: u64 = row.iter().sum();
        let t = t as i64;
        c.text(10, top + t * cell + cell / 2 - 4, short(&e.classes[t as usize]), 1, BLACK);
        for (p, &n) in row.iter().enumerate() {
            let p = p as i64;
            let share = if total == 0 { 0.0 } else { n as f64 / total as f64 };
            let (x, y) = (left + p * cell, top + t * cell);
            c.rect(x, y, cell - 1, cell - 1, shade(share));
            let label = n.to_string();
            let ink = if share > 0.5 { WHITE } else { BLACK };
            let w = Canvas::text_width(&label, 1);
            if w < cell {
                c.text(x + (cell - w) / 2, y + cell / 2 - 4, &label, 1, ink);
            }
        }
    }
    for (p, name) in e.classes.iter().enumerate() {
        let x = left + p as i64 * cell + 2;
        let text: String = short(name).chars().take(((cell - 4) / 8).max(1) as usize).collect();
        c.text(x, top + k * cell + 8, &text, 1, BLACK);
    }
    c.text(left, top + k * cell + 30, "predicted class", 1, GREY);
    c
}

fn short(name: &str) -> &str {
    name.get(..name.len().min(28)).unwrap_or(name)
}

fn roc_png(e: &Evaluation) -> Canvas {
    let (size, left, top) = (440.0, 70.0, 60.0);
    let mut c = Canvas::new((left + size + 30.0) as u32, (top + size + 60.0) as u32);
    c.text(10, 10, &format!("ROC: attack vs normal, AUC {:.4}", e.roc_auc), 2, BLACK);
    let at = |fpr: f64, tpr: f64| (left + fpr * size, top + size - tpr * size);
    for v in [0.0, 0.25, 0.5, 0.75, 1.0] {
        c.line(at(v, 0.0), at(v, 1.0), 1, [230, 230, 230], 0);
        c.line(at(0.0, v), at(1.0, v), 1, [230, 230, 230], 0);
        let label = format!("{v:.2}");
        let (x, y) = at(v, 0.0);
        c.text(x as i64 - 16, y as i64 + 8, &label, 1, BLACK);
        let (x, y) = at(0.0, v);
        c.text(x as i64 - 40, y as i64 - 4, &label, 1, BLACK);
    }
    c.line(at(0.0, 0.0), at(1.0, 0.0), 2, BLACK, 0);
    c.line(at(0.0, 0.0), at(0.0, 1.0), 2, BLACK, 0);
    c.line(at(0.0, 0.0), at(1.0, 1.0), 1, GREY, 6);
    for w in e.roc_curve.windows(2) {
        c.line(at(w[0].0, w[0].1), at(w[1].0, w[1].1), 3, BLUE, 0);
    }
    c.text(left as i64 + 140, (top + size + 32.0) as i64, "false-positive rate", 1, BLACK);
    c.text(4, (top - 20.0) as i64, "true-positive rate", 1, BLACK);
    c
}
