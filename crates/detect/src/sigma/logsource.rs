//! Which Rampart events a Sigma `logsource` stands for, and what its field
//! names are called in ECS. Anything not listed here is refused by name,
//! so a rule never converts into one that silently tests a missing field.

use serde_yaml_ng::{Mapping, Value};

/// A logsource Rampart can read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Source {
    /// Access logs and the gatekeeper's requests (`category: webserver`, `proxy`).
    Web,
    /// Log lines from Linux programs: `service` names the program, if any.
    Linux(Option<&'static str>),
}

impl Source {
    /// Reads `logsource:`; the error names what is not supported.
    pub(crate) fn from_logsource(logsource: &Mapping) -> Result<Source, String> {
        let get = |k: &str| logsource.get(k).and_then(Value::as_str).map(str::to_ascii_lowercase);
        let (product, category, service) = (get("product"), get("category"), get("service"));
        match (product.as_deref(), category.as_deref(), service.as_deref()) {
            (_, Some("webserver" | "proxy"), _) => Ok(Source::Web),
            (Some("linux"), None, None) => Ok(Source::Linux(None)),
            // Web servers' own error logs (Rampart's apache-error and nginx-error formats).
            (None | Some("linux"), None, Some("apache")) => Ok(Source::Linux(Some("apache2"))),
            (None | Some("linux"), None, Some("nginx")) => Ok(Source::Linux(Some("nginx"))),
            (Some("linux"), None, Some(service)) => match service {
                "sshd" => Ok(Source::Linux(Some("sshd"))),
                "auth" => Ok(Source::Linux(Some("auth"))),
                "syslog" => Ok(Source::Linux(None)),
                "cron" => Ok(Source::Linux(Some("cron"))),
                "sudo" => Ok(Source::Linux(Some("sudo"))),
                "vsftpd" => Ok(Source::Linux(Some("vsftpd"))),
                "clamav" => Ok(Source::Linux(Some("clamd"))),
                "guacamole" => Ok(Source::Linux(Some("guacd"))),
                other => Err(format!("logsource linux/{other} (Rampart has no such log source)")),
            },
            _ => Err(format!(
                "logsource product={} category={} service={} (converted: webserver, proxy, apache and nginx error \
                 logs, linux with sshd, auth, syslog, cron, sudo, vsftpd, clamav, guacamole)",
                product.as_deref().unwrap_or("-"),
                category.as_deref().unwrap_or("-"),
                service.as_deref().unwrap_or("-")
            )),
        }
    }

    /// The condition every event of this source meets, as a Rampart
    /// condition mapping; `None` when any log event qualifies.
    pub(crate) fn scope(self) -> Value {
        let leaf = |field: &str, key: &str, value: Value| {
            let mut m = Mapping::new();
            m.insert("field".into(), field.into());
            m.insert(key.into(), value);
            Value::Mapping(m)
        };
        let names = |list: &[&str]| Value::Sequence(list.iter().map(|s| Value::from(*s)).collect());
        match self {
            Source::Web => leaf("event.category", "equals", "web".into()),
            Source::Linux(None) => leaf("message", "exists", true.into()),
            Source::Linux(Some("sshd")) => leaf("process.name", "in", names(&["sshd", "sshd-session"])),
            // What /var/log/auth.log holds: logins, privilege changes, PAM.
            Source::Linux(Some("auth")) => leaf(
                "process.name",
                "in",
                names(&[
                    "sshd",
                    "sshd-session",
                    "sudo",
                    "su",
                    "login",
                    "passwd",
                    "chpasswd",
                    "useradd",
                    "userdel",
                    "usermod",
                    "groupadd",
                    "systemd-logind",
                    "pkexec",
                    "polkitd",
                    "CRON",
                    "cron",
                ]),
            ),
            Source::Linux(Some("cron")) => leaf("process.name", "in", names(&["cron", "CRON", "crond", "crontab"])),
            Source::Linux(Some(program)) => leaf("process.name", "equals", program.into()),
        }
    }

    /// The fields an unbound keyword is looked for in: the log line's text.
    pub(crate) fn keyword_fields(self) -> &'static [&'static str] {
        match self {
            Source::Web => &["url.original", "user_agent.original", "http.request.referrer", "message"],
            Source::Linux(_) => &["message"],
        }
    }

    /// The ECS name of a Sigma field for this source.
    pub(crate) fn field(self, sigma: &str) -> Result<&'static str, String> {
        let common = match sigma {
            "src_ip" | "c-ip" | "clientip" | "SourceIp" => Some("source.ip"),
            "dst_ip" | "s-ip" | "DestinationIp" => Some("destination.ip"),
            "src_port" => Some("source.port"),
            "dst_port" | "s-port" | "DestinationPort" => Some("destination.port"),
            "host" | "hostname" | "Hostname" | "ComputerName" => Some("host.name"),
            _ => None,
        };
        if let Some(field) = common {
            return Ok(field);
        }
        let mapped = match self {
            Source::Web => match sigma {
                "c-uri" | "cs-uri" | "uri" | "url" => Some("url.original"),
                "c-uri-query" | "cs-uri-query" | "uri_query" => Some("url.query"),
                "c-uri-stem" | "cs-uri-stem" | "uri_path" => Some("url.path"),
                "c-uri-extension" => Some("url.extension"),
                "c-useragent" | "cs-user-agent" | "cs-useragent" | "useragent" | "user_agent" => {
                    Some("user_agent.original")
                }
                "cs-method" | "method" => Some("http.request.method"),
                "sc-status" | "status" => Some("http.response.status_code"),
                "cs-referrer" | "cs-referer" | "referer" | "referrer" => Some("http.request.referrer"),
                "cs-host" | "r-dns" | "c-uri-host" | "cs-uri-host" => Some("url.domain"),
                "cs-bytes" => Some("http.request.bytes"),
                "sc-bytes" => Some("http.response.bytes"),
                "cs-version" => Some("http.version"),
                "cs-username" => Some("user.name"),
                _ => None,
            },
            Source::Linux(_) => match sigma {
                "user" | "User" | "username" | "USER" => Some("user.name"),
                "pid" | "ProcessId" => Some("process.pid"),
                "program" | "Program" | "process" => Some("process.name"),
                "message" | "Message" | "msg" => Some("message"),
                _ => None,
            },
        };
        mapped.ok_or_else(|| format!("field {sigma:?} (no ECS field of this logsource carries it)"))
    }
}
