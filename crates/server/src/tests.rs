//! The router end to end through `oneshot`, over a real SQLite file. A small
//! writer task stands in for the pipeline: it commits each batch and acks.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rampart_core::config::Durability;
use rampart_core::{Limits, RateMeter, Role, Store, ingest_queue};
use rampart_store::SqliteStore;
use serde_json::Value;
use tower::ServiceExt;

use crate::{AppState, auth, router};

pub(crate) struct Harness {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) store: Arc<SqliteStore>,
    pub(crate) state: AppState,
    pub(crate) admin: String,
    pub(crate) reader: String,
}

pub(crate) fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    let (tx, mut rx) = ingest_queue(4);
    let writer_store = store.clone();
    tokio::spawn(async move {
        while let Some(mut batch) = rx.recv().await {
            let s = writer_store.clone();
            let mut events = std::mem::take(&mut batch.events);
            let events = tokio::task::spawn_blocking(move || {
                s.append_events(&mut events).unwrap();
                events
            })
            .await
            .unwrap();
            let ids = events.iter().map(|e| e.id.unwrap()).collect();
            let _ = batch.ack.take().unwrap().send(Ok(ids));
        }
    });
    let limits = Limits { max_batch_events: 3, max_batch_bytes: 100 * 1024, ..Limits::default() };
    let state = AppState::new(
        store.clone(),
        tx,
        limits,
        Duration::from_millis(100),
        Arc::new(RateMeter::default()),
        Arc::new(|| "# metrics\n".to_owned()),
    );
    let admin = auth::issue_token(store.as_ref(), "admin", Role::Admin).unwrap();
    let reader = auth::issue_token(store.as_ref(), "ro", Role::Reader).unwrap();
    Harness { _dir: dir, store, state, admin, reader }
}

async fn call(
    h: &Harness,
    method: &str,
    uri: &str,
    token: Option<&str>,
    ctype: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(c) = ctype {
        req = req.header(header::CONTENT_TYPE, c);
    }
    let response = router(h.state.clone()).oneshot(req.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn stored(h: &Harness) -> u64 {
    h.store.stats().unwrap().events_total
}

#[tokio::test]
async fn tokens_are_required_and_readers_cannot_write() {
    let h = harness();
    assert_eq!(call(&h, "GET", "/api/v1/events", None, None, "").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&h, "GET", "/api/v1/events", Some("rmp_00_wrong"), None, "").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&h, "GET", "/api/v1/events", Some(&h.reader), None, "").await.0, StatusCode::OK);
    let (status, _) = call(&h, "POST", "/api/v1/events", Some(&h.reader), Some("application/json"), "{}").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&h), 0);
    // Operational endpoints stay open for probes and scrapers.
    assert_eq!(call(&h, "GET", "/healthz", None, None, "").await.0, StatusCode::OK);
    assert_eq!(call(&h, "GET", "/readyz", None, None, "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn env_style_admin_token_is_accepted() {
    let h = harness();
    auth::adopt_admin_token(h.store.as_ref(), "my-automation-secret").unwrap();
    let (status, _) = call(&h, "GET", "/api/v1/stats", Some("my-automation-secret"), None, "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&h, "GET", "/api/v1/stats", Some("my-automation-secreT"), None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn single_array_and_ndjson_posts_are_stored_and_listed() {
    let h = harness();
    let t = Some(h.admin.as_str());
    let (s, body) = call(
        &h,
        "POST",
        "/api/v1/events",
        t,
        Some("application/json"),
        r#"{"message":"one","source":{"ip":"10.0.0.1"}}"#,
    )
    .await;
    assert_eq!((s, body["accepted"].as_u64()), (StatusCode::OK, Some(1)));
    let (s, _) =
        call(&h, "POST", "/api/v1/events", t, Some("application/json"), r#"[{"message":"two"},{"message":"three"}]"#)
            .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &h,
        "POST",
        "/api/v1/events",
        t,
        Some("application/x-ndjson"),
        "{\"message\":\"four\"}\n{\"message\":\"five\",\"source.ip\":\"10.0.0.1\"}\n",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(stored(&h), 5);

    let (_, page) = call(&h, "GET", "/api/v1/events?source.ip=10.0.0.1", t, None, "").await;
    let messages: Vec<&str> =
        page["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["five", "one"]);
    let (_, page) = call(&h, "GET", "/api/v1/events?limit=2", t, None, "").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = call(&h, "GET", &format!("/api/v1/events?limit=10&cursor={cursor}"), t, None, "").await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn malformed_input_is_refused_naming_the_field_and_nothing_is_stored() {
    let h = harness();
    let t = Some(h.admin.as_str());
    let json = Some("application/json");
    let ndjson = Some("application/x-ndjson");
    let big = format!(r#"{{"message":"{}"}}"#, "x".repeat(65 * 1024));
    let too_big_body = format!("[{}]", vec![r#"{"message":"pad"}"#; 7000].join(","));
    let cases: Vec<(Option<&str>, String, &str, Option<u64>)> = vec![
        (json, "{not json".into(), "body", None),
        (json, r#"{"source":{"port":"ssh"}}"#.into(), "source.port", None),
        (json, r#"{"source.ip":"999.0.0.1"}"#.into(), "source.ip", None),
        (json, r#"{"message":42}"#.into(), "message", None),
        (json, r#"{"@timestamp":"last tuesday"}"#.into(), "@timestamp", None),
        (ndjson, "{\"message\":\"ok\"}\n{\"source.ip\":\"nope\"}\n".into(), "source.ip", Some(2)),
        (json, r#"[{},{},{},{}]"#.into(), "batch", None),
        (json, "".into(), "batch", None),
        (Some("text/plain"), "{}".into(), "content-type", None),
        (None, "{}".into(), "content-type", None),
        (Some("application/json"), big, "message", None),
        (json, too_big_body, "batch", None),
    ];
    for (ctype, body, field, line) in cases {
        let (status, answer) = call(&h, "POST", "/api/v1/events", t, ctype, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert_eq!(answer["field"], field, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(field), "{answer}");
        if let Some(line) = line {
            assert_eq!(answer["line"], line);
        }
    }
    assert_eq!(stored(&h), 0);
}

#[tokio::test]
async fn query_parameters_are_validated() {
    let h = harness();
    let t = Some(h.admin.as_str());
    let (s, body) = call(&h, "GET", "/api/v1/events?source.ip=banana", t, None, "").await;
    assert_eq!((s, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("source.ip")));
    let (s, body) = call(&h, "GET", "/api/v1/events?sourceip=1.2.3.4", t, None, "").await;
    assert_eq!((s, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("sourceip")));
    let (s, body) = call(&h, "GET", "/api/v1/alerts?status=closed", t, None, "").await;
    assert_eq!((s, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")));
    let (s, _) = call(&h, "GET", "/api/v1/alerts/nope", t, None, "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = call(&h, "PATCH", "/api/v1/alerts/nope", t, Some("application/json"), r#"{"status":"done"}"#).await;
    assert_eq!((s, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")));
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    // Nobody drains this queue: the first batch fills it, the second waits and gives up.
    let (tx, _rx) = ingest_queue(1);
    let state = AppState::new(
        store.clone(),
        tx.clone(),
        Limits::default(),
        Duration::from_millis(50),
        Arc::new(RateMeter::default()),
        Arc::new(String::new),
    );
    let admin = auth::issue_token(store.as_ref(), "a", Role::Admin).unwrap();
    let _pending = tx.send(vec![], "test", Duration::from_millis(10)).await.unwrap();
    let req = Request::post("/api/v1/events")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let response = router(state).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
}

#[tokio::test]
async fn readyz_reports_a_dead_pipeline_or_draining_node() {
    let h = harness();
    assert_eq!(call(&h, "GET", "/readyz", None, None, "").await.0, StatusCode::OK);
    h.state.pipeline_health().store(false, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = call(&h, "GET", "/readyz", None, None, "").await;
    assert_eq!((status, body["pipeline"].as_bool()), (StatusCode::SERVICE_UNAVAILABLE, Some(false)));
    h.state.pipeline_health().store(true, std::sync::atomic::Ordering::SeqCst);
    h.state.set_ready(false);
    let (status, body) = call(&h, "GET", "/readyz", None, None, "").await;
    assert_eq!((status, body["draining"].as_bool()), (StatusCode::SERVICE_UNAVAILABLE, Some(true)));
}
