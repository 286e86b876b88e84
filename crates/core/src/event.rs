//! `Event`: one normalised observation, in Elastic Common Schema terms.
//!
//! The envelope holds the ECS fields every detector may ask for; `body` holds
//! the typed part that only some events have (a metric sample, a log record,
//! an HTTP exchange, a network flow, a process snapshot); `extra` keeps every
//! other field the sender gave, so nothing a shipper adds is lost. JSON
//! conversion lives in `ecs.rs`.

use crate::FlowFeatures;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// ECS `event.kind`: the highest-level category of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Alert,
    Asset,
    Enrichment,
    Event,
    Metric,
    State,
    PipelineError,
    Signal,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Alert,
        EventKind::Asset,
        EventKind::Enrichment,
        EventKind::Event,
        EventKind::Metric,
        EventKind::State,
        EventKind::PipelineError,
        EventKind::Signal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Alert => "alert",
            EventKind::Asset => "asset",
            EventKind::Enrichment => "enrichment",
            EventKind::Event => "event",
            EventKind::Metric => "metric",
            EventKind::State => "state",
            EventKind::PipelineError => "pipeline_error",
            EventKind::Signal => "signal",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Telemetry: measurements of the host (`metric`) and of its processes
    /// (`state`), which arrive every few seconds whether or not anything
    /// happens. Stores keep it apart from the rest, for a shorter retention,
    /// and the dashboard shows it only when asked.
    pub fn is_telemetry(self) -> bool {
        matches!(self, EventKind::Metric | EventKind::State)
    }
}

/// ECS `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "unknown" => Some(Outcome::Unknown),
            _ => None,
        }
    }
}

/// ECS `source.*` / `destination.*`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoint {
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
}

/// A flow feature's name.
pub type FeatureName = std::borrow::Cow<'static, str>;

/// The typed part of an event. Which variant an event carries follows from
/// the fields it was given (see `ecs.rs`); an event has at most one.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A sample of named gauges or rates, e.g. `metrics.cpu.total.pct`.
    Metrics(BTreeMap<String, f64>),
    /// A log record: `log.level`, `log.file.path`, `event.original`.
    Log { level: Option<String>, file_path: Option<String>, original: Option<String> },
    /// An HTTP exchange beyond the envelope's method, URL and status.
    Http { version: Option<String>, request_bytes: Option<u64>, response_bytes: Option<u64>, referrer: Option<String> },
    /// A network flow record with numeric features (`flow.features.*`):
    /// named, or the packet meter's vector in its fixed column layout.
    Flow { transport: Option<String>, features: FlowFeatures },
    /// A process snapshot beyond the envelope's pid and name.
    Process {
        command_line: Option<String>,
        start_ms: Option<i64>,
        cpu_pct: Option<f64>,
        rss_bytes: Option<u64>,
        parent_pid: Option<u32>,
    },
}

/// One normalised observation from a source.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Assigned by the store when the event is committed.
    pub id: Option<i64>,
    /// `@timestamp`, epoch milliseconds.
    pub timestamp_ms: i64,
    /// `event.ingested`: when Rampart accepted it, epoch milliseconds.
    pub ingested_ms: i64,
    pub kind: EventKind,
    /// `event.category`: ECS allows several.
    pub category: Vec<String>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub host_name: Option<String>,
    pub source: Endpoint,
    pub destination: Endpoint,
    pub user_name: Option<String>,
    pub process_pid: Option<u32>,
    pub process_name: Option<String>,
    pub url_original: Option<String>,
    pub http_method: Option<String>,
    pub http_status: Option<u16>,
    pub user_agent: Option<String>,
    pub message: Option<String>,
    pub body: Option<Body>,
    /// Every other field, under its dotted ECS name, as the sender gave it.
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A borrowed view of one field, as detectors see it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Str(&'a str),
    Num(f64),
    Ip(IpAddr),
    /// A multi-valued field such as `event.category`.
    List(&'a [String]),
    Json(&'a serde_json::Value),
}

impl FieldValue<'_> {
    /// The value as text, for equality and pattern conditions.
    pub fn to_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            FieldValue::Str(s) => Some(Cow::Borrowed(s)),
            FieldValue::Num(n) => Some(Cow::Owned(format_number(*n))),
            FieldValue::Ip(ip) => Some(Cow::Owned(crate::ip_string(*ip))),
            FieldValue::List(_) => None,
            FieldValue::Json(v) => match v {
                serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Some(Cow::Owned(v.to_string())),
                _ => None,
            },
        }
    }

    /// The value as a number, for numeric comparisons.
    pub fn to_number(&self) -> Option<f64> {
        match self {
            FieldValue::Num(n) => Some(*n),
            FieldValue::Str(s) => s.trim().parse().ok(),
            FieldValue::Json(serde_json::Value::Number(n)) => n.as_f64(),
            FieldValue::Json(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

fn s(value: &Option<String>) -> Option<FieldValue<'_>> {
    value.as_deref().map(FieldValue::Str)
}

/// `url.path`, `url.query` or `url.extension` of a request target (`/a/b.php?x=1`).
fn url_part<'a>(target: &'a str, part: &str) -> Option<&'a str> {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    match part {
        "url.path" => Some(path),
        "url.query" => query,
        _ => {
            let last = path.rsplit('/').next()?;
            last.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| !ext.is_empty())
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 { format!("{}", n as i64) } else { n.to_string() }
}

impl Event {
    /// A blank event of the given kind stamped `at` (used by sources and tests).
    pub fn new(kind: EventKind, at_ms: i64) -> Event {
        Event {
            id: None,
            timestamp_ms: at_ms,
            ingested_ms: at_ms,
            kind,
            category: Vec::new(),
            action: None,
            outcome: None,
            host_name: None,
            source: Endpoint::default(),
            destination: Endpoint::default(),
            user_name: None,
            process_pid: None,
            process_name: None,
            url_original: None,
            http_method: None,
            http_status: None,
            user_agent: None,
            message: None,
            body: None,
            extra: BTreeMap::new(),
        }
    }

    /// Looks a field up by its dotted ECS name; `None` when the event lacks it.
    pub fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let n = |v: Option<f64>| v.map(FieldValue::Num);
        match name {
            "@timestamp" => Some(FieldValue::Num(self.timestamp_ms as f64)),
            "event.kind" => Some(FieldValue::Str(self.kind.as_str())),
            "event.category" => (!self.category.is_empty()).then(|| FieldValue::List(&self.category)),
            "event.action" => s(&self.action),
            "event.outcome" => self.outcome.map(|o| FieldValue::Str(o.as_str())),
            "host.name" => s(&self.host_name),
            "source.ip" => self.source.ip.map(FieldValue::Ip),
            "source.port" => n(self.source.port.map(f64::from)),
            "destination.ip" => self.destination.ip.map(FieldValue::Ip),
            "destination.port" => n(self.destination.port.map(f64::from)),
            "user.name" => s(&self.user_name),
            "process.pid" => n(self.process_pid.map(f64::from)),
            "process.name" => s(&self.process_name),
            "url.original" => s(&self.url_original),
            "http.request.method" => s(&self.http_method),
            "http.response.status_code" => n(self.http_status.map(f64::from)),
            "user_agent.original" => s(&self.user_agent),
            "message" => s(&self.message),
            // Parts of the request target, for rules (Sigma's cs-uri-stem,
            // cs-uri-query) that test one part.
            "url.path" | "url.query" | "url.extension" if self.url_original.is_some() => {
                url_part(self.url_original.as_deref()?, name).map(FieldValue::Str)
            }
            _ => self.body_field(name).or_else(|| self.extra.get(name).map(FieldValue::Json)),
        }
    }

    fn body_field(&self, name: &str) -> Option<FieldValue<'_>> {
        match self.body.as_ref()? {
            Body::Metrics(values) => {
                let key = name.strip_prefix("metrics.")?;
                values.get(key).copied().map(FieldValue::Num)
            }
            Body::Log { level, file_path, original } => match name {
                "log.level" => s(level),
                "log.file.path" => s(file_path),
                "event.original" => s(original),
                _ => None,
            },
            Body::Http { version, request_bytes, response_bytes, referrer } => match name {
                "http.version" => s(version),
                "http.request.bytes" => request_bytes.map(|v| FieldValue::Num(v as f64)),
                "http.response.bytes" => response_bytes.map(|v| FieldValue::Num(v as f64)),
                "http.request.referrer" => s(referrer),
                _ => None,
            },
            Body::Flow { transport, features } => match name {
                "network.transport" => s(transport),
                _ => {
                    let key = name.strip_prefix("flow.features.")?;
                    features.get(key).map(FieldValue::Num)
                }
            },
            Body::Process { command_line, start_ms, cpu_pct, rss_bytes, parent_pid } => match name {
                "process.command_line" => s(command_line),
                "process.start" => start_ms.map(|v| FieldValue::Num(v as f64)),
                "process.cpu.pct" => cpu_pct.map(FieldValue::Num),
                "process.memory.rss" => rss_bytes.map(|v| FieldValue::Num(v as f64)),
                "process.parent.pid" => parent_pid.map(|v| FieldValue::Num(f64::from(v))),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Event, EventKind, FieldValue};

    #[test]
    fn a_request_target_gives_its_path_query_and_extension() {
        let mut e = Event::new(EventKind::Event, 0);
        assert!(e.field("url.path").is_none());
        e.url_original = Some("/admin/login.php?user=a&x=1".into());
        assert_eq!(e.field("url.path"), Some(FieldValue::Str("/admin/login.php")));
        assert_eq!(e.field("url.query"), Some(FieldValue::Str("user=a&x=1")));
        assert_eq!(e.field("url.extension"), Some(FieldValue::Str("php")));
        e.url_original = Some("/v1.2/items".into());
        assert_eq!((e.field("url.query"), e.field("url.extension")), (None, None));
    }
}
