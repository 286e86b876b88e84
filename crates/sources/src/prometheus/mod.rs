//! Prometheus as a source: scrape an exporter's `/metrics` (node_exporter
//! and friends), or run PromQL queries against a Prometheus server's HTTP
//! API. Either way, each round becomes one `metric` event whose fields are
//! the series (`metrics.node_load1`, `metrics.node_cpu_seconds_total{...}`),
//! so rules and the dashboard see them like the host collector's.

mod exposition;
mod query;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rampart_core::{Body, Event, EventKind, IngestSender};
use serde_json::json;

use crate::error::ScrapeError;
use crate::handoff::{deliver, sleep_unless_stopped};
pub use exposition::{Sample, parse_exposition, series_key};
pub use query::parse_query_answer;

/// Rounds by `outcome` (`ok`, `failed`).
pub const ROUNDS: &str = "rampart_prometheus_rounds_total";
/// Samples left out of events because their value is NaN or infinite.
pub const NOT_FINITE: &str = "rampart_prometheus_samples_not_finite_total";

#[derive(Debug, Clone)]
pub struct PrometheusSpec {
    /// An exporter's metrics URL, or (with `queries`) a server's base URL.
    pub url: String,
    pub interval: Duration,
    pub include: Vec<String>,
    /// (name, PromQL).
    pub queries: Vec<(String, String)>,
    pub timeout: Duration,
}

pub struct PrometheusSource {
    spec: PrometheusSpec,
    client: reqwest::Client,
    ingest: IngestSender,
}

impl PrometheusSource {
    pub fn new(spec: PrometheusSpec, client: reqwest::Client, ingest: IngestSender) -> PrometheusSource {
        PrometheusSource { spec, client, ingest }
    }

    pub fn run(self, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>) {
        tracing::info!(url = %self.spec.url, queries = self.spec.queries.len(), "Reading Prometheus metrics.");
        let mut failing = false;
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            match runtime.block_on(self.round()) {
                Ok(event) => {
                    metrics::counter!(ROUNDS, "outcome" => "ok").increment(1);
                    if failing {
                        tracing::info!(url = %self.spec.url, "Prometheus endpoint answers again.");
                        failing = false;
                    }
                    if !deliver(&self.ingest, &runtime, &[event], "prometheus", &stop) {
                        break;
                    }
                }
                Err(error) => {
                    metrics::counter!(ROUNDS, "outcome" => "failed").increment(1);
                    // Said once per outage, not every interval.
                    if !failing {
                        tracing::warn!(url = %self.spec.url, %error, "Prometheus round failed; retrying each interval.");
                        failing = true;
                    }
                }
            }
            sleep_unless_stopped(self.spec.interval.saturating_sub(started.elapsed()), &stop);
        }
    }

    /// One scrape, or one run of every query, as an event.
    pub async fn round(&self) -> Result<Event, ScrapeError> {
        let at = rampart_core::time::now_ms();
        let values = if self.spec.queries.is_empty() { self.scrape().await? } else { self.query_all().await? };
        let mut metrics = BTreeMap::new();
        let mut not_finite = 0u64;
        for (key, value) in values {
            if value.is_finite() {
                metrics.insert(key, value);
            } else {
                not_finite += 1;
            }
        }
        metrics::counter!(NOT_FINITE).increment(not_finite);
        let mut event = Event::new(EventKind::Metric, at);
        event.category = vec!["host".into()];
        event.action = Some(if self.spec.queries.is_empty() { "prometheus_scrape" } else { "prometheus_query" }.into());
        event.extra.insert("service.type".into(), json!("prometheus"));
        event.extra.insert("service.address".into(), json!(self.spec.url));
        event.body = Some(Body::Metrics(metrics));
        Ok(event)
    }

    async fn get(&self, request: reqwest::RequestBuilder) -> Result<String, ScrapeError> {
        let http = |reason: String| ScrapeError::Http { url: self.spec.url.clone(), reason };
        let response = request.timeout(self.spec.timeout).send().await.map_err(|e| http(e.to_string()))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| http(e.to_string()))?;
        // Prometheus answers a bad query with 400 and a JSON error worth reading.
        let readable_error = status.is_client_error() && body.starts_with('{');
        if !status.is_success() && !readable_error {
            return Err(http(format!("HTTP {status}")));
        }
        Ok(body)
    }

    async fn scrape(&self) -> Result<Vec<(String, f64)>, ScrapeError> {
        let text = self.get(self.client.get(&self.spec.url)).await?;
        let samples =
            parse_exposition(&text).map_err(|source| ScrapeError::Exposition { url: self.spec.url.clone(), source })?;
        let include = &self.spec.include;
        Ok(samples
            .into_iter()
            .filter(|s| include.is_empty() || include.iter().any(|p| s.name.starts_with(p.as_str())))
            .map(|s| (series_key(&s.name, &s.labels), s.value))
            .collect())
    }

    async fn query_all(&self) -> Result<Vec<(String, f64)>, ScrapeError> {
        let endpoint = format!("{}/api/v1/query", self.spec.url.trim_end_matches('/'));
        let mut out = Vec::new();
        for (name, promql) in &self.spec.queries {
            let url = reqwest::Url::parse_with_params(&endpoint, [("query", promql)])
                .map_err(|e| ScrapeError::Http { url: endpoint.clone(), reason: e.to_string() })?;
            let body = self.get(self.client.get(url)).await?;
            let answer: serde_json::Value = serde_json::from_str(&body).map_err(|e| ScrapeError::Query {
                query: name.clone(),
                reason: format!("the answer is not JSON: {e}"),
            })?;
            out.extend(parse_query_answer(name, &answer)?);
        }
        Ok(out)
    }
}
