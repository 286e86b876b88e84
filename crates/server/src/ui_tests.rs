//! The dashboard's routes: its files, the login cookie, and the cookie's
//! limits (CSRF header for writes, reader stays read-only).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use crate::router;
use crate::tests::{Harness, harness};

async fn send(h: &Harness, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router(h.state.clone()).oneshot(req).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn with_cookie(method: &str, uri: &str, session: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri).header(header::COOKIE, format!("theme=dark; rampart_session={session}"))
}

#[tokio::test]
async fn serves_the_page_and_its_files_with_a_strict_policy() {
    let h = harness();
    let (status, headers, body) = send(&h, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<title>Rampart</title>"));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    for path in [
        "/ui/app.js",
        "/ui/views.js",
        "/ui/charts.js",
        "/ui/app.css",
        "/ui/vendor/uplot/uPlot.iife.min.js",
        "/ui/vendor/uplot/LICENSE",
    ] {
        let (status, _, body) = send(&h, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.is_empty(), "{path}");
    }
    let (status, _, _) = send(&h, Request::get("/ui/../Cargo.toml").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn login(token: &str) -> Request<Body> {
    Request::post("/ui/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::json!({ "token": token }).to_string()))
        .unwrap()
}

/// Logs in with `token` and returns the session cookie's value.
async fn session_of(h: &Harness, token: &str) -> String {
    let (status, headers, body) = send(h, login(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    cookie.strip_prefix("rampart_session=").unwrap().split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn login_opens_a_session_whose_cookie_is_not_the_token() {
    let h = harness();
    let (status, _, _) = send(&h, login("rmp_nope_nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, body) = send(&h, login(&h.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"admin\""));
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("rampart_session=rms_") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict")
    );
    // Plain HTTP: no Secure flag (the browser would drop the cookie).
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains(&h.admin), "the token itself must never be in the cookie");
    let session = session_of(&h, &h.admin).await;
    let (status, _, body) = send(&h, with_cookie("GET", "/api/v1/whoami", &session).body(Body::empty()).unwrap()).await;
    assert_eq!((status, body.contains("admin")), (StatusCode::OK, true));
    let reader = session_of(&h, &h.reader).await;
    let (_, _, body) = send(&h, with_cookie("GET", "/ui/session", &reader).body(Body::empty()).unwrap()).await;
    assert!(body.contains("reader"), "{body}");
    let (_, _, body) = send(&h, Request::get("/ui/session").body(Body::empty()).unwrap()).await;
    assert_eq!(body, r#"{"role":null}"#);
    // A token put in the cookie by hand is not a session.
    let (status, _, _) = send(&h, with_cookie("GET", "/api/v1/whoami", &h.admin).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_and_revocation_end_sessions_on_the_server() {
    // Finding 5: logout cleared the cookie but the value it held stayed valid.
    let h = harness();
    let session = session_of(&h, &h.admin).await;
    let whoami = |s: &str| with_cookie("GET", "/api/v1/whoami", s).body(Body::empty()).unwrap();
    assert_eq!(send(&h, whoami(&session)).await.0, StatusCode::OK);
    let (status, headers, _) = send(&h, with_cookie("POST", "/ui/logout", &session).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(send(&h, whoami(&session)).await.0, StatusCode::UNAUTHORIZED);
    // Revoking the reader token ends its sessions too.
    let reader = session_of(&h, &h.reader).await;
    assert_eq!(send(&h, whoami(&reader)).await.0, StatusCode::OK);
    let reader_id = h.reader.split('_').nth(1).unwrap();
    assert!(rampart_core::Store::revoke_token(h.store.as_ref(), reader_id).unwrap());
    assert_eq!(send(&h, whoami(&reader)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn over_tls_the_session_cookie_is_secure() {
    let h = harness();
    let http = rampart_core::config::HttpConfig {
        tls_cert: Some("cert.pem".into()),
        tls_key: Some("key.pem".into()),
        ..Default::default()
    };
    let h = Harness { state: h.state.clone().with_http(&http), ..h };
    let (_, headers, _) = send(&h, login(&h.admin)).await;
    assert!(headers[header::SET_COOKIE].to_str().unwrap().ends_with("; Secure"));
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_header_and_an_admin() {
    let h = harness();
    let (admin, reader) = (session_of(&h, &h.admin).await, session_of(&h, &h.reader).await);
    let event = r#"{"event":{"kind":"event"},"message":"x"}"#;
    let post = |session: &str, csrf: bool| {
        let mut req = with_cookie("POST", "/api/v1/events", session).header(header::CONTENT_TYPE, "application/json");
        if csrf {
            req = req.header("x-rampart-csrf", "1");
        }
        req.body(Body::from(event)).unwrap()
    };
    let (status, _, body) = send(&h, post(&admin, false)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("x-rampart-csrf"), "{body}");
    let (status, _, _) = send(&h, post(&reader, true)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = send(&h, post(&admin, true)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn rules_list_the_catalog_with_how_often_each_fired() {
    let h = harness();
    let info = |id: &str| {
        std::sync::Arc::new(rampart_core::RuleCard {
            id: id.into(),
            title: format!("{id} title"),
            description: String::new(),
            severity: rampart_core::Severity::High,
            score: 50.0,
            technique: None,
            tags: vec![],
            logic: None,
        })
    };
    let h = Harness { state: h.state.clone().with_rules(vec![info("fired"), info("quiet")]), ..h };
    let mut alert = rampart_core::Alert {
        id: rampart_core::Alert::new_id(),
        rule_id: "fired".into(),
        title: "t".into(),
        description: String::new(),
        severity: rampart_core::Severity::High,
        score: 50.0,
        entity: rampart_core::Entity { field: "source.ip".into(), value: "192.0.2.1".into() },
        count: 7,
        first_seen_ms: 1,
        last_seen_ms: 2,
        evidence: vec![],
        technique: None,
        tags: vec![],
        context: None,
        status: rampart_core::AlertStatus::Open,
        created_ms: 1,
        updated_ms: 1,
    };
    rampart_core::Store::save_alerts(h.store.as_ref(), std::slice::from_ref(&alert)).unwrap();
    alert.id = rampart_core::Alert::new_id();
    alert.rule_id = "flow-dos".into();
    rampart_core::Store::save_alerts(h.store.as_ref(), &[alert]).unwrap();
    let (status, _, body) = send(
        &h,
        Request::get("/api/v1/rules")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.reader))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let by_id = |id: &str| v["rules"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!((by_id("fired")["alerts"].as_u64(), by_id("fired")["events"].as_u64()), (Some(1), Some(7)));
    assert_eq!(by_id("quiet")["alerts"].as_u64(), Some(0));
    assert_eq!(by_id("flow-dos")["loaded"], false);
}
