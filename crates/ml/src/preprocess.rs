//! Dataset columns to the feature vector a tree model reads.
//!
//! Fitted on training rows, then applied unchanged to anything scored:
//! symbolic columns become one-hot indicators (or, past `ONE_HOT_LIMIT`
//! values, an ordinal code by training frequency), numeric columns pass
//! through as f32, `Infinity` and `NaN` (CIC-IDS2017 has both) become
//! ±f32::MAX and NaN, which every split sends left. Constant columns are
//! dropped. A few ratios are added where the raw pair hides the signal
//! (bytes per second of a connection). No scaling: trees split on order,
//! so scaling would change nothing but the cost.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::dataset::Table;

/// Symbolic columns with more values than this are coded as ordinals.
pub const ONE_HOT_LIMIT: usize = 100;

/// One cell as the preprocessor sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Num(f64),
    Text(&'a str),
    Missing,
}

impl<'a> Cell<'a> {
    /// A dataset cell: a number when it parses as one.
    pub fn parse(text: &'a str) -> Cell<'a> {
        match number(text) {
            Some(v) => Cell::Num(v),
            None if text.is_empty() => Cell::Missing,
            None => Cell::Text(text),
        }
    }
}

fn number(text: &str) -> Option<f64> {
    match text {
        "Infinity" | "inf" | "+Infinity" | "Inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" | "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

fn to_f32(v: f64) -> f32 {
    if v.is_nan() { f32::NAN } else { v.clamp(-f64::from(f32::MAX), f64::from(f32::MAX)) as f32 }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "values")]
pub enum InputKind {
    Numeric,
    OneHot(Vec<String>),
    Ordinal(Vec<String>),
}

/// A dataset column the model reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    #[serde(flatten)]
    pub kind: InputKind,
}

/// `numerator / (denominator + 1)`, both numeric inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub name: String,
    pub numerator: usize,
    pub denominator: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub inputs: Vec<Input>,
    pub ratios: Vec<Ratio>,
    /// The output feature names, in order.
    pub features: Vec<String>,
    #[serde(skip)]
    lookup: Vec<HashMap<String, u32>>,
    /// Each input's first position in an encoded row (for the ratios).
    #[serde(skip)]
    offset: Vec<usize>,
}

impl Preprocessor {
    /// Learns the columns' kinds from training rows. `symbolic` names
    /// columns that are categories even when they hold digits; `ratios`
    /// are (name, numerator column, denominator column) to add when both
    /// columns are numeric.
    pub fn fit(table: &Table, symbolic: &[&str], ratios: &[(&str, &str, &str)]) -> Preprocessor {
        let mut inputs = Vec::new();
        for (c, name) in table.columns.iter().enumerate() {
            let cells = table.rows.iter().map(|r| r[c].as_str());
            let is_symbolic = symbolic.contains(&name.as_str())
                || table.rows.iter().any(|r| matches!(Cell::parse(&r[c]), Cell::Text(_)));
            let kind = if is_symbolic {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for cell in cells {
                    *counts.entry(cell).or_default() += 1;
                }
                if counts.len() < 2 {
                    continue;
                }
                let mut vocabulary: Vec<(&str, usize)> = counts.into_iter().collect();
                // Most frequent first, ties by name, so fitting is deterministic.
                vocabulary.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let values: Vec<String> = vocabulary.into_iter().map(|(v, _)| v.to_owned()).collect();
                if values.len() > ONE_HOT_LIMIT { InputKind::Ordinal(values) } else { InputKind::OneHot(values) }
            } else {
                let mut values = cells.filter_map(number).filter(|v| !v.is_nan());
                let first = values.next();
                if first.is_none() || values.all(|v| Some(v) == first) {
                    continue; // constant: no split can use it
                }
                InputKind::Numeric
            };
            inputs.push(Input { name: name.clone(), kind });
        }
        let numeric = |name: &str| inputs.iter().position(|i| i.name == name && i.kind == InputKind::Numeric);
        let ratios = ratios
            .iter()
            .filter_map(|(name, num, den)| {
                Some(Ratio { name: (*name).to_owned(), numerator: numeric(num)?, denominator: numeric(den)? })
            })
            .collect();
        Preprocessor::new(inputs, ratios)
    }

    fn new(inputs: Vec<Input>, ratios: Vec<Ratio>) -> Preprocessor {
        let mut features = Vec::new();
        for input in &inputs {
            match &input.kind {
                InputKind::Numeric | InputKind::Ordinal(_) => features.push(input.name.clone()),
                InputKind::OneHot(values) => features.extend(values.iter().map(|v| format!("{}={v}", input.name))),
            }
        }
        features.extend(ratios.iter().map(|r| r.name.clone()));
        let mut p = Preprocessor { inputs, ratios, features, lookup: Vec::new(), offset: Vec::new() };
        p.index();
        p
    }

    /// Builds the value → position maps and offsets (not saved: derived
    /// from `inputs`).
    pub fn index(&mut self) {
        let mut at = 0;
        self.offset = self
            .inputs
            .iter()
            .map(|input| {
                let here = at;
                at += match &input.kind {
                    InputKind::OneHot(values) => values.len(),
                    InputKind::Numeric | InputKind::Ordinal(_) => 1,
                };
                here
            })
            .collect();
        self.lookup = self
            .inputs
            .iter()
            .map(|input| match &input.kind {
                InputKind::Numeric => HashMap::new(),
                InputKind::OneHot(v) | InputKind::Ordinal(v) => {
                    v.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect()
                }
            })
            .collect();
    }

    pub fn width(&self) -> usize {
        self.features.len()
    }

    /// For each input, the position of the table column with its name.
    pub fn column_map(&self, columns: &[String]) -> Result<Vec<usize>, crate::MissingColumns> {
        let missing: Vec<String> =
            self.inputs.iter().filter(|i| !columns.contains(&i.name)).map(|i| i.name.clone()).collect();
        if !missing.is_empty() {
            return Err(crate::MissingColumns { columns: missing });
        }
        Ok(self.inputs.iter().filter_map(|i| columns.iter().position(|c| *c == i.name)).collect())
    }

    /// Appends one row's features to `out`; `cell(i)` gives input `i`.
    /// Text in a numeric input, and missing cells, read as NaN; a value
    /// not seen in training sets no one-hot indicator (ordinal: one past the
    /// vocabulary).
    pub fn encode<'c>(&self, cell: impl Fn(usize) -> Cell<'c>, out: &mut Vec<f32>) {
        let start = out.len();
        for (i, input) in self.inputs.iter().enumerate() {
            let value = cell(i);
            match &input.kind {
                InputKind::Numeric => {
                    out.push(match value {
                        Cell::Num(v) => to_f32(v),
                        _ => f32::NAN,
                    });
                }
                InputKind::OneHot(values) | InputKind::Ordinal(values) => {
                    let key: std::borrow::Cow<'_, str> = match value {
                        Cell::Text(t) => t.into(),
                        Cell::Num(v) => crate::format_cell(v).into(),
                        Cell::Missing => "".into(),
                    };
                    let at = self.lookup.get(i).and_then(|m| m.get(key.as_ref())).copied();
                    if matches!(input.kind, InputKind::OneHot(_)) {
                        let base = out.len();
                        out.resize(base + values.len(), 0.0);
                        if let Some(at) = at {
                            out[base + at as usize] = 1.0;
                        }
                    } else {
                        out.push(at.map_or(values.len() as f32, |a| a as f32));
                    }
                }
            }
        }
        for r in &self.ratios {
            // Ratios are only made of numeric inputs (see `fit`).
            let (n, d) = (out[start + self.offset[r.numerator]], out[start + self.offset[r.denominator]]);
            out.push(if n.is_nan() || d.is_nan() { f32::NAN } else { n / (d.max(0.0) + 1.0) });
        }
        debug_assert_eq!(out.len() - start, self.width());
    }

    /// Encodes table rows into one row-major matrix.
    pub fn encode_table(&self, table: &Table) -> Result<Vec<f32>, crate::MissingColumns> {
        let map = self.column_map(&table.columns)?;
        let mut out = Vec::with_capacity(table.rows.len() * self.width());
        for row in &table.rows {
            self.encode(|i| Cell::parse(&row[map[i]]), &mut out);
        }
        Ok(out)
    }
}
