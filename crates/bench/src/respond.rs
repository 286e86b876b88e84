//! `rampart bench bans` and `rampart bench ban-latency`: the response side's
//! figures in docs/PERFORMANCE.md. Both change the firewall of the network
//! namespace they run in: `bench/bans` gives them a fresh one.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rampart_core::config::{Config, FileSourceConfig};
use rampart_core::{ActionResult, Decision, DecisionKind, Origin, Store, Target};
use rampart_respond::enforce::Enforcer;

use crate::args::{BenchBanLatencyArgs, BenchBansArgs};
use rampart_node::Node;

pub fn bans(args: &BenchBansArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.count > 0 && args.count <= 16_000_000, "--count must be 1..=16000000");
    let table = rampart_respond::enforce::nft_table_for(&Config::default().respond.nftables);
    let now = rampart_core::time::now_ms();
    let decisions: Vec<Decision> = (0..args.count as u32)
        .map(|i| {
            // 10.0.0.0/8 and up, one address each, an hour long.
            let ip = std::net::Ipv4Addr::from(0x0A00_0000 + i);
            Decision::new(
                DecisionKind::Ban,
                Target::Net(std::net::IpAddr::V4(ip).into()),
                Origin::Manual,
                now,
                Some(now + 3_600_000),
            )
        })
        .collect();
    table.teardown().map_err(anyhow::Error::msg)?;
    let started = Instant::now();
    table.ensure().map_err(anyhow::Error::msg)?;
    let results = table.apply(&decisions, now);
    let elapsed = started.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let listed = table.status().map_err(anyhow::Error::msg)?.elements.len();
    table.teardown().map_err(anyhow::Error::msg)?;
    println!("bench bans: {} bans into nftables (inet {}), one batch", args.count, table.table);
    println!(
        "  applied in {:.3}s ({:.0} bans/s)   failed: {failed}   in the set afterwards: {listed}",
        elapsed.as_secs_f64(),
        args.count as f64 / elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn ban_latency(args: &BenchBanLatencyArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.attackers > 0, "--attackers must be positive");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(ban_latency_run(args))
}

async fn ban_latency_run(args: &BenchBanLatencyArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "")?;
    let mut config = Config { listen: "127.0.0.1:0".parse()?, data_dir: dir.path().join("data"), ..Config::default() };
    config.sinks.stdout = false;
    config.respond.mode = rampart_core::config::ResponseMode::Enforce;
    // The source as a user would configure it: defaults but for the path.
    let source: FileSourceConfig = toml::from_str(&format!("paths = [{:?}]\nformat = \"syslog\"", log.display()))?;
    config.sources.files.push(source);
    let node = Node::start(config, Arc::new(String::new), false).await?;
    let store = node.state.store.clone();
    // Let the source open the (empty) file first: it starts at the end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut file = std::fs::OpenOptions::new().append(true).open(&log)?;
    let mut written = Vec::with_capacity(args.attackers);
    for i in 0..args.attackers as u32 {
        let ip = std::net::Ipv4Addr::from(0xC633_6400 + 1 + i % 250 + (i / 250) * 256); // 198.51.100.x …
        let mut lines = String::new();
        for n in 0..5 {
            lines.push_str(&format!(
                "Nov 21 10:00:0{n} web-1 sshd[4{n}]: Failed password for root from {ip} port 5100{n} ssh2\n"
            ));
        }
        // The fifth failure is the one that crosses the threshold.
        file.write_all(lines.as_bytes())?;
        file.flush()?;
        written.push((ip.to_string(), rampart_core::time::now_ms()));
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let applied = applied_at(store.as_ref())?;
    node.stop().await;
    rampart_respond::enforce::nft_table_for(&Config::default().respond.nftables)
        .teardown()
        .map_err(anyhow::Error::msg)?;

    let mut latencies: Vec<i64> = written
        .iter()
        .filter_map(|(ip, at)| applied.iter().find(|(v, _)| v == ip).map(|(_, applied)| applied - at))
        .collect();
    latencies.sort_unstable();
    anyhow::ensure!(!latencies.is_empty(), "no ban was applied");
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1];
    println!(
        "bench ban-latency: {} attackers, one every {} ms, file source defaults",
        args.attackers, args.interval_ms
    );
    println!("  bans applied: {}/{}", latencies.len(), args.attackers);
    println!(
        "  log line written → ban in force (ms): p50 {}  p90 {}  p99 {}  max {}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    Ok(ExitCode::SUCCESS)
}

/// When each address's ban was applied, from the audit trail.
fn applied_at(store: &dyn Store) -> anyhow::Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.actions(cursor, 1_000).context("reading actions")?;
        for a in page.items.iter().filter(|a| a.result == ActionResult::Applied && a.op == "apply") {
            if let Some(d) = store.decision(a.decision_id)? {
                out.push((d.target.to_string(), a.at_ms));
            }
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c.parse()?),
            None => return Ok(out),
        }
    }
}
