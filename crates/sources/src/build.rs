//! `[sources]` → the sources that run: one per `[[sources.files]]`,
//! `[[sources.journal]]` and `[[sources.prometheus]]`, and the host
//! collector. Offsets and cursors live in the data directory, named by the
//! entry's position in the config.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rampart_core::config::SourcesConfig;
use rampart_core::{IngestSender, Source};

use crate::capture::CaptureSource;
use crate::error::{BuildError, SourceError};
use crate::host::{HostSource, HostSpec};
use crate::journal::JournalSource;
use crate::prometheus::{PrometheusSource, PrometheusSpec};
use crate::tail::FileSource;

/// Every configured source, ready to run, feeding `ingest`.
pub fn build(
    config: &SourcesConfig,
    data_dir: &Path,
    ingest: &IngestSender,
) -> Result<Vec<Box<dyn Source>>, BuildError> {
    let config_error = |key: String, source: SourceError| BuildError::Source { key, source };
    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    for (i, files) in config.files.iter().enumerate() {
        let offsets = data_dir.join(format!("file-offsets-{i}.json"));
        let source = FileSource::new(files, offsets, ingest.clone())
            .map_err(|e| config_error(format!("sources.files[{i}]"), e))?;
        sources.push(named(format!("files-{i}"), move |rt, stop| source.run(rt, stop)));
    }
    for (i, journal) in config.journal.iter().enumerate() {
        let cursor = data_dir.join(format!("journal-cursor-{i}.txt"));
        let source = JournalSource::new(journal.clone(), cursor, ingest.clone())
            .map_err(|e| config_error(format!("sources.journal[{i}]"), e))?;
        sources.push(named(format!("journal-{i}"), move |rt, stop| source.run(rt, stop)));
    }
    if !config.prometheus.is_empty() {
        let client = rampart_client::http_client()
            .map_err(|e| config_error("sources.prometheus".into(), SourceError::HttpClient(e.to_string())))?;
        for (i, prom) in config.prometheus.iter().enumerate() {
            let spec = PrometheusSpec {
                url: prom.url.clone(),
                interval: Duration::from_secs(prom.interval_secs),
                include: prom.include.clone(),
                queries: prom.queries.iter().map(|q| (q.name.clone(), q.query.clone())).collect(),
                timeout: Duration::from_millis(prom.timeout_ms),
            };
            let source = PrometheusSource::new(spec, client.clone(), ingest.clone());
            sources.push(named(format!("prometheus-{i}"), move |rt, stop| source.run(rt, stop)));
        }
    }
    for (i, capture) in config.capture.iter().enumerate() {
        let name = format!("capture-{i}");
        let source = CaptureSource::new(name.clone(), capture, ingest.clone())
            .map_err(|e| config_error(format!("sources.capture[{i}]"), e))?;
        sources.push(named(name, move |rt, stop| source.run(rt, stop)));
    }
    if config.host.enabled {
        let spec =
            HostSpec { interval: Duration::from_millis(config.host.interval_ms), top: config.host.top_processes };
        let source = HostSource::new(spec, ingest.clone());
        sources.push(named("host".into(), move |rt, stop| source.run(rt, stop)));
    }
    Ok(sources)
}

/// A source's run loop with the name the node runs it under.
struct Named {
    name: String,
    run: Box<dyn FnOnce(tokio::runtime::Handle, Arc<AtomicBool>) + Send>,
}

fn named(name: String, run: impl FnOnce(tokio::runtime::Handle, Arc<AtomicBool>) + Send + 'static) -> Box<dyn Source> {
    Box::new(Named { name, run: Box::new(run) })
}

impl Source for Named {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn run(self: Box<Self>, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>) {
        (self.run)(runtime, stop);
    }
}
