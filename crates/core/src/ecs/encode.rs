//! One `Event` to nested ECS JSON.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::fields::{FieldWriter, walk};
use crate::event::Event;
use crate::time;

/// Encodes an event as nested ECS JSON (with `id` when the store assigned one).
pub fn encode_event(event: &Event) -> Value {
    let mut root = Map::new();
    if let Some(id) = event.id {
        root.insert("id".into(), Value::from(id));
    }
    let mut out = Nested(&mut root);
    walk(event, &mut out);
    out.put_value("event.ingested", Value::from(time::format_ms(event.ingested_ms)));
    Value::Object(root)
}

/// Encodes to a nested JSON string.
pub fn encode_event_string(event: &Event) -> String {
    encode_event(event).to_string()
}

/// Inserts dotted names into a nested object.
struct Nested<'a>(&'a mut Map<String, Value>);

impl FieldWriter for Nested<'_> {
    fn text(&mut self, key: &str, value: &str) {
        self.put_value(key, Value::from(value));
    }

    fn int(&mut self, key: &str, value: i64) {
        self.put_value(key, Value::from(value));
    }

    fn float(&mut self, key: &str, value: f64) {
        self.put_value(key, Value::from(value));
    }

    fn json(&mut self, key: &str, value: &Value) {
        self.put_value(key, value.clone());
    }

    fn texts(&mut self, key: &str, values: &[String]) {
        self.put_value(key, Value::from(values.to_vec()));
    }

    fn ip(&mut self, key: &str, value: IpAddr) {
        self.put_value(key, Value::from(value.to_string()));
    }
}

impl Nested<'_> {
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
        let event = decode_event(input, &Limits::default(), 1_750_000_000_005).unwrap();
        let again = decode_event(encode_event(&event), &Limits::default(), 1_750_000_000_005).unwrap();
        assert_eq!(event, again);
        let out = encode_event(&event);
        assert_eq!(out["source"]["ip"], json!("2001:db8::1"));
        assert_eq!(out["labels"]["env"], json!("prod"));
    }
}
