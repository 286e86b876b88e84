//! Rampart on a fleet's parts: ClickHouse as the store (Debian's server,
//! started here on loopback). The API and the CLI work unchanged on it.

#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/clickhouse_server/mod.rs"]
mod clickhouse_server;
mod util;

use clickhouse_server::ClickHouseServer;
use serde_json::{Value, json};
use util::{ADMIN, Server, api_get, client, eventually};

fn clickhouse_config(clickhouse: &ClickHouseServer, database: &str) -> String {
    format!(
        "[sinks]\nstdout = false\n\n[store]\nkind = \"clickhouse\"\n\n[store.clickhouse]\nurl = \"{}\"\ndatabase = \"{database}\"\nflush_ms = 200\n",
        clickhouse.url()
    )
}

fn failed_logins(ip: &str, users: std::ops::Range<u32>) -> String {
    users
        .map(|i| {
            json!({"event": {"category": "authentication", "outcome": "failure", "action": "ssh_login"},
                   "source": {"ip": ip}, "user": {"name": format!("user{i}")}, "message": "Failed password"})
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn post_ndjson(url: &str, body: String) -> Value {
    let response = client()
        .post(format!("{url}/api/v1/events"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().unwrap()
}

#[test]
fn a_node_on_clickhouse_stores_detects_and_serves_the_api_and_cli() {
    let clickhouse = ClickHouseServer::start();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &clickhouse_config(&clickhouse, "rampart_node"));

    post_ndjson(&server.url, failed_logins("203.0.113.9", 0..6));
    post_ndjson(&server.url, failed_logins("203.0.113.9", 6..9));
    let alert = eventually(15, "the brute-force alert", || {
        let page = api_get(&server, "/api/v1/alerts?rule=ssh-brute-force");
        let items = page["alerts"].as_array().unwrap().clone();
        (items.len() == 1 && items[0]["count"] == 9).then(|| items[0].clone())
    });
    assert_eq!(alert["entity"]["value"], "203.0.113.9");
    let stored = clickhouse.query("SELECT count() FROM rampart_node.events WHERE source_ip = '203.0.113.9'");
    assert_eq!(stored.trim(), "9");

    let page = api_get(&server, "/api/v1/events?source.ip=203.0.113.9&limit=5");
    assert_eq!(page["events"].as_array().unwrap().len(), 5);
    assert_eq!(page["events"][0]["user"]["name"], "user8");
    assert_eq!(api_get(&server, "/api/v1/stats")["events"]["total"], 9);

    // An analyst's acknowledgement, through the API, as on SQLite.
    let id = alert["id"].as_str().unwrap();
    let acked = client()
        .patch(format!("{}/api/v1/alerts/{id}", server.url))
        .bearer_auth(ADMIN)
        .json(&json!({"status": "acknowledged"}))
        .send()
        .unwrap();
    assert!(acked.status().is_success(), "{}", acked.status());
    assert_eq!(api_get(&server, &format!("/api/v1/alerts/{id}"))["status"], "acknowledged");

    // The CLI reads the same store through the same config.
    let output = std::process::Command::new(util::bin())
        .args(["--config", dir.path().join("rampart.toml").to_str().unwrap(), "token", "list"])
        .args(["--data-dir", dir.path().join("elsewhere").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("admin"), "{}", String::from_utf8_lossy(&output.stdout));
}
