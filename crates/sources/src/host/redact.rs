//! Secrets out of command lines before they are stored or shown.
//!
//! An admin token passed on a command line once showed on a reader's
//! screen. Command lines are redacted where they are read, so no store,
//! alert or page ever holds the secret: values of secret-named options
//! (`--password=…`, `--token …`, `-p…` is left alone: too ambiguous),
//! secret-named `key=value` pairs, the password in `scheme://user:pass@`,
//! and well-known token shapes (Rampart's own, bearer tokens, JWTs, AWS,
//! GitHub, GitLab and Slack keys) wherever they stand.

use std::sync::LazyLock;

use regex::Regex;

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// An option or variable name that says its value is a secret.
const SECRET_NAME: &str = r"(?i:[a-z0-9_.-]*(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth|credential|cookie|session)[a-z0-9_.-]*)";

static NAMED_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^(-{{0,2}}{SECRET_NAME}[=:])(.+)$")).expect("the pattern is a constant that compiles")
});
static NAMED_FLAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"^--?{SECRET_NAME}$")).expect("the pattern is a constant that compiles"));
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@").expect("the pattern is a constant that compiles")
});
static TOKEN_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"rm[ps]_[0-9a-f]{8,}(?:_[0-9a-f]{8,})?",
        r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        r"|(?:AKIA|ASIA)[0-9A-Z]{16}",
        r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}",
        r"|xox[abposr]-[A-Za-z0-9-]{10,}",
        r"|(?i:bearer\s+)[A-Za-z0-9._~+/=-]{16,}",
    ))
    .expect("the pattern is a constant that compiles")
});

/// `command_line` (arguments joined by spaces) with its secrets replaced.
pub fn redact_command_line(command_line: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut hide_next = false;
    for arg in command_line.split(' ') {
        if hide_next && !arg.is_empty() {
            out.push(REDACTED.to_owned());
            hide_next = false;
            continue;
        }
        if NAMED_FLAG.is_match(arg) {
            hide_next = true;
            out.push(arg.to_owned());
            continue;
        }
        if let Some(c) = NAMED_VALUE.captures(arg) {
            out.push(format!("{}{REDACTED}", &c[1]));
            continue;
        }
        out.push(arg.to_owned());
    }
    let joined = out.join(" ");
    let joined = URL_PASSWORD.replace_all(&joined, format!("${{1}}{REDACTED}@"));
    TOKEN_SHAPES.replace_all(&joined, REDACTED).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let cases = [
            ("mysql --password=hunter2 -h db", "mysql --password=[REDACTED] -h db"),
            ("app --api-key abc123 --verbose", "app --api-key [REDACTED] --verbose"),
            (
                "curl -H Authorization:x https://bob:s3cret@example.com/x",
                "curl -H Authorization:[REDACTED] https://bob:[REDACTED]@example.com/x",
            ),
            (
                "env DB_PASSWORD=pw AWS_SECRET_ACCESS_KEY=k PATH=/bin run",
                "env DB_PASSWORD=[REDACTED] AWS_SECRET_ACCESS_KEY=[REDACTED] PATH=/bin run",
            ),
            (
                "rampart decisions add 1.2.3.4 --server http://h rmp_0a1b2c3d4e5f6a7b_0123456789abcdef0123",
                "rampart decisions add 1.2.3.4 --server http://h [REDACTED]",
            ),
            ("tool ghp_abcdefghijklmnopqrstuvwxyz0123 xoxb-1234567890-abc", "tool [REDACTED] [REDACTED]"),
            ("sleep 100", "sleep 100"),
            ("nginx: worker process", "nginx: worker process"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_command_line(input), want, "{input}");
        }
    }

    proptest! {
        // Hostile command lines: any text comes back, never a panic, and a
        // planted Rampart token never survives.
        #[test]
        fn planted_tokens_never_survive(prefix in ".{0,40}", suffix in ".{0,40}") {
            let line = format!("{prefix} rmp_00112233aabbccdd_{} {suffix}", "e".repeat(48));
            prop_assert!(!redact_command_line(&line).contains(&"e".repeat(48)));
        }
    }
}
