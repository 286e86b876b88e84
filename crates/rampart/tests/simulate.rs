//! `rampart simulate` scored by `rampart scan`: every built-in scenario fires
//! on the simulated attacks that are its job and on no normal address.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

fn simulate(
    dir: &std::path::Path,
    kind: &str,
    lines: &str,
    addresses: &str,
) -> (std::path::PathBuf, BTreeMap<String, String>) {
    simulate_with(
        dir,
        kind,
        &["--lines", lines, "--addresses", addresses, "--seed", "3", "--start", "2026-11-20T10:00:00Z"],
    )
}

/// `rampart simulate KIND ARGS` into `dir`: the log and its labels.
fn simulate_with(dir: &std::path::Path, kind: &str, args: &[&str]) -> (std::path::PathBuf, BTreeMap<String, String>) {
    let log = dir.join(format!("{kind}.log"));
    let labels = dir.join(format!("{kind}.csv"));
    let status = Command::new(util::bin())
        .args(["simulate", kind])
        .args(args)
        .arg("--out")
        .arg(&log)
        .arg("--labels")
        .arg(&labels)
        .status()
        .unwrap();
    assert!(status.success());
    let labels = std::fs::read_to_string(labels)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (ip, label) = l.split_once(',').unwrap();
            (ip.to_owned(), label.to_owned())
        })
        .collect();
    (log, labels)
}

/// rule id → the labels of the addresses it flagged.
fn scan(log: &std::path::Path, labels: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let out = Command::new(util::bin()).arg("scan").arg(log).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut by_rule: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let alert: Value = serde_json::from_str(line).unwrap();
        let ip = alert["source.ip"].as_str().unwrap();
        by_rule.entry(alert["rule_id"].as_str().unwrap().to_owned()).or_default().insert(labels[ip].clone());
    }
    by_rule
}

#[test]
fn same_seed_gives_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = simulate(dir.path(), "ssh", "2000", "50");
    let first = std::fs::read(&a).unwrap();
    let (b, _) = simulate(dir.path(), "ssh", "2000", "50");
    assert!(first == std::fs::read(b).unwrap(), "two runs with one seed differ");
}

#[test]
fn ssh_scenarios_fire_on_attackers_only() {
    let dir = tempfile::tempdir().unwrap();
    // About ten logins per normal address over the simulated hour.
    let (log, labels) = simulate(dir.path(), "ssh", "30000", "2000");
    let fired = scan(&log, &labels);
    for (rule, label) in [("ssh-brute-force", "brute_force"), ("ssh-user-enumeration", "user_enumeration")] {
        assert!(fired.get(rule).is_some_and(|l| l.contains(label)), "{rule}: {fired:?}");
    }
    for (rule, flagged) in &fired {
        assert!(!flagged.contains("normal"), "{rule} flagged a normal address");
    }
    // Every attacker is caught by some scenario.
    let out = Command::new(util::bin()).arg("scan").arg(&log).output().unwrap();
    let caught: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["source.ip"].as_str().unwrap().to_owned())
        .collect();
    let attackers: BTreeSet<String> = labels.iter().filter(|(_, l)| *l != "normal").map(|(ip, _)| ip.clone()).collect();
    assert_eq!(attackers.difference(&caught).count(), 0);
}

#[test]
fn web_scenarios_fire_on_attackers_only() {
    let dir = tempfile::tempdir().unwrap();
    let (log, labels) = simulate(dir.path(), "web", "30000", "300");
    let fired = scan(&log, &labels);
    for (rule, label) in [
        ("web-4xx-scan", "scanner"),
        ("web-sensitive-path", "scanner"),
        ("web-scanner-user-agent", "scanner"),
        ("web-scanner-user-agent", "sqli"),
        ("web-sqli", "sqli"),
        ("web-http-flood", "flood"),
    ] {
        assert!(fired.get(rule).is_some_and(|l| l.contains(label)), "{rule} on {label}: {fired:?}");
    }
    for (rule, flagged) in &fired {
        assert!(!flagged.contains("normal"), "{rule} flagged a normal address");
    }
}

/// `rampart eval entities` on simulated web traffic with slow scanners:
/// the address anomaly detector catches the scanners no rule sees, and
/// almost no ordinary visitor.
#[test]
fn slow_scanners_are_caught_by_the_entity_anomaly_detector_alone() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--lines", "40000", "--addresses", "1500", "--seed", "12", "--slow-scanners", "40", "--log-rate", "2"];
    let (log, _) = simulate_with(dir.path(), "web", &[&args[..], &["--start", "2026-11-02T00:00:00Z"]].concat());
    let labels = dir.path().join("web.csv");
    let out = Command::new(util::bin())
        .args(["eval", "entities", "--json", "--warmup-secs", "1800", "--labels"])
        .arg(&labels)
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row =
        |label: &str| report["by_label"].as_array().unwrap().iter().find(|r| r["label"] == label).unwrap().clone();
    let (slow, normal) = (row("slow_scanner"), row("normal"));
    println!("slow scanners: {slow}\nnormal: {normal}");
    assert!(slow["addresses"].as_u64().unwrap() >= 10, "enough scanners come after the warm-up");
    assert_eq!(slow["rules"], 0, "no rule sees them");
    assert!(slow["anomaly_share"].as_f64().unwrap() >= 0.9);
    assert!(normal["anomaly_share"].as_f64().unwrap() <= 0.01);
    let flagged = report["flagged"].as_array().unwrap();
    let scanner = flagged.iter().find(|f| f["label"] == "slow_scanner").unwrap();
    assert!(scanner["title"].as_str().unwrap().contains("client_error_share 1 (typical 0)"), "{scanner}");
}
