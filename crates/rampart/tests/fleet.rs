//! Rampart on a fleet's parts, all real and on loopback: ClickHouse as the
//! store (Debian's server), a Kafka-protocol broker (nisshi) as the bus,
//! `serve --role ingest|worker` nodes. The API and the CLI work unchanged.

#![allow(clippy::unwrap_used)]

#[path = "../../store/tests/clickhouse_server/mod.rs"]
mod clickhouse_server;
mod util;

use clickhouse_server::ClickHouseServer;
use serde_json::{Value, json};
use util::dashboard;
use util::kafka::Broker;
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

/// A config for one node of a fleet: Kafka bus, ClickHouse store.
fn fleet_config(clickhouse: &ClickHouseServer, database: &str, broker: &Broker) -> String {
    format!(
        "{}\n[sources.host]\nenabled = false\n\n[bus]\nkind = \"kafka\"\n\n[bus.kafka]\nbrokers = \"{}\"\nsession_timeout_ms = 6000\n",
        clickhouse_config(clickhouse, database),
        broker.addr
    )
}

/// True once the worker logged a non-empty partition assignment.
fn has_partitions(worker: &Server) -> bool {
    let logs = worker.stderr.lock().unwrap();
    logs.iter().any(|l| l.contains("Kafka partitions assigned") && !l.contains("[]"))
}

fn start_node(dir: &std::path::Path, config: &str, role: &str) -> Server {
    std::fs::create_dir_all(dir).unwrap();
    Server::start_with(dir, config, &[], "127.0.0.1:0", &["--role", role])
}

/// One of the worker's metrics (a counter or gauge without labels), 0 when absent.
fn metric(worker: &Server, name: &str) -> u64 {
    let text = client().get(format!("{}/metrics", worker.url)).send().unwrap().text().unwrap();
    text.lines()
        .find(|l| l.split(' ').next() == Some(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

/// The worker's count of events read from the bus.
fn events_read(worker: &Server) -> u64 {
    metric(worker, "rampart_bus_events_read_total")
}

/// Whether the worker holds `partitions` partitions and has stored and
/// committed everything in them: after that nothing can be read again.
fn caught_up(worker: &Server, partitions: u64) -> bool {
    metric(worker, "rampart_bus_partitions_assigned") == partitions && metric(worker, "rampart_bus_consumer_lag") == 0
}

fn count(clickhouse: &ClickHouseServer, sql: &str) -> u64 {
    clickhouse.query(sql).trim().parse().unwrap()
}

#[test]
fn two_workers_share_the_topic_and_a_brute_force_across_posts_fires_once() {
    let clickhouse = ClickHouseServer::start();
    let broker = Broker::start();
    broker.create_topic("rampart.events", 4, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = fleet_config(&clickhouse, "fleet_share", &broker);
    let workers =
        [start_node(&dir.path().join("w1"), &config, "worker"), start_node(&dir.path().join("w2"), &config, "worker")];
    let ingest = start_node(&dir.path().join("ingest"), &config, "ingest");

    // Both workers in the group before the events arrive.
    eventually(30, "two workers with partitions", || workers.iter().all(has_partitions).then_some(()));
    // The attacker's nine failures in three posts, between 60 bystanders' single logins.
    for round in 0..3u32 {
        let bystanders: Vec<String> =
            (0..20).map(|i| failed_logins(&format!("198.51.100.{}", round * 20 + i + 1), 0..1)).collect();
        post_ndjson(
            &ingest.url,
            format!("{}\n{}", bystanders.join("\n"), failed_logins("203.0.113.9", round * 3..round * 3 + 3)),
        );
    }
    eventually(30, "69 events in ClickHouse", || {
        (count(&clickhouse, "SELECT uniqExact(id) FROM fleet_share.events") == 69).then_some(())
    });
    // The dashboard's and API's node reads what the workers stored.
    let api = start_node(&dir.path().join("api"), &config, "api");
    let alerts = eventually(15, "the brute-force alert", || {
        let page = api_get(&api, "/api/v1/alerts?rule=ssh-brute-force");
        let items = page["alerts"].as_array().unwrap().clone();
        (items.len() == 1 && items[0]["count"] == 9).then_some(items)
    });
    assert_eq!(alerts[0]["entity"]["value"], "203.0.113.9");
    assert_eq!(api_get(&api, "/api/v1/events?source.ip=203.0.113.9")["events"].as_array().unwrap().len(), 9);
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(count(&clickhouse, "SELECT count() FROM fleet_share.alerts FINAL WHERE rule_id = 'ssh-brute-force'"), 1);
    // Work was shared: each worker read some of the 69.
    let read: Vec<u64> = workers.iter().map(events_read).collect();
    assert_eq!(read.iter().sum::<u64>(), 69, "{read:?}");
    assert!(read.iter().all(|&n| n > 0), "one worker did everything: {read:?}");
}

#[test]
fn a_killed_worker_is_taken_over_and_every_acknowledged_event_is_stored_once() {
    let clickhouse = ClickHouseServer::start();
    let broker = Broker::start();
    broker.create_topic("rampart.events", 4, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = fleet_config(&clickhouse, "fleet_takeover", &broker);
    let survivor = start_node(&dir.path().join("w1"), &config, "worker");
    let doomed = start_node(&dir.path().join("w2"), &config, "worker");
    let ingest = start_node(&dir.path().join("ingest"), &config, "ingest");
    eventually(30, "two workers with partitions", || {
        [&survivor, &doomed].iter().all(|w| has_partitions(w)).then_some(())
    });

    let mut acknowledged = 0;
    let mut doomed = Some(doomed);
    for round in 0..40u32 {
        if round == 15 {
            // Mid-stream, with whatever it had read and not committed.
            doomed.take().unwrap().kill9();
        }
        let body: Vec<String> = (0..50).map(|i| failed_logins(&format!("10.{}.{}.1", round, i), 0..1)).collect();
        acknowledged += post_ndjson(&ingest.url, body.join("\n"))["accepted"].as_u64().unwrap();
    }
    assert_eq!(acknowledged, 2_000);
    eventually(60, "every acknowledged event in ClickHouse", || {
        (count(&clickhouse, "SELECT uniqExact(id) FROM fleet_takeover.events") == acknowledged).then_some(())
    });
    // What either worker stored and did not commit is read again until the
    // survivor has committed all four partitions; only then is the count final.
    eventually(30, "the survivor caught up on all four partitions", || caught_up(&survivor, 4).then_some(()));
    clickhouse.merge_final("fleet_takeover.events");
    assert_eq!(
        count(&clickhouse, "SELECT count() FROM fleet_takeover.events"),
        acknowledged,
        "exactly once after dedup"
    );
    assert_eq!(count(&clickhouse, "SELECT count() FROM fleet_takeover.events WHERE message != 'Failed password'"), 0);
    // Received is when the ingest node stamped the message (the id's time),
    // whoever read it: two deliveries make one row in one day partition.
    assert_eq!(
        count(&clickhouse, "SELECT count() FROM fleet_takeover.events WHERE ingested_ms != bitShiftRight(id, 20)"),
        0
    );
}

#[test]
fn while_clickhouse_is_down_workers_hold_their_offsets_and_catch_up_after() {
    let mut clickhouse = ClickHouseServer::start();
    let broker = Broker::start();
    broker.create_topic("rampart.events", 2, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = fleet_config(&clickhouse, "fleet_outage", &broker);
    let worker = start_node(&dir.path().join("w1"), &config, "worker");
    let ingest = start_node(&dir.path().join("ingest"), &config, "ingest");
    eventually(30, "the worker's partitions", || has_partitions(&worker).then_some(()));
    post_ndjson(&ingest.url, failed_logins("192.0.2.1", 0..10));
    eventually(20, "the first events", || {
        (count(&clickhouse, "SELECT count() FROM fleet_outage.events") == 10).then_some(())
    });

    clickhouse.stop();
    // The bus still takes events: the ingest node acknowledges on the broker's word.
    for i in 0..5u32 {
        post_ndjson(&ingest.url, failed_logins(&format!("192.0.2.{}", i + 10), 0..100));
    }
    eventually(20, "the worker retrying", || (metric(&worker, "rampart_bus_redeliveries_total") > 0).then_some(()));
    // Nothing is committed while nothing is stored: the lag shows the 500.
    eventually(10, "the lag of the events not stored", || {
        (metric(&worker, "rampart_bus_consumer_lag") == 500).then_some(())
    });
    clickhouse.resume();
    eventually(60, "all 510 events after ClickHouse came back", || {
        (count(&clickhouse, "SELECT uniqExact(id) FROM fleet_outage.events") == 510).then_some(())
    });
    eventually(30, "the worker caught up", || caught_up(&worker, 2).then_some(()));

    // The dashboard's fleet panels, through a real Prometheus scraping
    // both nodes, show this: reads, the read-again batches, the
    // partitions, and the lag back at 0 — on the worker only.
    let targets = [&worker, &ingest].map(|n| n.url.trim_start_matches("http://").to_owned());
    let (_prometheus, prometheus) = util::prometheus(dir.path(), "rampart", &targets);
    let fleet: Vec<_> = dashboard::queries().into_iter().filter(|(_, expr)| dashboard::is_fleet_query(expr)).collect();
    // Reads are a rate: more of them for the scrapes to see.
    eventually(30, "a scrape of both nodes", || {
        let up = dashboard::query(&prometheus, "sum(up)");
        (up.first()?["value"][1] == "2").then_some(())
    });
    for i in 0..5u32 {
        post_ndjson(&ingest.url, failed_logins(&format!("192.0.2.{}", i + 20), 0..10));
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    dashboard::wait_for_data(&prometheus, &fleet, 60);
    let worker_at = targets[0].as_str();
    let lag = dashboard::query(&prometheus, "max by (instance) (rampart_bus_consumer_lag)");
    assert_eq!(lag.len(), 1, "only the worker has a lag: {lag:?}");
    assert_eq!(lag[0]["metric"]["instance"], worker_at);
    let partitions = dashboard::query(&prometheus, "max by (instance) (rampart_bus_partitions_assigned)");
    assert_eq!(partitions[0]["value"][1], "2", "{partitions:?}");
}

#[test]
fn a_ban_the_fleet_could_not_take_is_audited_as_failed_not_shared() {
    // Only the event topic: Rampart never creates the decision topic, so
    // the worker's ban cannot reach the fleet; the audit trail says it
    // failed and names the topic an operator has to create.
    let clickhouse = ClickHouseServer::start();
    let broker = Broker::start();
    broker.create_topic("rampart.events", 1, &[]);
    let dir = tempfile::tempdir().unwrap();
    let worker = Server::start_with(
        dir.path(),
        &fleet_config(&clickhouse, "fleet_unshared", &broker),
        &[],
        "127.0.0.1:0",
        &["--role", "worker", "--enforce"],
    );
    let response = client()
        .post(format!("{}/api/v1/decisions", worker.url))
        .bearer_auth(ADMIN)
        .json(&json!({"value": "203.0.113.78", "duration": "1h", "reason": "no decision topic"}))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "{}", response.text().unwrap());
    let action = eventually(30, "the fleet's audited action", || {
        let actions = api_get(&worker, "/api/v1/actions?limit=100");
        actions["actions"].as_array()?.iter().find(|a| a["enforcer"] == "fleet").cloned()
    });
    assert_eq!(action["result"], "failed", "{action}");
    assert!(action["detail"].as_str().unwrap().contains("rampart.decisions"), "{action}");
}

#[test]
fn create_topics_makes_the_fleets_topics_and_refuses_ones_that_would_lose_data() {
    let broker = Broker::start();
    let (code, out, err) = broker.rampart_create_topics(&["--partitions", "3"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("rampart.events: created, 3 partitions, cleanup.policy=delete"), "{out}");
    assert!(out.contains("rampart.decisions: created, 1 partition, cleanup.policy=compact"), "{out}");

    // Again: nothing to do, and an existing topic keeps its partitions.
    let (code, out, err) = broker.rampart_create_topics(&["--partitions", "6"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("rampart.events: exists, 3 partitions"), "{out}");
    assert!(out.contains("fewer than --partitions 6: at most 3 workers"), "{out}");

    // Topics a broker's defaults (or a slip) made: each refused by name.
    broker.create_topic("plain.decisions", 1, &[]);
    let (code, out, err) =
        broker.rampart_create_topics(&[], &[("RAMPART_BUS__KAFKA__DECISIONS_TOPIC", "plain.decisions")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("plain.decisions has cleanup.policy=delete") && err.contains("compact"), "{err}");
    broker.create_topic("compacted.events", 2, &["cleanup.policy=compact"]);
    let (code, out, err) = broker.rampart_create_topics(&[], &[("RAMPART_BUS__KAFKA__TOPIC", "compacted.events")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("compacted.events has cleanup.policy=compact"), "{err}");
}
