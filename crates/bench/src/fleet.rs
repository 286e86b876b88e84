//! `rampart bench fleet`: events through a running fleet — produced to
//! Kafka the way agents produce them (spool records, keyed by source
//! address), read by the worker(s) already running (`serve --role
//! worker`), stored in ClickHouse with detection on. `bench/fleet/run`
//! starts the broker, ClickHouse and the workers around it.
//!
//! Figures: the producing rate; the end-to-end rate (events / time until
//! the last one is a row in ClickHouse); and, for marker bursts sent while
//! the load runs (six failed SSH logins from an address of their own),
//! the latency from producing to the first row in ClickHouse and to the
//! brute-force alert on that address; then the same on the idle fleet.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rampart_bus::{KafkaBus, spool_record};
use rampart_core::config::{ClickHouseConfig, KafkaConfig};
use rampart_core::{Event, EventKind, Outcome};

use crate::args::BenchFleetArgs;
use crate::pipeline::{XorShift, synthetic_event};

/// Events per produce call (one agent's spool round).
const CHUNK: usize = 5_000;

/// How often the bench asks ClickHouse how far the fleet got. Its probes
/// run on the fleet's cores: 50 ms probes were a third of ClickHouse's
/// query time. Figures are late by up to this much.
const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Rows in the events table, from the parts' metadata (a `count()` read a
/// column of the whole table on each probe).
const STORED_ROWS: &str = "SELECT sum(rows) FROM system.parts
     WHERE active AND database = currentDatabase() AND table = 'events'";

pub fn run(args: &BenchFleetArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.events > 0, "--events must be positive");
    let kafka = KafkaConfig { brokers: args.brokers.clone(), topic: args.topic.clone(), ..KafkaConfig::default() };
    let clickhouse =
        ClickHouseConfig { url: args.clickhouse.clone(), database: args.database.clone(), ..Default::default() };
    let http = Http::new(&clickhouse);
    let before = http.count(STORED_ROWS)?;

    eprintln!("generating {} events", args.events);
    let mut rng = XorShift(0x5EED_F1EE);
    let now = rampart_core::time::now_ms();
    let records: Vec<Vec<u8>> = (0..args.events).map(|_| spool_record(&synthetic_event(&mut rng, now))).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let bus = Arc::new(KafkaBus::new(&kafka).map_err(|e| anyhow::anyhow!("{e}"))?);

    let started = Instant::now();
    let timed = std::thread::spawn({
        let (bus, http, count) = (bus.clone(), http.clone(), args.markers);
        let handle = runtime.handle().clone();
        move || markers(&handle, &bus, &http, count)
    });
    let produced = runtime.block_on(async {
        let mut tasks = Vec::new();
        // A few agents at once, each sending its chunks in order.
        for lane in records.chunks(records.len().div_ceil(args.agents.max(1))) {
            let (bus, lane) = (bus.clone(), lane.to_vec());
            tasks.push(tokio::spawn(async move {
                for chunk in lane.chunks(CHUNK) {
                    bus.publish_records(chunk).await.map_err(|e| anyhow::anyhow!(e))?;
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        anyhow::Ok(started.elapsed())
    })?;
    let target = before + args.events as u64;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let stored = http.count(STORED_ROWS)?;
        if stored >= target {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {} events stored after 10 minutes",
            stored - before,
            args.events
        );
        std::thread::sleep(PROBE_EVERY);
    }
    let stored_after = started.elapsed();
    let (to_row, to_alert) = timed.join().map_err(|_| anyhow::anyhow!("the marker thread panicked"))??;
    // The same markers on an idle fleet: the floor under the queueing above.
    let (idle_row, idle_alert) = markers(runtime.handle(), &bus, &http, 20)?;

    let rate = |d: Duration| args.events as f64 / d.as_secs_f64();
    println!("events                 {}", args.events);
    println!("produced in            {:.2} s ({:.0} events/s)", produced.as_secs_f64(), rate(produced));
    println!(
        "stored in ClickHouse   {:.2} s ({:.0} events/s end to end)",
        stored_after.as_secs_f64(),
        rate(stored_after)
    );
    println!("to the row   p50/p99   {} / {} ms ({} markers)", pct(&to_row, 50), pct(&to_row, 99), to_row.len());
    println!("to the alert p50/p99   {} / {} ms ({} markers)", pct(&to_alert, 50), pct(&to_alert, 99), to_alert.len());
    println!(
        "idle: to the row       {} / {} ms, to the alert {} / {} ms ({} markers)",
        pct(&idle_row, 50),
        pct(&idle_row, 99),
        pct(&idle_alert, 50),
        pct(&idle_alert, 99),
        idle_row.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn pct(sorted: &[u64], p: usize) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    sorted[((sorted.len() - 1) * p / 100).min(sorted.len() - 1)].to_string()
}

/// Six failed SSH logins from `ip`: one row each, and a brute force.
fn burst(ip: &str, at_ms: i64) -> Vec<Vec<u8>> {
    (0..6)
        .map(|i| {
            let mut e = Event::new(EventKind::Event, at_ms);
            e.category = vec!["authentication".into()];
            e.action = Some("ssh_login".into());
            e.outcome = Some(Outcome::Failure);
            e.source.ip = ip.parse().ok();
            e.user_name = Some(format!("marker{i}"));
            e.message = Some("Failed password (bench marker)".into());
            spool_record(&e)
        })
        .collect()
}

/// Sends `count` marker bursts, 100 ms apart, and times each to its first
/// row and to its alert. Sorted milliseconds.
fn markers(
    runtime: &tokio::runtime::Handle,
    bus: &KafkaBus,
    http: &Http,
    count: usize,
) -> anyhow::Result<(Vec<u64>, Vec<u64>)> {
    let mut sent: HashMap<String, (Instant, i64)> = HashMap::new();
    let (mut rows, mut alerts): (HashMap<String, u64>, HashMap<String, u64>) = (HashMap::new(), HashMap::new());
    // A /16 of its own per call (shared address space, 100.64.0.0/10).
    let prefix = format!("100.{}.", 64 + (rampart_core::time::now_ms() / 7) % 60);
    let mut next = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(600);
    while (rows.len() < count || alerts.len() < count) && Instant::now() < deadline {
        if sent.len() < count && Instant::now() >= next {
            let ip = format!("{prefix}{}.{}", sent.len() / 250, sent.len() % 250 + 1);
            // Timed from the moment it is handed to the producer, as an agent would.
            let (at, at_ms) = (Instant::now(), rampart_core::time::now_ms());
            runtime.block_on(bus.publish_records(&burst(&ip, at_ms))).map_err(|e| anyhow::anyhow!(e))?;
            sent.insert(ip, (at, at_ms));
            next += Duration::from_millis(100);
        }
        // Probes read only what a marker still awaited could be: rows with
        // ids, and alerts created, since the oldest such marker was sent
        // (less a second for clocks: ids come from the broker's timestamps).
        // ClickHouse shares the cores with the fleet, and a full scan per
        // probe would be measured as the fleet's own load.
        let oldest = |seen: &HashMap<String, u64>| {
            sent.iter().filter(|(ip, _)| !seen.contains_key(*ip)).map(|(_, (_, ms))| *ms - 1_000).min()
        };
        let seen_rows = match oldest(&rows) {
            Some(ms) => http.strings(&format!(
                "SELECT DISTINCT source_ip AS s FROM events
                 WHERE id >= {} AND startsWith(source_ip, '{prefix}')",
                rampart_core::first_record_id_at(ms)
            ))?,
            None => Vec::new(),
        };
        let seen_alerts = match oldest(&alerts) {
            Some(ms) => http.strings(&format!(
                "SELECT visitParamExtractString(visitParamExtractRaw(doc, 'entity'), 'value') AS s FROM alerts
                 PREWHERE id >= '{}' AND rule_id = 'ssh-brute-force' WHERE position(doc, '\"{prefix}') > 0",
                rampart_core::Alert::first_id_minted_at(ms)
            ))?,
            None => Vec::new(),
        };
        for (seen, into) in [(seen_rows, &mut rows), (seen_alerts, &mut alerts)] {
            for ip in seen {
                if let Some((at, _)) = sent.get(&ip) {
                    into.entry(ip).or_insert_with(|| at.elapsed().as_millis() as u64);
                }
            }
        }
        std::thread::sleep(PROBE_EVERY);
    }
    let mut rows: Vec<u64> = rows.into_values().collect();
    let mut alerts: Vec<u64> = alerts.into_values().collect();
    rows.sort_unstable();
    alerts.sort_unstable();
    Ok((rows, alerts))
}

/// Just enough of ClickHouse's HTTP interface for counting.
#[derive(Clone)]
struct Http {
    url: String,
    database: String,
    client: ureq::Agent,
}

impl Http {
    fn new(config: &ClickHouseConfig) -> Http {
        let client = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).build().new_agent();
        Http { url: config.url.clone(), database: config.database.clone(), client }
    }

    fn text(&self, sql: &str) -> anyhow::Result<String> {
        let mut response = self
            .client
            .post(&self.url)
            .query("database", &self.database)
            .send(sql.as_bytes())
            .with_context(|| format!("clickhouse at {}", self.url))?;
        Ok(response.body_mut().read_to_string()?)
    }

    fn count(&self, sql: &str) -> anyhow::Result<u64> {
        let text = self.text(sql)?;
        text.trim().parse().with_context(|| format!("{sql}: {text}"))
    }

    fn strings(&self, sql: &str) -> anyhow::Result<Vec<String>> {
        Ok(self.text(&format!("{sql} FORMAT TSV"))?.lines().map(str::to_owned).collect())
    }
}
