//! Rampart's web gatekeeper (issue 17): a reverse proxy in front of a web
//! application that judges every value carrying user input — path
//! segments, query, form, JSON and multipart fields, cookies, chosen
//! headers — with the payload classifier, then forwards the request or
//! answers 403 with an incident id; and an nginx `auth_request` endpoint
//! on the same listener for sites that keep nginx in front.
//!
//! - `values`: a request's values and where each was;
//! - `inspect`: judging them, and the ECS event of a verdict;
//! - `blocklist`: addresses banned by any playbook, answered 403 here too
//!   (an `Enforcer`);
//! - `forward`: the request on to the application, its answer back;
//! - `gatekeeper`: the request path and the `auth_request` endpoint.

pub mod blocklist;
pub mod forward;
pub mod gatekeeper;
pub mod inspect;
pub mod metrics;
pub mod values;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use blocklist::BlockList;
pub use gatekeeper::{AUTH_PATH, EventSink, Gatekeeper};
pub use inspect::{Finding, Inspector, Judgement, Taken};
use rampart_core::config::ProxyConfig;
use rampart_ml::payload::PayloadModel;

/// Why the gatekeeper could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("the payload model: {0}")]
    Model(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: std::net::SocketAddr, reason: String },
}

/// The payload model `[proxy] model` names, or the shipped one.
pub fn load_model(path: Option<&Path>) -> Result<PayloadModel, ProxyError> {
    PayloadModel::load_or_shipped(path).map_err(ProxyError::Model)
}

/// The runtime the gatekeeper serves on, and its thread count: `[proxy]
/// workers` threads, half the cores by default (see `ProxyConfig::workers`).
pub fn runtime(config: &ProxyConfig) -> std::io::Result<(tokio::runtime::Runtime, usize)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = config.worker_threads(cores);
    // One worker needs no work stealing: a current-thread scheduler spares
    // every wake-up its cross-thread queue and atomics.
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    let runtime = builder.thread_name("rampart-proxy").enable_all().build()?;
    Ok((runtime, workers))
}

/// Binds the gatekeeper's listener (so a bad address fails at start).
pub async fn bind(config: &ProxyConfig) -> Result<tokio::net::TcpListener, ProxyError> {
    tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ProxyError::Listen { addr: config.listen, reason: e.to_string() })
}

/// Serves the gatekeeper on `listener` with `[proxy]`'s limits until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    gatekeeper: Arc<Gatekeeper>,
    config: &ProxyConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let options = rampart_server::ListenOptions {
        max_connections: config.max_connections,
        header_timeout: Duration::from_millis(config.header_timeout_ms),
        idle_timeout: Duration::from_secs(config.idle_timeout_secs),
        shutdown_grace: Duration::from_secs(5),
        tls: None,
    };
    rampart_server::serve(listener, gatekeeper.router(), options, shutdown).await
}
