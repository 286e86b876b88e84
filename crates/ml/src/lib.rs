//! Rampart's models, with no I/O: an Isolation Forest (Liu, Ting & Zhou,
//! 2008) for anomaly scores, a small seeded PRNG so models are reproducible,
//! the evaluation metrics docs/DETECTION.md reports (ROC AUC, precision,
//! recall, false-positive rate), and labelled tables to feature vectors.

mod iforest;
mod metrics;
pub mod tabular;

pub use iforest::{ForestParams, IsolationForest, average_path_length};
pub use metrics::{Confusion, roc_auc};
pub use rampart_core::rng::SplitMix64;
