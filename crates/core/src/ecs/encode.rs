//! One `Event` to nested ECS JSON.

use serde_json::{Map, Value};

use crate::event::{Body, Event};
use crate::time;

/// Encodes an event as nested ECS JSON (with `id` when the store assigned one).
pub fn encode_event(event: &Event) -> Value {
    let mut root = Map::new();
    if let Some(id) = event.id {
        root.insert("id".into(), Value::from(id));
    }
    root.insert("@timestamp".into(), Value::from(time::format_ms(event.timestamp_ms)));
    let mut out = Nested(&mut root);
    out.put("event.kind", Some(event.kind.as_str()));
    match event.category.as_slice() {
        [] => {}
        [one] => out.put("event.category", Some(one.as_str())),
        many => out.put_value("event.category", Value::from(many.to_vec())),
    }
    out.put("event.action", event.action.as_deref());
    out.put("event.outcome", event.outcome.map(|o| o.as_str()));
    out.put("event.ingested", Some(time::format_ms(event.ingested_ms)));
    out.put("host.name", event.host_name.as_deref());
    out.put("source.ip", event.source.ip.map(|ip| ip.to_string()));
    out.put("source.port", event.source.port);
    out.put("destination.ip", event.destination.ip.map(|ip| ip.to_string()));
    out.put("destination.port", event.destination.port);
    out.put("user.name", event.user_name.as_deref());
    out.put("process.pid", event.process_pid);
    out.put("process.name", event.process_name.as_deref());
    out.put("url.original", event.url_original.as_deref());
    out.put("http.request.method", event.http_method.as_deref());
    out.put("http.response.status_code", event.http_status);
    out.put("user_agent.original", event.user_agent.as_deref());
    out.put("message", event.message.as_deref());
    match &event.body {
        None => {}
        Some(Body::Metrics(values)) => {
            for (k, v) in values {
                out.put(&format!("metrics.{k}"), Some(*v));
            }
        }
        Some(Body::Log { level, file_path, original }) => {
            out.put("log.level", level.as_deref());
            out.put("log.file.path", file_path.as_deref());
            out.put("event.original", original.as_deref());
        }
        Some(Body::Http { version, request_bytes, response_bytes, referrer }) => {
            out.put("http.version", version.as_deref());
            out.put("http.request.bytes", *request_bytes);
            out.put("http.response.bytes", *response_bytes);
            out.put("http.request.referrer", referrer.as_deref());
        }
        Some(Body::Flow { transport, features }) => {
            out.put("network.transport", transport.as_deref());
            for (k, v) in features {
                out.put(&format!("flow.features.{k}"), Some(*v));
            }
        }
        Some(Body::Process { command_line, start_ms, cpu_pct, rss_bytes, parent_pid }) => {
            out.put("process.command_line", command_line.as_deref());
            out.put("process.start", start_ms.map(time::format_ms));
            out.put("process.cpu.pct", *cpu_pct);
            out.put("process.memory.rss", *rss_bytes);
            out.put("process.parent.pid", *parent_pid);
        }
    }
    for (k, v) in &event.extra {
        out.put_value(k, v.clone());
    }
    Value::Object(root)
}

/// Encodes to a JSON string (the store's document column).
pub fn encode_event_string(event: &Event) -> String {
    encode_event(event).to_string()
}

/// Inserts dotted names into a nested object.
struct Nested<'a>(&'a mut Map<String, Value>);

impl Nested<'_> {
    fn put<V: Into<Value>>(&mut self, path: &str, value: Option<V>) {
        if let Some(v) = value {
            self.put_value(path, v.into());
        }
    }

    fn put_value(&mut self, path: &str, value: Value) {
        let mut map = &mut *self.0;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                map.insert(part.to_owned(), value);
                return;
            }
            let slot = map.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(inner) => map = inner,
                // A scalar already sits where we need an object (possible only
                // for odd `extra` names like `a` and `a.b`): keep the dotted
                // remainder as one key rather than lose either value.
                _ => {
                    let rest: Vec<&str> = std::iter::once(part).chain(parts).collect();
                    self.0.insert(rest.join("."), value);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::{Limits, decode_event};
    use serde_json::json;

    #[test]
    fn decode_encode_round_trip() {
        let input = json!({
            "@timestamp": "2024-05-01T10:00:00.250Z",
            "event": {"category": "authentication", "outcome": "failure", "action": "ssh_login"},
            "source": {"ip": "2001:db8::1", "port": 50022},
            "user": {"name": "root"},
            "log": {"file": {"path": "/var/log/auth.log"}},
            "labels": {"env": "prod"}
        });
        let event = decode_event(input, &Limits::default(), 5).unwrap();
        let again = decode_event(encode_event(&event), &Limits::default(), 5).unwrap();
        assert_eq!(event, again);
        let out = encode_event(&event);
        assert_eq!(out["source"]["ip"], json!("2001:db8::1"));
        assert_eq!(out["labels"]["env"], json!("prod"));
    }
}
