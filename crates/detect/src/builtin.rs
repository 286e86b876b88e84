//! What is compiled into the binary: the built-in rules (plain rule YAML,
//! the format users write) and the phrase lists rules refer to as `@name`.
//! Both live in `crates/detect/rules/`.

pub(crate) const FILES: &[(&str, &str)] = &[
    ("ssh.yaml", include_str!("../rules/ssh.yaml")),
    ("web.yaml", include_str!("../rules/web.yaml")),
    ("network.yaml", include_str!("../rules/network.yaml")),
    ("services.yaml", include_str!("../rules/services.yaml")),
];

const PHRASE_LISTS: &[(&str, &str)] = &[
    ("sensitive-paths", include_str!("../rules/data/sensitive-paths.txt")),
    ("scanner-user-agents", include_str!("../rules/data/scanner-user-agents.txt")),
    ("sqli", include_str!("../rules/data/sqli.txt")),
    ("xss", include_str!("../rules/data/xss.txt")),
    ("code-injection", include_str!("../rules/data/code-injection.txt")),
];

/// The phrases of a shipped list: one per line; `#` comments and blank
/// lines skipped.
pub(crate) fn phrase_list(name: &str) -> Option<Vec<String>> {
    let (_, text) = PHRASE_LISTS.iter().find(|(n, _)| *n == name)?;
    Some(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect())
}

pub(crate) fn phrase_list_names() -> Vec<&'static str> {
    PHRASE_LISTS.iter().map(|(n, _)| *n).collect()
}
