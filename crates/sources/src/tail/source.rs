//! `FileSource`: globs of log files → parsed events → the ingest queue.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_core::config::{FileFormat, FileSourceConfig};
use rampart_core::{Event, IngestSender};
use serde_json::Value;

use super::follower::{Follower, Line, StartAt};
use super::offsets::Offsets;
use crate::error::SourceError;
use crate::handoff::deliver;
use crate::parse::syslog::assumed_year;
use crate::parse::{LineParser, LogFormat, detect_format};

/// How often globs are expanded again to find new files.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(1);

/// Lines read, by `outcome` (`parsed`, `unparsed`) and `format`.
pub const LINES_READ: &str = "rampart_source_lines_total";

struct Followed {
    follower: Follower,
    parser: Option<LineParser>,
}

/// A `[[sources.files]]` entry followed: its globs, how its lines read
/// (`None`: detected per file from its first lines), where to begin.
pub struct FileSource {
    paths: Vec<String>,
    format: Option<LogFormat>,
    regex: Option<String>,
    start_at: StartAt,
    poll_interval: Duration,
    files: BTreeMap<PathBuf, Followed>,
    offsets: Offsets,
    ingest: IngestSender,
    started: bool,
    /// When the globs were last expanded: new files are looked for once a
    /// second, growth of known ones every poll.
    last_discovery: Option<std::time::Instant>,
}

impl FileSource {
    pub fn new(
        config: &FileSourceConfig,
        offsets_file: PathBuf,
        ingest: IngestSender,
    ) -> Result<FileSource, SourceError> {
        let spec = config;
        let format = log_format(config.format);
        if spec.paths.is_empty() {
            return Err(SourceError::field("paths", "list at least one file or glob"));
        }
        for p in &spec.paths {
            glob::Pattern::new(p)
                .map_err(|e| SourceError::field("paths", format!("{p:?} is not a valid glob: {e}")))?;
        }
        if format == Some(LogFormat::Regex) {
            let pattern =
                spec.regex.as_deref().ok_or_else(|| SourceError::field("regex", "format = \"regex\" needs a regex"))?;
            LineParser::regex(pattern, 0).map_err(|e| SourceError::field("regex", e.to_string()))?;
        }
        let offsets = Offsets::load(&offsets_file)?;
        Ok(FileSource {
            paths: config.paths.clone(),
            format,
            regex: config.regex.clone(),
            start_at: config.start_at,
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            files: BTreeMap::new(),
            offsets,
            ingest,
            started: false,
            last_discovery: None,
        })
    }

    /// Follows until `stop` is set, then returns after the batch in flight
    /// is acknowledged. Blocking: run it on its own thread; `runtime` is the
    /// node's, used only to wait on the ingest queue.
    pub fn run(mut self, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::SeqCst) {
            if !self.tick(&runtime, &stop) {
                break;
            }
            std::thread::sleep(self.poll_interval);
        }
    }

    fn discover(&mut self) {
        let now = rampart_core::time::now_ms();
        for pattern in &self.paths {
            let mut found: Vec<PathBuf> = glob::glob(pattern).map(|g| g.flatten().collect()).unwrap_or_default();
            // A plain path is followed even before it exists.
            if found.is_empty() && !pattern.contains(['*', '?', '[']) {
                found.push(PathBuf::from(pattern));
            }
            for path in found {
                if self.files.contains_key(&path) || path.is_dir() {
                    continue;
                }
                let start = if self.started { StartAt::Beginning } else { self.start_at };
                let follower = Follower::new(&path, start, self.offsets.get(&path));
                let parser = self.format.map(|f| match (&self.regex, f) {
                    (Some(re), LogFormat::Regex) => LineParser::regex(re, assumed_year(now, None))
                        .unwrap_or_else(|_| LineParser::new(LogFormat::Syslog, 0)),
                    _ => LineParser::new(f, assumed_year(now, None)),
                });
                tracing::info!(path = %path.display(), "Following log file.");
                self.files.insert(path, Followed { follower, parser });
            }
        }
        self.started = true;
    }

    /// One pass over every file. Returns false when the queue has closed.
    fn tick(&mut self, runtime: &tokio::runtime::Handle, stop: &AtomicBool) -> bool {
        if self.last_discovery.is_none_or(|t| t.elapsed() >= DISCOVERY_INTERVAL) {
            self.discover();
            self.last_discovery = Some(std::time::Instant::now());
        }
        let now = rampart_core::time::now_ms();
        let mut lines = Vec::new();
        let mut dirty = false;
        let paths: Vec<PathBuf> = self.files.keys().cloned().collect();
        for path in paths {
            let Some(followed) = self.files.get_mut(&path) else { continue };
            lines.clear();
            if let Err(error) = followed.follower.poll(&mut lines) {
                tracing::warn!(path = %path.display(), %error, "Cannot read log file; will retry.");
                continue;
            }
            if lines.is_empty() {
                continue;
            }
            let parser = followed.parser.get_or_insert_with(|| {
                let sample: Vec<&str> = lines.iter().take(50).map(|l| l.text.as_str()).collect();
                let format = detect_format(&sample, assumed_year(now, None)).unwrap_or(LogFormat::Syslog);
                tracing::info!(path = %path.display(), format = format.as_str(), "Detected log format.");
                LineParser::new(format, assumed_year(now, None))
            });
            let events = to_events(parser, &lines, &path, now);
            for chunk in events.chunks(5_000) {
                if !deliver(&self.ingest, runtime, chunk, "file", stop) {
                    return false;
                }
            }
            if let Some(position) = followed.follower.position() {
                self.offsets.set(&path, position);
                dirty = true;
            }
        }
        if dirty && let Err(error) = self.offsets.save() {
            tracing::error!(%error, "Cannot save log offsets; a restart may re-read lines.");
        }
        true
    }
}

fn to_events(parser: &LineParser, lines: &[Line], path: &std::path::Path, now: i64) -> Vec<Event> {
    let file = Value::from(path.display().to_string());
    let mut events = Vec::with_capacity(lines.len());
    for line in lines {
        if line.text.trim().is_empty() {
            continue;
        }
        let format = parser.format().as_str();
        let (mut event, repeat) = match parser.parse(&line.text, now) {
            Ok(parsed) => {
                metrics::counter!(LINES_READ, "outcome" => "parsed", "format" => format).increment(1);
                (parsed.event, parsed.repeat)
            }
            Err(reason) => {
                metrics::counter!(LINES_READ, "outcome" => "unparsed", "format" => format).increment(1);
                (parser.raw_event(&line.text, now, &reason), 1)
            }
        };
        event.extra.insert("log.file.path".into(), file.clone());
        if line.truncated {
            event.extra.insert("log.truncated".into(), Value::from(true));
        }
        for _ in 1..repeat {
            events.push(event.clone());
        }
        events.push(event);
    }
    events
}

/// The parser a configured format names; `None` detects it per file.
fn log_format(format: FileFormat) -> Option<LogFormat> {
    match format {
        FileFormat::Auto => None,
        FileFormat::Syslog => Some(LogFormat::Syslog),
        FileFormat::Combined => Some(LogFormat::Combined),
        FileFormat::Json => Some(LogFormat::Json),
        FileFormat::Regex => Some(LogFormat::Regex),
        FileFormat::ApacheError => Some(LogFormat::ApacheError),
        FileFormat::NginxError => Some(LogFormat::NginxError),
        FileFormat::Vsftpd => Some(LogFormat::Vsftpd),
        FileFormat::MysqlError => Some(LogFormat::MysqlError),
        FileFormat::Postgresql => Some(LogFormat::Postgresql),
    }
}
