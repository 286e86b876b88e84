//! systemd journal entries, as `journalctl --output=json` prints them: one
//! JSON object per line, every value a string (or, for a field that is not
//! valid UTF-8 or holds binary data, an array of byte values).
//!
//! `MESSAGE` goes through the same program-message handling as a syslog
//! line, so sshd entries become the same authentication events whichever
//! way they were logged.

use rampart_core::Event;
use serde_json::{Map, Value};

use super::{ParseError, Parsed, ProgramMessage, error};

/// One journal entry: the event, and the cursor to resume after it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub parsed: Parsed,
    pub cursor: Option<String>,
}

/// Parses one line of `journalctl --output=json`.
pub fn parse_entry(line: &str, now_ms: i64) -> Result<JournalEntry, ParseError> {
    let value: Value = serde_json::from_str(line).map_err(|e| error(format!("invalid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(error("a journal entry must be a JSON object"));
    };
    let message = text(&fields, "MESSAGE")?.ok_or_else(|| error("MESSAGE: missing"))?;
    let timestamp_ms = match text(&fields, "__REALTIME_TIMESTAMP")? {
        Some(micros) => micros
            .parse::<i64>()
            .map(|us| us / 1000)
            .ok()
            .filter(|ms| (rampart_core::time::MIN_MS..=rampart_core::time::MAX_MS).contains(ms))
            .ok_or_else(|| error(format!("__REALTIME_TIMESTAMP: {micros:?} is not microseconds since the epoch")))?,
        None => now_ms,
    };
    let app = match text(&fields, "SYSLOG_IDENTIFIER")? {
        Some(id) => id,
        None => text(&fields, "_COMM")?.unwrap_or_default(),
    };
    let pid = match text(&fields, "_PID")? {
        Some(pid) => Some(pid),
        None => text(&fields, "SYSLOG_PID")?,
    };
    let pid =
        pid.map(|p| p.parse::<u32>().map_err(|_| error(format!("_PID: {p:?} is not a process id")))).transpose()?;
    let host = text(&fields, "_HOSTNAME")?;
    let program = ProgramMessage { app: &app, pid, host: host.as_deref(), message: &message };
    let mut parsed = program.to_event(timestamp_ms, now_ms);
    annotate(&mut parsed.event, &fields)?;
    let cursor = text(&fields, "__CURSOR")?;
    Ok(JournalEntry { parsed, cursor })
}

/// The journal's own fields worth keeping beside the ECS ones.
fn annotate(event: &mut Event, fields: &Map<String, Value>) -> Result<(), ParseError> {
    if let Some(unit) = text(fields, "_SYSTEMD_UNIT")? {
        event.extra.insert("systemd.unit".into(), Value::from(unit));
    }
    if let Some(priority) = text(fields, "PRIORITY")? {
        let level = priority.parse::<u8>().ok().filter(|p| *p <= 7);
        let level = level.ok_or_else(|| error(format!("PRIORITY: {priority:?} is not a syslog priority 0-7")))?;
        event.extra.insert("log.syslog.severity.code".into(), Value::from(level));
    }
    event.extra.insert("event.module".into(), Value::from("journald"));
    Ok(())
}

/// A field's text: a string, or an array of bytes (lossily decoded).
fn text(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, ParseError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(items)) => {
            let bytes: Option<Vec<u8>> = items.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
            let bytes = bytes.ok_or_else(|| error(format!("{name}: an array that is not bytes")))?;
            Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Some(other) => Err(error(format!("{name}: expected a string, found {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rampart_core::Outcome;

    const SSHD: &str = r#"{"__CURSOR":"s=4b58;i=2;b=d83b;m=0;t=660c;x=bb96","__REALTIME_TIMESTAMP":"1700000000123456","_BOOT_ID":"d83b","PRIORITY":"6","_SYSTEMD_UNIT":"ssh.service","SYSLOG_IDENTIFIER":"sshd","_PID":"812","_HOSTNAME":"web-1","MESSAGE":"Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2"}"#;

    #[test]
    fn sshd_entry_is_an_authentication_failure() {
        let entry = parse_entry(SSHD, 5).unwrap();
        let e = &entry.parsed.event;
        assert_eq!(entry.cursor.as_deref(), Some("s=4b58;i=2;b=d83b;m=0;t=660c;x=bb96"));
        assert_eq!(e.timestamp_ms, 1_700_000_000_123);
        assert_eq!(e.outcome, Some(Outcome::Failure));
        assert_eq!(e.source.ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(e.user_name.as_deref(), Some("admin"));
        assert_eq!((e.process_name.as_deref(), e.process_pid), (Some("sshd"), Some(812)));
        assert_eq!(e.host_name.as_deref(), Some("web-1"));
        assert_eq!(e.extra["systemd.unit"], "ssh.service");
        assert_eq!(e.extra["log.syslog.severity.code"], 6);
    }

    #[test]
    fn binary_message_is_decoded_lossily() {
        let line = r#"{"MESSAGE":[104,105,255],"SYSLOG_IDENTIFIER":"app"}"#;
        let entry = parse_entry(line, 7).unwrap();
        assert_eq!(entry.parsed.event.message.as_deref(), Some("hi\u{fffd}"));
        assert_eq!(entry.parsed.event.timestamp_ms, 7);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            ("not json", "invalid JSON"),
            ("[1]", "JSON object"),
            (r#"{"PRIORITY":"6"}"#, "MESSAGE"),
            (r#"{"MESSAGE":"x","__REALTIME_TIMESTAMP":"soon"}"#, "__REALTIME_TIMESTAMP"),
            (r#"{"MESSAGE":"x","_PID":"-1"}"#, "_PID"),
            (r#"{"MESSAGE":"x","PRIORITY":"9"}"#, "PRIORITY"),
            (r#"{"MESSAGE":{"a":1}}"#, "MESSAGE"),
            (r#"{"MESSAGE":[1,300]}"#, "MESSAGE"),
        ];
        for (line, field) in cases {
            let reason = parse_entry(line, 0).unwrap_err().reason;
            assert!(reason.contains(field), "{line}: {reason}");
        }
    }

    proptest! {
        #[test]
        fn any_line_parses_or_errors_without_panicking(line in "\\PC{0,200}") {
            let _ = parse_entry(&line, 0);
        }

        #[test]
        fn any_fields_object_parses_or_errors(fields in proptest::collection::btree_map(
            "(MESSAGE|_PID|PRIORITY|__REALTIME_TIMESTAMP|SYSLOG_IDENTIFIER|[A-Z_]{1,8})",
            proptest::prop_oneof![
                "\\PC{0,20}".prop_map(Value::from),
                proptest::collection::vec(0u64..300, 0..6).prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
            ],
            0..6,
        )) {
            let line = serde_json::to_string(&fields).unwrap();
            let _ = parse_entry(&line, 0);
        }
    }
}
