//! The configured sources, each on a thread of its own feeding the ingest
//! queue: `[[sources.files]]`, `[[sources.journal]]`, `[[sources.prometheus]]`
//! and the host collector.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rampart_core::config::Config;
use rampart_core::{IngestSender, Source};

use crate::error::NodeError;

/// A source's thread and the flag that asks it to stop (it finishes the
/// batch in flight and saves its offsets first).
pub struct RunningSource {
    pub stop: Arc<AtomicBool>,
    pub thread: std::thread::JoinHandle<()>,
}

/// Starts every source `[sources]` configures, each on its own thread
/// (`rampart_sources::build` makes them; see the `Source` seam).
pub fn start_sources(config: &Config, ingest: &IngestSender) -> Result<Vec<RunningSource>, NodeError> {
    let sources = rampart_sources::build(&config.sources, &config.data_dir, ingest)?;
    sources.into_iter().map(start_source).collect()
}

/// Runs one source on a thread of its own.
pub fn start_source(source: Box<dyn Source>) -> Result<RunningSource, NodeError> {
    let name = format!("rampart-{}", source.name());
    spawn_source(name, move |rt, stop| source.run(rt, stop))
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
