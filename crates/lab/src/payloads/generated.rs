//! Values composed from word lists rather than read from a corpus, each a
//! source of its own so leave-one-source-out can set it aside:
//!
//! - `crs-phrases`: path traversals and command injections built from the
//!   file names and shell words of ModSecurity CRS's phrase lists
//!   (`lfi-os-files.data`, `unix-shell.data`). PayloadsAllTheThings is the
//!   only corpus with those two classes; without a second source, leaving
//!   it out would leave the model with no example of either.
//! - `searches`: what people type into a shop's or a site's search box —
//!   sizes with inch and foot marks, quoted phrases, fractions, brackets,
//!   percentages, English in which `and`, `or`, `select` and `union` are
//!   words. The public corpora's benign rows are SQL statements and
//!   Wikipedia HTML; without text like this every quote looks like SQLi.
//!
//! - `rich-text`: what a comment box or a CMS editor posts — paragraphs,
//!   emphasis, links, images with alt text, lists, quotes. Kaggle's XSS set
//!   is the only other benign HTML, so leaving it out left the model
//!   believing every tag is an attack.
//!
//! Everything is drawn from a seeded generator: the same corpus every run.

use std::path::Path;

use anyhow::Context as _;
use rampart_core::rng::SplitMix64;
use rampart_ml::payload::{Context, PayloadClass};

use super::corpus::Sample;

pub(crate) struct Draw(pub(crate) SplitMix64);

impl Draw {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }

    pub(crate) fn chance(&mut self, share: f64) -> bool {
        self.0.next_f64() < share
    }
}

/// Non-comment lines of a CRS `.data` phrase list.
fn phrases(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
}

const DOT_DOT: &[&str] =
    &["../", "..\\", "..%2f", "%2e%2e%2f", "%2e%2e/", "..%5c", "....//", "..%252f", "%c0%ae%c0%ae/", "..%c0%af"];
const SEPARATORS: &[&str] = &[";", "|", "||", "&&", "&", "\n", "%0a", "`", "$(", "%3b", "${IFS}"];
const ARGUMENTS: &[&str] =
    &["", " -a", " -la", " /etc/passwd", " 127.0.0.1", " http://203.0.113.9/x.sh", " 10", " /tmp"];
const BEFORE: &[&str] = &["", "", "1", "127.0.0.1", "foo", "a'", "x\"", "index.html"];

/// Traversals and command injections from the CRS lists in `crs_dir`
/// (`count` of each); nothing when the lists are missing.
pub fn crs_phrases(crs_dir: &Path, count: usize, seed: u64) -> anyhow::Result<Vec<Sample>> {
    let (files, shell) = (crs_dir.join("lfi-os-files.data"), crs_dir.join("unix-shell.data"));
    if !files.exists() || !shell.exists() {
        return Ok(Vec::new());
    }
    let files = phrases(&files)?;
    // Only command words: the list also holds `$HOME`-style variables, which are not a command on their own.
    let commands: Vec<String> = phrases(&shell)?.into_iter().filter(|c| !c.starts_with('$')).collect();
    let mut draw = Draw(SplitMix64::new(seed));
    let mut out = Vec::with_capacity(count * 2);
    for _ in 0..count {
        let up = draw.pick(DOT_DOT).repeat(1 + draw.below(8));
        let file = &files[draw.below(files.len())];
        let suffix = if draw.chance(0.15) { draw.pick(&["%00", "%00.png", "\0.jpg", "?", "#"]) } else { "" };
        let value = match draw.below(4) {
            0 => format!("/{}", file.trim_start_matches('/')),
            1 => format!(
                "{}{}{}",
                draw.pick(&["", "", "/var/www/", "images/", "file="]),
                up,
                file.trim_start_matches('/')
            ),
            _ => format!("{up}{}{suffix}", file.trim_start_matches('/')),
        };
        out.push(Sample { value, class: PayloadClass::Traversal, source: "crs-phrases", context: Context::Other });
    }
    for _ in 0..count {
        let command = &commands[draw.below(commands.len())];
        let command = if draw.chance(0.3) {
            format!("/{}", command.trim_start_matches('/'))
        } else {
            command.rsplit('/').next().unwrap_or(command).to_owned()
        };
        let separator = draw.pick(SEPARATORS);
        let close = match separator {
            "`" => "`",
            "$(" => ")",
            _ => draw.pick(&["", "", ";", "|", "#", " #"]),
        };
        let value = format!("{}{separator}{command}{}{close}", draw.pick(BEFORE), draw.pick(ARGUMENTS));
        out.push(Sample { value, class: PayloadClass::Command, source: "crs-phrases", context: Context::Other });
    }
    Ok(out)
}

const ITEMS: &[&str] = &[
    "frame",
    "pillow cover",
    "ribbon",
    "poster",
    "laptop sleeve",
    "chain",
    "pendant",
    "buttons",
    "rug",
    "mug",
    "print",
    "table",
    "lamp",
    "curtain",
    "sticker",
    "necklace",
    "dress",
    "beads",
    "box",
    "shelf",
    "canvas",
    "quilt",
    "hat",
];
const ADJECTIVES: &[&str] = &[
    "vintage",
    "handmade",
    "green",
    "black",
    "modern",
    "rustic",
    "gold plated",
    "cotton",
    "wooden",
    "union jack",
    "antique",
    "select",
    "primitive",
    "large",
    "small",
    "white",
    "blue",
    "organic",
    "drop",
    "custom",
    "or",
    "and",
];
const PHRASES: &[&str] = &[
    "black and white",
    "rock or pop",
    "not for sale",
    "select your size",
    "drop shipping",
    "where to buy",
    "union station",
    "from paris with love",
    "like new",
    "order by phone",
    "insert coin",
    "update your profile",
    "delete my account",
    "join us",
    "group discount",
    "sleep mask",
    "cat toy",
    "echo dot",
    "script font",
    "alert bracelet",
    "all or nothing",
    "truth or dare",
    "now and then",
    "table for two",
    "exec summary",
];

/// `count` search-box values, the same every time.
pub fn searches(count: usize, seed: u64) -> Vec<Sample> {
    let mut draw = Draw(SplitMix64::new(seed));
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let n = 1 + draw.below(60);
        let m = 1 + draw.below(60);
        let (item, adjective, phrase) = (draw.pick(ITEMS), draw.pick(ADJECTIVES), draw.pick(PHRASES));
        let value = match i % 16 {
            0 => format!("{n}\" x {m}\" {item}"),
            1 => format!("{n}' x {m}' {adjective} {item}"),
            2 => format!("\"{adjective} {item}\" {phrase}"),
            3 => format!("\"{adjective}\" \"{item}\""),
            4 => format!("{n} {}/{} inch {item}", 1 + draw.below(7), 8),
            5 => format!("{item} ({n}-{m}mm)"),
            6 => format!("({:03}) {:03}-{:04}", draw.below(1000), draw.below(1000), draw.below(10_000)),
            7 => format!("{n}% cotton and {}% polyester", 100 - n.min(99)),
            8 => format!("{phrase} {item}"),
            9 => format!("{adjective} {item}, {} {}", draw.pick(ADJECTIVES), draw.pick(ITEMS)),
            10 => format!("{}'s {item}", draw.pick(&["mom", "50", "80", "kid", "women", "men", "o'reilly"])),
            11 => format!("{item}; {}; {}", draw.pick(ITEMS), draw.pick(ITEMS)),
            12 => format!("{n}-{m} {item} - {phrase}"),
            13 => format!("{item} #{n} (set of {m})"),
            14 => format!("{n}.{m}\" {item} - {adjective}"),
            _ => format!("{phrase} \"{item}\" {n}"),
        };
        let value = if draw.chance(0.2) { value.to_uppercase() } else { value };
        out.push(Sample { value, class: PayloadClass::Benign, source: "searches", context: Context::Form });
    }
    out
}

const SENTENCES: &[&str] = &[
    "We shipped the order on Monday and it arrived today.",
    "Thanks for the quick reply!",
    "Does this come in a larger size?",
    "The recipe calls for 2 cups of flour & a pinch of salt.",
    "I'd select the blue one, or maybe the green.",
    "Great product - would buy again.",
    "See the attached photo for the damage.",
    "Our meeting moved to 3pm; please update the calendar.",
    "Price was <b>too</b> high compared to the shop across the street.",
    "Union members meet on the first Friday of the month.",
];
const TAGS: &[(&str, &str)] = &[
    ("p", "p"),
    ("b", "b"),
    ("i", "i"),
    ("em", "em"),
    ("strong", "strong"),
    ("li", "li"),
    ("blockquote", "blockquote"),
    ("h2", "h2"),
    ("span class=\"note\"", "span"),
    ("div class=\"quote\"", "div"),
];
const HOSTS: &[&str] = &["example.com", "en.wikipedia.org", "docs.example.org", "shop.example.net", "youtu.be"];

/// `count` rich-text values as an editor posts them, the same every time.
pub fn rich_text(count: usize, seed: u64) -> Vec<Sample> {
    let mut draw = Draw(SplitMix64::new(seed));
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let sentence = draw.pick(SENTENCES);
        let (open, close) = TAGS[draw.below(TAGS.len())];
        let host = draw.pick(HOSTS);
        let value = match i % 6 {
            0 => format!("<{open}>{sentence}</{close}>"),
            1 => format!("<p>{sentence} <a href=\"https://{host}/{}\">link</a></p>", draw.below(10_000)),
            2 => format!(
                "<img src=\"https://{host}/img/{}.jpg\" alt=\"{}\" width=\"{}\">",
                draw.below(1000),
                draw.pick(ITEMS),
                100 + draw.below(800)
            ),
            3 => format!("<ul><li>{}</li><li>{}</li></ul>", draw.pick(ITEMS), draw.pick(PHRASES)),
            4 => format!("<p>{sentence}</p><p>{}</p>", draw.pick(SENTENCES)),
            _ => format!("{sentence}<br>{}<br/>", draw.pick(SENTENCES)),
        };
        out.push(Sample { value, class: PayloadClass::Benign, source: "rich-text", context: Context::Form });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_repeat_exactly_and_carry_their_class() {
        assert_eq!(searches(64, 3), searches(64, 3));
        assert_eq!(rich_text(12, 3), rich_text(12, 3));
        assert!(
            rich_text(12, 3).iter().all(|s| s.class == PayloadClass::Benign && s.value.contains('<')),
            "every rich-text value carries markup"
        );
        assert!(searches(64, 3).iter().all(|s| s.class == PayloadClass::Benign && !s.value.is_empty()));
        let dir = tempfile::tempdir().unwrap();
        assert!(crs_phrases(dir.path(), 10, 1).unwrap().is_empty(), "no lists, no values");
        std::fs::write(dir.path().join("lfi-os-files.data"), "# c\netc/passwd\n.htaccess\n").unwrap();
        std::fs::write(dir.path().join("unix-shell.data"), "bin/cat\n$HOME\nusr/bin/id\n").unwrap();
        let values = crs_phrases(dir.path(), 20, 1).unwrap();
        assert_eq!(values, crs_phrases(dir.path(), 20, 1).unwrap());
        let traversals = values.iter().filter(|s| s.class == PayloadClass::Traversal).count();
        assert_eq!((traversals, values.len()), (20, 40));
        assert!(values.iter().all(|s| !s.value.contains("$HOME")), "variables alone are not commands");
    }
}
