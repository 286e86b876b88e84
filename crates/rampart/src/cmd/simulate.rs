//! `rampart simulate`: realistic traffic with labels, to a file or a server.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use rampart_core::ecs::encode_event_string;
use rampart_core::time;
use rampart_sources::parse::syslog::assumed_year;
use rampart_sources::simulate::{Plan, Simulated, ssh_auth_log, web_access_log};
use rampart_sources::{LineParser, LogFormat};

use crate::cli::SimulateArgs;
use rampart_client::{ApiClient, Persistence, Posted};

pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.addresses > 0, "--addresses must be at least 1");
    anyhow::ensure!((0.0..=1.0).contains(&args.attacker_share), "--attacker-share must be between 0 and 1");
    let duration_ms = (args.lines as f64 / args.log_rate.max(0.001) * 1000.0) as i64;
    // The log ends about now, so time-windowed rules see realistic spacing.
    let plan = Plan {
        lines: args.lines,
        addresses: args.addresses,
        attacker_share: args.attacker_share,
        seed: args.seed,
        start_ms: match &args.start {
            Some(text) => {
                time::parse_rfc3339(text).with_context(|| format!("--start {text:?} is not an RFC 3339 time"))?
            }
            None => time::now_ms() - duration_ms,
        },
        lines_per_second: args.log_rate,
        slow_scanners: args.slow_scanners,
    };
    let (sim, format) = match args.kind.as_str() {
        "ssh" => (ssh_auth_log(&plan), LogFormat::Syslog),
        _ => (web_access_log(&plan), LogFormat::Combined),
    };
    if let Some(path) = &args.labels {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        );
        writeln!(f, "address,label")?;
        for (ip, label) in &sim.labels {
            writeln!(f, "{ip},{label}")?;
        }
        f.flush()?;
    }
    match &args.server {
        Some(server) => send(args, server, &sim, format),
        None => {
            let mut out: Box<dyn Write> = match &args.out {
                Some(path) => {
                    Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
                }
                None => Box::new(std::io::stdout().lock()),
            };
            let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut out);
            for line in &sim.lines {
                writeln!(out, "{line}")?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Parses the lines (as the server would have from a log file) and posts
/// them as NDJSON events, paced to `--rate` events per second.
fn send(args: &SimulateArgs, server: &str, sim: &Simulated, format: LogFormat) -> anyhow::Result<ExitCode> {
    let token = args.token.as_deref().context("--server needs --token (or RAMPART_TOKEN)")?;
    let now = time::now_ms();
    let parser = LineParser::new(format, assumed_year(now, None));
    let api = ApiClient::with_token(server, token, rampart_client::http_client()?)?;
    let url = api.url("events");
    let batch = (args.rate as usize / 10).clamp(1, 5_000);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let started = Instant::now();
        let mut sent = 0usize;
        for chunk in sim.lines.chunks(batch) {
            let mut body = String::with_capacity(chunk.len() * 400);
            for line in chunk {
                let event =
                    parser.parse(line, now).map(|p| p.event).unwrap_or_else(|e| parser.raw_event(line, now, &e));
                body.push_str(&encode_event_string(&event));
                body.push('\n');
            }
            // A busy server (429, 503) slows the simulation instead of ending it.
            if let Posted::Refused(reason) = api.post_events(body, Persistence::WhileBusy).await? {
                anyhow::bail!("{url} refused a batch: {reason}");
            }
            sent += chunk.len();
            let due = Duration::from_secs_f64(sent as f64 / f64::from(args.rate.max(1)));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        eprintln!("sent {sent} events to {url} in {:.1}s", started.elapsed().as_secs_f64());
        Ok(ExitCode::SUCCESS)
    })
}
