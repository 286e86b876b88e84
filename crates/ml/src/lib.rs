//! Rampart's models, with no I/O: an Isolation Forest (Liu, Ting & Zhou,
//! 2008) for anomaly scores; tree ensembles (decision tree, random forest,
//! gradient boosting) for labelled flows, with their datasets,
//! preprocessing and versioned model file; a small seeded PRNG so models
//! are reproducible; and the evaluation metrics docs/DETECTION.md reports.

pub mod dataset;
mod error;
mod evaluation;
pub mod flow_model;
mod iforest;
mod model_file;
pub mod novelty;
pub mod operating_point;
pub mod payload;
pub mod preprocess;
mod scoring;
pub mod tabular;
pub mod training_rows;
pub mod trees;
pub mod validation;

pub use error::{FitError, MissingColumns, ModelFileError, TreeError, UnknownLabel};
pub use evaluation::{Averages, ClassScores, Evaluation, evaluate};
pub use iforest::{ForestParams, IsolationForest, PointBuffer, average_path_length};
pub use rampart_core::rng::SplitMix64;
pub use scoring::{Confusion, roc_auc, wilson_interval};

/// The most likely class: the first of the highest probabilities.
pub fn argmax(p: &[f32]) -> usize {
    (0..p.len()).fold(0, |best, c| if p[c] > p[best] { c } else { best })
}

/// A number as dataset text: integers without a fraction (`6`, not `6.0`),
/// so a numeric event field matches a symbolic training value.
pub fn format_cell(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}
