//! `rampart replay`: a labelled flow dataset streamed into a running
//! server's ingest API as `network flow` events, paced to a rate.
//!
//! Each row becomes one event: numeric cells as `flow.features.*`, text
//! cells as `flow.attributes.*`, the dataset's label as `flow.label`, and
//! the 5-tuple where the layout records it (CIC-IDS2017). NSL-KDD rows
//! carry no addresses, so each gets a stable one from 198.18.0.0/15 (the
//! benchmarking range) by row number. A batch is retried only when the
//! server said it took nothing (429, 503), so no row is sent twice.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rampart_ml::SplitMix64;
use rampart_ml::dataset::{Format, Table};
use rampart_ml::preprocess::Cell;
use serde_json::{Map, Value, json};

use crate::cli::{ReplayArgs, ReplayMode};
use rampart_client::{ApiClient, Persistence, Posted};
use rampart_lab::files as flow_files;

/// One row as an ECS event.
pub fn row_event(table: &Table, format: &Format, row: usize, now_ms: i64) -> Value {
    let mut e = Map::new();
    e.insert("@timestamp".into(), json!(now_ms));
    e.insert("event.kind".into(), json!("event"));
    e.insert("event.category".into(), json!(["network"]));
    e.insert("event.action".into(), json!("flow"));
    e.insert("event.dataset".into(), json!("replay"));
    let mut transport = None;
    let mut dst_port = None;
    for (name, cell) in table.columns.iter().zip(&table.rows[row]) {
        match Cell::parse(cell) {
            Cell::Num(v) if v.is_nan() => {}
            // JSON has no infinities; the largest double scores like one.
            Cell::Num(v) => {
                e.insert(format!("flow.features.{name}"), json!(v.clamp(f64::MIN, f64::MAX)));
                if name == "Protocol" {
                    transport = match v as i64 {
                        6 => Some("tcp"),
                        17 => Some("udp"),
                        1 => Some("icmp"),
                        _ => None,
                    }
                    .map(str::to_owned);
                }
                if name == "Dst Port" && (0.0..=65535.0).contains(&v) {
                    dst_port = Some(v as u16);
                }
            }
            Cell::Text(t) => {
                e.insert(format!("flow.attributes.{name}"), json!(t));
                if name == "protocol_type" {
                    transport = Some(t.to_owned());
                }
            }
            Cell::Missing => {}
        }
    }
    e.insert("flow.label".into(), json!(table.labels[row]));
    if let Some(t) = transport {
        e.insert("network.transport".into(), json!(t));
    }
    if let Some([src, sport, dst]) = table.endpoints.get(row) {
        if src.parse::<std::net::IpAddr>().is_ok() {
            e.insert("source.ip".into(), json!(src));
        }
        if let Ok(p) = sport.parse::<u16>() {
            e.insert("source.port".into(), json!(p));
        }
        if dst.parse::<std::net::IpAddr>().is_ok() {
            e.insert("destination.ip".into(), json!(dst));
        }
    } else if *format == Format::NslKdd {
        e.insert("source.ip".into(), json!(format!("198.18.{}.{}", (row >> 8) & 0xff, row & 0xff)));
        e.insert("destination.ip".into(), json!("198.19.0.1"));
    }
    if let Some(p) = dst_port {
        e.insert("destination.port".into(), json!(p));
    }
    Value::Object(e)
}

#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    accepted: u64,
    rejected: u64,
    failed: u64,
}

pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.rate >= 0.0 && args.rate.is_finite(), "--rate must be a positive number (0: no pacing)");
    anyhow::ensure!((1..=10_000).contains(&args.batch), "--batch must be between 1 and 10000");
    let loaded = flow_files::load_paths(&args.paths, &args.layout)?;
    let rows = loaded.table.rows.len();
    let limit = args.limit.unwrap_or(if args.repeat { u64::MAX } else { rows as u64 });
    let http = rampart_client::http_client()?;
    let api = ApiClient::with_token(&args.to, &args.token, http)?;
    let url = api.url("events");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut rng = SplitMix64::new(args.seed);
    let mut order: Vec<usize> = (0..rows).collect();
    let mut tally = Tally::default();
    let started = Instant::now();
    let stop = runtime.block_on(async {
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        'passes: loop {
            if args.mode == ReplayMode::Random {
                rng.shuffle(&mut order);
            }
            for chunk in order.chunks(args.batch) {
                let take = chunk.len().min((limit - tally.sent) as usize);
                if take == 0 {
                    break 'passes;
                }
                let now = rampart_core::time::now_ms();
                let mut body = String::with_capacity(take * 1500);
                for &row in &chunk[..take] {
                    body.push_str(&row_event(&loaded.table, &loaded.format, row, now).to_string());
                    body.push('\n');
                }
                tokio::select! {
                    outcome = post(&api, body) => match outcome {
                        Ok(true) => tally.accepted += take as u64,
                        Ok(false) => tally.rejected += take as u64,
                        Err(error) => {
                            tracing::warn!(%error, "A batch could not be delivered.");
                            eprintln!("rampart replay: {error:#}");
                            tally.failed += take as u64;
                        }
                    },
                    _ = &mut stop => { return true; }
                }
                tally.sent += take as u64;
                if args.rate > 0.0 {
                    let due = Duration::from_secs_f64(tally.sent as f64 / args.rate);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = &mut stop => { return true; }
                        }
                    }
                }
            }
            if !args.repeat || tally.sent >= limit {
                break;
            }
        }
        false
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "replay: sent {} rows from {} to {url} in {secs:.1}s ({:.0} rows/s): accepted {}, rejected {}, failed {}{}{}",
        tally.sent,
        flow_files::describe(&loaded.files),
        tally.sent as f64 / secs.max(1e-9),
        tally.accepted,
        tally.rejected,
        tally.failed,
        if loaded.skipped > 0 { format!(", {} bad rows skipped", loaded.skipped) } else { String::new() },
        if stop { " (interrupted)" } else { "" }
    );
    Ok(if tally.rejected + tally.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Posts one NDJSON batch: `Ok(true)` accepted, `Ok(false)` refused as
/// invalid (the reason is printed); a busy server slows the replay instead
/// of losing rows (the shared client waits while it answers 429 or 503).
async fn post(api: &ApiClient, body: String) -> anyhow::Result<bool> {
    match api.post_events(body, Persistence::WhileBusy).await? {
        Posted::Accepted => Ok(true),
        Posted::Refused(reason) => {
            eprintln!("rampart replay: {} rejected a batch ({reason})", api.url("events"));
            Ok(false)
        }
    }
}
