//! The configured sources, each on a thread of its own feeding the ingest
//! queue: `[[sources.files]]`, `[[sources.journal]]`, `[[sources.prometheus]]`
//! and the host collector.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rampart_core::IngestSender;
use rampart_core::config::{Config, FileFormat};
use rampart_respond::http_client;
use rampart_sources::LogFormat;
use rampart_sources::host::{HostSource, HostSpec};
use rampart_sources::journal::{JournalSource, JournalSpec};
use rampart_sources::prometheus::{PrometheusSource, PrometheusSpec};
use rampart_sources::tail::{FileSource, FileSourceSpec};

use crate::error::NodeError;

/// A source's thread and the flag that asks it to stop (it finishes the
/// batch in flight and saves its offsets first).
pub struct RunningSource {
    pub stop: Arc<AtomicBool>,
    pub thread: std::thread::JoinHandle<()>,
}

/// One thread per `[[sources.files]]` and per `[[sources.journal]]`, each
/// following into the ingest queue (offsets and cursors live in the data
/// directory, named by position in the config), one per Prometheus endpoint,
/// and one for the host collector.
pub fn start_sources(config: &Config, ingest: &IngestSender) -> Result<Vec<RunningSource>, NodeError> {
    let mut running = Vec::new();
    for (i, files) in config.sources.files.iter().enumerate() {
        let spec = FileSourceSpec {
            paths: files.paths.clone(),
            format: match files.format {
                FileFormat::Auto => None,
                FileFormat::Syslog => Some(LogFormat::Syslog),
                FileFormat::Combined => Some(LogFormat::Combined),
                FileFormat::Json => Some(LogFormat::Json),
                FileFormat::Regex => Some(LogFormat::Regex),
            },
            regex: files.regex.clone(),
            start_at: files.start_at,
            poll_interval: Duration::from_millis(files.poll_interval_ms),
        };
        let offsets = config.data_dir.join(format!("file-offsets-{i}.json"));
        let source = FileSource::new(spec, offsets, ingest.clone())
            .map_err(|e| NodeError::config(format!("sources.files[{i}]"), e))?;
        running.push(spawn_source(format!("rampart-files-{i}"), move |rt, stop| source.run(rt, stop))?);
    }
    for (i, journal) in config.sources.journal.iter().enumerate() {
        let spec = JournalSpec {
            units: journal.units.clone(),
            directory: journal.directory.clone(),
            start_at: journal.start_at,
            journalctl: journal.journalctl.clone(),
        };
        let cursor = config.data_dir.join(format!("journal-cursor-{i}.txt"));
        let source = JournalSource::new(spec, cursor, ingest.clone())
            .map_err(|e| NodeError::config(format!("sources.journal[{i}]"), e))?;
        running.push(spawn_source(format!("rampart-journal-{i}"), move |rt, stop| source.run(rt, stop))?);
    }
    if !config.sources.prometheus.is_empty() {
        let client = http_client().map_err(|e| NodeError::config("sources.prometheus", e))?;
        for prom in &config.sources.prometheus {
            let spec = PrometheusSpec {
                url: prom.url.clone(),
                interval: Duration::from_secs(prom.interval_secs),
                include: prom.include.clone(),
                queries: prom.queries.iter().map(|q| (q.name.clone(), q.query.clone())).collect(),
                timeout: Duration::from_millis(prom.timeout_ms),
            };
            let source = PrometheusSource::new(spec, client.clone(), ingest.clone());
            running.push(spawn_source("rampart-prometheus".into(), move |rt, stop| source.run(rt, stop))?);
        }
    }
    if config.sources.host.enabled {
        let spec = HostSpec {
            interval: Duration::from_millis(config.sources.host.interval_ms),
            top: config.sources.host.top_processes,
        };
        let source = HostSource::new(spec, ingest.clone());
        running.push(spawn_source("rampart-host".into(), move |rt, stop| source.run(rt, stop))?);
    }
    Ok(running)
}

/// A blocking source on its own thread, with the flag that stops it.
fn spawn_source(
    name: String,
    run: impl FnOnce(tokio::runtime::Handle, Arc<AtomicBool>) + Send + 'static,
) -> Result<RunningSource, NodeError> {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, runtime) = (stop.clone(), tokio::runtime::Handle::current());
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || run(runtime, flag))
        .map_err(|source| NodeError::Thread { name, source })?;
    Ok(RunningSource { stop, thread })
}
