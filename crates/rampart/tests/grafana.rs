//! The Grafana dashboard (deploy/grafana/rampart.json) against a real
//! Prometheus scraping a node under `rampart simulate` load: every query of
//! every panel but the fleet's, evaluated through Prometheus's HTTP API,
//! returns data.

#![allow(clippy::unwrap_used)]

mod util;

use std::process::Command;

use util::dashboard::{is_fleet_query, queries, query, wait_for_data};
use util::{ADMIN, Server, client, free_port};

fn simulate(dir: &std::path::Path, kind: &str, lines: &str) -> std::path::PathBuf {
    let out = dir.join(format!("{kind}.log"));
    let status = Command::new(util::bin())
        .args(["simulate", kind, "--lines", lines, "--addresses", "60", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

#[test]
fn every_dashboard_panel_has_data_from_a_loaded_node() {
    let dir = tempfile::tempdir().unwrap();
    let web = simulate(dir.path(), "web", "3000");
    let ssh = simulate(dir.path(), "ssh", "3000");
    // Nothing listens here: the webhook's deliveries fail, as the sink panel
    // should show beside the EVE file's successful ones.
    let dead = free_port();
    // The model's stand-in (the real service is paid): triage calls for the LLM panels.
    let (llm, _) = util::chat_stand_in(
        r#"{"summary": "IP_1 attacked.", "verdict": "likely_malicious", "reason": "r", "suggested_response": {"action": "none"}, "cited_event_ids": []}"#,
    );
    let config = format!(
        r#"
[alerts]
notify_delay_ms = 100
[sinks]
stdout = false
[sinks.eve]
path = "{eve}"
[[sinks.webhooks]]
name = "dead"
url = "http://127.0.0.1:{dead}/hook"
delivery = {{ timeout_ms = 300, retries = 0, backoff_ms = 10 }}
[sources.host]
enabled = false
[llm]
enabled = true
base_url = "{llm}"
calls_per_minute = 5
[[sources.files]]
paths = ["{web}"]
format = "auto"
start_at = "beginning"
[[sources.files]]
paths = ["{ssh}"]
format = "auto"
start_at = "beginning"
"#,
        eve = dir.path().join("eve.json").display(),
        llm = llm,
        web = web.display(),
        ssh = ssh.display()
    );
    let server = Server::start(dir.path(), &config);
    let target = server.url.trim_start_matches("http://").to_owned();
    let (_prometheus, prometheus) = util::prometheus(dir.path(), "rampart", &[target]);
    // A rejected input and a request over the API, beside the file sources.
    let bad = client()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let good = client()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(r#"{"message": "hello", "event": {"kind": "event"}}"#)
        .send()
        .unwrap();
    assert_eq!(good.status().as_u16(), 200);

    // The fleet's panels (Kafka workers only) are checked in tests/fleet.rs.
    let (fleet, node): (Vec<_>, Vec<_>) = queries().into_iter().partition(|(_, expr)| is_fleet_query(expr));
    assert!(node.len() >= 21 && fleet.len() >= 4, "{node:?} {fleet:?}");
    wait_for_data(&prometheus, &node, 90);

    // And the data says what the load was.
    let by_source = query(&prometheus, "sum by (source) (rampart_events_ingested_total)");
    let sources: Vec<&str> = by_source.iter().filter_map(|s| s["metric"]["source"].as_str()).collect();
    assert!(sources.contains(&"http") && sources.len() >= 2, "file sources and the API: {sources:?}");
    let alerts = query(&prometheus, "sum by (rule) (rampart_alerts_total)");
    let rules: Vec<&str> = alerts.iter().filter_map(|s| s["metric"]["rule"].as_str()).collect();
    assert!(rules.contains(&"ssh-brute-force"), "{rules:?}");
    let failed = query(&prometheus, "sum(rampart_sink_failures_total{sink=\"dead\"})");
    assert!(failed[0]["value"][1].as_str().unwrap().parse::<f64>().unwrap() >= 1.0, "{failed:?}");
    server.terminate();
}
