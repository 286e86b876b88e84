//! The OpenAPI document against the live server: schemathesis (from PyPI;
//! `scripts/test` installs it in a virtualenv outside the clone) generates
//! requests from `/api/v1/openapi.json` and runs every check it has: no 5xx,
//! only documented status codes and content types, answers that match
//! their schemas, schema-violating requests refused, schema-valid ones
//! accepted, auth enforced. tests/api/schemathesis.toml says why two checks
//! are narrowed. A fixed seed and a bounded number of examples per
//! operation keep the run the same every time.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

mod util;

use std::path::PathBuf;
use std::process::Command;

fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("SCHEMATHESIS_ST") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/rampart/schemathesis-venv/bin/st")
}

#[test]
fn the_server_keeps_to_its_openapi_document() {
    let st = schemathesis();
    assert!(st.is_file(), "{} is missing: scripts/test installs schemathesis", st.display());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    // Schemathesis sends wrong tokens on purpose (it checks that auth is
    // enforced); the per-address throttle would otherwise lock it out.
    let config = "[sinks]\nstdout = false\n[http]\nmax_auth_failures_per_min = 1000000\n";
    let server = util::Server::start(dir.path(), config);
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(root.join("tests/api/schemathesis.toml"))
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", server.url))
        .args(["--header", &format!("Authorization: Bearer {}", util::ADMIN)])
        .args(["--max-examples", "25", "--seed", "20261130", "--no-color", "--workers", "1"])
        // Its cache of found failures goes in the temp dir, not the clone.
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found failures:\n{report}");
    assert!(report.contains(" passed"), "schemathesis ran nothing:\n{report}");
    server.terminate();
}
