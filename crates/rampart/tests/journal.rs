//! The systemd journal source against a real journal: entries are written
//! with systemd-journal-remote (Debian package systemd-journal-remote,
//! which scripts/test installs) into a journal directory that `rampart
//! serve` follows through journalctl.

#![allow(clippy::unwrap_used)]

mod util;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use util::{ADMIN, Server, api_get, client, eventually};

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// The running kernel's boot id: `journalctl --follow` shows the current
/// boot, as on a live system.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim().replace('-', "")
}

/// Appends entries (journal export format) to `dir/remote.journal`.
fn write_entries(dir: &Path, entries: &[(&str, &str, &str)]) {
    assert!(
        Path::new(JOURNAL_REMOTE).exists(),
        "{JOURNAL_REMOTE} is missing: install Debian's systemd-journal-remote (scripts/test does)"
    );
    let boot = boot_id();
    let mut export = String::new();
    for (unit, identifier, message) in entries {
        let micros = rampart_now_micros();
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={micros}\n_BOOT_ID={boot}\n_SYSTEMD_UNIT={unit}\nSYSLOG_IDENTIFIER={identifier}\n_PID=812\n_HOSTNAME=web-1\nPRIORITY=6\nMESSAGE={message}\n\n"
        ));
    }
    let output = format!("--output={}", dir.join("remote.journal").display());
    let mut child = Command::new(JOURNAL_REMOTE)
        .args([output.as_str(), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(export.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

fn rampart_now_micros() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros()
}

fn failures(ip: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("Failed password for root from {ip} port {} ssh2", 40000 + i)).collect()
}

fn events_from(server: &Server, ip: &str) -> Vec<Value> {
    let url = format!("{}/api/v1/events?source.ip={ip}&limit=100", server.url);
    let page: Value = client().get(url).bearer_auth(ADMIN).send().unwrap().json().unwrap();
    page["events"].as_array().unwrap().clone()
}

fn brute_force_alert(server: &Server, ip: &str) -> Option<Value> {
    let page = api_get(server, "/api/v1/alerts?rule=ssh-brute-force");
    page["alerts"].as_array()?.iter().find(|a| a["entity"]["value"] == ip).cloned()
}

#[test]
fn journal_entries_for_the_unit_become_alerts_and_restarts_resume_at_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    let mut first: Vec<(&str, &str, &str)> = Vec::new();
    let before = failures("203.0.113.50", 3);
    for line in &before {
        first.push(("ssh.service", "sshd", line));
    }
    // Another unit's entry, which the filter leaves out.
    first.push(("cron.service", "sshd", "Failed password for root from 203.0.113.99 port 1 ssh2"));
    write_entries(&journal, &first);

    let config = format!(
        "[sinks]\nstdout = false\n\n[[sources.journal]]\nunits = [\"ssh.service\"]\ndirectory = \"{}\"\nstart_at = \"beginning\"\n",
        journal.display()
    );
    let server = Server::start(dir.path(), &config);
    eventually(15, "entries already in the journal", || {
        (events_from(&server, "203.0.113.50").len() == 3).then_some(())
    });
    // Followed live: two more make five, and the brute-force rule fires.
    let live = failures("203.0.113.50", 2);
    write_entries(&journal, &live.iter().map(|l| ("ssh.service", "sshd", l.as_str())).collect::<Vec<_>>());
    let alert = eventually(15, "the brute-force alert", || brute_force_alert(&server, "203.0.113.50"));
    assert_eq!(alert["count"], 5);
    let events = events_from(&server, "203.0.113.50");
    assert_eq!(events[0]["systemd"]["unit"], "ssh.service");
    assert_eq!(events[0]["event"]["outcome"], "failure");
    assert!(events_from(&server, "203.0.113.99").is_empty(), "cron.service entries are filtered out");
    assert!(server.terminate().success());
    let cursor = std::fs::read_to_string(dir.path().join("data/journal-cursor-0.txt")).unwrap();
    assert!(cursor.starts_with("s="), "{cursor}");

    // Written while Rampart is down: read after the restart, once; the
    // entries before the cursor are not read again.
    let offline = failures("203.0.113.51", 5);
    write_entries(&journal, &offline.iter().map(|l| ("ssh.service", "sshd", l.as_str())).collect::<Vec<_>>());
    let server = Server::start(dir.path(), &config);
    eventually(15, "the alert for entries written while down", || brute_force_alert(&server, "203.0.113.51"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(events_from(&server, "203.0.113.51").len(), 5);
    assert_eq!(events_from(&server, "203.0.113.50").len(), 5, "no entry is read twice");
}

#[test]
fn a_missing_journalctl_is_reported_and_retried_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[sinks]\nstdout = false\n\n[[sources.journal]]\njournalctl = \"/nonexistent/journalctl\"\n";
    let server = Server::start(dir.path(), config);
    eventually(10, "a warning naming the program", || {
        server.stderr.lock().unwrap().iter().any(|l| l.contains("/nonexistent/journalctl")).then_some(())
    });
    let health: Value = client().get(format!("{}/healthz", server.url)).send().unwrap().json().unwrap_or(Value::Null);
    assert_ne!(health, Value::Null);
}
