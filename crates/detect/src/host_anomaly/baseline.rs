//! `Baseline`: what the detector has learnt about this host — the forest,
//! its threshold, each feature's median and spread (to say which features
//! stood out), and the window of normal points the next refit uses. Saved
//! as one JSON file so a restart does not forget it.

use std::collections::VecDeque;
use std::path::Path;

use rampart_core::config::HostAnomalyConfig;
use rampart_ml::{ForestParams, IsolationForest};
use serde::{Deserialize, Serialize};

use super::features::FEATURES;
use crate::error::BaselineError;
use crate::robust::{RobustScale, quantile};

/// Bumped when the file's meaning changes; an older file is refitted, not misread.
const FORMAT: u32 = 1;

/// A feature whose spread was ~0 in training still needs a unit to be
/// judged in: 0.1 in ln(1+x) is about a 10% change.
const MIN_SCALE: f64 = 0.1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    format: u32,
    features: Vec<String>,
    pub forest: IsolationForest,
    pub threshold: f64,
    /// Flattened: the file keeps its `median` and `scale` keys.
    #[serde(flatten)]
    robust: RobustScale,
    /// Model vectors of points scored normal, oldest first.
    pub window: VecDeque<Vec<f64>>,
    pub trained_at_ms: i64,
}

impl Baseline {
    pub fn fit(window: VecDeque<Vec<f64>>, config: &HostAnomalyConfig, at_ms: i64) -> Result<Baseline, BaselineError> {
        let rows: Vec<Vec<f64>> = window.iter().cloned().collect();
        let params = ForestParams { trees: config.trees, subsample: config.subsample, seed: config.seed };
        let forest = IsolationForest::fit(&rows, params)?;
        let threshold = match config.threshold {
            Some(t) => t,
            None => quantile(&forest.score_many(&rows), 1.0 - config.contamination),
        };
        Ok(Baseline {
            format: FORMAT,
            features: FEATURES.iter().map(|f| f.to_string()).collect(),
            forest,
            threshold,
            robust: RobustScale::fit(&rows, FEATURES.len(), MIN_SCALE),
            window,
            trained_at_ms: at_ms,
        })
    }

    /// Features above their normal range by at least three spreads, most
    /// unusual first: (index, robust z-score).
    pub fn standing_out(&self, point: &[f64]) -> Vec<(usize, f64)> {
        self.robust.standing_out(point)
    }

    /// The median in the feature's own units (undoing ln(1 + x)).
    pub fn typical(&self, feature: usize) -> f64 {
        self.robust.median(feature).exp_m1()
    }

    /// `Ok(None)` when there is no file yet, or one from another format
    /// or feature list (the detector then learns afresh).
    pub fn load(path: &Path) -> Result<Option<Baseline>, BaselineError> {
        let same = |b: &Baseline| b.format == FORMAT && b.features.iter().map(String::as_str).eq(FEATURES);
        Ok(crate::error::read_saved::<Baseline>(path)?.filter(same))
    }

    /// Written to a temporary file and renamed: a crash leaves the old one whole.
    pub fn save(&self, path: &Path) -> Result<(), BaselineError> {
        let text = serde_json::to_string(self)
            .map_err(|e| BaselineError::Format { path: path.to_owned(), reason: e.to_string() })?;
        rampart_core::atomic_file::write_atomically(path, text.as_bytes())
            .map_err(|source| BaselineError::Io { path: path.to_owned(), source })
    }
}
