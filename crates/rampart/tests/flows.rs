//! The flow classifier end to end: `train flows` and `eval flows` on a
//! generated NSL-KDD-shaped file, version refusal, malformed rows, the
//! registry, activation over the API without a restart, and `replay`
//! delivering every row exactly once to a running server.

#![allow(clippy::unwrap_used)]

mod util;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use util::{ADMIN, Server, api_get, client, eventually};

/// Normal traffic, a SYN flood (neptune → DoS) and a scan (satan → Probe).
fn kdd_rows(n: u32) -> String {
    let mut out = String::new();
    for i in 0..n {
        let (proto, service, flag, bytes, count, rerror, label) = match i % 6 {
            4 => ("tcp", "private", "S0", 0, 200 + i % 50, "0.00", "neptune"),
            5 => ("tcp", ["finger", "telnet", "ftp"][(i % 3) as usize], "REJ", 0, 3 + i % 4, "1.00", "satan"),
            _ => (
                ["tcp", "udp"][(i % 2) as usize],
                ["http", "smtp", "domain_u"][(i % 3) as usize],
                "SF",
                200 + (i * 37) % 900,
                1 + i % 9,
                "0.00",
                "normal",
            ),
        };
        let mut cells: Vec<String> =
            vec![(i % 3).to_string(), proto.into(), service.into(), flag.into(), bytes.to_string()];
        cells.extend((5..41).map(|c| match c {
            22 => count.to_string(),
            26 => rerror.into(),
            _ => "0".into(),
        }));
        cells.push(label.into());
        cells.push("20".into());
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn rampart(args: &[&str], data_dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(util::bin());
    cmd.args(args).env_remove("RAMPART_DATA_DIR");
    if let Some(dir) = data_dir {
        cmd.env("RAMPART_DATA_DIR", dir);
    }
    cmd.output().unwrap()
}

/// A multi-class model of `data` into `out` (20 trees unless `extra` says).
fn train(data: &str, out: &str, extra: &[&str]) -> Value {
    let mut args = vec!["train", "flows", "--data", data, "--format", "nsl-kdd", "--classes", "multi", "--trees", "20"];
    args.extend_from_slice(extra);
    args.extend(["--out", out, "--json"]);
    ok_json(&rampart(&args, None))
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn train_eval_report_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kdd.txt");
    std::fs::write(&data, kdd_rows(900)).unwrap();
    let model = dir.path().join("m.json");
    let (d, m) = (data.to_str().unwrap(), model.to_str().unwrap());
    // A guard at a fixed rate (the folds would choose none on rows this easy).
    let trained = train(d, m, &["--cv", "3", "--novelty-fpr", "0.01"]);
    assert_eq!(trained["classes"], serde_json::json!(["normal", "DoS", "Probe", "R2L", "U2R", "anomaly"]));
    assert_eq!(trained["held_out"]["held_out_rows"], 180);
    assert!(trained["held_out"]["accuracy"].as_f64().unwrap() > 0.95, "{trained}");
    assert_eq!(trained["held_out"]["cv"]["folds"], 3);

    // The same seed writes the same trees.
    let again = dir.path().join("again.json");
    train(d, again.to_str().unwrap(), &["--cv", "3", "--novelty-fpr", "0.01"]);
    let trees =
        |p: &Path| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()["model"].clone();
    assert_eq!(trees(&model), trees(&again));

    let report = dir.path().join("report");
    let eval = ok_json(&rampart(
        &[
            "eval",
            "flows",
            "--model",
            m,
            "--data",
            d,
            "--format",
            "nsl-kdd",
            "--json",
            "--report",
            report.to_str().unwrap(),
        ],
        None,
    ));
    for key in [
        "accuracy",
        "precision",
        "recall",
        "f1",
        "fpr",
        "roc_auc",
        "per_class",
        "macro_avg",
        "weighted_avg",
        "confusion",
    ] {
        assert!(!eval[key].is_null(), "no {key} in {eval}");
    }
    assert_eq!(eval["per_class"]["DoS"]["support"], 150);
    assert!(eval["predictions_per_sec"].as_f64().unwrap() > 0.0);

    // The benchmark scores every row in each pass and says what it measured.
    let bench = ok_json(&rampart(
        &["bench", "flows", "--model", m, "--data", d, "--format", "nsl-kdd", "--passes", "2", "--json"],
        None,
    ));
    assert_eq!((bench["rows"].as_u64(), bench["trees"].as_u64()), (Some(900), Some(20)), "{bench}");
    assert_eq!(bench["batch_passes"].as_array().unwrap().len(), 2);
    for key in ["batch_per_sec", "with_guard_per_sec", "one_row_at_a_time_per_sec", "speedup"] {
        assert!(bench[key].as_f64().unwrap() > 0.0, "{key} in {bench}");
    }
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(md.contains("![confusion matrix](confusion.svg)") && md.contains("| DoS |"), "{md}");
    assert!(md.contains("average precision") && md.contains("![detection by attack family](families.svg)"), "{md}");
    // Each chart is an SVG document that names what it shows.
    for (chart, names) in [
        ("confusion.svg", &["normal", "DoS", "predicted class"][..]),
        ("roc.svg", &["ROC", "false-positive rate", "where the model decides"][..]),
        ("precision-recall.svg", &["precision", "recall"][..]),
        ("families.svg", &["DoS", "Probe", "rows flagged"][..]),
    ] {
        let svg = std::fs::read_to_string(report.join(chart)).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{chart}: {svg}");
        for name in names {
            assert!(svg.contains(name), "{chart} does not show {name}: {svg}");
        }
    }

    // A model file from another format version is refused by name.
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    doc["format_version"] = 99.into();
    doc["rampart_version"] = "9.9.9".into();
    let future = dir.path().join("future.json");
    std::fs::write(&future, doc.to_string()).unwrap();
    let out =
        rampart(&["eval", "flows", "--model", future.to_str().unwrap(), "--data", d, "--format", "nsl-kdd"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("format version 99 (written by rampart 9.9.9)") && err.contains("reads version 1"), "{err}");

    // A malformed row names its file and line; --skip-bad-rows counts it.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, format!("{}0,tcp,http\n", kdd_rows(60))).unwrap();
    let b = bad.to_str().unwrap();
    let out = rampart(&["eval", "flows", "--model", m, "--data", b, "--format", "nsl-kdd"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("{b}:61: 3 columns")), "{err}");
    let skipped = ok_json(&rampart(
        &["eval", "flows", "--model", m, "--data", b, "--format", "nsl-kdd", "--skip-bad-rows", "--json"],
        None,
    ));
    assert_eq!((skipped["rows"].as_u64(), skipped["skipped_rows"].as_u64()), (Some(60), Some(1)));

    // A directory stands for the files in it.
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("a.txt"), kdd_rows(30)).unwrap();
    std::fs::write(folder.join("b.txt"), kdd_rows(12)).unwrap();
    let both = ok_json(&rampart(
        &["eval", "flows", "--model", m, "--data", folder.to_str().unwrap(), "--format", "nsl-kdd", "--json"],
        None,
    ));
    assert_eq!(both["rows"], 42);
}

#[test]
fn a_registered_model_goes_live_without_a_restart_and_replay_delivers_each_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kdd.txt");
    std::fs::write(&data, kdd_rows(600)).unwrap();
    let d = data.to_str().unwrap();
    for (name, algo) in [("forest", "random-forest"), ("boosted", "gbdt")] {
        let out = dir.path().join(format!("{name}.json"));
        train(d, out.to_str().unwrap(), &["--algo", algo]);
    }
    let server = Server::start(dir.path(), "[detect.host_anomaly]\nenabled = false\n[sources.host]\nenabled = false\n");
    let data_dir = server.data_dir.clone();
    for name in ["forest", "boosted"] {
        let file = dir.path().join(format!("{name}.json"));
        let out = rampart(&["models", "add", file.to_str().unwrap(), "--name", name], Some(&data_dir));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let listed = ok_json(&rampart(&["models", "list", "--json"], Some(&data_dir)));
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let post = |path: &str, body: &str| {
        client().post(format!("{}{path}", server.url)).bearer_auth(ADMIN).body(body.to_owned()).send().unwrap()
    };
    assert_eq!(post("/api/v1/models/nope/activate", "").status(), 404);
    let on = post("/api/v1/models/forest/activate", "");
    assert_eq!(on.status(), 200);
    assert_eq!(on.json::<Value>().unwrap()["live"]["active"], "forest");
    let shadow: Value = post("/api/v1/models/boosted/activate", r#"{"shadow": true}"#).json().unwrap();
    assert_eq!(shadow["live"], serde_json::json!({"active": "forest", "shadow": "boosted"}));

    let replay = rampart(
        &[
            "replay",
            d,
            "--format",
            "nsl-kdd",
            "--rate",
            "2000",
            "--mode",
            "random",
            "--batch",
            "64",
            "--to",
            &server.url,
            "--token",
            ADMIN,
        ],
        None,
    );
    let summary = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{summary} {}", String::from_utf8_lossy(&replay.stderr));
    assert!(summary.contains("sent 600 rows") && summary.contains("accepted 600, rejected 0, failed 0"), "{summary}");

    // Every row arrived once: 600 flow events, each source address once.
    let mut sources = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?limit=500&cursor={c}"),
            None => "/api/v1/events?limit=500".to_owned(),
        };
        let page = api_get(&server, &path);
        for e in page["events"].as_array().unwrap() {
            if e["event.action"] == "flow" || e["event"]["action"] == "flow" {
                let ip = e["source.ip"].as_str().or(e["source"]["ip"].as_str()).unwrap().to_owned();
                assert!(sources.insert(ip.clone()), "row from {ip} arrived twice");
            }
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(sources.len(), 600);

    // The SYN floods were called DoS, with the class, attack score and 5-tuple.
    let alert = eventually(20, "a flow-dos alert", || {
        let alerts = api_get(&server, "/api/v1/alerts?rule=flow-dos");
        alerts["alerts"].as_array().unwrap().first().cloned()
    });
    assert_eq!(alert["context"]["class"], "DoS");
    assert_eq!(alert["context"]["model"], "forest");
    assert!(alert["context"]["attack_score"].as_f64().unwrap() > 0.0);
    assert_eq!(alert["context"]["flow"]["network.transport"], "tcp");
    assert!(alert["entity"]["value"].as_str().unwrap().starts_with("198.18."));
    // The novelty guard may call a few of the 400 normal rows novel (1%
    // of normal training rows are over its threshold); nothing else fires.
    let alerts = api_get(&server, "/api/v1/alerts?limit=500")["alerts"].as_array().unwrap().clone();
    let count = |rule: &str| alerts.iter().filter(|a| a["rule_id"] == rule).count();
    assert_eq!(count("flow-dos") + count("flow-probe"), 200, "{alerts:?}");
    assert!(count("flow-anomaly") <= 12, "{} anomaly alerts", count("flow-anomaly"));
    assert_eq!(alerts.len(), 200 + count("flow-anomaly"));
    let metrics = client().get(format!("{}/metrics", server.url)).send().unwrap().text().unwrap();
    let scored = metrics.lines().find(|l| l.starts_with("rampart_flow_shadow_scored_total{")).unwrap_or_default();
    assert!(scored.ends_with(" 600"), "{scored}");
    assert!(metrics.contains("rampart_flow_shadow_disagreements_total{"));
    assert!(metrics.contains("rampart_flows_classified_total{model=\"forest\",class=\"DoS\"} 100"), "{metrics}");

    // Deactivating stops the classifier; the registry remembers the roles.
    assert_eq!(post("/api/v1/models/forest/deactivate", "").status(), 200);
    let models = api_get(&server, "/api/v1/models");
    assert_eq!(models["live"]["active"], Value::Null);
    server.terminate();
}

#[test]
fn families_left_out_choose_the_threshold_and_eval_flags_training_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kdd.txt");
    std::fs::write(&data, kdd_rows(900)).unwrap();
    let model = dir.path().join("m.json");
    let (d, m) = (data.to_str().unwrap(), model.to_str().unwrap());
    let trained = train(d, m, &["--max-fpr", "0.05"]);
    let folds = &trained["held_out"]["leave_family_out"];
    let families: Vec<(&str, u64)> = folds["point"]["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["family"].as_str().unwrap(), f["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(families, [("DoS", 150), ("Probe", 150)], "every row of a family is scored by the model without it");
    assert!(folds["point"]["mean_fpr"].as_f64().unwrap() <= 0.05, "{folds}");
    let threshold = folds["point"]["threshold"].as_f64().unwrap();
    assert!(threshold > 0.0 && threshold < 1.0, "{folds}");
    assert!(folds["at_likeliest_class"]["families"].as_array().unwrap().len() == 2);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let kept = file["operating_point"]["threshold"].as_f64().unwrap();
    assert!((kept - threshold).abs() < 1e-6, "the model file keeps the line: {kept} vs {threshold}");
    // The novelty guard's rate was chosen with the line, among five (none included), and the file is
    // consistent with the choice: a guard and an `anomaly` class exactly when a rate was chosen.
    let tried = folds["point"]["by_guard_rate"].as_array().unwrap();
    assert_eq!(tried.len(), 5, "{folds}");
    let rate = &file["operating_point"]["guard_rate"];
    let has_anomaly = file["classes"].as_array().unwrap().iter().any(|c| c == "anomaly");
    assert_eq!(rate.is_null(), file["novelty"].is_null(), "{rate}");
    assert_eq!(has_anomaly, !rate.is_null());
    let best = tried.iter().map(|t| t["mean_detected"].as_f64().unwrap()).fold(0.0, f64::max);
    assert_eq!(folds["point"]["mean_detected"].as_f64().unwrap(), best, "the chosen rate detects the most");
    // Cross-validation's models take the same guard: their classes are the shipped model's.
    let cv = train(d, dir.path().join("cv.json").to_str().unwrap(), &["--max-fpr", "0.05", "--cv", "2"]);
    assert_eq!(cv["classes"], file["classes"], "{cv}");
    assert_eq!(cv["held_out"]["cv"]["folds"], 2, "{cv}");
    // (ROC AUC, which no line moves: a model whose guard column is read as a class ranks at chance.)
    assert!(cv["held_out"]["cv"]["roc_auc"]["mean"].as_f64().unwrap() > 0.95, "{cv}");

    // Eval decides at the model's threshold and knows its training rows.
    let eval = |data: &str| {
        ok_json(&rampart(&["eval", "flows", "--model", m, "--data", data, "--format", "nsl-kdd", "--json"], None))
    };
    let on_training = eval(d);
    assert!((on_training["threshold"].as_f64().unwrap() - threshold).abs() < 1e-6, "{on_training}");
    let seen = on_training["training_rows_seen"]["share"].as_f64().unwrap();
    // 80% of the rows trained the model, and some held-out attack rows
    // repeat training rows exactly (the generator cycles).
    assert!((0.8..0.95).contains(&seen), "{on_training}");
    let by_family = on_training["detected_by_family"].as_array().unwrap();
    assert_eq!(by_family.iter().map(|f| f["family"].as_str().unwrap()).collect::<Vec<_>>(), ["DoS", "Probe"]);
    let fresh = dir.path().join("fresh.txt");
    let unseen: String = kdd_rows(60).lines().map(|l| format!("7{}\n", &l[1..])).collect();
    std::fs::write(&fresh, unseen).unwrap();
    let on_fresh = eval(fresh.to_str().unwrap());
    assert!(on_fresh["training_rows_seen"]["rows"].as_u64().unwrap() <= 1);
    // A class of 10 rows gets an interval around its recall, not a bare rate.
    let interval = on_fresh["per_class"]["DoS"]["recall_interval"].as_array().unwrap();
    assert!(interval[0].as_f64().unwrap() < interval[1].as_f64().unwrap(), "{on_fresh}");
    assert!(on_training["per_class"]["DoS"]["recall_interval"].is_null(), "150 rows need none");
    let text = rampart(&["eval", "flows", "--model", m, "--data", d, "--format", "nsl-kdd"], None);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("warning:") && text.contains("not held-out figures"), "{text}");
    assert_eq!(text.contains("novelty guard:"), !rate.is_null(), "{text}");

    // Merged labels train as one class, and eval reads its rows the same way.
    let merged = dir.path().join("merged.json");
    let one = train(d, merged.to_str().unwrap(), &["--merge", "satan=neptune"]);
    assert_eq!(one["held_out"]["per_class"]["Probe"]["support"], 0, "{one}");
    assert_eq!(one["held_out"]["per_class"]["DoS"]["support"], 60);
    let merged_eval = ok_json(&rampart(
        &["eval", "flows", "--model", merged.to_str().unwrap(), "--data", d, "--format", "nsl-kdd", "--json"],
        None,
    ));
    assert_eq!(merged_eval["per_class"]["DoS"]["support"], 300);
    let bad = rampart(&["train", "flows", "--data", d, "--format", "nsl-kdd", "--merge", "satan", "--out", m], None);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected FROM=TO"));

    let without = dir.path().join("plain.json");
    let plain = train(d, without.to_str().unwrap(), &["--no-family-folds"]);
    assert!(plain["held_out"]["leave_family_out"].is_null());
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&without).unwrap()).unwrap();
    assert!(file["operating_point"].is_null());
    // Without folds the guard runs at 1%; eval reports it, and not as a class.
    assert!(!file["novelty"].is_null());
    let text =
        rampart(&["eval", "flows", "--model", without.to_str().unwrap(), "--data", d, "--format", "nsl-kdd"], None);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("novelty guard:") && !text.contains("\n  anomaly "), "{text}");
}
