//! What goes wrong in training and model files, typed. Dataset rows that
//! do not read are `dataset::BadRow` (file, line, reason); labels outside
//! a mapping are `validation::LabelError`.

/// Data or parameters a model cannot be fitted on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FitError {
    #[error("no training rows")]
    NoRows,
    #[error("rows have no features")]
    NoFeatures,
    #[error("row {row} has {found} features, the first has {expected}")]
    RaggedRow { row: usize, found: usize, expected: usize },
    #[error("row {row}, feature {feature}: {value} is not a finite number")]
    NotFinite { row: usize, feature: usize, value: f64 },
    #[error("{features} features; at most 65535")]
    TooManyFeatures { features: usize },
    #[error("{labels} labels for {values} values of width {width}")]
    Shape { labels: usize, values: usize, width: usize },
    #[error("need at least two classes, and every label below the class count")]
    Classes,
    /// A parameter out of its range, in words naming it.
    #[error("{0}")]
    Parameters(&'static str),
}

/// A tree or ensemble a walk could escape or loop in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    #[error("node arrays are empty or of different lengths")]
    Shape,
    #[error("node {node} splits on feature {feature} of {width}")]
    Feature { node: usize, feature: i64, width: usize },
    #[error("node {node} has children {left} and {right} out of order")]
    Children { node: usize, left: usize, right: usize },
    #[error("leaf {node} points at values {at} of {leaves}")]
    Leaf { node: usize, at: usize, leaves: usize },
    #[error("an ensemble needs two or more classes, trees, and (boosting) a base score per class")]
    Ensemble,
    #[error("tree {index}: {source}")]
    InTree { index: usize, source: Box<TreeError> },
}

/// A model file Rampart cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelFileError {
    #[error("not a JSON document: {0}")]
    Json(String),
    #[error("not a Rampart model of this kind (no \"format\": \"{0}\")")]
    NotAModel(&'static str),
    #[error(
        "model format version {found} (written by rampart {writer}); this rampart ({ours}) reads version {reads}: \
         retrain it with `{retrain}`"
    )]
    Version { found: String, writer: String, ours: &'static str, reads: u32, retrain: &'static str },
    #[error("malformed model file: {0}")]
    Malformed(String),
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error("the preprocessing, classes and trees do not fit together")]
    Inconsistent,
}

/// A label outside the NSL-KDD 5-class mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("label {label:?} is not in the NSL-KDD 5-class mapping")]
pub struct UnknownLabel {
    pub label: String,
}

/// Data that lacks columns a model reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the data lacks columns the model reads: {}", .columns.join(", "))]
pub struct MissingColumns {
    pub columns: Vec<String>,
}
