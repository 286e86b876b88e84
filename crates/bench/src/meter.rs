//! `rampart bench meter`: the flow meter's speed and memory on one core.
//!
//! A capture file is read into memory once, then decoded and metered pass
//! after pass (each pass shifted in time so the last pass's flows have
//! ended), alone and, with `--model`, with every flow record turned into
//! an event and scored by the flow detector as the live source does. Then
//! a table is filled with `--concurrent` distinct flows and the process's
//! resident memory measured before and after.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rampart_core::Detector;
use rampart_detect::{FlowDetector, LiveModel, ModelSlot};
use rampart_meter::{Ended, FlowTable, LinkType, MeterConfig, Packet, decode};
use rampart_ml::flow_model::FlowModel;
use rampart_sources::capture::{flow_event, timestamp_us};

use crate::args::BenchMeterArgs;

struct Frames {
    link: LinkType,
    frames: Vec<(i64, Vec<u8>)>,
    bytes: usize,
}

fn load(path: &std::path::Path) -> anyhow::Result<Frames> {
    let mut cap = pcap::Capture::from_file(path).with_context(|| format!("cannot read {}", path.display()))?;
    let dlt = cap.get_datalink().0;
    let link = LinkType::from_dlt(dlt).with_context(|| format!("link type {dlt} is not one the meter reads"))?;
    let mut frames = Vec::new();
    let mut bytes = 0;
    loop {
        match cap.next_packet() {
            Ok(p) => {
                bytes += p.data.len();
                frames.push((timestamp_us(p.header), p.data.to_vec()));
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(e).with_context(|| format!("{} is damaged", path.display())),
        }
    }
    anyhow::ensure!(!frames.is_empty(), "{} holds no packets", path.display());
    Ok(Frames { link, frames, bytes })
}

/// Resident set size, bytes (Linux).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Meters every pass; with a detector, scores the records in batches.
fn run_passes(frames: &Frames, passes: usize, mut detector: Option<&mut FlowDetector>) -> (f64, u64, u64, u64) {
    let first = frames.frames[0].0;
    let span = frames.frames.last().map_or(0, |f| f.0) - first + 300_000_000;
    let mut table = FlowTable::new(MeterConfig::default());
    let mut out: Vec<Ended> = Vec::new();
    let (mut records, mut attack_flows, mut skipped) = (0u64, 0u64, 0u64);
    let mut findings = Vec::new();
    let started = Instant::now();
    for pass in 0..passes {
        let shift = span * pass as i64;
        for (ts, frame) in &frames.frames {
            match decode(frames.link, frame, ts + shift) {
                Ok(packet) => table.push(&packet, &mut out),
                Err(_) => skipped += 1,
            }
            if out.len() >= 512 {
                records += out.len() as u64;
                if let Some(d) = detector.as_deref_mut() {
                    let events: Vec<_> = out.iter().map(|f| flow_event(f, &[])).collect();
                    d.detect_batch(&events, &mut findings);
                    attack_flows += findings.iter().map(|f| f.count).sum::<u64>();
                    findings.clear();
                }
                out.clear();
            }
        }
    }
    table.flush(&mut out);
    records += out.len() as u64;
    if let Some(d) = detector {
        let events: Vec<_> = out.iter().map(|f| flow_event(f, &[])).collect();
        d.detect_batch(&events, &mut findings);
        attack_flows += findings.iter().map(|f| f.count).sum::<u64>();
    }
    (started.elapsed().as_secs_f64(), records, attack_flows, skipped)
}

pub fn run(args: &BenchMeterArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::ensure!(args.passes >= 1, "--passes must be at least 1");
    let frames = load(&args.pcap)?;
    let packets = (frames.frames.len() * args.passes) as f64;
    println!(
        "capture: {} packets, {:.1} MB, {} passes ({packets} packets metered)",
        frames.frames.len(),
        frames.bytes as f64 / 1e6,
        args.passes
    );
    // One pass first so the figures are not the first touches of memory.
    run_passes(&frames, 1, None);
    let (secs, records, _, skipped) = run_passes(&frames, args.passes, None);
    println!(
        "decode + meter: {:.2} M packets/s on one core ({:.0} ns/packet), {records} flow records, {skipped} frames not metered",
        packets / secs / 1e6,
        secs * 1e9 / packets
    );
    if let Some(path) = &args.model {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let model = FlowModel::from_json(&text).with_context(|| format!("{} is not a flow model", path.display()))?;
        let slot = Arc::new(ModelSlot::default());
        slot.set_active(Some(Arc::new(LiveModel::new(&model, "bench"))));
        let mut detector = FlowDetector::new(slot, 0.5);
        let (secs, records, findings, _) = run_passes(&frames, args.passes, Some(&mut detector));
        println!(
            "decode + meter + score ({}): {:.2} M packets/s on one core, {:.0} flows scored/s, {findings} of {records} flows called attacks",
            path.display(),
            packets / secs / 1e6,
            records as f64 / secs
        );
    }
    if args.concurrent > 0 {
        concurrent(args.concurrent);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Memory for `n` flows open at once: one UDP packet each, distinct ports
/// and addresses, none ending.
fn concurrent(n: usize) {
    let config = MeterConfig { max_flows: n + 1, early_packets: 0, early_after_us: 0, ..MeterConfig::default() };
    let before = rss_bytes();
    let mut table = FlowTable::new(config);
    let mut out = Vec::new();
    let started = Instant::now();
    for i in 0..n {
        let packet = Packet {
            ts_us: 1_000_000 + i as i64,
            src: std::net::Ipv4Addr::from(0x0A00_0000u32 + (i as u32 >> 8)).into(),
            dst: std::net::Ipv4Addr::new(192, 0, 2, 1).into(),
            src_port: 1024 + (i % 256) as u16,
            dst_port: 53,
            protocol: rampart_meter::decode::UDP,
            payload_len: 40,
            header_len: 8,
            flags: 0,
            seq: 0,
            ack: 0,
            window: 0,
            icmp: None,
        };
        table.push(&packet, &mut out);
    }
    let secs = started.elapsed().as_secs_f64();
    let grown = rss_bytes().saturating_sub(before);
    println!(
        "{} flows open at once: resident memory +{:.0} MB ({:.0} bytes per flow, table and its slack included); {:.2} M new flows/s",
        table.len(),
        grown as f64 / 1e6,
        grown as f64 / table.len().max(1) as f64,
        n as f64 / secs / 1e6
    );
}
