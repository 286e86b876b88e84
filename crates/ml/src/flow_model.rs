//! The flow model file: one JSON document holding everything needed to
//! score a flow the way training did, and to say where the model came from.
//!
//! `format_version` changes whenever the layout does; a file of another
//! version is refused with both versions named rather than misread.

use serde::{Deserialize, Serialize};

use crate::ModelFileError;
use crate::PointBuffer;
use crate::dataset::Format;
use crate::model_file::{self, Header};
use crate::novelty::{Guard, Novelty};
use crate::operating_point::{OperatingPoint, decide};
use crate::preprocess::{Cell, Preprocessor};
use crate::training_rows::TrainingRows;
use crate::trees::{Algo, Compiled, Ensemble, TrainParams};

pub const FORMAT: &str = "rampart-flow-model";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowModel {
    pub format: String,
    pub format_version: u32,
    /// The Rampart release that wrote the file.
    pub rampart_version: String,
    pub name: String,
    pub created_ms: i64,
    pub algo: Algo,
    pub params: TrainParams,
    /// The training data's layout.
    pub dataset: Format,
    /// Class names; `normal_class` is the benign one.
    pub classes: Vec<String>,
    pub normal_class: usize,
    /// SHA-256 over the training files' bytes, in the order given.
    pub data_sha256: String,
    pub train_rows: usize,
    pub class_weights: Vec<f64>,
    /// Held-out evaluation at training time (`rampart eval flows --json` keys).
    pub metrics: serde_json::Value,
    pub preprocessing: Preprocessor,
    pub model: Ensemble,
    /// When set, `classes` ends with `anomaly` (see `novelty`).
    #[serde(default)]
    pub novelty: Option<Novelty>,
    /// The threshold on the attack score that leave-family-out validation
    /// chose; without one (files from before it), the likeliest class wins.
    #[serde(default)]
    pub operating_point: Option<OperatingPoint>,
    /// Labels trained as another (`from`, `to`): `eval` reads them so.
    #[serde(default)]
    pub label_merges: Vec<(String, String)>,
    /// Which rows training saw, so `eval` can warn when it is given them.
    #[serde(default)]
    pub training_rows: Option<TrainingRows>,
}

impl FlowModel {
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a model file's text, refusing other formats and versions.
    pub fn from_json(text: &str) -> Result<FlowModel, ModelFileError> {
        let header = Header { format: FORMAT, version: FORMAT_VERSION, retrain: "rampart train flows" };
        let mut model: FlowModel = model_file::read(text, &header)?;
        model.preprocessing.index();
        model.model.validate()?;
        if model.preprocessing.width() != model.model.width
            || model.classes.len() != model.model.k + usize::from(model.novelty.is_some())
            || model.normal_class >= model.classes.len()
        {
            return Err(ModelFileError::Inconsistent);
        }
        Ok(model)
    }

    /// A three-tree random forest fitted on a small CSV in memory: rows
    /// labelled `normal` against all others (class `attack`). For tests and
    /// examples of code that scores flows; `rampart train flows` makes real ones.
    pub fn fit_small(csv: &str, label: &str, normal: &str) -> Result<FlowModel, String> {
        let mut table = crate::dataset::Table::default();
        let format = Format::Csv { label: label.into() };
        crate::dataset::parse_into(&mut table, csv, &format, "csv", 0, false).map_err(|e| e.to_string())?;
        let preprocessing = Preprocessor::fit(&table, &[], &[]);
        let x = preprocessing.encode_table(&table).map_err(|e| e.to_string())?;
        let y: Vec<u32> = table.labels.iter().map(|l| u32::from(l != normal)).collect();
        let weight = vec![1.0; y.len()];
        let set = crate::trees::TrainSet { x: &x, width: preprocessing.width(), y: &y, k: 2, weight: &weight };
        let params = TrainParams::for_algo(Algo::RandomForest, 3);
        let model = Ensemble::fit(&set, &params, &|_, _| {}).map_err(|e| e.to_string())?;
        let (format_version, rampart_version) = FlowModel::current_version();
        Ok(FlowModel {
            format: FORMAT.into(),
            format_version,
            rampart_version: rampart_version.into(),
            name: "small".into(),
            created_ms: 1,
            algo: Algo::RandomForest,
            params,
            dataset: format,
            classes: vec![normal.into(), "attack".into()],
            normal_class: 0,
            data_sha256: "00".into(),
            train_rows: y.len(),
            class_weights: vec![1.0, 1.0],
            metrics: serde_json::json!({}),
            preprocessing,
            model,
            novelty: None,
            operating_point: None,
            training_rows: None,
            label_merges: Vec::new(),
        })
    }

    /// The version stamp new files carry.
    pub fn current_version() -> (u32, &'static str) {
        (FORMAT_VERSION, env!("CARGO_PKG_VERSION"))
    }

    pub fn compile(&self) -> Scorer {
        Scorer::new(self.preprocessing.clone(), self.model.clone(), self.novelty.clone(), self.normal_class)
            .with_threshold(self.operating_point.as_ref().map(|p| p.threshold))
    }
}

/// A loaded model ready to score rows of cells in batches.
#[derive(Debug, Clone)]
pub struct Scorer {
    compiled: Compiled,
    preprocessing: Preprocessor,
    novelty: Option<Novelty>,
    /// The novelty guard laid out for scoring, built once.
    guard: Option<Guard>,
    normal: usize,
    threshold: Option<f32>,
}

impl Scorer {
    pub fn new(preprocessing: Preprocessor, model: Ensemble, novelty: Option<Novelty>, normal: usize) -> Scorer {
        let guard = novelty.as_ref().map(Novelty::guard);
        Scorer { compiled: Compiled::new(model), preprocessing, novelty, guard, normal, threshold: None }
    }

    /// Decides with a threshold on the attack score (see `operating_point`).
    pub fn with_threshold(mut self, threshold: Option<f32>) -> Scorer {
        self.threshold = threshold;
        self
    }

    pub fn normal(&self) -> usize {
        self.normal
    }

    pub fn threshold(&self) -> Option<f32> {
        self.threshold
    }

    /// The class one row of `predict`'s probabilities is given.
    pub fn decide(&self, p: &[f32]) -> usize {
        decide(p, self.normal, self.threshold)
    }

    pub fn preprocessing(&self) -> &Preprocessor {
        &self.preprocessing
    }

    /// Encodes one row into `features` (appended); `cell(i)` gives input `i`.
    pub fn encode<'c>(&self, cell: impl Fn(usize) -> Cell<'c>, features: &mut Vec<f32>) {
        self.preprocessing.encode(cell, features);
    }

    /// The classifier's probabilities alone, without the novelty guard
    /// (`k` per row; what `rampart bench flows` times as the trees' rate).
    pub fn predict_trees(&self, features: &[f32], out: &mut Vec<f32>) {
        self.compiled.predict(features, out);
    }

    /// Probabilities for encoded rows, one per class (`anomaly` last when
    /// the model has a novelty guard). The guard judges only the rows the
    /// model decides are normal (`decide`): the rest are attacks already.
    /// Row by row, in place: copying the picked rows out first cost more
    /// than scoring them. `operating_point::Scored::decided` restates this
    /// rule over stored scores for choosing the guard's rate: change both.
    pub fn predict(&self, features: &[f32], out: &mut Vec<f32>) {
        let (Some(novelty), Some(guard)) = (&self.novelty, &self.guard) else {
            return self.compiled.predict(features, out);
        };
        let mut known = Vec::new();
        self.compiled.predict(features, &mut known);
        let (k, w) = (self.compiled.classes(), self.preprocessing.width().max(1));
        out.clear();
        out.reserve(known.len() / k * (k + 1));
        let mut buffer = PointBuffer::new();
        for (p, row) in known.chunks_exact(k).zip(features.chunks_exact(w)) {
            let a = if self.decide(p) == self.normal {
                guard.novel_score(row, &mut buffer).map_or(0.0, |s| novelty.anomaly_mass(s))
            } else {
                0.0
            };
            out.extend(p.iter().map(|v| v * (1.0 - a)));
            out.push(a);
        }
    }

    /// Classes the trees score (`predict_trees`' width): without `anomaly`.
    pub fn known_classes(&self) -> usize {
        self.compiled.classes()
    }

    /// The novelty guard, when the model has one.
    pub fn novelty(&self) -> Option<&Novelty> {
        self.novelty.as_ref()
    }

    /// Each encoded row's novelty parts (`Guard::forest_score`), walking
    /// every tree; empty without a guard. For choosing the guard's rate.
    pub fn novelty_parts(&self, features: &[f32]) -> Vec<(f64, bool)> {
        let Some(guard) = &self.guard else { return Vec::new() };
        let mut buffer = PointBuffer::new();
        features
            .chunks_exact(self.preprocessing.width().max(1))
            .map(|row| guard.forest_score(row, &mut buffer))
            .collect()
    }

    /// What the scorer was built from: preprocessing, trees, novelty guard.
    pub fn into_parts(self) -> (Preprocessor, Ensemble, Option<Novelty>) {
        (self.preprocessing, self.compiled.into_ensemble(), self.novelty)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn small_model() -> FlowModel {
        let text = "proto,bytes,Label\ntcp,10,BENIGN\nudp,12,BENIGN\ntcp,900,DDoS\ntcp,950,DDoS\nudp,11,BENIGN\ntcp,990,DDoS\n";
        FlowModel::fit_small(text, "Label", "BENIGN").unwrap()
    }

    #[test]
    fn a_model_file_round_trips_and_scores_the_same() {
        let model = small_model();
        let back = FlowModel::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
        let scorer = back.compile();
        let mut features = Vec::new();
        scorer.encode(|i| if i == 0 { Cell::Text("tcp") } else { Cell::Num(970.0) }, &mut features);
        let mut p = Vec::new();
        scorer.predict(&features, &mut p);
        assert!(p[1] > 0.5, "{p:?}");
    }

    #[test]
    fn other_versions_and_broken_files_are_refused_with_the_reason() {
        let mut doc: serde_json::Value = serde_json::from_str(&small_model().to_json()).unwrap();
        doc["format_version"] = 2.into();
        let err = FlowModel::from_json(&doc.to_string()).unwrap_err().to_string();
        assert!(err.starts_with("model format version 2 (written by rampart"), "{err}");
        assert!(matches!(FlowModel::from_json("{}"), Err(ModelFileError::NotAModel(_))));
        assert!(matches!(FlowModel::from_json("nope"), Err(ModelFileError::Json(_))));
        doc["format_version"] = 1.into();
        doc["model"]["trees"][0]["left"][0] = 0.into();
        assert!(FlowModel::from_json(&doc.to_string()).unwrap_err().to_string().contains("tree 0"));
    }
}
