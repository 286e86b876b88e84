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

pub(crate) async fn call(
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
        (json, r#"{"source.ip":"192.0.2.1","source.ip":"192.0.2.2"}"#.into(), "body", None),
        (json, r#"{"@timestamp":"9999-12-31T23:59:59Z"}"#.into(), "@timestamp", None),
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

/// A request whose body never ends: it yields `chunk` bytes at a time and
/// counts what the server pulled, so a test can see the server stopped
/// reading near the limit instead of buffering everything first.
fn endless_body(chunk: usize, pulled: Arc<std::sync::atomic::AtomicUsize>) -> Body {
    let stream = futures_util::stream::repeat_with(move || {
        pulled.fetch_add(chunk, std::sync::atomic::Ordering::SeqCst);
        Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b' '; chunk]))
    });
    Body::from_stream(stream)
}

#[tokio::test]
async fn oversized_bodies_get_413_before_they_are_buffered() {
    // Finding 1: a 1 GB login body was read whole before anything else.
    let h = harness();
    for (uri, token) in [
        ("/ui/login", None),
        ("/api/v1/decisions", Some(h.admin.clone())),
        ("/api/v1/alerts/x", Some(h.admin.clone())),
        ("/api/v1/processes/123/kill", Some(h.admin.clone())),
        ("/api/v1/events", Some(h.admin.clone())),
    ] {
        let pulled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let method = if uri.starts_with("/api/v1/alerts") { "PATCH" } else { "POST" };
        let mut req = Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let response =
            router(h.state.clone()).oneshot(req.body(endless_body(4096, pulled.clone())).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
        // The harness's ingest limit is 100 KiB, the JSON limit 16 KiB.
        let read = pulled.load(std::sync::atomic::Ordering::SeqCst);
        assert!(read <= 128 * 1024, "{uri} read {read} bytes of an endless body");
    }
    // A declared length over the limit is refused without reading a byte.
    let pulled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let req = Request::post("/api/v1/events")
        .header(header::AUTHORIZATION, format!("Bearer {}", h.admin))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "1000000000")
        .body(endless_body(4096, pulled.clone()))
        .unwrap();
    let response = router(h.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(pulled.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(stored(&h), 0);
}

#[tokio::test]
async fn failed_authentication_is_throttled_per_client() {
    // Finding 5: 247,020 wrong tokens in 8 s went unthrottled and unlogged.
    let h = harness();
    let from = |ip: &str, token: &str| {
        let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
        let mut req = Request::get("/api/v1/stats").header(header::AUTHORIZATION, format!("Bearer {token}"));
        req.extensions_mut().unwrap().insert(axum::extract::ConnectInfo(addr));
        req.body(Body::empty()).unwrap()
    };
    for _ in 0..10 {
        let response = router(h.state.clone()).oneshot(from("192.0.2.7", "rmp_00_wrong")).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Past the limit even the right token is not looked at from that address…
    let response = router(h.state.clone()).oneshot(from("192.0.2.7", &h.admin)).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // …while another address is served.
    let response = router(h.state.clone()).oneshot(from("192.0.2.8", &h.admin)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn tokens_are_listed_created_and_revoked_by_admins_only() {
    let h = harness();
    let (status, _) = call(&h, "GET", "/api/v1/tokens", Some(&h.reader), None, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call(&h, "GET", "/api/v1/tokens", Some(&h.admin), None, "").await;
    assert_eq!(status, StatusCode::OK);
    let listed = body["tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|t| t.get("hash").is_none() && t.get("salt").is_none()), "{body}");
    let json = Some("application/json");
    let (status, created) =
        call(&h, "POST", "/api/v1/tokens", Some(&h.admin), json, r#"{"name":"ci","role":"reader"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(call(&h, "GET", "/api/v1/stats", Some(&token), None, "").await.0, StatusCode::OK);
    let id = created["id"].as_str().unwrap();
    let (status, _) = call(&h, "DELETE", &format!("/api/v1/tokens/{id}"), Some(&h.admin), None, "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(call(&h, "GET", "/api/v1/stats", Some(&token), None, "").await.0, StatusCode::UNAUTHORIZED);
    // The last admin token cannot be revoked: nobody could manage the node after.
    let admin_id = h.admin.split('_').nth(1).unwrap();
    let (status, body) = call(&h, "DELETE", &format!("/api/v1/tokens/{admin_id}"), Some(&h.admin), None, "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn metrics_are_open_on_loopback_and_need_a_token_elsewhere() {
    let h = harness();
    let from = |ip: &str, token: Option<&str>| {
        let addr = std::net::SocketAddr::new(ip.parse().unwrap(), 40000);
        let mut req = Request::get("/metrics");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req.extensions_mut().unwrap().insert(axum::extract::ConnectInfo(addr));
        req.body(Body::empty()).unwrap()
    };
    for (ip, token, want) in [
        ("127.0.0.1", None, StatusCode::OK),
        ("::1", None, StatusCode::OK),
        ("192.0.2.9", None, StatusCode::UNAUTHORIZED),
        ("192.0.2.9", Some(h.reader.as_str()), StatusCode::OK),
    ] {
        let response = router(h.state.clone()).oneshot(from(ip, token)).await.unwrap();
        assert_eq!(response.status(), want, "{ip} {token:?}");
    }
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

#[tokio::test]
async fn readers_see_no_command_lines_and_kernel_threads_are_not_killable() {
    // Finding 10: a reader's screen showed an admin token from a command line.
    let h = harness();
    let sample = |pid: u32, parent: u32, command_line: Option<&str>| {
        let mut e = rampart_core::Event::new(rampart_core::EventKind::State, 1_000);
        e.action = Some("process_sample".into());
        e.process_pid = Some(pid);
        e.process_name = Some(format!("p{pid}"));
        e.body = Some(rampart_core::Body::Process {
            command_line: command_line.map(str::to_owned),
            start_ms: None,
            cpu_pct: Some(f64::from(pid)),
            rss_bytes: None,
            parent_pid: Some(parent),
        });
        e
    };
    let mut events = vec![sample(4242, 1, Some("backup --target s3")), sample(77, 2, None)];
    h.store.append_events(&mut events).unwrap();
    let (_, as_reader) = call(&h, "GET", "/api/v1/processes", Some(&h.reader), None, "").await;
    let (_, as_admin) = call(&h, "GET", "/api/v1/processes", Some(&h.admin), None, "").await;
    let by_pid =
        |v: &Value, pid: u64| v["processes"].as_array().unwrap().iter().find(|p| p["pid"] == pid).unwrap().clone();
    assert_eq!(by_pid(&as_reader, 4242)["command_line"], Value::Null);
    assert_eq!(by_pid(&as_admin, 4242)["command_line"], "backup --target s3");
    assert_eq!(by_pid(&as_admin, 4242)["killable"], true);
    assert_eq!(by_pid(&as_admin, 77)["killable"], false, "a kernel thread");
}
