//! What every handler can reach.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rampart_core::{IngestSender, Limits, RateMeter, Store};

/// Renders the Prometheus text exposition on demand.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub ingest: IngestSender,
    pub limits: Limits,
    /// How long ingest waits for queue room before answering 503.
    pub enqueue_timeout: Duration,
    pub rate: Arc<RateMeter>,
    pub metrics: MetricsRender,
    /// Ingest token buckets (off unless configured).
    pub rate_limits: Arc<crate::ratelimit::IngestRateLimits>,
    /// The responder, which owns the enforcers; `None` where none runs.
    pub decisions: Option<tokio::sync::mpsc::Sender<rampart_core::DecisionRequest>>,
    /// The flow detector's model slot; `None` where no flow detector runs.
    pub models: Option<Arc<dyn rampart_core::ModelControl>>,
    /// The rules this node's detectors loaded, for `GET /rules`.
    pub rules: Arc<Vec<Arc<rampart_core::RuleCard>>>,
    /// The model client `[llm]` configures, for on-demand (incident) triage.
    pub triager: Option<Arc<rampart_triage::Triager>>,
    /// Failed authentications per client address.
    pub auth_throttle: Arc<crate::auth_throttle::AuthThrottle>,
    /// Ingest body bytes being read or decoded now, across requests (one
    /// permit a byte).
    pub ingest_budget: Arc<tokio::sync::Semaphore>,
    ingest_budget_bytes: usize,
    /// Largest small JSON body (login, updates, decisions).
    pub max_json_body_bytes: usize,
    /// The listener speaks TLS: session cookies are marked `Secure`.
    pub tls: bool,
    ready: Arc<AtomicBool>,
    pipeline_ok: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        ingest: IngestSender,
        limits: Limits,
        enqueue_timeout: Duration,
        rate: Arc<RateMeter>,
        metrics: MetricsRender,
    ) -> AppState {
        AppState {
            store,
            ingest,
            limits,
            enqueue_timeout,
            rate,
            metrics,
            rate_limits: Arc::default(),
            decisions: None,
            models: None,
            rules: Arc::default(),
            triager: None,
            auth_throttle: Arc::new(crate::auth_throttle::AuthThrottle::new(1)),
            ingest_budget: Arc::new(tokio::sync::Semaphore::new(0)),
            ingest_budget_bytes: 0,
            max_json_body_bytes: 0,
            tls: false,
            ready: Arc::new(AtomicBool::new(true)),
            pipeline_ok: Arc::new(AtomicBool::new(true)),
        }
        .with_http(&rampart_core::config::HttpConfig::default())
    }

    /// The listener's request limits, from `[http]`.
    pub fn with_http(mut self, http: &rampart_core::config::HttpConfig) -> AppState {
        self.auth_throttle = Arc::new(crate::auth_throttle::AuthThrottle::new(http.max_auth_failures_per_min));
        self.ingest_budget_bytes = http.max_inflight_ingest_bytes.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self.ingest_budget = Arc::new(tokio::sync::Semaphore::new(self.ingest_budget_bytes));
        self.max_json_body_bytes = http.max_json_body_bytes;
        self.tls = http.tls_cert.is_some();
        self
    }

    /// The whole ingest budget, in bytes.
    pub fn ingest_budget_bytes(&self) -> usize {
        self.ingest_budget_bytes
    }

    /// Limits ingest per token and per client address (events per second).
    pub fn with_rate_limits(mut self, per_token: u32, per_client: u32) -> AppState {
        self.rate_limits = Arc::new(crate::ratelimit::IngestRateLimits::new(per_token, per_client));
        self
    }

    /// Routes decision changes from the API to the responder.
    pub fn with_decisions(mut self, tx: tokio::sync::mpsc::Sender<rampart_core::DecisionRequest>) -> AppState {
        self.decisions = Some(tx);
        self
    }

    /// Routes model activation from the API to the flow detector.
    pub fn with_models(mut self, control: Arc<dyn rampart_core::ModelControl>) -> AppState {
        self.models = Some(control);
        self
    }

    /// The model client for triage on demand; `None` when `[llm]` is off.
    pub fn with_triager(mut self, triager: Option<Arc<rampart_triage::Triager>>) -> AppState {
        self.triager = triager;
        self
    }

    /// The rules loaded, listed by `GET /rules`.
    pub fn with_rules(mut self, rules: Vec<Arc<rampart_core::RuleCard>>) -> AppState {
        self.rules = Arc::new(rules);
        self
    }

    /// A flag the pipeline clears if one of its stages dies; `/readyz` reads it.
    pub fn pipeline_health(&self) -> Arc<AtomicBool> {
        self.pipeline_ok.clone()
    }

    pub fn pipeline_ok(&self) -> bool {
        self.pipeline_ok.load(Ordering::SeqCst)
    }

    /// Marks the node as draining: `/readyz` answers 503 from now on.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}
