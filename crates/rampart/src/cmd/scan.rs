//! `rampart scan FILE...`: detection over log files, once.
//!
//! Like `fail2ban-regex` or CrowdSec's replay mode: every line is parsed,
//! run through the rules and aggregated; at the end the alerts go to stdout
//! (a table per attacker on a terminal, JSON lines otherwise, or with
//! `--output events` every parsed line's event instead), a summary to stderr. Nothing is stored. Exit codes:
//! 0 done, 2 a file could not be read (the others are still scanned).

use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use rampart_core::escape::for_terminal;
use rampart_core::{Alert, Detector, time};
use rampart_detect::{Aggregator, RuleEngine, load_rules};
use rampart_sources::line_reader::read_line_capped;
use rampart_sources::parse::syslog::{assumed_year, month_of};
use rampart_sources::parse::{MAX_LINE_BYTES, Parsed};
use rampart_sources::{LineParser, LogFormat, detect_format};

use crate::cli::ScanArgs;

/// What `scan` prints on stdout.
#[derive(Clone, Copy, PartialEq)]
enum Output {
    Table,
    Json,
    Events,
}

/// Lines per batch handed from the parsing thread to detection.
const BATCH: usize = 1_024;

#[derive(Default)]
struct Tally {
    lines: u64,
    parsed: u64,
    unparsed: u64,
    unreadable: u64,
    /// Lines longer than `MAX_LINE_BYTES`, cut there (the rest is skipped).
    cut: u64,
}

pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(!args.no_builtin, args.rules_dir.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(!rules.is_empty(), "no rules to run");
    let explicit = match args.format.as_str() {
        "auto" => None,
        "regex" => {
            let pattern =
                args.regex.as_deref().ok_or_else(|| anyhow::anyhow!("--format regex needs --regex PATTERN"))?;
            Some(LineParser::regex(pattern, 0).map_err(|e| anyhow::anyhow!("--regex: {e}"))?)
        }
        name => Some(LineParser::new(LogFormat::parse(name).unwrap_or(LogFormat::Syslog), 0)),
    };
    let output = match args.output.as_str() {
        "table" => Output::Table,
        "json" => Output::Json,
        "events" => Output::Events,
        _ if std::io::stdout().is_terminal() => Output::Table,
        _ => Output::Json,
    };
    let mut events_out = (output == Output::Events).then(|| std::io::BufWriter::new(std::io::stdout()));
    let mut engine = RuleEngine::new(rules, 1_000_000);
    let mut aggregator = Aggregator::new(24 * 3600, 20, 1_000_000);
    let mut tally = Tally::default();
    let started = Instant::now();
    for path in &args.files {
        let sinks = Sinks { engine: &mut engine, aggregator: &mut aggregator, events: events_out.as_mut() };
        if let Err(error) = scan_file(path, explicit.as_ref(), args.print_unparsed, sinks, &mut tally) {
            eprintln!("rampart: {}: {error}", path.display());
            tally.unreadable += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();

    let mut alerts: Vec<&Alert> = aggregator.alerts().collect();
    alerts.sort_by(|a, b| {
        (a.first_seen_ms, &a.rule_id, &a.entity.value).cmp(&(b.first_seen_ms, &b.rule_id, &b.entity.value))
    });
    if let Some(mut events) = events_out {
        events.flush()?;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match output {
        Output::Table => super::scan_table::write(&mut out, &alerts)?,
        Output::Json => {
            for alert in &alerts {
                serde_json::to_writer(&mut out, &scan_line(alert))?;
                out.write_all(b"\n")?;
            }
        }
        Output::Events => {}
    }
    out.flush()?;
    let printed = alerts.len();
    drop(alerts);
    // The process ends here: freeing a window per address per rule, one by
    // one, took longer than printing (30 ms of a 200 ms scan at 65k
    // addresses). The OS takes the memory back at exit all at once.
    std::mem::forget(engine);
    std::mem::forget(aggregator);
    if tally.cut > 0 {
        eprintln!("rampart: {} lines were longer than {MAX_LINE_BYTES} bytes and were cut there", tally.cut);
    }
    eprintln!(
        "scanned {} files: {} lines, {} parsed, {} unparsed, {} alerts in {:.3}s ({:.0} lines/s)",
        args.files.len() as u64 - tally.unreadable,
        tally.lines,
        tally.parsed,
        tally.unparsed,
        printed,
        elapsed,
        tally.lines as f64 / elapsed.max(1e-9)
    );
    Ok(if tally.unreadable > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Where a file's parsed lines go: detection, and with `--output events`
/// stdout.
struct Sinks<'a> {
    engine: &'a mut RuleEngine,
    aggregator: &'a mut Aggregator,
    events: Option<&'a mut std::io::BufWriter<std::io::Stdout>>,
}

fn scan_file(
    path: &Path,
    explicit: Option<&LineParser>,
    print_unparsed: bool,
    sinks: Sinks<'_>,
    tally: &mut Tally,
) -> std::io::Result<()> {
    let Sinks { engine, aggregator, mut events } = sinks;
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let now = time::now_ms();
    let mut buf = Vec::with_capacity(1024);
    let (mut consumed, mut cut) = (0u64, 0u64);
    // Decide the format (and syslog's missing year) from the first lines.
    let mut head: Vec<String> = Vec::new();
    while head.len() < 50 {
        let Some(read) = read_line_capped(&mut reader, &mut buf, MAX_LINE_BYTES)? else { break };
        consumed += read.bytes;
        cut += u64::from(read.truncated);
        head.push(String::from_utf8_lossy(&buf).into_owned());
    }
    let year = assumed_year(now, head.first().and_then(|l| month_of(l)));
    let detected;
    let parser = match explicit {
        Some(p) if p.format() == LogFormat::Regex => p,
        Some(p) => {
            detected = LineParser::new(p.format(), year);
            &detected
        }
        None => {
            let sample: Vec<&str> = head.iter().map(String::as_str).collect();
            let format = detect_format(&sample, year).unwrap_or(LogFormat::Syslog);
            detected = LineParser::new(format, year);
            &detected
        }
    };
    // Two stages on two threads: this one reads and parses, the caller's
    // detects. A bounded channel of line batches keeps memory flat.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Parsed>>(8);
    // Spent batches go back to be freed where they were allocated: glibc's
    // malloc frees across threads several times slower (it was ~30% of a scan).
    let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Vec<Parsed>>();
    let parsed_tally = std::thread::scope(|scope| -> std::io::Result<Tally> {
        let producer = scope.spawn(move || -> std::io::Result<Tally> {
            let mut t = Tally::default();
            let mut batch = Vec::with_capacity(BATCH);
            let handle = |line: &str, t: &mut Tally, batch: &mut Vec<Parsed>| {
                t.lines += 1;
                match parser.parse(line, now) {
                    Ok(mut parsed) => {
                        t.parsed += 1;
                        parsed.event.id = Some(t.lines as i64);
                        batch.push(parsed);
                        if batch.len() == BATCH {
                            // The consumer only stops early on a panic; then nothing is left to do.
                            let _ = tx.send(std::mem::replace(batch, Vec::with_capacity(BATCH)));
                            spent_rx.try_iter().for_each(drop);
                        }
                    }
                    Err(_) if line.trim().is_empty() => t.lines -= 1,
                    Err(reason) => {
                        t.unparsed += 1;
                        if print_unparsed && t.unparsed <= 100 {
                            // Attacker text: escaped, so it cannot drive the terminal.
                            let shown: String = line.trim_end().chars().take(200).collect();
                            let reason = reason.to_string();
                            eprintln!(
                                "{}:{}: {}: {}",
                                path.display(),
                                t.lines,
                                for_terminal(&reason),
                                for_terminal(&shown)
                            );
                        }
                    }
                }
            };
            for line in &head {
                handle(line, &mut t, &mut batch);
            }
            let mut buf = Vec::with_capacity(1024);
            while let Some(read) = read_line_capped(&mut reader, &mut buf, MAX_LINE_BYTES)? {
                consumed += read.bytes;
                t.cut += u64::from(read.truncated);
                match std::str::from_utf8(&buf) {
                    Ok(line) => handle(line, &mut t, &mut batch),
                    Err(_) => handle(&String::from_utf8_lossy(&buf), &mut t, &mut batch),
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            t.cut += cut;
            // A file cut short under us (copytruncate, an editor) ends early:
            // what was read is scanned, and the reader is told.
            if let Ok(meta) = reader.get_ref().metadata()
                && meta.is_file()
                && meta.len() < consumed
            {
                eprintln!(
                    "rampart: {}: the file was truncated while being read ({} bytes read, {} now)",
                    path.display(),
                    consumed,
                    meta.len()
                );
            }
            Ok(t)
        });
        let mut findings = Vec::new();
        for batch in rx {
            if let Some(out) = events.as_deref_mut() {
                write_events(out, path, &batch)?;
            }
            for parsed in &batch {
                for _ in 0..parsed.repeat {
                    engine.detect(&parsed.event, &mut findings);
                }
                for f in findings.drain(..) {
                    aggregator.merge_at(f, now);
                }
            }
            let _ = spent_tx.send(batch);
        }
        producer.join().map_err(|_| std::io::Error::other("the parser thread panicked"))?
    })?;
    tally.lines += parsed_tally.lines;
    tally.parsed += parsed_tally.parsed;
    tally.unparsed += parsed_tally.unparsed;
    tally.cut += parsed_tally.cut;
    Ok(())
}

/// `{"file", "line", "event"}` per parsed line, the event as ECS JSON.
fn write_events(out: &mut impl Write, path: &Path, batch: &[Parsed]) -> std::io::Result<()> {
    let file = path.to_string_lossy();
    for parsed in batch {
        let line = serde_json::json!({
            "file": file,
            "line": parsed.event.id,
            "event": rampart_core::ecs::encode_event(&parsed.event),
        });
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// An alert as `scan` prints it: the alert, plus the entity under its own
/// ECS name (`source.ip`) and readable first/last seen times. Serialised
/// straight to the output: a scan can print tens of thousands.
#[derive(serde::Serialize)]
struct ScanLine<'a> {
    #[serde(flatten)]
    alert: &'a Alert,
    #[serde(flatten)]
    entity: std::collections::BTreeMap<&'a str, &'a str>,
    first_seen: String,
    last_seen: String,
}

fn scan_line(alert: &Alert) -> ScanLine<'_> {
    ScanLine {
        alert,
        entity: [(alert.entity.field.as_str(), alert.entity.value.as_str())].into(),
        first_seen: time::format_ms(alert.first_seen_ms),
        last_seen: time::format_ms(alert.last_seen_ms),
    }
}
