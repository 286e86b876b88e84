//! The Prometheus recorder behind `/metrics`, and every metric's help text.

use std::sync::Arc;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use rampart_server::MetricsRender;

use rampart_node::metrics::{CHECKPOINT_SECONDS, DETECTION_LATENCY, EVENTS_INGESTED, INGEST_LATENCY, QUEUE_DEPTH};

/// Installs the global recorder (once per process) and returns the renderer.
pub fn install() -> anyhow::Result<MetricsRender> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
        )
        .map_err(|e| anyhow::anyhow!("bad histogram buckets: {e}"))?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))?;
    describe();
    Ok(Arc::new(move || handle.render()))
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(EVENTS_INGESTED, "Events committed, by kind and source.");
    describe_histogram!(INGEST_LATENCY, metrics::Unit::Seconds, "From ingest receipt to commit, per batch, by source.");
    describe_counter!(rampart_server::metrics::INPUTS_REJECTED, "Inputs refused, by reason.");
    describe_gauge!(QUEUE_DEPTH, "Batches waiting in a pipeline queue, by queue.");
    describe_histogram!(DETECTION_LATENCY, metrics::Unit::Seconds, "From ingest receipt to detection done, per batch.");
    describe_counter!(rampart_detect::metrics::ALERTS_OPENED, "Alerts opened, by rule and severity.");
    describe_counter!(rampart_detect::metrics::KEYS_EVICTED, "Threshold keys evicted at the per-rule cap, by rule.");
    describe_counter!(
        rampart_detect::metrics::OPEN_ALERTS_EVICTED,
        "Open alerts dropped from the merge table at its cap."
    );
    describe_histogram!("rampart_store_write_seconds", metrics::Unit::Seconds, "Store write transaction time, by op.");
    describe_counter!("rampart_store_events_purged_total", "Events deleted by retention.");
    describe_histogram!(CHECKPOINT_SECONDS, metrics::Unit::Seconds, "WAL checkpoints run by the idle writer.");
    describe_counter!(rampart_respond::metrics::SINK_FAILURES, "Failed alert delivery attempts, by sink.");
    describe_counter!(rampart_respond::metrics::SINK_DELIVERED, "Alert notifications delivered, by sink.");
    describe_counter!(rampart_respond::metrics::SINK_DROPPED, "Alert notifications given up on, by sink and reason.");
    use rampart_triage::metrics as llm;
    describe_counter!(llm::CALLS, "LLM triage calls, by outcome.");
    describe_histogram!(llm::LATENCY, metrics::Unit::Seconds, "LLM triage call time.");
    describe_counter!(llm::TOKENS, "Tokens the LLM endpoint reported, by kind (prompt, completion).");
    describe_counter!(llm::SKIPPED, "Alerts not sent to the model, by reason.");
    describe_counter!(llm::FALLBACKS, "Triages written by the rule-based fallback.");
    describe_counter!(llm::INVENTED_CITATIONS, "Event ids a model cited that its evidence did not hold, dropped.");
    describe_counter!(llm::REDACTED, "Values replaced by placeholders before a prompt left the host, by kind.");
}
