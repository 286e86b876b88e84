//! Labelled flow datasets, parsed from text into rows of cells.
//!
//! Three layouts: NSL-KDD (no header, 43 columns), CIC-IDS2017 (a header;
//! the original MachineLearningCVE names and the "improved" re-extraction's
//! names both map to one canonical set), and any CSV with a named label
//! column. Cells stay text here; `Preprocessor` decides what is a number.
//! Reading files is the caller's job: this module sees text and a name for
//! error messages.

mod cicids;
mod nsl_kdd;

use std::collections::BTreeMap;

pub use cicids::canonical_cic_label;
pub use nsl_kdd::{NSL_KDD_COLUMNS, NSL_KDD_SYMBOLIC, nsl_kdd_category};

/// A ratio to derive: its name, the numerator column, the denominator column.
pub type RatioSpec = (&'static str, &'static str, &'static str);

/// Which layout a file is in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "name")]
pub enum Format {
    NslKdd,
    CicIds2017,
    /// A header row; `label` names the label column.
    Csv {
        label: String,
    },
}

impl Format {
    /// The label of benign rows in this layout.
    pub fn normal_label(&self) -> &'static str {
        match self {
            Format::NslKdd => "normal",
            Format::CicIds2017 | Format::Csv { .. } => "BENIGN",
        }
    }

    /// Columns this layout treats as categories even when they hold
    /// digits, and the ratios worth adding (name, numerator, denominator).
    pub fn feature_hints(&self) -> (Vec<&'static str>, Vec<RatioSpec>) {
        match self {
            Format::NslKdd => (
                NSL_KDD_SYMBOLIC.to_vec(),
                vec![
                    ("src_bytes_per_sec", "src_bytes", "duration"),
                    ("dst_to_src_bytes", "dst_bytes", "src_bytes"),
                    ("srv_to_host_count", "srv_count", "count"),
                ],
            ),
            Format::CicIds2017 => (
                vec!["Protocol"],
                vec![("bwd_to_fwd_bytes", "Total Length of Bwd Packet", "Total Length of Fwd Packet")],
            ),
            Format::Csv { .. } => (Vec::new(), Vec::new()),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Format::NslKdd => "nsl-kdd",
            Format::CicIds2017 => "cic-ids2017",
            Format::Csv { .. } => "csv",
        }
    }
}

/// Rows of text cells with a label each, all with the same columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub labels: Vec<String>,
    /// Where each row came from (`file:line`), for replay and error reports.
    pub origins: Vec<Origin>,
    /// Source address, source port and destination address per row, where
    /// the layout records them (CIC-IDS2017); not features, so kept aside.
    pub endpoints: Vec<[String; 3]>,
}

/// A row's file (index into `Table::files`-style lists kept by the caller)
/// and 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub file: u32,
    pub line: u64,
}

/// A row that could not be read, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub source: String,
    pub line: u64,
    pub reason: String,
    /// The file as a whole cannot be read (its header): skipping rows
    /// would not help.
    pub whole_file: bool,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.source, self.line, self.reason)
    }
}

/// Parses one file's text and appends its rows to `table`. A malformed row
/// is an error naming `source` and the line unless `skip_bad` is set, in
/// which case it is counted in the returned number.
pub fn parse_into(
    table: &mut Table,
    text: &str,
    format: &Format,
    source: &str,
    file: u32,
    skip_bad: bool,
) -> Result<u64, BadRow> {
    let at = |line: u64, reason: String| BadRow { source: source.to_owned(), line, reason, whole_file: false };
    let header = |reason: String| BadRow { source: source.to_owned(), line: 1, reason, whole_file: true };
    let mut skipped = 0u64;
    let mut bad = |e: BadRow| {
        if !skip_bad {
            return Err(e);
        }
        skipped += 1;
        Ok(())
    };
    match format {
        Format::NslKdd => {
            set_columns(table, NSL_KDD_COLUMNS.iter().map(|c| (*c).to_owned()).collect(), source)?;
            for (n, line) in text.lines().enumerate() {
                let line_no = n as u64 + 1;
                if line.trim().is_empty() {
                    continue;
                }
                match nsl_kdd::parse_row(line) {
                    Ok((cells, label)) => push(table, cells, label, file, line_no),
                    Err(reason) => bad(at(line_no, reason))?,
                }
            }
        }
        Format::CicIds2017 | Format::Csv { .. } => {
            let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
            let names_row = reader.headers().map_err(|e| header(format!("cannot read the header: {e}")))?.clone();
            let (label_at, keep, names) = header_plan(&names_row, format).map_err(header)?;
            let endpoint_at = cicids::endpoint_columns(&names_row);
            set_columns(table, names, source)?;
            for record in reader.records() {
                let record = match record {
                    Ok(r) => r,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        bad(at(line, e.to_string()))?;
                        continue;
                    }
                };
                let line_no = record.position().map_or(0, |p| p.line());
                if record.len() == 1 && record.get(0) == Some("") {
                    continue;
                }
                if record.len() != names_row.len() {
                    bad(at(line_no, format!("{} columns, the header has {}", record.len(), names_row.len())))?;
                    continue;
                }
                let raw_label = record.get(label_at).unwrap_or_default();
                if raw_label.is_empty() {
                    bad(at(line_no, format!("empty label in column {:?}", &names_row[label_at])))?;
                    continue;
                }
                let label = match format {
                    Format::CicIds2017 => canonical_cic_label(raw_label),
                    _ => raw_label.to_owned(),
                };
                let cells = keep.iter().map(|&i| record.get(i).unwrap_or_default().to_owned()).collect();
                if let Some(at) = endpoint_at {
                    table.endpoints.push(at.map(|i| record.get(i).unwrap_or_default().to_owned()));
                }
                push(table, cells, label, file, line_no);
            }
        }
    }
    Ok(skipped)
}

fn push(table: &mut Table, cells: Vec<String>, label: String, file: u32, line: u64) {
    table.rows.push(cells);
    table.labels.push(label);
    table.origins.push(Origin { file, line });
}

/// Every file must bring the columns the first one did (in any order for
/// CSV is not supported: the same names in the same order).
fn set_columns(table: &mut Table, names: Vec<String>, source: &str) -> Result<(), BadRow> {
    if table.columns.is_empty() {
        table.columns = names;
        return Ok(());
    }
    if table.columns != names {
        let missing: Vec<&String> = table.columns.iter().filter(|c| !names.contains(c)).collect();
        let extra: Vec<&String> = names.iter().filter(|c| !table.columns.contains(c)).collect();
        return Err(BadRow {
            source: source.to_owned(),
            line: 1,
            whole_file: true,
            reason: format!(
                "its columns differ from the first file's (missing: {missing:?}; extra: {extra:?}; or a different order)"
            ),
        });
    }
    Ok(())
}

/// Which header positions hold the label and the features, and the
/// features' names.
fn header_plan(header: &csv::StringRecord, format: &Format) -> Result<(usize, Vec<usize>, Vec<String>), String> {
    let mut seen = BTreeMap::new();
    let mut label_at = None;
    let mut keep = Vec::new();
    let mut names = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let (name, is_label) = match format {
            Format::CicIds2017 => match cicids::column_kind(raw) {
                cicids::Column::Label => (raw.to_owned(), true),
                cicids::Column::Identifier => continue,
                cicids::Column::Feature(name) => (name, false),
            },
            Format::Csv { label } => (raw.to_owned(), raw == label.trim()),
            Format::NslKdd => (raw.to_owned(), false),
        };
        if is_label {
            label_at = Some(i);
            continue;
        }
        // MachineLearningCVE repeats "Fwd Header Length"; the copy adds nothing.
        if seen.insert(name.clone(), i).is_some() {
            continue;
        }
        keep.push(i);
        names.push(name);
    }
    let label_at = label_at.ok_or_else(|| match format {
        Format::Csv { label } => {
            let columns = header.iter().collect::<Vec<_>>().join(", ");
            format!("no label column {label:?} (--label {label:?} names none of: {columns})")
        }
        _ => "no Label column: is this a CIC-IDS2017 CSV?".to_owned(),
    })?;
    Ok((label_at, keep, names))
}

/// Whether a label marks a benign row.
pub fn is_normal(label: &str, format: &Format) -> bool {
    label.eq_ignore_ascii_case(format.normal_label()) || label.eq_ignore_ascii_case("normal")
}

/// The class of a row's label: `normal` / `attack` for binary models; for
/// multi-class ones the NSL-KDD category (normal, DoS, Probe, R2L, U2R) or
/// the label itself. An NSL-KDD name outside the mapping is an error.
pub fn class_of(label: &str, format: &Format, multi: bool) -> Result<String, crate::UnknownLabel> {
    match (multi, format) {
        (false, _) => Ok(if is_normal(label, format) { "normal" } else { "attack" }.to_owned()),
        (true, Format::NslKdd) => {
            nsl_kdd_category(label).map(str::to_owned).ok_or_else(|| crate::UnknownLabel { label: label.to_owned() })
        }
        (true, _) => Ok(label.to_owned()),
    }
}

/// Relabels rows: each `(from, to)` pair makes `from` rows `to` rows.
pub fn merge_labels(table: &mut Table, merges: &[(String, String)]) {
    for label in &mut table.labels {
        if let Some((_, to)) = merges.iter().find(|(from, _)| from == label) {
            label.clone_from(to);
        }
    }
}

/// The attack family a row's label belongs to, for leave-family-out
/// validation; `None` for normal rows. NSL-KDD's families are its four
/// categories; CIC-IDS2017's are its attack groups (the DoS tools, DDoS,
/// port scans, password guessing, web attacks, and the botnet,
/// infiltration and Heartbleed on their own); any other layout's are its
/// labels.
pub fn family_of(label: &str, format: &Format) -> Option<String> {
    if is_normal(label, format) {
        return None;
    }
    let family = match format {
        Format::NslKdd => nsl_kdd_category(label).unwrap_or(label),
        Format::CicIds2017 => {
            let lower = label.to_ascii_lowercase();
            let has = |w: &str| lower.contains(w);
            if has("ddos") {
                "DDoS"
            } else if has("dos") {
                "DoS"
            } else if has("portscan") {
                "Portscan"
            } else if has("patator") {
                "Brute force"
            } else if has("web attack") {
                "Web attack"
            } else if has("bot") {
                "Botnet"
            } else if has("infiltration") {
                "Infiltration"
            } else {
                label
            }
        }
        Format::Csv { .. } => label,
    };
    Some(family.to_owned())
}

#[cfg(test)]
mod tests;
