//! Redaction before a prompt leaves the host: addresses, user names and host
//! names become stable placeholders (`IP_1`, `USER_1`, `HOST_1`) in every
//! string of the prompt, and the answer's placeholders are put back.
//!
//! Known values come from the alert's entity and the evidence's typed
//! fields; addresses are also found by shape anywhere in free text (a log
//! message, a URL). A user or host name that appears only in free text,
//! never in a field, is not recognised — see docs/SECURITY.md.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use rampart_core::config::RedactConfig;
use regex::Regex;
use serde_json::Value;

static IPV4: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b").expect("a valid pattern"));
// Candidates only: each is confirmed by parsing as an IPv6 address.
// Where log text names an account: sshd's `invalid user X`, `for X from`,
// `failures for X`, PAM's `user=X` / `ruser=X` and `for user X`, sudo's `USER=X`.
static USER_PHRASES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:invalid user |(?:r?user|USER|logname)=|user |failures? for )([^\s\[\]();,]+)|\bfor ([^\s\[\]();,]+) from\b",
    )
    .expect("a valid pattern")
});
/// Words after `user ` that name no account.
const NOT_USERS: [&str; 6] = ["unknown", "authentication", "request", "name", "from", "with"];
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b").expect("a valid pattern"));

/// One prompt's placeholders, both ways.
#[derive(Debug, Default)]
pub struct Redactor {
    config: RedactConfig,
    /// Original → placeholder.
    forward: BTreeMap<String, String>,
    counts: BTreeMap<&'static str, usize>,
}

impl Redactor {
    pub fn new(config: &RedactConfig) -> Redactor {
        Redactor { config: config.clone(), ..Redactor::default() }
    }

    /// Registers a value the prompt may carry; `kind` is `ip`, `user` or `host`.
    pub fn know(&mut self, kind: &'static str, value: &str) {
        let value = value.trim();
        let wanted = match kind {
            "ip" => self.config.addresses,
            "user" => self.config.users,
            _ => self.config.hosts,
        };
        // One- and two-letter names would mangle ordinary words.
        if !wanted || value.chars().count() < 3 || self.forward.contains_key(value) {
            return;
        }
        let n = self.counts.entry(kind).or_default();
        *n += 1;
        let placeholder = format!("{}_{n}", kind.to_ascii_uppercase());
        self.forward.insert(value.to_owned(), placeholder);
    }

    /// Registers a value by what it looks like: an address, else a host name.
    pub fn know_entity(&mut self, field: &str, value: &str) {
        if value.parse::<IpAddr>().is_ok() {
            self.know("ip", value);
        } else if field.starts_with("user") {
            self.know("user", value);
        } else if field.ends_with("domain") || field.starts_with("host") {
            self.know("host", value);
        }
    }

    /// `text` with every known value and every address-shaped word replaced.
    pub fn redact(&mut self, text: &str) -> String {
        if self.config.users {
            for c in USER_PHRASES.captures_iter(text) {
                let name = c.get(1).or_else(|| c.get(2)).map_or("", |m| m.as_str());
                if !NOT_USERS.contains(&name) {
                    self.know("user", name);
                }
            }
        }
        if self.config.addresses {
            for m in IPV4.find_iter(text).chain(IPV6.find_iter(text)) {
                if m.as_str().parse::<IpAddr>().is_ok() {
                    self.know("ip", m.as_str());
                }
            }
        }
        let mut out = text.to_owned();
        // Longest first, so `alice.admin` is not half-replaced by `alice`.
        let mut known: Vec<(&String, &String)> = self.forward.iter().collect();
        known.sort_by_key(|(original, _)| std::cmp::Reverse(original.len()));
        for (original, placeholder) in known {
            out = replace_words(&out, original, placeholder);
        }
        out
    }

    /// Every string in `value`, redacted in place.
    pub fn redact_json(&mut self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.redact(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }

    /// The answer's placeholders mapped back to what they stand for.
    pub fn restore(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // `IP_12` before `IP_1`.
        let mut known: Vec<(&String, &String)> = self.forward.iter().collect();
        known.sort_by_key(|(_, placeholder)| std::cmp::Reverse(placeholder.len()));
        for (original, placeholder) in known {
            out = replace_words(&out, placeholder, original);
        }
        out
    }

    /// How many values of each kind were replaced.
    pub fn counts(&self) -> &BTreeMap<&'static str, usize> {
        &self.counts
    }
}

/// Replaces `from` where it stands as a whole word: not inside a longer
/// name (`admin` in `administrator`, `IP_1` in `IP_10`).
fn replace_words(text: &str, from: &str, to: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        let whole = !before.is_some_and(word) && !after.is_some_and(word);
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&RedactConfig::default())
    }

    #[test]
    fn addresses_users_and_hosts_become_stable_placeholders_and_come_back() {
        let mut r = redactor();
        r.know("user", "alice");
        r.know("host", "web-1.example.com");
        let text = "Failed password for alice from 203.0.113.9 port 22 on web-1.example.com; \
                    again 203.0.113.9 and 2001:db8::7, not administrator or alice2";
        let red = r.redact(text);
        assert_eq!(
            red,
            "Failed password for USER_1 from IP_1 port 22 on HOST_1; again IP_1 and IP_2, not administrator or alice2"
        );
        assert_eq!(r.restore("Ban IP_1 (user USER_1); IP_2 too"), "Ban 203.0.113.9 (user alice); 2001:db8::7 too");
        assert_eq!(r.counts().get("ip"), Some(&2));
    }

    #[test]
    fn accounts_named_in_log_phrases_are_found_without_a_field() {
        let mut r = redactor();
        let red = r.redact(
            "input_userauth_request: invalid user chen [preauth]; Failed password for invalid user utsims from 10.0.0.1; \
             Failed password for webmaster from 10.0.0.2; pam_unix(sshd:auth): check pass; user unknown; \
             logname= uid=0 ruser=bob rhost=x user=carol; sudo: alice : USER=root ; waiting for more than 5 s; \
             session opened for user cyrus by (uid=0); Too many authentication failures for dave [preauth]",
        );
        for name in ["chen", "utsims", "webmaster", "bob", "carol", "cyrus", "dave"] {
            assert!(!red.contains(name), "{name}: {red}");
        }
        assert!(red.contains("user unknown") && red.contains("for more than"), "{red}");
    }

    #[test]
    fn only_whole_words_and_real_addresses_are_replaced() {
        let mut r = redactor();
        r.know("user", "admin");
        assert_eq!(
            r.redact("admin administrator /admin/x 999.1.1.1 1.2.3"),
            "USER_1 administrator /USER_1/x 999.1.1.1 1.2.3"
        );
        for i in 1..=11 {
            r.know("ip", &format!("10.0.0.{i}"));
        }
        assert_eq!(r.restore("IP_10 IP_1"), "10.0.0.10 10.0.0.1");
        r.know("user", "ab");
        assert_eq!(r.redact("ab cd"), "ab cd", "two letters are left alone");
    }

    #[test]
    fn json_strings_are_redacted_everywhere_and_kinds_can_be_kept() {
        let mut r = Redactor::new(&RedactConfig { addresses: true, users: false, hosts: true });
        r.know("user", "alice");
        let mut v = serde_json::json!({"a": ["x 198.51.100.4", {"b": "alice at 198.51.100.4"}], "n": 5});
        r.redact_json(&mut v);
        assert_eq!(v, serde_json::json!({"a": ["x IP_1", {"b": "alice at IP_1"}], "n": 5}));
    }

    proptest::proptest! {
        // Prompts carry attacker text: any string is redacted without a panic.
        #[test]
        fn any_text_is_redacted_without_panic(text in "\\PC{0,300}") {
            let mut r = redactor();
            r.know("user", "alice");
            let red = r.redact(&text);
            let _ = r.restore(&red);
        }

        // Whatever addresses and names a line holds, none survives and all come back.
        #[test]
        fn lines_of_names_and_addresses_round_trip(words in proptest::collection::vec(
            proptest::sample::select(vec!["203.0.113.9", "2001:db8::1", "alice", "for", "bob", "from", "invalid", "user",
                "10.0.0.256", "port", "22", "web-1", "IP_9", "x"]), 0..30)) {
            let text = words.join(" ");
            let mut r = redactor();
            r.know("user", "alice");
            r.know("host", "web-1");
            let red = r.redact(&text);
            for secret in ["203.0.113.9", "2001:db8::1", "alice", "web-1"] {
                proptest::prop_assert!(!red.contains(secret), "{} in {}", secret, red);
            }
            if !text.contains("IP_9") {
                proptest::prop_assert_eq!(r.restore(&red), text);
            }
        }
    }
}
