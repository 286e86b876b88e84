//! Labelled tabular data (NSL-KDD rows, flow CSVs) to feature vectors.
//!
//! Parsing keeps cells as text; an `Encoder` fitted on training rows then
//! decides per column: numeric when every training value parses, else
//! categorical and one-hot encoded over the training vocabulary (a value
//! unseen in training encodes as all zeros). Numeric columns go through
//! ln(1 + x) when they never go negative: byte and packet counts span eight
//! orders of magnitude, and Isolation Forest draws split points uniformly
//! between a column's minimum and maximum. Non-finite cells (`Infinity`,
//! `NaN` in CIC-IDS2017) become the column's finite extreme.

use std::collections::BTreeMap;

/// Rows of text cells with a label each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRows {
    pub columns: Vec<String>,
    pub cells: Vec<Vec<String>>,
    pub labels: Vec<String>,
}

/// NSL-KDD's 43 columns: 41 features, the label, then a difficulty level
/// (dropped: it is how many learners got the row right, not a feature).
pub fn parse_nsl_kdd(text: &str) -> Result<RawRows, String> {
    let mut rows = RawRows { columns: (0..41).map(|i| format!("f{i}")).collect(), ..RawRows::default() };
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        if cells.len() != 43 && cells.len() != 42 {
            return Err(format!(
                "line {}: {} columns; NSL-KDD rows have 43 (41 features, label, difficulty)",
                n + 1,
                cells.len()
            ));
        }
        rows.cells.push(cells[..41].iter().map(|c| c.trim().to_owned()).collect());
        rows.labels.push(cells[41].trim().to_owned());
    }
    if rows.cells.is_empty() {
        return Err("no rows".into());
    }
    Ok(rows)
}

/// A CSV with a header; `label` names the label column (matched after
/// trimming, as CIC-IDS2017's headers carry spaces).
pub fn parse_csv(text: &str, label: &str) -> Result<RawRows, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("empty file: no header")?;
    let names: Vec<String> = header.trim_end_matches('\r').split(',').map(|c| c.trim().to_owned()).collect();
    let at = names
        .iter()
        .position(|n| n == label.trim())
        .ok_or_else(|| format!("--label {label:?}: no such column (columns: {})", names.join(", ")))?;
    let mut rows = RawRows {
        columns: names.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, n)| n.clone()).collect(),
        ..RawRows::default()
    };
    for (n, line) in lines {
        let cells: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        if cells.len() != names.len() {
            return Err(format!("line {}: {} columns, the header has {}", n + 1, cells.len(), names.len()));
        }
        rows.labels.push(cells[at].trim().to_owned());
        rows.cells.push(cells.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, c)| c.trim().to_owned()).collect());
    }
    if rows.cells.is_empty() {
        return Err("no rows after the header".into());
    }
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq)]
enum Column {
    Numeric { log: bool, min: f64, max: f64 },
    Categorical(BTreeMap<String, usize>),
}

/// How training rows' cells became numbers; applied unchanged to test rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    columns: Vec<Column>,
    width: usize,
}

fn number(cell: &str) -> Option<f64> {
    match cell {
        "Infinity" | "inf" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

impl Encoder {
    pub fn fit(rows: &RawRows) -> Encoder {
        let width_in = rows.columns.len();
        let mut columns = Vec::with_capacity(width_in);
        for c in 0..width_in {
            let values: Option<Vec<f64>> = rows.cells.iter().map(|r| number(&r[c])).collect();
            columns.push(match values {
                Some(values) => {
                    let finite = values.iter().copied().filter(|v| v.is_finite());
                    let (min, max) =
                        finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
                    let (min, max) = if min.is_finite() { (min, max) } else { (0.0, 0.0) };
                    Column::Numeric { log: min >= 0.0, min, max }
                }
                None => {
                    let mut vocabulary = BTreeMap::new();
                    for r in &rows.cells {
                        let next = vocabulary.len();
                        vocabulary.entry(r[c].clone()).or_insert(next);
                    }
                    Column::Categorical(vocabulary)
                }
            });
        }
        let width = columns
            .iter()
            .map(|c| match c {
                Column::Numeric { .. } => 1,
                Column::Categorical(v) => v.len(),
            })
            .sum();
        Encoder { columns, width }
    }

    /// Features per encoded row.
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn encode(&self, cells: &[String]) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.width);
        for (column, cell) in self.columns.iter().zip(cells) {
            match column {
                Column::Numeric { log, min, max } => {
                    let v = match number(cell) {
                        Some(v) if v.is_finite() => v,
                        Some(v) if v == f64::INFINITY => *max,
                        // -inf, NaN, or text where training had numbers.
                        _ => *min,
                    };
                    out.push(if *log { v.max(0.0).ln_1p() } else { v });
                }
                Column::Categorical(vocabulary) => {
                    let at = out.len();
                    out.resize(at + vocabulary.len(), 0.0);
                    if let Some(i) = vocabulary.get(cell) {
                        out[at + i] = 1.0;
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KDD: &str = "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20\n\
0,udp,other,SF,146,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,13,1,0.00,0.00,0.00,0.00,0.08,0.15,0.00,255,1,0.00,0.60,0.88,0.00,0.00,0.00,0.00,0.00,normal,15\n\
0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,0.00,255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19\n";

    #[test]
    fn nsl_kdd_rows_one_hot_their_symbols_and_log_their_counts() {
        let rows = parse_nsl_kdd(KDD).unwrap();
        assert_eq!(rows.labels, ["normal", "normal", "neptune"]);
        let enc = Encoder::fit(&rows);
        // 38 numeric columns + protocol (2 seen) + service (3) + flag (2).
        assert_eq!(enc.width(), 38 + 2 + 3 + 2);
        let first = enc.encode(&rows.cells[0]);
        assert_eq!(first.len(), enc.width());
        // src_bytes 491 → ln(492).
        assert!(first.iter().any(|v| (v - 492f64.ln()).abs() < 1e-12));
        // An unseen service encodes as zeros, not an error.
        let mut unseen = rows.cells[0].clone();
        unseen[2] = "gopher".into();
        assert_eq!(enc.encode(&unseen).len(), enc.width());
    }

    #[test]
    fn csv_infinities_become_the_columns_extremes() {
        let text = " Flow Bytes/s, Label\n10,BENIGN\nInfinity,DDoS\n-5,BENIGN\n";
        let rows = parse_csv(text, "Label").unwrap();
        let enc = Encoder::fit(&rows);
        assert_eq!(enc.encode(&rows.cells[1]), [10.0]);
        assert_eq!(enc.encode(&["NaN".to_owned()]), [-5.0]);
    }

    #[test]
    fn errors_name_the_line_or_column() {
        assert!(parse_nsl_kdd("1,2,3\n").unwrap_err().starts_with("line 1"));
        assert!(parse_csv("a,b\n1,2\n", "label").unwrap_err().contains("no such column"));
        assert!(parse_csv("a,label\n1,x\n2\n", "label").unwrap_err().starts_with("line 3"));
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in "[0-9a-z,.\\n-]{0,300}") {
            let _ = parse_nsl_kdd(&text);
            if let Ok(rows) = parse_csv(&text, "a") {
                let enc = Encoder::fit(&rows);
                for cells in &rows.cells {
                    proptest::prop_assert_eq!(enc.encode(cells).len(), enc.width());
                }
            }
        }
    }
}
