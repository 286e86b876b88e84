//! The dashboard in headless Chromium: runs tests/ui/dashboard.test.mjs
//! (Playwright driving Debian's `chromium`) against this build of
//! `rampart`, inside a fresh network namespace so the enforce-mode bans it
//! makes land in that namespace's nftables. Needs root (as CI has) and what
//! `scripts/test` installs: chromium, Node.js and `npm ci` in tests/ui.
//! Screenshots of every view are left in target/ui-artifacts.

#![allow(clippy::unwrap_used)]

mod util;

use std::path::PathBuf;
use std::process::Command;

struct Namespace(String);

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn dashboard_in_headless_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ui = root.join("tests/ui");
    assert!(
        ui.join("node_modules/playwright-core").is_dir(),
        "tests/ui/node_modules is missing: scripts/test runs `npm ci` there"
    );
    assert!(PathBuf::from("/usr/bin/chromium").exists(), "chromium is missing: scripts/test installs it");
    let ns = Namespace(format!("rampart-ui-{}", std::process::id()));
    assert!(Command::new("ip").args(["netns", "add", &ns.0]).status().unwrap().success(), "ip netns add (root?)");
    assert!(
        Command::new("ip").args(["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"]).status().unwrap().success()
    );
    let artifacts = root.join("target/ui-artifacts");
    // Last run's screenshots must not pass for this run's.
    let _ = std::fs::remove_dir_all(&artifacts);
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.0, "node", "--test", "--test-reporter=spec", "dashboard.test.mjs"])
        .current_dir(&ui)
        .env("UI_RAMPART_BIN", util::bin())
        .env("ARTIFACTS", &artifacts)
        .output()
        .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser tests failed:\n{report}");
    for view in [
        "overview",
        "overview-24h",
        "overview-24h-simulated",
        "incidents-simulated",
        "stream",
        "search",
        "alerts",
        "incidents",
        "incident",
        "decisions",
        "actions",
        "host",
        "models",
        "rules",
        "overview-phone",
        "alerts-phone",
    ] {
        assert!(artifacts.join(format!("{view}.png")).is_file(), "no screenshot of {view}");
    }
}
