//! Daemons that write log files of their own rather than to syslog:
//! Apache's and nginx's error logs, vsftpd's log, the MySQL/MariaDB error
//! log and PostgreSQL's log. Each line gives a time, sometimes a level, a
//! pid and the client, and a message `services::recognise` reads.
//!
//! Times without a zone (all but PostgreSQL's) are local time read as UTC,
//! as BSD syslog stamps are.

use super::syslog::{MONTHS, to_ms};

/// One line of a daemon's own log.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonLine<'a> {
    pub timestamp_ms: i64,
    /// The program, as `services::recognise` names it.
    pub app: &'static str,
    pub pid: Option<u32>,
    pub level: Option<&'a str>,
    /// The client address the line names outside its message.
    pub client: Option<&'a str>,
    pub message: &'a str,
}

/// `[Sun Dec 04 04:47:44 2005] [error] [client 192.0.2.7] message` (2.2)
/// and `[Tue Dec 01 10:00:00.123456 2026] [auth_basic:error] [pid 12:tid
/// 34] [client 192.0.2.7:51234] AH01617: message` (2.4).
pub fn apache_error(line: &str) -> Option<DaemonLine<'_>> {
    let (stamp, rest) = line.strip_prefix('[')?.split_once("] ")?;
    let timestamp_ms = ctime(stamp)?;
    Some(DaemonLine { timestamp_ms, ..apache_fields(rest) })
}

/// The bracketed fields of an Apache error-log line after its time —
/// `[module:level] [pid N:tid N] [client ADDRESS:PORT]` — and the message;
/// also what `apache2`/`httpd` send to syslog (`ErrorLog syslog:`).
pub fn apache_fields(mut rest: &str) -> DaemonLine<'_> {
    let mut out = DaemonLine { timestamp_ms: 0, app: "apache2", pid: None, level: None, client: None, message: "" };
    while let Some(field) = rest.strip_prefix('[') {
        // `[client [2001:db8::1]:51548]` nests one pair of brackets.
        let close = if field.starts_with("client [") {
            field.find("]:").and_then(|i| field[i + 1..].find(']').map(|j| i + 1 + j))
        } else {
            field.find(']')
        };
        let Some(close) = close else { break };
        let (inside, after) = (&field[..close], &field[close + 1..]);
        if let Some(pid) = inside.strip_prefix("pid ") {
            out.pid = pid.split(':').next().and_then(|p| p.parse().ok());
        } else if let Some(client) = inside.strip_prefix("client ") {
            out.client = Some(strip_port(client));
        } else if out.level.is_none() && !inside.contains(' ') {
            out.level = Some(inside.rsplit(':').next().unwrap_or(inside));
        } else {
            break;
        }
        rest = after.strip_prefix(' ').unwrap_or(after);
    }
    out.message = rest;
    out
}

/// `2026/12/01 10:00:00 [error] 1234#1234: *5 message, client: 192.0.2.7,
/// server: example.org, request: "GET / HTTP/1.1", host: "example.org"`.
pub fn nginx_error(line: &str) -> Option<DaemonLine<'_>> {
    let b = line.as_bytes();
    if b.len() < 20 || !b[..20].is_ascii() || b[4] != b'/' || b[7] != b'/' || b[10] != b' ' || b[19] != b' ' {
        return None;
    }
    let timestamp_ms = to_ms(
        line[..4].parse().ok()?,
        line[5..7].parse().ok()?,
        line[8..10].parse().ok()?,
        line[11..13].parse().ok()?,
        line[14..16].parse().ok()?,
        line[17..19].parse().ok()?,
        0,
    )?;
    let (level, rest) = line[20..].strip_prefix('[')?.split_once("] ")?;
    let (pid, rest) = rest.split_once(": ")?;
    let pid = pid.split('#').next()?.parse().ok();
    // `*5 ` is the connection number.
    let rest = match rest.strip_prefix('*').and_then(|r| r.split_once(' ')) {
        Some((n, after)) if n.bytes().all(|c| c.is_ascii_digit()) => after,
        _ => rest,
    };
    let (message, client) = match nginx_trailer(rest) {
        Some((message, client)) => (message, Some(client)),
        None => (rest, None),
    };
    Some(DaemonLine { timestamp_ms, app: "nginx", pid, level: Some(level), client, message })
}

/// Splits nginx's message from its trailer `, client: IP, server: S[,
/// request: "M U V"][, upstream: "U"][, host: "H"][, referrer: "R"]`.
/// The user name in the message and the referrer at the end are the
/// client's own text and nginx escapes neither, so either can imitate a
/// trailer. The client is where the rest of the line is a trailer whose
/// values hold no spaces (a fake in the user name is followed by the real
/// trailer); reading the referrer as anything up to the line's last quote
/// must find the same one, or the line is an imitation and names no one.
fn nginx_trailer(rest: &str) -> Option<(&str, &str)> {
    let strict = trailer_at(rest, false);
    let lenient = trailer_at(rest, true);
    match (strict, lenient) {
        (Some(s), Some(l)) if s == l => Some(s),
        (None, found) => found,
        _ => None,
    }
}

/// The first `, client: ` in `rest` followed by a whole trailer.
fn trailer_at(rest: &str, any_referrer: bool) -> Option<(&str, &str)> {
    rest.match_indices(", client: ").find_map(|(i, sep)| {
        let tail = &rest[i + sep.len()..];
        let (client, mut tail) = tail.split_once(", server: ").unwrap_or((tail, ""));
        client.parse::<std::net::IpAddr>().ok()?;
        let server_end = tail.find(", ").unwrap_or(tail.len());
        if tail[..server_end].contains([' ', '"']) {
            return None;
        }
        tail = &tail[server_end..];
        for key in [", request: \"", ", upstream: \"", ", host: \"", ", referrer: \""] {
            let Some(after) = tail.strip_prefix(key) else { continue };
            if key == ", referrer: \"" && any_referrer {
                tail = if after.trim_end().ends_with('"') { "" } else { after };
                break;
            }
            let (value, after) = after.split_once('"')?;
            let spaces_allowed = if key == ", request: \"" { 2 } else { 0 };
            if value.matches(' ').count() > spaces_allowed {
                return None;
            }
            tail = after;
        }
        tail.trim_end().is_empty().then_some((&rest[..i], client))
    })
}

/// `Tue Dec  1 10:00:00 2026 [pid 1234] [bob] FAIL LOGIN: Client "192.0.2.7"`.
pub fn vsftpd(line: &str) -> Option<DaemonLine<'_>> {
    let stamp = line.get(..24)?;
    let timestamp_ms = ctime(stamp)?;
    let rest = line[24..].strip_prefix(" [pid ")?;
    let (pid, message) = rest.split_once("] ")?;
    Some(DaemonLine { timestamp_ms, app: "vsftpd", pid: pid.parse().ok(), level: None, client: None, message })
}

/// `2026-12-01T10:00:00.123456Z 8 [Note] [MY-010926] [Server] message`
/// (MySQL 8), `… 8 [Note] message` (5.7), `2026-12-01 10:00:00 8
/// [Warning] message` (MariaDB).
pub fn mysql_error(line: &str) -> Option<DaemonLine<'_>> {
    let (timestamp_ms, rest) = iso_datetime(line).or_else(|| mysql_old_datetime(line))?;
    // 5.5's lines have no thread id: `130324  0:04:00 [Warning] …`.
    if let Some(r) = rest.trim_start().strip_prefix('[') {
        let (level, message) = r.split_once("] ")?;
        return Some(DaemonLine { timestamp_ms, app: "mysqld", pid: None, level: Some(level), client: None, message });
    }
    let rest = rest.strip_prefix(' ')?;
    // The thread (connection) id, then the level.
    let (thread, rest) = rest.split_once(' ')?;
    thread.parse::<u64>().ok()?;
    let (level, mut rest) = rest.strip_prefix('[')?.split_once("] ")?;
    for prefix in ["[MY-", "[Server] ", "[Repl] ", "[InnoDB] "] {
        if rest.starts_with(prefix) {
            rest = rest.split_once("] ").map_or(rest, |(_, r)| r);
        }
    }
    let out = DaemonLine { timestamp_ms, app: "mysqld", pid: None, level: Some(level), client: None, message: rest };
    Some(out)
}

/// `2026-12-01 10:00:00.123 UTC [1234] bob@db FATAL:  message` (Debian's
/// default `log_line_prefix`, `%m [%p] %q%u@%d `; the message keeps what
/// follows the pid, so a `%h` there is still seen).
pub fn postgresql(line: &str) -> Option<DaemonLine<'_>> {
    let (mut timestamp_ms, rest) = iso_datetime(line)?;
    let (zone, rest) = rest.strip_prefix(' ')?.split_once(' ')?;
    timestamp_ms -= zone_offset_ms(zone)?;
    let (pid, message) = rest.strip_prefix('[')?.split_once("] ")?;
    // The level is the word before the first `:  ` (two spaces).
    let level = message
        .split_once(":  ")
        .and_then(|(head, _)| head.rsplit(' ').next())
        .filter(|l| ["FATAL", "ERROR", "WARNING", "LOG", "DETAIL", "STATEMENT", "HINT", "PANIC"].contains(l));
    let pid = pid.split('-').next()?.parse().ok();
    Some(DaemonLine { timestamp_ms, app: "postgres", pid, level, client: None, message })
}

/// MySQL 5.5 and early MariaDB: `130324  0:04:00` (YYMMDD, the hour
/// space-padded) and `2015-10-07  8:25:38`.
fn mysql_old_datetime(line: &str) -> Option<(i64, &str)> {
    let (date, rest) = line.split_once(' ')?;
    let (y, mo, d) = match date.len() {
        6 if date.bytes().all(|b| b.is_ascii_digit()) => {
            (2000 + date[..2].parse::<i32>().ok()?, date[2..4].parse().ok()?, date[4..6].parse().ok()?)
        }
        10 if date.is_ascii() && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-' => {
            (date[..4].parse().ok()?, date[5..7].parse().ok()?, date[8..10].parse().ok()?)
        }
        _ => return None,
    };
    let rest = rest.trim_start_matches(' ');
    let (clock, rest) = rest.split_once(' ')?;
    let (h, m, s, milli) = clock_of(clock)?;
    Some((to_ms(y, mo, d, h, m, s, milli)?, rest))
}

/// `Sun Dec 04 04:47:44 2005`, `Tue Dec  1 10:00:00.123456 2026`.
fn ctime(stamp: &str) -> Option<i64> {
    let mut words = stamp.split_whitespace();
    let _weekday = words.next()?;
    let month = words.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u8 + 1;
    let day: u8 = words.next()?.parse().ok()?;
    let clock = words.next()?;
    let year: i32 = words.next()?.parse().ok()?;
    let (hour, minute, second, milli) = clock_of(clock)?;
    to_ms(year, month, day, hour, minute, second, milli)
}

/// `HH:MM:SS` with an optional fraction.
fn clock_of(clock: &str) -> Option<(u8, u8, u8, u16)> {
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':');
    let (h, m, s) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    let digits: String = fraction.chars().take(3).collect();
    let milli = if digits.is_empty() { 0 } else { format!("{digits:0<3}").parse().ok()? };
    Some((h, m, s, milli))
}

/// `2026-12-01T10:00:00.123456Z` or `2026-12-01 10:00:00[.123]`, and the rest.
fn iso_datetime(line: &str) -> Option<(i64, &str)> {
    let b = line.as_bytes();
    if b.len() < 19 || !b[..19].is_ascii() || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let end = line[19..].find([' ', 'Z']).map_or(line.len(), |i| i + 19);
    let (h, m, s, milli) = clock_of(&line[11..end])?;
    let ms = to_ms(line[..4].parse().ok()?, line[5..7].parse().ok()?, line[8..10].parse().ok()?, h, m, s, milli)?;
    let rest = &line[end..];
    Some((ms, rest.strip_prefix('Z').unwrap_or(rest)))
}

/// `UTC`, `GMT`, `+01`, `-0530`; `None` for named zones we cannot place.
fn zone_offset_ms(zone: &str) -> Option<i64> {
    if matches!(zone, "UTC" | "GMT" | "Z") {
        return Some(0);
    }
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits = digits.replace(':', "");
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse::<i64>().ok()?, digits[2..].parse::<i64>().ok()?),
        _ => return None,
    };
    Some(sign * (h * 60 + m) * 60_000)
}

/// `192.0.2.7:51234` → `192.0.2.7`; IPv6 addresses keep their colons.
fn strip_port(client: &str) -> &str {
    if client.parse::<std::net::IpAddr>().is_ok() {
        return client;
    }
    match client.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.trim_matches(['[', ']']),
        _ => client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_daemon_line_gives_its_time_client_and_message() {
        let l = apache_error("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6").unwrap();
        assert_eq!((l.level, l.client, l.message), (Some("error"), None, "mod_jk child workerEnv in error state 6"));
        assert_eq!(rampart_core::time::format_ms(l.timestamp_ms), "2005-12-04T04:47:44.000Z");
        let l = apache_error("[Tue Dec 01 10:00:00.123456 2026] [auth_basic:error] [pid 12:tid 34] [client 2001:db8::7:51234] AH01617: user bob: authentication failure for \"/\": Password Mismatch").unwrap();
        assert_eq!((l.level, l.pid, l.client), (Some("error"), Some(12), Some("2001:db8::7")));
        assert!(l.message.starts_with("AH01617: user bob"));
        assert_eq!(rampart_core::time::format_ms(l.timestamp_ms), "2026-12-01T10:00:00.123Z");
        let l = apache_error(
            "[Sat Jul 20 22:11:44.147674 2013] [authz_owner:error] [pid 1] [client [2001:db8::1]:51548] AH01637: x",
        )
        .unwrap();
        assert_eq!((l.client, l.message), (Some("2001:db8::1"), "AH01637: x"));
        let l = nginx_error("2026/12/01 10:00:00 [error] 1234#1234: *5 user \"bob\": password mismatch, client: 192.0.2.7, server: x, request: \"GET / HTTP/1.1\"").unwrap();
        assert_eq!((l.level, l.pid, l.client), (Some("error"), Some(1234), Some("192.0.2.7")));
        assert_eq!(l.message, "user \"bob\": password mismatch");
        // fail2ban's nginx-http-auth test: a user name imitating the
        // trailer, then the real one; and a referrer imitating it.
        let l = nginx_error("2014/04/03 22:20:40 [error] 30708#0: *3 user \"test\": password mismatch, client: 127.0.0.1, server: test, request: \"GET / HTTP/1.1\", host: \"localhost:8443\"\": was not found in \"/etc/nginx/.htpasswd\", client: 192.0.2.2, server: , request: \"GET / HTTP/1.1\", host: \"localhost:8443\"").unwrap();
        assert_eq!(l.client, Some("192.0.2.2"));
        let l = nginx_error("2026/12/01 10:00:00 [error] 1#1: *1 user \"a\": password mismatch, client: 192.0.2.3, server: x, request: \"GET / HTTP/1.1\", host: \"x\", referrer: \"y, client: 6.6.6.6, server: z\"").unwrap();
        assert_eq!(l.client, Some("192.0.2.3"), "a referrer with spaces: the trailer before it");
        let l = nginx_error("2026/12/01 10:00:00 [error] 1#1: *1 user \"a\": password mismatch, client: 192.0.2.3, server: x, request: \"GET / HTTP/1.1\", host: \"x\", referrer: \"y\": password mismatch, client: 6.6.6.6, server: z, request: \"GET / HTTP/1.1\", host: \"w\"").unwrap();
        assert_eq!(l.client, None, "a referrer imitating a trailer");
        let l = nginx_error("2026/12/01 10:00:00 [error] 1#1: *1 user \"a\": password mismatch, client: 6.6.6.6, server: s, request: \"GET / HTTP/1.1\", host: \"h\", referrer: \"\": password mismatch, client: 192.0.2.3, server: x, request: \"GET / HTTP/1.1\", host: \"x\"").unwrap();
        assert_eq!(l.client, None, "a user name imitating a trailer that swallows the real one");
        let l = nginx_error("2026/12/01 10:00:00 [error] 1#1: *1 limiting requests, excess: 20.260 by zone \"one\", client: 192.0.2.4, server: x, request: \"GET / HTTP/2.0\", upstream: \"http://127.0.0.1:81/\", host: \"x\", referrer: \"https://x/\"").unwrap();
        assert_eq!((l.client, l.message), (Some("192.0.2.4"), "limiting requests, excess: 20.260 by zone \"one\""));
        let l = vsftpd("Tue Dec  1 10:00:00 2026 [pid 1234] [bob] FAIL LOGIN: Client \"192.0.2.7\"").unwrap();
        assert_eq!((l.pid, l.message), (Some(1234), "[bob] FAIL LOGIN: Client \"192.0.2.7\""));
        let l = mysql_error("2026-12-01T10:00:00.123456Z 8 [Note] [MY-010926] [Server] Access denied for user 'root'@'192.0.2.7' (using password: YES)").unwrap();
        assert_eq!((l.level, l.message.starts_with("Access denied")), (Some("Note"), true));
        let l = mysql_error("2026-12-01 10:00:00 8 [Warning] Access denied for user 'root'@'192.0.2.7'").unwrap();
        assert_eq!(rampart_core::time::format_ms(l.timestamp_ms), "2026-12-01T10:00:00.000Z");
        let l = postgresql(
            "2026-12-01 11:00:00.250 +01 [1234] bob@db FATAL:  password authentication failed for user \"bob\"",
        )
        .unwrap();
        assert_eq!((l.pid, l.level), (Some(1234), Some("FATAL")));
        assert_eq!(rampart_core::time::format_ms(l.timestamp_ms), "2026-12-01T10:00:00.250Z");
        assert!(postgresql("2026-12-01 11:00:00.250 CET [1] x").is_none(), "a zone we cannot place");
        for junk in
            ["", "[", "[Sun Dec 04 04:47:44 2005]", "2026/12/01 10:00:00 [", "2026-12-01T10:00:00Z x", "Tue Dec  1"]
        {
            assert!(apache_error(junk).is_none() && nginx_error(junk).is_none() && vsftpd(junk).is_none());
            assert!(mysql_error(junk).is_none() && postgresql(junk).is_none(), "{junk:?}");
        }
    }
}
