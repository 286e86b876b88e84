//! The store's document form: one flat JSON object with dotted keys.
//!
//! Written straight into a byte buffer with no intermediate `Value` tree,
//! because the store writes one per event on the hot path. `decode_event`
//! reads it back unchanged: dotted keys are one of the forms it accepts.

use std::io::Write;
use std::net::IpAddr;

use serde_json::Value;

use super::fields::{FieldWriter, walk};
use crate::event::Event;

/// Appends `event` as one flat JSON object (no trailing newline).
pub fn write_flat(event: &Event, out: &mut Vec<u8>) {
    out.push(b'{');
    let mut w = Flat { out, first: true };
    walk(event, &mut w);
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
        // serde_json's escaping is the reference; writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, key);
        self.out.push(b':');
    }
}

impl FieldWriter for Flat<'_> {
    fn text(&mut self, key: &str, value: &str) {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.out, value);
    }

    fn int(&mut self, key: &str, value: i64) {
        self.key(key);
        let _ = write!(self.out, "{value}");
    }

    fn float(&mut self, key: &str, value: f64) {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.out, &value);
    }

    fn json(&mut self, key: &str, value: &Value) {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.out, value);
    }

    fn texts(&mut self, key: &str, values: &[String]) {
        self.key(key);
        let _ = serde_json::to_writer(&mut *self.out, values);
    }

    fn ip(&mut self, key: &str, value: IpAddr) {
        // An address's text form never needs JSON escaping.
        self.key(key);
        let _ = write!(self.out, "\"{value}\"");
    }
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
