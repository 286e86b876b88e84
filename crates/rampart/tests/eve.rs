//! The `eve` sink as a SIEM would meet it: `rampart serve` with
//! `[sinks.eve]`, attacks posted to the API, and every line of the EVE file
//! validated against Suricata's own published schema
//! (fixtures/suricata-eve-schema.json, see the .md beside it) by
//! jsonschema-rs, the validator schemathesis's virtualenv already holds.

#![allow(clippy::unwrap_used)]

mod util;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use util::{Server, eventually};

fn venv_python() -> PathBuf {
    let st = util::cached_tool("SCHEMATHESIS_ST", "schemathesis-venv/bin/st", "pip install schemathesis");
    st.with_file_name("python3")
}

/// Validates each line of `eve` against Suricata's schema; the errors, one per bad line.
fn schema_errors(eve: &std::path::Path) -> String {
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/suricata-eve-schema.json");
    let script = r#"
import json, sys, jsonschema_rs
validator = jsonschema_rs.validator_for(json.load(open(sys.argv[1])))
bad = 0
for n, line in enumerate(open(sys.argv[2]), 1):
    for error in validator.iter_errors(json.loads(line)):
        bad += 1
        print(f"line {n}: {error.message} at {list(error.instance_path)}")
sys.exit(1 if bad else 0)
"#;
    let out = Command::new(venv_python()).args(["-c", script]).arg(&schema).arg(eve).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() { String::new() } else { text }
}

#[test]
fn alerts_written_as_eve_lines_validate_against_suricatas_schema() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let config = format!(
        "[alerts]\nnotify_delay_ms = 200\n\n[sinks]\nstdout = false\n\n[sinks.eve]\npath = \"{}\"\nsensor_name = \"web-1\"\n",
        eve.display()
    );
    let server = Server::start(dir.path(), &config);
    let ssh = |i: u16| {
        json!({"event": {"category": "authentication", "outcome": "failure", "action": "ssh_login"},
               "source": {"ip": "203.0.113.9", "port": 40_000 + i}, "destination": {"ip": "192.0.2.1", "port": 22},
               "user": {"name": format!("user{i}")}, "message": "Failed password"})
    };
    let web = json!({"event": {"category": "web", "action": "http_request"},
        "source": {"ip": "198.51.100.7", "port": 51_234}, "destination": {"ip": "192.0.2.1", "port": 80},
        "url": {"original": "/item?id=1%27%20UNION%20SELECT%20password%20FROM%20users--"},
        "http": {"request": {"method": "GET"}, "response": {"status_code": 500}},
        "user_agent": {"original": "sqlmap/1.7 \"quoted\" \u{1b}[31m"}});
    let body: Vec<String> = (0..6).map(ssh).chain([web]).map(|v| v.to_string()).collect();
    assert_eq!(util::post_events(&server, &body), 200);

    let records: Vec<Value> = eventually(20, "EVE lines for both attacks", || {
        let text = std::fs::read_to_string(&eve).ok()?;
        let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let rules = |id: &str| records.iter().any(|r| r["alert"]["metadata"]["rampart_rule_id"] == json!([id]));
        (rules("ssh-brute-force") && rules("web-sqli")).then_some(records)
    });
    let errors = schema_errors(&eve);
    assert!(errors.is_empty(), "EVE lines Suricata's schema rejects:\n{errors}");

    let by_rule = |id: &str| records.iter().find(|r| r["alert"]["metadata"]["rampart_rule_id"] == json!([id])).unwrap();
    let brute = by_rule("ssh-brute-force");
    assert_eq!(brute["event_type"], "alert");
    assert_eq!((brute["src_ip"].as_str(), brute["dest_ip"].as_str()), (Some("203.0.113.9"), Some("192.0.2.1")));
    assert_eq!((brute["dest_port"].as_u64(), brute["proto"].as_str()), (Some(22), Some("TCP")));
    assert_eq!(brute["host"], "web-1");
    assert_eq!(brute["alert"]["severity"], 1);
    assert_eq!(brute["alert"]["metadata"]["mitre_technique_id"], json!(["T1110.001"]));
    let sqli = by_rule("web-sqli");
    assert_eq!(sqli["app_proto"], "http");
    assert_eq!(sqli["http"]["http_method"], "GET");
    assert_eq!(sqli["http"]["status"], 500);
    assert_eq!(sqli["alert"]["category"], "Web Application Attack");
    // The attacker's escape byte stays escaped in the file.
    let text = std::fs::read_to_string(&eve).unwrap();
    assert!(!text.contains('\u{1b}') && text.contains("\\u001b[31m"), "{text}");

    // Private to Rampart's user.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&eve).unwrap().permissions().mode() & 0o777, 0o600);
    server.terminate();
}

#[test]
fn the_schema_check_itself_rejects_a_record_suricata_would_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    std::fs::write(&eve, "{\"event_type\":\"alert\",\"timestamp\":\"2026-12-02T05:21:29Z\",\"rampart\":1}\n").unwrap();
    let errors = schema_errors(&eve);
    assert!(errors.contains("line 1") && errors.contains("rampart"), "{errors}");
}
