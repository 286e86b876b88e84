//! `rampart scan` end to end: formats, scenarios, exit codes, and an
//! evaluation on the real OpenSSH sample in ../shared/datasets when present.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

fn scan(args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(util::bin()).arg("scan").args(args).env_remove("RAMPART_CONFIG").output().unwrap();
    let alerts = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out.status.code().unwrap_or(-1), alerts, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn flagged(alerts: &[Value], rule: &str) -> BTreeSet<String> {
    alerts.iter().filter(|a| a["rule_id"] == rule).map(|a| a["source.ip"].as_str().unwrap().to_owned()).collect()
}

/// Lines in the shape of loghub's OpenSSH sample: an attacker making six
/// attempts in a minute, and a bystander who mistyped once.
fn auth_log() -> String {
    let mut lines = Vec::new();
    for i in 0..6 {
        let s = 10 + i * 8;
        lines.push(format!("Dec 10 07:07:{s:02} LabSZ sshd[2420{i}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=183.62.140.253  user=root"));
        lines.push(format!(
            "Dec 10 07:07:{:02} LabSZ sshd[2420{i}]: Failed password for root from 183.62.140.253 port {} ssh2",
            s + 2,
            40000 + i
        ));
    }
    lines.push("Dec 10 07:09:00 LabSZ sshd[24300]: Failed password for alice from 192.0.2.44 port 51000 ssh2".into());
    lines.push("Dec 10 07:09:05 LabSZ sshd[24300]: Accepted password for alice from 192.0.2.44 port 51000 ssh2".into());
    lines.push("\u{0}\u{1}binary garbage \u{fffd} that is not syslog".into());
    lines.join("\n") + "\n"
}

#[test]
fn brute_force_in_an_auth_log_is_flagged_and_a_single_failure_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, auth_log()).unwrap();
    let (code, alerts, stderr) = scan(&[log.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(flagged(&alerts, "ssh-brute-force"), BTreeSet::from(["183.62.140.253".to_owned()]));
    let alert = alerts.iter().find(|a| a["rule_id"] == "ssh-brute-force").unwrap();
    // Six attempts: six sshd failures; the pam lines are counted by their own rule.
    assert_eq!(alert["count"], 6);
    assert!(alert["first_seen"].as_str().unwrap().ends_with("-12-10T07:07:12.000Z"));
    assert_eq!(flagged(&alerts, "pam-brute-force"), BTreeSet::from(["183.62.140.253".to_owned()]));
    assert!(flagged(&alerts, "ssh-slow-brute-force").is_empty(), "six attempts are not a slow campaign");
    assert!(stderr.contains("15 lines, 14 parsed, 1 unparsed, 2 alerts"), "{stderr}");
}

#[test]
fn web_logs_are_detected_automatically_and_attacks_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut lines = vec![
        r#"98.159.226.245 - - [22/Dec/2022:11:55:04 -0800] "HEAD /bak/backup.zip HTTP/1.1" 301 181 "-" "-""#.to_owned(),
        r#"125.78.229.99 - - [22/Oct/2021:12:27:06 -0700] "GET /uploads/dede/sys_verifies.php?action=getfiles&refiles%5B1%5D=%5C%22;eval($_POST%5Bysy%5D);die();// HTTP/1.1" 418 746 "-" "Mozilla/5.0""#.to_owned(),
        r#"203.0.113.50 - - [22/Oct/2021:12:30:00 -0700] "GET /product.php?id=1%27%20OR%20%271%27=%271 HTTP/1.1" 200 10 "-" "sqlmap/1.7.2#stable (https://sqlmap.org)""#.to_owned(),
    ];
    lines.extend((0..40).map(|i| format!(r#"66.249.66.1 - - [22/Oct/2021:13:00:{:02} -0700] "GET /blog/post-{i} HTTP/1.1" 200 5120 "-" "Mozilla/5.0 (compatible; Googlebot/2.1)""#, i)));
    std::fs::write(&log, lines.join("\n")).unwrap();
    let (code, alerts, stderr) = scan(&[log.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let rules: BTreeSet<&str> = alerts.iter().map(|a| a["rule_id"].as_str().unwrap()).collect();
    assert_eq!(
        rules,
        BTreeSet::from([
            "web-code-injection",
            "web-injection-classified",
            "web-scanner-user-agent",
            "web-sensitive-path",
            "web-sqli"
        ]),
        "{alerts:?}"
    );
    assert!(flagged(&alerts, "web-sqli").contains("203.0.113.50"));
    assert!(!alerts.iter().any(|a| a["source.ip"] == "66.249.66.1"));
}

#[test]
fn unreadable_input_exits_2_but_scans_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, auth_log()).unwrap();
    let (code, alerts, stderr) = scan(&[dir.path().join("missing.log").to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.log"), "{stderr}");
    assert!(!alerts.is_empty());
}

#[test]
fn regex_format_needs_a_pattern_and_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let lines: Vec<String> =
        (0..6).map(|i| format!("2024-05-01T10:00:0{i}Z LOGIN_FAILED user=u{i} ip=203.0.113.77")).collect();
    std::fs::write(&log, lines.join("\n")).unwrap();
    let (code, _, stderr) = scan(&["--format", "regex", log.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--regex"), "{stderr}");
    let pattern =
        r"^(?P<timestamp>\S+) LOGIN_(?P<event__outcome>FAILED) user=(?P<user__name>\S+) ip=(?P<source__ip>\S+)$";
    // The capture says FAILED; ECS wants `failure`, so map it with a rule-less check:
    let (code, alerts, stderr) = scan(&["--format", "regex", "--regex", pattern, log.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("6 unparsed"), "FAILED is not an ECS outcome, so lines are refused, not guessed: {stderr}");
    assert!(alerts.is_empty());
    let pattern = r"^(?P<timestamp>\S+) LOGIN_FAILED user=(?P<user__name>\S+) ip=(?P<source__ip>\S+)$";
    let (code, _, stderr) = scan(&["--format", "regex", "--regex", pattern, log.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stderr.contains("6 parsed, 0 unparsed"), "{stderr}");
}

/// Evaluation on loghub's real OpenSSH sample (2,000 lines, no labels). The
/// ground truth is computed here from the raw text, independently of
/// Rampart's parser: failed-password attempts per source address.
#[test]
fn openssh_sample_flags_the_real_brute_forcers_and_nobody_with_one_failure() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/logs/loghub/OpenSSH_2k.log");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} is not present", path.display());
        return;
    };
    let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.split("Failed password for ").nth(1)
            && let Some(ip) = rest.rsplit(" from ").next().and_then(|r| r.split(' ').next())
        {
            *attempts.entry(ip.to_owned()).or_default() += 1;
        }
    }
    let (code, alerts, stderr) = scan(&[path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stderr.contains("2000 lines, 2000 parsed, 0 unparsed"), "{stderr}");
    let fast = flagged(&alerts, "ssh-brute-force");
    let any: BTreeSet<String> = fast.union(&flagged(&alerts, "ssh-slow-brute-force")).cloned().collect();
    // Everyone with five or more failed passwords is caught by one of the two scenarios…
    for (ip, n) in &attempts {
        if *n >= 5 {
            assert!(any.contains(ip), "{ip} made {n} attempts and was not flagged");
        }
    }
    // …the three loudest by the fast one, and nobody with a single failure by either.
    for loud in ["183.62.140.253", "187.141.143.180", "103.99.0.122"] {
        assert!(fast.contains(loud), "{loud}");
    }
    for (ip, n) in &attempts {
        if *n <= 1 {
            assert!(!any.contains(ip), "{ip} made one attempt and was flagged");
        }
    }
}

/// wapiti's probes as they land in an access log (command injections the
/// phrase lists never knew, traversals, a sensitive path): the classifier
/// names the injections and `web-probing` calls the address a scanner,
/// while a visitor with one odd URL is only noted.
#[test]
fn a_scanner_probing_with_many_attacks_is_a_prober_and_one_odd_url_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let probes = [
        "/index.php?page=%3Benv%3B",
        "/index.php?page=%7Csleep%2060%3B",
        "/index.php?page=a%60sleep%2060%60",
        "/index.php?file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/index.php?file=....%2F%2F....%2F%2Fetc%2Fhosts",
        "/.git/config",
    ];
    let mut lines: Vec<String> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(r#"198.51.100.23 - - [30/Nov/2026:06:00:{i:02} +0000] "GET {p} HTTP/1.1" 200 10 "-" "Mozilla/5.0""#)
        })
        .collect();
    lines.push(r#"192.0.2.80 - - [30/Nov/2026:06:00:30 +0000] "GET /index.php?page=%3Benv%3B HTTP/1.1" 200 10 "-" "Mozilla/5.0""#.into());
    lines.extend((0..20).map(|i| format!(r#"192.0.2.81 - - [30/Nov/2026:06:01:{i:02} +0000] "GET /shop?q=red+shoes&page={i} HTTP/1.1" 200 10 "-" "Mozilla/5.0""#)));
    std::fs::write(&log, lines.join("\n")).unwrap();
    let (code, alerts, stderr) = scan(&[log.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(flagged(&alerts, "web-probing"), BTreeSet::from(["198.51.100.23".to_owned()]), "{alerts:?}");
    assert!(flagged(&alerts, "web-injection-classified").contains("198.51.100.23"), "{alerts:?}");
    assert!(!alerts.iter().any(|a| a["source.ip"] == "192.0.2.81"), "the shopper is never flagged");
}

/// Six failures from an attacker and one from a bystander, per service, in
/// each daemon's wording: the attacker is flagged by that service's rule
/// (and by no SSH rule), the bystander by none.
#[test]
fn other_services_brute_force_is_flagged_by_their_own_rules() {
    let dir = tempfile::tempdir().unwrap();
    let mut syslog = Vec::new();
    for i in 0..6 {
        syslog.push(format!("Dec  1 10:00:{i:02} mail postfix/smtpd[81{i}]: warning: unknown[198.51.100.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"));
        syslog.push(format!("Dec  1 10:01:{i:02} mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<u{i}>, method=PLAIN, rip=198.51.100.2, lip=10.0.0.2, TLS"));
        syslog.push(format!("Dec  1 10:02:{i:02} ftp proftpd[90{i}]: ftp.example.org (198.51.100.3[198.51.100.3]) - USER u{i} (Login failed): Incorrect password"));
        syslog.push(format!("Dec  1 10:03:{i:02} db mariadbd[77]: 2026-12-01 10:03:{i:02} 3{i} [Warning] Access denied for user 'root'@'198.51.100.4' (using password: YES)"));
    }
    syslog.push("Dec  1 10:05:00 mail postfix/smtpd[899]: warning: unknown[192.0.2.50]: SASL LOGIN authentication failed: UGFzc3dvcmQ6".into());
    // A user whose agent offers six keys before the one that works: no guess.
    for i in 0..6 {
        syslog.push(format!("Dec  1 10:08:0{i} host sshd[55]: Failed publickey for git from 192.0.2.60 port 57904 ssh2: ED25519 SHA256:k{i}"));
    }
    syslog.push(
        "Dec  1 10:08:07 host sshd[55]: Accepted publickey for git from 192.0.2.60 port 57904 ssh2: ED25519 SHA256:k7"
            .into(),
    );
    let syslog_file = dir.path().join("mail.log");
    std::fs::write(&syslog_file, syslog.join("\n") + "\n").unwrap();
    let nginx: Vec<String> = (0..6)
        .map(|i| format!("2026/12/01 10:04:{i:02} [error] 12#12: *{i} user \"admin\": password mismatch, client: 198.51.100.5, server: x, request: \"GET /admin HTTP/1.1\", host: \"x\""))
        .chain(["2026/12/01 10:06:00 [error] 12#12: *9 user \"bob\": password mismatch, client: 192.0.2.51, server: x".into()])
        .collect();
    let nginx_file = dir.path().join("error.log");
    std::fs::write(&nginx_file, nginx.join("\n") + "\n").unwrap();
    let vsftpd: Vec<String> = (0..6)
        .map(|i| format!("Tue Dec  1 10:07:0{i} 2026 [pid 4{i}] [u{i}] FAIL LOGIN: Client \"198.51.100.6\""))
        .collect();
    let vsftpd_file = dir.path().join("vsftpd.log");
    std::fs::write(&vsftpd_file, vsftpd.join("\n") + "\n").unwrap();

    let files = [&syslog_file, &nginx_file, &vsftpd_file].map(|f| f.to_str().unwrap().to_owned());
    let (code, alerts, stderr) = scan(&files.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    let one = |ip: &str| BTreeSet::from([ip.to_owned()]);
    let mail: BTreeSet<String> = ["198.51.100.1", "198.51.100.2"].map(str::to_owned).into();
    assert_eq!(flagged(&alerts, "mail-brute-force"), mail);
    assert_eq!(flagged(&alerts, "ftp-brute-force"), ["198.51.100.3", "198.51.100.6"].map(str::to_owned).into());
    assert_eq!(flagged(&alerts, "database-brute-force"), one("198.51.100.4"));
    assert_eq!(flagged(&alerts, "http-auth-brute-force"), one("198.51.100.5"));
    for rule in ["ssh-brute-force", "ssh-credential-stuffing", "ssh-slow-brute-force"] {
        assert!(flagged(&alerts, rule).is_empty(), "{rule}: {alerts:?}");
    }
    assert!(stderr.contains("0 unparsed"), "{stderr}");
}

#[test]
fn output_table_summarises_per_attacker_and_events_shows_each_parsed_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, auth_log()).unwrap();
    let run = |output: &str| {
        let out = Command::new(util::bin())
            .args(["scan", "--output", output, log.to_str().unwrap()])
            .env_remove("RAMPART_CONFIG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run("table");
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].starts_with("ATTACKER") && rows[0].ends_with("RULES"), "{table}");
    assert!(rows[1].starts_with("183.62.140.253") && rows[1].contains("pam-brute-force, ssh-brute-force"), "{table}");
    assert_eq!(rows.len(), 3, "{table}");
    let events: Vec<Value> = run("events").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 14, "one per parsed line");
    assert_eq!(
        (events[1]["line"].as_i64(), events[1]["event"]["source"]["ip"].as_str()),
        (Some(2), Some("183.62.140.253"))
    );
    assert_eq!(events[1]["event"]["event"]["action"], "ssh_failed_password");
}
