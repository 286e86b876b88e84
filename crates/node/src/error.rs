//! What stops a node from starting.

use std::net::SocketAddr;
use std::path::PathBuf;

use rampart_core::StoreError;
use rampart_server::TlsError;

/// Why `Node::start` (or a part of it) failed. Running nodes do not fail
/// this way: a failure at run time is logged, counted and survived.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error("cannot open the store in {}: {source}", dir.display())]
    Store { dir: PathBuf, source: StoreError },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A `[sources]` entry, by its key.
    #[error(transparent)]
    Sources(#[from] rampart_sources::BuildError),
    #[error(transparent)]
    Detect(#[from] rampart_detect::build::DetectBuildError),
    #[error(transparent)]
    Respond(#[from] rampart_respond::RespondError),
    #[error(transparent)]
    Proxy(#[from] rampart_proxy::ProxyError),
    #[error(transparent)]
    AdminToken(#[from] rampart_server::auth::BootstrapError),
    #[error("bus: {0}")]
    Bus(rampart_bus::BusError),
    #[error("LLM triage: {0}")]
    Triage(String),
    #[error("cannot start the {name} thread: {source}")]
    Thread { name: String, source: std::io::Error },
}
