//! A real scanner against a really injectable app: Debian's `sqlmap`
//! against a tiny app whose SQLite query is built by string concatenation
//! (tests/fixtures/injectable_app.py), through `rampart proxy`. In detect
//! mode everything is forwarded and sqlmap finds the injection (so the app
//! is truly vulnerable and the test can tell); in block mode it does not.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

mod util;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use util::{Reaped, standalone_proxy};

/// The injectable app on a free loopback port, and its URL.
fn injectable_app() -> (Reaped, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/injectable_app.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e})"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("listening ").unwrap_or_else(|| panic!("the app said {line:?}"));
    let url = format!("http://127.0.0.1:{port}");
    (Reaped(child), url)
}

/// sqlmap's verdict on `url`'s `id`: its report, and whether it found an injection.
fn sqlmap(url: &str, output: &Path) -> (String, bool) {
    let out = Command::new("sqlmap")
        .args(["-u", &format!("{url}/item?id=1"), "-p", "id", "--batch", "--flush-session", "--disable-coloring"])
        // Every technique at sqlmap's default level and risk; naming the
        // database spares the other databases' probes (a minute, not seconds).
        .args(["--dbms=SQLite", "--timeout=5", "--retries=0"])
        .arg(format!("--output-dir={}", output.display()))
        .env("HOME", output)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sqlmap ({e}); scripts/deps sqlmap"));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let found = report.contains("sqlmap identified the following injection point");
    (report, found)
}

#[test]
fn sqlmap_finds_the_injection_through_detect_mode_and_not_through_block_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, app_url) = injectable_app();

    let (watching, proxy, events) = standalone_proxy(&["--upstream", &app_url, "--mode", "detect"]);
    let (report, found) = sqlmap(&proxy, &dir.path().join("detect"));
    assert!(found, "the app is injectable and detect mode forwards everything:\n{report}");
    let would = events.lock().unwrap().iter().filter(|l| l.contains("\"action\":\"would_block\"")).count();
    assert!(would > 0, "detect mode records what it would have blocked: {:?}", events.lock().unwrap());
    drop(watching);

    let (_blocking, proxy, events) = standalone_proxy(&["--upstream", &app_url, "--mode", "block"]);
    let (report, found) = sqlmap(&proxy, &dir.path().join("block"));
    assert!(!found, "block mode stops sqlmap's payloads before the app:\n{report}");
    let blocked = events.lock().unwrap().iter().filter(|l| l.contains("\"action\":\"blocked\"")).count();
    assert!(blocked > 0, "every refusal is an event: {:?}", events.lock().unwrap());
}
