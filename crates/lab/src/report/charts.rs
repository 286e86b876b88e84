//! The evaluation report's charts as SVG, drawn with plotters: a confusion
//! matrix, ROC and precision-recall curves with the model's operating
//! point marked, and detection per attack family.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rampart_ml::Evaluation;

use crate::evaluate::FamilyDetection;

const FONT: &str = "sans-serif";
const CURVE: RGBColor = RGBColor(31, 90, 180);
const POINT: RGBColor = RGBColor(200, 40, 40);
const CHANCE: RGBColor = RGBColor(170, 170, 170);

pub type Result = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Rows are the true class, columns the predicted one; shading is the
/// share of the row, so a small class's misses show as plainly as a big one's.
pub fn confusion(e: &Evaluation, path: &Path) -> Result {
    let k = e.classes.len().max(1);
    let cell = (560 / k as u32).clamp(28, 110);
    let label = e.classes.iter().map(|c| short(c).chars().count() as u32).max().unwrap_or(4) * 7 + 16;
    let side = cell * k as u32;
    let root = SVGBackend::new(path, ((side + label + 40).max(520), side + 110)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Confusion matrix (rows: true class; shade: share of the row)", (FONT, 16))
        .margin(10)
        .x_label_area_size(44)
        .y_label_area_size(label)
        // An integer range is inclusive to plotters: 0..k−1 is k segments.
        .build_cartesian_2d((0..k - 1).into_segmented(), (0..k - 1).into_segmented())?;
    // The first class on the top row, as tables read; a column's name is
    // cut to its cell's width.
    let fits = (cell as usize / 7).max(2);
    let name = |v: &SegmentValue<usize>, flip: bool| match v {
        SegmentValue::CenterOf(i) if *i < k && flip => short(&e.classes[k - 1 - i]).to_string(),
        SegmentValue::CenterOf(i) if *i < k => short(&e.classes[*i]).chars().take(fits).collect(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("predicted class")
        .x_labels(k)
        .y_labels(k)
        .x_label_formatter(&|v| name(v, false))
        .y_label_formatter(&|v| name(v, true))
        .x_label_style((FONT, 11))
        .y_label_style((FONT, 11))
        .draw()?;
    let centred = Pos::new(HPos::Center, VPos::Center);
    for (t, row) in e.confusion.iter().enumerate() {
        let total: u64 = row.iter().sum();
        let y = k - 1 - t;
        for (p, &n) in row.iter().enumerate() {
            let share = if total == 0 { 0.0 } else { n as f64 / total as f64 };
            let cell = [
                (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
            ];
            chart.draw_series(std::iter::once(Rectangle::new(cell, shade(share).filled())))?;
            let ink = if share > 0.5 { WHITE } else { BLACK };
            let text = TextStyle::from((FONT, 12).into_font()).color(&ink).pos(centred);
            let at: (SegmentValue<usize>, SegmentValue<usize>) = (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y));
            chart.draw_series(std::iter::once(Text::new(n.to_string(), at, text)))?;
        }
    }
    root.present()?;
    Ok(())
}

/// The ROC curve twice: whole, and the first 5% of false positives, where
/// a detector's operating point lives.
pub fn roc(e: &Evaluation, path: &Path) -> Result {
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (whole, zoom) = root.split_horizontally(480);
    curve(
        &whole,
        &format!("ROC, attack vs normal: AUC {:.4}", e.roc_auc),
        ("false-positive rate", "true-positive rate"),
        (1.0, 0.0),
        &e.roc_curve,
        (e.fpr, e.recall),
        true,
    )?;
    curve(
        &zoom,
        "ROC, false-positive rate up to 5%",
        ("false-positive rate", "true-positive rate"),
        (0.05, 0.0),
        &e.roc_curve,
        (e.fpr, e.recall),
        false,
    )?;
    root.present()?;
    Ok(())
}

pub fn precision_recall(e: &Evaluation, path: &Path) -> Result {
    let root = SVGBackend::new(path, (520, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("Precision-recall, attack vs normal: AP {:.4}", e.average_precision);
    curve(&root, &title, ("recall", "precision"), (1.0, 0.0), &e.pr_curve, (e.recall, e.precision), false)?;
    root.present()?;
    Ok(())
}

/// One curve on `[0, x_max] × [y_min, 1]`, the operating point marked,
/// and the diagonal of a coin toss when `chance`.
fn curve<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    (x_max, y_min): (f64, f64),
    points: &[(f64, f64)],
    operating: (f64, f64),
    chance: bool,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..x_max, y_min..1.0)?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).light_line_style(WHITE.mix(0.0)).draw()?;
    if chance {
        chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], CHANCE.stroke_width(1)))?;
    }
    let inside = points.iter().copied().filter(|&(x, _)| x <= x_max * 1.0001);
    chart
        .draw_series(LineSeries::new(inside, CURVE.stroke_width(2)))?
        .label("model")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], CURVE.stroke_width(2)));
    if operating.0 <= x_max {
        chart
            .draw_series(std::iter::once(Circle::new(operating, 5, POINT.filled())))?
            .label("where the model decides")
            .legend(|(x, y)| Circle::new((x + 9, y), 5, POINT.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FONT, 12))
        .draw()?;
    Ok(())
}

/// Share of each attack family's rows the model flagged, as bars.
pub fn families(families: &[FamilyDetection], path: &Path) -> Result {
    let n = families.len().max(1);
    let label = families.iter().map(|f| short(&f.family).len() as u32).max().unwrap_or(4) * 7 + 16;
    let root = SVGBackend::new(path, (640, 80 + 34 * n as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Detected, by attack family", (FONT, 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(label)
        .build_cartesian_2d(0.0..1.0, (0..n - 1).into_segmented())?;
    let name = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) if *i < families.len() => short(&families[n - 1 - i].family).to_string(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&name)
        .x_label_formatter(&|v| format!("{:.0}%", v * 100.0))
        .x_desc("share of each family's rows flagged")
        .draw()?;
    let centred = Pos::new(HPos::Left, VPos::Center);
    for (i, f) in families.iter().enumerate() {
        let y = n - 1 - i;
        let bar = [(0.0, SegmentValue::Exact(y)), (f.detected, SegmentValue::Exact(y + 1))];
        let mut rect = Rectangle::new(bar, CURVE.mix(0.8).filled());
        rect.set_margin(5, 5, 0, 0);
        chart.draw_series(std::iter::once(rect))?;
        let text = TextStyle::from((FONT, 12).into_font()).pos(centred);
        let at = ((f.detected + 0.01).min(0.85), SegmentValue::CenterOf(y));
        let words = format!("{:.1}% of {}", f.detected * 100.0, f.rows);
        chart.draw_series(std::iter::once(Text::new(words, at, text)))?;
    }
    root.present()?;
    Ok(())
}

/// White through to dark blue by `share`.
fn shade(share: f64) -> RGBColor {
    let s = share.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * s).round() as u8;
    RGBColor(mix(247.0, 8.0), mix(251.0, 48.0), mix(255.0, 107.0))
}

fn short(name: &str) -> &str {
    match name.char_indices().nth(28) {
        Some((end, _)) => &name[..end],
        None => name,
    }
}
