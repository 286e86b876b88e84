//! Sinks and the notifier against a real local HTTP receiver.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use rampart_core::config::DeliveryConfig;
use rampart_core::{AlertStatus, Entity};
use tokio::sync::Mutex as AsyncMutex;

use super::*;
use crate::{Notifier, spawn_sink};

fn alert(id: &str, count: u64) -> Alert {
    Alert {
        id: id.into(),
        rule_id: "ssh-brute-force".into(),
        title: "SSH <brute> force".into(),
        description: String::new(),
        severity: Severity::High,
        score: 75.0,
        entity: Entity { field: "source.ip".into(), value: "203.0.113.9".into() },
        count,
        first_seen_ms: 0,
        last_seen_ms: 0,
        evidence: vec![],
        technique: Some("T1110.001".into()),
        tags: vec![],
        context: None,
        status: AlertStatus::Open,
        created_ms: 0,
        updated_ms: 0,
    }
}

/// A receiver that fails the first `failures` posts with 500, then records bodies.
async fn receiver(failures: usize) -> (String, Arc<AsyncMutex<Vec<serde_json::Value>>>, Arc<AtomicUsize>) {
    let bodies = Arc::new(AsyncMutex::new(Vec::new()));
    let attempts = Arc::new(AtomicUsize::new(0));
    let (b, a) = (bodies.clone(), attempts.clone());
    let app = Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let (b, a) = (b.clone(), a.clone());
            async move {
                if a.fetch_add(1, Ordering::SeqCst) < failures {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                b.lock().await.push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, bodies, attempts)
}

fn fast_policy(retries: u32) -> DeliveryConfig {
    DeliveryConfig { timeout_ms: 2_000, retries, backoff_ms: 10 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retries_until_the_receiver_accepts() {
    let (url, bodies, attempts) = receiver(2).await;
    let sink =
        Arc::new(WebhookSink::new("webhook".into(), url, Default::default(), rampart_client::http_client().unwrap()));
    let worker = spawn_sink(sink, 8, fast_policy(3));
    worker.offer(&alert("a1", 5));
    worker.finish(Duration::from_secs(10)).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let bodies = bodies.lock().await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["count"], 5);
    assert_eq!(bodies[0]["rule_id"], "ssh-brute-force");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_given_up_on_after_the_retries() {
    let (url, bodies, attempts) = receiver(usize::MAX).await;
    let sink =
        Arc::new(WebhookSink::new("webhook".into(), url, Default::default(), rampart_client::http_client().unwrap()));
    let worker = spawn_sink(sink, 8, fast_policy(2));
    worker.offer(&alert("a1", 5));
    worker.finish(Duration::from_secs(10)).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert!(bodies.lock().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifier_sends_a_burst_as_one_notification_with_the_final_count() {
    let (url, bodies, _) = receiver(0).await;
    let slack = Arc::new(SlackSink::new(url, rampart_client::http_client().unwrap()));
    let notifier = Notifier { delay: Duration::from_millis(200), renotify: Duration::from_secs(60) };
    let handle = notifier.spawn(vec![spawn_sink(slack, 8, fast_policy(0))], 64);
    for count in 5..=9 {
        handle.notify(alert("a1", count));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    handle.notify(alert("a1", 10)); // inside the re-notify interval: held back
    handle.shutdown().await; // ...and flushed at shutdown
    let bodies = bodies.lock().await;
    assert_eq!(bodies.len(), 2);
    let first = bodies[0]["text"].as_str().unwrap();
    assert!(first.contains("(9 events)"), "{first}");
    // Attacker-influenced text cannot smuggle Slack markup.
    assert!(first.contains("SSH &lt;brute&gt; force"));
    assert!(bodies[1]["text"].as_str().unwrap().contains("(10 events)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifier_keeps_each_alert_on_its_own_clock() {
    let (url, bodies, _) = receiver(0).await;
    let slack = Arc::new(SlackSink::new(url, rampart_client::http_client().unwrap()));
    let notifier = Notifier { delay: Duration::from_millis(100), renotify: Duration::from_millis(1_500) };
    let handle = notifier.spawn(vec![spawn_sink(slack, 64, fast_policy(0))], 1_024);
    // Many alerts at once, each grown many times: one message each, final counts.
    for count in 1..=20 {
        for id in 0..30 {
            handle.notify(alert(&format!("m{id}"), count));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One grows again inside its re-notify interval: sent when that ends,
    // not at once, and not only at shutdown.
    handle.notify(alert("m7", 21));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bodies.lock().await.len(), 30);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(bodies.lock().await.len(), 31);
    handle.shutdown().await;
    let bodies = bodies.lock().await;
    assert_eq!(bodies.len(), 31, "nothing left pending at shutdown");
    assert!(bodies[..30].iter().all(|b| b["text"].as_str().unwrap().contains("(20 events)")));
    assert!(bodies[30]["text"].as_str().unwrap().contains("(21 events)"));
}
