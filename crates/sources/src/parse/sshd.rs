//! The sshd (and pam_unix) messages that matter for detection, as ECS
//! fields: `event.action`, `event.outcome`, `user.name`, `source.ip`,
//! `source.port`. Plain prefix and `find` matching: sshd's wording is fixed,
//! and this runs for every auth log line.

use std::net::IpAddr;

/// What one sshd message says.
#[derive(Debug, Clone, PartialEq)]
pub struct SshdFact<'a> {
    pub action: &'static str,
    /// `Some(true)` success, `Some(false)` failure, `None` neither.
    pub success: Option<bool>,
    pub authentication: bool,
    pub user: Option<&'a str>,
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    /// A host name where sshd logged one instead of an address (pam `rhost`).
    pub domain: Option<&'a str>,
    /// `message repeated N times` folds N attempts into one line.
    pub repeat: u32,
}

impl<'a> SshdFact<'a> {
    fn new(action: &'static str, success: Option<bool>, authentication: bool) -> SshdFact<'a> {
        SshdFact { action, success, authentication, user: None, ip: None, port: None, domain: None, repeat: 1 }
    }
}

/// Recognises one sshd / pam_unix message; `None` for messages that carry
/// nothing a detector uses (they stay plain log events).
pub fn recognise(message: &str) -> Option<SshdFact<'_>> {
    if let Some(rest) = message.strip_prefix("message repeated ") {
        let (n, rest) = rest.split_once(" times: [ ")?;
        let inner = rest.strip_suffix(']').unwrap_or(rest).trim_end();
        let mut fact = recognise(inner)?;
        fact.repeat = n.parse().ok()?;
        return Some(fact);
    }
    let m = message.strip_prefix("error: ").unwrap_or(message);
    if let Some(rest) = m.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ")?;
        let action = match method {
            "password" => "ssh_failed_password",
            "publickey" => "ssh_failed_publickey",
            "none" => "ssh_failed_none",
            _ => "ssh_failed_other",
        };
        return Some(user_from(SshdFact::new(action, Some(false), true), rest));
    }
    if let Some(rest) = m.strip_prefix("Accepted ") {
        let (_, rest) = rest.split_once(" for ")?;
        return Some(user_from(SshdFact::new("ssh_accepted", Some(true), true), rest));
    }
    if let Some(rest) = m.strip_prefix("Invalid user ") {
        return Some(user_from(SshdFact::new("ssh_invalid_user", Some(false), true), rest));
    }
    if let Some(rest) = m.strip_prefix("maximum authentication attempts exceeded for ") {
        return Some(user_from(SshdFact::new("ssh_max_auth_exceeded", Some(false), true), rest));
    }
    if m.contains("authentication failure;") && (m.starts_with("pam_unix") || m.starts_with("authentication failure;"))
    {
        let mut fact = SshdFact::new("pam_authentication_failure", Some(false), true);
        if let Some(rhost) = kv(m, "rhost=") {
            match rhost.parse::<IpAddr>() {
                Ok(ip) => fact.ip = Some(ip),
                Err(_) => fact.domain = Some(rhost),
            }
        }
        fact.user = kv(m, " user=");
        return Some(fact);
    }
    if m.ends_with("POSSIBLE BREAK-IN ATTEMPT!") {
        let mut fact = SshdFact::new("ssh_possible_breakin", None, false);
        // `… for HOST [IP] failed - …` or `Address IP maps to HOST, …`.
        fact.ip = match (m.find('['), m.find(']')) {
            (Some(a), Some(b)) if a < b => m[a + 1..b].parse().ok(),
            _ => m.strip_prefix("Address ").and_then(|r| r.split(' ').next()).and_then(|ip| ip.parse().ok()),
        };
        return Some(fact);
    }
    if let Some(rest) = m.strip_prefix("Did not receive identification string from ") {
        let mut fact = SshdFact::new("ssh_no_identification", None, false);
        address_port(&mut fact, rest);
        return Some(fact);
    }
    for (prefix, action) in [
        ("Connection closed by ", "ssh_connection_closed"),
        ("Connection reset by ", "ssh_connection_reset"),
        ("Disconnected from ", "ssh_disconnected"),
        ("Received disconnect from ", "ssh_disconnected"),
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            let mut fact = SshdFact::new(action, None, false);
            let rest = rest
                .strip_prefix("authenticating user ")
                .or_else(|| rest.strip_prefix("invalid user "))
                .or_else(|| rest.strip_prefix("user "))
                .map(|r| {
                    let (user, after) = r.split_once(' ').unwrap_or((r, ""));
                    fact.user = Some(user);
                    after
                })
                .unwrap_or(rest);
            address_port(&mut fact, rest);
            return Some(fact);
        }
    }
    None
}

/// Parses `[invalid user ]USER from IP[ port P][ …]` into the fact. The
/// user name may contain spaces, so the last ` from ` separates it.
fn user_from<'a>(mut fact: SshdFact<'a>, rest: &'a str) -> SshdFact<'a> {
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    if let Some(i) = rest.rfind(" from ") {
        let user = &rest[..i];
        if !user.is_empty() {
            fact.user = Some(user);
        }
        address_port(&mut fact, &rest[i + 6..]);
    }
    fact
}

/// `IP[ port P][ …]`.
fn address_port(fact: &mut SshdFact<'_>, rest: &str) {
    let mut words = rest.split(' ');
    fact.ip = words.next().and_then(|w| w.parse().ok());
    if words.next() == Some("port") {
        fact.port = words.next().and_then(|p| p.trim_end_matches(':').split(':').next()?.parse().ok());
    }
}

fn kv<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    let start = message.find(key)? + key.len();
    let value = message[start..].split([' ', ';']).next()?;
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn failures_and_successes() {
        let f = recognise("Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2").unwrap();
        assert_eq!(
            (f.action, f.success, f.user, f.ip, f.port),
            ("ssh_failed_password", Some(false), Some("webmaster"), ip("173.234.31.186"), Some(38926))
        );
        let f = recognise("Failed publickey for root from 2001:db8::7 port 2222 ssh2: RSA SHA256:abc").unwrap();
        assert_eq!((f.action, f.user, f.ip), ("ssh_failed_publickey", Some("root"), ip("2001:db8::7")));
        let f = recognise("Accepted password for fztu from 119.137.62.142 port 49116 ssh2").unwrap();
        assert_eq!((f.action, f.success, f.user), ("ssh_accepted", Some(true), Some("fztu")));
        let f = recognise("Invalid user webmaster from 173.234.31.186").unwrap();
        assert_eq!(
            (f.action, f.user, f.ip, f.port),
            ("ssh_invalid_user", Some("webmaster"), ip("173.234.31.186"), None)
        );
        let f = recognise("Invalid user  from 10.0.0.1 port 5").unwrap();
        assert_eq!((f.user, f.port), (None, Some(5)));
        let f =
            recognise("error: maximum authentication attempts exceeded for root from 10.1.2.3 port 2 ssh2 [preauth]")
                .unwrap();
        assert_eq!((f.action, f.success, f.ip), ("ssh_max_auth_exceeded", Some(false), ip("10.1.2.3")));
    }

    #[test]
    fn pam_breakin_and_connection_messages() {
        let f = recognise("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root").unwrap();
        assert_eq!((f.action, f.ip, f.user), ("pam_authentication_failure", ip("112.95.230.3"), Some("root")));
        let f = recognise("authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=csnsu.nsuok.edu")
            .unwrap();
        assert_eq!((f.ip, f.domain), (None, Some("csnsu.nsuok.edu")));
        let f = recognise("reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!").unwrap();
        assert_eq!((f.action, f.ip), ("ssh_possible_breakin", ip("173.234.31.186")));
        let f = recognise("Address 10.9.8.7 maps to x.example, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!").unwrap();
        assert_eq!(f.ip, ip("10.9.8.7"));
        let f = recognise("Did not receive identification string from 203.0.113.4 port 51234").unwrap();
        assert_eq!((f.action, f.ip, f.port), ("ssh_no_identification", ip("203.0.113.4"), Some(51234)));
        let f = recognise("Connection closed by invalid user admin 5.6.7.8 port 40000 [preauth]").unwrap();
        assert_eq!(
            (f.action, f.user, f.ip, f.port),
            ("ssh_connection_closed", Some("admin"), ip("5.6.7.8"), Some(40000))
        );
        let f = recognise("Received disconnect from 1.2.3.4 port 22:11: Bye Bye [preauth]").unwrap();
        assert_eq!((f.ip, f.port), (ip("1.2.3.4"), Some(22)));
        let f = recognise("message repeated 5 times: [ Failed password for root from 1.2.3.4 port 9 ssh2]").unwrap();
        assert_eq!((f.action, f.repeat), ("ssh_failed_password", 5));
        assert!(recognise("Server listening on 0.0.0.0 port 22.").is_none());
        assert!(recognise("Failed password").is_none());
    }
}
