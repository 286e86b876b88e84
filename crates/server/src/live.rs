//! `GET /api/v1/live`: server-sent events for the dashboard.
//!
//! Every half second the stream reads what is new in the store — events,
//! alerts opened or changed, decisions made or lifted, actions — and sends
//! it; every second a `stats` message with the counters and the host's
//! gauges. It reads the store rather than listening to the pipeline so that
//! whatever wrote the row (this node's pipeline, the API, a CLI command)
//! shows, and a browser that reconnects after a restart picks up where the
//! store is. It ends when the server starts draining, so a shutdown is not
//! held open by a dashboard.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use rampart_core::ecs::encode_event;
use rampart_core::{AlertQuery, Body, DecisionQuery, EventKind, EventQuery, Store};
use serde_json::json;

use crate::decisions::{action_json, decision_json};
use crate::state::AppState;

const TICK: Duration = Duration::from_millis(500);
/// Newest rows looked at per tick; a burst beyond this shows its newest.
const WINDOW: usize = 100;

/// What one connection has already sent.
#[derive(Default)]
struct Cursor {
    event: i64,
    /// Alert id → its `updated` time when last sent.
    alerts: HashMap<String, i64>,
    decision: i64,
    decisions_polled_ms: i64,
    action: i64,
    ticks: u64,
}

/// Server-sent events: `event`, `alert`, `decision`, `action` messages as
/// they are stored, `stats` and `host` once a second. Ends when the server
/// starts draining; a browser's EventSource reconnects by itself.
#[utoipa::path(get, path = "/api/v1/live", tag = "meta", security(("bearer" = [])),
    responses(
        (status = 200, description = "A text/event-stream of JSON messages", content_type = "text/event-stream", body = crate::openapi::SseMessage),
        crate::error::AuthFailures,
    ))]
pub(crate) async fn stream(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let start = (state, Cursor::default(), Vec::<SseEvent>::new().into_iter());
    let stream = futures_util::stream::unfold(start, |(state, mut cursor, mut pending)| async move {
        loop {
            if let Some(next) = pending.next() {
                return Some((Ok(next), (state, cursor, pending)));
            }
            if !state.is_ready() {
                return None;
            }
            if cursor.ticks > 0 {
                tokio::time::sleep(TICK).await;
            }
            let read_state = state.clone();
            let read = tokio::task::spawn_blocking(move || {
                let mut messages = news(read_state.store.as_ref(), &mut cursor);
                // Counters and the host once a second: enough for a chart.
                if cursor.ticks.is_multiple_of(2) {
                    messages.extend(host(read_state.store.as_ref()));
                    messages.push(stats(&read_state));
                }
                cursor.ticks += 1;
                (messages, cursor)
            })
            .await;
            let Ok((messages, returned)) = read else { return None };
            cursor = returned;
            pending = messages.into_iter();
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn message(name: &str, data: &impl serde::Serialize) -> SseEvent {
    SseEvent::default().event(name).data(serde_json::to_string(data).unwrap_or_default())
}

/// What changed since the cursor, oldest first. On the first read the
/// newest rows are sent as a backlog.
fn news(store: &dyn Store, cursor: &mut Cursor) -> Vec<SseEvent> {
    let first = cursor.ticks == 0;
    let now = rampart_core::time::now_ms();
    let mut out = Vec::new();
    let failed = |what: &str, e: rampart_core::StoreError| {
        tracing::warn!(error = %e, what, "The live stream cannot read the store.");
    };
    match store.events(&EventQuery { limit: if first { 50 } else { WINDOW }, ..Default::default() }) {
        Ok(page) => {
            let after = cursor.event;
            for e in page.items.iter().rev().filter(|e| e.id.is_some_and(|id| id > after)) {
                cursor.event = cursor.event.max(e.id.unwrap_or(0));
                out.push(message("event", &encode_event(e)));
            }
        }
        Err(e) => failed("events", e),
    }
    match store.alerts(&AlertQuery { limit: WINDOW, ..Default::default() }) {
        Ok(page) => {
            let mut seen = HashMap::with_capacity(page.items.len());
            for a in page.items.iter().rev() {
                if cursor.alerts.get(&a.id) != Some(&a.updated_ms) {
                    out.push(message("alert", &json!(a)));
                }
                seen.insert(a.id.clone(), a.updated_ms);
            }
            cursor.alerts = seen;
        }
        Err(e) => failed("alerts", e),
    }
    let new = DecisionQuery { after_id: Some(cursor.decision), limit: WINDOW, ..Default::default() };
    let lifted =
        DecisionQuery { deleted_since_ms: Some(cursor.decisions_polled_ms), limit: WINDOW, ..Default::default() };
    let since_last = if first { Ok(Vec::new()) } else { store.decisions(&lifted) };
    match (store.decisions(&new), since_last) {
        (Ok(made), Ok(lifted)) => {
            for d in made.iter().rev().chain(&lifted) {
                out.push(message("decision", &decision_json(d, now)));
            }
            cursor.decision = made.iter().map(|d| d.id).max().unwrap_or(cursor.decision).max(cursor.decision);
            cursor.decisions_polled_ms = now;
        }
        (Err(e), _) | (_, Err(e)) => failed("decisions", e),
    }
    match store.actions(None, if first { 20 } else { WINDOW }) {
        Ok(page) => {
            let after = cursor.action;
            for a in page.items.iter().rev().filter(|a| a.id > after) {
                cursor.action = cursor.action.max(a.id);
                out.push(message("action", &action_json(a)));
            }
        }
        Err(e) => failed("actions", e),
    }
    out
}

/// The host collector's latest sample, if there is one.
fn host(store: &dyn Store) -> Option<SseEvent> {
    let page = store.events(&EventQuery { kind: Some(EventKind::Metric), limit: 20, ..Default::default() }).ok()?;
    let host = page.items.iter().find(|e| e.action.as_deref() == Some("host_metrics"))?;
    let Some(Body::Metrics(m)) = &host.body else { return None };
    let pick = |k: &str| m.get(k).copied();
    Some(message(
        "host",
        &json!({
            "at_ms": host.timestamp_ms,
            "name": host.host_name,
            "cpu_pct": pick("cpu.total.pct"),
            "memory_pct": pick("memory.used.pct"),
            "load1": pick("load.1"),
            "processes": pick("processes.count"),
        }),
    ))
}

/// `GET /stats`'s body plus the time and the host anomaly gauges.
fn stats(state: &AppState) -> SseEvent {
    let stats = state.store.stats().unwrap_or_else(|error| {
        tracing::warn!(%error, "The live stream cannot read the store's counters.");
        Default::default()
    });
    let exposition = (state.metrics)();
    let mut body = crate::health::stats_json(state, &stats);
    body["at_ms"] = json!(rampart_core::time::now_ms());
    body["anomaly_score"] = json!(gauge_value(&exposition, "rampart_host_anomaly_score"));
    body["anomaly_threshold"] = json!(gauge_value(&exposition, "rampart_host_anomaly_threshold"));
    message("stats", &body)
}

/// One unlabelled gauge from our own Prometheus exposition: the numbers the
/// dashboard shows are the ones a scraper sees.
pub(crate) fn gauge_value(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(' ')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_an_unlabelled_gauge() {
        let text = "# TYPE rampart_host_anomaly_score gauge\nrampart_host_anomaly_score 0.61\nrampart_host_anomaly_score_x 2\n";
        assert_eq!(super::gauge_value(text, "rampart_host_anomaly_score"), Some(0.61));
        assert_eq!(super::gauge_value(text, "rampart_host_anomaly_threshold"), None);
    }
}
