//! The one-shot commands: `rules test`, `config print`, `version`.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

mod util;

use std::process::Command;

fn rampart(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(util::bin());
    cmd.args(args).env_remove("RAMPART_CONFIG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rules_test_prints_the_rules_that_fire_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("admin.yaml"),
        "id: admin-panel-probe\ntitle: Admin panel probe\nseverity: low\n\
         condition:\n  all:\n    - { field: url.original, starts_with: /admin, case_insensitive: true }\n    - { field: source.ip, cidr: [203.0.113.0/24] }\n",
    )
    .unwrap();
    let sample = dir.path().join("sample.ndjson");
    std::fs::write(
        &sample,
        "{\"url\":{\"original\":\"/ADMIN/login\"},\"source\":{\"ip\":\"203.0.113.5\"}}\n\
         \n\
         {\"url\":{\"original\":\"/admin\"},\"source\":{\"ip\":\"198.51.100.1\"}}\n\
         {\"url\":{\"original\":\"/admin/x\"},\"source\":{\"ip\":\"203.0.113.5\"}}\n",
    )
    .unwrap();
    let (ok, out, err) = rampart(&["rules", "test", rules.to_str().unwrap(), sample.to_str().unwrap()], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("admin-panel-probe"), "{out}");
    assert!(out.contains("source.ip=203.0.113.5 count=2 lines=1,4"), "{out}");
    assert!(err.contains("3 events, 1 rules, 1 alerts from 1 rules"), "{err}");

    let (ok, out, _) = rampart(&["rules", "test", "--json", rules.to_str().unwrap(), sample.to_str().unwrap()], &[]);
    assert!(ok);
    let alert: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(alert["count"], 2);
}

#[test]
fn rules_test_names_the_file_rule_and_field_of_a_bad_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "id: broken\ntitle: t\nseverity: high\ncondition: { field: message, regex: '[' }\n",
    )
    .unwrap();
    let sample = dir.path().join("s.ndjson");
    std::fs::write(&sample, "{}\n").unwrap();
    let (ok, _, err) = rampart(&["rules", "test", dir.path().to_str().unwrap(), sample.to_str().unwrap()], &[]);
    assert!(!ok);
    assert!(err.contains("bad.yaml: rule `broken`: `condition.regex`: invalid regex"), "{err}");

    std::fs::write(
        dir.path().join("bad.yaml"),
        "id: fine\ntitle: t\nseverity: high\ncondition: { field: message, exists: true }\n",
    )
    .unwrap();
    std::fs::write(&sample, "{}\n{\"source.ip\": 5}\n").unwrap();
    let (ok, _, err) = rampart(&["rules", "test", dir.path().to_str().unwrap(), sample.to_str().unwrap()], &[]);
    assert!(!ok);
    assert!(err.contains("line 2: field `source.ip`"), "{err}");
}

#[test]
fn import_sigma_converts_real_sigmahq_rules_and_names_the_ones_it_cannot() {
    let sigma = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../detect/tests/fixtures/sigma");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules");
    let (ok, _, err) =
        rampart(&["rules", "import-sigma", sigma.to_str().unwrap(), "--out", out.to_str().unwrap()], &[]);
    assert!(ok, "{err}");
    assert!(err.contains("11 of 12 Sigma rules converted"), "{err}");
    assert!(err.contains("lnx_auditd_binary_padding.yml") && err.contains("linux/auditd"), "{err}");
    let sqli = std::fs::read_to_string(out.join("sigma-5513deaf-f49a-46c2-a6c8-3f111b5cb453.yaml")).unwrap();
    assert!(sqli.starts_with("# Converted by `rampart rules import-sigma`") && sqli.contains("technique: T1190"));

    // The converted files, and the Sigma files themselves, load as a rules directory.
    let sample = dir.path().join("s.ndjson");
    std::fs::write(
        &sample,
        "{\"event\":{\"category\":\"web\"},\"http\":{\"request\":{\"method\":\"GET\"},\"response\":{\"status_code\":200}},\
         \"url\":{\"original\":\"/item?id=1%20UNION%20SELECT%20password%20FROM%20users\"},\"source\":{\"ip\":\"203.0.113.5\"},\
         \"user_agent\":{\"original\":\"sqlmap/1.7\"}}\n\
         {\"event\":{\"category\":\"web\"},\"url\":{\"original\":\"/index.html\"},\"source\":{\"ip\":\"198.51.100.1\"},\
         \"user_agent\":{\"original\":\"Mozilla/5.0\"}}\n",
    )
    .unwrap();
    for rules in [&out, &sigma] {
        let (ok, table, err) = rampart(&["rules", "test", rules.to_str().unwrap(), sample.to_str().unwrap()], &[]);
        assert!(ok, "{err}");
        assert!(table.contains("sigma-5513deaf-f49a-46c2-a6c8-3f111b5cb453") && table.contains("lines=1"), "{table}");
        assert!(!table.contains("198.51.100.1"), "{table}");
    }
}

#[test]
fn config_print_applies_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:7000\"\n[store]\nretention_days = 3\n[alerts]\nmax_evidence = 5\n")
        .unwrap();
    let (ok, out, err) = rampart(
        &["--config", file.to_str().unwrap(), "config", "print", "--data-dir", "/srv/rampart"],
        &[("RAMPART_STORE__RETENTION_DAYS", "30"), ("RAMPART_LISTEN", "127.0.0.1:7001")],
    );
    assert!(ok, "{err}");
    let config: toml::Value = toml::from_str(&out).unwrap();
    assert_eq!(config["listen"].as_str(), Some("127.0.0.1:7001"));
    assert_eq!(config["data_dir"].as_str(), Some("/srv/rampart"));
    assert_eq!(config["store"]["retention_days"].as_integer(), Some(30));
    assert_eq!(config["alerts"]["max_evidence"].as_integer(), Some(5));
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.toml");
    std::fs::write(&file, "[store]\nretention_dayz = 3\n").unwrap();
    let (ok, _, err) = rampart(&["--config", file.to_str().unwrap(), "config", "print"], &[]);
    assert!(!ok);
    assert!(err.contains("retention_dayz"), "{err}");
    let (ok, _, err) = rampart(&["config", "print"], &[("RAMPART_STORE__RETENTION_DAYS", "0")]);
    assert!(!ok);
    assert!(err.contains("store.retention_days"), "{err}");
    let (ok, _, err) = rampart(&["--config", "/nonexistent.toml", "config", "print"], &[]);
    assert!(!ok);
    assert!(err.contains("/nonexistent.toml"), "{err}");
}

#[test]
fn version_prints_the_package_version() {
    let (ok, out, _) = rampart(&["version"], &[]);
    assert!(ok);
    assert_eq!(out.trim(), format!("rampart {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn shipped_example_config_and_rules_work() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = root.join("examples/rampart.toml");
    let (ok, out, err) = rampart(&["--config", config.to_str().unwrap(), "config", "print"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("rules_dir = \"examples/rules\""), "{out}");

    let rules = root.join("examples/rules");
    let sample = root.join("examples/sample-events.ndjson");
    let (ok, out, err) =
        rampart(&["rules", "test", "--builtin", rules.to_str().unwrap(), sample.to_str().unwrap()], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("admin-panel-probe") && out.contains("203.0.113.5"), "{out}");
    assert!(!out.contains("10.1.2.3"), "{out}");
    assert!(out.contains("ssh-brute-force") && out.contains("count=5 lines=3,4,5,6,7"), "{out}");

    // The package's /etc/rampart/rampart.toml and the single-node
    // container's configuration load as shipped.
    for (file, expect) in [
        ("deploy/debian/rampart.toml", "data_dir = \"/var/lib/rampart\""),
        ("deploy/single-node.toml", "/var/log/auth.log"),
    ] {
        let path = root.join(file);
        let (ok, out, err) = rampart(&["--config", path.to_str().unwrap(), "config", "print"], &[]);
        assert!(ok, "{file}: {err}");
        assert!(out.contains(expect), "{file}: {out}");
    }
}

/// `serve` says where the dashboard is, and writes no colour codes when
/// stderr is not a terminal (a file, the journal).
#[test]
fn serve_names_the_dashboard_url_and_keeps_escape_codes_off_a_pipe() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(util::bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("RAMPART_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let line = stderr.lines().map_while(Result::ok).find(|l| l.contains("Rampart is listening.")).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.contains("dashboard=http://127.0.0.1:"), "{line}");
    assert!(!line.contains('\u{1b}'), "{line:?}");
}
