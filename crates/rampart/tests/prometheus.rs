//! The Prometheus source against the real thing: Debian's
//! prometheus-node-exporter and prometheus, started here on loopback ports
//! (scripts/test installs them), read by `rampart serve` both ways — a
//! scrape of the exporter and PromQL queries against the server.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used)]

mod util;

use serde_json::Value;
use util::{Server, api_get, client, eventually, free_port, spawn_reaped as spawn, wait_http};

/// The newest metric event with `event.action` = `action`.
fn newest(server: &Server, action: &str) -> Option<Value> {
    let page = api_get(server, "/api/v1/events?kind=metric&limit=200");
    page["events"].as_array()?.iter().find(|e| e["event"]["action"] == action).cloned()
}

#[test]
fn node_exporter_scrapes_and_promql_queries_become_metric_events() {
    let dir = tempfile::tempdir().unwrap();
    let exporter_port = free_port();
    let _exporter = spawn(
        "prometheus-node-exporter",
        &[
            format!("--web.listen-address=127.0.0.1:{exporter_port}"),
            "--collector.disable-defaults".into(),
            "--collector.loadavg".into(),
            "--collector.meminfo".into(),
            "--collector.cpu".into(),
        ],
    );
    let exporter = format!("http://127.0.0.1:{exporter_port}/metrics");
    wait_http(&exporter);

    let (_prometheus, prometheus) = util::prometheus(dir.path(), "node", &[format!("127.0.0.1:{exporter_port}")]);

    let config = format!(
        r#"
[sinks]
stdout = false
[sources.host]
enabled = false
[[sources.prometheus]]
url = "{exporter}"
interval_secs = 1
include = ["node_load", "node_memory_MemAvailable_bytes", "node_cpu_seconds_total"]
[[sources.prometheus]]
url = "{prometheus}"
interval_secs = 1
queries = [
  {{ name = "node_up", query = "up{{job=\"node\"}}" }},
  {{ name = "cpu_seconds", query = "sum by (mode) (node_cpu_seconds_total)" }},
]
"#
    );
    let server = Server::start(dir.path(), &config);

    let scraped = eventually(30, "a scrape event", || newest(&server, "prometheus_scrape"));
    let metrics = &scraped["metrics"];
    assert!(metrics["node_load1"].is_number() && metrics["node_memory_MemAvailable_bytes"].as_f64().unwrap() > 0.0);
    let keys: Vec<&String> = metrics.as_object().unwrap().keys().collect();
    assert!(keys.iter().any(|k| k.starts_with("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}")), "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("node_load") || k.starts_with("node_memo") || k.starts_with("node_cpu")));
    assert_eq!(scraped["service"]["address"], exporter.as_str());

    // Prometheus needs a scrape of its own before `up` has a value.
    let queried = eventually(60, "a query event with node_up", || {
        newest(&server, "prometheus_query").filter(|e| e["metrics"]["node_up"].is_number())
    });
    assert_eq!(queried["metrics"]["node_up"], 1.0);
    let modes: Vec<&String> =
        queried["metrics"].as_object().unwrap().keys().filter(|k| k.starts_with("cpu_seconds{")).collect();
    assert!(modes.iter().any(|k| k.contains("mode=\"idle\"")), "{modes:?}");
}

#[test]
fn an_unreachable_endpoint_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "[sinks]\nstdout = false\n[sources.host]\nenabled = false\n[[sources.prometheus]]\nurl = \"http://127.0.0.1:{port}/metrics\"\ninterval_secs = 1\ntimeout_ms = 500\n"
    );
    let server = Server::start(dir.path(), &config);
    eventually(30, "the failed round in the log", || {
        server
            .stderr
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains("Prometheus round failed") && l.contains(&port.to_string()))
            .cloned()
    });
    let health = client().get(format!("{}/healthz", server.url)).send().unwrap();
    assert!(health.status().is_success(), "the server keeps running");
}
