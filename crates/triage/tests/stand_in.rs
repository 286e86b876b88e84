//! The triage worker against a local stand-in speaking OpenAI's
//! chat-completions protocol (the only part of Rampart's tests allowed a
//! stand-in: the real service is paid), over a real SQLite store. The
//! stand-in's answer is chosen by the model name: a good answer, one that
//! cites events it was never shown, an HTTP 500, a timeout, malformed JSON.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rampart_core::config::{Durability, LlmConfig};
use rampart_core::{Alert, AlertStatus, Entity, Event, EventKind, Severity, Store};
use rampart_store::SqliteStore;
use rampart_triage::{Triage, Verdict, WorkerConfig};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

async fn stand_in(seen: Seen, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    seen.lock().unwrap().push((auth, body.clone()));
    let user = body["messages"][1]["content"].as_str().unwrap_or_default().to_owned();
    let prompt: Value = serde_json::from_str(&user).unwrap_or(Value::Null);
    let first_id = prompt["evidence"][0]["id"].as_i64().unwrap_or(0);
    let answer = |content: String| {
        Json(json!({"choices": [{"message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 420, "completion_tokens": 80}}))
        .into_response()
    };
    let good = |cited: Vec<i64>| {
        json!({"summary": "IP_1 tried nine passwords for USER_1 in a minute.", "verdict": "likely_malicious",
               "reason": "Repeated failures from one address.",
               "suggested_response": {"action": "ban", "target": "IP_1", "duration": "1h"},
               "cited_event_ids": cited})
        .to_string()
    };
    match body["model"].as_str().unwrap_or_default() {
        "good" => answer(good(vec![first_id])),
        "invent" => answer(good(vec![first_id, 999_999, 424_242])),
        "error" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            answer(good(vec![]))
        }
        "garbage" => (StatusCode::OK, "{\"choices\": [").into_response(),
        // The log detector: line 2 is an attack; line 40 was never sent.
        "detector" => answer(
            json!({"findings": [{"line": 2, "title": "Log wiping", "reason": "IP_1 truncated the audit log."},
                                {"line": 40, "title": "x", "reason": "y"}]})
            .to_string(),
        ),
        _ => answer("Sure! I think this is bad.".into()),
    }
}

async fn start_stand_in() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post({
            let seen = seen.clone();
            move |headers, body| stand_in(seen.clone(), headers, body)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), seen)
}

/// A store holding a brute-force alert with nine evidence events.
fn store_with_alert(dir: &std::path::Path) -> (Arc<dyn Store>, Alert) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir, Durability::Normal).unwrap());
    let mut events: Vec<Event> = (0..9)
        .map(|i| {
            let mut e = Event::new(EventKind::Event, 1_000 + i);
            e.category = vec!["authentication".into()];
            e.source.ip = Some("203.0.113.9".parse().unwrap());
            e.user_name = Some("alice".into());
            e.host_name = Some("bastion-3".into());
            e.message = Some("Failed password for alice from 203.0.113.9 port 40022 ssh2".into());
            e
        })
        .collect();
    store.append_events(&mut events).unwrap();
    let alert = Alert {
        id: Alert::new_id(),
        rule_id: "ssh-brute-force".into(),
        title: "SSH brute force".into(),
        description: "Repeated failed logins from one address.".into(),
        severity: Severity::High,
        score: 75.0,
        entity: Entity { field: "source.ip".into(), value: "203.0.113.9".into() },
        count: 9,
        first_seen_ms: 1_000,
        last_seen_ms: 1_008,
        evidence: events.iter().map(|e| e.id.unwrap()).collect(),
        technique: Some("T1110.001".into()),
        tags: vec![],
        context: None,
        status: AlertStatus::Open,
        created_ms: 1_000,
        updated_ms: 1_000,
    };
    store.save_alerts(std::slice::from_ref(&alert)).unwrap();
    (store, alert)
}

/// Runs the worker with `model` over the alert and returns the stored triage.
async fn triage_with(model: &str, tweak: impl FnOnce(&mut LlmConfig)) -> (Triage, Seen, Alert) {
    let dir = tempfile::tempdir().unwrap();
    let (store, alert) = store_with_alert(dir.path());
    let (base_url, seen) = start_stand_in().await;
    let mut llm = LlmConfig {
        enabled: true,
        base_url,
        model: model.into(),
        // Cargo sets this for every test process: it stands for a key in the environment.
        api_key_env: "CARGO_PKG_NAME".into(),
        timeout_ms: 1_000,
        ..LlmConfig::default()
    };
    tweak(&mut llm);
    let (handle, _) =
        rampart_triage::spawn(WorkerConfig { llm, settle: Duration::ZERO, rules: Default::default() }, store.clone())
            .unwrap();
    handle.offer(&alert);
    let mut stored = None;
    for _ in 0..200 {
        if let Some(body) = store.triage(&alert.id).unwrap() {
            stored = Some(serde_json::from_str::<Triage>(&body).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    (stored.expect("a triage was stored"), seen, alert)
}

#[tokio::test]
async fn a_good_answer_is_stored_with_values_restored_and_nothing_identifying_sent() {
    let (triage, seen, alert) = triage_with("good", |_| {}).await;
    assert_eq!(triage.source, "llm");
    assert_eq!(triage.verdict, Verdict::LikelyMalicious);
    assert_eq!(triage.summary, "203.0.113.9 tried nine passwords for alice in a minute.");
    assert_eq!(triage.suggested_response.target, "203.0.113.9");
    assert_eq!(triage.cited_event_ids, [*alert.evidence.last().unwrap()]);
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (auth, body) = &requests[0];
    assert_eq!(auth.as_deref(), Some("Bearer rampart-triage"));
    let sent = body.to_string();
    for secret in ["203.0.113.9", "alice", "bastion-3"] {
        assert!(!sent.contains(secret), "{secret} left the host: {sent}");
    }
    assert_eq!(body["response_format"]["type"], "json_object");
}

#[tokio::test]
async fn invented_citations_are_dropped_and_counted() {
    let (triage, _, alert) = triage_with("invent", |_| {}).await;
    assert_eq!(triage.source, "llm");
    assert_eq!(triage.cited_event_ids, [*alert.evidence.last().unwrap()]);
    assert_eq!(triage.invented_citations, 2);
}

#[tokio::test]
async fn errors_timeouts_and_nonsense_leave_the_rule_based_triage() {
    for (model, why) in [("error", "HTTP 500"), ("slow", "timed out"), ("garbage", "malformed"), ("chatty", "unusable")]
    {
        let started = std::time::Instant::now();
        let (triage, _, _) = triage_with(model, |_| {}).await;
        assert_eq!(triage.source, "fallback", "{model}");
        assert!(triage.fallback_reason.as_deref().unwrap().contains(why), "{model}: {:?}", triage.fallback_reason);
        assert!(triage.summary.contains("9 matching events"), "{model}: never empty");
        assert_eq!(triage.suggested_response.action, "ban");
        assert!(started.elapsed() < Duration::from_secs(4), "{model}: the timeout held");
    }
}

#[tokio::test]
async fn over_the_budget_the_model_is_not_called() {
    let dir = tempfile::tempdir().unwrap();
    let (store, first) = store_with_alert(dir.path());
    let mut second = first.clone();
    second.id = Alert::new_id();
    store.save_alerts(std::slice::from_ref(&second)).unwrap();
    let (base_url, seen) = start_stand_in().await;
    let llm = LlmConfig { enabled: true, base_url, model: "good".into(), calls_per_minute: 1, ..LlmConfig::default() };
    let (handle, _) =
        rampart_triage::spawn(WorkerConfig { llm, settle: Duration::ZERO, rules: Default::default() }, store.clone())
            .unwrap();
    handle.offer(&first);
    handle.offer(&second);
    let mut sources = Vec::new();
    for _ in 0..200 {
        let both: Vec<Option<String>> = [&first, &second].iter().map(|a| store.triage(&a.id).unwrap()).collect();
        if both.iter().all(Option::is_some) {
            sources = both.into_iter().map(|b| serde_json::from_str::<Triage>(&b.unwrap()).unwrap().source).collect();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sources, ["llm", "fallback"]);
    assert_eq!(seen.lock().unwrap().len(), 1);
    // Below the configured severity, nothing is queued.
    let mut low = first.clone();
    low.id = Alert::new_id();
    low.severity = Severity::Low;
    handle.offer(&low);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(store.triage(&low.id).unwrap().is_none());
}

#[tokio::test]
async fn the_log_detector_judges_unparsed_lines_in_batches_and_emits_findings() {
    use rampart_core::Detector;
    let (base_url, seen) = start_stand_in().await;
    let mut llm = LlmConfig { enabled: true, base_url, model: "detector".into(), ..LlmConfig::default() };
    llm.detector = rampart_core::config::LlmDetectorConfig {
        enabled: true,
        lines_per_minute: 2,
        batch_lines: 10,
        batch_wait_ms: 100,
    };
    let mut detector = rampart_triage::LlmLogDetector::spawn(&llm).unwrap();
    let line = |id: i64, kind: EventKind, text: &str| {
        let mut e = Event::new(kind, 5_000);
        e.id = Some(id);
        e.process_name = Some("auditd".into());
        e.source.ip = Some("198.51.100.66".parse().unwrap());
        e.message = Some(text.into());
        e
    };
    let mut recognised = line(3, EventKind::Event, "Accepted publickey for alice");
    recognised.category = vec!["authentication".into()];
    let mut out = Vec::new();
    for e in [
        line(1, EventKind::PipelineError, "kernel: eth0 link up"),
        recognised,
        line(2, EventKind::Event, "truncate -s0 /var/log/audit/audit.log by 198.51.100.66"),
        line(4, EventKind::PipelineError, "over the budget of two lines a minute"),
    ] {
        detector.detect(&e, &mut out);
    }
    for _ in 0..100 {
        if !out.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        detector.poll(&mut out);
    }
    assert_eq!(out.len(), 1, "{out:?}");
    let f = &out[0];
    assert_eq!((f.rule.id.as_str(), f.evidence.as_slice()), ("llm-log-finding", &[2][..]));
    assert_eq!(f.entity.value, "198.51.100.66");
    assert_eq!(f.context.as_ref().unwrap()["reason"], "198.51.100.66 truncated the audit log.");
    let sent = seen.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "one batch");
    let user = sent[0].1["messages"][1]["content"].as_str().unwrap().to_owned();
    assert!(user.contains("eth0 link up") && user.contains("truncate -s0"), "{user}");
    assert!(!user.contains("Accepted publickey") && !user.contains("over the budget"), "{user}");
    assert!(!user.contains("198.51.100.66"), "{user}");
}
