//! `rampart rules test RULES_DIR SAMPLE.ndjson`: which rules fire on a sample.
//!
//! Each sample line's number becomes its event id, so an alert's evidence
//! lists the lines that made it.

use std::process::ExitCode;

use anyhow::Context;
use rampart_core::ecs::{BatchFormat, Limits, decode_batch};
use rampart_core::{Detector, time};
use rampart_detect::{Aggregator, RuleEngine, load_rules};

use crate::cli::RulesTestArgs;

pub fn test(args: &RulesTestArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(args.builtin, Some(&args.rules_dir)).map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(!rules.is_empty(), "no rules found in {}", args.rules_dir.display());
    let text = std::fs::read(&args.sample).with_context(|| format!("cannot read {}", args.sample.display()))?;
    let limits = Limits { max_batch_events: usize::MAX, max_batch_bytes: usize::MAX, ..Limits::default() };
    let now = time::now_ms();
    let mut events = decode_batch(&text, BatchFormat::Ndjson, &limits, now)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.sample.display()))?;
    // Ids are line numbers; blank lines were skipped, so recount them.
    let mut line_numbers = text
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, _)| i as i64 + 1);
    for event in &mut events {
        event.id = line_numbers.next();
    }

    let rule_count = rules.len();
    let mut engine = RuleEngine::new(rules, 1_000_000);
    let mut aggregator = Aggregator::new(24 * 3600, 50, 1_000_000);
    let mut findings = Vec::new();
    for event in &events {
        engine.detect(event, &mut findings);
        for f in findings.drain(..) {
            aggregator.merge_at(f, now);
        }
    }
    let mut alerts: Vec<_> = aggregator.take_changed().into_iter().map(|(a, _)| a).collect();
    alerts.sort_by(|a, b| (a.first_seen_ms, &a.rule_id).cmp(&(b.first_seen_ms, &b.rule_id)));

    if args.json {
        for alert in &alerts {
            println!("{}", serde_json::to_string(alert)?);
        }
    } else {
        for alert in &alerts {
            let lines: Vec<String> = alert.evidence.iter().map(i64::to_string).collect();
            println!(
                "{:<28} {:<8} {}={} count={} lines={}",
                alert.rule_id,
                alert.severity.as_str(),
                alert.entity.field,
                alert.entity.value,
                alert.count,
                lines.join(",")
            );
        }
    }
    let fired: std::collections::BTreeSet<&str> = alerts.iter().map(|a| a.rule_id.as_str()).collect();
    eprintln!("{} events, {} rules, {} alerts from {} rules", events.len(), rule_count, alerts.len(), fired.len());
    Ok(ExitCode::SUCCESS)
}
