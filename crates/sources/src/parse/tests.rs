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
        for format in [LogFormat::Syslog, LogFormat::Combined, LogFormat::Json] {
            let _ = LineParser::new(format, 2024).parse(&line, 0);
        }
        let _ = sshd::recognise(&line);
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
