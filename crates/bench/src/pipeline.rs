//! `rampart bench`: the numbers in docs/PERFORMANCE.md come from here.
//!
//! * `pipeline` pushes synthetic events through store → detect → alert save
//!   on one thread, so the figure is per core.
//! * `latency` starts a full node in-process, sends NDJSON over real HTTP at
//!   a fixed rate, and times each batch's probe event from send to the moment
//!   its alert is saved and published on the live feed.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rampart_core::config::{Config, Durability, EntityAnomalyConfig};
use rampart_core::ecs::encode_event_string;
use rampart_core::{Detector, Event, EventKind, Outcome, Store};
use rampart_detect::{Aggregator, EntityAnomalyDetector, RuleEngine, load_rules};
use rampart_store::SqliteStore;

use crate::args::{BenchLatencyArgs, BenchPipelineArgs, BenchSampleArgs};
use rampart_node::Node;
use rampart_node::pipeline::{AlertCallback, Take};

/// A small deterministic generator: benches must be repeatable.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A realistic mix: 60% web requests, 30% SSH logins (mostly failures from a
/// few noisy addresses), 10% host metric samples.
pub(crate) fn synthetic_event(rng: &mut XorShift, at_ms: i64) -> Event {
    let r = rng.next();
    let ip = format!("198.51.{}.{}", (r >> 8) % 20, (r >> 16) % 250);
    match r % 10 {
        0..=5 => {
            let mut e = Event::new(EventKind::Event, at_ms);
            e.category = vec!["web".into()];
            e.source.ip = ip.parse().ok();
            e.http_method = Some("GET".into());
            let status = if (r >> 24).is_multiple_of(10) { 404 } else { 200 };
            e.http_status = Some(status);
            e.url_original = Some(format!("/shop/item/{}?ref=home", (r >> 32) % 5_000));
            e.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into());
            e.message = Some(format!("GET /shop/item/{} {status}", (r >> 32) % 5_000));
            e
        }
        6..=8 => {
            let mut e = Event::new(EventKind::Event, at_ms);
            e.category = vec!["authentication".into()];
            e.action = Some("ssh_login".into());
            e.outcome = Some(if (r >> 40).is_multiple_of(4) { Outcome::Success } else { Outcome::Failure });
            e.source.ip = ip.parse().ok();
            e.user_name = Some(["root", "admin", "deploy", "ubuntu"][((r >> 44) % 4) as usize].into());
            e.message = Some("Failed password for root from 198.51.100.7 port 52344 ssh2".into());
            e
        }
        _ => {
            let mut e = Event::new(EventKind::Metric, at_ms);
            e.host_name = Some("web-1".into());
            e.body = Some(rampart_core::Body::Metrics(
                [("cpu.pct".to_owned(), (r % 100) as f64), ("load.1".to_owned(), 0.5)].into(),
            ));
            e
        }
    }
}

pub fn sample(args: &BenchSampleArgs) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let mut rng = XorShift(0x5EED);
    let now = rampart_core::time::now_ms();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..args.events {
        writeln!(out, "{}", encode_event_string(&synthetic_event(&mut rng, now)))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn pipeline(args: &BenchPipelineArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.batch > 0 && args.events > 0, "--events and --batch must be positive");
    let dir = tempfile::tempdir().context("cannot make a temp directory")?;
    let store = SqliteStore::open(dir.path(), Durability::Normal)?.with_compression(!args.plain_chunks);
    let rules = load_rules(true, args.rules_dir.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("  rules: {}", rules.len());
    let mut engine = RuleEngine::new(rules, 100_000);
    // On by default in `serve`, so it is part of the figure (and timed apart).
    let mut entities = EntityAnomalyDetector::new(EntityAnomalyConfig::default(), None);
    let mut aggregator = Aggregator::new(600, 20, 50_000);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let start_ms = rampart_core::time::now_ms();
    let notified = Arc::new(AtomicUsize::new(0));
    let mut on_alert: AlertCallback = {
        let notified = notified.clone();
        Box::new(move |_, _| {
            notified.fetch_add(1, Ordering::Relaxed);
        })
    };
    let (mut store_time, mut detect_time, mut save_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut entity_time = Duration::ZERO;
    let mut findings = Vec::new();
    let mut done = 0;
    let sample_size = encode_event_string(&synthetic_event(&mut XorShift(7), 0)).len();
    let started = Instant::now();
    let mut last_flush = started;
    while done < args.events {
        let n = args.batch.min(args.events - done);
        let mut batch: Vec<Event> =
            (0..n).map(|i| synthetic_event(&mut rng, start_ms + ((done + i) / 50) as i64)).collect();
        let t = Instant::now();
        store.append_events(&mut batch)?;
        // The node checkpoints on another thread every second; here it is
        // counted in store time, so the per-core figure stays conservative.
        if (done / args.batch) % 20 == 19 {
            store.checkpoint()?;
        }
        store_time += t.elapsed();
        let t = Instant::now();
        for event in &batch {
            engine.detect(event, &mut findings);
            for f in findings.drain(..) {
                aggregator.merge(f);
            }
        }
        detect_time += t.elapsed();
        let t = Instant::now();
        for event in &batch {
            entities.detect(event, &mut findings);
            for f in findings.drain(..) {
                aggregator.merge(f);
            }
        }
        entity_time += t.elapsed();
        let t = Instant::now();
        if last_flush.elapsed() >= Duration::from_millis(250) {
            rampart_node::pipeline::persist(&store, &mut aggregator, &mut on_alert, Take::All);
            last_flush = Instant::now();
        } else if aggregator.has_opened() {
            rampart_node::pipeline::persist(&store, &mut aggregator, &mut on_alert, Take::Opened);
        }
        save_time += t.elapsed();
        done += n;
    }
    let t = Instant::now();
    rampart_node::pipeline::persist(&store, &mut aggregator, &mut on_alert, Take::All);
    save_time += t.elapsed();
    let elapsed = started.elapsed();
    let stats = store.stats()?;
    // The rate counts the pipeline's own work, not generating the events
    // (in production that is HTTP decoding, measured by bench-http).
    let busy = store_time + detect_time + entity_time + save_time;
    let rate = args.events as f64 / busy.as_secs_f64();
    let without_entities = args.events as f64 / (busy - entity_time).as_secs_f64();
    println!("bench pipeline: {} events in batches of {} on one thread", args.events, args.batch);
    println!(
        "  events/s (detect → store, one core): {rate:.0}   ({:.2} µs/event)",
        busy.as_secs_f64() * 1e6 / args.events as f64
    );
    println!(
        "  events/s without the entity anomaly detector: {without_entities:.0}   (it took {:.2} µs/event)",
        entity_time.as_secs_f64() * 1e6 / args.events as f64
    );
    println!(
        "  time in event store: {:.2}s   rules: {:.2}s   entity anomaly: {:.2}s   alert save: {:.2}s   wall, with \
         event generation: {:.2}s",
        store_time.as_secs_f64(),
        detect_time.as_secs_f64(),
        entity_time.as_secs_f64(),
        save_time.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "  stored events: {}   alerts: {}   alert notifications: {}   typical event JSON: {sample_size} bytes",
        stats.events_total,
        stats.alerts_total,
        notified.load(Ordering::Relaxed)
    );
    // What the events take on disk (database and WAL), compressed or not.
    store.checkpoint()?;
    let bytes: u64 = std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    println!(
        "  on disk: {:.1} MB ({:.0} bytes/event, chunk bodies {})",
        bytes as f64 / 1e6,
        bytes as f64 / args.events as f64,
        if args.plain_chunks { "plain" } else { "LZ4" }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn latency(args: &BenchLatencyArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.rate > 0 && args.seconds > 0 && args.requests_per_second > 0, "arguments must be positive");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(latency_run(args))
}

async fn latency_run(args: &BenchLatencyArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir_all(&rules_dir)?;
    std::fs::write(
        rules_dir.join("probe.yaml"),
        "id: bench-probe\ntitle: Bench probe\nseverity: info\nentity: labels.probe\ncondition: { field: labels.probe, exists: true }\n",
    )?;
    let mut config = Config { listen: "127.0.0.1:0".parse()?, data_dir: dir.path().join("data"), ..Config::default() };
    config.detect.rules_dir = Some(rules_dir);
    config.sinks.stdout = false;
    // A fixed token is fine: this node lives in a temp dir, on loopback, for seconds.
    let token = "bench-token";
    let store = SqliteStore::open(&config.data_dir, config.store.durability)?;
    rampart_server::auth::adopt_admin_token(&store, token)?;
    drop(store);
    let node = Node::start(config, Arc::new(String::new), false).await?;
    let url = format!("http://{}/api/v1/events", node.addr);

    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut live = node.saved_alerts.subscribe();
    let collector = {
        let (sent, latencies) = (sent.clone(), latencies.clone());
        tokio::spawn(async move {
            while let Ok(alert) = live.recv().await {
                if alert.rule_id != "bench-probe" {
                    continue;
                }
                let started = sent.lock().unwrap_or_else(|p| p.into_inner()).remove(&alert.entity.value);
                if let Some(t) = started {
                    latencies.lock().unwrap_or_else(|p| p.into_inner()).push(t.elapsed());
                }
            }
        })
    };

    let client = rampart_client::http_client()?;
    let per_request = (args.rate / args.requests_per_second).max(1) as usize;
    let requests = args.seconds * args.requests_per_second;
    let mut rng = XorShift(42);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.requests_per_second)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(requests as usize);
    let started = Instant::now();
    for i in 0..requests {
        tick.tick().await;
        let now = rampart_core::time::now_ms();
        let mut body = String::with_capacity(per_request * 300);
        for _ in 1..per_request {
            body.push_str(&encode_event_string(&synthetic_event(&mut rng, now)));
            body.push('\n');
        }
        let probe = format!("p{i}");
        let mut marker = Event::new(EventKind::Event, now);
        marker.extra.insert("labels.probe".into(), serde_json::Value::from(probe.clone()));
        body.push_str(&encode_event_string(&marker));
        body.push('\n');
        sent.lock().unwrap_or_else(|p| p.into_inner()).insert(probe, Instant::now());
        let request = client.post(&url).bearer_auth(token).header("content-type", "application/x-ndjson").body(body);
        tasks.push(tokio::spawn(async move { request.send().await.map(|r| r.status().is_success()) }));
    }
    let mut ok = 0usize;
    for t in tasks {
        if matches!(t.await, Ok(Ok(true))) {
            ok += 1;
        }
    }
    let send_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    collector.abort();
    node.stop().await;

    let mut samples = latencies.lock().unwrap_or_else(|p| p.into_inner()).clone();
    samples.sort();
    anyhow::ensure!(!samples.is_empty(), "no probe alert came back");
    let pct = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "bench latency: {} events/s for {}s over HTTP, {} requests/s of {} events",
        args.rate, args.seconds, args.requests_per_second, per_request
    );
    println!(
        "  requests ok: {ok}/{requests}   achieved: {:.0} events/s   probes answered: {}/{}",
        (ok * per_request) as f64 / send_secs,
        samples.len(),
        requests
    );
    println!(
        "  ingest → alert latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(samples[samples.len() - 1])
    );
    Ok(ExitCode::SUCCESS)
}
