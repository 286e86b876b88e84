//! Syslog headers: RFC 3164 (BSD, `Dec 10 06:55:46 host app[pid]: msg`, with
//! or without hostname, optionally with a year or an RFC 3339 stamp as
//! rsyslog writes it) and RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID
//! SD MSG`).
//!
//! Hand-written rather than regex: this runs once per log line, and a
//! capture-group regex costs more than the whole per-line budget.

use rampart_core::time;

/// The parts of a syslog line a detector cares about.
#[derive(Debug, Clone, PartialEq)]
pub struct SyslogLine<'a> {
    pub timestamp_ms: i64,
    pub host: Option<&'a str>,
    pub app: &'a str,
    pub pid: Option<u32>,
    pub message: &'a str,
}

pub(crate) const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Parses a syslog line. `year` fills in RFC 3164's missing year (the caller
/// picks it so a December log read in January lands in the right year).
pub fn parse(line: &str, year: i32) -> Option<SyslogLine<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    // An optional <PRI> prefix.
    let rest = match line.strip_prefix('<') {
        Some(r) => {
            let end = r.find('>')?;
            r[..end].parse::<u8>().ok()?;
            &r[end + 1..]
        }
        None => line,
    };
    if let Some(r5424) = rest.strip_prefix("1 ") {
        return parse_5424(r5424);
    }
    let (timestamp_ms, rest) = bsd_timestamp(rest, year).or_else(|| iso_timestamp(rest))?;
    let rest = rest.strip_prefix(' ')?;
    // Host then tag, or tag alone (a local log without hostname).
    let first_end = rest.find(' ')?;
    let first = &rest[..first_end];
    if is_tag(first) {
        let (app, pid) = split_tag(first)?;
        return Some(SyslogLine { timestamp_ms, host: None, app, pid, message: &rest[first_end + 1..] });
    }
    let rest = &rest[first_end + 1..];
    let (tag, message) = match rest.find(": ") {
        Some(i) if i <= 64 => (&rest[..i], &rest[i + 2..]),
        // A stamped line with no tag: keep its text whole.
        _ => match rest.strip_suffix(':') {
            Some(tag) if tag.len() <= 64 => (tag, ""),
            _ => return Some(SyslogLine { timestamp_ms, host: Some(first), app: "", pid: None, message: rest }),
        },
    };
    // Tags are one word by the RFC, but `syslogd 1.4.1:` and login's
    // `-- root[2421]:` exist: take the word with a pid, else the first.
    let word = tag.split(' ').find(|w| w.contains('[')).or_else(|| tag.split(' ').find(|w| !w.is_empty()));
    let (app, pid) = word.and_then(split_tag).unwrap_or(("", None));
    Some(SyslogLine { timestamp_ms, host: Some(first), app, pid, message })
}

fn is_tag(word: &str) -> bool {
    word.ends_with(':') && word.len() > 1
}

/// `sshd[123]:`, `sshd:`, `sshd(pam_unix)[19939]:` → ("sshd", Some(123)).
fn split_tag(tag: &str) -> Option<(&str, Option<u32>)> {
    let tag = tag.strip_suffix(':').unwrap_or(tag);
    let (name, pid) = match tag.find('[') {
        Some(i) => (&tag[..i], tag[i + 1..].strip_suffix(']').and_then(|p| p.parse().ok())),
        None => (tag, None),
    };
    let name = name.split('(').next().unwrap_or(name);
    (!name.is_empty()).then_some((name, pid))
}

/// `Dec 10 06:55:46` or `Dec  1 06:55:46`, optionally followed by ` 2024`.
fn bsd_timestamp(s: &str, year: i32) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    // Some writers drop the day's padding: `Aug 3 15:30:49`. Read it as
    // `Aug  3 …`, one byte shorter.
    let short = b.len() >= 14 && b[3] == b' ' && b[4].is_ascii_digit() && b[5] == b' ' && b[8] == b':';
    let shift = usize::from(short);
    // ASCII first: the slices below are by byte ("Dec 10 06:55:4\u{e9}" would
    // split the last one inside a character).
    let at = |i: usize| i - if i > 4 { shift } else { 0 };
    if b.len() < at(15)
        || !b[..at(15)].is_ascii()
        || b[3] != b' '
        || b[at(6)] != b' '
        || b[at(9)] != b':'
        || b[at(12)] != b':'
    {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == &s[..3])? as u8 + 1;
    let day: u8 = s[4..at(6)].trim_start().parse().ok()?;
    let hour: u8 = s[at(7)..at(9)].parse().ok()?;
    let minute: u8 = s[at(10)..at(12)].parse().ok()?;
    let second: u8 = s[at(13)..at(15)].parse().ok()?;
    let mut rest = &s[at(15)..];
    let mut year = year;
    // Some daemons write the year after the time.
    // Bytes, not a str slice: `rest` may hold any text (the fuzzer's " La\u{fffd}…").
    if rest.len() >= 5 && rest.as_bytes()[0] == b' ' && rest.as_bytes()[1..5].iter().all(u8::is_ascii_digit) {
        let explicit: i32 = rest[1..5].parse().ok()?;
        if rest.len() == 5 || rest.as_bytes()[5] == b' ' {
            year = explicit;
            rest = &rest[5..];
        }
    }
    Some((to_ms(year, month, day, hour, minute, second, 0)?, rest))
}

/// rsyslog's high-precision form: `2024-05-01T10:00:00.123456+02:00 host …`;
/// without a zone (`2019-09-06T01:45:18`, as some forwarders write) it is
/// read as UTC.
fn iso_timestamp(s: &str) -> Option<(i64, &str)> {
    let end = s.find(' ')?;
    let stamp = &s[..end];
    let ms = time::parse_rfc3339(stamp).or_else(|| {
        let zoneless = stamp.as_bytes().get(10) == Some(&b'T')
            && stamp.get(19..).is_some_and(|fraction| !fraction.contains(['Z', '+', '-']));
        zoneless.then(|| time::parse_rfc3339(&format!("{stamp}Z"))).flatten()
    })?;
    Some((ms, &s[end..]))
}

fn parse_5424(s: &str) -> Option<SyslogLine<'_>> {
    let mut parts = s.splitn(6, ' ');
    let ts = parts.next()?;
    let host = parts.next()?;
    let app = parts.next()?;
    let procid = parts.next()?;
    let _msgid = parts.next()?;
    let rest = parts.next().unwrap_or("");
    let timestamp_ms = if ts == "-" { time::now_ms() } else { time::parse_rfc3339(ts)? };
    let message = skip_structured_data(rest)?;
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    Some(SyslogLine {
        timestamp_ms,
        host: (host != "-").then_some(host),
        app: if app == "-" { "" } else { app },
        pid: procid.parse().ok(),
        message,
    })
}

/// Skips `-` or one or more `[id k="v" …]` elements (with `\]` escapes).
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i] == b'[' {
        let mut escaped = false;
        i += 1;
        loop {
            let c = *bytes.get(i)?;
            i += 1;
            match (escaped, c) {
                (false, b'\\') => escaped = true,
                (false, b']') => break,
                _ => escaped = false,
            }
        }
    }
    let rest = s.get(i..)?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

pub(crate) fn to_ms(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8, milli: u16) -> Option<i64> {
    let month = ::time::Month::try_from(month).ok()?;
    let date = ::time::Date::from_calendar_date(year, month, day).ok()?;
    let t = ::time::Time::from_hms_milli(hour, minute, second, milli).ok()?;
    let dt = ::time::PrimitiveDateTime::new(date, t).assume_utc();
    i64::try_from(dt.unix_timestamp_nanos() / 1_000_000).ok()
}

/// How far ahead of now a year-less stamp may fall before it is taken as
/// last year's: BSD stamps are local time read as UTC, so a host east of
/// UTC writes up to 14 h "ahead".
pub const YEARLESS_SKEW_MS: i64 = 86_400_000;

/// The year to assume for year-less lines read now: this year, unless that
/// puts `month` more than a month in the future (then last year).
pub fn assumed_year(now_ms: i64, month_of_line: Option<u8>) -> i32 {
    let now = ::time::OffsetDateTime::from_unix_timestamp(now_ms / 1000).unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
    match month_of_line {
        Some(m) if m > u8::from(now.month()) + 1 => now.year() - 1,
        _ => now.year(),
    }
}

/// The month of a BSD-stamped line, for `assumed_year`.
pub fn month_of(line: &str) -> Option<u8> {
    let start = line.strip_prefix('<').and_then(|r| r.find('>').map(|i| &r[i + 1..])).unwrap_or(line);
    MONTHS.iter().position(|m| start.starts_with(m)).map(|i| i as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_ending_inside_a_character_is_refused_not_panicked_on() {
        // The 15th byte is the first of 'é': slicing the seconds by byte split it.
        assert_eq!(parse("Dec 10 06:55:4\u{e9} host sshd[1]: x", 2024), None);
        // Found by the log_lines fuzz target: the optional year after the time.
        let l = parse("Dec 10 06:55:46 La\u{fffd}[Z sr invalid user", 2024).unwrap();
        assert_eq!(l.host, Some("La\u{fffd}[Z"));
    }

    #[test]
    fn bsd_with_host_and_pid() {
        let l = parse("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186", 2024).unwrap();
        assert_eq!((l.host, l.app, l.pid), (Some("LabSZ"), "sshd", Some(24200)));
        assert_eq!(l.message, "Invalid user webmaster from 173.234.31.186");
        assert_eq!(time::format_ms(l.timestamp_ms), "2024-12-10T06:55:46.000Z");
    }

    #[test]
    fn bsd_variants() {
        // pam tag with parentheses, single-digit day, no host, explicit year, priority prefix.
        let l =
            parse("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=1.2.3.4", 2005).unwrap();
        assert_eq!((l.app, l.pid), ("sshd", Some(19939)));
        let l = parse("Jun  4 01:02:03 sshd[7]: hello", 2005).unwrap();
        assert_eq!((l.host, l.app, l.message), (None, "sshd", "hello"));
        let l = parse("Jun  4 01:02:03 2019 web1 cron[1]: x", 2005).unwrap();
        assert!(time::format_ms(l.timestamp_ms).starts_with("2019-06-04"));
        let l = parse("<38>Feb  1 00:00:00 h sshd: y", 2024).unwrap();
        assert_eq!((l.host, l.app, l.pid, l.message), (Some("h"), "sshd", None, "y"));
        // An unpadded day, and an RFC 3339 stamp without a zone (read as UTC).
        let l = parse("Aug 3 15:30:49 ksusha postfix/smtpd[17041]: warning: x", 2013).unwrap();
        assert_eq!((time::format_ms(l.timestamp_ms).as_str(), l.app), ("2013-08-03T15:30:49.000Z", "postfix/smtpd"));
        let l = parse("2019-09-06T01:45:18 srv mysqld: z", 2013).unwrap();
        assert_eq!((time::format_ms(l.timestamp_ms).as_str(), l.app), ("2019-09-06T01:45:18.000Z", "mysqld"));
        assert!(parse("Aug 3 1", 2013).is_none() && parse("Aug 3 15:30:4\u{e9} h x: y", 2013).is_none());
    }

    #[test]
    fn odd_tags_from_real_logs() {
        let l = parse("Jun 19 04:09:11 combo syslogd 1.4.1: restart.", 2005).unwrap();
        assert_eq!((l.app, l.message), ("syslogd", "restart."));
        let l = parse("Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2", 2005).unwrap();
        assert_eq!((l.app, l.pid, l.message), ("root", Some(2421), "ROOT LOGIN ON tty2"));
        let l = parse("Jul  7 08:06:15 combo no tag here at all", 2005).unwrap();
        assert_eq!((l.app, l.message), ("", "no tag here at all"));
    }

    #[test]
    fn rsyslog_iso_stamp() {
        let l = parse(
            "2024-05-01T10:00:00.123456+02:00 web1 sshd[9]: Accepted publickey for a from 10.0.0.1 port 1 ssh2",
            1,
        )
        .unwrap();
        assert_eq!(time::format_ms(l.timestamp_ms), "2024-05-01T08:00:00.123Z");
        assert_eq!(l.host, Some("web1"));
    }

    #[test]
    fn rfc5424_with_and_without_structured_data() {
        let l = parse(r#"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com sshd 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Appl\]ication"] Failed password for root from 10.1.1.1 port 22 ssh2"#, 1).unwrap();
        assert_eq!((l.host, l.app, l.pid), (Some("mymachine.example.com"), "sshd", Some(8710)));
        assert_eq!(l.message, "Failed password for root from 10.1.1.1 port 22 ssh2");
        let l = parse("<34>1 2003-10-11T22:14:15Z host app - - - plain", 1).unwrap();
        assert_eq!((l.pid, l.message), (None, "plain"));
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for bad in [
            "",
            "Dec",
            "Dec 99 06:55:46 h a: m",
            "Xyz 10 06:55:46 h a: m",
            "<999>x",
            "<34>1 nope",
            "Dec 10 06:55:46",
            "Dec 10 06:55:46 host",
        ] {
            assert!(parse(bad, 2024).is_none(), "{bad}");
        }
    }

    #[test]
    fn year_inference_handles_new_year() {
        let jan_2025 = 1_736_000_000_000; // 2025-01-04
        assert_eq!(assumed_year(jan_2025, Some(12)), 2024);
        assert_eq!(assumed_year(jan_2025, Some(1)), 2025);
    }
}
