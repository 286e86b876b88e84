//! The store's document form: one flat JSON object with dotted keys.
//!
//! Written straight into a byte buffer with no intermediate `Value` tree,
//! because the store writes one per event on the hot path. `decode_event`
//! reads it back unchanged: dotted keys are one of the forms it accepts.

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
        // Known field names need no escaping; anything else (extra keys,
        // metric names) goes through serde_json, the reference escaper.
        if key.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\') {
            self.out.push(b'"');
            self.out.extend_from_slice(key.as_bytes());
            self.out.push(b'"');
        } else {
            // Writing into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *self.out, key);
        }
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
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
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
        let mut text = String::with_capacity(17);
        text.push('"');
        crate::push_ip(&mut text, value);
        text.push('"');
        self.out.extend_from_slice(text.as_bytes());
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
        let event = decode_event(input, &Limits::default(), 1_750_000_000_005).unwrap();
        let mut buf = Vec::new();
        write_flat(&event, &mut buf);
        let value: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(value["source.ip"], "2001:db8::1");
        assert_eq!(decode_event(value, &Limits::default(), 1_750_000_000_005).unwrap(), event);
    }

    proptest::proptest! {
        // Hand-written key and number output must stay valid JSON that
        // decodes back to the same event, whatever the names and values.
        #[test]
        fn any_label_and_address_round_trips(
            name in "[ -~\u{80}-\u{10FFFF}]{1,12}",
            value in ".{0,16}",
            octets in proptest::prelude::any::<[u8; 4]>(),
            at in 0i64..253_402_300_799_999,
        ) {
            let input = json!({
                "@timestamp": crate::time::format_ms(at),
                "source": {"ip": std::net::IpAddr::from(octets).to_string()},
                "labels": {name.as_str(): value},
            });
            // Names the decoder refuses (empty segments, say) are not this test's business.
            if let Ok(event) = decode_event(input, &Limits::default(), 1_750_000_000_005) {
                let mut buf = Vec::new();
                write_flat(&event, &mut buf);
                let value: serde_json::Value = serde_json::from_slice(&buf).unwrap();
                proptest::prop_assert_eq!(decode_event(value, &Limits::default(), 1_750_000_000_005).unwrap(), event);
            }
        }
    }
}
