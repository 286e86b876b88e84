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
    // Solaris prefixes its facility: `[ID 800047 auth.info] Failed …`.
    let message = match message.strip_prefix("[ID ").and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest,
        None => message,
    };
    let m = message.strip_prefix("error: ").unwrap_or(message);
    if let Some(rest) = m.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ")?;
        let action = match method {
            "password" => "ssh_failed_password",
            "publickey" => "ssh_failed_publickey",
            "none" => "ssh_failed_none",
            "keyboard-interactive" | "keyboard-interactive/pam" => "ssh_failed_keyboard_interactive",
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
    if m.contains("authentication failure;")
        && (m.starts_with("pam_unix") || m.starts_with("(pam_unix)") || m.starts_with("authentication failure;"))
    {
        let mut fact = SshdFact::new("pam_authentication_failure", Some(false), true);
        let (rhost, user) = pam_rhost_user(m);
        if let Some(rhost) = rhost {
            match rhost.parse::<IpAddr>() {
                Ok(ip) => fact.ip = Some(ip),
                Err(_) => fact.domain = Some(rhost),
            }
        }
        fact.user = user;
        return Some(fact);
    }
    // sshd's own PAM and access-control refusals.
    if let Some(rest) = m.strip_prefix("PAM: ") {
        let lower = rest.get(..30).unwrap_or(rest).to_ascii_lowercase();
        if lower.starts_with("authentication failure for ")
            || lower.starts_with("authentication error for ")
            || lower.starts_with("user not known to the underlying")
        {
            let rest = rest.split_once(" for ")?.1;
            let rest = rest.strip_prefix("illegal user ").unwrap_or(rest);
            let rest = rest.split(" via ").next().unwrap_or(rest).trim_end();
            return Some(user_from(SshdFact::new("ssh_failed_pam", Some(false), true), rest));
        }
    }
    if let Some(rest) = m.strip_prefix("ROOT LOGIN REFUSED FROM ") {
        let mut fact = SshdFact::new("ssh_root_refused", Some(false), true);
        fact.user = Some("root");
        address_port(&mut fact, rest.trim_start_matches("::ffff:"));
        return Some(fact);
    }
    if let Some(rest) = m.strip_prefix("User ")
        && let Some((who, why)) = rest.split_once(" not allowed because ")
        && !why.is_empty()
    {
        return Some(user_from(SshdFact::new("ssh_user_not_allowed", Some(false), true), who));
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
/// user name is the client's text and may hold ` from ` and an address,
/// and so may what follows (`ssh1: ruser …`): the address is believed only
/// when every ` from ADDRESS` in the line names the same one.
fn user_from<'a>(mut fact: SshdFact<'a>, rest: &'a str) -> SshdFact<'a> {
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    let candidates: Vec<(usize, IpAddr)> = rest
        .match_indices(" from ")
        .filter_map(|(i, sep)| {
            let word = rest[i + sep.len()..].split(' ').next()?;
            let word = if word.contains('.') { word.trim_start_matches("::ffff:") } else { word };
            let ip = word.parse().or_else(|_| word.trim_end_matches(':').parse()).ok()?;
            Some((i, ip))
        })
        .collect();
    match candidates.as_slice() {
        [] => {
            // A host name instead of an address (`UseDNS yes`).
            if let Some(i) = rest.rfind(" from ") {
                fact.user = Some(&rest[..i]).filter(|u| !u.is_empty());
                let host = rest[i + 6..].split(' ').next().unwrap_or_default();
                fact.domain = Some(host).filter(|h| !h.is_empty());
            }
        }
        [.., (last, ip)] if candidates.iter().all(|(_, other)| other == ip) => {
            fact.user = Some(&rest[..*last]).filter(|u| !u.is_empty());
            address_port(&mut fact, &rest[last + 6..]);
            fact.ip = Some(*ip);
        }
        _ => {}
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

/// pam_unix's `… ruser=R rhost=H[  user=U]`. `ruser` and `user` are the
/// client's text and may hold a fake `rhost=`: the host is one followed by
/// `  user=` or the end of the line, and the first and the last such must
/// agree (else the line is an imitation and names no host).
pub(crate) fn pam_rhost_user(m: &str) -> (Option<&str>, Option<&str>) {
    let candidates: Vec<(&str, Option<&str>)> = m
        .match_indices("rhost=")
        .filter_map(|(i, key)| {
            let after = &m[i + key.len()..];
            let end = after.find(' ').unwrap_or(after.len());
            let (host, tail) = after.split_at(end);
            let user = match tail.trim_end() {
                "" => None,
                t => Some(t.strip_prefix("  user=")?),
            };
            Some((host, user.filter(|u| !u.is_empty())))
        })
        .collect();
    match (candidates.first(), candidates.last()) {
        (Some(first), Some(last)) if first.0 == last.0 => (Some(first.0).filter(|h| !h.is_empty()), first.1),
        _ => (None, None),
    }
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

    /// User names and `ruser` are the client's text: imitating the rest of
    /// the line must not choose the address blamed.
    #[test]
    fn client_text_imitating_the_line_does_not_choose_the_address() {
        let f = recognise("Failed password for invalid user x from 6.6.6.6 port 1 ssh2 from 192.0.2.1 port 2 ssh2")
            .unwrap();
        assert_eq!((f.action, f.ip), ("ssh_failed_password", None));
        let f = recognise("Failed password for user from 192.0.2.1 port 20000 ssh1: ruser from 6.6.6.6").unwrap();
        assert_eq!(f.ip, None);
        let f = recognise("Failed password for root from 192.0.2.1 port 22 ssh2").unwrap();
        assert_eq!(f.ip, ip("192.0.2.1"));
        let pam = "pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot";
        let pam_ip = |tail: &str| recognise(&format!("{pam} {tail}")).unwrap().ip;
        assert_eq!(pam_ip("ruser=rhost=6.6.6.6 rhost=192.0.2.2"), ip("192.0.2.2"));
        assert_eq!(pam_ip("ruser=rhost=6.6.6.6  user=x rhost=192.0.2.2  user=root"), None);
        assert_eq!(pam_ip("ruser= rhost=192.0.2.2  user=x rhost=6.6.6.6"), None);
        let line = format!("{pam} ruser= rhost=192.0.2.2  user=root");
        let f = recognise(&line).unwrap();
        assert_eq!((f.ip, f.user), (ip("192.0.2.2"), Some("root")));
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
        // sshd's own PAM and access-control refusals, and Solaris' prefix.
        let f = recognise("error: PAM: Authentication failure for bob from 192.0.2.6").unwrap();
        assert_eq!((f.action, f.user, f.ip), ("ssh_failed_pam", Some("bob"), ip("192.0.2.6")));
        let f = recognise("error: PAM: authentication error for james from 192.0.2.7 via 192.168.1.201").unwrap();
        assert_eq!((f.user, f.ip), (Some("james"), ip("192.0.2.7")));
        let f = recognise("ROOT LOGIN REFUSED FROM ::ffff:1.2.3.4").unwrap();
        assert_eq!((f.action, f.success, f.ip), ("ssh_root_refused", Some(false), ip("1.2.3.4")));
        let f = recognise("User root from 192.0.2.8 not allowed because not listed in AllowUsers").unwrap();
        assert_eq!((f.action, f.user, f.ip), ("ssh_user_not_allowed", Some("root"), ip("192.0.2.8")));
        let f = recognise("[ID 800047 auth.info] Failed keyboard-interactive for james from 192.0.2.9 port 54520 ssh2")
            .unwrap();
        assert_eq!((f.action, f.ip), ("ssh_failed_keyboard_interactive", ip("192.0.2.9")));
        let f = recognise("Failed password for stefanor from example.com port 22 ssh2").unwrap();
        assert_eq!((f.ip, f.domain), (None, Some("example.com")));
        assert!(recognise("Failed password").is_none());
    }
}
