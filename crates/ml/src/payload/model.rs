//! The payload classifier's model file and its scorer: a tree ensemble
//! over `features::WIDTH` features, versioned like the flow model file.

use serde::{Deserialize, Serialize};

use super::{Context, Decoded, Lexes, PayloadClass, decode, features, gate};
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
    /// A value is an attack when the probability of any attack class
    /// reaches this; chosen by `train payloads` on the left-out sources at
    /// a bounded share of benign values flagged.
    pub threshold: f32,
    pub model: Ensemble,
}

/// A value judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `Benign`, or the likeliest attack class when `attack` reaches the threshold.
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

    /// The model file at `path`, or the shipped model when there is none;
    /// errors name the file.
    pub fn load_or_shipped(path: Option<&std::path::Path>) -> Result<PayloadModel, String> {
        let Some(path) = path else { return Ok(PayloadModel::shipped()) };
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        PayloadModel::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The model shipped with Rampart (`crates/ml/models/payloads.json`;
    /// its card, `payloads.md`, says how it was trained and how to rebuild it).
    pub fn shipped() -> PayloadModel {
        static SHIPPED: std::sync::OnceLock<PayloadModel> = std::sync::OnceLock::new();
        SHIPPED
            .get_or_init(|| {
                // A build whose shipped model does not load is caught by this crate's tests.
                PayloadModel::from_json(include_str!("../../models/payloads.json"))
                    .unwrap_or_else(|e| panic!("the shipped payload model does not load: {e}"))
            })
            .clone()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The scorer, with the trees laid out for fast scoring.
    pub fn scorer(&self) -> PayloadScorer {
        PayloadScorer { trees: Compiled::new(self.model.clone()), threshold: self.threshold }
    }
}

/// Judges values with a loaded model.
pub struct PayloadScorer {
    trees: Compiled,
    threshold: f32,
}

impl PayloadScorer {
    pub fn new(ensemble: Ensemble, threshold: f32) -> PayloadScorer {
        PayloadScorer { trees: Compiled::new(ensemble), threshold }
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Decodes, lexes and scores one value. A value the gate allows no
    /// attack class is benign without asking the forest — the same answer
    /// (the gate would give the forest's attack mass to benign), most
    /// values, and the forest is nine tenths of the cost.
    pub fn judge(&self, raw: &str, context: Context) -> Verdict {
        let (decoded, lexes, proba) = self.assess(raw, context);
        let shape = lexes.plain.fingerprint(12);
        let (class, score) = decide(&proba, self.threshold);
        Verdict { class, score, attack: attack_probability(&proba), shape, decoded }
    }

    /// One value's class probabilities (`PayloadClass::ALL` order), after
    /// the gate: what `judge` decides on, for evaluation at any threshold.
    pub fn probabilities(&self, raw: &str, context: Context) -> [f32; 5] {
        self.assess(raw, context).2
    }

    fn assess(&self, raw: &str, context: Context) -> (Decoded, Lexes, [f32; 5]) {
        let decoded = decode(raw, context);
        let lexes = Lexes::of(&decoded.text);
        let possible = gate::possible(&decoded.text, &lexes);
        let mut proba = [1.0, 0.0, 0.0, 0.0, 0.0];
        if possible[1..].contains(&true) {
            let mut row = Vec::with_capacity(features::WIDTH);
            features::features(&decoded, &lexes, &mut row);
            let predicted = self.trees.predict_row(&row);
            proba.iter_mut().zip(&predicted).for_each(|(p, q)| *p = *q);
            gate::apply(&mut proba, &possible);
        }
        (decoded, lexes, proba)
    }

    /// The model's class probabilities for row-major feature rows
    /// (`features::WIDTH` each), before `gate::apply`.
    pub fn predict(&self, x: &[f32], out: &mut Vec<f32>) {
        self.trees.predict(x, out);
    }
}

/// The probability that a row is any attack: 1 − P(benign).
pub fn attack_probability(proba: &[f32]) -> f32 {
    1.0 - proba.first().copied().unwrap_or(1.0)
}

/// The class and its probability for one row's class probabilities:
/// benign below `threshold`, else the likeliest attack class.
pub fn decide(proba: &[f32], threshold: f32) -> (PayloadClass, f32) {
    if attack_probability(proba) < threshold {
        return (PayloadClass::Benign, proba.first().copied().unwrap_or(1.0));
    }
    let best = (1..proba.len()).max_by(|&a, &b| proba[a].total_cmp(&proba[b])).unwrap_or(0);
    (PayloadClass::ALL.get(best).copied().unwrap_or(PayloadClass::Benign), proba.get(best).copied().unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_loads_and_tells_attacks_from_text() {
        let scorer = PayloadModel::shipped().scorer();
        for attack in ["1' or '1'='1", "<script>alert(1)</script>", "../../../../etc/passwd", ";cat /etc/passwd"] {
            assert_ne!(scorer.judge(attack, Context::Form).class, PayloadClass::Benign, "{attack}");
        }
        for benign in ["john smith", "red shoes size 42", "it's a 4' x 6' rug", "2024-01-31"] {
            assert_eq!(scorer.judge(benign, Context::Form).class, PayloadClass::Benign, "{benign}");
        }
    }
}
