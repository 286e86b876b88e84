//! Benign values to set against the attacks: the public attack corpora
//! bring only their own benign rows (SQL statements and words in Kaggle's
//! SQLi set, Wikipedia HTML in its XSS set), and a model that has seen
//! only those calls everything else an attack. So: values as real forms
//! and query strings carry them, made from small word lists with a fixed
//! seed (`forms`), and the query values and path segments of real access
//! logs (`access-logs`; they hold a few probes among the crawlers, so a
//! little of that source is mislabelled, and said so).

use std::path::Path;

use anyhow::Context as _;
use rampart_core::rng::SplitMix64;
use rampart_ml::payload::{Context, PayloadClass};

use super::corpus::Sample;

const FIRST: &[&str] = &[
    "john", "María", "O'Brien", "Zoë", "Jean-Luc", "Anne", "Mohammed", "Li", "D'Angelo", "Sven", "Ayşe", "Nguyễn",
    "Chloé", "Björn", "Priya", "José", "Émile", "Kim", "Olu", "Dana",
];
const LAST: &[&str] = &[
    "smith",
    "García",
    "O'Neil",
    "Müller",
    "van der Berg",
    "Dupont",
    "Kowalski",
    "Tanaka",
    "Rossi",
    "Ng",
    "St. John",
    "MacDonald",
    "Al-Sayed",
    "Ivanov",
    "Silva",
];
const WORDS: &[&str] = &[
    "select", "order", "union", "table", "from", "where", "drop", "script", "alert", "update", "delete", "and", "or",
    "not", "like", "insert", "create", "join", "group", "by", "sleep", "cat", "ls", "id", "echo", "chair", "blue",
    "free", "shipping", "red", "shoes", "size", "new", "best", "price", "cheap", "flights", "to", "paris", "hotel",
    "weather", "today", "how", "make", "bread", "rock", "roll", "café", "naïve", "résumé",
];
const SYMBOLS: &[&str] = &[
    "50% off",
    "C++",
    "C#",
    "a & b",
    "1/2",
    "3.5\"",
    "5'11\"",
    "#hashtag",
    "@user",
    "e-mail",
    "x=y",
    "(optional)",
    "[draft]",
    "<3",
    "100$",
    "rock & roll",
    "AT&T",
    "Q&A",
    "it's",
    "don't",
    "we're",
    "\"quoted\"",
    "a;b",
    "tom|jerry",
    "-1",
    "--verbose",
    "1--2",
    "2024-01-31",
    "--",
    "a--b",
    "dash-case",
    "snake_case",
    "a.b.c",
    "../readme",
    "~/docs",
    "N/A",
    "TBD",
    "5 * 3",
    "2+2=4",
    "x > y",
    "a < b",
    "=SUM(A1:A3)",
    "{json}",
];

/// `count` form-like values from the word lists above, the same every time.
pub fn forms(count: usize, seed: u64) -> Vec<Sample> {
    let mut rng = SplitMix64::new(seed);
    let mut pick = |list: &[&'static str]| list[(rng.next_u64() % list.len() as u64) as usize];
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let value = match i % 12 {
            0 => format!("{} {}", pick(FIRST), pick(LAST)),
            1 => format!("{}.{}@example.{}", pick(FIRST), pick(LAST), pick(&["com", "org", "co.uk", "de"]))
                .to_lowercase(),
            2 => format!("{} {} {}", pick(WORDS), pick(WORDS), pick(WORDS)),
            3 => pick(SYMBOLS).to_owned(),
            4 => format!("{} {}", pick(WORDS), pick(SYMBOLS)),
            5 => format!("{}", (i * 7919) % 100_000),
            6 => format!("+44 20 7946 {:04}", i % 10_000),
            7 => format!("{} {} street, apt {}", i % 300 + 1, pick(LAST), i % 40 + 1),
            8 => format!("https://example.com/{}/{}?ref={}", pick(WORDS), i % 1000, pick(WORDS)),
            9 => format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                i * 2_654_435_761 % u32::MAX as usize,
                i % 65_536,
                i % 4096,
                (i * 7) % 4096,
                i * 97
            ),
            10 => format!("I'd like to {} the {} - it's {}!", pick(WORDS), pick(WORDS), pick(WORDS)),
            _ => format!("{}{}", pick(WORDS), i % 100),
        };
        out.push(Sample { value, class: PayloadClass::Benign, source: "forms", context: Context::Other });
    }
    out
}

/// Query values and path segments of the combined-format access logs in `dir`.
pub fn access_logs(dir: &Path) -> anyhow::Result<Vec<Sample>> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n.to_string_lossy().contains("access")))
        .collect();
    files.sort();
    for file in files {
        let text =
            String::from_utf8_lossy(&std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?)
                .into_owned();
        for line in text.lines() {
            let Some(target) = request_target(line) else { continue };
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            for segment in path.split('/').filter(|s| !s.is_empty()) {
                out.push(Sample {
                    value: segment.to_owned(),
                    class: PayloadClass::Benign,
                    source: "access-logs",
                    context: Context::Other,
                });
            }
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let value = pair.split_once('=').map_or(pair, |(_, v)| v);
                if !value.is_empty() {
                    out.push(Sample {
                        value: value.to_owned(),
                        class: PayloadClass::Benign,
                        source: "access-logs",
                        context: Context::Form,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The request target of a combined-format line: `GET /a?b=c HTTP/1.1` → `/a?b=c`.
fn request_target(line: &str) -> Option<&str> {
    let request = line.split('"').nth(1)?;
    let mut parts = request.split(' ');
    let _method = parts.next()?;
    let target = parts.next()?;
    target.starts_with('/').then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_repeat_exactly_and_log_values_are_split_out() {
        assert_eq!(forms(50, 7), forms(50, 7));
        assert!(forms(24, 7).iter().all(|s| s.class == PayloadClass::Benign && !s.value.is_empty()));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("access.log"),
            "1.2.3.4 - - [22/Oct/2021:02:28:56 -0700] \"GET /shop/item%201?id=42&q=red+shoes HTTP/1.1\" 200 1 \"-\" \"x\"\nnot a log line\n",
        )
        .unwrap();
        let values: Vec<String> = access_logs(dir.path()).unwrap().into_iter().map(|s| s.value).collect();
        assert_eq!(values, ["shop", "item%201", "42", "red+shoes"]);
    }
}
