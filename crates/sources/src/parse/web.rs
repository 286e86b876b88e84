//! Apache / nginx access logs: common and combined formats, with an optional
//! leading `vhost[:port]` and optional trailing fields (request time, upstream
//! time…), quoted fields with `\"` and `\\` escapes.

use std::net::IpAddr;

/// One parsed access-log line.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLine<'a> {
    pub vhost: Option<&'a str>,
    pub client: &'a str,
    pub user: Option<&'a str>,
    pub timestamp_ms: i64,
    pub method: Option<String>,
    pub url: Option<String>,
    pub version: Option<String>,
    /// The raw request line, unescaped (what a scanner actually sent).
    pub request: String,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    /// A trailing request time in seconds, when the format logs one.
    pub request_time: Option<f64>,
}

impl AccessLine<'_> {
    pub fn client_ip(&self) -> Option<IpAddr> {
        self.client.parse().ok()
    }
}

struct Cursor<'a> {
    s: &'a str,
}

impl<'a> Cursor<'a> {
    fn word(&mut self) -> Option<&'a str> {
        let s = self.s.trim_start_matches(' ');
        if s.is_empty() {
            return None;
        }
        let end = s.find(' ').unwrap_or(s.len());
        self.s = &s[end..];
        Some(&s[..end])
    }

    fn bracketed(&mut self) -> Option<&'a str> {
        let s = self.s.trim_start_matches(' ').strip_prefix('[')?;
        let end = s.find(']')?;
        self.s = &s[end + 1..];
        Some(&s[..end])
    }

    /// A `"…"` field with backslash escapes; `-` stays `-`.
    fn quoted(&mut self) -> Option<String> {
        let s = self.s.trim_start_matches(' ').strip_prefix('"')?;
        let mut out = String::new();
        let mut chars = s.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'x')) => {
                        // nginx writes bytes it will not print as \xHH.
                        let hex: String = chars.by_ref().take(2).map(|(_, h)| h).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(b) if b.is_ascii() => out.push(b as char),
                            _ => out.push('\u{FFFD}'),
                        }
                    }
                    Some((_, e)) => out.push(e),
                    None => return None,
                },
                '"' => {
                    self.s = &s[i + 1..];
                    return Some(out);
                }
                c => out.push(c),
            }
        }
        None
    }

    fn rest(&self) -> &'a str {
        self.s.trim()
    }
}

/// Parses one access-log line.
pub fn parse(line: &str) -> Option<AccessLine<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let mut c = Cursor { s: line };
    // The `[date]` is the 4th word (`client ident user [date`), or the 5th
    // when a `vhost[:port]` comes first.
    let date_word = line.split(' ').filter(|w| !w.is_empty()).position(|w| w.starts_with('['))?;
    let vhost = match date_word {
        3 => None,
        4 => Some(c.word()?),
        _ => return None,
    };
    let client = c.word()?;
    let _ident = c.word()?;
    let user = c.word().filter(|u| *u != "-");
    let timestamp_ms = parse_clf_date(c.bracketed()?)?;
    let request = c.quoted()?;
    let status = c.word().and_then(|s| s.parse().ok()).filter(|s| (100..=599).contains(s));
    let bytes = c.word().and_then(|b| b.parse().ok());
    let referrer = c.quoted().filter(|r| r != "-");
    let user_agent = c.quoted().filter(|u| u != "-");
    let request_time = c
        .rest()
        .split(' ')
        .map(|w| w.rsplit('=').next().unwrap_or(w))
        .find_map(|w| w.parse::<f64>().ok().filter(|t| t.is_finite() && *t >= 0.0));
    let mut parts = request.splitn(3, ' ');
    let (method, url, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(u), v) if m.bytes().all(|b| b.is_ascii_uppercase()) && !m.is_empty() => {
            (Some(m.to_owned()), Some(u.to_owned()), v.and_then(|v| v.strip_prefix("HTTP/")).map(str::to_owned))
        }
        _ => (None, None, None),
    };
    Some(AccessLine {
        vhost,
        client,
        user,
        timestamp_ms,
        method,
        url,
        version,
        request,
        status,
        bytes,
        referrer,
        user_agent,
        request_time,
    })
}

/// `10/Oct/2000:13:55:36 -0700`.
fn parse_clf_date(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let b = s.as_bytes();
    // ASCII first: the slices below are by byte, and a multi-byte character
    // inside the stamp (the fuzzer's `10/Oct/2026:\u{fffd}…`) would split.
    if b.len() < 20 || !b[..20].is_ascii() || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let day: u8 = s[..2].parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == &s[3..6])? as u8 + 1;
    let year: i32 = s[7..11].parse().ok()?;
    let hour: u8 = s[12..14].parse().ok()?;
    let minute: u8 = s[15..17].parse().ok()?;
    let second: u8 = s[18..20].parse().ok()?;
    let offset_min = match s.get(21..26) {
        Some(z) if z.len() == 5 && z.is_ascii() => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let h: i64 = z[1..3].parse().ok()?;
            let m: i64 = z[3..5].parse().ok()?;
            sign * (h * 60 + m)
        }
        _ => 0,
    };
    let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let t = time::Time::from_hms(hour, minute, second).ok()?;
    let utc = time::PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp() - offset_min * 60;
    utc.checked_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_with_multibyte_characters_is_refused_not_panicked_on() {
        // Found by the log_lines fuzz target (fuzz/artifacts, first run).
        let line =
            "203.0.113.9 - - [10/Oct/2026:\u{fffd}\u{fffd}13:55:36 +0000] \"GET / HTTP/1.1\" 404 153 \"-\" \"curl\"";
        assert!(parse(line).is_none());
        assert_eq!(parse_clf_date("10/Oct/2026:13:55:36 +0\u{e9}0"), parse_clf_date("10/Oct/2026:13:55:36"));
        assert!(parse_clf_date("10/Oct/2026:1\u{20ac}:55:36 +0000").is_none());
    }

    #[test]
    fn combined_line_from_the_wild() {
        let l = parse(r#"66.249.66.1 - - [22/Oct/2021:00:00:12 +0200] "GET /robots.txt HTTP/1.1" 200 68 "-" "Mozilla/5.0 (compatible; Googlebot/2.1)""#).unwrap();
        assert_eq!(l.client_ip(), "66.249.66.1".parse().ok());
        assert_eq!(
            (l.method.as_deref(), l.url.as_deref(), l.version.as_deref()),
            (Some("GET"), Some("/robots.txt"), Some("1.1"))
        );
        assert_eq!((l.status, l.bytes, l.referrer.as_deref()), (Some(200), Some(68), None));
        assert_eq!(rampart_core::time::format_ms(l.timestamp_ms), "2021-10-21T22:00:12.000Z");
        assert!(l.user_agent.unwrap().contains("Googlebot"));
    }

    #[test]
    fn common_vhost_request_time_and_escapes() {
        let l = parse(r#"10.0.0.1 - alice [01/Jan/2024:00:00:00 +0000] "POST /login HTTP/2.0" 401 -"#).unwrap();
        assert_eq!((l.user, l.status, l.bytes, l.user_agent.as_deref()), (Some("alice"), Some(401), None, None));
        let l = parse(r#"shop.example:443 203.0.113.9 - - [01/Jan/2024:00:00:00 +0000] "GET /?q=\"x\" HTTP/1.1" 404 10 "-" "sqlmap/1.7" 0.005"#).unwrap();
        assert_eq!((l.vhost, l.client), (Some("shop.example:443"), "203.0.113.9"));
        assert_eq!(l.url.as_deref(), Some(r#"/?q="x""#));
        assert_eq!(l.request_time, Some(0.005));
        let l = parse(r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "\x16\x03\x01" 400 0 "-" "-""#).unwrap();
        assert_eq!((l.method, l.status), (None, Some(400)));
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "",
            "1.2.3.4",
            r#"1.2.3.4 - - [nope] "GET / HTTP/1.1" 200 1"#,
            r#"1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1"#,
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
