//! `rampart bench flows`: predictions per second on one core for a model
//! file over a dataset's rows — the batch scorer (the trees alone, and the
//! whole model with its novelty guard), beside the plain one-row-at-a-time
//! walk the batch layout replaces. Rows are encoded once, before timing;
//! each figure is the median of several passes over every row, so one slow
//! pass on a noisy machine does not make the number.

use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;

use crate::args::BenchFlowsArgs;
use crate::evaluate::load_model;
use crate::files;

/// Rows per second of each pass of `score` over `rows` rows.
pub(crate) fn passes(count: usize, rows: usize, mut score: impl FnMut()) -> Vec<f64> {
    (0..count)
        .map(|_| {
            let started = Instant::now();
            score();
            rows as f64 / started.elapsed().as_secs_f64().max(1e-9)
        })
        .collect()
}

/// The median rate: one slow pass on a noisy machine does not make the figure.
pub(crate) fn median(rates: &[f64]) -> f64 {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

pub fn run(args: &BenchFlowsArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.passes > 0, "--passes must be at least 1");
    let model = load_model(&args.model)?;
    let loaded = files::load(&args.data)?;
    let scorer = model.compile();
    let x = scorer.preprocessing().encode_table(&loaded.table).map_err(anyhow::Error::msg)?;
    let rows = loaded.table.labels.len();
    anyhow::ensure!(rows > 0, "no rows to score in {}", files::describe(&loaded.files));
    let width = scorer.preprocessing().width().max(1);

    let mut out = Vec::new();
    // The first pass fills the caches and sizes `out`; it is not counted.
    scorer.predict_trees(&x, &mut out);
    // With a guard, trees-only and whole-model passes alternate, so both
    // see the same noise from the rest of the machine, and each pair's
    // ratio is what the guard costs.
    let (mut batch, mut whole) = (Vec::new(), Vec::new());
    for _ in 0..args.passes {
        batch.extend(passes(1, rows, || scorer.predict_trees(&x, &mut out)));
        if model.novelty.is_some() {
            whole.extend(passes(1, rows, || scorer.predict(&x, &mut out)));
        }
    }
    let whole = model.novelty.as_ref().map(|_| whole);
    let kept_by_guard = whole.as_ref().map(|w| median(&w.iter().zip(&batch).map(|(w, b)| w / b).collect::<Vec<_>>()));
    // The walk the batch layout replaces, on at most 20,000 rows (it is slow).
    let sample = rows.min(20_000);
    let one_by_one = passes(1, sample, || {
        for row in x.chunks_exact(width).take(sample) {
            std::hint::black_box(model.model.predict_one(row));
        }
    });
    let (batch_rate, single_rate) = (median(&batch), median(&one_by_one));
    let report = json!({
        "model": model.name,
        "algo": model.algo.name(),
        "trees": model.model.trees.len(),
        "max_depth": model.model.trees.iter().map(|t| t.depth()).max().unwrap_or(0),
        "classes": model.model.k,
        "features": width,
        "rows": rows,
        "passes": args.passes,
        "batch_per_sec": batch_rate,
        "batch_passes": batch,
        "with_guard_per_sec": whole.as_deref().map(median),
        "with_guard_passes": whole,
        "with_guard_share_of_trees_rate": kept_by_guard,
        "one_row_at_a_time_per_sec": single_rate,
        "speedup": batch_rate / single_rate.max(1e-9),
    });
    if args.json {
        println!("{report}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "bench flows: model {:?} ({}, {} trees, depth ≤ {}, {} classes, {width} features) on {rows} rows of {}, one core",
        model.name,
        model.algo.name(),
        report["trees"],
        report["max_depth"],
        model.model.k,
        files::describe(&loaded.files)
    );
    let list = |rates: &[f64]| rates.iter().map(|r| format!("{:.3}", r / 1e6)).collect::<Vec<_>>().join(" ");
    println!(
        "  batch, trees only:     {:.3} M predictions/s (median of {}: {})",
        batch_rate / 1e6,
        args.passes,
        list(&batch)
    );
    if let Some(whole) = &whole {
        println!(
            "  batch, with the guard: {:.3} M predictions/s (median of {}: {}); {:.0}% of the trees' rate pass by pass",
            median(whole) / 1e6,
            args.passes,
            list(whole),
            100.0 * kept_by_guard.unwrap_or(0.0)
        );
    }
    println!(
        "  one row at a time:     {:.3} M predictions/s ({sample} rows); batch is {:.1}× faster",
        single_rate / 1e6,
        batch_rate / single_rate.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
