//! The binary end to end: ingest, validation, auth, detection and alert
//! delivery, crash safety and graceful shutdown, as a user would run it.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

mod util;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use util::{ADMIN, Server, client, eventually, webhook_receiver};

const QUIET: &str = "[sinks]\nstdout = false\n";

fn post(server: &Server, token: &str, ctype: &str, body: impl Into<String>) -> (u16, Value) {
    let r = client()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(token)
        .header("content-type", ctype)
        .body(body.into())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn get(server: &Server, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut req = client().get(format!("{}{path}", server.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn events_total(server: &Server) -> u64 {
    get(server, Some(ADMIN), "/api/v1/stats").1["events"]["total"].as_u64().unwrap()
}

#[test]
fn posts_single_array_and_ndjson_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), QUIET);
    let json_ct = "application/json";
    assert_eq!(post(&server, ADMIN, json_ct, r#"{"message":"single","source":{"ip":"192.0.2.1"}}"#).0, 200);
    assert_eq!(
        post(&server, ADMIN, json_ct, r#"[{"message":"array one"},{"message":"array two","source.ip":"192.0.2.1"}]"#).0,
        200
    );
    let (status, body) =
        post(&server, ADMIN, "application/x-ndjson", "{\"message\":\"line one\"}\n{\"message\":\"line two\"}\n");
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(2)));

    let (_, page) = get(&server, Some(ADMIN), "/api/v1/events?limit=10");
    let messages: Vec<&str> =
        page["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["line two", "line one", "array two", "array one", "single"]);
    let (_, by_ip) = get(&server, Some(ADMIN), "/api/v1/events?source.ip=192.0.2.1");
    assert_eq!(by_ip["events"].as_array().unwrap().len(), 2);
    let (_, by_text) = get(&server, Some(ADMIN), "/api/v1/events?text=ARRAY");
    assert_eq!(by_text["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["events"][4]["source"]["ip"], "192.0.2.1");
}

#[test]
fn malformed_input_gets_400_naming_the_field_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), QUIET);
    let oversize_message = json!({ "message": "x".repeat(64 * 1024 + 1) }).to_string();
    let oversize_batch = format!("[{}]", vec!["{}"; 10_001].join(","));
    let cases = [
        ("application/json", "{\"message\": ".to_owned(), "body"),
        ("application/json", r#"{"source":{"port":"twenty-two"}}"#.to_owned(), "source.port"),
        ("application/json", r#"{"source":{"ip":"300.1.1.1"}}"#.to_owned(), "source.ip"),
        ("application/json", oversize_message, "message"),
        ("application/json", oversize_batch, "batch"),
        ("application/json", String::new(), "batch"),
        ("text/csv", "a,b".to_owned(), "content-type"),
        ("application/x-ndjson", "{}\n{\"event\":{\"outcome\":\"maybe\"}}\n".to_owned(), "event.outcome"),
    ];
    for (ctype, body, field) in cases {
        let (status, answer) = post(&server, ADMIN, ctype, body);
        assert_eq!(status, 400, "{field}: {answer}");
        assert_eq!(answer["field"], field, "{answer}");
    }
    let (_, answer) = post(&server, ADMIN, "application/x-ndjson", "{}\n{\"source.ip\":\"x\"}\n");
    assert_eq!(answer["line"], 2);
    // Over 10 MiB is refused before it is even read: the declared length is
    // over the limit, so the answer is 413 at once. A client still uploading
    // may see the connection cut before it reads it; either is a refusal.
    let oversize = client()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/x-ndjson")
        .body("{}\n".repeat(5_300_000))
        .send();
    if let Ok(response) = oversize {
        assert_eq!(response.status().as_u16(), 413);
        let answer: Value = response.json().unwrap();
        assert_eq!(answer["field"], "body");
    }
    assert_eq!(events_total(&server), 0);
}

#[test]
fn tokens_gate_the_api_and_readers_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), QUIET);
    assert_eq!(get(&server, None, "/api/v1/alerts").0, 401);
    assert_eq!(get(&server, Some("rmp_0000_nope"), "/api/v1/alerts").0, 401);
    // A reader token made by the CLI while the server runs.
    let out = std::process::Command::new(util::bin())
        .args(["token", "create", "--name", "dashboard", "--role", "reader", "--data-dir"])
        .arg(&server.data_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reader = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(reader.starts_with("rmp_"));
    assert_eq!(get(&server, Some(&reader), "/api/v1/alerts").0, 200);
    assert_eq!(post(&server, &reader, "application/json", "{}").0, 403);
    let patch = client()
        .patch(format!("{}/api/v1/alerts/x", server.url))
        .bearer_auth(&reader)
        .json(&json!({"status": "resolved"}))
        .send()
        .unwrap();
    assert_eq!(patch.status().as_u16(), 403);
    assert_eq!(events_total(&server), 0);
    // The secret itself is never stored.
    let db = std::fs::read(server.data_dir.join("rampart.db")).unwrap();
    let secret = reader.rsplit('_').next().unwrap();
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
}

#[test]
fn brute_force_raises_one_aggregated_alert_in_api_stdout_and_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let (hook_url, hook_bodies) = webhook_receiver();
    let config = format!(
        "[alerts]\nnotify_delay_ms = 1000\n\n[sinks]\nstdout = true\n\n[[sinks.webhooks]]\nurl = \"{hook_url}\"\n"
    );
    let server = Server::start(dir.path(), &config);
    let attempt = |ip: &str, user: &str| {
        json!({"event": {"category": "authentication", "outcome": "failure", "action": "ssh_login"},
               "source": {"ip": ip}, "user": {"name": user}, "message": "Failed password"})
        .to_string()
    };
    // Nine failures from the attacker, split over two requests; one from a bystander.
    let first: Vec<String> = (0..6).map(|i| attempt("203.0.113.9", &format!("user{i}"))).collect();
    let second: Vec<String> =
        (6..9).map(|i| attempt("203.0.113.9", &format!("user{i}"))).chain([attempt("198.51.100.1", "alice")]).collect();
    assert_eq!(post(&server, ADMIN, "application/x-ndjson", first.join("\n")).0, 200);
    assert_eq!(post(&server, ADMIN, "application/x-ndjson", second.join("\n")).0, 200);

    let alerts = eventually(10, "the alert", || {
        let (_, page) = get(&server, Some(ADMIN), "/api/v1/alerts?rule=ssh-brute-force");
        let items = page["alerts"].as_array().unwrap().clone();
        (items.len() == 1 && items[0]["count"] == 9).then_some(items)
    });
    let alert = &alerts[0];
    assert_eq!(alert["entity"], json!({"field": "source.ip", "value": "203.0.113.9"}));
    assert_eq!(alert["technique"], "T1110.001");
    assert_eq!(alert["evidence"].as_array().unwrap().len(), 9);
    let id = alert["id"].as_str().unwrap().to_owned();

    // Sinks get one notification carrying the whole burst.
    let hooked = eventually(10, "the webhook", || {
        let bodies = hook_bodies.lock().unwrap().clone();
        (!bodies.is_empty()).then_some(bodies)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hook_bodies.lock().unwrap().len(), 1);
    let delivered: Value = serde_json::from_str(&hooked[0]).unwrap();
    assert_eq!((delivered["id"].as_str(), delivered["count"].as_u64()), (Some(id.as_str()), Some(9)));
    let printed: Vec<Value> = server
        .stdout_lines()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["rule_id"] == "ssh-brute-force")
        .collect();
    assert_eq!(printed.len(), 1, "{printed:?}");
    assert_eq!(printed[0]["count"], 9);

    // Lifecycle: acknowledge, then resolve.
    let r = client()
        .patch(format!("{}/api/v1/alerts/{id}", server.url))
        .bearer_auth(ADMIN)
        .json(&json!({"status": "acknowledged"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(get(&server, Some(ADMIN), &format!("/api/v1/alerts/{id}")).1["status"], "acknowledged");
    let (_, stats) = get(&server, Some(ADMIN), "/api/v1/stats");
    assert_eq!(stats["alerts"]["by_severity"]["high"], 1);
    let metrics = client().get(format!("{}/metrics", server.url)).send().unwrap().text().unwrap();
    assert!(metrics.contains(r#"rampart_alerts_total{rule="ssh-brute-force",severity="high"} 1"#), "{metrics}");
    assert!(metrics.contains("rampart_detection_latency_seconds_bucket"));
    assert!(metrics.contains(r#"rampart_events_ingested_total{kind="event",source="http"} 10"#));
}

#[test]
fn acknowledged_events_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), QUIET);
    let url = server.url.clone();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    // Four concurrent posters stream batches until the server dies under them.
    let posters: Vec<_> = (0..4)
        .map(|p| {
            let (url, acknowledged) = (url.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                let http = client();
                for batch in 0.. {
                    let markers: Vec<String> = (0..50).map(|i| format!("p{p}-b{batch}-e{i}")).collect();
                    let body: Vec<String> = markers.iter().map(|m| json!({"message": m}).to_string()).collect();
                    let sent = http
                        .post(format!("{url}/api/v1/events"))
                        .bearer_auth(ADMIN)
                        .header("content-type", "application/x-ndjson")
                        .body(body.join("\n"))
                        .send();
                    match sent {
                        Ok(r) if r.status().is_success() => acknowledged.lock().unwrap().extend(markers),
                        _ => return,
                    }
                }
            })
        })
        .collect();
    eventually(20, "some acknowledged posts", || (acknowledged.lock().unwrap().len() >= 4_000).then_some(()));
    server.kill9();
    for p in posters {
        p.join().unwrap();
    }
    let acknowledged: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();

    let server = Server::start(dir.path(), QUIET);
    let mut stored = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/events?limit=1000&cursor={c}"),
            None => "/api/v1/events?limit=1000".to_owned(),
        };
        let (_, page) = get(&server, Some(ADMIN), &path);
        for e in page["events"].as_array().unwrap() {
            stored.insert(e["message"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost, e.g. {:?}", lost.len(), lost.first());
    assert!(stored.len() >= acknowledged.len());
}

#[test]
fn sigterm_drains_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), QUIET);
    assert_eq!(post(&server, ADMIN, "application/json", "[{},{},{}]").0, 200);
    let stderr = server.stderr.clone();
    let status = server.terminate();
    assert!(status.success(), "{status}");
    let log = stderr.lock().unwrap().join("\n");
    assert!(log.contains("Writer drained and stopped."), "{log}");
    assert!(log.contains("Rampart stopped."), "{log}");
}

#[test]
fn followed_auth_log_raises_a_brute_force_alert() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "Dec 10 06:00:00 web1 sshd[1]: Server listening on 0.0.0.0 port 22.\n").unwrap();
    let config = format!(
        "[sinks]\nstdout = false\n\n[[sources.files]]\npaths = [\"{}\"]\npoll_interval_ms = 50\n",
        log.display()
    );
    let server = Server::start(dir.path(), &config);
    std::thread::sleep(Duration::from_millis(300));
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    for i in 0..6 {
        writeln!(
            file,
            "Dec 10 07:07:1{i} web1 sshd[9{i}]: Failed password for root from 203.0.113.66 port 4000{i} ssh2"
        )
        .unwrap();
    }
    // The last line is written in two parts: nothing is read until its newline.
    write!(file, "Dec 10 07:07:20 web1 sshd[99]: Failed password for ad").unwrap();
    file.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    writeln!(file, "min from 203.0.113.66 port 40099 ssh2").unwrap();

    let alert = eventually(10, "the alert from the followed file", || {
        let (_, page) = get(&server, Some(ADMIN), "/api/v1/alerts?rule=ssh-brute-force");
        page["alerts"].as_array().and_then(|a| a.first().cloned()).filter(|a| a["count"] == 7)
    });
    assert_eq!(alert["entity"]["value"], "203.0.113.66");
    let (_, events) = get(&server, Some(ADMIN), "/api/v1/events?source.ip=203.0.113.66&limit=10");
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 7, "the line present before start is not re-read; the split line arrives whole");
    assert_eq!(events[0]["user"]["name"], "admin");
    assert_eq!(events[0]["log"]["file"]["path"], log.display().to_string());
}

#[test]
fn ingest_rate_limits_answer_429_with_retry_after_and_store_nothing_over() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        Server::start(dir.path(), "[sinks]\nstdout = false\n\n[ingest]\nmax_events_per_sec_per_client = 100\n");
    let batch = |n: usize| (0..n).map(|i| format!("{{\"message\":\"e{i}\"}}\n")).collect::<String>();
    assert_eq!(post(&server, ADMIN, "application/x-ndjson", batch(100)).0, 200);
    let response = client()
        .post(format!("{}/api/v1/events", server.url))
        .bearer_auth(ADMIN)
        .header("content-type", "application/x-ndjson")
        .body(batch(10))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(events_total(&server), 100);
    // A batch bigger than a second's allowance can never pass: 400, not 429.
    std::thread::sleep(Duration::from_millis(1_100));
    let (status, body) = post(&server, ADMIN, "application/x-ndjson", batch(101));
    assert_eq!(status, 400, "{body}");
}

#[test]
fn a_notify_playbook_sends_its_alerts_to_the_named_sink_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (hook_url, hook_bodies) = webhook_receiver();
    // The usual notifications wait a minute; the playbook's go straight out.
    let config = format!(
        "[alerts]\nnotify_delay_ms = 60000\n\n[sinks]\nstdout = false\n\n[[sinks.webhooks]]\nname = \"pager\"\nurl = \"{hook_url}\"\n\n\
         [[respond.playbooks]]\nname = \"page-on-sqli\"\nrules = [\"web-sqli\"]\naction = \"notify\"\nsink = \"pager\"\n"
    );
    let server = Server::start(dir.path(), &config);
    let request = json!({"event": {"category": "web"}, "source": {"ip": "203.0.113.5"},
                         "url": {"original": "/item?id=1%27%20UNION%20SELECT%20password%20FROM%20users--"}});
    assert_eq!(post(&server, ADMIN, "application/json", request.to_string()).0, 200);
    let bodies = eventually(10, "the playbook's notification", || {
        let bodies = hook_bodies.lock().unwrap().clone();
        (!bodies.is_empty()).then_some(bodies)
    });
    assert!(bodies[0].contains("web-sqli"), "{}", bodies[0]);
    // The notify playbook came first: no ban was decided for this alert.
    let (_, decisions) = get(&server, Some(ADMIN), "/api/v1/decisions");
    assert!(decisions["decisions"].as_array().unwrap().is_empty(), "{decisions}");
}
