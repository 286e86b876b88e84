//! One JSON object to one validated `Event`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{EventError, Limits};
use crate::event::{Body, Event, EventKind, Outcome};
use crate::time;

/// Decodes and validates one event. `now_ms` stamps `event.ingested` and
/// stands in for a missing `@timestamp`.
pub fn decode_event(value: Value, limits: &Limits, now_ms: i64) -> Result<Event, EventError> {
    let Value::Object(object) = value else {
        return Err(EventError::new("event", format!("expected a JSON object, found {}", kind_of(&value))));
    };
    let mut fields = BTreeMap::new();
    flatten(String::new(), object, &mut fields, limits)?;

    let mut event = Event::new(EventKind::Event, now_ms);
    let mut kind = None;
    let mut body = BodyParts::default();
    for (name, value) in fields {
        let f = Field { name: &name, limits };
        match name.as_str() {
            "@timestamp" => event.timestamp_ms = f.not_ahead(f.timestamp(value)?, now_ms)?,
            "event.kind" => {
                let text = f.string(value)?;
                kind = Some(EventKind::parse(&text).ok_or_else(|| {
                    f.error(format!("unknown kind {text:?}; expected one of alert, asset, enrichment, event, metric, state, pipeline_error, signal"))
                })?);
            }
            "event.category" => event.category = f.strings(value)?,
            "event.action" => event.action = Some(f.string(value)?),
            "event.outcome" => {
                let text = f.string(value)?;
                event.outcome = Some(Outcome::parse(&text).ok_or_else(|| {
                    f.error(format!("unknown outcome {text:?}; expected success, failure or unknown"))
                })?);
            }
            // Rampart stamps these itself; an upstream value would lie about
            // our pipeline (a client's `id` clobbered the store's on output).
            "event.ingested" | "id" => {}
            "host.name" => event.host_name = Some(f.string(value)?),
            "source.ip" => event.source.ip = Some(f.ip(value)?),
            "source.port" => event.source.port = Some(f.integer(value, 0, 65_535)? as u16),
            "destination.ip" => event.destination.ip = Some(f.ip(value)?),
            "destination.port" => event.destination.port = Some(f.integer(value, 0, 65_535)? as u16),
            "user.name" => event.user_name = Some(f.string(value)?),
            "process.pid" => event.process_pid = Some(f.integer(value, 0, u32::MAX.into())? as u32),
            "process.name" => event.process_name = Some(f.string(value)?),
            "url.original" => event.url_original = Some(f.string(value)?),
            "http.request.method" => event.http_method = Some(f.string(value)?),
            "http.response.status_code" => event.http_status = Some(f.integer(value, 100, 599)? as u16),
            "user_agent.original" => event.user_agent = Some(f.string(value)?),
            "message" => event.message = Some(f.message(value)?),
            _ => {
                if !body.take(&f, &name, &value)? {
                    f.check_strings(&value)?;
                    event.extra.insert(name, value);
                }
            }
        }
    }
    let (typed, leftovers) = body.build();
    event.extra.extend(leftovers);
    event.kind = kind.unwrap_or(match typed {
        Some(Body::Metrics(_)) => EventKind::Metric,
        Some(Body::Process { .. }) => EventKind::State,
        _ => EventKind::Event,
    });
    event.body = typed;
    Ok(event)
}

fn flatten(
    prefix: String,
    object: Map<String, Value>,
    out: &mut BTreeMap<String, Value>,
    limits: &Limits,
) -> Result<(), EventError> {
    for (key, value) in object {
        if key.is_empty() {
            return Err(EventError::new(format!("{prefix}(empty)"), "field names must not be empty"));
        }
        let name = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(name, inner, out, limits)?,
            value => {
                if out.len() >= limits.max_fields {
                    return Err(EventError::new(name, format!("event has more than {} fields", limits.max_fields)));
                }
                if out.contains_key(&name) {
                    return Err(EventError::new(name, "given twice (nested and dotted)"));
                }
                out.insert(name, value);
            }
        }
    }
    Ok(())
}

/// Per-field validation, carrying the name for the error message.
struct Field<'a> {
    name: &'a str,
    limits: &'a Limits,
}

impl Field<'_> {
    fn error(&self, reason: impl Into<String>) -> EventError {
        EventError::new(self.name, reason)
    }

    fn string(&self, value: Value) -> Result<String, EventError> {
        match value {
            Value::String(s) if s.len() > self.limits.max_field_bytes => {
                Err(self.error(format!("longer than {} bytes", self.limits.max_field_bytes)))
            }
            Value::String(s) => Ok(s),
            other => Err(self.error(format!("expected a string, found {}", kind_of(&other)))),
        }
    }

    fn message(&self, value: Value) -> Result<String, EventError> {
        match value {
            Value::String(s) if s.len() > self.limits.max_message_bytes => Err(self.error(format!(
                "message is {} bytes; the limit is {} bytes",
                s.len(),
                self.limits.max_message_bytes
            ))),
            Value::String(s) => Ok(s),
            other => Err(self.error(format!("expected a string, found {}", kind_of(&other)))),
        }
    }

    fn strings(&self, value: Value) -> Result<Vec<String>, EventError> {
        match value {
            Value::Array(items) => items.into_iter().map(|v| self.string(v)).collect(),
            other => Ok(vec![self.string(other)?]),
        }
    }

    fn ip(&self, value: Value) -> Result<IpAddr, EventError> {
        let text = self.string(value)?;
        text.trim().parse().map_err(|_| self.error(format!("invalid IP address {:?}", truncate(&text))))
    }

    fn integer(&self, value: Value, min: i64, max: i64) -> Result<i64, EventError> {
        let parsed = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            Some(n) => Err(self.error(format!("{n} is out of range {min}..={max}"))),
            None => Err(self.error(format!("expected an integer, found {}", describe(&value)))),
        }
    }

    fn number(&self, value: &Value) -> Result<f64, EventError> {
        match value {
            Value::Number(n) => n.as_f64().ok_or_else(|| self.error("number out of range")),
            other => Err(self.error(format!("expected a number, found {}", describe(other)))),
        }
    }

    /// A time further ahead than the allowed skew is refused: it would sort
    /// first forever and claims something that has not happened.
    fn not_ahead(&self, ms: i64, now_ms: i64) -> Result<i64, EventError> {
        let skew = i64::try_from(self.limits.max_future_skew_ms).unwrap_or(i64::MAX);
        if ms > now_ms.saturating_add(skew) {
            return Err(self.error(format!(
                "{} is more than {} s ahead of the server's clock",
                time::format_ms(ms),
                self.limits.max_future_skew_ms / 1000
            )));
        }
        Ok(ms)
    }

    fn timestamp(&self, value: Value) -> Result<i64, EventError> {
        match &value {
            Value::String(s) => time::parse_rfc3339(s).ok_or_else(|| {
                self.error(format!("invalid timestamp {:?}; expected RFC 3339 or epoch milliseconds", truncate(s)))
            }),
            Value::Number(n) => n
                .as_i64()
                .filter(|ms| (time::MIN_MS..=time::MAX_MS).contains(ms))
                .ok_or_else(|| self.error(format!("{n} is not a valid epoch-milliseconds timestamp"))),
            other => Err(self.error(format!("expected RFC 3339 text or epoch milliseconds, found {}", kind_of(other)))),
        }
    }

    /// Free-form fields still obey the string limit, even inside arrays.
    fn check_strings(&self, value: &Value) -> Result<(), EventError> {
        match value {
            Value::String(s) if s.len() > self.limits.max_field_bytes => {
                Err(self.error(format!("longer than {} bytes", self.limits.max_field_bytes)))
            }
            Value::Array(items) => items.iter().try_for_each(|v| self.check_strings(v)),
            Value::Object(map) => map.values().try_for_each(|v| self.check_strings(v)),
            _ => Ok(()),
        }
    }
}

/// Fields that may form a typed body, gathered before one body is chosen.
#[derive(Default)]
struct BodyParts {
    metrics: BTreeMap<String, f64>,
    features: BTreeMap<crate::FeatureName, f64>,
    flow: Vec<(String, Value)>,
    process: Vec<(String, Value)>,
    http: Vec<(String, Value)>,
    log: Vec<(String, Value)>,
}

impl BodyParts {
    /// Takes the field if it belongs to a typed body; validates it on the way.
    fn take(&mut self, f: &Field<'_>, name: &str, value: &Value) -> Result<bool, EventError> {
        if let Some(key) = name.strip_prefix("metrics.") {
            self.metrics.insert(key.to_owned(), f.number(value)?);
            return Ok(true);
        }
        if let Some(key) = name.strip_prefix("flow.features.") {
            self.features.insert(key.to_owned().into(), f.number(value)?);
            return Ok(true);
        }
        let group = match name {
            "network.transport" => &mut self.flow,
            "process.command_line"
            | "process.start"
            | "process.cpu.pct"
            | "process.memory.rss"
            | "process.parent.pid" => &mut self.process,
            "http.version" | "http.request.bytes" | "http.response.bytes" | "http.request.referrer" => &mut self.http,
            "log.level" | "log.file.path" | "event.original" => &mut self.log,
            _ => return Ok(false),
        };
        // Validate now so errors name the field even if another body wins.
        match name {
            "process.start" => {
                f.timestamp(value.clone())?;
            }
            "process.cpu.pct" => {
                f.number(value)?;
            }
            "process.memory.rss" | "http.request.bytes" | "http.response.bytes" => {
                f.integer(value.clone(), 0, i64::MAX)?;
            }
            "process.parent.pid" => {
                f.integer(value.clone(), 0, u32::MAX.into())?;
            }
            _ => {
                f.string(value.clone())?;
            }
        }
        group.push((name.to_owned(), value.clone()));
        Ok(true)
    }

    /// Chooses the body (metrics, flow, process, http, log, in that order of
    /// precedence) and returns the other groups' fields, which stay in `extra`
    /// so nothing a sender gave is dropped.
    fn build(self) -> (Option<Body>, Vec<(String, Value)>) {
        let BodyParts { metrics, features, flow, process, http, log } = self;
        let mut leftovers = Vec::new();
        let body = if !metrics.is_empty() {
            leftovers.extend(features.into_iter().map(|(k, v)| (format!("flow.features.{k}"), Value::from(v))));
            leftovers.extend(flow.into_iter().chain(process).chain(http).chain(log));
            Some(Body::Metrics(metrics))
        } else if !features.is_empty() || !flow.is_empty() {
            leftovers.extend(process.into_iter().chain(http).chain(log));
            let transport = text_of(&flow, "network.transport");
            Some(Body::Flow { transport, features: crate::FlowFeatures::Named(features) })
        } else if !process.is_empty() {
            leftovers.extend(http.into_iter().chain(log));
            Some(Body::Process {
                command_line: text_of(&process, "process.command_line"),
                start_ms: value_of(&process, "process.start").and_then(|v| match v {
                    Value::String(s) => time::parse_rfc3339(s),
                    v => v.as_i64(),
                }),
                cpu_pct: value_of(&process, "process.cpu.pct").and_then(Value::as_f64),
                rss_bytes: uint_of(&process, "process.memory.rss"),
                parent_pid: uint_of(&process, "process.parent.pid").map(|v| v as u32),
            })
        } else if !http.is_empty() {
            leftovers.extend(log);
            Some(Body::Http {
                version: text_of(&http, "http.version"),
                request_bytes: uint_of(&http, "http.request.bytes"),
                response_bytes: uint_of(&http, "http.response.bytes"),
                referrer: text_of(&http, "http.request.referrer"),
            })
        } else if !log.is_empty() {
            Some(Body::Log {
                level: text_of(&log, "log.level"),
                file_path: text_of(&log, "log.file.path"),
                original: text_of(&log, "event.original"),
            })
        } else {
            None
        };
        (body, leftovers)
    }
}

fn value_of<'a>(group: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    group.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn text_of(group: &[(String, Value)], name: &str) -> Option<String> {
    value_of(group, name).and_then(Value::as_str).map(str::to_owned)
}

fn uint_of(group: &[(String, Value)], name: &str) -> Option<u64> {
    value_of(group, name).and_then(|v| match v {
        Value::String(s) => s.trim().parse().ok(),
        v => v.as_u64(),
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{:?}", truncate(s)),
        other => kind_of(other).to_owned(),
    }
}

/// Attacker-controlled text is cut before it goes into an error message.
fn truncate(text: &str) -> &str {
    const LIMIT: usize = 64;
    if text.len() <= LIMIT {
        return text;
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: Value) -> Result<Event, EventError> {
        decode_event(v, &Limits::default(), 1_000)
    }

    #[test]
    fn nested_and_dotted_forms_decode_alike() {
        let nested =
            decode(json!({"source": {"ip": "10.0.0.1", "port": 22}, "event": {"outcome": "failure"}})).unwrap();
        let dotted = decode(json!({"source.ip": "10.0.0.1", "source.port": 22, "event.outcome": "failure"})).unwrap();
        assert_eq!(nested, dotted);
        assert_eq!(nested.source.port, Some(22));
    }

    #[test]
    fn a_timestamp_beyond_the_skew_is_refused() {
        // decode() uses now = 1 s after the epoch and a one-day skew.
        let day = 86_400_000_i64;
        assert_eq!(decode(json!({"@timestamp": day})).unwrap().timestamp_ms, day);
        let err = decode(json!({"@timestamp": "9999-12-31T00:00:00Z"})).unwrap_err();
        assert_eq!(err.field, "@timestamp");
        assert!(err.reason.contains("ahead of the server's clock"), "{}", err.reason);
        assert!(decode(json!({"@timestamp": day + 1_001})).is_err());
    }

    #[test]
    fn missing_timestamp_means_now_and_epoch_ms_is_accepted() {
        assert_eq!(decode(json!({})).unwrap().timestamp_ms, 1_000);
        let now = 1_800_000_000_000;
        let event = decode_event(json!({"@timestamp": 1_700_000_000_000_i64}), &Limits::default(), now).unwrap();
        assert_eq!(event.timestamp_ms, 1_700_000_000_000);
    }

    #[test]
    fn errors_name_the_field() {
        let err = decode(json!({"source": {"ip": "999.1.1.1"}})).unwrap_err();
        assert_eq!(err.field, "source.ip");
        let err = decode(json!({"source.port": "http"})).unwrap_err();
        assert_eq!(err.field, "source.port");
        let err = decode(json!({"@timestamp": "tuesday"})).unwrap_err();
        assert_eq!(err.field, "@timestamp");
        let err = decode(json!({"message": 5})).unwrap_err();
        assert_eq!(err.field, "message");
        let err = decode(json!([1, 2])).unwrap_err();
        assert_eq!(err.field, "event");
    }

    #[test]
    fn oversize_message_is_refused() {
        let big = "x".repeat(64 * 1024 + 1);
        let err = decode(json!({"message": big})).unwrap_err();
        assert_eq!(err.field, "message");
        assert!(err.reason.contains("65536"));
    }

    #[test]
    fn duplicate_nested_and_dotted_is_refused() {
        let err = decode(json!({"source": {"ip": "10.0.0.1"}, "source.ip": "10.0.0.2"})).unwrap_err();
        assert_eq!(err.field, "source.ip");
    }

    #[test]
    fn metrics_body_sets_kind_metric_and_keeps_unknown_fields() {
        let e = decode(json!({"metrics": {"cpu.pct": 12.5}, "agent": {"type": "filebeat"}})).unwrap();
        assert_eq!(e.kind, EventKind::Metric);
        assert_eq!(e.body, Some(Body::Metrics([("cpu.pct".to_owned(), 12.5)].into())));
        assert_eq!(e.extra.get("agent.type"), Some(&json!("filebeat")));
    }

    #[test]
    fn losing_body_fields_stay_in_extra() {
        let e = decode(json!({"http.version": "1.1", "log.file.path": "/var/log/x"})).unwrap();
        assert!(matches!(e.body, Some(Body::Http { .. })));
        assert_eq!(e.extra.get("log.file.path"), Some(&json!("/var/log/x")));
    }
}
