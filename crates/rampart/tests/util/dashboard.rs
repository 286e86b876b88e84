//! The Grafana dashboard's queries, evaluated through a real Prometheus's
//! HTTP API (`super::prometheus`).

use serde_json::Value;

/// A query's metrics come only from a fleet's Kafka workers.
pub fn is_fleet_query(expr: &str) -> bool {
    expr.contains("rampart_bus_")
}

/// Every (panel title, query) in the dashboard, with Grafana's variables
/// given the values a user's first view has.
pub fn queries() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/rampart.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap().replace("$__rate_interval", "1m").replace("$job", ".*");
            queries.push((panel["title"].as_str().unwrap().to_owned(), expr));
        }
    }
    queries
}

/// The instant vector `expr` evaluates to now.
pub fn query(prometheus: &str, expr: &str) -> Vec<Value> {
    let answer: Value = {
        let url = reqwest::Url::parse_with_params(&format!("{prometheus}/api/v1/query"), &[("query", expr)]).unwrap();
        super::client().get(url).send().unwrap().json().unwrap()
    };
    assert_eq!(answer["status"], "success", "{expr}: {answer}");
    answer["data"]["result"].as_array().unwrap().clone()
}

/// Waits (up to `secs`; rates need two scrapes after the load) until every
/// query of `queries` returns data, and fails naming the panels that never did.
pub fn wait_for_data(prometheus: &str, queries: &[(String, String)], secs: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let empty: Vec<&(String, String)> =
            queries.iter().filter(|(_, expr)| query(prometheus, expr).is_empty()).collect();
        if empty.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "panels without data: {empty:#?}");
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
