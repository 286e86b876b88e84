//! Labelled rows (see `dataset`) to feature vectors for the Isolation Forest.
//!
//! An `Encoder` fitted on training rows
//! decides per column: numeric when every training value parses, else
//! categorical and one-hot encoded over the training vocabulary (a value
//! unseen in training encodes as all zeros). Numeric columns go through
//! ln(1 + x) when they never go negative: byte and packet counts span eight
//! orders of magnitude, and Isolation Forest draws split points uniformly
//! between a column's minimum and maximum. Non-finite cells (`Infinity`,
//! `NaN` in CIC-IDS2017) become the column's finite extreme.

use std::collections::BTreeMap;

use crate::dataset::Table;
use crate::preprocess::Cell;

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
    match Cell::parse(cell) {
        Cell::Num(v) => Some(v),
        Cell::Text(_) | Cell::Missing => None,
    }
}

impl Encoder {
    pub fn fit(rows: &Table) -> Encoder {
        let width_in = rows.columns.len();
        let mut columns = Vec::with_capacity(width_in);
        for c in 0..width_in {
            let values: Option<Vec<f64>> = rows.rows.iter().map(|r| number(&r[c])).collect();
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
                    for r in &rows.rows {
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
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::dataset::{BadRow, Format, parse_into};

    const KDD: &str = "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,normal,20\n\
0,udp,other,SF,146,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,13,1,0.00,0.00,0.00,0.00,0.08,0.15,0.00,255,1,0.00,0.60,0.88,0.00,0.00,0.00,0.00,0.00,normal,15\n\
0,tcp,private,S0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,123,6,1.00,1.00,0.00,0.00,0.05,0.07,0.00,255,26,0.10,0.05,0.00,0.00,1.00,1.00,0.00,0.00,neptune,19\n";

    fn parse(text: &str, format: &Format) -> Result<Table, BadRow> {
        let mut table = Table::default();
        parse_into(&mut table, text, format, "t", 0, false)?;
        Ok(table)
    }

    fn csv(label: &str) -> Format {
        Format::Csv { label: label.into() }
    }

    #[test]
    fn nsl_kdd_rows_one_hot_their_symbols_and_log_their_counts() {
        let rows = parse(KDD, &Format::NslKdd).unwrap();
        assert_eq!(rows.labels, ["normal", "normal", "neptune"]);
        let enc = Encoder::fit(&rows);
        // 38 numeric columns + protocol (2 seen) + service (3) + flag (2).
        assert_eq!(enc.width(), 38 + 2 + 3 + 2);
        let first = enc.encode(&rows.rows[0]);
        assert_eq!(first.len(), enc.width());
        // src_bytes 491 → ln(492).
        assert!(first.iter().any(|v| (v - 492f64.ln()).abs() < 1e-12));
        // An unseen service encodes as zeros, not an error.
        let mut unseen = rows.rows[0].clone();
        unseen[2] = "gopher".into();
        assert_eq!(enc.encode(&unseen).len(), enc.width());
    }

    #[test]
    fn csv_infinities_become_the_columns_extremes() {
        let text = " Flow Bytes/s, Label\n10,BENIGN\nInfinity,DDoS\n-5,BENIGN\n";
        let rows = parse(text, &csv("Label")).unwrap();
        let enc = Encoder::fit(&rows);
        assert_eq!(enc.encode(&rows.rows[1]), [10.0]);
        assert_eq!(enc.encode(&["NaN".to_owned()]), [-5.0]);
    }

    #[test]
    fn errors_name_the_line_or_column() {
        assert_eq!(parse("1,2,3\n", &Format::NslKdd).unwrap_err().line, 1);
        assert!(parse("a,b\n1,2\n", &csv("label")).unwrap_err().reason.contains("no label column"));
        assert_eq!(parse("a,label\n1,x\n2\n", &csv("label")).unwrap_err().line, 3);
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_errors_without_panicking(text in "[0-9a-z,.\\n-]{0,300}") {
            let _ = parse(&text, &Format::NslKdd);
            if let Ok(rows) = parse(&text, &csv("a")) {
                let enc = Encoder::fit(&rows);
                for cells in &rows.rows {
                    proptest::prop_assert_eq!(enc.encode(cells).len(), enc.width());
                }
            }
        }
    }
}
