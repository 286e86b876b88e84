use std::collections::BTreeMap;

use rampart_core::rng::SplitMix64;
use rampart_core::{EventKind, Finding};

use super::culprits::tests::process_event;
use super::*;

const HOST: &str = "web-1";

fn config(warmup_secs: u64) -> HostAnomalyConfig {
    HostAnomalyConfig { warmup_secs, ..HostAnomalyConfig::default() }
}

/// An idle-ish host: a few percent CPU, steady memory, some traffic.
fn normal_metrics(rng: &mut SplitMix64) -> BTreeMap<String, f64> {
    let mut jitter = |base: f64, spread: f64| base + spread * rng.next_f64();
    let cpu = jitter(2.0, 6.0);
    [
        ("cpu.total.pct", cpu),
        ("cpu.core.0.pct", cpu + jitter(0.0, 3.0)),
        ("cpu.core.1.pct", cpu - 1.0),
        ("cpu.user.pct", cpu * 0.6),
        ("cpu.system.pct", cpu * 0.4),
        ("load.1", jitter(0.05, 0.3)),
        ("processes.running", jitter(1.0, 1.0).floor()),
        ("memory.used.pct", jitter(40.0, 2.0)),
        ("net.rx.bytes_per_sec", jitter(2_000.0, 8_000.0)),
        ("net.tx.bytes_per_sec", jitter(2_000.0, 8_000.0)),
        ("fd.open", jitter(1_000.0, 50.0).floor()),
        ("processes.count", jitter(150.0, 5.0).floor()),
        ("processes.threads", jitter(300.0, 20.0).floor()),
        ("tcp.established", jitter(5.0, 5.0).floor()),
        ("tcp.total", jitter(15.0, 5.0).floor()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn host_event(at: i64, id: i64, metrics: BTreeMap<String, f64>) -> Event {
    let mut e = Event::new(EventKind::Metric, at);
    e.id = Some(id);
    e.action = Some("host_metrics".into());
    e.host_name = Some(HOST.into());
    e.body = Some(Body::Metrics(metrics));
    e
}

fn proc_event(pid: u32, name: &str, at: i64, cpu: f64) -> Event {
    let mut e = process_event(pid, name, at, cpu, 10_000_000);
    e.host_name = Some(HOST.into());
    e.id = Some(at + i64::from(pid));
    e
}

/// Feeds `samples` two-second samples from `from_ms`; `burn` makes them busy
/// with a `burner` process. Returns the findings.
fn run(d: &mut HostAnomalyDetector, rng: &mut SplitMix64, from_ms: i64, samples: i64, burn: bool) -> Vec<Finding> {
    run_busy(d, rng, from_ms, samples, burn.then_some((4242, "burner")))
}

/// `run` with the busy process's pid and name chosen.
fn run_busy(
    d: &mut HostAnomalyDetector,
    rng: &mut SplitMix64,
    from_ms: i64,
    samples: i64,
    busy: Option<(u32, &str)>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for i in 0..samples {
        let at = from_ms + i * 2_000;
        d.detect(&proc_event(100, "postgres", at, 3.0), &mut out);
        let mut metrics = normal_metrics(rng);
        if let Some((pid, name)) = busy {
            d.detect(&proc_event(pid, name, at, 99.0), &mut out);
            for (k, v) in [("cpu.total.pct", 55.0), ("cpu.core.1.pct", 100.0), ("cpu.user.pct", 53.0), ("load.1", 1.2)]
            {
                metrics.insert(k.into(), v);
            }
        }
        d.detect(&host_event(at, at, metrics), &mut out);
    }
    out
}

#[test]
fn learns_then_names_a_cpu_burner_and_its_features() {
    let mut rng = SplitMix64::new(7);
    let mut d = HostAnomalyDetector::new(config(600), Some(HOST.into()), None);
    assert!(run(&mut d, &mut rng, 0, 301, false).is_empty(), "nothing is scored while learning");
    assert!(d.is_scoring());
    let quiet = run(&mut d, &mut rng, 602_000, 100, false);
    assert!(quiet.len() <= 2, "a normal host stays quiet: {} findings", quiet.len());

    let findings = run(&mut d, &mut rng, 800_000, 3, true);
    assert_eq!(findings.len(), 2, "an alert from the second anomalous sample in a row");
    let f = &findings[0];
    assert_eq!(
        (f.rule.id.as_str(), f.entity.field.as_str(), f.entity.value.as_str()),
        (RULE_ID, "process.pid", "4242")
    );
    assert!(f.rule.score >= 60.0, "{}", f.rule.description);
    let context = f.context.as_deref().unwrap();
    assert_eq!(context["culprits"][0]["name"], "burner");
    assert_eq!(context["culprits"][0]["start_ticks"], 42_420);
    assert!(context["culprits"][0]["share"].as_f64().unwrap() > 0.9);
    let features: Vec<&str> =
        context["features"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(features.contains(&"cpu.total.pct") && features.contains(&"cpu.core.max.pct"), "{features:?}");
    assert!(f.evidence.contains(&802_000) && f.evidence.contains(&(802_000 + 4242)), "host and process events");
}

#[test]
fn the_baseline_survives_a_restart_and_is_refitted_on_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host-baseline.json");
    let mut rng = SplitMix64::new(3);
    // A small baseline on purpose: this test is about saving and refitting.
    let cfg = HostAnomalyConfig { retrain_interval_secs: 60, window_points: 40, min_baseline_points: 30, ..config(60) };
    let mut d = HostAnomalyDetector::new(cfg.clone(), Some(HOST.into()), Some(path.clone()));
    run(&mut d, &mut rng, 0, 31, false);
    assert!(d.is_scoring() && path.exists());
    let Phase::Scoring(fitted) = &d.phase else { unreachable!() };
    let (fitted_at, probe) = (fitted.trained_at_ms, model_vector(&raw_vector(&normal_metrics(&mut rng))));

    let restarted = HostAnomalyDetector::new(cfg, Some(HOST.into()), Some(path.clone()));
    let Phase::Scoring(loaded) = &restarted.phase else { panic!("a restart must not warm up again") };
    assert_eq!(loaded.forest.score(&probe), fitted.forest.score(&probe));

    run(&mut d, &mut rng, 62_000, 40, false);
    let Phase::Scoring(refitted) = &d.phase else { unreachable!() };
    assert!(refitted.trained_at_ms > fitted_at, "refitted after the retrain interval");
    assert!(refitted.window.len() <= 40, "the window slides");

    std::fs::write(&path, "{not json").unwrap();
    let corrupt = HostAnomalyDetector::new(config(60), Some(HOST.into()), Some(path));
    assert!(!corrupt.is_scoring(), "a corrupt file means learning afresh, not a crash");
}

#[test]
fn other_hosts_and_other_events_are_ignored() {
    let mut rng = SplitMix64::new(5);
    let mut d = HostAnomalyDetector::new(config(0), Some(HOST.into()), None);
    let mut out = Vec::new();
    for i in 0..20 {
        let mut e = host_event(i * 2_000, i, normal_metrics(&mut rng));
        e.host_name = Some("db-2".into());
        d.detect(&e, &mut out);
        d.detect(&Event::new(EventKind::Event, i), &mut out);
    }
    assert!(!d.is_scoring() && out.is_empty());
}

/// The figures behind DETECTION.md's "why the z-score guard exists"
/// (`cargo test -p rampart-detect forest_alone -- --nocapture` prints them):
/// the forest ranks the burner no higher than the extremes of normal, and
/// the burner's CPU metrics are what the guard catches.
#[test]
fn the_forest_alone_misses_a_burner_beyond_its_range_and_the_z_guard_catches_it() {
    let mut rng = SplitMix64::new(7);
    let mut d = HostAnomalyDetector::new(config(600), Some(HOST.into()), None);
    run(&mut d, &mut rng, 0, 301, false);
    let Phase::Scoring(b) = &d.phase else { unreachable!() };
    let mut normal: Vec<f64> =
        (0..200).map(|_| b.forest.score(&model_vector(&raw_vector(&normal_metrics(&mut rng))))).collect();
    normal.sort_by(f64::total_cmp);
    let mut burning = normal_metrics(&mut rng);
    for (k, v) in [("cpu.total.pct", 55.0), ("cpu.core.1.pct", 100.0), ("cpu.user.pct", 53.0), ("load.1", 1.2)] {
        burning.insert(k.into(), v);
    }
    let point = model_vector(&raw_vector(&burning));
    let score = b.forest.score(&point);
    let z_max = b.standing_out(&point)[0].1;
    eprintln!(
        "threshold {:.2}; normal median {:.2}, p99 {:.2}; burner score {score:.2}, max z {z_max:.1}",
        b.threshold, normal[100], normal[198]
    );
    assert!(score < b.threshold, "the forest alone does not flag it");
    assert!(z_max >= HostAnomalyConfig::default().feature_z_limit, "the guard does");
}

/// A sample whose host metrics are still busy while no process is: what
/// the collector reads just after a heavy job exits; `script` is a small
/// process (2% CPU) seen for the first time.
fn tail_sample(d: &mut HostAnomalyDetector, rng: &mut SplitMix64, at: i64, script: u32) -> Vec<Finding> {
    let mut out = Vec::new();
    d.detect(&proc_event(100, "postgres", at, 3.0), &mut out);
    d.detect(&proc_event(script, "cron-script", at, 2.0), &mut out);
    let mut metrics = normal_metrics(rng);
    for (k, v) in [("cpu.total.pct", 40.0), ("cpu.core.1.pct", 75.0), ("cpu.user.pct", 38.0), ("load.1", 1.1)] {
        metrics.insert(k.into(), v);
    }
    d.detect(&host_event(at, at, metrics), &mut out);
    out
}

/// An hour after the warm-up with a two-minute backup every ten minutes:
/// the first three backups alert, the rest are a learnt recurring job; a
/// miner with the same footprint under another name still alerts at once.
/// Prints the false-alarm figures DETECTION.md reports.
#[test]
fn a_recurring_job_is_learnt_and_a_miner_is_still_caught() {
    let mut rng = SplitMix64::new(11);
    let mut d = HostAnomalyDetector::new(config(600), Some(HOST.into()), None);
    assert!(run(&mut d, &mut rng, 0, 301, false).is_empty());
    assert!(d.is_scoring());
    let (mut at, mut alerted, mut quiet_samples, mut quiet_findings) = (602_000, Vec::new(), 0, 0);
    for episode in 0..6u32 {
        let quiet = run(&mut d, &mut rng, at, 240, false);
        (quiet_samples, quiet_findings, at) = (quiet_samples + 240, quiet_findings + quiet.len(), at + 480_000);
        let mut backup = run_busy(&mut d, &mut rng, at, 60, Some((5000 + episode, "backup")));
        // The first sample after the backup exits still carries its load,
        // and a small script that just woke up is the only process that grew.
        backup.extend(tail_sample(&mut d, &mut rng, at + 120_000, 7000 + episode));
        assert!(backup.iter().all(|f| f.entity.value != (7000 + episode).to_string()), "the script is no culprit");
        alerted.push(!backup.is_empty());
        at += 122_000;
    }
    println!(
        "backups alerted: {alerted:?}; findings on {quiet_samples} normal samples: {quiet_findings} ({:.2}%)",
        100.0 * quiet_findings as f64 / quiet_samples as f64
    );
    assert_eq!(alerted, [true, true, true, false, false, false], "learnt after three separate episodes");
    assert!(quiet_findings * 100 <= quiet_samples, "at most 1% of normal samples flagged: {quiet_findings}");
    let miner = run_busy(&mut d, &mut rng, at, 3, Some((6666, "xmrig")));
    assert_eq!(miner.len(), 2, "the miner alerts on its second sample, as the first backup did");
    assert_eq!(miner[0].entity.value, "6666");
}

#[test]
fn rampart_never_names_itself_and_a_short_warmup_is_not_a_baseline() {
    let mut rng = SplitMix64::new(5);
    let mut d = HostAnomalyDetector::new(config(30), Some(HOST.into()), None);
    run(&mut d, &mut rng, 0, 120, false);
    assert!(!d.is_scoring(), "120 points are not a baseline, however long the warm-up (min_baseline_points)");
    run(&mut d, &mut rng, 240_000, 100, false);
    assert!(d.is_scoring());
    let findings = run_busy(&mut d, &mut rng, 500_000, 3, Some((std::process::id(), "rampart")));
    assert!(!findings.is_empty(), "the host is still anomalous");
    assert!(findings.iter().all(|f| f.entity.field == "host.name"), "the alert is about the host, not Rampart");
    for f in &findings {
        let culprits = f.context.as_deref().unwrap()["culprits"].as_array().unwrap().clone();
        assert!(culprits.iter().all(|c| c["pid"] != std::process::id()), "{culprits:?}");
    }
}
