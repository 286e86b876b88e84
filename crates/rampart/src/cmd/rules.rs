//! `rampart rules test RULES_DIR SAMPLE.ndjson`: which rules fire on a sample;
//! `rampart rules import-sigma PATH…`: Sigma rules converted to Rampart's.
//!
//! Each sample line's number becomes its event id, so an alert's evidence
//! lists the lines that made it.

use std::process::ExitCode;

use anyhow::Context;
use rampart_core::ecs::{BatchFormat, Limits, decode_batch};
use rampart_core::{Detector, time};
use rampart_detect::{Aggregator, RuleEngine, load_rules};

use crate::cli::{ImportSigmaArgs, RulesTestArgs};

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

/// Converts every Sigma rule under `args.paths`; a rule that does not
/// convert is listed on stderr with its file and reason. Exit 1 when a file
/// cannot be read or parsed, or nothing converted.
pub fn import_sigma(args: &ImportSigmaArgs) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in &args.paths {
        collect_yaml(path, &mut files).with_context(|| format!("cannot read {}", path.display()))?;
    }
    files.sort();
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    let (mut tried, mut converted, mut unreadable) = (0usize, 0usize, 0usize);
    let mut stdout_stream = String::new();
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("unreadable  {}: {e}", file.display());
                unreadable += 1;
                continue;
            }
        };
        let documents = match rampart_detect::sigma::documents(&text) {
            Ok(docs) => docs,
            Err(e) => {
                eprintln!("unreadable  {}: {e}", file.display());
                unreadable += 1;
                continue;
            }
        };
        for doc in documents.iter().filter(|d| rampart_detect::sigma::is_sigma(d)) {
            tried += 1;
            match rampart_detect::sigma_rule(doc, file) {
                Ok((rule, _)) => {
                    converted += 1;
                    let header = format!("# Converted by `rampart rules import-sigma` from {}\n", file.display());
                    match &args.out {
                        Some(out) => {
                            let path = out.join(format!("{}.yaml", rule.id));
                            std::fs::write(&path, header + &rule.yaml)
                                .with_context(|| format!("cannot write {}", path.display()))?;
                        }
                        None => stdout_stream.push_str(&format!("---\n{header}{}", rule.yaml)),
                    }
                }
                Err(e) => eprintln!(
                    "skipped     {}: {}: {}",
                    file.display(),
                    rampart_core::escape::for_terminal(&e.rule),
                    rampart_core::escape::for_terminal(&e.reason)
                ),
            }
        }
    }
    print!("{stdout_stream}");
    eprintln!("{converted} of {tried} Sigma rules converted ({} files, {unreadable} unreadable)", files.len());
    Ok(if unreadable > 0 || converted == 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn collect_yaml(path: &std::path::Path, into: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    if !std::fs::metadata(path)?.is_dir() {
        into.push(path.to_owned());
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, into)?;
        } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            into.push(path);
        }
    }
    Ok(())
}
