//! Login failures of the services fail2ban's common jails watch, beside
//! sshd: postfix (SMTP AUTH, rejected clients), dovecot (IMAP/POP3),
//! vsftpd and proftpd, MySQL/MariaDB, PostgreSQL, and HTTP basic auth and
//! request limiting in nginx's and Apache's error logs. Each becomes
//! `event.action`, `event.outcome`, `user.name`, `source.ip` and
//! `service.type` (the rules tell services apart by it).
//!
//! Plain `find` and prefix matching, as in `sshd.rs`: the daemons' wording
//! is fixed, and this runs for every line of a mail or database log.

use std::net::IpAddr;

/// What one service message says.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFact<'a> {
    /// `service.type`: smtp, imap, pop3, ftp, mysql, postgresql, http.
    pub service: &'static str,
    pub action: &'static str,
    /// `Some(true)` success, `Some(false)` failure.
    pub success: Option<bool>,
    /// An authentication event (else a network/web one, e.g. a reject).
    pub authentication: bool,
    pub user: Option<&'a str>,
    pub ip: Option<IpAddr>,
    /// A host name where the daemon logged one instead of an address.
    pub domain: Option<&'a str>,
}

impl<'a> ServiceFact<'a> {
    fn failure(service: &'static str, action: &'static str) -> ServiceFact<'a> {
        ServiceFact { service, action, success: Some(false), authentication: true, user: None, ip: None, domain: None }
    }

    fn host(mut self, host: &'a str) -> ServiceFact<'a> {
        let host = host.trim_start_matches("::ffff:");
        match host.parse::<IpAddr>() {
            Ok(ip) => self.ip = Some(ip),
            Err(_) if !host.is_empty() && host != "unknown" => self.domain = Some(host),
            Err(_) => {}
        }
        self
    }

    fn user(mut self, user: Option<&'a str>) -> ServiceFact<'a> {
        self.user = user.filter(|u| !u.is_empty());
        self
    }
}

/// Recognises a message of program `app` (a syslog tag or journal
/// identifier, or the program a daemon's own log file belongs to).
pub fn recognise<'a>(app: &str, message: &'a str) -> Option<ServiceFact<'a>> {
    let family = app.split('/').next().unwrap_or(app);
    match family {
        // `postfix-incoming/smtpd`: a second instance keeps the prefix.
        f if f.starts_with("postfix") => postfix(message),
        "smtpd" => postfix(message),
        "dovecot" | "imap-login" | "pop3-login" | "auth" | "auth-worker" => dovecot(message),
        "sieve" | "timsieved" | "cyrus" => sieve(message),
        "vsftpd" => vsftpd(message),
        "proftpd" => proftpd(message),
        "mysqld" | "mariadbd" | "mysqld_safe" | "mariadb" | "mysql" => mysql(message),
        "postgres" | "postgresql" => postgres(message),
        "nginx" => nginx(message),
        "apache2" | "httpd" | "apache" => apache(message),
        _ => None,
    }
}

/// `warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: …` and
/// `NOQUEUE: reject: RCPT from unknown[192.0.2.7]: 554 5.7.1 …`.
fn postfix(m: &str) -> Option<ServiceFact<'_>> {
    if let Some(rest) = m.strip_prefix("warning: ")
        && rest.contains("authentication failed")
        && rest.contains(": SASL ")
    {
        return Some(ServiceFact::failure("smtp", "smtp_auth_failed").host(bracketed(rest)?));
    }
    // A client that gave up in the middle of AUTH, or whose AUTH all failed
    // (`disconnect from … auth=0/1 …`): password guessing that never logs
    // a SASL failure.
    if let Some(rest) = m.strip_prefix("lost connection after AUTH from ") {
        return Some(ServiceFact::failure("smtp", "smtp_auth_failed").host(bracketed(rest)?));
    }
    if let Some(rest) = m.strip_prefix("disconnect from ")
        && let Some(auth) = rest.split(' ').find_map(|w| w.strip_prefix("auth="))
        && auth.starts_with("0/")
    {
        return Some(ServiceFact::failure("smtp", "smtp_auth_failed").host(bracketed(rest)?));
    }
    let rest = m.split_once("reject: ")?.1;
    let (_, client) = rest.split_once(" from ")?;
    let mut fact = ServiceFact::failure("smtp", "smtp_rejected").host(bracketed(client)?);
    fact.authentication = false;
    Some(fact)
}

/// `imap-login: Disconnected (auth failed, 1 attempts in 2 secs):
/// user=<bob>, method=PLAIN, rip=192.0.2.7, lip=…` (and `Aborted login`,
/// `pop3-login`, plaintext auth refused), and with `auth_verbose` the
/// auth process's `auth-worker(12): pam(bob,192.0.2.7): pam_authenticate()
/// failed: …`, `passwd-file(bob,192.0.2.7): unknown user`.
fn dovecot(m: &str) -> Option<ServiceFact<'_>> {
    if let Some(fact) = dovecot_auth(m) {
        return Some(fact);
    }
    let (service, rest) = match m.split_once("-login: ") {
        Some((prefix, rest)) => (prefix.rsplit(' ').next()?, rest),
        None => ("imap", m),
    };
    let failed = ["(auth failed", "(proxy dest auth failed", "plaintext auth)"];
    let action = if failed.iter().any(|f| rest.contains(f)) {
        "mail_auth_failed"
    } else if rest.contains("(no auth attempts") {
        "mail_no_auth"
    } else {
        return None;
    };
    let service = match service {
        "pop3" => "pop3",
        "submission" => "smtp",
        "managesieve" => "sieve",
        _ => "imap",
    };
    // The user name is the client's text: the address is the last `rip=`.
    let (before, after) = rest.rsplit_once("rip=")?;
    let rip = after.split([',', ' ']).next().filter(|v| !v.is_empty())?;
    let fact = ServiceFact::failure(service, action).user(between(before, "user=<", ">"));
    let fact = fact.host(rip);
    Some(ServiceFact { success: (action == "mail_auth_failed").then_some(false), ..fact })
}

/// `…(USER,ADDRESS[,<session>]): unknown user | Password mismatch |
/// pam_authenticate() failed: … | invalid credentials`, from dovecot's
/// passdb lookups (pam, passwd-file, sql, ldap).
fn dovecot_auth(m: &str) -> Option<ServiceFact<'_>> {
    const FAILURES: [&str; 4] =
        ["unknown user", "Password mismatch", "pam_authenticate() failed", "invalid credentials"];
    let (head, outcome) = m.rsplit_once("): ")?;
    if !FAILURES.iter().any(|f| outcome.starts_with(f)) {
        return None;
    }
    // The user is the client's text and may hold commas: read from the right.
    let head = head.strip_suffix(',').unwrap_or(head);
    let head = match head.rsplit_once(",<") {
        Some((h, session)) if !session.contains(',') => h,
        _ => head,
    };
    let (user_part, ip) = head.rsplit_once(',')?;
    ip.parse::<IpAddr>().ok()?;
    let open = ["pam(", "passwd-file(", "sql(", "ldap(", "passwd(", "shadow(", "checkpassword("]
        .iter()
        .filter_map(|p| user_part.find(p).map(|i| i + p.len()))
        .min()?;
    Some(ServiceFact::failure("imap", "mail_auth_failed").user(Some(&user_part[open..])).host(ip))
}

/// Cyrus timsieved: `badlogin: example.com[192.0.2.7] PLAIN authentication failure`.
fn sieve(m: &str) -> Option<ServiceFact<'_>> {
    let rest = m.strip_prefix("badlogin: ")?;
    rest.contains("authentication failure").then_some(())?;
    Some(ServiceFact::failure("sieve", "mail_auth_failed").host(bracketed(rest)?))
}

/// `[bob] FAIL LOGIN: Client "192.0.2.7"` and `[bob] OK LOGIN: …`. The
/// user name is the client's own text and may imitate the rest, so the
/// client is the one at the end of the line.
fn vsftpd(m: &str) -> Option<ServiceFact<'_>> {
    let (head, client) = m.rsplit_once(" LOGIN: Client \"")?;
    // What follows the address is vsftpd's own (`, "User is not in the allow user list."`).
    let client = client.split('"').next()?;
    let (head, success) =
        if let Some(h) = head.strip_suffix(" FAIL") { (h, false) } else { (head.strip_suffix(" OK")?, true) };
    let user = head.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let action = if success { "ftp_login" } else { "ftp_login_failed" };
    let fact = ServiceFact::failure("ftp", action).user(user).host(client);
    Some(ServiceFact { success: Some(success), ..fact })
}

/// `host (192.0.2.7[192.0.2.7]) - USER bob (Login failed): Incorrect
/// password`, `… - USER bob: no such user found from …`, `… - Maximum
/// login attempts (3) exceeded`, `… - USER bob: Login successful.`
fn proftpd(m: &str) -> Option<ServiceFact<'_>> {
    // `host (client[ip]) - message`, or `host (client[ip]): message`.
    let (client, rest) = m.split_once("]) - ").or_else(|| m.split_once("]): "))?;
    let ip = client.rsplit('[').next()?;
    let (action, success) = if rest.contains("(Login failed)") || rest.contains(": no such user") {
        ("ftp_login_failed", false)
    } else if rest.starts_with("Maximum login attempts") || rest.starts_with("SECURITY VIOLATION") {
        ("ftp_max_attempts", false)
    } else if rest.ends_with("Login successful.") {
        ("ftp_login", true)
    } else {
        return None;
    };
    let user = rest.strip_prefix("USER ").and_then(|r| r.split([' ', ':']).next());
    let fact = ServiceFact::failure("ftp", action).user(user).host(ip);
    Some(ServiceFact { success: Some(success), ..fact })
}

/// `… Access denied for user 'root'@'192.0.2.7' (using password: YES)`;
/// the user name is the client's text, so the host is after the last `'@'`.
fn mysql(m: &str) -> Option<ServiceFact<'_>> {
    let rest = m.split_once("Access denied for user '")?.1;
    let (user, rest) = rest.rsplit_once("'@'")?;
    let host = rest.split('\'').next()?;
    Some(ServiceFact::failure("mysql", "db_auth_failed").user(Some(user)).host(host))
}

/// `FATAL:  password authentication failed for user "bob"` (the client is
/// in the line only when `log_line_prefix` has `%h` or `%r`) and `FATAL:
/// no pg_hba.conf entry for host "192.0.2.7", user "bob", …`.
///
/// User and database names are the client's text (in the prefix and the
/// message): a line with more than one `FATAL:` is someone imitating one,
/// and its addresses are not believed.
fn postgres(m: &str) -> Option<ServiceFact<'_>> {
    let (prefix, rest) = m.split_once("FATAL:")?;
    let rest = rest.trim_start();
    if m.matches("FATAL:").count() > 1 {
        let fact = ServiceFact::failure("postgresql", "db_auth_failed");
        return (rest.contains("authentication failed") || rest.contains("pg_hba.conf")).then_some(fact);
    }
    if let Some(r) = rest.strip_prefix("no pg_hba.conf entry for host \"") {
        let host = r.split('"').next()?;
        return Some(ServiceFact::failure("postgresql", "db_auth_failed").user(between(r, "user \"", "\"")).host(host));
    }
    let user = if let Some(r) = rest.strip_prefix("password authentication failed for user \"") {
        r.split('"').next()
    } else if rest.starts_with("role \"") && rest.ends_with("\" does not exist") {
        between(rest, "role \"", "\"")
    } else {
        return None;
    };
    let fact = ServiceFact::failure("postgresql", "db_auth_failed").user(user);
    // `%h`/`%r` in the prefix: an address, bare or followed by `(port)`.
    let client =
        prefix.split_whitespace().map(|w| w.split('(').next().unwrap_or(w)).find(|w| w.parse::<IpAddr>().is_ok());
    Some(match client {
        Some(ip) => fact.host(ip),
        None => fact,
    })
}

/// nginx error-log messages (the client is given separately):
/// `user "bob": password mismatch`, `user "bob" was not found in "…"`,
/// `limiting requests, excess: 20.260 by zone "one"`.
fn nginx(m: &str) -> Option<ServiceFact<'_>> {
    if let Some(r) = m.strip_prefix("user \"") {
        let (user, rest) = r.split_once('"')?;
        if rest.starts_with(": password mismatch") || rest.starts_with(" was not found in") {
            return Some(ServiceFact::failure("http", "http_auth_failed").user(Some(user)));
        }
        return None;
    }
    if m.starts_with("limiting requests, excess:") || m.starts_with("limiting connections by zone") {
        let mut fact = ServiceFact::failure("http", "http_rate_limited");
        fact.authentication = false;
        return Some(fact);
    }
    None
}

/// Apache error-log messages: `AH01617: user bob: authentication failure
/// for "/private": Password Mismatch`, `AH01618: user bob not found:
/// /private` (2.2 logs the same without the code).
fn apache(m: &str) -> Option<ServiceFact<'_>> {
    if m.starts_with('[') {
        // Sent to syslog: the fields first, the client among them.
        let fields = super::daemon_logs::apache_fields(m);
        if fields.message.starts_with('[') {
            return None;
        }
        let fact = apache(fields.message)?;
        return Some(match fields.client {
            Some(client) if fact.ip.is_none() => fact.host(client),
            _ => fact,
        });
    }
    let m = match m.split_once(": ") {
        Some((code, rest)) if code.starts_with("AH") && code[2..].bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => m,
    };
    let m = m.strip_prefix("Digest: ").unwrap_or(m);
    let failed = || ServiceFact::failure("http", "http_auth_failed");
    if m.starts_with("client denied by server configuration")
        || m.starts_with("client used wrong authentication scheme")
    {
        return Some(failed());
    }
    if let Some(r) = m.strip_prefix("Authorization of user ") {
        return Some(failed().user(r.split(" to access ").next()));
    }
    let r = m.strip_prefix("user ")?;
    for marker in [": authentication failure for ", ": password mismatch", ": authorization failure for "] {
        if let Some((user, _)) = r.split_once(marker) {
            return Some(failed().user(Some(user)));
        }
    }
    let (user, _) = r.split_once(" not found").filter(|(_, after)| after.is_empty() || after.starts_with(':'))?;
    Some(failed().user(Some(user.trim_matches(['`', '\'']))))
}

/// The address in the first `name[ADDRESS]` (postfix, proftpd).
fn bracketed(text: &str) -> Option<&str> {
    between(text, "[", "]")
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

#[cfg(test)]
mod tests;
