//! The parsers on real sample lines (quoted from public logs: loghub's
//! OpenSSH and Linux samples, secrepo access logs) and on malformed input.

use proptest::prelude::*;

use super::*;

const SSHD: &[&str] = &[
    "Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!",
    "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    "Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
    "Dec 10 07:02:47 LabSZ sshd[24203]: Connection closed by 212.47.254.145 [preauth]",
    "Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
];

#[test]
fn a_yearless_stamp_takes_the_most_recent_past_date() {
    // Read on 2026-11-29: "Dec 10" is last December, not next month.
    let now = rampart_core::time::parse_rfc3339("2026-11-29T12:00:00Z").unwrap();
    let p = LineParser::new(LogFormat::Syslog, 2026);
    let e = p.parse(SSHD[1], now).unwrap().event;
    assert_eq!(rampart_core::time::format_ms(e.timestamp_ms), "2025-12-10T06:55:46.000Z");
    // Today's and yesterday's lines stay this year, even a few hours "ahead".
    let today = p.parse("Nov 29 20:00:00 host sshd[1]: Invalid user a from 192.0.2.1", now).unwrap().event;
    assert_eq!(rampart_core::time::format_ms(today.timestamp_ms), "2026-11-29T20:00:00.000Z");
    // A year written in the line is kept.
    let explicit = p.parse("Dec 10 06:55:46 2026 host sshd[1]: x", now).unwrap().event;
    assert_eq!(rampart_core::time::format_ms(explicit.timestamp_ms), "2026-12-10T06:55:46.000Z");
}

#[test]
fn syslog_sshd_lines_become_authentication_events() {
    let p = LineParser::new(LogFormat::Syslog, 2024);
    let e = p.parse(SSHD[2], 0).unwrap().event;
    assert_eq!(e.category, ["authentication"]);
    assert_eq!((e.action.as_deref(), e.outcome), (Some("ssh_failed_password"), Some(Outcome::Failure)));
    assert_eq!((e.user_name.as_deref(), e.source.port), (Some("webmaster"), Some(38926)));
    assert_eq!(e.source.ip, "173.234.31.186".parse().ok());
    assert_eq!(
        (e.host_name.as_deref(), e.process_name.as_deref(), e.process_pid),
        (Some("LabSZ"), Some("sshd"), Some(24200))
    );
    let ok = p.parse(SSHD[4], 0).unwrap().event;
    assert_eq!(ok.outcome, Some(Outcome::Success));
    let cron =
        p.parse("Jun 15 04:06:18 combo su(pam_unix)[21416]: session opened for user cyrus by (uid=0)", 0).unwrap();
    assert_eq!((cron.event.process_name.as_deref(), cron.event.action), (Some("su"), None));
}

#[test]
fn detection_picks_the_right_format() {
    assert_eq!(detect_format(SSHD, 2024), Some(LogFormat::Syslog));
    let web = [r#"1.2.3.4 - - [22/Oct/2021:00:00:12 +0200] "GET / HTTP/1.1" 200 5 "-" "curl/8""#];
    assert_eq!(detect_format(&web, 2024), Some(LogFormat::Combined));
    assert_eq!(detect_format(&[r#"{"message":"x"}"#], 2024), Some(LogFormat::Json));
    assert_eq!(detect_format(&["lorem ipsum", "dolor"], 2024), None);
}

#[test]
fn json_lines_with_mapped_keys() {
    let keys = [("ip".to_owned(), "source.ip".to_owned())].into();
    let p = LineParser::new(LogFormat::Json, 2024).with_json_keys(keys);
    let e = p.parse(r#"{"ip":"10.0.0.9","event":{"outcome":"failure"}}"#, 5).unwrap().event;
    assert_eq!(e.source.ip, "10.0.0.9".parse().ok());
    assert!(p.parse(r#"{"ip":"nope"}"#, 5).unwrap_err().reason.contains("source.ip"));
}

#[test]
fn regex_format_with_named_captures() {
    let p = LineParser::regex(
        r"^(?P<timestamp>\S+) login (?P<event__outcome>\w+) user=(?P<user__name>\S+) ip=(?P<source__ip>\S+)$",
        2024,
    )
    .unwrap();
    let e = p.parse("2024-05-01T10:00:00Z login failure user=bob ip=192.0.2.8", 1_750_000_000_000).unwrap().event;
    assert_eq!((e.user_name.as_deref(), e.outcome), (Some("bob"), Some(Outcome::Failure)));
    assert_eq!(e.source.ip, "192.0.2.8".parse().ok());
    assert!(p.parse("something else", 0).is_err());
    assert!(LineParser::regex("(unclosed", 2024).is_err());
    assert!(LineParser::regex(r"\d+", 2024).is_err());
}

#[test]
fn unparsed_lines_are_kept_and_long_ones_cut() {
    let p = LineParser::new(LogFormat::Syslog, 2024);
    let line = "x".repeat(MAX_LINE_BYTES + 10);
    let err = p.parse(&line, 0).unwrap_err();
    let raw = p.raw_event(&line, 0, &err);
    assert_eq!(raw.kind, EventKind::PipelineError);
    assert_eq!(raw.message.as_ref().map(String::len), Some(MAX_LINE_BYTES));
    assert_eq!(raw.extra.get("log.truncated"), Some(&Value::from(true)));
}

proptest! {
    // Hostile bytes (lossily decoded, as the readers do) never panic any parser.
    #[test]
    fn arbitrary_lines_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let line = String::from_utf8_lossy(&bytes);
        for format in LogFormat::LINE_FORMATS {
            let _ = LineParser::new(format, 2024).parse(&line, 0);
        }
        let _ = sshd::recognise(&line);
    }

    // Every prefix of a daemon's line, with a two-byte character spliced
    // in: the parsers slice by byte and must never split a character.
    #[test]
    fn truncated_daemon_lines_never_panic(cut in 0usize..220, which in 0usize..6, splice in 0usize..220) {
        let lines = [
            APACHE_ERROR[2],
            "[Tue Dec 01 10:00:00.123456 2026] [auth_basic:error] [pid 12:tid 34] [client 192.0.2.7:51234] AH01617: user bob: authentication failure for \"/\": Password Mismatch",
            "2026/12/01 10:00:00 [error] 1234#1234: *5 user \"bob\": password mismatch, client: 192.0.2.7, server: x",
            "Tue Dec  1 10:00:00 2026 [pid 1234] [bob] FAIL LOGIN: Client \"192.0.2.7\"",
            "2026-12-01T10:00:00.123456Z 8 [Note] [MY-010926] [Server] Access denied for user 'root'@'192.0.2.7'",
            "2026-12-01 10:00:00.123 +01 [1234] 192.0.2.7(5555) bob@db FATAL:  password authentication failed for user \"bob\"",
        ];
        let line = lines[which];
        let at = splice.min(line.len());
        let spliced = format!("{}é{}", &line[..at], &line[at..]);
        for text in [&line[..cut.min(line.len())], spliced.as_str()] {
            for format in LogFormat::LINE_FORMATS {
                let _ = LineParser::new(format, 2024).parse(text, 0);
            }
        }
    }

    // Near-misses of real lines: every prefix of a valid line is handled.
    #[test]
    fn truncated_real_lines_never_panic(cut in 0usize..200, which in 0usize..5) {
        let line = SSHD[which];
        let cut = cut.min(line.len());
        let _ = LineParser::new(LogFormat::Syslog, 2024).parse(&line[..cut], 0);
        let web = r#"shop:443 203.0.113.9 - - [01/Jan/2024:00:00:00 +0000] "GET /?q=\"x\" HTTP/1.1" 404 10 "-" "ua" 0.005"#;
        let _ = LineParser::new(LogFormat::Combined, 2024).parse(&web[..cut.min(web.len())], 0);
    }
}

/// loghub's Apache error-log sample (2.0-era, 2005).
const APACHE_ERROR: &[&str] = &[
    "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
    "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
    "[Sun Dec 04 05:15:09 2005] [error] [client 222.166.160.184] Directory index forbidden by rule: /var/www/html/",
];

#[test]
fn daemon_logs_become_service_events() {
    let p = LineParser::new(LogFormat::ApacheError, 2026);
    let e = p.parse(APACHE_ERROR[2], 0).unwrap().event;
    assert_eq!((e.source.ip, e.process_name.as_deref()), ("222.166.160.184".parse().ok(), Some("apache2")));
    assert!(matches!(e.field("log.level"), Some(rampart_core::FieldValue::Str("error"))));
    assert_eq!(e.message.as_deref(), Some("Directory index forbidden by rule: /var/www/html/"));
    let line = "[Tue Dec 01 10:00:00.123456 2026] [auth_basic:error] [pid 12:tid 34] [client 192.0.2.7:51234] AH01617: user bob: authentication failure for \"/\": Password Mismatch";
    let e = p.parse(line, 0).unwrap().event;
    assert_eq!(
        (e.category.as_slice(), e.action.as_deref()),
        (&["authentication".to_owned()][..], Some("http_auth_failed"))
    );
    assert_eq!((e.outcome, e.user_name.as_deref()), (Some(Outcome::Failure), Some("bob")));
    assert_eq!((e.source.ip, e.extra.get("service.type")), ("192.0.2.7".parse().ok(), Some(&Value::from("http"))));

    let nginx = LineParser::new(LogFormat::NginxError, 2026);
    let e = nginx.parse("2026/12/01 10:00:00 [error] 1234#1234: *5 user \"bob\" was not found in \"/etc/nginx/htpasswd\", client: 192.0.2.8, server: x, request: \"GET / HTTP/1.1\", host: \"x\"", 0).unwrap().event;
    assert_eq!((e.action.as_deref(), e.source.ip), (Some("http_auth_failed"), "192.0.2.8".parse().ok()));

    let syslog = LineParser::new(LogFormat::Syslog, 2026);
    let e = syslog.parse("Dec  1 10:00:00 mail postfix/smtpd[811]: warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", 0).unwrap().event;
    assert_eq!((e.action.as_deref(), e.source.ip), (Some("smtp_auth_failed"), "192.0.2.9".parse().ok()));
    assert_eq!(e.extra.get("service.type"), Some(&Value::from("smtp")));
    // pam_unix's failures under any service, not only sshd.
    let e = syslog.parse("Dec  1 10:00:00 ftp vsftpd[90]: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=bob rhost=192.0.2.10", 0).unwrap().event;
    assert_eq!((e.action.as_deref(), e.source.ip), (Some("pam_authentication_failure"), "192.0.2.10".parse().ok()));

    for (format, line) in [
        (LogFormat::Vsftpd, "Tue Dec  1 10:00:00 2026 [pid 1234] [bob] FAIL LOGIN: Client \"192.0.2.7\""),
        (
            LogFormat::MysqlError,
            "2026-12-01T10:00:00.123456Z 8 [Note] [MY-010926] [Server] Access denied for user 'root'@'192.0.2.7' (using password: YES)",
        ),
        (
            LogFormat::Postgresql,
            "2026-12-01 10:00:00.123 UTC [1234] 192.0.2.7(5555) bob@db FATAL:  password authentication failed for user \"bob\"",
        ),
    ] {
        let e = LineParser::new(format, 2026).parse(line, 0).unwrap().event;
        assert_eq!((e.outcome, e.source.ip), (Some(Outcome::Failure), "192.0.2.7".parse().ok()), "{line}");
        assert_eq!(detect_format(&[line, line], 2026), Some(format), "{line}");
    }
    assert_eq!(detect_format(APACHE_ERROR, 2026), Some(LogFormat::ApacheError));
}
