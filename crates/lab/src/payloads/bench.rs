//! `rampart bench payloads`: values judged per second on one core — decode,
//! both lexes, features, the forest and the gate — over the payload corpus
//! (attacks and benign values mixed, as they come), the values people
//! typed among them (most of a site's traffic; most never reach the
//! forest), and the decode + lex stage alone, which is what libinjection's
//! C does per value; beside them, the same values with the whole forest
//! walked for each (no early stop), how many verdicts the early stop
//! changed (it must be none), and how many values reach the forest and how
//! many trees they walk on average. The median
//! of several passes, so one slow pass on a noisy machine does not make it.

use std::process::ExitCode;

use anyhow::Context as _;
use rampart_ml::payload::model::decide;
use rampart_ml::payload::{Lexes, PayloadModel, decode};
use serde_json::json;

use super::corpus;
use crate::args::BenchPayloadsArgs;
use crate::bench::{median, passes};

pub fn run(args: &BenchPayloadsArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.passes > 0, "--passes must be at least 1");
    let corpus = corpus::load(&args.data, None)?;
    // Every n-th value, so each source and class is in the mix in its share.
    let stride = (corpus.samples.len() / args.values.max(1)).max(1);
    // One value per line for a peer's harness: values with a line break are left out of both.
    let values: Vec<_> =
        corpus.samples.iter().step_by(stride).filter(|s| !s.value.contains(['\n', '\r'])).take(args.values).collect();
    anyhow::ensure!(!values.is_empty(), "no values under {}", args.data.display());
    if let Some(path) = &args.dump {
        let text: String = values.iter().map(|s| format!("{}\n", s.value)).collect();
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let scorer = PayloadModel::load_or_shipped(args.model.as_deref()).map_err(anyhow::Error::msg)?.scorer();
    let timed = |work: &dyn Fn()| median(&passes(args.passes, values.len(), work));
    let judge = || {
        for s in &values {
            std::hint::black_box(scorer.judge(&s.value, s.context));
        }
    };
    // What a site mostly receives: values people typed (generated forms and searches, access logs).
    let typed: Vec<_> = values.iter().filter(|s| matches!(s.source, "forms" | "searches" | "access-logs")).collect();
    let judge_typed = || {
        for s in &typed {
            std::hint::black_box(scorer.judge(&s.value, s.context));
        }
    };
    let whole_forest = || {
        for s in &values {
            std::hint::black_box(decide(&scorer.probabilities(&s.value, s.context), scorer.threshold()));
        }
    };
    let lex_only = || {
        for s in &values {
            let decoded = decode(&s.value, s.context);
            std::hint::black_box(Lexes::of(&decoded.text));
        }
    };
    // Also warms the caches.
    let changed = values
        .iter()
        .filter(|s| {
            let full = decide(&scorer.probabilities(&s.value, s.context), scorer.threshold()).0;
            scorer.judge(&s.value, s.context).class != full
        })
        .count();
    // The forest is most of a judged value's cost: how many values reach it, and how far they walk.
    let walks: Vec<usize> =
        values.iter().map(|s| scorer.trees_walked(&s.value, s.context)).filter(|&w| w > 0).collect();
    let mean_walked = walks.iter().sum::<usize>() as f64 / walks.len().max(1) as f64;
    let (judged, whole, lexed) = (timed(&judge), timed(&whole_forest), timed(&lex_only));
    let typed_rate = timed(&judge_typed) * typed.len() as f64 / values.len() as f64;
    let bytes: usize = values.iter().map(|s| s.value.len()).sum();
    let report = json!({
        "values": values.len(), "mean_bytes": bytes as f64 / values.len() as f64, "passes": args.passes,
        "judged_per_sec": judged, "us_per_value": 1e6 / judged,
        "whole_forest_us_per_value": 1e6 / whole, "verdicts_changed_by_early_stop": changed,
        "decode_and_lex_per_sec": lexed, "decode_and_lex_us_per_value": 1e6 / lexed,
        "typed_values": typed.len(), "typed_judged_per_sec": typed_rate, "typed_us_per_value": 1e6 / typed_rate,
        "values_reaching_the_forest": walks.len(), "mean_trees_walked": mean_walked,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} values (mean {:.0} bytes): judged {:.0}/s ({:.2} µs each; {:.2} µs walking the whole forest, \
             {changed} verdicts changed by stopping early); decode + lex alone {:.0}/s ({:.2} µs); \
             the {} typed benign values among them: {:.0}/s ({:.2} µs); {} values reached the forest and walked \
             {:.1} trees on average",
            values.len(),
            bytes as f64 / values.len() as f64,
            judged,
            1e6 / judged,
            1e6 / whole,
            lexed,
            1e6 / lexed,
            typed.len(),
            typed_rate,
            1e6 / typed_rate,
            walks.len(),
            mean_walked
        );
    }
    Ok(ExitCode::SUCCESS)
}
