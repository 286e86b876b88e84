//! `rampart eval entities FILE...`: the address and user anomaly detector
//! over log files, in the order given (learn on an older log, judge a newer
//! one), beside the built-in rules on the same events: which addresses and
//! users each flags, why, and — with `--labels` — detection and false
//! alarms per label.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Write};
use std::process::ExitCode;

use anyhow::Context;
use rampart_core::escape::for_terminal;
use rampart_core::{Detector, Finding, time};
use rampart_detect::entity_anomaly::{ADDRESS_RULE, USER_RULE};
use rampart_detect::{EntityAnomalyDetector, RuleEngine, load_rules};
use rampart_sources::line_reader::read_line_capped;
use rampart_sources::parse::MAX_LINE_BYTES;
use rampart_sources::parse::syslog::{assumed_year, month_of};
use rampart_sources::{LineParser, LogFormat, detect_format};
use serde_json::json;

use crate::cli::EvalEntitiesArgs;

#[derive(Default)]
struct Flags {
    /// The anomaly alert's title (the last one, if several).
    anomaly: Option<String>,
    rules: BTreeSet<String>,
}

pub fn run(args: &EvalEntitiesArgs, config: rampart_core::config::EntityAnomalyConfig) -> anyhow::Result<ExitCode> {
    let mut detector = EntityAnomalyDetector::new(config, None);
    detector.record_judged();
    let mut rules = RuleEngine::new(load_rules(true, None).map_err(|e| anyhow::anyhow!("{e}"))?, 1_000_000);
    let (mut findings, mut rule_findings) = (Vec::new(), Vec::new());
    let (mut lines, mut parsed) = (0u64, 0u64);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let now = time::now_ms();
    for path in &args.files {
        let mut reader = BufReader::new(File::open(path).with_context(|| format!("cannot read {}", path.display()))?);
        let mut buf = Vec::new();
        let mut text = Vec::new();
        while read_line_capped(&mut reader, &mut buf, MAX_LINE_BYTES)?.is_some() {
            text.push(String::from_utf8_lossy(&buf).into_owned());
        }
        let year = assumed_year(now, text.first().and_then(|l| month_of(l)));
        let format = match args.format.as_str() {
            "auto" => {
                let sample: Vec<&str> = text.iter().take(50).map(String::as_str).collect();
                detect_format(&sample, year).unwrap_or(LogFormat::Syslog)
            }
            name => LogFormat::parse(name).unwrap_or(LogFormat::Syslog),
        };
        let parser = LineParser::new(format, year);
        for line in text.iter().filter(|l| !l.trim().is_empty()) {
            lines += 1;
            let Ok(mut p) = parser.parse(line, now) else { continue };
            parsed += 1;
            p.event.id = Some(lines as i64);
            if let Some(ip) = p.event.source.ip {
                seen.insert(rampart_core::ip_string(ip));
            }
            detector.detect(&p.event, &mut findings);
            rules.detect(&p.event, &mut rule_findings);
        }
    }
    detector.flush(&mut findings);
    let mut flagged: BTreeMap<String, Flags> = BTreeMap::new();
    for f in &findings {
        flagged.entry(f.entity.value.clone()).or_default().anomaly = Some(f.rule.title.clone());
    }
    for f in rule_findings.iter().filter(|f| f.entity.field == "source.ip" || f.entity.field == "user.name") {
        flagged.entry(f.entity.value.clone()).or_default().rules.insert(f.rule.id.clone());
    }
    let labels = match &args.labels {
        Some(path) => read_labels(path)?,
        None => BTreeMap::new(),
    };
    let judged: BTreeSet<String> = seen.iter().filter(|a| detector.was_judged(a)).cloned().collect();
    let report = report(&findings, &flagged, &labels, &seen, &judged, (lines, parsed), detector.tally());
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        print_report(&report, &flagged, &labels)
    };
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn read_labels(path: &std::path::Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut labels = BTreeMap::new();
    for (n, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let (address, label) =
            line.split_once(',').with_context(|| format!("{}:{}: expected `address,label`", path.display(), n + 1))?;
        labels.insert(address.trim().to_owned(), label.trim().to_owned());
    }
    Ok(labels)
}

fn report(
    findings: &[Finding],
    flagged: &BTreeMap<String, Flags>,
    labels: &BTreeMap<String, String>,
    seen: &BTreeSet<String>,
    judged: &BTreeSet<String>,
    (lines, parsed): (u64, u64),
    (learnt, judged_profiles): (u64, u64),
) -> serde_json::Value {
    let addresses_flagged = findings.iter().filter(|f| f.rule.id == ADDRESS_RULE).count();
    let users_flagged = findings.iter().filter(|f| f.rule.id == USER_RULE).count();
    // Scored over the addresses judged after the warm-up: the ones before
    // it were learnt from, by design.
    let mut by_label: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for (address, label) in labels.iter().filter(|(a, _)| judged.contains(*a)) {
        let f = flagged.get(address);
        let anomaly = f.is_some_and(|f| f.anomaly.is_some());
        let rules = f.is_some_and(|f| !f.rules.is_empty());
        let row = by_label.entry(label).or_default();
        row[0] += 1;
        row[1] += usize::from(anomaly);
        row[2] += usize::from(rules);
        row[3] += usize::from(anomaly || rules);
    }
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    json!({
        "lines": lines,
        "parsed": parsed,
        "addresses_seen": seen.len(),
        "addresses_judged": judged.len(),
        "profiles_learnt_from": learnt,
        "profiles_judged": judged_profiles,
        "addresses_flagged": addresses_flagged,
        "users_flagged": users_flagged,
        "by_label": by_label.iter().map(|(label, [n, anomaly, rules, either])| json!({
            "label": label,
            "addresses": n,
            "anomaly": anomaly,
            "anomaly_share": share(*anomaly, *n),
            "rules": rules,
            "rules_share": share(*rules, *n),
            "either": either,
            "either_share": share(*either, *n),
        })).collect::<Vec<_>>(),
        "flagged": findings.iter().map(|f| json!({
            "entity": f.entity.value,
            "field": f.entity.field,
            "label": labels.get(&f.entity.value),
            "also_by_rules": flagged.get(&f.entity.value).map(|x| x.rules.iter().collect::<Vec<_>>()),
            "title": f.rule.title,
            "context": f.context.as_deref(),
        })).collect::<Vec<_>>(),
    })
}

fn print_report(
    report: &serde_json::Value,
    flagged: &BTreeMap<String, Flags>,
    labels: &BTreeMap<String, String>,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} lines ({} parsed), {} addresses; profiles learnt from: {}, judged: {}",
        report["lines"],
        report["parsed"],
        report["addresses_seen"],
        report["profiles_learnt_from"],
        report["profiles_judged"]
    );
    let _ = writeln!(
        out,
        "flagged as anomalous: {} addresses, {} users",
        report["addresses_flagged"], report["users_flagged"]
    );
    if let Some(rows) = report["by_label"].as_array().filter(|r| !r.is_empty()) {
        let _ =
            writeln!(out, "\n{:<18} {:>9} {:>16} {:>16} {:>16}", "label", "addresses", "anomaly", "rules", "either");
        for r in rows {
            let cell = |n: &str, s: &str| format!("{} ({:.1}%)", r[n], 100.0 * r[s].as_f64().unwrap_or(0.0));
            let _ = writeln!(
                out,
                "{:<18} {:>9} {:>16} {:>16} {:>16}",
                for_terminal(r["label"].as_str().unwrap_or("")),
                r["addresses"],
                cell("anomaly", "anomaly_share"),
                cell("rules", "rules_share"),
                cell("either", "either_share")
            );
        }
    }
    let _ = writeln!(out);
    for (entity, flags) in flagged {
        let Some(title) = &flags.anomaly else { continue };
        let rules: Vec<&str> = flags.rules.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "{}{}\n    rules: {}",
            for_terminal(title),
            labels.get(entity).map(|l| format!(" [{}]", for_terminal(l))).unwrap_or_default(),
            if rules.is_empty() { "none".into() } else { rules.join(", ") }
        );
    }
    out
}
