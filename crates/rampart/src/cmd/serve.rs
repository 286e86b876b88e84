//! `rampart serve`: starts a node (crates/node) and runs it until SIGTERM or
//! Ctrl-C. The runtime lives in `rampart-node`; this file owns only what a
//! process owns: the async runtime, the metrics recorder and the signals.

use std::process::ExitCode;

use anyhow::Context;
use rampart_core::config::Config;
use rampart_node::Node;
use tokio::task::JoinHandle;

use crate::telemetry;

pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    run_with(config, |_| None)
}

/// Runs a node until SIGTERM or Ctrl-C, with `beside` started next to it
/// (the demo's simulation) and stopped before it.
pub(crate) fn run_with(
    config: Config,
    beside: impl FnOnce(&Node) -> Option<JoinHandle<()>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rampart-worker")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let metrics = telemetry::install()?;
        let node = Node::start(config, metrics, true).await?;
        let extra = beside(&node);
        shutdown_signal().await;
        if let Some(task) = extra {
            task.abort();
        }
        tracing::info!("Shutting down: draining queues.");
        node.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
