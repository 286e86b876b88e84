//! `rampart train payloads` on a small corpus laid out as the public one
//! is, then `rampart check` with the model it wrote: verdicts, classes,
//! the decoded form, exit codes, and attacker text kept off the terminal;
//! `rampart eval payloads` scoring a model on a directory and on lists.

#![allow(clippy::unwrap_used)]

mod util;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn rampart(args: &[&str]) -> Output {
    Command::new(util::bin()).args(args).output().unwrap()
}

/// A few of each class, in each source's file layout.
fn corpus(root: &Path) {
    let write = |rel: &str, text: String| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let mut sqli = String::new();
    let mut xss = String::new();
    for i in 0..60 {
        sqli.push_str(&format!("{i}%27%20or%20{i}%3D{i}%20--\n{i}%20union%20select%20user,password%20from%20t{i}\nx%27%20and%20sleep({i})%23\n"));
        xss.push_str(&format!("%3Cscript%3Ealert({i})%3C/script%3E\n%3Cimg%20src%3Dx{i}%20onerror%3Dalert({i})%3E\n"));
    }
    write("libinjection/sqli-test.txt", sqli);
    write("libinjection/xss-test.txt", xss);
    write("libinjection/false_positives.txt", "24-7-TEAM\n443\n".into());
    let mut traversal = String::new();
    let mut commands = String::new();
    for i in 0..60 {
        traversal.push_str(&format!("{}etc/passwd\n..\\..\\windows\\win.ini{i}\n", "../".repeat(i % 8 + 1)));
        commands.push_str(&format!(";cat /etc/passwd{i}\n|sleep {i};\n`id`{i}\n"));
    }
    write("payloadsallthethings/Directory_Traversal/t.txt", traversal);
    write("payloadsallthethings/Command_Injection/c.txt", commands);
}

#[test]
fn a_trained_payload_model_judges_values_with_check() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let model = dir.path().join("payloads.json");
    let (data, out) = (dir.path().to_str().unwrap(), model.to_str().unwrap());
    let corpus_out = dir.path().join("corpus.jsonl");
    let misses_out = dir.path().join("misses.jsonl");
    let trained = rampart(&[
        "train",
        "payloads",
        "--data",
        data,
        "--out",
        out,
        "--trees",
        "20",
        "--draws",
        "2",
        "--corpus-out",
        corpus_out.to_str().unwrap(),
        "--misses-out",
        misses_out.to_str().unwrap(),
        "--json",
    ]);
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    // The corpus it trained on, for a baseline elsewhere: one labelled value per line.
    let lines: Vec<Value> =
        std::fs::read_to_string(&corpus_out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let first = lines.iter().find(|l| l["source"] == "libinjection").unwrap();
    assert_eq!((first["class"].as_str(), first["context"].as_str()), (Some("sqli"), Some("form")), "{first}");
    assert!(lines.iter().any(|l| l["source"] == "sql-grammar") && lines.iter().any(|l| l["class"] == "benign"));
    let report: Value = serde_json::from_slice(&trained.stdout).unwrap();
    let left_out = &report["metrics"]["leave_one_source_out"];
    assert!(left_out["libinjection"]["sqli"]["rows"].as_u64().unwrap() > 100, "{report}");
    // Two draws: each figure is their mean, inside the range one draw had.
    let draws = report["metrics"]["draws"].as_f64().unwrap();
    assert_eq!(draws, 2.0);
    let sqli = &left_out["libinjection"]["sqli"];
    let (low, high) = (sqli["detected_range"][0].as_f64().unwrap(), sqli["detected_range"][1].as_f64().unwrap());
    assert!(low <= sqli["detected"].as_f64().unwrap() && sqli["detected"].as_f64().unwrap() <= high, "{sqli}");
    assert_eq!(report["metrics"]["hard_negatives"]["rows"], 2);
    // The misses file holds exactly the left-out values the figures count
    // as wrong, once for each draw that got it wrong.
    let misses: Vec<Value> =
        std::fs::read_to_string(&misses_out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for miss in &misses {
        let (class, verdict) = (miss["class"].as_str().unwrap(), miss["verdict"].as_str().unwrap());
        assert_ne!(class == "benign", verdict == "benign", "{miss}");
        assert!(miss["value"].is_string() && miss["score"].is_number(), "{miss}");
        assert!(miss["draw"].as_f64().unwrap() < draws, "{miss}");
    }
    let mut wrong = 0.0;
    for (source, classes) in left_out.as_object().unwrap() {
        for (class, figures) in classes.as_object().unwrap() {
            let rows = figures["rows"].as_f64().unwrap();
            let share = figures
                .get("detected")
                .map_or_else(|| figures["false_positive_rate"].as_f64().unwrap(), |d| 1.0 - d.as_f64().unwrap());
            let counted = misses.iter().filter(|m| m["source"] == source.as_str() && m["class"] == class.as_str());
            assert_eq!(counted.count() as f64, (rows * share * draws).round(), "{source} {class}");
            wrong += (rows * share * draws).round();
        }
    }
    assert_eq!(misses.len() as f64, wrong);

    let check = |values: &[&str]| {
        let mut args = vec!["check", "--model", out, "--json"];
        args.extend(values);
        rampart(&args)
    };
    let attack = check(&["1%27%20or%201%3D1%20--", "hello world"]);
    assert_eq!(attack.status.code(), Some(1), "an attack among the values exits 1");
    let lines: Vec<Value> =
        String::from_utf8(attack.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!((lines[0]["class"].as_str(), lines[0]["decoded"].as_str()), (Some("sqli"), Some("1' or 1=1 --")));
    assert_eq!(lines[0]["decoding"], serde_json::json!(["url"]));
    assert_eq!(lines[1]["verdict"], "benign");
    let benign = check(&["hello world", "john smith"]);
    assert_eq!(benign.status.code(), Some(0), "{}", String::from_utf8_lossy(&benign.stdout));

    let text = rampart(&["check", "--model", out, "<script>alert(1)</script>", "a\u{1b}[2Jb"]);
    let printed = String::from_utf8(text.stdout).unwrap();
    assert!(printed.starts_with("ATTACK  xss"), "{printed}");
    assert!(!printed.contains('\u{1b}'), "attacker text never reaches the terminal raw: {printed:?}");

    let refused = rampart(&["check", "--model", data, "x"]);
    assert!(!refused.status.success());
}

#[test]
fn eval_payloads_scores_each_source_and_list_apart() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path());
    let sqli = dir.path().join("held-out-sqli.txt");
    std::fs::write(&sqli, "1' or '1'='1\nadmin' union select password from users--\n\n").unwrap();
    let benign = dir.path().join("typed.txt");
    std::fs::write(&benign, "john smith\nred shoes size 42\n2024-01-31\n").unwrap();
    let lines = |class: &str, path: &Path| format!("{class}={}", path.display());
    let out = rampart(&[
        "eval",
        "payloads",
        "--data",
        dir.path().to_str().unwrap(),
        "--lines",
        &lines("sqli", &sqli),
        "--lines",
        &lines("benign", &benign),
        "--raw",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources = &report["sources"];
    assert_eq!(sources["libinjection"]["classes"]["sqli"]["rows"], 180, "{report}");
    assert_eq!(sources["libinjection-false-positives"]["classes"]["benign"]["rows"], 2);
    let held_out = &sources[format!("{} (sqli)", sqli.display())]["classes"]["sqli"];
    assert_eq!((held_out["rows"].as_u64(), held_out["detected"].as_f64()), (Some(2), Some(1.0)), "{report}");
    let typed = &sources[format!("{} (benign)", benign.display())]["classes"]["benign"];
    assert_eq!(typed["false_positive_rate"].as_f64(), Some(0.0));
    let pooled = &report["pooled"];
    assert!(pooled["recall"].as_f64().unwrap() > 0.8 && pooled["roc_auc"].as_f64().unwrap() > 0.8, "{pooled}");

    let bad = rampart(&["eval", "payloads", "--lines", "worm=x.txt"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown class \"worm\""));
}
