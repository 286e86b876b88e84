//! What the console reads (history, one event, incidents) through the
//! router, over a real SQLite file.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use rampart_core::{
    Alert, AlertStatus, Body, Decision, DecisionKind, Entity, Event, EventKind, Origin, Severity, Store, Target,
};

use crate::tests::{call, harness};

fn login_failure(ip: &str, at_ms: i64) -> Event {
    let mut e = Event::new(EventKind::Event, at_ms);
    e.source.ip = Some(ip.parse().unwrap());
    e.message = Some(format!("Failed password for root from {ip}"));
    e
}

fn host_sample(at_ms: i64, cpu: f64) -> Event {
    let mut e = Event::new(EventKind::Metric, at_ms);
    e.action = Some("host_metrics".into());
    e.host_name = Some("web1".into());
    e.body = Some(Body::Metrics(BTreeMap::from([("cpu.total.pct".into(), cpu), ("memory.used.pct".into(), 30.0)])));
    e
}

#[tokio::test]
async fn one_event_by_id_or_a_clear_error() {
    let h = harness();
    let mut events = vec![login_failure("203.0.113.9", 1_000), login_failure("198.51.100.7", 2_000)];
    h.store.append_events(&mut events).unwrap();
    let (status, body) = call(&h, "GET", "/api/v1/events/2", Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["source"]["ip"], "198.51.100.7");
    assert_eq!(body["id"], 2);
    let (status, body) = call(&h, "GET", "/api/v1/events/1", Some(&h.reader), None, "").await;
    assert_eq!((status, body["source"]["ip"].as_str()), (StatusCode::OK, Some("203.0.113.9")));
    let (status, _) = call(&h, "GET", "/api/v1/events/3", Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&h, "GET", "/api/v1/events/x1", Some(&h.reader), None, "").await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("id")));
    let (status, _) = call(&h, "GET", "/api/v1/events/1", None, None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn history_answers_for_the_range_from_the_store() {
    let h = harness();
    let minute = 60_000;
    let start = 1_800_000_000_000 - 1_800_000_000_000 % (5 * minute);
    let mut events: Vec<Event> = (0..6).map(|i| login_failure("203.0.113.9", start + i * minute)).collect();
    events.push(login_failure("198.51.100.7", start + 7 * minute));
    events.extend((0..10).map(|i| host_sample(start + i * minute, if i < 5 { 10.0 } else { 40.0 })));
    events.push(login_failure("192.0.2.1", start + 60 * minute)); // outside the range
    h.store.append_events(&mut events).unwrap();

    let uri = format!("/api/v1/history?since={start}&until={}&step=5m", start + 10 * minute);
    let (status, body) = call(&h, "GET", &uri, Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["step_ms"], 5 * minute);
    let events: Vec<(i64, &str, u64)> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["t"].as_i64().unwrap() - start, p["kind"].as_str().unwrap(), p["n"].as_u64().unwrap()))
        .collect();
    assert_eq!(events, vec![(0, "event", 5), (0, "metric", 5), (5 * minute, "event", 2), (5 * minute, "metric", 5)]);
    let top = &body["top_sources"];
    assert_eq!(top["complete"], true);
    assert_eq!(top["items"][0], serde_json::json!({"ip": "203.0.113.9", "events": 6}));
    assert_eq!(top["items"].as_array().unwrap().len(), 2);
    let host = body["host"].as_array().unwrap();
    assert_eq!(host.len(), 2);
    assert_eq!((host[0]["cpu_pct"].as_f64(), host[1]["cpu_pct"].as_f64()), (Some(10.0), Some(40.0)));

    // Without a range: the last hour, in minutes.
    let (status, body) = call(&h, "GET", "/api/v1/history", Some(&h.reader), None, "").await;
    assert_eq!((status, body["step_ms"].as_i64()), (StatusCode::OK, Some(minute)));
}

#[tokio::test]
async fn history_names_the_parameter_it_refuses_and_bounds_what_it_accepts() {
    let h = harness();
    for (query, field) in [
        ("since=0&until=1000&step=soon", "step"),
        ("since=0&until=1000&step=", "step"),
        ("since=yesterday", "since"),
        ("from=0", "from"),
    ] {
        let (status, body) = call(&h, "GET", &format!("/api/v1/history?{query}"), Some(&h.reader), None, "").await;
        assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{query}: {body}");
    }
    // Well-formed but out of bounds: answered, within bounds.
    let day = 86_400_000_i64;
    let (status, body) = call(&h, "GET", "/api/v1/history?since=2000&until=1000", Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["events"].as_array().unwrap().is_empty());
    let (_, body) =
        call(&h, "GET", &format!("/api/v1/history?since=0&until={}", 400 * day), Some(&h.reader), None, "").await;
    assert_eq!(body["since"], 310 * day, "cut to the last 90 days");
    let (_, body) =
        call(&h, "GET", &format!("/api/v1/history?since=0&until={day}&step=1s"), Some(&h.reader), None, "").await;
    assert_eq!(body["step_ms"], day / 2_000, "coarsened to 2,000 intervals");
}

fn alert(id: &str, rule: &str, ip: &str, evidence: Vec<i64>) -> Alert {
    Alert {
        id: id.into(),
        rule_id: rule.into(),
        title: rule.into(),
        description: String::new(),
        severity: Severity::High,
        score: 75.0,
        entity: Entity { field: "source.ip".into(), value: ip.into() },
        count: evidence.len() as u64,
        first_seen_ms: 1_000,
        last_seen_ms: 2_000,
        evidence,
        technique: None,
        tags: vec![],
        context: None,
        status: AlertStatus::Open,
        created_ms: 2_000,
        updated_ms: 2_000,
    }
}

#[tokio::test]
async fn incidents_group_one_attackers_alerts_and_show_evidence_and_decisions() {
    let h = harness();
    let mut events: Vec<Event> = (0..4).map(|i| login_failure("203.0.113.9", 1_000 + i)).collect();
    h.store.append_events(&mut events).unwrap();
    let mut alerts = vec![
        alert("a1", "ssh-brute-force", "203.0.113.9", vec![1, 2, 3]),
        alert("a2", "ssh-user-enumeration", "203.0.113.9", vec![3, 4]),
        alert("b1", "web-sqli", "198.51.100.7", vec![]),
    ];
    alerts[2].status = AlertStatus::Resolved;
    alerts[2].last_seen_ms = 500;
    h.store.save_alerts(&alerts).unwrap();
    let mut ban = Decision::new(DecisionKind::Ban, Target::parse("203.0.113.9").unwrap(), Origin::Rule, 2_000, None);
    ban.alert_id = Some("a1".into());
    h.store.add_decision(&ban).unwrap();

    let (status, body) = call(&h, "GET", "/api/v1/incidents", Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = body["incidents"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], "inc-a1");
    assert_eq!(list[0]["alerts"], serde_json::json!(["a1", "a2"]));
    assert_eq!(list[0]["title"], "source.ip 203.0.113.9: 2 rules");
    assert_eq!(body["complete"], true);
    let (_, open) = call(&h, "GET", "/api/v1/incidents?status=open", Some(&h.reader), None, "").await;
    assert_eq!(open["incidents"].as_array().unwrap().len(), 1);

    let (status, one) = call(&h, "GET", "/api/v1/incidents/inc-a1", Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["alerts"].as_array().unwrap().len(), 2);
    let ids: Vec<i64> = one["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![4, 3, 2, 1], "the evidence itself, newest first");
    assert_eq!(one["events"][0]["message"], "Failed password for root from 203.0.113.9");
    assert_eq!(one["decisions"].as_array().unwrap().len(), 1);
    assert_eq!(one["decisions"][0]["alert_id"], "a1");

    let (status, _) = call(&h, "GET", "/api/v1/incidents/inc-zz", Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&h, "GET", "/api/v1/incidents?status=closed", Some(&h.reader), None, "").await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")));
}
