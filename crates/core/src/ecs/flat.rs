//! The store's document form: one flat JSON object with dotted keys.
//!
//! Written straight into a byte buffer with no intermediate `Value` tree,
//! because the store writes one per event on the hot path. `decode_event`
//! reads it back unchanged: dotted keys are one of the forms it accepts.

use std::io::Write;

use crate::event::{Body, Event};
use crate::time;

/// Appends `event` as one flat JSON object (no trailing newline).
pub fn write_flat(event: &Event, out: &mut Vec<u8>) {
    let mut w = Flat { out, first: true };
    w.out.push(b'{');
    w.text("@timestamp", &time::format_ms(event.timestamp_ms));
    w.text("event.kind", event.kind.as_str());
    match event.category.as_slice() {
        [] => {}
        [one] => w.text("event.category", one),
        many => w.json("event.category", &many),
    }
    w.opt_text("event.action", event.action.as_deref());
    if let Some(o) = event.outcome {
        w.text("event.outcome", o.as_str());
    }
    w.opt_text("host.name", event.host_name.as_deref());
    if let Some(ip) = event.source.ip {
        w.display("source.ip", ip);
    }
    w.opt_num("source.port", event.source.port);
    if let Some(ip) = event.destination.ip {
        w.display("destination.ip", ip);
    }
    w.opt_num("destination.port", event.destination.port);
    w.opt_text("user.name", event.user_name.as_deref());
    w.opt_num("process.pid", event.process_pid);
    w.opt_text("process.name", event.process_name.as_deref());
    w.opt_text("url.original", event.url_original.as_deref());
    w.opt_text("http.request.method", event.http_method.as_deref());
    w.opt_num("http.response.status_code", event.http_status);
    w.opt_text("user_agent.original", event.user_agent.as_deref());
    w.opt_text("message", event.message.as_deref());
    match &event.body {
        None => {}
        Some(Body::Metrics(values)) => {
            for (k, v) in values {
                w.float(&format!("metrics.{k}"), *v);
            }
        }
        Some(Body::Log { level, file_path, original }) => {
            w.opt_text("log.level", level.as_deref());
            w.opt_text("log.file.path", file_path.as_deref());
            w.opt_text("event.original", original.as_deref());
        }
        Some(Body::Http { version, request_bytes, response_bytes, referrer }) => {
            w.opt_text("http.version", version.as_deref());
            w.opt_num("http.request.bytes", *request_bytes);
            w.opt_num("http.response.bytes", *response_bytes);
            w.opt_text("http.request.referrer", referrer.as_deref());
        }
        Some(Body::Flow { transport, features }) => {
            w.opt_text("network.transport", transport.as_deref());
            for (k, v) in features {
                w.float(&format!("flow.features.{k}"), *v);
            }
        }
        Some(Body::Process { command_line, start_ms, cpu_pct, rss_bytes, parent_pid }) => {
            w.opt_text("process.command_line", command_line.as_deref());
            if let Some(ms) = start_ms {
                w.text("process.start", &time::format_ms(*ms));
            }
            if let Some(pct) = cpu_pct {
                w.float("process.cpu.pct", *pct);
            }
            w.opt_num("process.memory.rss", *rss_bytes);
            w.opt_num("process.parent.pid", *parent_pid);
        }
    }
    for (k, v) in &event.extra {
        w.json(k, v);
    }
    w.out.push(b'}');
}

struct Flat<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Flat<'_> {
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.string(key);
        self.out.push(b':');
    }

    fn string(&mut self, s: &str) {
        // serde_json's escaping is the reference; writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, s);
    }

    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        self.string(value);
    }

    fn opt_text(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.text(key, v);
        }
    }

    fn display(&mut self, key: &str, value: impl std::fmt::Display) {
        self.key(key);
        let _ = write!(self.out, "\"{value}\"");
    }

    fn opt_num<N: itoa_like::Integer>(&mut self, key: &str, value: Option<N>) {
        if let Some(v) = value {
            self.key(key);
            let _ = write!(self.out, "{v}");
        }
    }

    fn float(&mut self, key: &str, value: f64) {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.out, &value);
    }

    fn json<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.out, value);
    }
}

/// The integer types written with `Display` (no quotes, no exponent).
mod itoa_like {
    pub trait Integer: std::fmt::Display {}
    impl Integer for u16 {}
    impl Integer for u32 {}
    impl Integer for u64 {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::{Limits, decode_event};
    use serde_json::json;

    #[test]
    fn flat_form_decodes_to_the_same_event() {
        let input = json!({
            "@timestamp": "2024-05-01T10:00:00.250Z",
            "event": {"category": ["authentication", "session"], "outcome": "failure"},
            "source": {"ip": "2001:db8::1", "port": 50022},
            "user": {"name": "ro\"ot\n"},
            "process": {"pid": 7, "command_line": "sshd -D", "cpu": {"pct": 0.5}},
            "labels": {"env": "prod"}, "tags": ["a", "b"]
        });
        let event = decode_event(input, &Limits::default(), 5).unwrap();
        let mut buf = Vec::new();
        write_flat(&event, &mut buf);
        let value: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(value["source.ip"], "2001:db8::1");
        assert_eq!(decode_event(value, &Limits::default(), 5).unwrap(), event);
    }
}
