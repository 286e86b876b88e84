//! The payload classifier's model file and its scorer: a tree ensemble
//! over `features::WIDTH` features, versioned like the flow model file.

use serde::{Deserialize, Serialize};

use super::{Context, Decoded, PayloadClass, decode, features, lex};
use crate::ModelFileError;
use crate::trees::{Compiled, Ensemble, TrainParams};

pub const FORMAT: &str = "rampart-payload-model";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadModel {
    pub format: String,
    pub format_version: u32,
    pub rampart_version: String,
    pub created_ms: i64,
    pub params: TrainParams,
    /// Class names in the ensemble's order (`PayloadClass::ALL`).
    pub classes: Vec<String>,
    /// The corpus it was trained on, per source and class, and the
    /// leave-one-source-out figures measured before the final fit.
    pub metrics: serde_json::Value,
    pub model: Ensemble,
}

/// A value judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub class: PayloadClass,
    /// The probability of `class`.
    pub score: f32,
    /// The probability that it is any attack (1 − benign).
    pub attack: f32,
    pub decoded: Decoded,
    /// The first token classes, e.g. `s&1o1c`.
    pub shape: String,
}

impl PayloadModel {
    /// Reads a model file's text, refusing other formats and versions and
    /// a feature layout this build does not make.
    pub fn from_json(text: &str) -> Result<PayloadModel, ModelFileError> {
        let model: PayloadModel = serde_json::from_str(text).map_err(|e| ModelFileError::Malformed(e.to_string()))?;
        if model.format != FORMAT {
            return Err(ModelFileError::NotAModel(FORMAT));
        }
        if model.format_version != FORMAT_VERSION {
            return Err(ModelFileError::Version {
                found: model.format_version.to_string(),
                writer: model.rampart_version.clone(),
                ours: env!("CARGO_PKG_VERSION"),
                reads: FORMAT_VERSION,
            });
        }
        model.model.validate()?;
        if model.model.width != features::WIDTH || model.model.k != PayloadClass::ALL.len() {
            return Err(ModelFileError::Inconsistent);
        }
        Ok(model)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The scorer, with the trees laid out for fast scoring.
    pub fn scorer(&self) -> PayloadScorer {
        PayloadScorer { trees: Compiled::new(self.model.clone()) }
    }
}

/// Judges values with a loaded model.
pub struct PayloadScorer {
    trees: Compiled,
}

impl PayloadScorer {
    pub fn new(ensemble: Ensemble) -> PayloadScorer {
        PayloadScorer { trees: Compiled::new(ensemble) }
    }

    /// Decodes, lexes and scores one value.
    pub fn judge(&self, raw: &str, context: Context) -> Verdict {
        let decoded = decode(raw, context);
        let lexed = lex(&decoded.text);
        let mut row = Vec::with_capacity(features::WIDTH);
        features::features(&decoded, &lexed, &mut row);
        let mut proba = Vec::new();
        self.trees.predict(&row, &mut proba);
        let best = (0..proba.len()).max_by(|&a, &b| proba[a].total_cmp(&proba[b])).unwrap_or(0);
        Verdict {
            class: PayloadClass::ALL.get(best).copied().unwrap_or(PayloadClass::Benign),
            score: proba.get(best).copied().unwrap_or(0.0),
            attack: 1.0 - proba.first().copied().unwrap_or(1.0),
            shape: lexed.fingerprint(12),
            decoded,
        }
    }

    /// Class probabilities for row-major feature rows (`features::WIDTH` each).
    pub fn predict(&self, x: &[f32], out: &mut Vec<f32>) {
        self.trees.predict(x, out);
    }
}
