//! One log line to one ECS event, for every format Rampart reads.
//!
//! `LineParser` is pure: a line and the time in, an event or a parse error
//! out. A line that does not parse is not lost: `raw_event` keeps it as a
//! plain log event (`event.kind: pipeline_error`, the line in `message`), and
//! callers count it.

pub mod daemon_logs;
pub mod journal;
pub mod services;
pub mod sshd;
pub mod syslog;
pub mod web;

use std::collections::BTreeMap;
use std::fmt;

use rampart_core::ecs::{Limits, decode_event, strict_json};
use rampart_core::{Body, Event, EventKind, Outcome};
use regex::Regex;
use serde_json::{Map, Value};

/// The formats Rampart parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// RFC 3164 / RFC 5424 syslog, with sshd and pam_unix messages understood.
    Syslog,
    /// Apache / nginx access logs: common and combined, with variants.
    Combined,
    /// One JSON object per line (ECS, nested or dotted, or mapped keys).
    Json,
    /// A user regex with named captures (see `LineParser::regex`).
    Regex,
    /// Apache's error log (2.2 and 2.4).
    ApacheError,
    /// nginx's error log.
    NginxError,
    /// vsftpd's own log (`vsftpd_log_file`).
    Vsftpd,
    /// The MySQL / MariaDB error log.
    MysqlError,
    /// PostgreSQL's log (`log_line_prefix` starting `%m [%p] `).
    Postgresql,
}

impl LogFormat {
    /// The formats that need nothing but the line (all but `Regex`).
    pub const LINE_FORMATS: [LogFormat; 8] = [
        LogFormat::Json,
        LogFormat::Combined,
        LogFormat::ApacheError,
        LogFormat::NginxError,
        LogFormat::Vsftpd,
        LogFormat::MysqlError,
        LogFormat::Postgresql,
        LogFormat::Syslog,
    ];

    pub fn parse(text: &str) -> Option<LogFormat> {
        match text {
            "syslog" => Some(LogFormat::Syslog),
            "combined" | "common" | "web" => Some(LogFormat::Combined),
            "json" => Some(LogFormat::Json),
            "regex" => Some(LogFormat::Regex),
            "apache-error" => Some(LogFormat::ApacheError),
            "nginx-error" => Some(LogFormat::NginxError),
            "vsftpd" => Some(LogFormat::Vsftpd),
            "mysql-error" | "mariadb-error" => Some(LogFormat::MysqlError),
            "postgresql" | "postgres" => Some(LogFormat::Postgresql),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Syslog => "syslog",
            LogFormat::Combined => "combined",
            LogFormat::Json => "json",
            LogFormat::Regex => "regex",
            LogFormat::ApacheError => "apache-error",
            LogFormat::NginxError => "nginx-error",
            LogFormat::Vsftpd => "vsftpd",
            LogFormat::MysqlError => "mysql-error",
            LogFormat::Postgresql => "postgresql",
        }
    }
}

/// Why a line did not parse (the line itself is kept by `raw_event`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ParseError {}

fn error(reason: impl Into<String>) -> ParseError {
    ParseError { reason: reason.into() }
}

/// A parsed line: the event, and how many times the line says it happened
/// (`message repeated N times`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub event: Event,
    pub repeat: u32,
}

/// Parses lines of one format.
#[derive(Debug, Clone)]
pub struct LineParser {
    format: LogFormat,
    /// The year for syslog lines that carry none.
    year: i32,
    regex: Option<Regex>,
    /// JSON keys to rename before ECS decoding, e.g. `ip` → `source.ip`.
    json_keys: BTreeMap<String, String>,
    limits: Limits,
}

/// Longest line accepted; longer ones are cut (and the cut is recorded).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

impl LineParser {
    pub fn new(format: LogFormat, year: i32) -> LineParser {
        LineParser { format, year, regex: None, json_keys: BTreeMap::new(), limits: Limits::default() }
    }

    /// A regex format. Capture names are ECS field names with `__` for `.`
    /// (`(?P<source__ip>\S+)`), and `timestamp` for `@timestamp`.
    pub fn regex(pattern: &str, year: i32) -> Result<LineParser, ParseError> {
        let re = Regex::new(pattern).map_err(|e| error(format!("invalid regex: {e}")))?;
        if re.capture_names().flatten().next().is_none() {
            return Err(error("the regex needs at least one named capture, e.g. (?P<source__ip>\\S+)"));
        }
        Ok(LineParser { regex: Some(re), ..LineParser::new(LogFormat::Regex, year) })
    }

    /// Renames JSON keys before decoding (flat logs from other shippers).
    pub fn with_json_keys(mut self, keys: BTreeMap<String, String>) -> LineParser {
        self.json_keys = keys;
        self
    }

    pub fn format(&self) -> LogFormat {
        self.format
    }

    pub fn parse(&self, line: &str, now_ms: i64) -> Result<Parsed, ParseError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Err(error("empty line"));
        }
        match self.format {
            LogFormat::Syslog => self.parse_syslog(line, now_ms),
            LogFormat::Combined => parse_web(line, now_ms),
            LogFormat::Json => self.parse_json(line, now_ms),
            LogFormat::Regex => self.parse_regex(line, now_ms),
            LogFormat::ApacheError => daemon(daemon_logs::apache_error(line), "an Apache error-log line", now_ms),
            LogFormat::NginxError => daemon(daemon_logs::nginx_error(line), "an nginx error-log line", now_ms),
            LogFormat::Vsftpd => daemon(daemon_logs::vsftpd(line), "a vsftpd log line", now_ms),
            LogFormat::MysqlError => daemon(daemon_logs::mysql_error(line), "a MySQL error-log line", now_ms),
            LogFormat::Postgresql => daemon(daemon_logs::postgresql(line), "a PostgreSQL log line", now_ms),
        }
        .map(|mut p| {
            if p.event.message.is_none() {
                p.event.message = Some(line.to_owned());
            }
            p
        })
    }

    fn parse_syslog(&self, line: &str, now_ms: i64) -> Result<Parsed, ParseError> {
        let mut l = syslog::parse(line, self.year).ok_or_else(|| error("not a syslog line"))?;
        // A stamp without a year takes the most recent past date, as rsyslog
        // and fail2ban do: "Dec 10" read on Nov 29 is last December. A year
        // written in the line parses the same either way and stays.
        let latest = now_ms.saturating_add(syslog::YEARLESS_SKEW_MS);
        if l.timestamp_ms > latest
            && let Some(earlier) = syslog::parse(line, self.year - 1)
            && earlier.timestamp_ms <= latest
        {
            l = earlier;
        }
        let program = ProgramMessage { app: l.app, pid: l.pid, host: l.host, message: l.message };
        Ok(program.to_event(l.timestamp_ms, now_ms))
    }

    fn parse_json(&self, line: &str, now_ms: i64) -> Result<Parsed, ParseError> {
        let mut value: Value = strict_json::from_str(line).map_err(|e| error(format!("invalid JSON: {e}")))?;
        if !self.json_keys.is_empty()
            && let Value::Object(map) = &mut value
        {
            for (from, to) in &self.json_keys {
                if let Some(v) = map.remove(from) {
                    map.insert(to.clone(), v);
                }
            }
        }
        let mut event = decode_event(value, &self.limits, now_ms).map_err(|e| error(e.to_string()))?;
        event.ingested_ms = now_ms;
        Ok(Parsed { event, repeat: 1 })
    }

    fn parse_regex(&self, line: &str, now_ms: i64) -> Result<Parsed, ParseError> {
        let re = self.regex.as_ref().ok_or_else(|| error("no regex configured"))?;
        let caps = re.captures(line).ok_or_else(|| error("line does not match the regex"))?;
        let mut map = Map::new();
        for name in re.capture_names().flatten() {
            if let Some(m) = caps.name(name) {
                let key = if name == "timestamp" { "@timestamp".to_owned() } else { name.replace("__", ".") };
                let value = match key.as_str() {
                    "source.port" | "destination.port" | "process.pid" | "http.response.status_code" => {
                        m.as_str().parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(m.as_str()))
                    }
                    _ => Value::from(m.as_str()),
                };
                map.insert(key, value);
            }
        }
        let mut event = decode_event(Value::Object(map), &self.limits, now_ms).map_err(|e| error(e.to_string()))?;
        event.ingested_ms = now_ms;
        Ok(Parsed { event, repeat: 1 })
    }

    /// A line that did not parse, kept as a plain log event so nothing is lost.
    pub fn raw_event(&self, line: &str, now_ms: i64, reason: &ParseError) -> Event {
        let mut e = Event::new(EventKind::PipelineError, now_ms);
        let mut text = line.trim_end_matches(['\r', '\n']);
        if text.len() > MAX_LINE_BYTES {
            let mut end = MAX_LINE_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text = &text[..end];
            e.extra.insert("log.truncated".into(), Value::from(true));
        }
        e.message = Some(text.to_owned());
        e.extra.insert("error.message".into(), Value::from(reason.reason.clone()));
        e.extra.insert("log.format".into(), Value::from(self.format.as_str()));
        e
    }
}

fn parse_web(line: &str, now_ms: i64) -> Result<Parsed, ParseError> {
    let l = web::parse(line).ok_or_else(|| error("not an access-log line"))?;
    let mut e = Event::new(EventKind::Event, l.timestamp_ms);
    e.ingested_ms = now_ms;
    e.category = vec!["web".to_owned()];
    e.action = Some("http_request".to_owned());
    e.source.ip = l.client_ip();
    if e.source.ip.is_none() {
        e.extra.insert("source.domain".into(), Value::from(l.client));
    }
    e.user_name = l.user.map(str::to_owned);
    e.http_method = l.method;
    e.url_original = Some(l.url.unwrap_or_else(|| l.request.clone()));
    e.http_status = l.status;
    e.outcome = l.status.map(|s| if s >= 400 { Outcome::Failure } else { Outcome::Success });
    e.user_agent = l.user_agent;
    e.message = Some(l.request);
    if let Some(vhost) = l.vhost {
        e.extra.insert("url.domain".into(), Value::from(vhost.split(':').next().unwrap_or(vhost)));
    }
    if let Some(t) = l.request_time {
        e.extra.insert("event.duration".into(), Value::from((t * 1e9) as i64));
    }
    e.body =
        Some(Body::Http { version: l.version, request_bytes: None, response_bytes: l.bytes, referrer: l.referrer });
    Ok(Parsed { event: e, repeat: 1 })
}

/// A daemon's own log line as an event: the message read as the program's,
/// the client the line names outside it kept when the message has none.
fn daemon(line: Option<daemon_logs::DaemonLine<'_>>, what: &str, now_ms: i64) -> Result<Parsed, ParseError> {
    let l = line.ok_or_else(|| error(format!("not {what}")))?;
    let program = ProgramMessage { app: l.app, pid: l.pid, host: None, message: l.message };
    let mut parsed = program.to_event(l.timestamp_ms, now_ms);
    let e = &mut parsed.event;
    if e.source.ip.is_none()
        && let Some(ip) = l.client.and_then(|c| c.parse().ok())
    {
        e.source.ip = Some(ip);
    }
    if let Some(level) = l.level {
        e.body = Some(Body::Log { level: Some(level.to_owned()), file_path: None, original: None });
    }
    Ok(parsed)
}

/// One program's log message, however it arrived (a syslog line, a
/// journal entry): sshd and pam_unix messages become authentication events.
pub(crate) struct ProgramMessage<'a> {
    pub app: &'a str,
    pub pid: Option<u32>,
    pub host: Option<&'a str>,
    pub message: &'a str,
}

impl ProgramMessage<'_> {
    pub(crate) fn to_event(&self, timestamp_ms: i64, now_ms: i64) -> Parsed {
        let mut e = Event::new(EventKind::Event, timestamp_ms);
        e.ingested_ms = now_ms;
        e.host_name = self.host.map(str::to_owned);
        e.process_name = (!self.app.is_empty()).then(|| self.app.to_owned());
        e.process_pid = self.pid;
        e.message = Some(self.message.to_owned());
        let mut repeat = 1;
        let fact = if matches!(self.app, "sshd" | "sshd-session") { sshd::recognise(self.message) } else { None };
        if let Some(fact) = fact {
            set_authentication(&mut e, fact.authentication, fact.action, fact.success, fact.user, fact.domain);
            e.source.ip = fact.ip;
            e.source.port = fact.port;
            repeat = fact.repeat.max(1);
        } else if let Some(fact) = services::recognise(self.app, self.message) {
            set_authentication(&mut e, fact.authentication, fact.action, fact.success, fact.user, fact.domain);
            e.source.ip = fact.ip;
            e.extra.insert("service.type".into(), Value::from(fact.service));
        } else if self.message.contains("authentication failure;")
            && let Some(fact) = sshd::recognise(self.message)
        {
            // pam_unix's failures under any service (dovecot, vsftpd, su…).
            set_authentication(&mut e, true, fact.action, Some(false), fact.user, fact.domain);
            e.source.ip = fact.ip;
        }
        Parsed { event: e, repeat }
    }
}

/// What a recognised login message says, as ECS fields.
fn set_authentication(
    e: &mut Event,
    authentication: bool,
    action: &str,
    success: Option<bool>,
    user: Option<&str>,
    domain: Option<&str>,
) {
    e.category = vec![if authentication { "authentication" } else { "network" }.to_owned()];
    e.action = Some(action.to_owned());
    e.outcome = success.map(|ok| if ok { Outcome::Success } else { Outcome::Failure });
    e.user_name = user.map(str::to_owned);
    if let Some(domain) = domain {
        e.extra.insert("source.domain".into(), Value::from(domain));
    }
}

/// Picks the format most of the sample lines parse as; on a tie the first
/// of JSON, web, the daemons' own logs, syslog (the loosest: an RFC 3339
/// stamp and a word pass for a header); `None` when no format parses at
/// least half of them.
pub fn detect_format(sample: &[&str], year: i32) -> Option<LogFormat> {
    let lines: Vec<&str> = sample.iter().copied().filter(|l| !l.trim().is_empty()).take(50).collect();
    if lines.is_empty() {
        return None;
    }
    let now = rampart_core::time::now_ms();
    LogFormat::LINE_FORMATS
        .into_iter()
        .map(|f| {
            let parser = LineParser::new(f, year);
            (f, lines.iter().filter(|l| parser.parse(l, now).is_ok()).count())
        })
        .filter(|(_, n)| *n * 2 >= lines.len())
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(f, _)| f)
}

#[cfg(test)]
mod tests;
