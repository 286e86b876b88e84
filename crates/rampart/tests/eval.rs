//! `rampart eval anomaly` on small generated files in NSL-KDD and CSV form.

#![allow(clippy::unwrap_used)]

mod util;

use std::process::Command;

use serde_json::Value;

/// NSL-KDD-shaped rows: normal traffic is small and varied, the attack a
/// burst of near-identical SYN floods (like neptune).
fn nsl_kdd_rows() -> String {
    let mut out = String::new();
    for i in 0..600u32 {
        let (proto, service, flag, bytes, count, label) = if i % 5 == 4 {
            ("tcp", "private", "S0", 0, 250 + i % 5, "neptune")
        } else {
            (
                ["tcp", "udp"][(i % 2) as usize],
                ["http", "smtp", "domain_u"][(i % 3) as usize],
                "SF",
                200 + (i * 37) % 900,
                1 + i % 9,
                "normal",
            )
        };
        let mut cells: Vec<String> = vec!["0".into(), proto.into(), service.into(), flag.into(), bytes.to_string()];
        cells.extend((5..41).map(|c| if c == 22 { count.to_string() } else { "0".into() }));
        cells.push(label.into());
        cells.push("20".into());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn eval(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(util::bin()).args(["eval", "anomaly"]).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_held_out_split_of_nsl_kdd_rows_is_scored_with_auc_precision_and_recall() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.txt");
    std::fs::write(&train, nsl_kdd_rows()).unwrap();
    let (ok, stdout, stderr) = eval(&["--train", train.to_str().unwrap(), "--format", "nsl-kdd", "--json"]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(report["roc_auc"].as_f64().unwrap() > 0.95, "{report}");
    assert!(report["recall"].as_f64().unwrap() > 0.9, "{report}");
    assert!(report["precision"].is_f64() && report["false_positive_rate"].is_f64());
    assert_eq!(report["held_out"], true);
    assert_eq!(report["test_rows"], 180, "30% of 600 rows held out");
    // The same seed gives the same figures.
    let (_, again, _) = eval(&["--train", train.to_str().unwrap(), "--format", "nsl-kdd", "--json"]);
    let again: Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(report["roc_auc"], again["roc_auc"]);
}

#[test]
fn a_csv_with_a_separate_test_file_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |rows: &[(f64, &str)]| {
        let mut text = String::from(" Flow Duration, Total Fwd Packets, Label\n");
        for (i, (v, label)) in rows.iter().enumerate() {
            text.push_str(&format!("{},{},{label}\n", v + (i % 7) as f64, 3 + i % 4));
        }
        text
    };
    let normal: Vec<(f64, &str)> = (0..300).map(|i| (100.0 + f64::from(i % 50), "BENIGN")).collect();
    let mut test = normal[..100].to_vec();
    test.extend((0..20).map(|_| (90_000.0, "PortScan")));
    std::fs::write(dir.path().join("train.csv"), csv(&normal)).unwrap();
    std::fs::write(dir.path().join("test.csv"), csv(&test)).unwrap();
    let (ok, stdout, stderr) = eval(&[
        "--train",
        dir.path().join("train.csv").to_str().unwrap(),
        "--test",
        dir.path().join("test.csv").to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(ok, "{stderr}");
    let auc: f64 = stdout.split("ROC AUC ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(auc > 0.9, "{stdout}");
    assert!(stdout.contains("recall 1.0000"), "every far-off scan row flagged: {stdout}");

    let (ok, _, stderr) = eval(&["--train", "/nonexistent.csv", "--format", "csv"]);
    assert!(!ok && stderr.contains("/nonexistent.csv"), "{stderr}");
    let (ok, _, stderr) =
        eval(&["--train", dir.path().join("train.csv").to_str().unwrap(), "--format", "csv", "--label", "Class"]);
    assert!(!ok && stderr.contains("--label \"Class\""), "{stderr}");
}
