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
use tokio::task::JoinHandle;

use crate::error::NodeError;

/// The gatekeeper, running.
pub(crate) struct RunningProxy {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningProxy {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Err(error)) => tracing::error!(%error, "The web gatekeeper failed."),
            Err(error) => tracing::error!(%error, "The web gatekeeper task failed."),
            Ok(Ok(())) => {}
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
    let listener = rampart_proxy::bind(proxy).await?;
    let addr = listener.local_addr().map_err(|source| NodeError::Listen { addr: proxy.listen, source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let settings = proxy.clone();
    let task = tokio::spawn(async move {
        rampart_proxy::serve(listener, gatekeeper, &settings, async {
            let _ = stopped.await;
        })
        .await
    });
    tracing::info!(%addr, mode = ?proxy.mode, upstream = proxy.upstream.as_deref().unwrap_or("none"), "The web gatekeeper is listening.");
    Ok(RunningProxy { addr, stop, task })
}
