//! The one list of an event's fields, in output order, walked by both
//! encoders (nested for the API, flat for the store), so a field added to
//! `Event` is written everywhere or nowhere.

use std::net::IpAddr;

use serde_json::Value;

use crate::event::{Body, Event};
use crate::time;

/// Receives each present field under its dotted ECS name.
pub(crate) trait FieldWriter {
    fn text(&mut self, key: &str, value: &str);
    fn int(&mut self, key: &str, value: i64);
    fn float(&mut self, key: &str, value: f64);
    fn json(&mut self, key: &str, value: &Value);
    fn texts(&mut self, key: &str, values: &[String]);
    /// Separate from `text` so the store's encoder can format it in place.
    fn ip(&mut self, key: &str, value: IpAddr);
}

/// Walks every field of `event` that has a value. `event.ingested` is left
/// to the caller: the store keeps it beside the document.
pub(crate) fn walk(event: &Event, w: &mut impl FieldWriter) {
    w.text("@timestamp", &time::format_ms(event.timestamp_ms));
    w.text("event.kind", event.kind.as_str());
    match event.category.as_slice() {
        [] => {}
        [one] => w.text("event.category", one),
        many => w.texts("event.category", many),
    }
    opt_text(w, "event.action", event.action.as_deref());
    if let Some(o) = event.outcome {
        w.text("event.outcome", o.as_str());
    }
    opt_text(w, "host.name", event.host_name.as_deref());
    if let Some(ip) = event.source.ip {
        w.ip("source.ip", ip);
    }
    opt_int(w, "source.port", event.source.port.map(i64::from));
    if let Some(ip) = event.destination.ip {
        w.ip("destination.ip", ip);
    }
    opt_int(w, "destination.port", event.destination.port.map(i64::from));
    opt_text(w, "user.name", event.user_name.as_deref());
    opt_int(w, "process.pid", event.process_pid.map(i64::from));
    opt_text(w, "process.name", event.process_name.as_deref());
    opt_text(w, "url.original", event.url_original.as_deref());
    opt_text(w, "http.request.method", event.http_method.as_deref());
    opt_int(w, "http.response.status_code", event.http_status.map(i64::from));
    opt_text(w, "user_agent.original", event.user_agent.as_deref());
    opt_text(w, "message", event.message.as_deref());
    match &event.body {
        None => {}
        Some(Body::Metrics(values)) => {
            for (k, v) in values {
                w.float(&format!("metrics.{k}"), *v);
            }
        }
        Some(Body::Log { level, file_path, original }) => {
            opt_text(w, "log.level", level.as_deref());
            opt_text(w, "log.file.path", file_path.as_deref());
            opt_text(w, "event.original", original.as_deref());
        }
        Some(Body::Http { version, request_bytes, response_bytes, referrer }) => {
            opt_text(w, "http.version", version.as_deref());
            opt_int(w, "http.request.bytes", request_bytes.map(saturate));
            opt_int(w, "http.response.bytes", response_bytes.map(saturate));
            opt_text(w, "http.request.referrer", referrer.as_deref());
        }
        Some(Body::Flow { transport, features }) => {
            opt_text(w, "network.transport", transport.as_deref());
            for (k, v) in features.iter() {
                w.float(&format!("flow.features.{k}"), v);
            }
        }
        Some(Body::Process { command_line, start_ms, cpu_pct, rss_bytes, parent_pid }) => {
            opt_text(w, "process.command_line", command_line.as_deref());
            if let Some(ms) = start_ms {
                w.text("process.start", &time::format_ms(*ms));
            }
            if let Some(pct) = cpu_pct {
                w.float("process.cpu.pct", *pct);
            }
            opt_int(w, "process.memory.rss", rss_bytes.map(saturate));
            opt_int(w, "process.parent.pid", parent_pid.map(i64::from));
        }
    }
    for (k, v) in &event.extra {
        w.json(k, v);
    }
}

fn opt_text(w: &mut impl FieldWriter, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        w.text(key, v);
    }
}

fn opt_int(w: &mut impl FieldWriter, key: &str, value: Option<i64>) {
    if let Some(v) = value {
        w.int(key, v);
    }
}

fn saturate(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
