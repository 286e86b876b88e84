//! `KindModel`: the forest one kind of entity is judged by — learnt from
//! the node's own closed profiles during a warm-up, refitted on the
//! profiles it scored normal — and what a judgement says.

use std::collections::VecDeque;

use rampart_core::config::EntityAnomalyConfig;
use rampart_ml::{ForestParams, IsolationForest};
use serde::{Deserialize, Serialize};

use super::profile::Kind;
use crate::robust::{RobustScale, quantile};

/// A forest needs some points whatever the configuration says.
const LEAST_PROFILES: usize = 32;
/// The share of training profiles the first pass may leave out.
const TRIM_SHARE: f64 = 0.1;
/// A share or ln-count whose spread was ~0 is judged in units of 0.1.
const MIN_SCALE: f64 = 0.1;
/// A count is beyond what the forest learnt when 1 + x is at least three
/// times the most any training profile had — one failed login where none
/// had any is not (a share or flag: half its range past the most): a
/// forest draws its splits inside the training range, so it ranks a point
/// far past it no higher than the training extremes — twelve failed logins
/// score like one, and a feature that was always 0 is never split on.
const BEYOND_COUNT: f64 = 1.098_612_288_668_109_8 - 1e-9; // ln 3
const BEYOND_SHARE: f64 = 0.5;

#[derive(Clone, Serialize, Deserialize)]
struct Fitted {
    forest: IsolationForest,
    threshold: f64,
    robust: RobustScale,
    /// Each feature's largest training value.
    max: Vec<f64>,
    trained_at_ms: i64,
}

/// What the model thinks of one profile.
pub struct Judgement {
    pub score: f64,
    pub threshold: f64,
    /// (feature, robust z) three spreads or more above the median, most unusual first.
    pub standing_out: Vec<(usize, f64)>,
    pub medians: Vec<f64>,
    /// Suspect features beyond anything the forest was trained on.
    pub beyond: Vec<usize>,
    /// Whether a feature that can make an entity suspect stands out.
    pub suspect_standing_out: bool,
}

impl Judgement {
    /// Anomalous: above (not at) the threshold — with few distinct
    /// profiles a common one, a tenth with one mistyped password, can
    /// score exactly it — or a count beyond the training range; either
    /// way with a feature well above what this node's entities do, so a
    /// person can be shown why.
    pub fn is_anomalous(&self) -> bool {
        (self.score > self.threshold || !self.beyond.is_empty()) && self.suspect_standing_out
    }
}

/// A kind's model as saved: the forest and what judges with it, and the
/// window its next refit uses.
#[derive(Serialize, Deserialize)]
pub struct SavedKind {
    features: Vec<String>,
    fitted: Fitted,
    window: VecDeque<Vec<f64>>,
}

pub struct KindModel {
    kind: Kind,
    fitted: Option<Fitted>,
    /// Set by a fit, taken by whoever saves the model.
    refitted: bool,
    /// Warm-up profiles, then the profiles scored normal (the refit window).
    window: VecDeque<Vec<f64>>,
    first_ms: Option<i64>,
}

impl KindModel {
    pub fn new(kind: Kind) -> KindModel {
        KindModel { kind, fitted: None, refitted: false, window: VecDeque::new(), first_ms: None }
    }

    /// A saved model, judging from the first profile; `None` when it was
    /// saved with other features (it is learnt afresh).
    pub fn restore(kind: Kind, saved: SavedKind) -> Option<KindModel> {
        let same = saved.features.iter().map(String::as_str).eq(kind.features().iter().copied());
        same.then_some(KindModel {
            kind,
            fitted: Some(saved.fitted),
            refitted: false,
            window: saved.window,
            first_ms: None,
        })
    }

    /// The model to save, once there is one.
    pub fn saved(&self) -> Option<SavedKind> {
        let f = self.fitted.as_ref()?;
        Some(SavedKind {
            features: self.kind.features().iter().map(|f| f.to_string()).collect(),
            fitted: f.clone(),
            window: self.window.clone(),
        })
    }

    /// Whether the model was refitted since the last call.
    pub fn take_refitted(&mut self) -> bool {
        std::mem::take(&mut self.refitted)
    }

    pub fn is_scoring(&self) -> bool {
        self.fitted.is_some()
    }

    /// Judges a closed profile (`None` while warming up), learning from it
    /// unless it is anomalous.
    pub fn observe(&mut self, point: Vec<f64>, at_ms: i64, config: &EntityAnomalyConfig) -> Option<Judgement> {
        let first = *self.first_ms.get_or_insert(at_ms);
        let judgement = self.fitted.as_ref().map(|f| {
            let (n, kind) = (self.kind.features().len(), self.kind);
            let standing_out = f.robust.standing_out(&point);
            Judgement {
                score: f.forest.score(&point),
                threshold: f.threshold,
                suspect_standing_out: standing_out.iter().any(|&(i, _)| kind.is_suspect(i)),
                standing_out,
                medians: (0..n).map(|i| f.robust.median(i)).collect(),
                beyond: (0..n)
                    .filter(|&i| kind.is_suspect(i))
                    .filter(|&i| point[i] >= f.max[i] + if kind.is_count(i) { BEYOND_COUNT } else { BEYOND_SHARE })
                    .collect(),
            }
        });
        if judgement.as_ref().is_none_or(|j| !j.is_anomalous()) {
            self.window.push_back(point);
            while self.window.len() > config.window_profiles.max(LEAST_PROFILES) {
                self.window.pop_front();
            }
        }
        let due = match &self.fitted {
            None => {
                at_ms.saturating_sub(first) >= config.warmup_secs as i64 * 1000
                    && self.window.len() >= config.min_profiles.max(LEAST_PROFILES)
            }
            Some(f) => at_ms.saturating_sub(f.trained_at_ms) >= config.retrain_interval_secs as i64 * 1000,
        };
        if due {
            self.fit(at_ms, config);
        }
        judgement
    }

    fn fit(&mut self, at_ms: i64, config: &EntityAnomalyConfig) {
        let rows: Vec<Vec<f64>> = self.window.iter().cloned().collect();
        let kind = self.kind;
        let n = kind.features().len();
        let params = ForestParams { trees: config.trees, subsample: config.subsample, seed: config.seed };
        // Two passes: attackers active during the warm-up are in the window
        // too, and a few percent of them form a cluster the forest learns as
        // normal. The first forest's most isolated tenth, where a suspect
        // feature also stands out, is left out of the second — above the
        // cut, not at it: a behaviour a tenth share (one mistyped password)
        // scores the cut exactly, and it is normal.
        let trimmed: Vec<Vec<f64>> = match IsolationForest::fit(&rows, params) {
            Ok(first) => {
                let scores = first.score_many(&rows);
                let cut = quantile(&scores, 1.0 - TRIM_SHARE);
                let robust = RobustScale::fit(&rows, n, MIN_SCALE);
                rows.iter()
                    .zip(&scores)
                    .filter(|(row, score)| {
                        **score <= cut || !robust.standing_out(row).iter().any(|&(i, _)| kind.is_suspect(i))
                    })
                    .map(|(row, _)| row.clone())
                    .collect()
            }
            Err(error) => return tracing::error!(%error, ?kind, "Cannot fit the entity baseline."),
        };
        let all = rows;
        let rows = if trimmed.len() >= LEAST_PROFILES { trimmed } else { all.clone() };
        match IsolationForest::fit(&rows, params) {
            Ok(forest) => {
                // The threshold over every profile of the window, the left
                // out included: the share flagged stays `contamination`.
                let scores = forest.score_many(&all);
                let threshold = config.threshold.unwrap_or(quantile(&scores, 1.0 - config.contamination));
                let robust = RobustScale::fit(&rows, n, MIN_SCALE);
                // Beyond the profiles kept: what the trim left out (the warm-up's
                // scanners) is beyond them, as the next scanner is.
                let max = (0..n).map(|i| rows.iter().map(|r| r[i]).fold(f64::MIN, f64::max)).collect();
                tracing::info!(?kind, profiles = rows.len(), threshold, "Entity baseline fitted.");
                self.fitted = Some(Fitted { forest, threshold, robust, max, trained_at_ms: at_ms });
                self.refitted = true;
            }
            Err(error) => tracing::error!(%error, ?kind, "Cannot fit the entity baseline."),
        }
    }
}
