//! `rampart flows extract`: a capture file metered into flows, written in
//! the improved CIC-IDS2017 layout so a user can train and evaluate on
//! their own traffic.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::Context;
use rampart_meter::csv::FlowCsv;
use rampart_meter::{EndReason, MeterConfig};
use rampart_sources::capture::meter_file;

use crate::cli::ExtractArgs;

/// `ADDR=LABEL` pairs, checked: a label goes into a CSV cell unquoted.
fn address_labels(args: &ExtractArgs) -> anyhow::Result<HashMap<IpAddr, String>> {
    check_label(&args.label)?;
    let mut labels = HashMap::new();
    for pair in &args.label_address {
        let (addr, label) =
            pair.split_once('=').with_context(|| format!("--label-address {pair:?}: want ADDR=LABEL"))?;
        let addr: IpAddr =
            addr.trim().parse().with_context(|| format!("--label-address {pair:?}: {addr:?} is not an IP address"))?;
        check_label(label)?;
        labels.insert(addr, label.to_owned());
    }
    Ok(labels)
}

fn check_label(label: &str) -> anyhow::Result<()> {
    let fine = |c: char| c.is_ascii_alphanumeric() || " -_./+".contains(c);
    anyhow::ensure!(
        !label.trim().is_empty() && label.len() <= 64 && label.chars().all(fine),
        "label {label:?}: use letters, digits, spaces and - _ . / + (at most 64)"
    );
    Ok(())
}

pub fn run(args: &ExtractArgs) -> anyhow::Result<ExitCode> {
    let labels = address_labels(args)?;
    let defaults = MeterConfig::default();
    let config = MeterConfig {
        early_packets: if args.snapshots { defaults.early_packets } else { 0 },
        early_after_us: if args.snapshots { defaults.early_after_us } else { 0 },
        ..defaults
    }
    .with_timeouts(args.flow_timeout_secs, args.idle_timeout_secs, args.activity_timeout_secs);
    config.validate().map_err(|reason| anyhow::anyhow!("{reason}"))?;
    let out: Box<dyn Write> = if args.out.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        let file = std::fs::File::create(&args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
        Box::new(std::io::BufWriter::new(file))
    };
    let mut csv = FlowCsv::new(out)?;
    let mut write_error = None;
    let mut by_label: HashMap<&str, u64> = HashMap::new();
    let started = std::time::Instant::now();
    let summary = meter_file(&args.pcap, args.filter.as_deref(), config, |flow| {
        if write_error.is_some() || (flow.reason == EndReason::Early && !args.snapshots) {
            return;
        }
        let label =
            labels.get(&flow.key.src).or_else(|| labels.get(&flow.key.dst)).map_or(args.label.as_str(), String::as_str);
        *by_label.entry(label).or_default() += 1;
        if let Err(e) = csv.write(flow, label) {
            write_error = Some(e);
        }
    })?;
    if let Some(e) = write_error {
        return Err(e).with_context(|| format!("cannot write {}", args.out.display()));
    }
    let rows = csv.rows();
    csv.finish()?;
    let secs = started.elapsed().as_secs_f64();
    let mut by_label: Vec<_> = by_label.into_iter().collect();
    by_label.sort();
    if args.json {
        let report = serde_json::json!({
            "frames": summary.frames,
            "packets_metered": summary.counters.packets,
            "skipped": summary.skipped.total(),
            "flows": rows,
            "by_label": by_label.iter().map(|(l, n)| (l.to_string(), n)).collect::<HashMap<_, _>>(),
            "seconds": secs,
        });
        eprintln!("{report}");
    } else {
        let labels: Vec<String> = by_label.iter().map(|(l, n)| format!("{l} {n}")).collect();
        eprintln!(
            "flows extract: {} frames ({} not metered: not IP, fragments, other protocols, damaged), {rows} flows ({}) in {secs:.2}s",
            summary.frames,
            summary.skipped.total(),
            labels.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
