//! The web gatekeeper inside `serve` (`[proxy] enabled = true`): its block
//! list joins the responder's enforcers, so playbook bans are answered 403
//! at the proxy too, and its verdicts go into the ingest bus like any
//! source's events, so rules and playbooks see them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rampart_core::IngestSender;
use rampart_core::config::Config;
use rampart_proxy::{BlockList, EventSink, Gatekeeper, Inspector};
use tokio::sync::oneshot;

use crate::error::NodeError;

/// The gatekeeper, running on threads of its own.
pub(crate) struct RunningProxy {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl RunningProxy {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let thread = self.thread;
        match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(Ok(Err(error))) => tracing::error!(%error, "The web gatekeeper failed."),
            Ok(Err(_)) | Err(_) => tracing::error!("The web gatekeeper's thread panicked."),
            Ok(Ok(Ok(()))) => {}
        }
    }
}

/// Verdict events into the bus, off the request path: a full bus drops
/// (and counts) a verdict rather than hold a visitor's request.
pub(crate) fn bus_sink(ingest: IngestSender, wait: Duration) -> EventSink {
    Arc::new(move |event| {
        let ingest = ingest.clone();
        tokio::spawn(async move {
            if ingest.send(vec![event], "proxy", wait).await.is_err() {
                metrics::counter!(rampart_proxy::metrics::PROXY_EVENTS_DROPPED).increment(1);
            }
        });
    })
}

/// Starts the gatekeeper `[proxy]` configures, with `blocklist` (which the
/// responder was given as an enforcer).
pub(crate) async fn start_proxy(
    config: &Config,
    blocklist: BlockList,
    ingest: &IngestSender,
) -> Result<RunningProxy, NodeError> {
    let proxy = &config.proxy;
    let model = rampart_proxy::load_model(proxy.model.as_deref())?;
    let inspector = Inspector::new(model.scorer(), proxy.inspect_headers.clone());
    let events = bus_sink(ingest.clone(), Duration::from_millis(config.ingest.enqueue_timeout_ms));
    let gatekeeper = Arc::new(Gatekeeper::new(proxy, inspector, blocklist, events));
    // Bound here, so a port in use fails `serve` at start.
    let listen_error = |source| NodeError::Listen { addr: proxy.listen, source };
    let listener = std::net::TcpListener::bind(proxy.listen).map_err(listen_error)?;
    listener.set_nonblocking(true).map_err(listen_error)?;
    let addr = listener.local_addr().map_err(listen_error)?;
    // Its own runtime, `[proxy] workers` threads (half the cores): on serve's
    // threads a request's upstream exchange was handed between workers that
    // share the cores with everything else serve does, as `rampart proxy`
    // measured (docs/PERFORMANCE.md). Made on the thread that runs it, so it
    // is never dropped on one of serve's; that thread says how the start went.
    let (stop, stopped) = oneshot::channel::<()>();
    let (ready, started) = oneshot::channel::<std::io::Result<usize>>();
    let settings = proxy.clone();
    let thread = std::thread::Builder::new()
        .name("rampart-proxy".into())
        .spawn(move || {
            let setup = || -> std::io::Result<_> {
                let (runtime, workers) = rampart_proxy::runtime(&settings)?;
                let listener = {
                    let _inside = runtime.enter();
                    tokio::net::TcpListener::from_std(listener)?
                };
                Ok((runtime, workers, listener))
            };
            let (runtime, listener) = match setup() {
                Ok((runtime, workers, listener)) => {
                    let _ = ready.send(Ok(workers));
                    (runtime, listener)
                }
                Err(error) => {
                    let _ = ready.send(Err(error));
                    return Ok(());
                }
            };
            runtime.block_on(rampart_proxy::serve(listener, gatekeeper, &settings, async {
                let _ = stopped.await;
            }))
        })
        .map_err(|source| NodeError::Thread { name: "web gatekeeper".into(), source })?;
    let thread_error = |source| NodeError::Thread { name: "web gatekeeper".into(), source };
    let workers = match started.await {
        Ok(Ok(workers)) => workers,
        Ok(Err(error)) => return Err(thread_error(error)),
        Err(_) => return Err(thread_error(std::io::Error::other("the gatekeeper's thread ended at start"))),
    };
    tracing::info!(%addr, workers, mode = ?proxy.mode, upstream = proxy.upstream.as_deref().unwrap_or("none"), "The web gatekeeper is listening.");
    Ok(RunningProxy { addr, stop, thread })
}
