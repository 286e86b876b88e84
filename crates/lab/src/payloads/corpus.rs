//! Labelled web values from the public corpora, by source, for training
//! and for leave-one-source-out evaluation: Kaggle's SQLi and XSS sets
//! (their benign rows too), libinjection's `sqli-*` / `xss-*` files (one
//! URL-encoded input per line), and PayloadsAllTheThings' intruder lists
//! (SQLi, XSS, directory traversal, command injection). libinjection's
//! `false_positives.txt` is never read here: it is a test set of hard
//! negatives, kept out of training on purpose.
//!
//! Benign values of other kinds come from `benign` (form values, access
//! logs) and `generated` (search-box text, rich text); traversals and command
//! injections of a second kind from `generated` (CRS's phrase lists), SQL
//! probes of a second kind from `sql_grammar`. Values are de-duplicated by their decoded form within the whole corpus;
//! one seen with two different classes is dropped and counted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rampart_ml::payload::{Context, PayloadClass, decode};

/// One labelled value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub value: String,
    pub class: PayloadClass,
    /// The corpus it came from: `kaggle-sqli`, `libinjection`, …
    pub source: &'static str,
    /// How it is decoded (libinjection's lines are URL-encoded query values).
    pub context: Context,
}

/// The corpus, de-duplicated.
#[derive(Debug, Default)]
pub struct Corpus {
    pub samples: Vec<Sample>,
    /// Values seen again (after decoding) with the same class.
    pub duplicates: usize,
    /// Values seen with two classes, dropped.
    pub conflicts: usize,
}

/// Longest value kept: the decoder judges at most this much anyway.
const MAX_VALUE: usize = 16 * 1024;

/// Benign form values added to the corpus (see `benign::forms`).
const FORM_VALUES: usize = 20_000;
/// Benign search-box values (see `generated::searches`).
const SEARCH_VALUES: usize = 10_000;
/// Benign rich-text (HTML) values (see `generated::rich_text`).
const RICH_TEXT_VALUES: usize = 3_000;
/// Traversals and command injections of each kind composed from CRS's lists.
const CRS_VALUES: usize = 3_000;
/// SQL probes composed from their grammar (see `sql_grammar`).
const SQL_GRAMMAR_VALUES: usize = 3_000;

/// Reads every source found under `dir` (the `web-payloads` layout:
/// `kaggle-sqli/`, `kaggle-xss/`, `libinjection/`, `payloadsallthethings/`),
/// the benign form values, and the access logs in `logs` when given.
pub fn load(dir: &Path, logs: Option<&Path>) -> anyhow::Result<Corpus> {
    let mut raw = read_sources(dir)?;
    anyhow::ensure!(!raw.is_empty(), "no payload corpus under {}", dir.display());
    if let Some(crs) = sorted_files_or_dirs(dir)?.into_iter().find(|p| crs_lists(p)) {
        raw.extend(super::generated::crs_phrases(&crs, CRS_VALUES, 0xc25)?);
    }
    raw.extend(super::sql_grammar::probes(SQL_GRAMMAR_VALUES, 0x5e1ec7));
    raw.extend(super::benign::forms(FORM_VALUES, 0x5eed));
    raw.extend(super::generated::searches(SEARCH_VALUES, 0x5ea2c4));
    raw.extend(super::generated::rich_text(RICH_TEXT_VALUES, 0x51c4));
    if let Some(logs) = logs {
        raw.extend(super::benign::access_logs(logs)?);
    }
    Ok(dedup(raw))
}

/// The public corpora's values, in file order.
pub(crate) fn read_sources(dir: &Path) -> anyhow::Result<Vec<Sample>> {
    let mut raw: Vec<Sample> = Vec::new();
    let sqli_csv = dir.join("kaggle-sqli/Modified_SQL_Dataset.csv");
    if sqli_csv.exists() {
        read_csv(&sqli_csv, "kaggle-sqli", 0, 1, PayloadClass::Sqli, &mut raw)?;
    }
    let xss_csv = dir.join("kaggle-xss/XSS_dataset.csv");
    if xss_csv.exists() {
        read_csv(&xss_csv, "kaggle-xss", 1, 2, PayloadClass::Xss, &mut raw)?;
    }
    for file in sorted_files(&dir.join("libinjection"))? {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let class = if name.starts_with("sqli-") {
            PayloadClass::Sqli
        } else if name.starts_with("xss-") || name.starts_with("tbd-xss-") {
            PayloadClass::Xss
        } else {
            continue;
        };
        read_lines(&file, "libinjection", class, Context::Form, &mut raw)?;
    }
    let patt = dir.join("payloadsallthethings");
    for (folder, class) in [
        ("SQL_Injection", PayloadClass::Sqli),
        ("XSS_Injection", PayloadClass::Xss),
        ("Directory_Traversal", PayloadClass::Traversal),
        ("Command_Injection", PayloadClass::Command),
    ] {
        for file in sorted_files(&patt.join(folder))? {
            read_lines(&file, "payloadsallthethings", class, Context::Other, &mut raw)?;
        }
    }
    Ok(raw)
}

/// A directory holding CRS's phrase lists (`crs-3.3.4-debian-data/` in the public layout).
fn crs_lists(path: &Path) -> bool {
    path.is_dir() && path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("crs"))
}

/// Entries of `dir`, sorted by name.
fn sorted_files_or_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// Files in `dir` (none when it is missing), sorted by name.
fn sorted_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// A `value,label` CSV whose label 1 is `attack` and 0 benign.
fn read_csv(
    path: &Path,
    source: &'static str,
    value_at: usize,
    label_at: usize,
    attack: PayloadClass,
    out: &mut Vec<Sample>,
) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    for (n, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{} line {}", path.display(), n + 2))?;
        let (Some(value), Some(label)) = (record.get(value_at), record.get(label_at)) else { continue };
        let class = match label.trim() {
            "1" => attack,
            "0" => PayloadClass::Benign,
            other => anyhow::bail!("{} line {}: label {other:?} is neither 0 nor 1", path.display(), n + 2),
        };
        push(out, value, class, source, Context::Other);
    }
    Ok(())
}

/// One payload per line; `#` starts a comment line in libinjection's files.
fn read_lines(
    path: &Path,
    source: &'static str,
    class: PayloadClass,
    context: Context,
    out: &mut Vec<Sample>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || (source == "libinjection" && line.starts_with('#')) {
            continue;
        }
        push(out, line, class, source, context);
    }
    Ok(())
}

fn push(out: &mut Vec<Sample>, value: &str, class: PayloadClass, source: &'static str, context: Context) {
    if value.trim().is_empty() || value.len() > MAX_VALUE {
        return;
    }
    out.push(Sample { value: value.to_owned(), class, source, context });
}

/// Writes `samples` one JSON object per line: value, class, source and
/// context (`form` for URL-encoded query values, `other` for raw text).
pub fn write_json_lines(samples: &[Sample], path: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for s in samples {
        let context = if s.context == Context::Form { "form" } else { "other" };
        let line =
            serde_json::json!({ "value": s.value, "class": s.class.name(), "source": s.source, "context": context });
        writeln!(out, "{line}").with_context(|| format!("cannot write {}", path.display()))?;
    }
    out.flush().with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Keeps the first of each decoded value; drops values seen with two classes.
pub(crate) fn dedup(raw: Vec<Sample>) -> Corpus {
    let mut first: HashMap<String, (usize, PayloadClass)> = HashMap::with_capacity(raw.len());
    let mut conflicted = vec![false; raw.len()];
    let mut keep = vec![false; raw.len()];
    let mut corpus = Corpus::default();
    for (i, sample) in raw.iter().enumerate() {
        let key = decode(&sample.value, sample.context).text;
        match first.get(&key) {
            None => {
                first.insert(key, (i, sample.class));
                keep[i] = true;
            }
            Some(&(_, class)) if class == sample.class => corpus.duplicates += 1,
            Some(&(at, _)) => {
                if !conflicted[at] {
                    conflicted[at] = true;
                    corpus.conflicts += 1;
                }
            }
        }
    }
    corpus.samples = raw.into_iter().enumerate().filter(|(i, _)| keep[*i] && !conflicted[*i]).map(|(_, s)| s).collect();
    corpus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_read_labelled_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("kaggle-sqli")).unwrap();
        std::fs::write(
            root.join("kaggle-sqli/Modified_SQL_Dataset.csv"),
            "Query,Label\r\n\"\"\" or 1=1 --\",1\r\nselect * from meet,0\r\nhello,0\r\nHELLO,1\r\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("libinjection")).unwrap();
        std::fs::write(
            root.join("libinjection/sqli-test.txt"),
            "# comment\n1%27%20or%201%3D1\n%22%20or%201%3D1%20--\n",
        )
        .unwrap();
        std::fs::write(root.join("libinjection/false_positives.txt"), "24-7-TEAM\n").unwrap();
        std::fs::create_dir_all(root.join("payloadsallthethings/Directory_Traversal")).unwrap();
        std::fs::write(root.join("payloadsallthethings/Directory_Traversal/t.txt"), "../../etc/passwd\n\n").unwrap();
        let corpus = dedup(read_sources(root).unwrap());
        let got: Vec<(&str, PayloadClass, &str)> =
            corpus.samples.iter().map(|s| (s.value.as_str(), s.class, s.source)).collect();
        assert_eq!(
            got,
            [
                ("\" or 1=1 --", PayloadClass::Sqli, "kaggle-sqli"),
                ("select * from meet", PayloadClass::Benign, "kaggle-sqli"),
                ("1%27%20or%201%3D1", PayloadClass::Sqli, "libinjection"),
                ("../../etc/passwd", PayloadClass::Traversal, "payloadsallthethings"),
            ]
        );
        // `"%22 or 1=1 --"` decodes to the Kaggle row: a duplicate; `hello` / `HELLO` fold alike with two labels.
        assert_eq!((corpus.duplicates, corpus.conflicts), (1, 1));
        assert!(!corpus.samples.iter().any(|s| s.value == "24-7-TEAM"), "the hard negatives are never trained on");
        let with_forms = load(root, None).unwrap();
        assert!(with_forms.samples.iter().any(|s| s.source == "forms" && s.class == PayloadClass::Benign));
    }
}
