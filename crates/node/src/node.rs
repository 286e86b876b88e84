//! `Node`: one running all-in-one node — the store, the pipeline stages,
//! the responder and sinks, the sources, maintenance tasks and the API —
//! started in dependency order and stopped in reverse, draining as it goes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_core::config::{BusKind, Config};
use rampart_core::{Alert, IngestReceiver, IngestSender, RateMeter, ingest_queue};
use rampart_detect::ModelRegistry;
use rampart_detect::build::Detection;
use rampart_respond::enforce::Enforcer;
use rampart_respond::{NotifierHandle, ResponderInput};
use rampart_server::{AppState, MetricsRender, router};
use rampart_sources::host::local_host_name;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

use crate::error::NodeError;
use crate::pipeline::{Pipeline, PipelineConfig};
use crate::proxy::{RunningProxy, start_proxy};
use crate::respond::{bootstrap_admin_token, bridge_requests, start_responder};
use crate::sources::{RunningSource, start_sources};

/// A running all-in-one node.
pub struct Node {
    pub addr: SocketAddr,
    /// The web gatekeeper's address, when `[proxy]` enables it.
    pub proxy_addr: Option<SocketAddr>,
    /// Every alert as the pipeline saves it, for observers in this process
    /// (`rampart bench latency`). The dashboard's live feed reads the store
    /// instead, so that rows written by anyone show.
    pub saved_alerts: broadcast::Sender<Alert>,
    pub state: AppState,
    ingest: IngestSender,
    /// The Kafka producer, flushed at shutdown (`None` on the in-process bus).
    kafka: Option<Arc<rampart_bus::KafkaBus>>,
    /// Ends a Kafka reader (an in-process one ends when its senders are gone).
    stop_reading: Arc<AtomicBool>,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    /// Only on nodes that detect (`role` all or worker).
    pipeline: Option<Pipeline>,
    notifier: Arc<NotifierHandle>,
    /// Checkpoints and retention (store's own thread; stops when dropped).
    store_upkeep: rampart_store::Maintenance,
    model_poll: Option<JoinHandle<()>>,
    sources: Vec<RunningSource>,
    proxy: Option<RunningProxy>,
    responder: std::thread::JoinHandle<()>,
}

impl Node {
    /// Opens the store, starts every stage and source, and serves the API.
    ///
    /// # Errors
    /// What stops a start: the store, the configuration, the listener or a
    /// thread that cannot be made (see `NodeError`).
    pub async fn start(config: Config, metrics: MetricsRender, announce_token: bool) -> Result<Node, NodeError> {
        let opened = rampart_store::open(&config.store, &config.data_dir)
            .map_err(|source| NodeError::Store { dir: config.data_dir.clone(), source })?;
        let store = opened.store.clone();
        bootstrap_admin_token(store.as_ref(), announce_token)?;

        let Detection { mut detectors, mut catalog, models } =
            rampart_detect::build::detection(&config.detect, &config.data_dir, local_host_name(), store.clone())?;
        if config.llm.enabled && config.llm.detector.enabled {
            let detector = rampart_triage::LlmLogDetector::spawn(&config.llm).map_err(NodeError::Triage)?;
            catalog.push(detector.card());
            detectors.push(Box::new(detector));
            tracing::info!("LLM log detector on: unparsed lines are judged by the model, at a bounded rate.");
        }
        let model_poll = config.detect.flows.enabled.then(|| {
            tokio::spawn(poll_models(models.clone(), Duration::from_secs(config.detect.flows.registry_poll_secs)))
        });
        let aggregator = rampart_detect::build::aggregator(&config.alerts);

        let notifier = Arc::new(rampart_respond::build::notifier(&config.alerts, &config.sinks, Some(store.clone()))?);
        let (live, _) = broadcast::channel(4_096);
        // The gatekeeper's block list is one more enforcer: bans apply at the proxy as well as the firewall.
        let blocklist = config.proxy.enabled.then(rampart_proxy::BlockList::new);
        let enforcers = enforcers_for(&config, blocklist.as_ref())?;
        let (responder, respond_tx) = start_responder(&config, store.clone(), enforcers)?;
        let (triage, triager) = if config.llm.enabled {
            let settle = Duration::from_millis(config.alerts.notify_delay_ms);
            let rules = catalog.iter().filter_map(|c| Some((c.id.clone(), c.logic.clone()?))).collect();
            let worker = rampart_triage::WorkerConfig { llm: config.llm.clone(), settle, rules };
            tracing::info!(model = %config.llm.model, url = %config.llm.base_url, "LLM triage on: alerts get advice.");
            let (handle, triager) = rampart_triage::spawn(worker, store.clone()).map_err(NodeError::Triage)?;
            (Some(handle), Some(triager))
        } else {
            (None, None)
        };
        let on_alert = {
            let (notifier, live, respond_tx) = (notifier.clone(), live.clone(), respond_tx.clone());
            Box::new(move |alert: &Alert, opened: bool| {
                notifier.notify(alert.clone());
                let _ = live.send(alert.clone());
                if opened && let Some(triage) = &triage {
                    triage.offer(alert);
                }
                // The detect thread waits for room rather than drop an alert a playbook should see.
                if opened && respond_tx.blocking_send(ResponderInput::Alert(alert.clone())).is_err() {
                    tracing::error!("The responder has stopped; no playbook ran for this alert.");
                }
            })
        };

        let rate = Arc::new(RateMeter::default());
        let stop_reading = Arc::new(AtomicBool::new(false));
        let OpenedBus { sender: ingest, reader: ingest_rx, kafka } = open_bus(&config, stop_reading.clone())?;
        let state = AppState::new(
            store.clone(),
            ingest.clone(),
            config.ingest.limits(),
            Duration::from_millis(config.ingest.enqueue_timeout_ms),
            rate.clone(),
            metrics,
        )
        .with_decisions(bridge_requests(respond_tx))
        .with_models(models)
        .with_rules(catalog)
        .with_rate_limits(config.ingest.max_events_per_sec_per_token, config.ingest.max_events_per_sec_per_client)
        .with_http(&config.http)
        .with_triager(triager);
        let pipeline = match ingest_rx {
            Some(reader) => Some(
                Pipeline::start(
                    &PipelineConfig {
                        max_commit_events: config.store.max_commit_events,
                        linger: commit_linger(&config.store),
                        detect_queue_capacity: config.detect.queue_capacity,
                    },
                    state.pipeline_health(),
                    store.clone(),
                    reader,
                    detectors,
                    aggregator,
                    rate.clone(),
                    on_alert,
                )
                .map_err(|source| NodeError::Thread { name: "pipeline".into(), source })?,
            ),
            None => None,
        };

        let sources = if config.role.collects() { start_sources(&config, &ingest)? } else { Vec::new() };
        let proxy = match blocklist {
            Some(list) if config.role.collects() => Some(start_proxy(&config, list, &ingest).await?),
            _ => None,
        };
        let options = listen_options(&config)?;
        let scheme = if options.tls.is_some() { "https" } else { "http" };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| NodeError::Listen { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| NodeError::Listen { addr: config.listen, source })?;
        if !addr.ip().is_loopback() && options.tls.is_none() {
            tracing::warn!(%addr, "Listening beyond loopback without TLS: tokens and events cross the network in clear text (set --tls-cert and --tls-key).");
        }
        let (stop_server, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let server = tokio::spawn(rampart_server::serve(listener, app, options, async {
            let _ = stopped.await;
        }));
        // Where a person opens the console (a wildcard listener on loopback).
        let shown = if addr.ip().is_unspecified() { "localhost".to_owned() } else { addr.ip().to_string() };
        let shown = if addr.is_ipv6() && shown != "localhost" { format!("[{shown}]") } else { shown };
        let dashboard = format!("{scheme}://{shown}:{}/", addr.port());
        tracing::info!(%addr, scheme, %dashboard, role = ?config.role, data_dir = %config.data_dir.display(), "Rampart is listening.");
        Ok(Node {
            addr,
            proxy_addr: proxy.as_ref().map(|p| p.addr),
            saved_alerts: live,
            state,
            ingest,
            kafka,
            stop_reading,
            stop_server,
            server,
            pipeline,
            notifier,
            store_upkeep: opened.maintenance,
            model_poll,
            sources,
            proxy,
            responder,
        })
    }

    /// Stops taking requests, drains both queues, flushes sinks.
    pub async fn stop(self) {
        let Node {
            state,
            ingest,
            kafka,
            stop_reading,
            stop_server,
            server,
            pipeline,
            notifier,
            store_upkeep,
            model_poll,
            sources,
            proxy,
            responder,
            ..
        } = self;
        state.set_ready(false);
        // Sources first: each finishes the batch in flight (and saves its offsets).
        for source in &sources {
            source.stop.store(true, Ordering::SeqCst);
        }
        for source in sources {
            let _ = tokio::task::spawn_blocking(move || source.thread.join()).await;
        }
        if let Some(proxy) = proxy {
            proxy.stop().await;
        }
        let _ = stop_server.send(());
        match server.await {
            Ok(Err(error)) => tracing::error!(%error, "HTTP server failed."),
            Err(error) => tracing::error!(%error, "HTTP server task failed."),
            Ok(Ok(())) => {}
        }
        if let Some(poll) = model_poll {
            poll.abort();
        }
        // What was published is delivered before the reader stops.
        if let Some(kafka) = kafka {
            let _ = tokio::task::spawn_blocking(move || kafka.flush(Duration::from_secs(10))).await;
        }
        // With every sender gone (or the Kafka reader told to stop), the
        // writer drains the queue and stops, then detection.
        stop_reading.store(true, Ordering::SeqCst);
        drop(state);
        drop(ingest);
        if let Some(pipeline) = pipeline
            && tokio::task::spawn_blocking(move || pipeline.join()).await.is_err()
        {
            tracing::error!("Pipeline did not stop cleanly.");
        }
        let _ = tokio::task::spawn_blocking(move || drop(store_upkeep)).await;
        // The responder finishes what is queued once the pipeline and the
        // API (its only senders) are gone.
        let joined =
            tokio::time::timeout(Duration::from_secs(10), tokio::task::spawn_blocking(move || responder.join()));
        if joined.await.is_err() {
            tracing::warn!("The responder did not stop within 10 s.");
        }
        match Arc::try_unwrap(notifier) {
            Ok(notifier) => notifier.shutdown().await,
            Err(_) => tracing::warn!("Notifier still shared at shutdown; pending notifications may be lost."),
        }
        tracing::info!("Rampart stopped.");
    }
}

/// The listener's limits from `[http]`, the connection cap lowered to what
/// the open-files limit can hold beside the store and the sources.
fn listen_options(config: &Config) -> Result<rampart_server::ListenOptions, NodeError> {
    let http = &config.http;
    let tls = match (&http.tls_cert, &http.tls_key) {
        (Some(cert), Some(key)) => Some(rampart_server::tls_config(cert, key)?),
        _ => None,
    };
    // Descriptors kept back for the store, sources, sinks and the overflow lane.
    const RESERVED_FDS: u64 = 256;
    let mut max_connections = http.max_connections;
    if let Some(limit) = open_files_limit() {
        let room = usize::try_from(limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX).max(16);
        if room < max_connections {
            tracing::warn!(
                configured = max_connections,
                open_files_limit = limit,
                used = room,
                "The open-files limit cannot hold http.max_connections; using fewer."
            );
            max_connections = room;
        }
    }
    Ok(rampart_server::ListenOptions {
        max_connections,
        header_timeout: Duration::from_millis(http.header_timeout_ms),
        idle_timeout: Duration::from_secs(http.idle_timeout_secs),
        shutdown_grace: Duration::from_secs(http.shutdown_grace_secs),
        tls,
    })
}

/// What puts this node's decisions in force: the local firewall and
/// process enforcer on a node that collects; the web gatekeeper's block
/// list when it runs; the fleet's decision topic on a Kafka bus. Workers
/// and API nodes only publish (agents enforce). `None`: the defaults.
fn enforcers_for(
    config: &Config,
    blocklist: Option<&rampart_proxy::BlockList>,
) -> Result<Option<Vec<Box<dyn Enforcer>>>, NodeError> {
    let fleet = match config.bus.kind {
        BusKind::Kafka => Some(crate::fleet::FleetDecisions(
            rampart_bus::DecisionPublisher::new(&config.bus.kafka).map_err(NodeError::Bus)?,
        )),
        BusKind::Memory => None,
    };
    if fleet.is_none() && blocklist.is_none() {
        return Ok(None);
    }
    let mut all: Vec<Box<dyn Enforcer>> = Vec::new();
    if config.role == rampart_core::config::NodeRole::All {
        all = rampart_respond::enforce::enforcers_for(&config.respond);
    }
    if let Some(list) = blocklist {
        all.push(Box::new(list.clone()));
    }
    if let Some(fleet) = fleet {
        all.push(Box::new(fleet));
    }
    Ok(Some(all))
}

/// The bus `[bus]` configures, as this node uses it.
struct OpenedBus {
    /// For the sources and the API.
    sender: IngestSender,
    /// For the writer, when this node detects.
    reader: Option<IngestReceiver>,
    /// The Kafka producer, to flush at shutdown.
    kafka: Option<Arc<rampart_bus::KafkaBus>>,
}

fn open_bus(config: &Config, stop_reading: Arc<AtomicBool>) -> Result<OpenedBus, NodeError> {
    match config.bus.kind {
        BusKind::Memory => {
            let (sender, reader) = ingest_queue(config.ingest.queue_capacity);
            Ok(OpenedBus { sender, reader: Some(reader), kafka: None })
        }
        BusKind::Kafka => {
            let kafka = &config.bus.kafka;
            let bus = Arc::new(rampart_bus::KafkaBus::new(kafka).map_err(NodeError::Bus)?);
            let reader = if config.role.detects() {
                let reader = rampart_bus::KafkaReader::new(kafka, config.ingest.limits(), stop_reading)
                    .map_err(NodeError::Bus)?;
                Some(Box::new(reader) as IngestReceiver)
            } else {
                None
            };
            Ok(OpenedBus { sender: IngestSender::new(bus.clone()), reader, kafka: Some(bus) })
        }
    }
}

/// ClickHouse wants inserts of thousands of rows: the writer waits for them.
fn commit_linger(store: &rampart_core::config::StoreConfig) -> Option<crate::pipeline::Linger> {
    (store.kind == rampart_core::config::StoreKind::Clickhouse).then(|| crate::pipeline::Linger {
        rows: store.clickhouse.flush_rows,
        wait: Duration::from_millis(store.clickhouse.flush_ms),
    })
}

/// The open-files soft limit in force (`None` when unlimited).
fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Picks up roles changed from the command line (`rampart models activate`).
async fn poll_models(models: Arc<ModelRegistry>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let models = models.clone();
        match tokio::task::spawn_blocking(move || models.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "Cannot read the model registry."),
            Err(error) => tracing::error!(%error, "Model registry poll failed."),
        }
    }
}
