//! The `eve` sink: alerts as Suricata EVE JSON lines, so whatever already
//! reads Suricata's `eve.json` (a SIEM's Suricata module, jq scripts,
//! EveBox) reads Rampart's alerts too.
//!
//! An alert carries an entity, not a packet; the addresses, ports and HTTP
//! fields come from its newest evidence event when the store still holds
//! it, else from the entity alone. Records validate against Suricata's own
//! published schema (`etc/schema.json`), which allows no field it does not
//! name: Rampart's extras (alert id, rule id, score, ATT&CK technique) go in
//! `alert.metadata`, the one open map, as Suricata rules' metadata does.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rampart_core::{Alert, BoxFuture, Event, Severity, Sink, SinkError, Store};
use serde_json::{Map, Value, json};

/// Appends one EVE line per notification to a file (mode 0600, reopened
/// when log rotation moves it away).
pub struct EveSink {
    path: PathBuf,
    sensor_name: Option<String>,
    store: Option<Arc<dyn Store>>,
    file: Arc<Mutex<Option<(File, u64)>>>,
}

impl EveSink {
    pub fn new(path: PathBuf, sensor_name: Option<String>, store: Option<Arc<dyn Store>>) -> EveSink {
        EveSink { path, sensor_name, store, file: Arc::new(Mutex::new(None)) }
    }
}

impl Sink for EveSink {
    fn name(&self) -> &str {
        "eve"
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        let alert = alert.clone();
        let store = self.store.clone();
        let sensor = self.sensor_name.clone();
        let path = self.path.clone();
        let file = self.file.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let evidence = newest_evidence(store.as_deref(), &alert);
                let mut line = serde_json::to_vec(&record(&alert, evidence.as_ref(), sensor.as_deref()))
                    .map_err(|e| SinkError::Io(e.to_string()))?;
                line.push(b'\n');
                let mut slot = file.lock().unwrap_or_else(|p| p.into_inner());
                append(&mut slot, &path, &line)
            })
            .await
            .map_err(|e| SinkError::Io(e.to_string()))?
        })
    }
}

/// The newest evidence event still stored; a lookup failure only costs the
/// record its addresses, so it is logged and not fatal.
fn newest_evidence(store: Option<&dyn Store>, alert: &Alert) -> Option<Event> {
    let id = *alert.evidence.last()?;
    match store?.event(id) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(alert = %alert.id, error = %e, "EVE sink: evidence lookup failed");
            None
        }
    }
}

/// Writes `line` with one `write_all`, (re)opening the file when it is not
/// open yet or the path now names another inode (rotated away).
fn append(slot: &mut Option<(File, u64)>, path: &std::path::Path, line: &[u8]) -> Result<(), SinkError> {
    let current = std::fs::metadata(path).ok().map(|m| m.ino());
    if slot.as_ref().map(|(_, ino)| Some(*ino)) != Some(current) || current.is_none() {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| SinkError::Io(format!("{}: {e}", path.display())))?;
        let ino = file.metadata().map_err(|e| SinkError::Io(e.to_string()))?.ino();
        *slot = Some((file, ino));
    }
    let (file, _) = slot.as_mut().expect("opened above");
    file.write_all(line).map_err(|e| SinkError::Io(format!("{}: {e}", path.display())))
}

/// One alert as an EVE `alert` record.
pub fn record(alert: &Alert, evidence: Option<&Event>, sensor_name: Option<&str>) -> Value {
    let mut out = Map::new();
    out.insert("timestamp".into(), Value::from(suricata_timestamp(alert.last_seen_ms)));
    out.insert("event_type".into(), Value::from("alert"));
    let entity_ip = (alert.entity.field == "source.ip").then(|| alert.entity.value.clone());
    let src_ip = evidence.and_then(|e| e.source.ip).map(|ip| ip.to_string()).or(entity_ip);
    if let Some(ip) = src_ip {
        out.insert("src_ip".into(), Value::from(ip));
    }
    if let Some(port) = evidence.and_then(|e| e.source.port) {
        out.insert("src_port".into(), Value::from(port));
    }
    if let Some(ip) = evidence.and_then(|e| e.destination.ip) {
        out.insert("dest_ip".into(), Value::from(ip.to_string()));
    }
    if let Some(port) = evidence.and_then(|e| e.destination.port) {
        out.insert("dest_port".into(), Value::from(port));
    }
    if let Some(proto) = evidence.and_then(transport) {
        out.insert("proto".into(), Value::from(proto));
    }
    if let Some(name) = sensor_name.or_else(|| evidence.and_then(|e| e.host_name.as_deref())) {
        out.insert("host".into(), Value::from(name));
    }
    if let Some(http) = evidence.and_then(http) {
        out.insert("app_proto".into(), Value::from("http"));
        out.insert("http".into(), http);
    }
    out.insert("alert".into(), alert_object(alert));
    Value::Object(out)
}

fn alert_object(alert: &Alert) -> Value {
    let mut metadata = Map::new();
    let mut put = |key: &str, value: String| {
        metadata.insert(key.into(), json!([value]));
    };
    put("rampart_alert_id", alert.id.clone());
    put("rampart_rule_id", alert.rule_id.clone());
    put("rampart_entity", format!("{}={}", alert.entity.field, alert.entity.value));
    put("rampart_score", format!("{:.0}", alert.score));
    put("rampart_count", alert.count.to_string());
    put("signature_severity", alert.severity.as_str().to_owned());
    if let Some(t) = &alert.technique {
        put("mitre_technique_id", t.clone());
    }
    if !alert.tags.is_empty() {
        metadata.insert("tag".into(), json!(alert.tags));
    }
    json!({
        "action": "allowed",
        "gid": 1,
        "signature_id": signature_id(&alert.rule_id),
        "rev": 1,
        "signature": alert.title,
        "category": category(&alert.tags),
        "severity": suricata_severity(alert.severity),
        "metadata": metadata,
    })
}

/// A stable Suricata signature id for a rule id: FNV-1a of the id folded
/// into 1,000,000..1,999,999, the range Snort and Suricata keep for local
/// rules. Two rules may share one (a birthday chance of ~0.5% among 100
/// rules); the rule id itself is in the metadata.
pub fn signature_id(rule_id: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in rule_id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    1_000_000 + hash % 1_000_000
}

/// Suricata's priority: 1 is the most severe.
fn suricata_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Critical | Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low | Severity::Info => 3,
    }
}

/// The classtype description Suricata would print for such a rule.
fn category(tags: &[String]) -> &'static str {
    let has = |t: &str| tags.iter().any(|x| x == t);
    if has("sqli") || has("xss") || has("rce") || has("traversal") || has("command_injection") {
        "Web Application Attack"
    } else if has("scanning") || has("reconnaissance") || has("portscan") {
        "Detection of a Network Scan"
    } else if has("credential-access") || has("brute-force") {
        "Attempted User Privilege Gain"
    } else if has("dos") {
        "Detection of a Denial of Service Attack"
    } else {
        "Potentially Bad Traffic"
    }
}

/// Suricata's timestamp form: microseconds and a numeric offset
/// (`2026-12-02T05:21:29.123000+0000`); Rampart writes UTC.
pub fn suricata_timestamp(ms: i64) -> String {
    let rfc3339 = rampart_core::time::format_ms(ms);
    format!("{}000+0000", rfc3339.trim_end_matches('Z'))
}

fn transport(event: &Event) -> Option<String> {
    if let Some(rampart_core::FieldValue::Str(t)) = event.field("network.transport") {
        return Some(t.to_ascii_uppercase());
    }
    // HTTP and SSH ride on TCP.
    (event.url_original.is_some() || event.category.iter().any(|c| c == "authentication")).then(|| "TCP".to_owned())
}

fn http(event: &Event) -> Option<Value> {
    let url = event.url_original.as_ref()?;
    let mut http = Map::new();
    http.insert("url".into(), Value::from(url.as_str()));
    if let Some(m) = &event.http_method {
        http.insert("http_method".into(), Value::from(m.as_str()));
    }
    if let Some(s) = event.http_status {
        http.insert("status".into(), Value::from(s));
    }
    if let Some(ua) = &event.user_agent {
        http.insert("http_user_agent".into(), Value::from(ua.as_str()));
    }
    if let Some(rampart_core::FieldValue::Json(Value::String(host))) = event.field("url.domain") {
        http.insert("hostname".into(), Value::from(host.as_str()));
    }
    if let Some(rampart_core::FieldValue::Str(v)) = event.field("http.version") {
        http.insert("protocol".into(), Value::from(v));
    }
    if let Some(rampart_core::FieldValue::Num(n)) = event.field("http.response.bytes") {
        http.insert("length".into(), Value::from(n as u64));
    }
    Some(Value::Object(http))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::EventKind;

    /// A web SQL-injection alert with one evidence event.
    fn alert() -> Alert {
        Alert {
            title: "SQL injection attempt".into(),
            score: 75.0,
            count: 2,
            first_seen_ms: 1_764_652_889_000,
            last_seen_ms: 1_764_652_889_123,
            evidence: vec![7],
            technique: Some("T1190".into()),
            tags: vec!["web".into(), "sqli".into()],
            ..crate::fixtures::alert("web-sqli", "203.0.113.9")
        }
    }

    #[test]
    fn a_web_alert_carries_its_request_and_suricata_fields() {
        let mut e = Event::new(EventKind::Event, 0);
        e.source.ip = Some("203.0.113.9".parse().unwrap());
        e.url_original = Some("/item?id=1'--".into());
        e.http_method = Some("GET".into());
        e.http_status = Some(500);
        let r = record(&alert(), Some(&e), Some("web-1"));
        assert_eq!(r["timestamp"], "2025-12-02T05:21:29.123000+0000");
        assert_eq!(r["event_type"], "alert");
        assert_eq!(r["src_ip"], "203.0.113.9");
        assert_eq!(r["proto"], "TCP");
        assert_eq!(r["host"], "web-1");
        assert_eq!(r["http"]["url"], "/item?id=1'--");
        assert_eq!(r["http"]["status"], 500);
        assert_eq!(r["alert"]["severity"], 1);
        assert_eq!(r["alert"]["category"], "Web Application Attack");
        assert_eq!(r["alert"]["metadata"]["mitre_technique_id"], json!(["T1190"]));
        assert_eq!(r["alert"]["signature_id"], signature_id("web-sqli"));
    }

    #[test]
    fn without_evidence_the_entity_gives_the_source() {
        let r = record(&alert(), None, None);
        assert_eq!(r["src_ip"], "203.0.113.9");
        assert!(r.get("http").is_none() && r.get("dest_ip").is_none());
    }

    #[test]
    fn signature_ids_are_stable_and_local() {
        assert_eq!(signature_id("ssh-brute-force"), signature_id("ssh-brute-force"));
        assert_ne!(signature_id("ssh-brute-force"), signature_id("web-sqli"));
        for id in ["a", "web-sqli", "", "x".repeat(500).as_str()] {
            assert!((1_000_000..2_000_000).contains(&signature_id(id)));
        }
    }

    #[test]
    fn lines_are_appended_privately_and_survive_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let mut slot = None;
        append(&mut slot, &path, b"one\n").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        std::fs::rename(&path, dir.path().join("eve.json.1")).unwrap();
        append(&mut slot, &path, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("eve.json.1")).unwrap(), "one\n");
    }
}
