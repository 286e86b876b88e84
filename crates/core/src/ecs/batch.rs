//! A request body to a batch of events: one object, an array, or NDJSON.

use serde_json::Value;

use super::{EventError, Limits, decode_event, strict_json};
use crate::event::Event;

/// How the body is framed (from the HTTP content type or a file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// `application/json`: one object or an array of objects.
    Json,
    /// `application/x-ndjson`: one object per line; blank lines are skipped.
    Ndjson,
}

/// Decodes a whole batch, all or nothing: the first bad event rejects it.
pub fn decode_batch(body: &[u8], format: BatchFormat, limits: &Limits, now_ms: i64) -> Result<Vec<Event>, EventError> {
    if body.len() > limits.max_batch_bytes {
        return Err(EventError::new(
            "batch",
            format!("body is {} bytes; the limit is {} bytes", body.len(), limits.max_batch_bytes),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EventError::new("batch", "body is empty"));
    }
    let too_many = || {
        EventError::new(
            "batch",
            format!("more than {} events; the limit is {}", limits.max_batch_events, limits.max_batch_events),
        )
    };
    match format {
        BatchFormat::Json => {
            let value: Value =
                strict_json::from_slice(body).map_err(|e| EventError::new("body", format!("invalid JSON: {e}")))?;
            match value {
                Value::Array(items) => {
                    if items.len() > limits.max_batch_events {
                        return Err(too_many());
                    }
                    if items.is_empty() {
                        return Err(EventError::new("batch", "array is empty"));
                    }
                    items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| decode_event(v, limits, now_ms).map_err(|e| e.at_line(i + 1)))
                        .collect()
                }
                other => Ok(vec![decode_event(other, limits, now_ms)?]),
            }
        }
        BatchFormat::Ndjson => {
            let mut events = Vec::new();
            for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if events.len() == limits.max_batch_events {
                    return Err(too_many().at_line(i + 1));
                }
                let value: Value = strict_json::from_slice(line)
                    .map_err(|e| EventError::new("body", format!("invalid JSON: {e}")).at_line(i + 1))?;
                events.push(decode_event(value, limits, now_ms).map_err(|e| e.at_line(i + 1))?);
            }
            Ok(events)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ndjson_error_names_the_line() {
        let body = b"{\"message\":\"a\"}\n\n{\"source.ip\":\"nope\"}\n";
        let err = decode_batch(body, BatchFormat::Ndjson, &Limits::default(), 0).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.field, "source.ip");
    }

    #[test]
    fn array_and_single_object_decode() {
        let one = decode_batch(b"{\"message\":\"a\"}", BatchFormat::Json, &Limits::default(), 0).unwrap();
        assert_eq!(one.len(), 1);
        let two = decode_batch(b"[{},{}]", BatchFormat::Json, &Limits::default(), 0).unwrap();
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        // serde_json alone keeps the last one: the event would be ambiguous.
        let body = br#"{"source.ip":"192.0.2.1","source.ip":"192.0.2.2"}"#;
        let err = decode_batch(body, BatchFormat::Json, &Limits::default(), 0).unwrap_err();
        assert_eq!(err.field, "body");
        assert!(err.reason.contains("given twice"), "{}", err.reason);
        let err = decode_batch(&[b"{}\n".as_slice(), body].concat(), BatchFormat::Ndjson, &Limits::default(), 0);
        assert_eq!(err.unwrap_err().line, Some(2));
    }

    #[test]
    fn batch_limits_are_enforced() {
        let limits = Limits { max_batch_events: 2, ..Limits::default() };
        let err = decode_batch(b"[{},{},{}]", BatchFormat::Json, &limits, 0).unwrap_err();
        assert_eq!(err.field, "batch");
        let err = decode_batch(b"{}\n{}\n{}\n", BatchFormat::Ndjson, &limits, 0).unwrap_err();
        assert_eq!((err.field.as_str(), err.line), ("batch", Some(3)));
        let err = decode_batch(b"  \n", BatchFormat::Ndjson, &limits, 0).unwrap_err();
        assert_eq!(err.reason, "body is empty");
    }

    proptest! {
        // The decoder faces hostile bytes: it must answer, never panic.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_batch(&body, BatchFormat::Ndjson, &Limits::default(), 0);
            let _ = decode_batch(&body, BatchFormat::Json, &Limits::default(), 0);
        }

        // Any JSON-ish object built from ECS-looking keys either decodes or
        // names a field; decoding what we encoded gives the same event.
        #[test]
        fn decoded_events_round_trip(
            keys in proptest::collection::vec(prop_oneof![
                Just("source.ip"), Just("source.port"), Just("message"), Just("user.name"),
                Just("event.outcome"), Just("metrics.cpu"), Just("labels.x"), Just("@timestamp"),
            ], 0..6),
            texts in proptest::collection::vec(prop_oneof![
                Just(serde_json::json!("10.1.2.3")), Just(serde_json::json!(22)),
                Just(serde_json::json!("failure")), Just(serde_json::json!(1.5)),
                Just(serde_json::json!("x")), Just(serde_json::json!(null)),
            ], 6),
        ) {
            let mut object = serde_json::Map::new();
            for (k, v) in keys.iter().zip(texts) {
                object.insert((*k).to_owned(), v);
            }
            let limits = Limits::default();
            match decode_event(Value::Object(object), &limits, 7) {
                Ok(event) => {
                    let again = decode_event(super::super::encode_event(&event), &limits, 7).unwrap();
                    prop_assert_eq!(&event, &again);
                    // The store's flat form reads back the same way.
                    let mut flat = Vec::new();
                    super::super::write_flat(&event, &mut flat);
                    let stored: Value = serde_json::from_slice(&flat).unwrap();
                    prop_assert_eq!(event, decode_event(stored, &limits, 7).unwrap());
                }
                Err(e) => prop_assert!(!e.field.is_empty()),
            }
        }
    }
}
